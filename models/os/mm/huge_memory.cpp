#include "models/os/mm/huge_memory.h"

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/fault_cost.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

static_assert(Thp::kZeroPfn == PageAllocator::kReservedLowPages - 1, "the zero page is in the reserved low 1 MiB");

Thp::Thp(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, KernelSpace& kspace,
         const Tasks& tasks, FaultCost& cost, Reclaim& reclaim, FaultStats& faults, Rmap& rmap)
    : m_p(p),
      m_mem(mem),
      m_pt(pt),
      m_alloc(alloc),
      m_kspace(kspace),
      m_tasks(tasks),
      m_cost(cost),
      m_reclaim(reclaim),
      m_faults(faults),
      m_rmap(rmap) {}

void Thp::register_stats(StatGroup& os) {
  m_alloc_count = &os.group("thp").counter("alloc", "2 MiB pages allocated at fault time (thp_fault_alloc)");
  m_fallback = &os.group("thp").counter(
      "fallback", "eligible faults that fell back to 4 KiB: no order-9 block (thp_fault_fallback)");
}

void Thp::register_zero_stat(StatGroup& zp) {
  zp.formula("huge_allocated", "1 once the huge zero page was allocated (it is never freed here)",
             [this] { return m_huge_zero_pfn ? 1.0 : 0.0; });
}

bool Thp::is_zero_pfn(std::uint64_t pfn) const {
  return pfn == kZeroPfn || (m_huge_zero_pfn && pfn >= m_huge_zero_pfn && pfn < m_huge_zero_pfn + m_pt.huge_pages());
}

std::uint64_t Thp::huge_zero_page() {
  if (m_huge_zero_pfn) return m_huge_zero_pfn;
  // get_huge_zero_page(): alloc_pages((GFP_TRANSHUGE | __GFP_ZERO) &
  // ~__GFP_MOVABLE, HPAGE_PMD_ORDER) on first use.
  auto block = m_alloc.buddy().alloc(m_pt.huge_order());
  if (!block) return 0;
  for (std::uint64_t i = 0; i < m_pt.huge_pages(); ++i) {
    m_kspace.kmap_atomic(*block + i);
    m_mem.zero_frame(*block + i);
  }
  m_huge_zero_pfn = *block;
  return m_huge_zero_pfn;
}

void Thp::shrink_huge_zero_page() {
  if (!m_huge_zero_pfn) return;
  for (const auto& kv : m_tasks.all())
    if (kv.second->alive && kv.second->huge_zero) return;
  m_alloc.buddy().free(m_huge_zero_pfn, m_pt.huge_order());
  m_huge_zero_pfn = 0;
}

bool Thp::fault(Process& p, Vma& v, VAddr cr2, bool write, FaultOutcome* out) {
  const std::uint64_t huge = m_pt.huge_bytes();
  const bool eligible = !v.file && huge && (m_p.thp == ThpMode::Always || (m_p.thp == ThpMode::Madvise && v.huge));
  if (!eligible) return false;
  const VAddr base = cr2 & ~(huge - 1);
  const unsigned order = m_pt.huge_order();  // 9, or 10 for a 4 MiB ia32 page
  const unsigned pages = 1u << order;
  const bool fits = base >= v.start && base + huge <= v.end && !swpte::mapped(m_pt.entry_at(p, base, 2, nullptr));
  if (!fits) return false;
  // do_huge_pmd_anonymous_page() calls anon_vma_prepare() first, for a
  // read that maps the huge zero page too.
  v.anon_vma = true;
  const PageSize size = m_pt.size_at(2);
  if (!write) {
    // A read fault with use_zero_page (its default): the huge zero page,
    // read-only; without one, the fallback. The PTE page to deposit comes
    // first (pte_alloc_one), then the huge zero page. (Linux returns
    // VM_FAULT_OOM when the PTE page cannot be had; here the fault falls
    // back to 4 KiB, whose own allocation then runs the OOM path.)
    if (!m_pt.deposit(p, base)) {
      ++*m_fallback;
      return false;
    }
    const std::uint64_t zero = huge_zero_page();
    if (!zero) m_pt.zap_deposit(p, base);
    if (zero) {
      if (m_pt.map(p, base, zero, size, m_pt.leaf_flags(v, size) & ~(pte::kRW | pte::kD))) {
        p.huge_zero = true;  // mm_get_huge_zero_page: one reference per mm
        ++*m_faults.zero_huge_maps;
        ++*m_faults.minor;
        out->cost_cycles = m_p.fault_minor_cycles;
        return true;
      }
      m_pt.zap_deposit(p, base);
    }
    ++*m_fallback;
    return false;
  }
  // vma_alloc_folio with alloc_hugepage_direct_gfpmask(): for defrag=madvise
  // (the default) GFP_TRANSHUGE_LIGHT (no reclaim at all) outside madvised
  // VMAs and GFP_TRANSHUGE (direct reclaim and compaction, no kswapd) inside.
  // Either way the low watermark first, then min (gfp_to_alloc_flags), with
  // lowmem_reserve, from any zone GFP_HIGHUSER_MOVABLE allows; no OOM kill
  // on failure: a fall back to a 4 KiB page.
  ZonedPageAllocator& buddy = m_alloc.buddy();
  auto block = buddy.alloc(order, ZoneType::HighMem, Watermark::Low);
  if (!block) block = buddy.alloc(order, ZoneType::HighMem, Watermark::Min);
  // Compaction makes 2 MiB blocks (order 9).
  if (!block && v.huge && order == 9 && m_reclaim.compact_for_order9())
    block = buddy.alloc(order, ZoneType::HighMem, Watermark::Min);
  if (block) {
    for (unsigned i = 0; i < pages; ++i) {
      m_kspace.kmap_atomic(*block + i);  // clear_huge_page maps each subpage
      m_mem.zero_frame(*block + i);
      m_cost.ktouch((*block + i) << kPageShift, kPageBytes, true);
    }
    // pte_alloc_one() after the folio, deposited with the huge PMD.
    const bool deposited = m_pt.deposit(p, base);
    if (deposited && m_pt.map(p, base, *block, size, m_pt.leaf_flags(v, size))) {
      p.rss_pages += pages;
      ++*m_alloc_count;
      ++*m_faults.minor;
      out->cost_cycles = m_p.fault_minor_cycles + m_cost.zero_cycles(pages);
      return true;
    }
    if (deposited) m_pt.zap_deposit(p, base);
    buddy.free(*block, order);
  }
  ++*m_fallback;
  return false;
}

}  // namespace mmusim

namespace mmusim {

bool Thp::wp_split_shared(Process& p, VAddr cr2) {
  const std::uint64_t pde = m_pt.entry_at(p, cr2, 2, nullptr);
  if (!(pde & pte::kP) || !m_pt.is_leaf(2, pde) || (pde & pte::kRW)) return false;
  const std::uint64_t head = (pde & m_pt.addr_mask()) >> kPageShift;
  // do_huge_pmd_wp_page(): "if (is_huge_zero_pmd(orig_pmd)) goto fallback"
  // is the caller's; "if (PageAnonExclusive(page)) goto reuse", and a page
  // no one else holds (folio_ref_count(folio) == 1) is reused too; else
  // "__split_huge_pmd(vma, vmf->pmd, vmf->address, false, NULL); return
  // VM_FAULT_FALLBACK".
  if (is_zero_pfn(head) || m_rmap.huge_exclusive(head)) return false;
  m_pt.split_huge(p, cr2 & ~(m_pt.huge_bytes() - 1));
  return true;
}

}  // namespace mmusim
