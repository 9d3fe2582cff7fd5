#include "sim/command_line.h"

#include <vector>

#include "sim/shown_value.h"

namespace mmusim {

po::options_description config_options() {
  po::options_description o("configuration");
  o.add_options()("config,c", po::value<std::string>(), "YAML configuration file (default: built-in default)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override one key, e.g. --set mmu.tlbs.l1d.entries=128 (repeatable)");
  return o;
}

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      ok = false;
      break;
    }
    v = v * 10 + d;
  }
  if (!ok || v < min || v > max)
    throw UsageError(option + ": expected a whole number in " + std::to_string(min) + ".." + std::to_string(max) +
                     ", got '" + shown_value(text) + "'");
  return v;
}

po::variables_map parse(int argc, char** argv, const po::options_description& desc) {
  po::options_description all;
  all.add(desc);
  all.add_options()("positional", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("positional", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

void refuse_positional(const po::variables_map& vm, const std::string& cmd, const std::string& hint) {
  if (!vm.count("positional")) return;
  const auto& words = vm["positional"].as<std::vector<std::string>>();
  throw UsageError(cmd + " takes no positional argument, got '" + shown_value(words.front()) + "'" +
                   (words.size() > 1 ? " and " + std::to_string(words.size() - 1) + " more" : "") + "; " + hint);
}

LoadedConfig load_config_options(const po::variables_map& vm) {
  std::string path = vm.count("config") ? vm["config"].as<std::string>() : "";
  std::vector<std::string> sets =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  return load_config(path, sets);
}

po::variables_map parse_subcommand(int argc, char** argv, const po::options_description& desc,
                                   const po::options_description& files,
                                   const po::positional_options_description& positional) {
  po::options_description all;
  all.add(desc).add(files);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

}  // namespace mmusim
