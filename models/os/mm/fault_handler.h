// The page-fault handler, after mm/memory.c handle_mm_fault:
//  - find the VMA (find_vma), check the access against its protection
//    (else SIGSEGV, which kills the process); an address outside every VMA
//    gets an implicit VMA with replay.implicit_vmas;
//  - hugetlb VMAs go to the hugetlb pool (Hugetlb::fault);
//  - a write to a read-only present page: copy-on-write (do_wp_page: copy,
//    or reuse by the last sharer), a write to the zero page (wp_page_copy
//    with a new zeroed page), a write to the huge zero page (split first);
//  - a present page whose entry denies what the VMA allows: the entry is
//    made to agree (a spurious fault);
//  - swap-in (do_swap_page) of a swap entry or a dropped file page: a major
//    fault;
//  - a file with an identity: the page cache (PageCache::fault: do_read_fault
//    with do_fault_around, do_cow_fault, do_shared_fault); a write to a
//    read-only cache page copies it (private) or dirties it (shared);
//  - demand-zero: a THP when eligible (Thp::fault), else a private
//    anonymous read maps the shared zero page read-only (do_anonymous_page),
//    a write a new zeroed 4 KiB page; out of memory OOM-kills.
// HIGHPTE: handle_pte_fault reads the entry through pte_offset_map_nolock,
// and the handler maps the table again to change it (do_anonymous_page,
// do_swap_page, wp_page_copy), except for a spurious fault and
// wp_page_reuse, which edit it under this mapping.
#pragma once

#include <cstdint>
#include <string>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class Tasks;
class AddressSpace;
class PageTables;
class PageAllocator;
class Thp;
class Hugetlb;
class Rmap;
class Reclaim;
class SwapSpace;
class OomKiller;
class KernelSpace;
class FaultCost;
class AsidManager;
class PageCache;

class FaultHandler {
 public:
  FaultHandler(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, Tasks& tasks, AddressSpace& as, PageTables& pt,
               PageAllocator& alloc, Thp& thp, Hugetlb& hugetlb, Rmap& rmap, Reclaim& reclaim, SwapSpace& swap,
               OomKiller& oom, KernelSpace& kspace, FaultCost& cost, AsidManager& asids, PageCache& cache,
               FaultStats& stats);

  // os.pgfault and os.faults.* (into the FaultStats given at construction); os.zero_page.maps, huge_maps, replaced and
  // huge_splits.
  void register_stats(StatGroup& os);
  void register_zero_page_stats(StatGroup& zero_page);

  // A #PF at cr2 with the SDM's error code (4.7) in the current process.
  FaultOutcome handle(VAddr cr2, std::uint32_t error_code);

 private:
  bool cow_fault(Process& p, VAddr va, FaultOutcome* out);
  // do_wp_page() on a PTE that maps the zero page: wp_page_copy() with a new
  // zeroed page (no copy).
  bool zero_page_write(Process& p, const Vma& v, VAddr va, PAddr epa, FaultOutcome* out);
  // Swap-in or file refault of a not-present entry; false if the entry holds neither.
  bool swap_in(Process& p, const Vma& v, VAddr va, bool write, FaultOutcome* out);

  const OsParams& m_p;
  PhysicalMemory& m_mem;
  MmuControl& m_mmu;
  Tasks& m_tasks;
  AddressSpace& m_as;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  Thp& m_thp;
  Hugetlb& m_hugetlb;
  Rmap& m_rmap;
  Reclaim& m_reclaim;
  SwapSpace& m_swap;
  OomKiller& m_oom;
  KernelSpace& m_kspace;
  FaultCost& m_cost;
  AsidManager& m_asids;
  PageCache& m_cache;
  FaultStats& m_stats;
};

}  // namespace mmusim
