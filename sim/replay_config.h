// The replay.* keys: how the trace replay driver (sim/replay.h) issues the
// accesses, and replay.implicit_vmas, which the OS model applies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"

namespace mmusim {

struct ReplayParams;

// replay.sync: loosely timed with a global quantum, or wait() after every access.
enum class ReplaySync : std::uint8_t { Quantum, Access };
inline constexpr NamedValue<ReplaySync> kReplaySyncNames[] = {{ReplaySync::Quantum, "quantum"},
                                                              {ReplaySync::Access, "access"}};

struct ReplayConfig {
  bool implicit_vmas;
  Cycles gap_cycles;
  std::uint64_t switch_interval;
  std::uint64_t quantum_ps;
  ReplaySync sync;
  unsigned outstanding;
  std::uint64_t host_memory_limit;
  std::vector<unsigned> affinity;
  std::uint64_t migrate_interval;

  ReplayConfig() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("implicit_vmas", implicit_vmas, true, "",
            "a first touch outside every VMA creates an anonymous rwx VMA over the aligned 2 MiB around it; false: "
            "SIGSEGV");
    v.param("gap_cycles", gap_cycles, Cycles{0}, "cycles", "cycles of non-memory work between successive accesses");
    v.param("switch_interval", switch_interval, std::uint64_t{100000}, "accesses",
            "with several -t traces (one core), or several tasks on a core's run queue (cores > 1): accesses per time "
            "slice before the round-robin switch to the next (a CR3 write between processes)");
    v.param("quantum", quantum_ps, std::uint64_t{1000000}, kDuration,
            "TLM-2.0 global quantum of the loosely-timed replay");
    v.choice("sync", sync, ReplaySync::Quantum, kReplaySyncNames,
             "quantum: loosely timed; access: wait() after every access (reference timing)");
    v.param("outstanding", outstanding, 1u, "accesses",
            "trace accesses in flight at once, so walks overlap (bounded by mmu.walker.walkers; misses to one page "
            "merge); 1: in order");
    v.param("host_memory_limit", host_memory_limit, std::uint64_t{0}, kSize,
            "host-memory budget of the run: beyond it the run stops with exit code 5 and writes nothing; 0: 80% of "
            "the host's physical memory");
    v.param("affinity", affinity, std::vector<unsigned>{}, "cores",
            "cores > 1: the core of each -t trace, in order (all its threads run there, never migrated); []: trace i "
            "on core i mod cores, its threads round-robin over the next cores");
    v.param("migrate_interval", migrate_interval, std::uint64_t{0}, "accesses",
            "cores > 1: a task not pinned by replay.affinity moves to the next core after this many of its "
            "accesses; 0: never");
  }

  // The replay driver's gap_cycles, sync, switch_interval and outstanding
  // (sim/replay.h); the quantum goes to the TLM-2.0 global quantum and
  // implicit_vmas to the OS model.
  void apply(ReplayParams& p) const;

  // c is at "replay.".
  void check_quantum(const ParamCheck& c) const {
    if (quantum_ps > 1000000000000ull) c.fail("quantum", "must be at most 1s, got " + format_duration(quantum_ps));
  }
  void check(const ParamCheck& c) const {
    if (switch_interval == 0) c.fail("switch_interval", "must be at least 1");
    if (affinity.size() > 4096)
      c.fail("affinity", "must list at most 4096 cores, got " + std::to_string(affinity.size()));
    if (outstanding == 0 || outstanding > 1024)
      c.fail("outstanding", "must be in 1..1024, got " + std::to_string(outstanding));
  }
};

}  // namespace mmusim
