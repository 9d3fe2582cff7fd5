// The simulator's configuration: the parameter structs every model declares
// beside itself (models/common/params.h), composed under their YAML paths:
//
//   clock, seed, cores         top level, here
//   paging.*                   PagingParams   models/mmu/paging_params.h
//   mmu.tlbs.<name>.*          TlbParams      models/mmu/mmu_params.h
//   mmu.pwc.*, mmu.walker.*    PwcParams, WalkerPoolParams  models/walker/walker_params.h
//   memory.*                   MemoryParams   models/memory/memory_params.h
//   os.*                       OsParams       models/os/os_params.h
//   replay.*                   ReplayConfig   sim/replay_config.h
//
// Every consumer is a visitor over those declarations: the defaults, the
// YAML reader (with unknown-key errors and "did you mean"), --set KEY=VALUE,
// `mmusim params`, and the resolved-config writer. So the documentation, the
// parser and the code cannot disagree.
//
// The key paths are a contract (README, Configuration).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"
#include "models/memory/memory_params.h"
#include "models/mmu/mmu_params.h"
#include "models/mmu/paging_params.h"
#include "models/os/os_params.h"
#include "sim/replay_config.h"
#include "sim/shown_value.h"

namespace mmusim {

struct Config {
  std::uint64_t clock_hz;
  std::uint64_t seed;
  unsigned cores;
  PagingParams paging;
  MmuConfig mmu;
  MemoryParams memory;
  OsParams os;
  ReplayConfig replay;

  Config() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("clock", clock_hz, std::uint64_t{3000000000ull}, kFrequency,
            "core clock, 1MHz..1THz (a bare number is Hz); all latencies are in its cycles");
    v.param("seed", seed, std::uint64_t{1}, "",
            "seed of every pseudo-random choice (random replacement, os.fragmentation)");
    v.param("cores", cores, 1u, "",
            "cores, 1..64: each with its own MMU (TLBs, paging-structure caches, walker) and replay thread; memory "
            "(caches, DRAM) and the OS model are shared; one -t trace per core");
    v.group("paging", "paging mode and control-register features", [&] { paging.visit(v); });
    v.group("mmu", "translation hardware", [&] { mmu.visit(v); });
    v.group("memory", "memory controller and DRAM", [&] { memory.visit(v); });
    v.group("os", "the OS model", [&] { os.visit(v); });
    v.group("replay", "the trace replay driver", [&] { replay.visit(v); });
  }
};

// Configuration errors map to exit code 2. what() reads
// "FILE:LINE:COL: KEY: what was expected, got ..." or "--set KEY=VALUE: ...".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where each key's value came from: "x.yaml:14:5", "--set", or absent (default).
using ConfigOrigins = std::map<std::string, std::string>;

struct LoadedConfig {
  Config config;
  ConfigOrigins origins;
};

Config default_config();
// Loads a YAML file over the defaults, applies each "KEY=VALUE" override in
// order, and validates. path may be empty (defaults only). Throws ConfigError.
LoadedConfig load_config(const std::string& path, const std::vector<std::string>& overrides);
// MmuConfig::walks_follow_tlb of c.mmu.
bool walks_follow_tlb(const Config& c, const std::string& tlb);
// Every struct's check() and the limits per unit; throws ConfigError naming
// the key, its origin and the rule.
void validate(const Config& c, const ConfigOrigins& origins);
// The resolved configuration as YAML: loadable by load_config, giving c back.
std::string to_yaml(const Config& c);
// `mmusim params`: every key with its current value, default, unit and description.
std::string describe_params(const Config& current);
// All key paths (tlbs as mmu.tlbs.<name>.<key>), in declaration order.
std::vector<std::string> all_keys(const Config& c);

// Limits checked by validate() (README, Limits).
constexpr Cycles kMaxLatencyCycles = 1000000000;  // every key in cycles: latencies, fault costs, gap_cycles
constexpr unsigned kMaxTlbEntries = 1u << 20;     // entries of one TLB or paging-structure cache
constexpr unsigned kMaxCores = 64;                // cores
constexpr std::uint64_t kMinClockHz = 1000000, kMaxClockHz = 1000000000000ull;  // 1 MHz .. 1 THz

// A name that becomes a statistics path component or a file name: 1 to 64
// letters, digits, '_' or '-' (TLB and cache names, experiment names).
bool is_safe_name(const std::string& s);

// Value parsers, exposed for tests.
bool parse_byte_size(const std::string& text, std::uint64_t* out);
bool parse_frequency(const std::string& text, std::uint64_t* out);
bool parse_duration(const std::string& text, std::uint64_t* out);
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace mmusim
