// Paging-structure cache for one non-leaf level (Intel SDM Vol. 3A, 4.10.3).
//
// An entry caches one paging-structure entry that references another
// paging structure. Its tag is the linear-address bits that select that
// entry and the ones above it (4.10.3.1), from the paging format: for a PDE
// cache bits 47:21 with 4-level paging, 56:21 with 5-level paging, 31:21
// with PAE paging and 31:22 with 32-bit paging. The value is the physical
// address of the next paging structure plus the access rights accumulated
// down to that level (R/W and U/S as the logical AND, XD as the logical OR
// of the entries used). Entries are tagged with the PCID current when they
// were made.
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

#include "models/arch/paging_format.h"
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
  // Caches entries of the given level (2 = PDE .. 5 = PML5E) of format f.
  // entries == 0 disables the cache (every probe misses, nothing is held).
  PagingStructureCache(const PagingFormat& f, unsigned level, unsigned entries, unsigned ways, StatGroup& stats);
  bool enabled() const { return !m_entries.empty(); }
  // The tag of linear address va at this cache's level.
  std::uint64_t tag(VAddr va) const { return (va & m_va_mask) >> m_shift; }
  // Counts a hit or a miss; a hit refreshes LRU state.
  const PscEntry* lookup(VAddr va, std::uint16_t pcid);
  // Caches e (its tag set from va).
  void insert(VAddr va, const PscEntry& e);
  // Drops the entry for (va, pcid), if held: a page fault's invalidation of
  // the entries that would be used for its linear address (4.10.4.1).
  void invalidate(VAddr va, std::uint16_t pcid);
  void flush_all();
  void flush_pcid(std::uint16_t pcid);

 private:
  std::uint64_t m_va_mask;
  unsigned m_shift;
  std::vector<PscEntry> m_entries;
  unsigned m_ways = 0, m_sets = 0;
  std::uint64_t m_clock = 0;
  Counter& m_hits;
  Counter& m_misses;
};

}  // namespace mmusim
