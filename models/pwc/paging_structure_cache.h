// Paging-structure cache for one non-leaf level (Intel SDM Vol. 3A, 4.10.3).
//
// An entry caches one paging-structure entry that references another
// paging structure: for a PDE cache, tag = linear-address bits 47:21 (56:21
// with 5-level paging) and the value is the physical address of the page
// table plus the access rights accumulated down to that level (R/W and U/S
// as the logical AND, XD as the logical OR of the entries used, as 4.10.3.1
// says). Entries are tagged with the PCID current when they were made.
//
// The cache is set-associative with true LRU replacement. Only references to
// other paging structures are cached: a PDE that maps a 2 MiB page is a TLB
// entry, never a PDE-cache entry (4.10.3.1).
//
// Flush rules (4.10.4.1): MOV to CR3 and INVLPG invalidate every entry of
// the current PCID, whatever its address; the MMU calls flush_all or
// flush_pcid accordingly. A page fault invalidates the entries that would be
// used for the faulting address (the walker calls invalidate).
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

struct PscEntry {
  std::uint64_t tag = 0;
  PAddr next_table = 0;  // physical base of the paging structure the entry references
  std::uint16_t pcid = 0;
  bool valid = false, writable = false, user = false, nx = false;
  std::uint64_t stamp = 0;
};

class PagingStructureCache {
 public:
  // entries == 0 disables the cache (every probe misses, nothing is held).
  PagingStructureCache(unsigned entries, unsigned ways, StatGroup& stats);
  bool enabled() const { return !m_entries.empty(); }
  // Counts a hit or a miss; a hit refreshes LRU state.
  const PscEntry* lookup(std::uint64_t tag, std::uint16_t pcid);
  void insert(const PscEntry& e);
  // Drops the entry for (tag, pcid), if held: a page fault's invalidation of
  // the entries that would be used for its linear address (4.10.4.1).
  void invalidate(std::uint64_t tag, std::uint16_t pcid);
  void flush_all();
  void flush_pcid(std::uint16_t pcid);

 private:
  std::vector<PscEntry> m_entries;
  unsigned m_ways = 0, m_sets = 0;
  std::uint64_t m_clock = 0;
  Counter& m_hits;
  Counter& m_misses;
};

}  // namespace mmusim
