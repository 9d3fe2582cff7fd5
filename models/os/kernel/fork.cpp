// Tasks: fork (kernel/fork.c dup_mmap, mm/memory.c copy_page_range and
// copy_present_pte, mm/huge_memory.c copy_huge_pmd, mm/hugetlb.c
// copy_hugetlb_page_range). A transparent huge page is shared whole, as
// copy_huge_pmd() shares it.
#include <iterator>

#include "models/arch/entry_bits.h"
#include "models/os/arch/tlb.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/address_space.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/hugetlb.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"

namespace mmusim {
namespace {

// copy_page_range() as callbacks of the range walker.
class CopyOps : public RangeOps {
 public:
  CopyOps(Process& parent, Process& child, PageTables& pt, SwapSpace& swap, Hugetlb& hugetlb, const Thp& thp,
          Rmap& rmap)
      : m_parent(parent), m_child(child), m_pt(pt), m_swap(swap), m_hugetlb(hugetlb), m_thp(thp), m_rmap(rmap) {}

  bool ok() const { return m_ok; }
  bool stopped() const override { return !m_ok; }
  // copy_pte_range() maps the source PTE page and the child's (allocated
  // with the first entry to copy) once each for the whole table.
  void enter_table(unsigned level) override {
    if (level == 1) m_dst = 0;
  }
  // copy_page_range() runs only for VMAs that vma_needs_copy(): those with an
  // anon_vma ("Don't copy ptes where a page fault will fill them
  // correctly"); the child faults in the rest (file pages, zero pages).
  bool skip(VAddr lo, VAddr hi) override {
    auto it = m_parent.vmas.lower_bound(lo);
    if (it != m_parent.vmas.begin() && std::prev(it)->second.end > lo) --it;
    for (; it != m_parent.vmas.end() && it->first < hi; ++it)
      if (it->second.anon_vma) return false;
    return true;
  }
  // copy_huge_pmd() shares a huge PMD whole; it is split later, by the
  // first write (do_huge_pmd_wp_page), in the mapper that writes.
  bool split(unsigned, std::uint64_t, bool) override { return false; }
  void leaf(unsigned level, PAddr epa, std::uint64_t e, VAddr va) override {
    const std::uint64_t mask = m_pt.addr_mask();
    if (level == 3) {  // a hugetlb page
      if (!m_hugetlb.copy(m_child, epa, e, va)) m_ok = false;
      return;
    }
    if (level == 2) {
      // copy_huge_pmd() (mm/huge_memory.c): "pgtable = pte_alloc_one(dst_mm)"
      // first (-ENOMEM without it); then, for the huge zero page,
      // mm_get_huge_zero_page(dst_mm) and nothing counted; for a huge page
      // get_page + page_try_dup_anon_rmap(src_page, true) (one more compound
      // mapping) and add_mm_counter(dst_mm, MM_ANONPAGES, HPAGE_PMD_NR).
      // Both: pgtable_trans_huge_deposit(dst_mm, ...), "pmdp_set_wrprotect(
      // src_mm, addr, src_pmd)" and the child's "pmd = pmd_mkold(
      // pmd_wrprotect(pmd))": R/W cleared in both, A in the child's, D kept.
      // Unlike a PTE (below), the entry read before pte_alloc_one() is
      // still current after it: reclaim and compaction leave huge PMDs
      // alone (a THP is on no LRU here; the huge zero page's shrinker frees
      // it only unused). Linux re-reads it under the lock and, if it is no
      // longer huge, returns -EAGAIN to copy_pmd_range()'s PTE copy.
      const std::uint64_t pfn = (e & mask) >> kPageShift;
      const bool zero = m_thp.is_zero_pfn(pfn);
      if (!m_pt.deposit(m_child, va)) {
        m_ok = false;
        return;
      }
      if (!m_pt.map(m_child, va, pfn, m_pt.size_at(2), (e & ~mask) & ~(pte::kRW | pte::kA))) {
        m_pt.zap_deposit(m_child, va);
        m_ok = false;
        return;
      }
      if (e & pte::kRW) m_pt.wr(epa, e & ~pte::kRW);
      if (zero) {
        m_child.huge_zero = true;
        return;
      }
      m_rmap.share_huge(pfn, m_pt.huge_order());
      m_child.rss_pages += m_pt.huge_pages();
      return;
    }
    const PAddr dst_epa = m_pt.index_at(va, 1) * static_cast<PAddr>(m_pt.entry_bytes());
    // copy_pte_range() allocates the child's PTE page (pte_alloc_map_lock)
    // before it reads a source entry, and reads them under the source PTL.
    // The allocation may reclaim, and reclaim may swap out or migrate the
    // very page this entry maps, so the entry is read again after it; the
    // walker's copy may be stale (a frame already freed).
    if (!dst_table(va)) {
      m_ok = false;
      return;
    }
    e = m_pt.rd(epa);
    if (!swpte::mapped(e)) return;
    if (swpte::swap_marker(e)) {
      // A swapped-out page: the child's PTE holds the same slot (swap_duplicate).
      if (e & swpte::kSwapEntry) {
        m_swap.device()->dup(m_swap.slot(e));
        ++m_child.swap_pages;
      }
      m_pt.wr(m_dst + dst_epa, e);
      return;
    }
    const std::uint64_t pfn = (e & mask) >> kPageShift;
    if (m_thp.is_zero_pfn(pfn)) {  // present or PROT_NONE
      // copy_present_pte(): vm_normal_page() is NULL for the zero page: no
      // rmap, no rss; the child's PTE is the same, made old.
      m_pt.wr(m_dst + dst_epa, e & ~pte::kA);
      return;
    }
    // copy_present_pte(): a private writable mapping is write-protected in
    // both (ptep_set_wrprotect, pte_wrprotect), which leaves D alone; the
    // child's copy is made old (pte_mkold, A clear) and, the mapping being
    // private, keeps D (only VM_SHARED mappings get pte_mkclean).
    const std::uint64_t shared = e & ~pte::kRW;
    if (shared != e) m_pt.wr(epa, shared);
    const std::uint64_t flags = (shared & ~mask) & ~pte::kA;
    m_pt.wr(m_dst + dst_epa, (pfn << kPageShift) | flags);
    m_rmap.share(pfn);
    ++m_child.rss_pages;
  }

 private:
  bool dst_table(VAddr va) {
    if (!m_dst && (m_dst = m_pt.table_for(m_child, va, 1))) m_pt.pte_map(m_dst);
    return m_dst != 0;
  }

  Process& m_parent;
  Process& m_child;
  PageTables& m_pt;
  SwapSpace& m_swap;
  Hugetlb& m_hugetlb;
  const Thp& m_thp;
  Rmap& m_rmap;
  PAddr m_dst = 0;
  bool m_ok = true;
};

}  // namespace

bool Tasks::copy_mm(Process& parent, Process& child) {
  CopyOps ops(parent, child, m_pt, m_swap, m_hugetlb, m_thp, m_rmap);
  m_pt.walk_range(parent, 0, m_pt.user_top(), ops);
  return ops.ok();
}

void Tasks::fork(std::uint32_t child_pid) {
  Process& parent = cur();
  if (m_procs.count(child_pid)) throw OsError("@fork " + std::to_string(child_pid) + ": the process exists");
  if (m_threads.count(child_pid))
    throw OsError("@fork " + std::to_string(child_pid) + ": a thread (made by @clone) has that id");
  const std::uint32_t parent_pid = parent.pid;
  auto enomem = [&](const char* what) {
    ++*m_enomem_forks;
    m_kills.push_back("@fork " + std::to_string(child_pid) + " failed: out of memory for " + what +
                      " (ENOMEM to process " + std::to_string(parent_pid) + "); process " + std::to_string(child_pid) +
                      "'s records are skipped");
  };
  Process* created = create(child_pid);
  if (!created) {
    enomem("the child's task_struct, mm_struct or page directory");
    return;
  }
  Process& child = *created;
  Process& par = *m_procs.at(parent_pid);
  child.vmas = par.vmas;
  child.has_brk = par.has_brk;
  child.brk_start = par.brk_start;
  child.brk_end = par.brk_end;
  child.oom_score_adj = par.oom_score_adj;  // inherited, as with signal_struct
  m_as.sync_vma_objects(child);
  const Process* saved = m_forking;
  const Process* saved_child = m_forked_child;
  m_forking = &par;
  m_forked_child = &child;
  bool ok = true;
  try {
    ok = copy_mm(par, child);
  } catch (...) {
    m_forking = saved;
    m_forked_child = saved_child;
    throw;
  }
  m_forking = saved;
  m_forked_child = saved_child;
  // dup_mmap() (kernel/fork.c) ends with flush_tlb_mm(oldmm): the parent's
  // writable translations are stale now. flush_tlb_mm_range() advances the
  // mm's tlb_gen (inc_mm_tlb_gen) and, the mm being loaded, flushes it
  // locally; the new generation also makes the next switch back to the
  // parent flush its PCID instead of loading CR3 with the no-flush bit.
  if (m_test_hooks.fork_without_flush_tlb_mm) {
    if (m_has_current && m_current == par.pid) m_mmu.write_cr3(par.root);
  } else {
    m_asids.flush_tlb_mm(par);
  }
  if (!ok) {
    // dup_mmap() fails: the child's mm is torn down (exit_mmap), and
    // copy_process() returns -ENOMEM.
    kill(child, "fork failed: out of memory");
    m_kills.pop_back();
    enomem("the child's page tables");
    return;
  }
  ++*m_forks;  // total_forks counts the forks that succeed
}

}  // namespace mmusim
