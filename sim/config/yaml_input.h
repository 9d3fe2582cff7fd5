// Reading the configuration: a YAML file and --set KEY=VALUE overrides into
// the declared fields (yaml_reader.cpp, set_override.cpp), and the leaf
// parsers both share.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"
#include "sim/config/config.h"

namespace mmusim {

// Reads the YAML file `path` over lc.config, recording each key's origin.
void read_config_file(const std::string& path, LoadedConfig& lc);
// Applies one "KEY=VALUE" override to lc.config.
void apply_override(const std::string& text, LoadedConfig& lc);

// "FILE:LINE:COL" of a node.
std::string yaml_location(const std::string& file, const YAML::Node& n);
// A node's value as messages quote it.
std::string scalar_text(const YAML::Node& n);

// Each parse_leaf fills the field or returns a description of what was expected.
std::string parse_leaf(const YAML::Node& n, unsigned& f, Unit u);
std::string parse_leaf(const YAML::Node& n, std::uint64_t& f, Unit u);
std::string parse_leaf(const YAML::Node& n, double& f, Unit u);
std::string parse_leaf(const YAML::Node& n, bool& f, Unit u);
std::string parse_leaf(const YAML::Node& n, std::vector<PageSize>& f, Unit u);
std::string parse_leaf(const YAML::Node& n, std::vector<unsigned>& f, Unit u);

template <class E, std::size_t N>
std::string parse_choice(const YAML::Node& n, E& f, const NamedValue<E> (&names)[N]) {
  if (n.IsScalar())
    for (const auto& c : names)
      if (n.Scalar() == c.name) {
        f = c.value;
        return {};
      }
  std::string s = "one of ";
  for (std::size_t i = 0; i < N; ++i) s += std::string(i ? ", " : "") + names[i].name;
  return s;
}

}  // namespace mmusim
