// The page walker's keys: mmu.pwc.* (the paging-structure caches, Intel SDM
// 4.10.3) and mmu.walker.* (how many walks run at once, WalkScheduler).
#pragma once

#include "models/common/params.h"
#include "models/common/types.h"
#include "models/walker/walker.h"

namespace mmusim {

struct PwcLevelParams {
  unsigned entries = 0;
  unsigned ways = 0;
  template <class V>
  void visit(V& v, unsigned default_entries, unsigned default_ways) {
    v.param("entries", entries, default_entries, "entries", "entries of this paging-structure cache; 0 disables it");
    v.param("ways", ways, default_ways, "ways", "associativity; equal to entries (or 0) for fully associative");
  }
};

struct PwcParams {
  PwcLevelParams pml5, pml4, pdpt, pd;
  Cycles latency = 0;

  PwcParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("latency", latency, Cycles{1}, "cycles",
            "lookup latency of the paging-structure caches (probed in parallel)");
    v.group("pml5", "PML5-entry cache (5-level paging only): skips the PML5 read", [&] { pml5.visit(v, 0u, 0u); });
    v.group("pml4", "PML4-entry cache: skips the PML5 and PML4 reads", [&] { pml4.visit(v, 2u, 2u); });
    v.group("pdpt", "PDPT-entry cache: a hit leaves the PD and PT reads", [&] { pdpt.visit(v, 4u, 4u); });
    v.group("pd", "PDE cache: a hit leaves only the PT read", [&] { pd.visit(v, 32u, 4u); });
  }
  // c is at "mmu.pwc.".
  void check(const ParamCheck& c) const;
  // The walker's paging-structure-cache geometry and latency.
  void apply(WalkerParams& w) const;
};

struct WalkerPoolParams {
  unsigned walkers = 0;

  WalkerPoolParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("walkers", walkers, 2u, "walkers", "concurrent page walks; they overlap only with replay.outstanding > 1");
  }
  // c is at "mmu.walker.".
  void check(const ParamCheck& c) const;
};

}  // namespace mmusim
