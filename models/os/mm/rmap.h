// Map counts of frames mapped more than once, after mm/rmap.c
// (page_mapcount, page_dup_file_rmap / page_add_anon_rmap at fork,
// page_remove_rmap): fork shares a private frame copy-on-write, each
// unmapping drops one mapping, and the last one frees the frame. A frame
// not listed is mapped once (or not at all). A 1 GiB hugetlb page counts
// under its first frame.
// Left out: the reverse map itself (anon_vma chains): reclaim knows one
// mapper per LRU page, so a shared frame is not reclaimed.
#pragma once

#include <cstdint>
#include <map>

namespace mmusim {

class PageAllocator;
class Reclaim;
class PageCache;

class Rmap {
 public:
  Rmap(PageAllocator& alloc, Reclaim& reclaim);

  // Page-cache frames (models/os/mm/filemap.h) keep their map count in the
  // page cache: share and put_page go there, and the last unmapping leaves
  // the frame in the cache (page_remove_rmap of a file page).
  void set_page_cache(PageCache* cache) { m_cache = cache; }

  // Times the frame is mapped; 1 for a private frame.
  std::uint32_t mapcount(std::uint64_t pfn) const;
  // One more mapping of pfn (fork).
  void share(std::uint64_t pfn);
  // One mapping of a shared frame goes away: true if pfn was shared (it
  // stays mapped elsewhere), false if it was private.
  bool unshare(std::uint64_t pfn);
  // Unmaps one mapping of a 2^order block; the last frees it (and takes a
  // 4 KiB page off its LRU list).
  void put_page(std::uint64_t pfn, unsigned order);
  // Frames mapped more than once: pfn -> mappings.
  const std::map<std::uint64_t, std::uint32_t>& shared() const { return m_shared; }

 private:
  PageAllocator& m_alloc;
  Reclaim& m_reclaim;
  PageCache* m_cache = nullptr;
  std::map<std::uint64_t, std::uint32_t> m_shared;
};

}  // namespace mmusim
