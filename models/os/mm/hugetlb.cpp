#include "models/os/mm/hugetlb.h"

#include <iostream>

#include "models/arch/entry_bits.h"
#include "models/os/arch/tlb.h"
#include "models/os/fault_cost.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/oom_kill.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"

namespace mmusim {
namespace {

constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);

}  // namespace

Hugetlb::Hugetlb(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, PageTables& pt, PageAllocator& alloc,
                 Rmap& rmap, Tasks& tasks, OomKiller& oom, FaultCost& cost, FaultStats& faults)
    : m_p(p),
      m_mem(mem),
      m_mmu(mmu),
      m_pt(pt),
      m_alloc(alloc),
      m_rmap(rmap),
      m_tasks(tasks),
      m_oom(oom),
      m_cost(cost),
      m_faults(faults) {}

void Hugetlb::boot(StatGroup& os) {
  StatGroup& g = os.group("hugetlb");
  g.formula("total", "1 GiB pages in the hugetlb pool (HugePages_Total)",
            [this] { return static_cast<double>(total()); });
  g.formula("free", "1 GiB pages of the pool not mapped (HugePages_Free)",
            [this] { return static_cast<double>(free()); });
  m_alloc_count = &g.counter("alloc", "faults that mapped a 1 GiB page from the hugetlb pool");
  m_sigbus = &g.counter("sigbus", "hugetlb faults that found the pool empty: the process got SIGBUS");
  const unsigned want = m_p.hugetlb_1g_pages;
  if (want == 0) return;
  if (m_pt.large_top() < 3)
    throw std::invalid_argument("OS model: os.hugetlb_1g needs 1 GiB pages, which only the 64-bit modes have");
  ZonedPageAllocator& buddy = m_alloc.buddy();
  if (buddy.max_order() > kOrder)
    throw std::invalid_argument("OS model: os.hugetlb_1g needs os.max_order of at most 18");
  const std::uint64_t top = buddy.num_pages() & ~(kPages - 1);
  for (std::uint64_t h = top; h >= kPages && m_pages.size() < want;) {
    h -= kPages;
    if (!buddy.take_free_range(h, kPages)) continue;
    m_pages.insert(h);
    m_free.push_back(h);  // top-down: the lowest ends at the back
  }
  if (m_pages.size() < want)
    std::cerr << "HugeTLB: allocating " << want << " of page size 1.00 GiB failed.  Only allocated " << m_pages.size()
              << " hugepages.\n";
}

std::uint64_t Hugetlb::head(std::uint64_t pfn) const {
  if (m_pages.empty()) return UINT64_MAX;
  const std::uint64_t h = pfn & ~(kPages - 1);
  return m_pages.count(h) ? h : UINT64_MAX;
}

std::uint64_t Hugetlb::mmap_len(VAddr start, std::uint64_t len, bool file) const {
  if (file) throw OsError("@mmap: hugetlb with file: hugetlbfs files are out of scope");
  if (m_pt.large_top() < 3) throw OsError("@mmap: hugetlb needs 1 GiB pages, which only the 64-bit modes have");
  if (start % k1G) throw OsError("@mmap: a hugetlb mapping must start 1 GiB-aligned, got " + hex_string(start));
  // The range check kept len within user_top - start, a multiple of 1 GiB here.
  return (len + k1G - 1) & ~(k1G - 1);
}

void Hugetlb::check_split(Process& p, VAddr start, VAddr end, const char* what) {
  for (VAddr a : {start, end}) {
    const Vma* v = find_vma(p, a);
    if (v && v->hugetlb && a % k1G)
      throw OsError(std::string(what) + " " + hex_string(start) + "-" + hex_string(end) + ": " + hex_string(a) +
                    " would split a 1 GiB page of the hugetlb mapping at " + hex_string(v->start) + " (EINVAL)");
  }
}

void Hugetlb::put(std::uint64_t pfn) {
  if (m_rmap.unshare(pfn)) return;
  if (head(pfn) != pfn)
    throw std::logic_error("OS model: a 1 GiB page outside the hugetlb pool at pfn " + hex_string(pfn));
  m_free.push_back(pfn);  // free_huge_folio -> enqueue_hugetlb_folio
}

bool Hugetlb::copy(Process& child, PAddr epa, std::uint64_t e, VAddr va) {
  const std::uint64_t pfn = (e & m_pt.addr_mask()) >> kPageShift;
  // copy_hugetlb_page_range(), a COW mapping: huge_ptep_set_wrprotect() in
  // the parent and the same write-protected entry in the child; A and D
  // stay as they were in both (no pte_mkold here, unlike copy_present_pte).
  const std::uint64_t shared = e & ~pte::kRW;
  if (shared != e) m_pt.wr(epa, shared);
  if (!m_pt.map(child, va, pfn, PageSize::k1G, shared & ~m_pt.addr_mask())) return false;
  m_rmap.share(pfn);
  return true;
}

FaultOutcome Hugetlb::fault(Process& p, const Vma& v, VAddr cr2, bool write, const std::string& access) {
  FaultOutcome out;
  out.cost_cycles = m_p.fault_minor_cycles;
  const VAddr base = cr2 & ~(k1G - 1);
  auto die = [&](const std::string& why, bool sigbus) {
    if (sigbus) ++*m_sigbus;
    else m_oom.count_kill();
    m_tasks.kill(p, why + ", " + access);
    out.result = FaultResult::Killed;
    out.reason = m_tasks.kills().back();
    return out;
  };
  PAddr epa = 0;
  const std::uint64_t e = m_pt.entry_at(p, base, 3, &epa);
  if (!swpte::has_frame(e)) {
    // hugetlb_no_page(): a zeroed page from the free list.
    if (m_free.empty()) return die("SIGBUS: no free 1 GiB page in the hugetlb pool", true);
    const std::uint64_t pfn = m_free.back();
    m_free.pop_back();
    for (std::uint64_t f = pfn; f < pfn + kPages; ++f) m_mem.zero_frame(f);
    m_cost.ktouch(pfn << kPageShift, k1G, true);  // clear_huge_page (os.fault_model: accesses)
    if (!m_pt.map(p, base, pfn, PageSize::k1G, m_pt.leaf_flags(v, PageSize::k1G))) {
      m_free.push_back(pfn);
      return die("out of memory for page tables (OOM killer)", false);
    }
    ++*m_alloc_count;
    ++*m_faults.minor;
    out.cost_cycles += m_cost.zero_cycles(kPages);
    return out;
  }
  const std::uint64_t pfn = (e & m_pt.addr_mask()) >> kPageShift;
  std::uint64_t flags = m_pt.leaf_flags(v, PageSize::k1G);
  if (write && (e & pte::kP) && !(e & pte::kRW)) {
    // hugetlb_wp(): copy-on-write of a page shared since fork. A fault that
    // ends in SIGBUS is counted in os.hugetlb.sigbus only, not as minor or cow.
    if (m_rmap.mapcount(pfn) > 1 && m_free.empty())
      return die("SIGBUS: no free 1 GiB page in the hugetlb pool for copy-on-write", true);
    ++*m_faults.cow;
    ++*m_faults.minor;
    if (m_rmap.mapcount(pfn) == 1) {
      ++*m_faults.cow_reuse;
    } else {
      const std::uint64_t copy = m_free.back();
      m_free.pop_back();
      for (std::uint64_t i = 0; i < kPages; ++i) m_mem.copy_frame(copy + i, pfn + i);
      for (std::uint64_t i = 0; i < kPages; ++i) {  // copy_user_huge_page, page by page
        m_cost.ktouch((pfn + i) << kPageShift, kPageBytes, false);
        m_cost.ktouch((copy + i) << kPageShift, kPageBytes, true);
      }
      put(pfn);
      m_pt.wr(epa, (copy << kPageShift) | flags);
      m_cost.ktouch(epa, m_pt.entry_bytes(), true);
      ++*m_faults.cow_copy;
      ++*m_alloc_count;
      out.cost_cycles += m_cost.copy_cycles(kPages);
      // huge_ptep_clear_flush() -> flush_tlb_page(): one INVLPG of any
      // address of a 1 GiB page invalidates it (SDM 4.10.4.1), on every CPU
      // that runs the mm.
      m_asids->flush_tlb_mm_range(p, base, base + kPageBytes, false);
      return out;
    }
  } else {
    ++*m_faults.minor;
    if (m_rmap.mapcount(pfn) > 1) flags &= ~(pte::kRW | pte::kD);  // a spurious fault on a page still shared
  }
  m_pt.wr(epa, (e & m_pt.addr_mask()) | flags);
  m_cost.ktouch(epa, m_pt.entry_bytes(), true);
  m_mmu.invlpg(base);
  return out;
}

}  // namespace mmusim
