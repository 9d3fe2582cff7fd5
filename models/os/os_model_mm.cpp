// OsModel, the memory-manager half added by the OS-model issue: kernel
// objects from the slab caches, fork with copy-on-write (kernel/fork.c
// dup_mmap, mm/memory.c copy_present_pte and do_wp_page), the OOM badness
// (mm/oom_kill.c) and the whole-system invariant checker. Kept apart from
// os_model.cpp, which builds the page tables.
#include <algorithm>
#include <climits>
#include <functional>
#include <random>
#include <set>

#include "models/os/os_model.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace {

// Same encoding as os_model.cpp: a PROT_NONE page keeps its frame in a
// not-present entry with this software bit set.
constexpr std::uint64_t kProtNoneBit = 1ull << 9;
bool has_frame(std::uint64_t e) { return (e & (pte::kP | kProtNoneBit)) != 0; }

// Approximate object sizes of a 6.x x86-64 distribution kernel, as
// /proc/slabinfo shows them; the exact figures depend on the kernel config.
constexpr unsigned kTaskStructBytes = 9984;
constexpr unsigned kMmStructBytes = 1344;
constexpr unsigned kVmAreaStructBytes = 200;
constexpr unsigned kPaePgdBytes = 32;  // 4 PDPTEs, 32-byte aligned (CR3 bits 31:5)

}  // namespace

// ---------------------------------------------------------------- kernel objects

void OsModel::init_kernel_allocators(StatGroup& stats) {
  // Slab pages are GFP_KERNEL (allocate_slab -> alloc_pages): never from
  // HIGHMEM, the low watermark first, then kswapd, the min watermark, direct
  // reclaim and the OOM killer, as for any GFP_KERNEL page; never below min.
  m_slab = std::make_unique<SlabAllocator>(
      [this](unsigned order, ZoneType highest) -> std::optional<std::uint64_t> {
        std::uint64_t pfn = 0;
        if (alloc_frame(order, &pfn, nullptr, highest)) return pfn;
        return std::nullopt;
      },
      [this](std::uint64_t pfn, unsigned order) { m_buddy->free(pfn, order); }, ZoneType::Normal);
  StatGroup& zp = stats.group("zero_page");
  StatGroup& en = stats.group("enomem");
  m_enomem_processes = &en.counter("processes", "process creations that found no memory (ENOMEM): their records are skipped");
  m_enomem_forks = &en.counter("forks", "@fork calls that found no memory (ENOMEM to the parent): the child's records are skipped");
  m_zero_maps = &zp.counter("maps", "read faults that mapped the shared zero page read-only (do_anonymous_page)");
  m_zero_huge_maps = &zp.counter("huge_maps", "read faults that mapped the huge zero page (do_huge_pmd_anonymous_page, use_zero_page)");
  m_zero_replaced = &zp.counter("replaced", "write faults that replaced a zero-page mapping by a new zeroed page (wp_page_copy)");
  m_zero_huge_splits = &zp.counter("huge_splits", "writes to a huge zero page, which split it into zero-page PTEs (__split_huge_zero_page_pmd)");
  zp.formula("huge_allocated", "1 once the huge zero page was allocated (it is never freed here)",
             [this] { return m_huge_zero_pfn ? 1.0 : 0.0; });
  m_task_cache = m_slab->create("task_struct", kTaskStructBytes, 64);
  m_mm_cache = m_slab->create("mm_struct", kMmStructBytes, 64);
  m_vma_cache = m_slab->create("vm_area_struct", kVmAreaStructBytes, 8);
  m_slab->register_stats(stats.group("slab"));
  init_reclaim(stats);
  fragment_memory();
  stats.group("highmem").formula("kmap_atomic", "temporary mappings of HighMem frames the kernel touched (32-bit modes)",
                                 [this] { return static_cast<double>(m_kmap_atomic); });
  stats.group("highmem").formula("kmap_atomic_pte",
                                 "of kmap_atomic, those that mapped a HighMem PTE page (CONFIG_HIGHPTE: pte_offset_map, "
                                 "zeroing, fork, munmap, mprotect, reclaim)",
                                 [this] { return static_cast<double>(m_kmap_atomic_pte); });
  StatGroup& fr = stats.group("fragmentation");
  fr.formula("pinned_pages", "frames pinned at boot by os.fragmentation",
             [this] { return static_cast<double>(m_pinned.size()); });
  fr.formula("free_outside_order9", "free frames not in a free block of order 9 or more (unusable for a 2 MiB page)",
             [this] {
               std::uint64_t in9 = 0;
               for (unsigned k = 9; k <= m_buddy->max_order(); ++k) in9 += m_buddy->free_blocks(k) << k;
               return static_cast<double>(m_buddy->free_pages() - in9);
             });
#ifndef NDEBUG
  // Debug builds check after every fault; the check is O(memory), so only for
  // memories up to 1 GiB (tests and pressure runs), else --check-invariants.
  if (m_p.memory_bytes <= (1ull << 30)) m_p.check_invariants = true;
#endif
}

void OsModel::kmap_atomic(std::uint64_t pfn) {
  if (m_p.highmem && pfn >= ZonedPageAllocator::kLowmemEndPfn) ++m_kmap_atomic;
}

void OsModel::fragment_memory() {
  if (m_p.fragmentation_percent == 0) return;
  // Candidates: 2 MiB-aligned ranges wholly free after boot, in a seeded
  // Fisher-Yates order (std::shuffle's algorithm is not specified).
  std::vector<std::uint64_t> regions;
  for (std::uint64_t head = 0; head + 512 <= m_buddy->num_pages(); head += 512) {
    bool free = true;
    for (std::uint64_t f = head; f < head + 512 && free; ++f) free = m_buddy->is_free(f);
    if (free) regions.push_back(head);
  }
  std::mt19937_64 rng(m_p.seed);
  for (std::size_t i = regions.size(); i > 1; --i) std::swap(regions[i - 1], regions[rng() % i]);
  // Pinning one frame of a region leaves its other 511 frames free but out of
  // any order-9 block; stop once they are the target share of free memory.
  const std::uint64_t free0 = m_buddy->free_pages();
  std::uint64_t broken = 0;
  for (std::uint64_t head : regions) {
    if (broken * 511 * 100 >= m_p.fragmentation_percent * (free0 - m_pinned.size())) break;
    const std::uint64_t pfn = head + rng() % 512;
    m_buddy->reserve(pfn, 1);
    m_pinned.push_back(pfn);
    ++broken;
  }
}

PAddr OsModel::alloc_pae_pdpt() {
  // Created on first use: Linux's pgtable_cache_init() makes it only for PAE.
  if (!m_pgd_cache)
    m_pgd_cache = m_slab->create("pgd_cache", kPaePgdBytes, kPaePgdBytes,
                                 m_p.highmem ? ZoneType::Normal : ZoneType::Dma32);
  auto pa = m_slab->alloc(m_pgd_cache);
  if (!pa) return 0;
  for (unsigned i = 0; i < kPaePgdBytes; i += 8) m_mem.write64(*pa + i, 0);
  return *pa;
}

void OsModel::free_pae_pdpt(PAddr pdpt) { m_slab->free(m_pgd_cache, pdpt); }

void OsModel::sync_vma_objects(Process& p) {
  // The VMA tree changes by merges and splits; what the kernel holds is one
  // vm_area_struct per VMA, so the count is brought in line after each change.
  while (p.vma_objs.size() < p.vmas.size()) {
    auto obj = m_slab->alloc(m_vma_cache);
    if (!obj) break;  // out of memory for the object: the VMA is kept, uncounted
    p.vma_objs.push_back(*obj);
  }
  while (p.vma_objs.size() > p.vmas.size()) {
    m_slab->free(m_vma_cache, p.vma_objs.back());
    p.vma_objs.pop_back();
  }
}

void OsModel::free_kernel_objects(Process& p) {
  while (!p.vma_objs.empty()) {
    m_slab->free(m_vma_cache, p.vma_objs.back());
    p.vma_objs.pop_back();
  }
  if (p.mm_obj) m_slab->free(m_mm_cache, p.mm_obj);
  if (p.task_obj) m_slab->free(m_task_cache, p.task_obj);
  p.mm_obj = p.task_obj = 0;
}

// ---------------------------------------------------------------- shared frames

std::uint32_t OsModel::mapcount(std::uint64_t pfn) const {
  auto it = m_shared.find(pfn);
  return it == m_shared.end() ? 1 : it->second;
}

void OsModel::put_page(Process& p, std::uint64_t pfn, unsigned order) {
  (void)p;
  auto it = order == 0 ? m_shared.find(pfn) : m_shared.end();
  if (it != m_shared.end()) {
    if (--it->second == 1) m_shared.erase(it);
    return;
  }
  if (order == 0) lru_del(pfn);
  m_buddy->free(pfn, order);
}

// ---------------------------------------------------------------- fork

void OsModel::copy_level(Process& parent, Process& child, PAddr table, unsigned level, VAddr base, bool* ok) {
  const std::uint64_t span = span_at(level);
  const unsigned n = level == m_levels
                         ? static_cast<unsigned>(std::min<std::uint64_t>(m_entries[level], m_user_top / span))
                         : m_entries[level];
  // copy_pte_range() maps the source PTE page and the child's (allocated
  // with the first entry to copy) once each for the whole table.
  PAddr dst = 0;
  auto dst_table = [&] {
    if (!dst && (dst = table_for(child, base, 1))) pte_map(dst);
    return dst != 0;
  };
  if (level == 1) pte_map(table);
  // copy_page_range() runs only for VMAs that vma_needs_copy(): those with an
  // anon_vma ("Don't copy ptes where a page fault will fill them
  // correctly"); the child faults in the rest (file pages, zero pages).
  auto needs_copy = [&parent](VAddr lo, VAddr hi) {
    auto it = parent.vmas.lower_bound(lo);
    if (it != parent.vmas.begin() && std::prev(it)->second.end > lo) --it;
    for (; it != parent.vmas.end() && it->first < hi; ++it)
      if (it->second.anon_vma) return true;
    return false;
  };
  for (unsigned i = 0; i < n && *ok; ++i) {
    const VAddr va = base + i * span;
    const PAddr epa = table + i * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (e && !needs_copy(va, va + span)) continue;
    if (level == 1 && (e & (kSwapEntry | kFileEvicted)) && !has_frame(e)) {
      // A swapped-out page: the child's PTE holds the same slot (swap_duplicate).
      if (e & kSwapEntry) {
        m_swap->dup(swap_slot(e));
        ++child.swap_pages;
      }
      if (dst_table()) {
        wr(dst + i * m_entry_bytes, e);
      } else {
        if (e & kSwapEntry) {
          m_swap->free(swap_slot(e));
          --child.swap_pages;
        }
        *ok = false;
        return;
      }
      continue;
    }
    if (!has_frame(e)) continue;
    if (level == 3 && is_leaf(level, e)) {  // a hugetlb page (hugetlb.cpp)
      if (!hugetlb_copy(child, epa, e, va)) {
        *ok = false;
        return;
      }
      continue;
    }
    if (level == 2 && is_leaf(level, e) && is_zero_pfn((e & m_addr_mask) >> kPageShift)) {
      // copy_huge_pmd(), the huge zero page: the child maps it too,
      // write-protected and old; nothing is counted (mm_get_huge_zero_page).
      if (!map(child, va, (e & m_addr_mask) >> kPageShift, size_at(2), (e & ~m_addr_mask) & ~(pte::kRW | pte::kA))) {
        *ok = false;
        return;
      }
      child.huge_zero = true;
      continue;
    }
    if (level == 2 && is_leaf(level, e)) {
      // Linux shares the huge PMD and splits it at the first write; here the
      // parent's 2 MiB page is split at fork so that sharing is per 4 KiB.
      split_huge(parent, va);
      e = rd(epa);
    }
    if (level > 1) {
      copy_level(parent, child, e & m_addr_mask, level - 1, va, ok);
      continue;
    }
    const std::uint64_t pfn = (e & m_addr_mask) >> kPageShift;
    if (is_zero_pfn(pfn)) {  // present or PROT_NONE
      // copy_present_pte(): vm_normal_page() is NULL for the zero page: no
      // rmap, no rss; the child's PTE is the same, made old.
      if (!dst_table()) {
        *ok = false;
        return;
      }
      wr(dst + i * m_entry_bytes, e & ~pte::kA);
      continue;
    }
    // copy_present_pte(): a private writable mapping is write-protected in
    // both (ptep_set_wrprotect, pte_wrprotect), which leaves D alone; the
    // child's copy is made old (pte_mkold, A clear) and, the mapping being
    // private, keeps D (only VM_SHARED mappings get pte_mkclean).
    const std::uint64_t shared = e & ~pte::kRW;
    if (shared != e) wr(epa, shared);
    const std::uint64_t flags = (shared & ~m_addr_mask) & ~pte::kA;
    if (!dst_table()) {
      *ok = false;
      return;
    }
    wr(dst + i * m_entry_bytes, (pfn << kPageShift) | flags);
    auto it = m_shared.find(pfn);
    if (it == m_shared.end()) m_shared[pfn] = 2;
    else ++it->second;
    ++child.rss_pages;
  }
}

void OsModel::fork(std::uint32_t child_pid) {
  Process& parent = cur();
  if (m_procs.count(child_pid)) throw OsError("@fork " + std::to_string(child_pid) + ": the process exists");
  const std::uint32_t parent_pid = parent.pid;
  auto enomem = [&](const char* what) {
    ++*m_enomem_forks;
    m_kills.push_back("@fork " + std::to_string(child_pid) + " failed: out of memory for " + what +
                      " (ENOMEM to process " + std::to_string(parent_pid) + "); process " +
                      std::to_string(child_pid) + "'s records are skipped");
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
  sync_vma_objects(child);
  bool ok = true;
  const Process* saved = m_forking;
  m_forking = &par;
  try {
    copy_level(par, child, par.root, m_levels, 0, &ok);
  } catch (...) {
    m_forking = saved;
    throw;
  }
  m_forking = saved;
  // dup_mmap() (kernel/fork.c) ends with flush_tlb_mm(oldmm): the parent's
  // writable translations are stale now. flush_tlb_mm_range() advances the
  // mm's tlb_gen (inc_mm_tlb_gen) and, the mm being loaded, flushes it
  // locally; the new generation also makes the next switch back to the
  // parent flush its PCID instead of loading CR3 with the no-flush bit.
  if (m_test_hooks.fork_without_flush_tlb_mm) {
    if (m_has_current && m_current == par.pid) m_mmu.write_cr3(par.root);
  } else {
    flush_tlb_mm(par);
  }
  if (!ok) {
    // dup_mmap() fails: the child's mm is torn down (exit_mmap), and
    // copy_process() returns -ENOMEM.
    kill(child, "fork failed: out of memory");
    m_kills.pop_back();
    enomem("the child's page tables");
    return;
  }
  ++m_forks;  // total_forks counts the forks that succeed
}

bool OsModel::cow_fault(Process& p, VAddr va, FaultOutcome* out) {
  Vma* v = find_vma(p, va);
  if (!v || !(v->prot & kWrite)) return false;
  PAddr epa = 0;
  const std::uint64_t e = entry_at(p, va, 1, &epa);
  if (!(e & pte::kP) || (e & pte::kRW)) return false;
  const std::uint64_t pfn = (e & m_addr_mask) >> kPageShift;
  v->anon_vma = true;  // wp_page_copy / an anonymous page reused: anon_vma_prepare
  if (is_zero_pfn(pfn)) return zero_page_write(p, *v, va, epa, out);
  ++m_cow;
  ++m_minor;
  const std::uint64_t flags = leaf_flags(*v, PageSize::k4K);
  if (mapcount(pfn) == 1) {
    // do_wp_page(): the only mapper reuses the frame (wp_page_reuse).
    wr(epa, (e & m_addr_mask) | flags);
    ktouch(epa, m_entry_bytes, true);
    lru_set_owner(pfn, p, va);
    ++m_cow_reuses;
    out->cost_cycles = m_p.fault_minor_cycles;
  } else {
    std::uint64_t copy = 0;
    if (!alloc_frame(0, &copy, &p)) {
      *out = oom_kill_faulting(p, "out of memory (OOM killer), copy-on-write at " + hex_string(va));
      return true;
    }
    kmap_atomic(pfn);  // copy_user_highpage maps both pages
    kmap_atomic(copy);
    for (unsigned off = 0; off < kPageBytes; off += 8)
      m_mem.write64((copy << kPageShift) + off, m_mem.read64((pfn << kPageShift) + off));
    ktouch(pfn << kPageShift, kPageBytes, false);  // copy_page: read the shared frame,
    ktouch(copy << kPageShift, kPageBytes, true);  // write the copy
    put_page(p, pfn, 0);
    pte_map(epa & ~(kPageBytes - 1));  // wp_page_copy re-maps the table (pte_offset_map_lock)
    wr(epa, (copy << kPageShift) | flags);
    ktouch(epa, m_entry_bytes, true);
    lru_add(copy, p, va, *v);
    ++m_cow_copies;
    out->cost_cycles = m_p.fault_minor_cycles + copy_cycles(1);
  }
  m_mmu.invlpg(va);
  return true;
}

FaultOutcome OsModel::oom_kill_faulting(Process& p, const std::string& why) {
  ++m_oom_kills;
  kill(p, why);
  FaultOutcome o;
  o.result = FaultResult::Killed;
  o.reason = m_kills.back();
  o.cost_cycles = m_p.fault_minor_cycles;
  return o;
}

// ---------------------------------------------------------------- zero pages

std::uint64_t OsModel::huge_zero_page() {
  if (m_huge_zero_pfn) return m_huge_zero_pfn;
  // get_huge_zero_page(): alloc_pages((GFP_TRANSHUGE | __GFP_ZERO) &
  // ~__GFP_MOVABLE, HPAGE_PMD_ORDER) on first use. (Linux frees it again
  // from a shrinker once no mm uses it; here it stays.)
  const unsigned order = m_shift[2] - kPageShift;
  auto block = m_buddy->alloc(order);
  if (!block) return 0;
  for (std::uint64_t i = 0; i < huge_pages(); ++i) {
    kmap_atomic(*block + i);
    m_mem.zero_frame(*block + i);
  }
  m_huge_zero_pfn = *block;
  return m_huge_zero_pfn;
}

void OsModel::shrink_huge_zero_page() {
  if (!m_huge_zero_pfn) return;
  for (const auto& kv : m_procs)
    if (kv.second->alive && kv.second->huge_zero) return;
  m_buddy->free(m_huge_zero_pfn, m_shift[2] - kPageShift);
  m_huge_zero_pfn = 0;
}

bool OsModel::zero_page_write(Process& p, const Vma& v, VAddr va, PAddr epa, FaultOutcome* out) {
  // do_wp_page(): vm_normal_page() is NULL for the zero page, so
  // wp_page_copy(), which for is_zero_pfn allocates a zeroed page instead of
  // copying (alloc_zeroed_user_highpage_movable), then ptep_clear_flush()
  // and the new writable, dirty PTE (maybe_mkwrite(pte_mkdirty(entry))).
  std::uint64_t page = 0;
  if (!alloc_frame(0, &page, &p)) {
    *out = oom_kill_faulting(p, "out of memory (OOM killer), write to the zero page at " + hex_string(va));
    return true;
  }
  kmap_atomic(page);
  m_mem.zero_frame(page);
  ktouch(page << kPageShift, kPageBytes, true);
  pte_map(epa & ~(kPageBytes - 1));  // wp_page_copy re-maps the table (pte_offset_map_lock)
  wr(epa, (page << kPageShift) | leaf_flags(v, PageSize::k4K));
  ktouch(epa, m_entry_bytes, true);
  ++p.rss_pages;
  lru_add(page, p, va, v);
  ++*m_zero_replaced;
  ++m_minor;
  out->cost_cycles = m_p.fault_minor_cycles + zero_cycles(1);
  m_mmu.invlpg(va);
  return true;
}

// ---------------------------------------------------------------- faults, OOM

FaultOutcome OsModel::handle_fault(VAddr cr2, std::uint32_t error_code) {
  m_reclaim_cost = 0;
  m_kcycles = 0;
  struct Active {  // the handler's accesses go out only while it runs
    bool& a;
    ~Active() { a = false; }
  } active{m_kactive};
  m_kactive = m_kport && m_p.fault_model == FaultModel::Accesses;
  FaultOutcome o = do_fault(cr2, error_code);
  o.cost_cycles += m_reclaim_cost + m_kcycles;  // direct reclaim's swap writes, the handler's accesses
  m_reclaim_cost = 0;
  m_kactive = false;
  after_fault();
  return o;
}

void OsModel::after_fault() {
  if (!m_p.check_invariants) return;
  const std::string e = check_invariants();
  if (!e.empty()) throw std::logic_error("OS model invariant violated after a page fault: " + e);
}

void OsModel::set_oom_score_adj(int adj) {
  if (adj < -1000 || adj > 1000)
    throw OsError("@oom_score_adj: " + std::to_string(adj) + " is outside -1000..1000");
  cur().oom_score_adj = adj;
}

std::uint64_t OsModel::mm_pgtables_pages(const Process& p) const {
  if (p.pgtable_pages == 0) return 0;
  std::uint64_t p4d = 0;  // 5-level paging: one P4D page per present user PML5E
  if (m_levels == 5)
    for (unsigned i = 0; i < kernel_root_index(); ++i) p4d += (rd(p.root + i * m_entry_bytes) & pte::kP) != 0;
  return p.pgtable_pages - 1 - p4d;  // the PGD (the PDPT with PAE) is not accounted
}

std::int64_t OsModel::oom_badness(const Process& p) const {
  if (!p.alive || p.oom_score_adj == -1000) return INT64_MIN;
  // out_of_memory() -> constrained_alloc(): totalram_pages() (the managed
  // pages of every zone) + total_swap_pages (the usable slots).
  std::uint64_t managed = 0;
  for (const Zone& z : m_buddy->zones()) managed += z.managed_pages;
  const auto total = static_cast<std::int64_t>(managed + (m_swap ? m_swap->usable_slots() : 0));
  std::int64_t points = static_cast<std::int64_t>(p.rss_pages + p.swap_pages + mm_pgtables_pages(p));
  // "adj *= totalpages / 1000": the division first, in integers.
  points += p.oom_score_adj * (total / 1000);
  return points;
}

Process* OsModel::select_oom_victim() {
  Process* victim = nullptr;
  std::int64_t best = INT64_MIN;
  for (auto& kv : m_procs) {
    const std::int64_t b = oom_badness(*kv.second);
    if (b == INT64_MIN || b < best) continue;
    best = b;
    victim = kv.second.get();
  }
  return victim;
}

// ---------------------------------------------------------------- invariants

std::string OsModel::check_invariants() const {
  if (std::string e = m_buddy->check_invariants(); !e.empty()) return "buddy: " + e;
  if (std::string e = m_slab->check_invariants(); !e.empty()) return "slab: " + e;
  const std::uint64_t n = m_buddy->num_pages();
  const std::uint64_t reserved = kReservedLowPages;
  enum : std::uint8_t { kNone, kKernel, kData };
  std::vector<std::uint8_t> kind(n, kNone);
  std::vector<std::uint32_t> refs(n, 0);
  std::map<std::uint64_t, std::uint32_t> swap_refs;  // slot -> swap entries
  auto own_kernel = [&](std::uint64_t pfn, const std::string& what) {
    if (pfn >= n) return what + " frame " + hex_string(pfn) + " beyond memory";
    if (kind[pfn] != kNone) return what + " frame " + hex_string(pfn) + " is owned twice";
    kind[pfn] = kKernel;
    return std::string();
  };
  // With PAE the idle root is a pgd_cache slab object, owned by its slab.
  if (!m_pae)
    if (std::string e = own_kernel(m_idle_root >> kPageShift, "idle root"); !e.empty()) return e;
  for (std::uint64_t pfn : m_pinned)
    if (std::string e = own_kernel(pfn, "pinned (os.fragmentation)"); !e.empty()) return e;
  for (PAddr t : m_kernel_tables)
    if (std::string e = own_kernel(t >> kPageShift, "kernel-half page table"); !e.empty()) return e;
  if (m_huge_zero_pfn)
    for (std::uint64_t f = m_huge_zero_pfn; f < m_huge_zero_pfn + huge_pages(); ++f)
      if (std::string e = own_kernel(f, "huge zero page"); !e.empty()) return e;
  // A free hugetlb page is owned by the pool, once; a mapped one by its mappings.
  std::set<std::uint64_t> pool_free;
  for (std::uint64_t head : m_hugetlb_free) {
    if (!m_hugetlb_pages.count(head) || !pool_free.insert(head).second)
      return "hugetlb free list holds " + hex_string(head) + " twice or outside the pool";
    for (std::uint64_t f = head; f < head + kHugetlbPages; ++f)
      if (std::string e = own_kernel(f, "free hugetlb pool page"); !e.empty()) return e;
  }
  std::string slab_err;
  m_slab->for_each_page([&](std::uint64_t pfn) {
    if (slab_err.empty()) slab_err = own_kernel(pfn, "slab");
  });
  if (!slab_err.empty()) return slab_err;

  for (const auto& kv : m_procs) {
    const Process& p = *kv.second;
    if (!p.alive) {
      if (p.rss_pages || p.pgtable_pages || p.task_obj) return "dead pid " + std::to_string(p.pid) + " still owns memory";
      continue;
    }
    const std::string who = "pid " + std::to_string(p.pid) + ": ";
    std::uint64_t rss = 0, tables = 0, swaps = 0;
    if (p.vma_objs.size() != p.vmas.size())
      return who + std::to_string(p.vmas.size()) + " VMAs but " + std::to_string(p.vma_objs.size()) +
             " vm_area_struct objects";
    std::string e;
    std::function<void(PAddr, unsigned, VAddr)> walk = [&](PAddr table, unsigned level, VAddr base) {
      if (!e.empty()) return;
      ++tables;
      // A PAE PDPT is a pgd_cache slab object: the slab owns its frame.
      if (!(m_pae && level == 3)) e = own_kernel(table >> kPageShift, who + "page table");
      if (!e.empty()) return;
      const std::uint64_t span = span_at(level);
      for (unsigned i = 0; i < m_entries[level] && e.empty(); ++i) {
        const VAddr va = base + i * span;
        const std::uint64_t ent = rd(table + i * m_entry_bytes);
        if (level == m_levels && i >= kernel_root_index()) {  // the shared kernel half
          if (ent != rd(m_idle_root + i * m_entry_bytes))
            e = who + "root entry " + std::to_string(i) + " differs from the kernel half of the idle root";
          continue;
        }
        if (!has_frame(ent) && level == 1 && (ent & (kSwapEntry | kFileEvicted))) {
          auto it = p.vmas.upper_bound(va);
          if (it == p.vmas.begin() || va >= std::prev(it)->second.end) {
            e = who + "swap entry at " + hex_string(va) + " lies outside every VMA";
            return;
          }
          if (ent & kSwapEntry) {
            ++swap_refs[swap_slot(ent)];
            ++swaps;
          }
          continue;
        }
        if (!has_frame(ent)) continue;
        if (level == m_levels && va >= m_user_top) {
          e = who + "entry above user space at " + hex_string(va);
          return;
        }
        const bool leaf = is_leaf(level, ent);
        if (!leaf) {
          if (!(ent & pte::kP)) {
            e = who + "non-leaf entry not present at " + hex_string(va);
            return;
          }
          walk(ent & m_addr_mask, level - 1, va);
          continue;
        }
        const std::uint64_t frames = span / kPageBytes;
        auto it = p.vmas.upper_bound(va);
        const Vma* v = it == p.vmas.begin() ? nullptr : &std::prev(it)->second;
        if (!v || va < v->start || va + span > v->end) {
          e = who + "page at " + hex_string(va) + " lies outside every VMA";
          return;
        }
        const std::uint64_t pfn = (ent & m_addr_mask) >> kPageShift;
        if (is_zero_pfn(pfn)) {
          // A zero page: read-only, in no rss and no map count.
          if (ent & pte::kRW) e = who + "writable mapping of the zero page at " + hex_string(va);
          else if (v->file || v->hugetlb) e = who + "zero page mapped at " + hex_string(va) + " outside anonymous memory";
          else if (level == 2 && pfn != m_huge_zero_pfn) e = who + "huge mapping at " + hex_string(va) + " of part of the huge zero page";
          continue;
        }
        if ((level == 3) != v->hugetlb || (level == 3 && hugetlb_head(pfn) != pfn)) {
          e = who + "page at " + hex_string(va) + (v->hugetlb ? " in a hugetlb VMA is not a 1 GiB pool page"
                                                        : " is a 1 GiB page outside a hugetlb VMA");
          return;
        }
        if (ent & pte::kP) {
          if (!(v->prot & (kRead | kWrite | kExec)))
            e = who + "present page at " + hex_string(va) + " in a PROT_NONE VMA";
          else if ((ent & pte::kRW) && !(v->prot & kWrite))
            e = who + "writable page at " + hex_string(va) + " in a read-only VMA";
          else if ((ent & pte::kRW) && mapcount(pfn) > 1)
            e = who + "writable mapping of the shared frame " + hex_string(pfn) + " at " + hex_string(va);
          if (!e.empty()) return;
        }
        for (std::uint64_t f = pfn; f < pfn + frames; ++f) {
          if (f >= n || kind[f] == kKernel) {
            e = who + "page at " + hex_string(va) + " maps frame " + hex_string(f) +
                " that is a kernel page or beyond memory";
            return;
          }
          kind[f] = kData;
          ++refs[f];
        }
        if (level != 3) rss += frames;  // hugetlb pages are not in rss
      }
    };
    walk(p.root, m_levels, 0);
    if (!e.empty()) return e;
    if (swaps != p.swap_pages)
      return who + "swap_pages " + std::to_string(p.swap_pages) + " but " + std::to_string(swaps) + " swap entries";
    if (rss != p.rss_pages) return who + "rss " + std::to_string(p.rss_pages) + " but maps " + std::to_string(rss);
    if (tables != p.pgtable_pages)
      return who + "pgtable_pages " + std::to_string(p.pgtable_pages) + " but has " + std::to_string(tables);
  }

  for (std::uint64_t pfn = 0; pfn < n; ++pfn) {
    const bool free = m_buddy->is_free(pfn);
    if (pfn < reserved) {
      if (free || kind[pfn] != kNone) return "reserved frame " + hex_string(pfn) + " is free or in use";
      continue;
    }
    if (free && kind[pfn] != kNone) return "frame " + hex_string(pfn) + " is free in the buddy allocator but in use";
    if (!free && kind[pfn] == kNone) return "frame " + hex_string(pfn) + " is allocated but owned by nobody (leak)";
    // The frames of a hugetlb page share the map count of its first frame.
    const std::uint64_t head = hugetlb_head(pfn);
    const std::uint32_t maps = mapcount(head == UINT64_MAX ? pfn : head);
    if (kind[pfn] == kData && refs[pfn] != maps)
      return "frame " + hex_string(pfn) + " is mapped " + std::to_string(refs[pfn]) + " times but its map count is " +
             std::to_string(maps) + (refs[pfn] > maps ? " (aliased)" : "");
    if (head != UINT64_MAX && kind[pfn] != (pool_free.count(head) ? kKernel : kData))
      return "hugetlb pool frame " + hex_string(pfn) + " is neither free in the pool nor mapped";
  }
  std::uint64_t slots_used = 0;
  for (const auto& kv : swap_refs) {
    if (!m_swap || m_swap->count(kv.first) != kv.second)
      return "swap slot " + std::to_string(kv.first) + " is held by " + std::to_string(kv.second) +
             " entries but its count is " + std::to_string(m_swap ? m_swap->count(kv.first) : 0);
    ++slots_used;
  }
  if (m_swap && slots_used != m_swap->used())
    return std::to_string(m_swap->used()) + " swap slots in use but " + std::to_string(slots_used) + " referenced (leak)";
  for (const auto& kv : m_lru_index)
    if (kv.first >= n || kind[kv.first] != kData)
      return "LRU page " + hex_string(kv.first) + " is not a mapped data frame";
  for (const auto& kv : m_shared)
    if (kv.first >= n || refs[kv.first] != kv.second)
      return "shared frame " + hex_string(kv.first) + " has map count " + std::to_string(kv.second) + " but " +
             std::to_string(kv.first < n ? refs[kv.first] : 0) + " mappings";
  return "";
}

}  // namespace mmusim
