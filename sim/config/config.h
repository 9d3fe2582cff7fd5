// The simulator's configuration: one struct per model, each declaring its
// keys exactly once in visit().
//
// A declaration names the key, the field, its default, its unit and its
// description in one line:
//
//   v.param("entries", entries, 64u, "entries", "number of entries");
//
// and every consumer is a visitor over those declarations: the defaults, the
// YAML reader (with unknown-key errors and "did you mean"), --set KEY=VALUE,
// `mmusim params`, and the resolved-config writer. So the documentation, the
// parser and the code cannot disagree (the SST lesson in STYLE.md).
//
// The key paths are a contract (DESIGN.md section 6).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/types.h"
#include "sim/shown_value.h"

namespace mmusim {

// A size in bytes; YAML accepts 4096, 4K, 4KiB, 8GiB, ... (binary multiples).
struct ByteSize {
  std::uint64_t bytes = 0;
  bool operator==(const ByteSize& o) const { return bytes == o.bytes; }
};
// A frequency; YAML accepts 3GHz, 2400MHz, 3e9 (Hz).
struct Frequency {
  std::uint64_t hz = 0;
  bool operator==(const Frequency& o) const { return hz == o.hz; }
};
// A duration; YAML accepts 1us, 500ns, 2ms, 0 (picosecond resolution).
struct Duration {
  std::uint64_t ps = 0;
  bool operator==(const Duration& o) const { return ps == o.ps; }
};
using Choices = std::vector<std::string>;

struct TlbConfig {
  static constexpr const char* kNoun = "TLB";  // in messages about mmu.tlbs
  unsigned level = 0;
  std::string serves;
  std::vector<PageSize> page_sizes;
  unsigned entries = 0;
  unsigned ways = 0;
  Cycles latency = 0;
  std::string replacement;
  bool fracture = true;
  unsigned curves = 0;
  double curves_sample_rate = 0.0;
  bool curves_opt = false;
  // A larger bound costs memory (16 bytes x bound x log2 bound) for little use.
  static constexpr unsigned kMaxCurvesEntries = 65536;

  template <class V>
  void visit(V& v) {
    v.param("level", level, 1u, "", "lookup level: all level-1 TLBs serving the access are probed in parallel, then level 2, ...");
    v.choice("serves", serves, "both", Choices{"data", "inst", "both"}, "access kinds served: data (loads, stores), inst (fetches) or both");
    v.param("page_sizes", page_sizes, std::vector<PageSize>{PageSize::k4K}, "", "page sizes held: any of 4K, 2M, 4M, 1G");
    v.param("entries", entries, 64u, "entries", "number of entries");
    v.param("ways", ways, 4u, "ways", "associativity; equal to entries (or 0) for fully associative");
    v.param("latency", latency, Cycles{1}, "cycles", "lookup latency");
    v.choice("replacement", replacement, "lru", Choices{"lru", "plru", "fifo", "random"}, "replacement policy (random is seeded by the top-level seed)");
    v.param("fracture", fracture, true, "", "cache a page of a size not held as a piece of the largest smaller held size (SDM 4.10.2.3), as current Intel cores do; false: such pages are not cached");
    v.param("curves", curves, 0u, "entries", "LRU miss curves of this TLB's input stream, from one pass, in OUTDIR/curves.csv: every power-of-two number of sets and every associativity up to this many entries (mmusim run --curves sets 4 x entries); 0: off");
    v.param("curves_sample_rate", curves_sample_rate, 0.0, "", "SHARDS spatial sampling of the curves: track only the pages whose hash falls below this rate, scale the rest (curves.csv then gives estimates and an error bound per point: 3 sigma + 1% of the lookups, see README 'Sampled miss curves'); 0 or 1: exact, no sampling");
    v.param("curves_opt", curves_opt, false, "", "with curves on: also the OPT (Belady MIN) misses of every fully associative size up to the bound, a lower bound for any policy, as the column opt_misses of curves.csv (recorded in the run, computed at its end; exact curves only, see README 'OPT and other policies')");
  }
};

struct PwcLevelConfig {
  unsigned entries = 0;
  unsigned ways = 0;
  template <class V>
  void visit(V& v, unsigned default_entries, unsigned default_ways) {
    v.param("entries", entries, default_entries, "entries", "entries of this paging-structure cache; 0 disables it");
    v.param("ways", ways, default_ways, "ways", "associativity; equal to entries (or 0) for fully associative");
  }
};

struct PwcConfig {
  PwcLevelConfig pml5, pml4, pdpt, pd;
  Cycles latency = 0;
  template <class V>
  void visit(V& v) {
    v.param("latency", latency, Cycles{1}, "cycles", "lookup latency of the paging-structure caches (probed in parallel)");
    v.group("pml5", "PML5-entry cache (5-level paging only): skips the PML5 read", [&] { pml5.visit(v, 0u, 0u); });
    v.group("pml4", "PML4-entry cache: skips the PML5 and PML4 reads", [&] { pml4.visit(v, 2u, 2u); });
    v.group("pdpt", "PDPT-entry cache: a hit leaves the PD and PT reads", [&] { pdpt.visit(v, 4u, 4u); });
    v.group("pd", "PDE cache: a hit leaves only the PT read", [&] { pd.visit(v, 32u, 4u); });
  }
};

struct WalkerConfig {
  unsigned walkers = 0;
  template <class V>
  void visit(V& v) {
    v.param("walkers", walkers, 2u, "walkers", "concurrent page walks; they overlap only with replay.outstanding > 1");
  }
};

struct MmuConfig {
  std::map<std::string, TlbConfig> tlbs;
  PwcConfig pwc;
  WalkerConfig walker;
  template <class V>
  void visit(V& v) {
    v.named_map("tlbs", tlbs, "TLBs by name; a config file that gives mmu.tlbs replaces the whole default set");
    v.group("pwc", "paging-structure caches (Intel SDM 4.10.3)", [&] { pwc.visit(v); });
    v.group("walker", "page-table walker", [&] { walker.visit(v); });
  }
  static std::map<std::string, TlbConfig> default_tlbs();
};

struct PagingConfig {
  std::string mode;
  bool pse = false, pge = false, pcid = false, nx = false, update_ad = false, wp = false;
  unsigned phys_addr_bits = 0;
  template <class V>
  void visit(V& v) {
    v.choice("mode", mode, "x86_64", Choices{"ia32", "pae", "x86_64", "x86_64_la57"}, "paging mode (Intel SDM 4.1.1)");
    v.param("pse", pse, true, "", "CR4.PSE: 4 MiB pages in ia32 mode");
    v.param("pge", pge, true, "", "CR4.PGE: global pages survive CR3 writes; the OS model maps the kernel half (its linear map) global");
    v.param("pcid", pcid, false, "", "CR4.PCIDE: process-context identifiers, x86_64 modes only; the OS model assigns them as Linux does");
    v.param("nx", nx, true, "", "EFER.NXE: execute-disable bit");
    v.param("wp", wp, true, "", "CR0.WP: supervisor writes honour read-only pages");
    v.param("update_ad", update_ad, true, "", "the walker sets accessed and dirty flags with locked read-modify-writes");
    v.param("phys_addr_bits", phys_addr_bits, 46u, "bits", "MAXPHYADDR: physical-address width");
  }
};

struct DramConfig {
  unsigned channels = 0, banks = 0;
  ByteSize row_bytes;
  Cycles tRCD = 0, tCL = 0, tRP = 0, tBURST = 0;
  std::string policy;
  template <class V>
  void visit(V& v) {
    v.param("channels", channels, 1u, "channels", "memory channels (address-interleaved at row granularity)");
    v.param("banks", banks, 16u, "banks", "banks per channel");
    v.param("row_bytes", row_bytes, ByteSize{8192}, "bytes", "row-buffer size");
    v.param("tRCD", tRCD, Cycles{16}, "cycles", "activate to column command");
    v.param("tCL", tCL, Cycles{16}, "cycles", "column command to data");
    v.param("tRP", tRP, Cycles{16}, "cycles", "precharge");
    v.param("tBURST", tBURST, Cycles{4}, "cycles", "data burst");
    v.choice("policy", policy, "open", Choices{"open", "closed"}, "row-buffer policy");
  }
};

struct ControllerConfig {
  std::string model;
  Cycles fixed_latency = 0;
  template <class V>
  void visit(V& v) {
    v.choice("model", model, "dram", Choices{"fixed", "dram"}, "memory timing model");
    v.param("fixed_latency", fixed_latency, Cycles{80}, "cycles", "latency of every access with model: fixed");
  }
};

// One level of the physical cache hierarchy (memory.caches.NAME).
struct CacheConfig {
  static constexpr const char* kNoun = "cache";  // in messages about memory.caches
  unsigned level = 0;
  ByteSize size;
  unsigned ways = 0;
  Cycles latency = 0;
  unsigned line_bytes = 0;
  template <class V>
  void visit(V& v) {
    v.param("level", level, 1u, "", "position in the hierarchy: 1 is probed first; one cache per level, levels 1, 2, ... without gaps");
    v.param("size", size, ByteSize{32768}, "bytes", "capacity");
    v.param("ways", ways, 8u, "ways", "associativity; 0 for fully associative");
    v.param("latency", latency, Cycles{4}, "cycles", "lookup latency, paid by every access that probes this level");
    v.param("line_bytes", line_bytes, 64u, "bytes", "line size (the same at every level)");
  }
};

struct MemoryConfig {
  ControllerConfig controller;
  DramConfig dram;
  std::map<std::string, CacheConfig> caches;
  template <class V>
  void visit(V& v) {
    v.group("controller", "memory controller", [&] { controller.visit(v); });
    v.group("dram", "DRAM timing (model: dram)", [&] { dram.visit(v); });
    v.named_map("caches", caches, "physical caches by name (write-back, write-allocate, LRU) in front of the controller, used by data accesses and page walks; a YAML list is levels 1, 2, ... named l1, l2, ...; none by default (then data accesses are not timed)");
  }
};

struct FaultCostConfig {
  Cycles minor = 0, zero_page_per_4k = 0, major = 0, cow_copy_per_4k = 0;
  template <class V>
  void visit(V& v) {
    v.param("minor", minor, Cycles{700}, "cycles", "kernel entry, VMA lookup and PTE update of a minor fault");
    v.param("zero_page_per_4k", zero_page_per_4k, Cycles{300}, "cycles", "zeroing a newly allocated page, per 4 KiB");
    v.param("major", major, Cycles{40000}, "cycles", "kernel work of a major fault (swap-in), on top of os.swap.latency");
    v.param("cow_copy_per_4k", cow_copy_per_4k, Cycles{300}, "cycles", "copying a shared page at a copy-on-write fault, per 4 KiB");
  }
};

struct SwapConfig {
  ByteSize size;
  Cycles latency = 0;
  template <class V>
  void visit(V& v) {
    v.param("size", size, ByteSize{0}, "bytes", "swap device size; 0: no swap (anonymous pages cannot be reclaimed)");
    v.param("latency", latency, Cycles{40000}, "cycles", "swap device access time per 4 KiB page, charged to a major fault");
  }
};

struct OomConfig {
  bool enabled = true;
  template <class V>
  void visit(V& v) {
    v.param("enabled", enabled, true, "", "out of memory kills the process with the highest oom_score; false: the faulting process is killed");
  }
};

struct OsConfig {
  ByteSize memory;
  unsigned max_order = 0;
  std::string thp;
  FaultCostConfig fault_cost;
  unsigned numa_nodes = 1;
  unsigned swappiness = 60;
  SwapConfig swap;
  OomConfig oom;
  unsigned fragmentation = 0;
  std::string fault_model;
  unsigned hugetlb_1g = 0;
  template <class V>
  void visit(V& v) {
    v.param("memory", memory, ByteSize{8ull << 30}, "bytes", "physical memory managed by the OS model");
    v.param("max_order", max_order, 10u, "", "largest buddy block order (free_area[0..max_order])");
    v.choice("thp", thp, "never", Choices{"never", "always", "madvise"}, "transparent huge pages (2 MiB) for anonymous memory");
    v.group("fault_cost", "cycles charged per page fault", [&] { fault_cost.visit(v); });
    v.param("numa_nodes", numa_nodes, 1u, "", "NUMA nodes; memory is split evenly, each node has its own zones (allocation prefers node 0)");
    v.param("swappiness", swappiness, 60u, "", "0..200: reclaim's preference for anonymous (swap) over file pages (vm.swappiness)");
    v.group("swap", "the swap device", [&] { swap.visit(v); });
    v.group("oom", "the OOM killer", [&] { oom.visit(v); });
    v.param("fragmentation", fragmentation, 0u, "%", "pre-fragment memory at boot: pin one frame in seeded-random free 2 MiB blocks until this percent of free memory is outside order-9 blocks (0: off)");
    v.choice("fault_model", fault_model, "cycles", Choices{"cycles", "accesses"}, "cycles: a fault costs os.fault_cost; accesses: the handler's memory work (VMA search, page-table walk and writes, zeroing, COW copy) also goes through the MMU and caches as kernel-mode accesses via the kernel's linear map, replacing the per-4 KiB costs");
    v.param("hugetlb_1g", hugetlb_1g, 0u, "pages", "1 GiB pages reserved at boot for @mmap ... hugetlb (hugepagesz=1G hugepages=N); 64-bit modes only");
  }
};

struct ReplayConfig {
  bool implicit_vmas = false;
  Cycles gap_cycles = 0;
  std::uint64_t switch_interval = 0;
  Duration quantum;
  std::string sync;
  unsigned outstanding = 0;
  template <class V>
  void visit(V& v) {
    v.param("implicit_vmas", implicit_vmas, true, "", "a first touch outside every VMA creates an anonymous rwx VMA over the aligned 2 MiB around it; false: SIGSEGV");
    v.param("gap_cycles", gap_cycles, Cycles{0}, "cycles", "cycles of non-memory work between successive accesses");
    v.param("switch_interval", switch_interval, std::uint64_t{100000}, "accesses", "with several -t traces: accesses per time slice before the round-robin switch to the next trace's process (a CR3 write)");
    v.param("quantum", quantum, Duration{1000000}, "time", "TLM-2.0 global quantum of the loosely-timed replay");
    v.choice("sync", sync, "quantum", Choices{"quantum", "access"}, "quantum: loosely timed; access: wait() after every access (reference timing)");
    v.param("outstanding", outstanding, 1u, "accesses", "trace accesses in flight at once, so walks overlap (bounded by mmu.walker.walkers; misses to one page merge); 1: in order");
  }
};

struct Config {
  Frequency clock;
  std::uint64_t seed = 0;
  PagingConfig paging;
  MmuConfig mmu;
  MemoryConfig memory;
  OsConfig os;
  ReplayConfig replay;

  template <class V>
  void visit(V& v) {
    v.param("clock", clock, Frequency{3000000000ull}, "Hz", "core clock, 1MHz..1THz (a bare number is Hz); all latencies are in its cycles");
    v.param("seed", seed, std::uint64_t{1}, "", "seed of every pseudo-random choice (random replacement, os.fragmentation)");
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
// Whether every page walk but those independent of this TLB's geometry (a
// rights check failing in another TLB, the retry after a fault) follows a
// lookup of TLB `tlb`: it is the only TLB of the last level for every access
// kind it serves. Then its miss curves give mmu.walker.walks too.
bool walks_follow_tlb(const Config& c, const std::string& tlb);
// Cross-field rules; throws ConfigError naming the key, its origin and the rule.
void validate(const Config& c, const ConfigOrigins& origins);
// The resolved configuration as YAML: loadable by load_config, giving c back.
std::string to_yaml(const Config& c);
// `mmusim params`: every key with its current value, default, unit and description.
std::string describe_params(const Config& current);
// All key paths (tlbs as mmu.tlbs.<name>.<key>), in declaration order.
std::vector<std::string> all_keys(const Config& c);

// Limits checked by validate() (README, Limits).
constexpr Cycles kMaxLatencyCycles = 1000000000;   // every key in cycles: latencies, fault costs, gap_cycles
constexpr unsigned kMaxTlbEntries = 1u << 20;       // entries of one TLB or paging-structure cache
constexpr std::uint64_t kMaxCacheLines = 1u << 24;  // lines of one memory.caches level
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
