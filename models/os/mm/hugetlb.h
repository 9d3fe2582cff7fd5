// The reserved 1 GiB hugetlb pool (os.hugetlb_1g), as Linux's mm/hugetlb.c
// runs it with "hugepagesz=1G hugepages=N" on the kernel command line and
// mmap(MAP_HUGETLB | MAP_HUGE_1GB):
//  - Boot (hugetlb_hstate_alloc_pages -> alloc_bootmem_huge_page): up to N
//    1 GiB-aligned ranges that are entirely free are taken from the buddy
//    allocator, top-down as memblock allocates; if fewer fit, the pool holds
//    what fit and one warning line goes to stderr, as Linux prints
//    "HugeTLB: allocating N of page size 1.00 GiB failed".
//  - The pool's free list (hugepage_freelists): the last page reserved (the
//    lowest) or freed is taken first. Pool pages never return to the buddy
//    allocator, are not on an LRU list, are never reclaimed or swapped and
//    are not counted in rss (Linux counts them in neither RSS nor MemFree).
//  - A hugetlb VMA: 1 GiB-aligned start, length rounded up to 1 GiB;
//    munmap/mprotect/MAP_FIXED that would split one of its 1 GiB pages fail
//    with EINVAL (hugetlb_vm_op_split): an OsError here.
//  - A fault in it (hugetlb_fault -> hugetlb_no_page) maps a whole zeroed
//    1 GiB page with a PDPTE with PS = 1 (SDM 4.5, table 4-16 "Format of a
//    Page-Directory-Pointer-Table Entry (PDPTE) that Maps a 1-GByte Page"),
//    charged fault_cost.minor + 262144 * zero_page_per_4k like a THP fault
//    (with os.fault_model: accesses, the zeroing and copying are kernel
//    accesses instead, 4 KiB at a time).
//    An empty pool kills the process with SIGBUS (VM_FAULT_SIGBUS).
//  - fork shares a private hugetlb page copy-on-write (copy_hugetlb_page_range):
//    read-only in both, a map count as for 4 KiB COW frames; a write by one of
//    several sharers takes a new pool page and copies (hugetlb_wp), charged
//    fault_cost.minor + 262144 * cow_copy_per_4k, SIGBUS when the pool is
//    empty; the last sharer reuses the page.
// Leaves out: hugetlb reservations at mmap time (resv_map: the mapping
// behaves as with MAP_NORESERVE, so an empty pool shows at the fault),
// surplus pages and nr_overcommit_hugepages, hugetlbfs files and shared
// mappings, 2 MiB hugetlb pages, per-node pools, and the owner-steals-the-page
// rule of a failed COW (unmap_ref_private): the faulting process gets SIGBUS.
// The zone watermarks are computed before the reservation (Linux reserves from
// memblock, before the zones are sized); the difference is small.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class PageAllocator;
class Rmap;
class Tasks;
class OomKiller;
class FaultCost;
class AsidManager;

class Hugetlb {
 public:
  static constexpr unsigned kOrder = 18;  // 1 GiB = 2^18 frames
  static constexpr std::uint64_t kPages = 1ull << kOrder;

  Hugetlb(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, PageTables& pt, PageAllocator& alloc, Rmap& rmap,
          Tasks& tasks, OomKiller& oom, FaultCost& cost, FaultStats& faults);

  // The TLB flushes of a copy-on-write (hugetlb_wp -> huge_ptep_clear_flush).
  void set_asids(AsidManager& a) { m_asids = &a; }
  // Boot: the os.hugetlb statistics and up to os.hugetlb_1g pool pages.
  void boot(StatGroup& os);

  // HugePages_Total and HugePages_Free; pages are identified by their first pfn.
  std::uint64_t total() const { return m_pages.size(); }
  std::uint64_t free() const { return m_free.size(); }
  const std::set<std::uint64_t>& pool() const { return m_pages; }
  const std::vector<std::uint64_t>& free_list() const { return m_free; }
  // The pool page holding pfn (its first pfn), or UINT64_MAX.
  std::uint64_t head(std::uint64_t pfn) const;

  // @mmap ... hugetlb: checks start and returns len rounded up to 1 GiB.
  std::uint64_t mmap_len(VAddr start, std::uint64_t len, bool file) const;
  // OsError if start or end lies inside a 1 GiB page of a hugetlb VMA
  // (hugetlb_vm_op_split: EINVAL).
  void check_split(Process& p, VAddr start, VAddr end, const char* what);
  // A fault in a hugetlb VMA: a 1 GiB page from the pool, copy-on-write or a
  // spurious fault (hugetlb_fault, hugetlb_no_page, hugetlb_wp).
  FaultOutcome fault(Process& p, const Vma& v, VAddr cr2, bool write, const std::string& access);
  // One mapping of the pool page at pfn goes away; the last returns it to the pool.
  void put(std::uint64_t pfn);
  // fork: shares the 1 GiB page of the parent's entry e at epa copy-on-write
  // with the child; false if a child page table could not be allocated.
  bool copy(Process& child, PAddr epa, std::uint64_t e, VAddr va);

 private:
  const OsParams& m_p;
  PhysicalMemory& m_mem;
  MmuControl& m_mmu;
  AsidManager* m_asids = nullptr;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  Rmap& m_rmap;
  Tasks& m_tasks;
  OomKiller& m_oom;
  FaultCost& m_cost;
  FaultStats& m_faults;
  std::set<std::uint64_t> m_pages;    // the pool, free or mapped
  std::vector<std::uint64_t> m_free;  // hugepage_freelists: the back is taken first
  Counter* m_alloc_count = nullptr;
  Counter* m_sigbus = nullptr;
};

}  // namespace mmusim
