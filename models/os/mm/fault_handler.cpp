#include "models/os/mm/fault_handler.h"

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/fault_cost.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/address_space.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/hugetlb.h"
#include "models/os/mm/oom_kill.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

FaultHandler::FaultHandler(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, Tasks& tasks, AddressSpace& as,
                           PageTables& pt, PageAllocator& alloc, Thp& thp, Hugetlb& hugetlb, Rmap& rmap,
                           Reclaim& reclaim, SwapSpace& swap, OomKiller& oom, KernelSpace& kspace, FaultCost& cost,
                           AsidManager& asids, PageCache& cache, FaultStats& stats)
    : m_p(p),
      m_mem(mem),
      m_mmu(mmu),
      m_tasks(tasks),
      m_as(as),
      m_pt(pt),
      m_alloc(alloc),
      m_thp(thp),
      m_hugetlb(hugetlb),
      m_rmap(rmap),
      m_reclaim(reclaim),
      m_swap(swap),
      m_oom(oom),
      m_kspace(kspace),
      m_cost(cost),
      m_asids(asids),
      m_cache(cache),
      m_stats(stats) {}

void FaultHandler::register_stats(StatGroup& os) {
  m_stats.pgfault = &os.counter("pgfault", "page faults taken (vmstat pgfault)");
  StatGroup& f = os.group("faults");
  m_stats.minor = &f.counter("minor", "faults resolved without I/O: demand-zero pages");
  m_stats.major = &f.counter("major", "faults that needed I/O (swap-in); none without swap");
  m_stats.segv = &f.counter("segv", "faults that killed the process with SIGSEGV");
  m_stats.cow = &f.counter("cow",
                           "write-protect faults on a present page (do_wp_page): copy-on-write after fork, or a store "
                           "to a page a load swapped in; zero-page writes are os.zero_page.replaced");
  m_stats.cow_copy = &f.counter("cow_copy", "copy-on-write faults that copied the shared frame");
  m_stats.cow_reuse = &f.counter("cow_reuse", "copy-on-write faults by the last sharer, which reuse the frame");
}

void FaultHandler::register_zero_page_stats(StatGroup& zp) {
  m_stats.zero_maps = &zp.counter("maps", "read faults that mapped the shared zero page read-only (do_anonymous_page)");
  m_stats.zero_huge_maps = &zp.counter(
      "huge_maps", "read faults that mapped the huge zero page (do_huge_pmd_anonymous_page, use_zero_page)");
  m_stats.zero_replaced =
      &zp.counter("replaced", "write faults that replaced a zero-page mapping by a new zeroed page (wp_page_copy)");
  m_stats.zero_huge_splits = &zp.counter(
      "huge_splits", "writes to a huge zero page, which split it into zero-page PTEs (__split_huge_zero_page_pmd)");
}

FaultOutcome FaultHandler::handle(VAddr cr2, std::uint32_t error_code) {
  ++*m_stats.pgfault;
  Process& p = m_tasks.cur();
  FaultOutcome out;
  if (error_code & pf::kRsvd)
    throw std::logic_error("OS model: reserved bit set in a page table it built, at " + hex_string(cr2));
  const bool write = error_code & pf::kW;
  const bool fetch = error_code & pf::kI;
  const std::string access = std::string(fetch ? "fetch" : write ? "write" : "read") + " at " + hex_string(cr2);

  auto segv = [&](const std::string& why) {
    ++*m_stats.segv;
    m_tasks.kill(p, "SIGSEGV, " + access + ": " + why);
    out.result = FaultResult::Killed;
    out.reason = m_tasks.kills().back();
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  };

  m_cost.ktouch_vma_search(p, cr2);
  Vma* v = find_vma(p, cr2);
  if (!v) {
    if (!m_p.implicit_vmas) return segv("no VMA");
    if (cr2 >= m_pt.user_top()) return segv("kernel address");
    v = m_as.create_implicit_vma(p, cr2);
  }
  if (write && !(v->prot & kProtWrite)) return segv("VMA not writable");
  if (fetch && !(v->prot & kProtExec)) return segv("VMA not executable");
  if (!write && !fetch && !(v->prot & (kProtRead | kProtWrite | kProtExec)))
    return segv("VMA has no access (PROT_NONE)");
  m_cost.ktouch_walk(p, cr2);
  if (v->hugetlb) {
    v->anon_vma = true;  // hugetlb_no_page(), a private mapping: anon_vma_prepare
    return m_hugetlb.fault(p, *v, cr2, write, access);
  }
  m_pt.pte_map_of(p, cr2);
  if (!(error_code & pf::kP)) {
    // Threads on several cores: another CPU may have mapped the page since
    // this CPU's walk found it absent. handle_pte_fault() decides on the
    // entry it reads now, not on the error code: a present entry is a
    // write-protect fault (do_wp_page) or a spurious one, never a second
    // page. (With one core nothing runs between the walk and the fault.)
    const std::uint64_t e1 = m_pt.entry_at(p, cr2, 1, nullptr);
    const std::uint64_t e2 = (e1 & pte::kP) ? 0 : m_pt.entry_at(p, cr2, 2, nullptr);
    if ((e1 & pte::kP) || ((e2 & pte::kP) && m_pt.is_leaf(2, e2))) error_code |= pf::kP;
  }

  if ((error_code & pf::kP) && write) {
    // A write to the huge zero page: do_huge_pmd_wp_page() splits it
    // (__split_huge_pmd -> __split_huge_zero_page_pmd: 512 PTEs of the zero
    // page, the PMD cleared and flushed with pmdp_huge_clear_flush, one
    // INVLPG) and falls back to the PTE fault, a write to the zero page.
    PAddr pde_pa = 0;
    const std::uint64_t pde = m_pt.entry_at(p, cr2, 2, &pde_pa);
    if ((pde & pte::kP) && m_pt.is_leaf(2, pde) && m_thp.is_zero_pfn((pde & m_pt.addr_mask()) >> kPageShift)) {
      const VAddr base = cr2 & ~(m_pt.huge_bytes() - 1);
      m_pt.split_huge(p, base);
      m_asids.flush_tlb_mm_range(p, base, base + kPageBytes, false);
      ++*m_stats.zero_huge_splits;
    } else if (m_thp.wp_split_shared(p, cr2)) {
      // A huge page shared since fork: split the same way, then copy its
      // 4 KiB page (huge_memory.cpp).
      const VAddr base = cr2 & ~(m_pt.huge_bytes() - 1);
      m_asids.flush_tlb_mm_range(p, base, base + kPageBytes, false);
    }
    if (cow_fault(p, cr2, &out)) return out;
  }
  if (error_code & pf::kP) {
    // The page is present but its entry denies what the VMA allows: make
    // the entry agree with the VMA (a spurious fault in Linux's terms).
    PAddr epa = 0;
    unsigned level = 1;
    std::uint64_t e = m_pt.entry_at(p, cr2, 1, &epa);
    if (!(e & pte::kP)) {
      level = 2;
      e = m_pt.entry_at(p, cr2, 2, &epa);
    }
    m_pt.wr(epa, (e & m_pt.addr_mask()) | m_pt.leaf_flags(*v, m_pt.size_at(level)));
    m_cost.ktouch(epa, m_pt.entry_bytes(), true);
    m_mmu.invlpg(cr2);
    ++*m_stats.minor;
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }

  if (swap_in(p, *v, cr2, write, &out)) return out;
  if (m_thp.fault(p, *v, cr2, write, &out)) return out;
  if (v->ino) return m_cache.fault(p, *v, cr2, write, access);  // do_fault(): a file with an identity

  if (!write && !v->file) {
    // do_anonymous_page(), not a write: "entry =
    // pte_mkspecial(pfn_pte(my_zero_pfn(vmf->address), vma->vm_page_prot))":
    // the shared zero page, read-only (a private mapping's vm_page_prot has
    // no R/W) and clean; no page allocated, nothing in rss or on an LRU.
    if (!m_pt.map(p, cr2 & ~(kPageBytes - 1), Thp::kZeroPfn, PageSize::k4K,
                  m_pt.leaf_flags(*v, PageSize::k4K) & ~(pte::kRW | pte::kD))) {
      return m_oom.kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
    }
    ++*m_stats.zero_maps;
    ++*m_stats.minor;
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }
  // A page of its own (do_anonymous_page for a write: anon_vma_prepare;
  // a file page is the page cache's, not the VMA's).
  if (!v->file) v->anon_vma = true;
  std::uint64_t pfn = 0;
  if (!m_alloc.alloc_frame(0, &pfn, &p)) {
    return m_oom.kill_faulting(p, "out of memory (OOM killer), " + access);
  }
  m_kspace.kmap_atomic(pfn);  // clear_user_highpage
  m_mem.zero_frame(pfn);
  m_cost.ktouch(pfn << kPageShift, kPageBytes, true);
  if (!m_pt.map(p, cr2 & ~(kPageBytes - 1), pfn, PageSize::k4K, m_pt.leaf_flags(*v, PageSize::k4K))) {
    m_alloc.buddy().free(pfn, 0);
    return m_oom.kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
  }
  ++p.rss_pages;
  m_reclaim.lru_add(pfn, p, cr2, *v);
  ++*m_stats.minor;
  out.cost_cycles = m_p.fault_minor_cycles + m_cost.zero_cycles(1);
  return out;
}

bool FaultHandler::cow_fault(Process& p, VAddr va, FaultOutcome* out) {
  Vma* v = find_vma(p, va);
  if (!v || !(v->prot & kProtWrite)) return false;
  PAddr epa = 0;
  const std::uint64_t e = m_pt.entry_at(p, va, 1, &epa);
  if (!(e & pte::kP) || (e & pte::kRW)) return false;
  const std::uint64_t pfn = (e & m_pt.addr_mask()) >> kPageShift;
  const bool cached = m_cache.cached(pfn);
  if (cached && v->shared) {
    // do_wp_page() on a VM_SHARED mapping: wp_page_shared(), no copy.
    m_cache.wp_page_shared(p, *v, va, epa, e);
    ++*m_stats.minor;
    out->cost_cycles = m_p.fault_minor_cycles;
    m_mmu.invlpg(va);
    return true;
  }
  v->anon_vma = true;  // wp_page_copy / an anonymous page reused: anon_vma_prepare
  if (m_thp.is_zero_pfn(pfn)) return zero_page_write(p, *v, va, epa, out);
  ++*m_stats.cow;
  ++*m_stats.minor;
  const std::uint64_t flags = m_pt.leaf_flags(*v, PageSize::k4K);
  // A page-cache page of a private mapping is never reused: do_wp_page()
  // reuses only an anonymous page ("if (PageAnon(vmf->page))"), else
  // wp_page_copy().
  if (!cached && m_rmap.mapcount(pfn) == 1) {
    // do_wp_page(): the only mapper reuses the frame (wp_page_reuse).
    m_pt.wr(epa, (e & m_pt.addr_mask()) | flags);
    m_cost.ktouch(epa, m_pt.entry_bytes(), true);
    m_reclaim.lru_set_owner(pfn, p, va);
    ++*m_stats.cow_reuse;
    out->cost_cycles = m_p.fault_minor_cycles;
  } else {
    std::uint64_t copy = 0;
    if (cached) m_cache.lock(pfn);  // wp_page_copy holds a reference: reclaim keeps the page
    const bool got = m_alloc.alloc_frame(0, &copy, &p);
    if (cached) m_cache.unlock(pfn);
    if (!got) {
      *out = m_oom.kill_faulting(p, "out of memory (OOM killer), copy-on-write at " + hex_string(va));
      return true;
    }
    m_kspace.kmap_atomic(pfn);  // copy_user_highpage maps both pages
    m_kspace.kmap_atomic(copy);
    for (unsigned off = 0; off < kPageBytes; off += 8)
      m_mem.write64((copy << kPageShift) + off, m_mem.read64((pfn << kPageShift) + off));
    m_cost.ktouch(pfn << kPageShift, kPageBytes, false);  // copy_page: read the shared frame,
    m_cost.ktouch(copy << kPageShift, kPageBytes, true);  // write the copy
    m_rmap.put_page(pfn, 0);
    m_pt.pte_map(epa & ~(kPageBytes - 1));  // wp_page_copy re-maps the table (pte_offset_map_lock)
    m_pt.wr(epa, (copy << kPageShift) | flags);
    m_cost.ktouch(epa, m_pt.entry_bytes(), true);
    m_reclaim.lru_add(copy, p, va, *v);
    ++*m_stats.cow_copy;
    if (cached) m_cache.count_private_copy();
    out->cost_cycles = m_p.fault_minor_cycles + m_cost.copy_cycles(1);
    // wp_page_copy() -> ptep_clear_flush() -> flush_tlb_page(): every CPU
    // running the mm (a threaded process) drops the old frame's translation.
    m_asids.flush_tlb_mm_range(p, va & ~(kPageBytes - 1), (va & ~(kPageBytes - 1)) + kPageBytes, false);
    return true;
  }
  // wp_page_reuse() only adds the write right: a local INVLPG (another CPU's
  // read-only entry at worst faults spuriously, SDM 4.10.4.3).
  m_mmu.invlpg(va);
  return true;
}

bool FaultHandler::zero_page_write(Process& p, const Vma& v, VAddr va, PAddr epa, FaultOutcome* out) {
  // do_wp_page(): vm_normal_page() is NULL for the zero page, so
  // wp_page_copy(), which for is_zero_pfn allocates a zeroed page instead of
  // copying (alloc_zeroed_user_highpage_movable), then ptep_clear_flush()
  // and the new writable, dirty PTE (maybe_mkwrite(pte_mkdirty(entry))).
  std::uint64_t page = 0;
  if (!m_alloc.alloc_frame(0, &page, &p)) {
    *out = m_oom.kill_faulting(p, "out of memory (OOM killer), write to the zero page at " + hex_string(va));
    return true;
  }
  m_kspace.kmap_atomic(page);
  m_mem.zero_frame(page);
  m_cost.ktouch(page << kPageShift, kPageBytes, true);
  m_pt.pte_map(epa & ~(kPageBytes - 1));  // wp_page_copy re-maps the table (pte_offset_map_lock)
  m_pt.wr(epa, (page << kPageShift) | m_pt.leaf_flags(v, PageSize::k4K));
  m_cost.ktouch(epa, m_pt.entry_bytes(), true);
  ++p.rss_pages;
  m_reclaim.lru_add(page, p, va, v);
  ++*m_stats.zero_replaced;
  ++*m_stats.minor;
  out->cost_cycles = m_p.fault_minor_cycles + m_cost.zero_cycles(1);
  // wp_page_copy() -> ptep_clear_flush(): the zero page's translation goes on every CPU of the mm.
  m_asids.flush_tlb_mm_range(p, va & ~(kPageBytes - 1), (va & ~(kPageBytes - 1)) + kPageBytes, false);
  return true;
}

bool FaultHandler::swap_in(Process& p, const Vma& v, VAddr va, bool write, FaultOutcome* out) {
  PAddr epa = 0;
  const std::uint64_t e = m_pt.entry_at(p, va, 1, &epa);
  if (!epa || !swpte::swap_marker(e)) return false;
  std::uint64_t pfn = 0;
  if (!m_alloc.alloc_frame(0, &pfn, &p)) {
    *out = m_oom.kill_faulting(p, "out of memory (OOM killer), swap-in at " + hex_string(va));
    return true;
  }
  // Reclaim during the allocation edits only leaf entries of present pages,
  // so this entry (and its table) is still the one read above.
  Reclaim::VmStat& vm = m_reclaim.vm();
  if (e & swpte::kSwapEntry) {
    const std::uint64_t slot = m_swap.slot(e);
    const std::vector<std::uint64_t> words = m_swap.device()->read(slot);
    m_kspace.kmap_atomic(pfn);  // the read lands in a page the kernel maps to fill
    for (unsigned i = 0; i < SwapDevice::kWordsPerPage; ++i) m_mem.write64((pfn << kPageShift) + i * 8ull, words[i]);
    m_swap.device()->free(slot);
    --p.swap_pages;
    ++vm.pswpin;
  } else {
    m_kspace.kmap_atomic(pfn);
    m_mem.zero_frame(pfn);
    ++vm.pgrefault_file;
  }
  m_pt.pte_map(epa & ~(kPageBytes - 1));  // do_swap_page re-maps the table (pte_offset_map_lock)
  // do_swap_page(): "pte = mk_pte(page, vma->vm_page_prot)" - read-only and
  // clean for a private mapping -, and only for a write fault on a page it
  // owns alone "pte = maybe_mkwrite(pte_mkdirty(pte), vma)". (The page read
  // here is always this process's own: there is no swap cache to share.)
  std::uint64_t flags = m_pt.leaf_flags(v, PageSize::k4K);
  if (!write) flags &= ~(pte::kRW | pte::kD);
  m_pt.wr(epa, (pfn << kPageShift) | flags);
  m_cost.ktouch(epa, m_pt.entry_bytes(), true);
  ++p.rss_pages;
  m_reclaim.lru_add(pfn, p, va, v);
  ++*m_stats.major;
  out->cost_cycles = m_p.fault_major_cycles + m_p.swap_latency_cycles;
  return true;
}

}  // namespace mmusim
