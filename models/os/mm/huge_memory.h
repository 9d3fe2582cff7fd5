// Transparent huge pages and the zero pages, after mm/huge_memory.c and
// mm/memory.c (my_zero_pfn):
//  - the 4 KiB zero page is a frame of the reserved low 1 MiB, as Linux's
//    empty_zero_page is part of the kernel image: outside the allocator;
//  - the huge zero page (get_huge_zero_page): allocated zeroed on first use,
//    one reference per mm (MMF_HUGE_ZERO_PAGE) until exit; its shrinker
//    frees it when no live mm holds one (shrink_huge_zero_page_scan);
//  - do_huge_pmd_anonymous_page(): with os.thp always, or madvise and a
//    MADV_HUGEPAGE VMA, a fault whose aligned 2 MiB (4 MiB with ia32) range
//    lies inside the VMA with an empty page-middle entry maps a huge page:
//    the huge zero page for a read (use_zero_page), else a zeroed block from
//    the low, then the min watermark (GFP_TRANSHUGE_LIGHT / GFP_TRANSHUGE:
//    no kswapd), after direct compaction in a madvised VMA; no OOM kill: a
//    fall back to 4 KiB (thp_fault_fallback).
//  - do_huge_pmd_wp_page(): a write to a huge page shared since fork
//    (copy_huge_pmd shares the PMD write-protected) splits the writer's PMD
//    and falls back to the PTE copy-on-write of the one 4 KiB page; the
//    last mapper reuses the PMD.
// Left out: khugepaged; the deferred split queue (a partly unmapped huge
// page is split at once); a 4 KiB page of a huge page still mapped by
// PTEs after its other mappers went is reused by a write here (Linux 6.1's
// do_wp_page copies it: the folio's refcount is above 1).
#pragma once

#include <cstdint>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class PageAllocator;
class KernelSpace;
class Tasks;
class FaultCost;
class Reclaim;
class Rmap;

class Thp {
 public:
  // my_zero_pfn: the last frame of the reserved low 1 MiB.
  static constexpr std::uint64_t kZeroPfn = 255;

  Thp(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, KernelSpace& kspace,
      const Tasks& tasks, FaultCost& cost, Reclaim& reclaim, FaultStats& faults, Rmap& rmap);

  // os.thp.alloc and fallback; os.zero_page.huge_allocated.
  void register_stats(StatGroup& os);
  void register_zero_stat(StatGroup& zero_page);
  const Counter& alloc_counter() const { return *m_alloc_count; }
  const Counter& fallback_counter() const { return *m_fallback; }

  // The zero pages: a private anonymous read fault maps them read-only.
  bool is_zero_pfn(std::uint64_t pfn) const;
  // The huge zero page's first frame; 0 before its first use.
  std::uint64_t huge_zero_pfn() const { return m_huge_zero_pfn; }
  // The huge zero page, allocated on first use; 0 if no block is free.
  std::uint64_t huge_zero_page();
  // The shrinker: frees the huge zero page when no live mm holds it.
  void shrink_huge_zero_page();

  // do_huge_pmd_anonymous_page() for a fault at cr2 in VMA v of p; true when
  // it mapped a huge page (out filled), false to fall back to 4 KiB.
  bool fault(Process& p, Vma& v, VAddr cr2, bool write, FaultOutcome* out);
  // do_huge_pmd_wp_page() for a write fault at cr2 on a present, read-only
  // huge PMD of a huge page (not the huge zero page): true when the page
  // is not this mapper's alone, so that its PMD was split into read-only
  // PTEs (VM_FAULT_FALLBACK: the caller flushes the PMD and goes on with
  // the PTE fault, do_wp_page). False otherwise (the only mapper: the
  // caller makes the PMD writable, the "reuse" path).
  bool wp_split_shared(Process& p, VAddr cr2);

 private:
  const OsParams& m_p;
  PhysicalMemory& m_mem;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  KernelSpace& m_kspace;
  const Tasks& m_tasks;
  FaultCost& m_cost;
  Reclaim& m_reclaim;
  FaultStats& m_faults;
  Rmap& m_rmap;
  std::uint64_t m_huge_zero_pfn = 0;
  Counter* m_alloc_count = nullptr;
  Counter* m_fallback = nullptr;
};

}  // namespace mmusim
