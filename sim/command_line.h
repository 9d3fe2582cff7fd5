// What the mmusim subcommands share: exit codes, the usage error, option
// parsing with Boost.Program_options, whole-number options and the
// configuration options (-c, --set).
//
// Exit codes: 0 success, 1 internal error, 2 usage or configuration error,
// 3 bad trace input (or a trace that reaches a run-time limit), 4 an output
// file or directory that cannot be written, 5 the run went beyond its
// host-memory budget (replay.host_memory_limit) or the host's memory.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "sim/config/config.h"

namespace mmusim {

namespace po = boost::program_options;

constexpr int kExitOk = 0, kExitInternal = 1, kExitUsage = 2, kExitTrace = 3, kExitOutput = 4, kExitHostMemory = 5;

// A bad command line (exit 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// -c CONFIG.yaml and --set KEY=VALUE.
po::options_description config_options();
// The configuration those options name (ConfigError when it is bad).
LoadedConfig load_config_options(const po::variables_map& vm);

// A whole number given to an option: decimal digits only, in [min, max].
// Boost would read "-1" as 2^64-1 for an unsigned option.
std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max);

// Parses options; words that are not options are collected under
// "positional" (refuse_positional() rejects them), never silently dropped.
po::variables_map parse(int argc, char** argv, const po::options_description& desc);
void refuse_positional(const po::variables_map& vm, const std::string& cmd, const std::string& hint);

// Parses a subcommand's options and its positional arguments (each declared
// in files, taken in order by positional); a bad option is a usage error.
po::variables_map parse_subcommand(int argc, char** argv, const po::options_description& desc,
                                   const po::options_description& files,
                                   const po::positional_options_description& positional);

}  // namespace mmusim
