// Whole-system invariants of the OS model: each frame free in exactly one
// buddy list or owned exactly once (reserved low memory, the idle root,
// pinned frames, kernel-half tables, the huge zero page, free hugetlb pages,
// slab pages, page tables, data pages), shared frames counted as shared,
// page tables agreeing with the VMAs and the counters (rss, page tables,
// swap entries), swap slot counts matching their entries, LRU pages mapped,
// page-cache frames (owned by the cache, never free, on a file LRU list,
// their map count their PTEs, mapped only where a VMA of their file covers
// their offset, read-only in private VMAs, dirty PTEs only of dirty pages).
// Checked after every fault with --check-invariants, and in debug builds for
// memories up to 1 GiB. O(memory + mapped pages).
#pragma once

#include <string>

namespace mmusim {

class PageAllocator;
class SlabAllocator;
class PageTables;
class KernelSpace;
class Thp;
class Hugetlb;
class Tasks;
class Rmap;
class SwapSpace;
class Reclaim;
class PageCache;

struct OsParts {
  const PageAllocator& alloc;
  const SlabAllocator& slab;
  const PageTables& pt;
  const KernelSpace& kspace;
  const Thp& thp;
  const Hugetlb& hugetlb;
  const Tasks& tasks;
  const Rmap& rmap;
  const SwapSpace& swap;
  const Reclaim& reclaim;
  const PageCache& cache;
};

// "" when all hold, else the first violation found.
std::string check_os_invariants(const OsParts& os);

}  // namespace mmusim
