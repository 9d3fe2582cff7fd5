// Loading the configuration: the declared defaults, a YAML file over them,
// the --set overrides in order, then validate().
#include "sim/config/config.h"

#include "sim/config/yaml_input.h"

namespace mmusim {

Config default_config() { return Config(); }

LoadedConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  LoadedConfig lc{default_config(), {}};
  if (!path.empty()) read_config_file(path, lc);
  for (const auto& o : overrides) apply_override(o, lc);
  validate(lc.config, lc.origins);
  return lc;
}

}  // namespace mmusim
