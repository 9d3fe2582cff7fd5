// Timing of overlapping translations: up to `outstanding` trace accesses in
// flight, at most `walkers` page walks at a time, and misses to a page whose
// walk is still in flight merged onto that walk (replay.outstanding,
// mmu.walker.walkers).
//
// The model is functional-first, as in ChampSim-style trace simulators: the
// replay translates accesses one after the other in trace order (TLBs,
// walker and page tables change state in that order), and this class only
// decides *when* each one starts and completes:
//  - access i starts at max(issue_i, done_{i-N} + gap), where N =
//    outstanding, issue_i = start_{i-1} + gap and gap = replay.gap_cycles:
//    an access needs a free slot of the window, freed when the access N
//    before it completes (in-order retirement). Issue bandwidth is not
//    otherwise limited.
//  - its TLB lookups end lookup_cycles after its start; a walk then takes
//    the walker that frees first, waiting for it if all are busy, and
//    occupies it for walk_cycles.
//  - an access that hits a TLB entry whose walk (same address space, page
//    size and page) is still in flight completes when that walk does: in
//    hardware it would have missed and been merged onto the walk (a
//    miss-status holding register for walks). Counted as merged.
// With N = 1 every access starts when the previous one completed (plus the
// gap), every walker is idle by then and no walk is in flight, so the totals
// are exactly those of the in-order model (tested).
//
// Left out: contention between overlapping walks in the caches and DRAM
// (each reference keeps the latency it has in trace order); speculative
// walks; out-of-order TLB fills - a walk's TLB and paging-structure-cache
// fills are visible to the next access in trace order at once, even while
// the walk is still in flight in time (a hit on its page waits for it, as
// above; a walk of another page that uses its PWC entries does not). A page fault, a CR3 write or any trace
// event serialises: the caller drains the window first (drain()).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

class WalkScheduler {
 public:
  // walker_stats: merged and wait_cycles are registered there.
  WalkScheduler(unsigned outstanding, unsigned walkers, Cycles gap_cycles, StatGroup& walker_stats);

  // The start cycle of the next access (and its slot is taken).
  Cycles start();
  // A translation that began at `begin`: its completion cycle. page_key
  // identifies (address space, page size, page).
  Cycles translate(Cycles begin, Cycles lookup_cycles, bool walked, Cycles walk_cycles, std::uint64_t page_key);
  // The access that start() began completes at done.
  void complete(Cycles done);
  // Serialisation: every access in flight completes; the next access issues
  // no earlier than the returned cycle (the latest completion or issue point).
  Cycles drain();
  // Moves the issue point forward to t (work done serially by the caller, e.g. a fault's cost).
  void advance_to(Cycles t);
  Cycles issue_point() const { return m_issue; }

 private:
  unsigned m_n;
  Cycles m_gap;
  std::vector<Cycles> m_done;  // ring: completion of the last N accesses
  std::size_t m_next = 0;      // ring slot of the next access
  std::vector<Cycles> m_walker_free;
  std::vector<std::pair<std::uint64_t, Cycles>> m_inflight;  // page_key -> walk completion
  Cycles m_issue = 0;                                        // earliest issue of the next access
  Cycles m_start = 0;                                        // start of the current access
  bool m_any = false;                                        // an access has completed (the ring holds real times)
  Counter& m_merged;
  Counter& m_wait_cycles;
};

}  // namespace mmusim
