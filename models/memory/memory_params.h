// The memory.* keys: the controller's timing model (memory.controller.*,
// memory.dram.*, declared into MemoryTiming) and the physical caches by name
// (memory.caches.<name>.*, each a CacheLevelSpec of the MemoryHierarchy).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"
#include "models/memory/memory_controller.h"
#include "models/memory/memory_hierarchy.h"

namespace mmusim {

inline constexpr NamedValue<MemoryTiming::Model> kMemoryModelNames[] = {{MemoryTiming::Model::Fixed, "fixed"},
                                                                        {MemoryTiming::Model::Dram, "dram"}};
// memory.dram.policy: open page (true) or closed page.
inline constexpr NamedValue<bool> kRowPolicyNames[] = {{true, "open"}, {false, "closed"}};

// One level of the physical cache hierarchy (memory.caches.NAME).
struct CacheParams {
  static constexpr const char* kNoun = "cache";          // in messages about memory.caches
  static constexpr const char* kExampleKey = "l1.size";  // in the --set KEY form message
  // A YAML list [{size: ..}, {size: ..}] is levels 1, 2, ... named l1, l2, ...
  static constexpr bool kListForm = true;

  unsigned level;
  std::uint64_t size_bytes;
  unsigned ways;
  Cycles latency;
  unsigned line_bytes;
  bool shared;

  CacheParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("level", level, 1u, "",
            "position in the hierarchy: 1 is probed first; one cache per level, levels 1, 2, ... without gaps");
    v.param("size", size_bytes, std::uint64_t{32768}, kSize, "capacity");
    v.param("ways", ways, 8u, "ways", "associativity; 0 for fully associative");
    v.param("latency", latency, Cycles{4}, "cycles", "lookup latency, paid by every access that probes this level");
    v.param("line_bytes", line_bytes, 64u, "bytes", "line size (the same at every level)");
    v.param("shared", shared, true, "",
            "with cores > 1: one instance shared by all cores (true), or one per core (false: statistics under "
            "core<i>.memory.cache.<name>, no coherence between the copies); no effect with one core");
  }
  // The list form's element i is level i + 1, named l<i + 1>.
  void set_list_position(std::size_t i) { level = static_cast<unsigned>(i + 1); }
  // Rules on one cache's keys; c is at "memory.caches.<name>.".
  void check(const ParamCheck& c) const;
  CacheLevelSpec spec(const std::string& name) const;
};

struct MemoryParams {
  MemoryTiming timing;
  std::map<std::string, CacheParams> caches;

  MemoryParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.group("controller", "memory controller", [&] {
      v.choice("model", timing.model, MemoryTiming::Model::Dram, kMemoryModelNames, "memory timing model");
      v.param("fixed_latency", timing.fixed_latency, Cycles{80}, "cycles", "latency of every access with model: fixed");
      v.param("remote_latency", timing.remote_latency, Cycles{80}, "cycles",
              "extra latency of a DRAM access to another NUMA node's memory (os.numa_nodes > 1), added to the local "
              "one; default: remote = 2x the fixed local 80 cycles, the ratio of Linux's default SLIT distances "
              "REMOTE_DISTANCE 20 / LOCAL_DISTANCE 10 (include/linux/topology.h; ACPI SLIT: relative latency)");
    });
    v.group("dram", "DRAM timing (model: dram)", [&] {
      v.param("channels", timing.channels, 1u, "channels", "memory channels (address-interleaved at row granularity)");
      v.param("banks", timing.banks, 16u, "banks", "banks per channel");
      v.param("row_bytes", timing.row_bytes, std::uint64_t{8192}, kSize, "row-buffer size");
      v.param("tRCD", timing.tRCD, Cycles{16}, "cycles", "activate to column command");
      v.param("tCL", timing.tCL, Cycles{16}, "cycles", "column command to data");
      v.param("tRP", timing.tRP, Cycles{16}, "cycles", "precharge");
      v.param("tBURST", timing.tBURST, Cycles{4}, "cycles", "data burst");
      v.choice("policy", timing.open_page, true, kRowPolicyNames, "row-buffer policy");
    });
    v.named_map("caches", caches, std::map<std::string, CacheParams>{},
                "physical caches by name (write-back, write-allocate, LRU) in front of the controller, used by data "
                "accesses and page walks; a YAML list is levels 1, 2, ... named l1, l2, ...; none by default (then "
                "data accesses are not timed)");
  }
  // c is at "memory.".
  void check(const ParamCheck& c) const;
  // memory.caches ordered by level (level 1 first).
  std::vector<CacheLevelSpec> cache_levels() const;
};

}  // namespace mmusim
