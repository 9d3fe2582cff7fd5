// Map counts of frames mapped more than once, after mm/rmap.c
// (page_mapcount, page_dup_file_rmap / page_add_anon_rmap at fork,
// page_remove_rmap): fork shares a private frame copy-on-write, each
// unmapping drops one mapping, and the last one frees the frame. A frame
// not listed is mapped once (or not at all). A 1 GiB hugetlb page counts
// under its first frame.
// A transparent huge page shared by fork (copy_huge_pmd ->
// page_try_dup_anon_rmap(src_page, true): the compound mapcount) counts
// its huge PMDs for all its frames. When one mapper splits its PMD
// (__split_huge_pmd_locked: each subpage gains a PTE mapping, the compound
// mapping goes) the page stays allocated as a whole while other PMDs map
// it; the model then splits the block in the allocator and counts each
// frame's mappings, PMDs and PTEs together (page_mapcount: _mapcount +
// compound_mapcount), so that the frames go one by one when the last
// mapping of each goes.
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

  // Transparent huge pages (2^order frames at head).
  // copy_huge_pmd(): one more huge PMD maps the page.
  void share_huge(std::uint64_t head, unsigned order);
  // No other mapping of any of its frames exists: the huge PMD may be
  // writable (PageAnonExclusive of the head, do_huge_pmd_wp_page's reuse).
  // A page split in a mapper that has since unmapped it is exclusive again
  // once only one PMD maps it (folio_ref_count(folio) == 1).
  bool huge_exclusive(std::uint64_t head) const;
  // __split_huge_pmd_locked() in one mapper: its huge PMD becomes PTEs of
  // the same frames. Splits the block in the allocator.
  void split_huge_pmd(std::uint64_t head, unsigned order);
  // Huge PMDs mapping the page (1 when not shared).
  std::uint32_t huge_pmds(std::uint64_t head) const {
    auto it = m_huge.find(head);
    return it == m_huge.end() ? 1 : it->second.pmds;
  }

 private:
  struct HugeMap {
    unsigned order;
    std::uint32_t pmds;  // huge PMDs mapping it
    bool split;          // some mapper maps it by PTEs: its frames are counted in m_shared
  };
  PageAllocator& m_alloc;
  Reclaim& m_reclaim;
  PageCache* m_cache = nullptr;
  std::map<std::uint64_t, std::uint32_t> m_shared;
  // Huge pages mapped by two or more huge PMDs, or by one while split elsewhere.
  std::map<std::uint64_t, HugeMap> m_huge;
};

}  // namespace mmusim
