#include "models/os/os_model.h"

#include <algorithm>

#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kTableFlags = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;  // Linux _PAGE_TABLE
constexpr std::uint64_t kReservedLowBytes = 1ull << 20;
constexpr std::uint64_t kFlushCeilingPages = 33;  // tlb_single_page_flush_ceiling
constexpr VAddr k2M = 2ull << 20;
constexpr VAddr k4G = 1ull << 32;
constexpr std::uint64_t kCr3NoFlush = 1ull << 63;  // SDM 4.10.4.1, MOV to CR3 with CR4.PCIDE = 1
// A PROT_NONE page keeps its frame in a not-present entry marked by a bit the
// hardware ignores when P = 0 (SDM 4.5.4), as Linux's _PAGE_PROTNONE does: every
// access faults, and an mprotect that allows access again restores the entry.
constexpr std::uint64_t kProtNone = 1ull << 9;
// The entry holds a table or a page, accessible or PROT_NONE.
// Swap entries and dropped file pages (reclaim.cpp) also occupy their slot.
bool mapped(std::uint64_t e) {
  return (e & (pte::kP | kProtNone | OsModel::kSwapEntry | OsModel::kFileEvicted)) != 0;
}
bool swap_marker(std::uint64_t e) {
  return !(e & (pte::kP | kProtNone)) && (e & (OsModel::kSwapEntry | OsModel::kFileEvicted));
}

}  // namespace

OsModel::OsModel(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, StatGroup& stats)
    : m_p(p),
      m_mem(mem),
      m_mmu(mmu),
      m_pgfault(stats.counter("pgfault", "page faults taken (vmstat pgfault)")),
      m_minor(stats.group("faults").counter("minor", "faults resolved without I/O: demand-zero pages")),
      m_major(stats.group("faults").counter("major", "faults that needed I/O (swap-in); none without swap")),
      m_segv(stats.group("faults").counter("segv", "faults that killed the process with SIGSEGV")),
      m_cow(stats.group("faults").counter("cow", "write-protect faults on a present page (do_wp_page): copy-on-write after fork, or a store to a page a load swapped in; zero-page writes are os.zero_page.replaced")),
      m_thp_alloc(stats.group("thp").counter("alloc", "2 MiB pages allocated at fault time (thp_fault_alloc)")),
      m_thp_fallback(stats.group("thp").counter("fallback", "eligible faults that fell back to 4 KiB: no order-9 block (thp_fault_fallback)")),
      m_oom_kills(stats.counter("oom_kills", "processes killed by the OOM killer")),
      m_implicit_vmas(stats.counter("implicit_vmas", "VMAs created by a first touch (replay.implicit_vmas)")),
      m_processes(stats.counter("processes", "processes created")),
      m_pgtable_allocs(stats.counter("pgtable_allocs", "page-table pages allocated")),
      m_cow_copies(stats.group("faults").counter("cow_copy", "copy-on-write faults that copied the shared frame")),
      m_cow_reuses(stats.group("faults").counter("cow_reuse", "copy-on-write faults by the last sharer, which reuse the frame")),
      m_forks(stats.counter("forks", "processes created by @fork")) {
  if (p.mode == PagingMode::X86_64 && p.levels != 4 && p.levels != 5)
    throw std::invalid_argument("OS model: levels must be 4 or 5");
  if (p.memory_bytes > m_mem.size_bytes()) throw std::invalid_argument("OS model: more memory than physical memory");
  if (p.pcid && (p.mode == PagingMode::Ia32 || p.mode == PagingMode::Pae))
    throw std::invalid_argument("OS model: PCIDs exist only with 4-level and 5-level paging (SDM 4.10.1)");
  if (p.numa_nodes == 0) throw std::invalid_argument("OS model: numa_nodes must be at least 1");
  m_ia32 = p.mode == PagingMode::Ia32;
  m_pae = p.mode == PagingMode::Pae;
  m_highpte = p.highmem && (m_ia32 || m_pae);  // CONFIG_HIGHPTE exists only in 32-bit kernels
  m_levels = m_ia32 ? 2 : m_pae ? 3 : (p.mode == PagingMode::X86_64_La57 || p.levels == 5) ? 5 : 4;
  m_entry_bytes = m_ia32 ? 4 : 8;
  for (unsigned l = 1; l <= m_levels; ++l) {
    m_shift[l] = m_ia32 ? 12 + 10 * (l - 1) : 12 + 9 * (l - 1);
    m_entries[l] = m_ia32 ? 1024 : 512;
  }
  if (m_pae) m_entries[3] = 4;
  m_large_top = m_ia32 ? (p.pse ? 2 : 0) : m_pae ? 2 : 3;
  m_huge_bytes = m_large_top >= 2 ? span_at(2) : 0;
  m_addr_mask = m_ia32 ? 0xfffff000ull : ((1ull << p.phys_addr_bits) - 1) & ~0xfffull;
  m_user_top = (m_ia32 || m_pae) ? kPageOffset32 : 1ull << (12 + 9 * m_levels - 1);
  // A non-PAE 32-bit kernel uses the first 4 GiB only (4-byte entries).
  const std::uint64_t managed = m_ia32 ? std::min<std::uint64_t>(p.memory_bytes, k4G) : p.memory_bytes;
  m_buddy = std::make_unique<ZonedPageAllocator>(managed / kPageBytes, p.max_order, p.numa_nodes, p.highmem,
                                                 kReservedLowBytes / kPageBytes);
  m_buddy->register_stats(stats);
  init_hugetlb(stats);  // at boot, before os.fragmentation (hugetlb.cpp)
  init_kernel_allocators(stats);
  stats.formula("pgtable_pages", "page-table pages in use (all processes and the idle root)",
                [this] { return static_cast<double>(m_pgtable_pages); });
  StatGroup& b = stats.group("buddy");
  b.formula("free_pages", "free 4 KiB frames in the buddy allocator",
            [this] { return static_cast<double>(m_buddy->free_pages()); });
  StatGroup& fb = b.group("free_blocks");
  for (unsigned o = 0; o <= p.max_order; ++o)
    fb.formula(std::to_string(o), "free blocks of order " + std::to_string(o) + " (a /proc/buddyinfo column)",
               [this, o] { return static_cast<double>(m_buddy->free_blocks(o)); });

  // swapper_pg_dir: the root loaded when no process runs (lowmem).
  if (m_pae) {
    m_idle_root = alloc_pae_pdpt();
  } else {
    std::uint64_t pfn = 0;
    if (alloc_frame(0, &pfn, nullptr, ZoneType::Normal)) {
      m_mem.zero_frame(pfn);
      m_idle_root = pfn << kPageShift;
    }
  }
  if (!m_idle_root) throw std::invalid_argument("OS model: no memory for the idle page directory");
  ++m_pgtable_pages;
  ++m_pgtable_allocs;
  build_kernel_half(stats);  // before the CR3 write: with PAE it loads the PDPTEs
  m_mmu.write_cr3(m_idle_root);
}

std::uint16_t OsModel::pcid_of(std::uint32_t pid) const {
  if (!m_p.pcid) return 0;
  for (unsigned i = 0; i < kPcidSlots; ++i)
    if (m_slots[i].used && m_slots[i].pid == pid) return static_cast<std::uint16_t>(i + 1);
  return 0;
}

std::uint64_t OsModel::table_flags(unsigned level) const {
  // A PAE PDPTE has only P and the address: its R/W, U/S, A, D positions are
  // reserved (SDM table 4-8).
  return m_pae && level == 3 ? pte::kP : kTableFlags;
}

bool OsModel::tlb_flush_deferred(std::uint16_t pcid) const {
  if (!m_p.pcid || pcid == 0 || pcid > kPcidSlots) return false;  // every CR3 load flushes
  const PcidSlot& s = m_slots[pcid - 1];
  if (!s.used) return false;
  auto it = m_procs.find(s.pid);
  return it != m_procs.end() && it->second->alive && it->second->tlb_gen != s.tlb_gen;
}

PAddr OsModel::alloc_root(Process& p) {
  if (!m_pae) {
    const PAddr root = alloc_table(p, m_levels);
    if (root) copy_kernel_half(root);
    return root;
  }
  PAddr pdpt = alloc_pae_pdpt();
  if (!pdpt) return 0;
  ++p.pgtable_pages;
  ++m_pgtable_pages;
  ++m_pgtable_allocs;
  // preallocate_pmds: one page directory per user PDPTE (3 GiB / 1 GiB).
  for (unsigned i = 0; i < m_user_top / span_at(3); ++i) {
    PAddr pd = alloc_table(p, 2);
    if (!pd) {
      free_tables(p, pdpt, 3);
      return 0;
    }
    wr(pdpt + i * 8ull, pd | table_flags(3));
  }
  copy_kernel_half(pdpt);
  return pdpt;
}

void OsModel::load_cr3(Process& p) {
  if (!m_p.pcid) {
    m_mmu.write_cr3(p.root);
    return;
  }
  // Linux's choose_new_asid(): reuse the slot that still holds this mm,
  // without a flush when no shootdown happened since (generation current).
  for (unsigned i = 0; i < kPcidSlots; ++i) {
    PcidSlot& s = m_slots[i];
    if (s.used && s.pid == p.pid) {
      const bool valid = s.tlb_gen == p.tlb_gen;
      s.tlb_gen = p.tlb_gen;
      m_mmu.write_cr3(p.root | (i + 1) | (valid ? kCr3NoFlush : 0));
      return;
    }
  }
  const unsigned i = m_next_slot;
  m_next_slot = (m_next_slot + 1) % kPcidSlots;
  m_slots[i] = PcidSlot{p.pid, true, p.tlb_gen};
  m_mmu.write_cr3(p.root | (i + 1));
}

std::uint64_t OsModel::used_pages() const {
  return m_buddy->num_pages() - kReservedLowBytes / kPageBytes - m_buddy->free_pages() - m_slab->pages() -
         m_pinned.size() - m_kernel_tables.size() - m_hugetlb_free.size() * kHugetlbPages -
         (m_huge_zero_pfn ? huge_pages() : 0);
}

bool OsModel::alive(std::uint32_t pid) const {
  auto it = m_procs.find(pid);
  return it == m_procs.end() || it->second->alive;  // unknown pids are created on first use
}

const Process* OsModel::process(std::uint32_t pid) const {
  auto it = m_procs.find(pid);
  return it == m_procs.end() ? nullptr : it->second.get();
}

Process& OsModel::cur() {
  if (!m_has_current) switch_to(1);
  if (!m_has_current) throw OsError("no process to run: process 1 could not be created (out of memory)");
  return *m_procs.at(m_current);
}

Process* OsModel::create(std::uint32_t pid) {
  // copy_process() / mm_alloc() / pgd_alloc(): out of memory for any of the
  // task_struct, the mm_struct or the PGD is -ENOMEM to the caller, and no
  // process exists. It is kept as a dead entry, so that its records are
  // skipped, and reported (m_kills) and counted.
  // (Linux allocates the task_struct, then the mm_struct, then the PGD; the
  // PGD comes first here, which only changes which frames each one gets.)
  auto proc = std::make_unique<Process>();
  proc->pid = pid;
  const PAddr root = alloc_root(*proc);
  auto task = root ? m_slab->alloc(m_task_cache) : std::nullopt;
  auto mm = task ? m_slab->alloc(m_mm_cache) : std::nullopt;
  if (!mm) {
    if (task) m_slab->free(m_task_cache, *task);
    if (root) free_tables(*proc, root, m_levels);
    proc->alive = false;
    m_procs[pid] = std::move(proc);
    return nullptr;
  }
  proc->root = root;
  proc->task_obj = *task;
  proc->mm_obj = *mm;
  ++m_processes;
  return (m_procs[pid] = std::move(proc)).get();
}

void OsModel::switch_to(std::uint32_t pid) {
  auto it = m_procs.find(pid);
  Process* created = nullptr;
  if (it == m_procs.end() && !(created = create(pid))) {
    ++*m_enomem_processes;
    m_kills.push_back("process " + std::to_string(pid) +
                      " not created: out of memory (ENOMEM: task_struct, mm_struct or page directory); its "
                      "records are skipped");
    return;  // the CPU stays with the task it ran
  }
  Process& p = created ? *created : *it->second;
  if (!p.alive) throw OsError("@proc " + std::to_string(pid) + ": the process was killed or has exited");
  bool same = m_has_current && m_current == pid;
  m_current = pid;
  m_has_current = true;
  if (!same) load_cr3(p);
}

// ---------------------------------------------------------------- frames and tables

bool OsModel::alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking, ZoneType highest) {
  for (;;) {
    if (auto r = page_alloc(order, highest)) {
      *pfn = *r;
      return true;
    }
    // Out of memory: kill the process with the highest badness (rss + page
    // tables), unless that is the one asking, which the caller then kills. A
    // process being created is not in m_procs yet, so the one switched away
    // from may be chosen.
    if (!m_p.oom_enabled) return false;  // os.oom.enabled: false, the faulting process dies
    Process* victim = select_oom_victim();
    if (!victim || victim == asking || victim == m_forking ||
        victim->rss_pages + victim->swap_pages + victim->pgtable_pages == 0)
      return false;
    ++m_oom_kills;
    kill(*victim, "out of memory (OOM killer)");
  }
}

PAddr OsModel::alloc_table(Process& p, unsigned level) {
  // arch/x86/mm/pgtable.c: pte_alloc_one() allocates with __userpte_alloc_gfp,
  // GFP_PGTABLE_USER | __GFP_HIGHMEM with CONFIG_HIGHPTE; page directories
  // (pgd_alloc, preallocate_pmds, pmd_alloc_one) are GFP_PGTABLE_USER without
  // it, so from lowmem: the kernel edits them through its linear map.
  const ZoneType highest = level == 1 && m_highpte ? ZoneType::HighMem : ZoneType::Normal;
  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, &p, highest)) return 0;
  const PAddr pa = pfn << kPageShift;
  if (level == 1) pte_map(pa);  // __GFP_ZERO: clear_highpage() maps the page to zero it
  m_mem.zero_frame(pfn);
  ktouch(pfn << kPageShift, kPageBytes, true);  // clear_page of the new table
  ++p.pgtable_pages;
  ++m_pgtable_pages;
  ++m_pgtable_allocs;
  return pa;
}

void OsModel::pte_map(PAddr table) {
  if (!m_highpte || (table >> kPageShift) < ZonedPageAllocator::kLowmemEndPfn) return;
  ++m_kmap_atomic;
  ++m_kmap_atomic_pte;
}

void OsModel::pte_map_of(const Process& p, VAddr va) {
  if (!m_highpte) return;
  const std::uint64_t pde = entry_at(p, va, 2, nullptr);
  if ((pde & pte::kP) && !is_leaf(2, pde)) pte_map(pde & m_addr_mask);
}

std::uint64_t OsModel::leaf_flags(const Vma& v, PageSize size) const {
  if (!(v.prot & (kRead | kWrite | kExec))) return kProtNone | (size != PageSize::k4K ? pte::kPS : 0);
  std::uint64_t f = pte::kP | pte::kUS | pte::kA;
  if (v.prot & kWrite) f |= pte::kRW | pte::kD;
  if (m_p.nx && !m_ia32 && !(v.prot & kExec)) f |= pte::kXD;  // no XD bit in 4-byte entries
  if (size != PageSize::k4K) f |= pte::kPS;
  return f;
}

bool OsModel::map(Process& p, VAddr va, std::uint64_t pfn, PageSize size, std::uint64_t flags) {
  const unsigned leaf = size == PageSize::k4K ? 1 : size == PageSize::k1G ? 3 : 2;
  const PAddr table = table_for(p, va, leaf);
  if (!table) return false;
  if (leaf == 1) pte_map(table);  // pte_offset_map_lock() to install the PTE
  wr(table + index_at(va, leaf) * m_entry_bytes, (pfn << kPageShift) | flags);
  ktouch(table + index_at(va, leaf) * m_entry_bytes, m_entry_bytes, true);
  return true;
}

PAddr OsModel::table_for(Process& p, VAddr va, unsigned leaf) {
  PAddr table = p.root;
  for (unsigned level = m_levels; level > leaf; --level) {
    PAddr epa = table + index_at(va, level) * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (!mapped(e)) {
      // PAE page directories are preallocated with the PDPT (see the header).
      if (m_pae && level == 3) throw std::logic_error("OS model: PAE PDPTE not present at " + hex_string(va));
      PAddr t = alloc_table(p, level - 1);
      if (!t) return 0;
      e = t | table_flags(level);
      wr(epa, e);
      ktouch(epa, m_entry_bytes, true);
    } else if (is_leaf(level, e)) {
      throw std::logic_error("OS model: a huge page is mapped where a table is needed at " + hex_string(va));
    }
    table = e & m_addr_mask;
  }
  return table;
}

std::uint64_t OsModel::entry_at(const Process& p, VAddr va, unsigned level, PAddr* pa) const {
  PAddr table = p.root;
  for (unsigned l = m_levels;; --l) {
    PAddr epa = table + index_at(va, l) * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (l == level) {
      if (pa) *pa = epa;
      return e;
    }
    if (!(e & pte::kP) || is_leaf(l, e)) return 0;
    table = e & m_addr_mask;
  }
}

void OsModel::split_huge(Process& p, VAddr va) {
  PAddr pde_pa = 0;
  std::uint64_t pde = entry_at(p, va, 2, &pde_pa);
  if (!mapped(pde) || !is_leaf(2, pde)) return;
  PAddr table = alloc_table(p, 1);
  if (!table) throw OsError("out of memory splitting the huge page at " + hex_string(va & ~(m_huge_bytes - 1)));
  std::uint64_t frame = pde & m_addr_mask & ~(m_huge_bytes - 1);
  std::uint64_t flags = pde & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kG | pte::kXD | kProtNone);
  pte_map(table);  // __split_huge_pmd_locked fills the new table through pte_offset_map
  if (is_zero_pfn(frame >> kPageShift)) {
    // __split_huge_zero_page_pmd(): every PTE maps the 4 KiB zero page.
    for (unsigned i = 0; i < m_entries[1]; ++i) wr(table + i * m_entry_bytes, (kZeroPfn << kPageShift) | flags);
    wr(pde_pa, table | table_flags(2));
    return;
  }
  m_buddy->split_page(frame >> kPageShift, m_shift[2] - kPageShift);
  for (unsigned i = 0; i < m_entries[1]; ++i) wr(table + i * m_entry_bytes, (frame + i * kPageBytes) | flags);
  wr(pde_pa, table | table_flags(2));
}

void OsModel::free_tables(Process& p, PAddr table, unsigned level) {
  if (level > 1) {
    // The root's kernel half is shared (copy_kernel_half): not the process's.
    const unsigned n = level == m_levels ? kernel_root_index() : m_entries[level];
    for (unsigned i = 0; i < n; ++i) {
      std::uint64_t e = rd(table + i * m_entry_bytes);
      if ((e & pte::kP) && !is_leaf(level, e)) free_tables(p, e & m_addr_mask, level - 1);
    }
  }
  if (m_pae && level == 3) free_pae_pdpt(table);
  else m_buddy->free(table >> kPageShift, 0);
  --p.pgtable_pages;
  --m_pgtable_pages;
}

bool OsModel::unmap_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end) {
  if (level == 1) pte_map(table);  // zap_pte_range maps the table once
  const std::uint64_t span = span_at(level);
  const unsigned lo = start > base ? static_cast<unsigned>((start - base) / span) : 0;
  const unsigned hi = static_cast<unsigned>(std::min<std::uint64_t>(m_entries[level] - 1, (end - 1 - base) / span));
  for (unsigned i = lo; i <= hi; ++i) {
    const VAddr va_lo = base + i * span, va_hi = va_lo + span;
    const PAddr epa = table + i * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (!mapped(e)) continue;
    const bool covers = start <= va_lo && va_hi <= end;
    bool leaf = is_leaf(level, e);
    if (leaf && !covers) {
      if (level == 3) throw std::logic_error("OS model: partial unmap of a 1 GiB page");
      split_huge(p, va_lo);
      e = rd(epa);
      leaf = false;
    }
    if (leaf && swap_marker(e)) {
      release_swap_entry(p, e);
      wr(epa, 0);
    } else if (leaf && level == 3) {
      hugetlb_put((e & m_addr_mask) >> kPageShift);  // a hugetlb page: not in rss
      wr(epa, 0);
    } else if (leaf && is_zero_pfn((e & m_addr_mask) >> kPageShift)) {  // present or PROT_NONE
      wr(epa, 0);  // zap_pte_range / zap_huge_pmd: the zero pages are nobody's
    } else if (leaf) {
      unsigned order = m_shift[level] - kPageShift;
      put_page(p, (e & m_addr_mask) >> kPageShift, order);
      p.rss_pages -= 1ull << order;
      wr(epa, 0);
    } else if (unmap_level(p, e & m_addr_mask, level - 1, va_lo, start, end) && !(m_pae && level == 3) &&
               !vma_overlaps(p, va_lo, va_hi)) {
      // free_pgtables() -> free_pgd_range(floor, ceiling): a table goes only
      // if the whole range it maps lies between the VMAs left on either
      // side (floor: the previous VMA's end, ceiling: the next one's
      // start), not merely when it is empty: a neighbouring VMA that
      // reaches into its range keeps it. (PAE page directories stay until
      // the PDPT goes: the PDPTE registers.)
      m_buddy->free((e & m_addr_mask) >> kPageShift, 0);
      --p.pgtable_pages;
      --m_pgtable_pages;
      wr(epa, 0);
    }
  }
  for (unsigned i = 0; i < m_entries[level]; ++i)
    if (mapped(rd(table + i * m_entry_bytes))) return false;
  return true;
}

void OsModel::protect_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end,
                            const Vma& v) {
  if (level == 1) pte_map(table);  // change_pte_range maps the table once
  const std::uint64_t span = span_at(level);
  const unsigned lo = start > base ? static_cast<unsigned>((start - base) / span) : 0;
  const unsigned hi = static_cast<unsigned>(std::min<std::uint64_t>(m_entries[level] - 1, (end - 1 - base) / span));
  for (unsigned i = lo; i <= hi; ++i) {
    const VAddr va_lo = base + i * span, va_hi = va_lo + span;
    const PAddr epa = table + i * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (!mapped(e)) continue;
    bool leaf = is_leaf(level, e);
    if (leaf && !(start <= va_lo && va_hi <= end)) {
      if (level == 3) throw std::logic_error("OS model: partial mprotect of a 1 GiB page");
      split_huge(p, va_lo);
      e = rd(epa);
      leaf = false;
    }
    if (leaf && swap_marker(e)) {
      continue;  // swapped out: the rights come from the VMA at swap-in
    } else if (leaf) {
      // change_pte_range(): pte_modify() keeps A and D and takes the rest
      // from the new protection, which for a private mapping never has
      // R/W; can_change_pte_writable() then makes it writable only for a
      // dirty page this process alone maps (PageAnonExclusive), so a clean
      // page, a zero page or one still shared copy-on-write faults on its
      // next write. A PROT_NONE entry keeps A and D as _PAGE_PROTNONE does.
      const std::uint64_t pfn = (e & m_addr_mask) >> kPageShift;
      std::uint64_t flags = leaf_flags(v, size_at(level));
      const std::uint64_t ad = e & (pte::kA | pte::kD);
      const bool writable = (flags & pte::kRW) && (e & pte::kD) && !is_zero_pfn(pfn) && mapcount(pfn) == 1;
      flags = (flags & ~(pte::kRW | pte::kA | pte::kD)) | ad | (writable ? pte::kRW : 0);
      wr(epa, (e & m_addr_mask) | flags);
    } else {
      protect_level(p, e & m_addr_mask, level - 1, va_lo, start, end, v);
    }
  }
}

void OsModel::shootdown(Process& p, VAddr start, VAddr end) {
  // flush_tlb_mm_range() (arch/x86/mm/tlb.c): a range of more than
  // tlb_single_page_flush_ceiling pages becomes TLB_FLUSH_ALL.
  flush_tlb_mm_range(p, start, end, (end - start) / kPageBytes > kFlushCeilingPages);
}

void OsModel::flush_tlb_mm(Process& p) { flush_tlb_mm_range(p, 0, 0, true); }

void OsModel::flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all) {
  // inc_mm_tlb_gen(): a new generation. A PCID slot holding an older one is
  // flushed when the process is switched to again (choose_new_asid; without
  // PCIDs every switch flushes anyway).
  ++p.tlb_gen;
  if (!m_has_current || m_current != p.pid) return;
  // flush_tlb_func() on the CPU that has the mm loaded: INVLPG per page
  // (flush_tlb_one_user), or for TLB_FLUSH_ALL flush_tlb_local(), a CR3
  // write without the no-flush bit that invalidates the current PCID.
  if (!all) {
    for (VAddr va = start; va < end; va += kPageBytes) m_mmu.invlpg(va);
  } else {
    m_mmu.write_cr3(p.root | pcid_of(p.pid));
  }
  for (auto& s : m_slots)
    if (s.used && s.pid == p.pid) s.tlb_gen = p.tlb_gen;
}

void OsModel::kill(Process& p, const std::string& why) {
  unmap_level(p, p.root, m_levels, 0, 0, m_user_top);
  free_tables(p, p.root, m_levels);
  for (auto& s : m_slots)
    if (s.used && s.pid == p.pid) s = PcidSlot{};
  p.vmas.clear();
  free_kernel_objects(p);
  p.alive = false;
  p.huge_zero = false;  // __mmput -> mm_put_huge_zero_page
  m_kills.push_back("process " + std::to_string(p.pid) + " killed: " + why);
  if (m_has_current && m_current == p.pid) {
    m_has_current = false;
    m_mmu.write_cr3(m_idle_root);
  }
}

// ---------------------------------------------------------------- VMAs

Vma* OsModel::find_vma(Process& p, VAddr va) {
  auto it = p.vmas.upper_bound(va);
  if (it == p.vmas.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}

void OsModel::insert_vma(Process& p, const Vma& v) {
  Vma n = v;
  auto mergeable = [&](const Vma& a) {
    return !a.file && !n.file && !a.hugetlb && !n.hugetlb && a.prot == n.prot && a.huge == n.huge &&
           a.implicit == n.implicit;
  };
  // (A merged VMA has an anon_vma if either part had one:
  // is_mergeable_anon_vma accepts a VMA without one.)
  auto next = p.vmas.lower_bound(n.start);
  if (next != p.vmas.end() && next->second.start == n.end && mergeable(next->second)) {
    n.end = next->second.end;
    n.anon_vma = n.anon_vma || next->second.anon_vma;
    p.vmas.erase(next);
  }
  auto it = p.vmas.lower_bound(n.start);
  if (it != p.vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end == n.start && mergeable(prev->second)) {
      prev->second.end = n.end;
      prev->second.anon_vma = prev->second.anon_vma || n.anon_vma;
      return;
    }
  }
  p.vmas[n.start] = n;
}

void OsModel::split_vma_at(Process& p, VAddr addr) {
  Vma* v = find_vma(p, addr);
  if (!v || v->start == addr) return;
  Vma upper = *v;
  upper.start = addr;
  v->end = addr;
  p.vmas[addr] = upper;
}

void OsModel::remove_range(Process& p, VAddr start, VAddr end) {
  hugetlb_check_split(p, start, end, "unmapping");
  split_vma_at(p, start);
  split_vma_at(p, end);
  const auto first = p.vmas.lower_bound(start);
  const bool had_vma = first != p.vmas.end() && first->first < end;
  for (auto it = first; it != p.vmas.end() && it->first < end;) it = p.vmas.erase(it);
  // Pages are mapped only inside VMAs: with none in the range (a fresh mmap,
  // a growing brk) Linux walks no page table, and neither does the model.
  if (had_vma) unmap_level(p, p.root, m_levels, 0, start, end);
  shootdown(p, start, end);
}

bool OsModel::vma_overlaps(const Process& p, VAddr lo, VAddr hi) const {
  auto it = p.vmas.lower_bound(lo);
  if (it != p.vmas.begin() && std::prev(it)->second.end > lo) return true;
  return it != p.vmas.end() && it->first < hi;
}

Vma* OsModel::create_implicit_vma(Process& p, VAddr va) {
  VAddr lo = va & ~(k2M - 1);
  VAddr hi = std::min(lo + k2M, m_user_top);
  auto next = p.vmas.upper_bound(va);
  if (next != p.vmas.end()) hi = std::min(hi, next->second.start);
  if (next != p.vmas.begin()) lo = std::max(lo, std::prev(next)->second.end);
  Vma v;
  v.start = lo;
  v.end = hi;
  v.prot = kRead | kWrite | kExec;
  v.implicit = true;
  insert_vma(p, v);
  ++m_implicit_vmas;
  sync_vma_objects(p);
  return find_vma(p, va);
}

void OsModel::check_range(VAddr start, std::uint64_t len, const char* what) const {
  if (len == 0) throw OsError(std::string(what) + ": length must not be zero");
  if (start % kPageBytes) throw OsError(std::string(what) + ": start " + hex_string(start) + " is not 4 KiB-aligned");
  if (start >= m_user_top || len > m_user_top - start)
    throw OsError(std::string(what) + ": range " + hex_string(start) + "+" + hex_string(len) +
                  " goes beyond user space (" + hex_string(m_user_top) + ")");
}

void OsModel::mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge, bool hugetlb) {
  check_range(start, len, "@mmap");
  if (hugetlb) len = hugetlb_mmap_len(start, len, file);
  Process& p = cur();
  VAddr end = start + ((len + kPageBytes - 1) & ~(kPageBytes - 1));
  remove_range(p, start, end);  // the address the kernel returned: MAP_FIXED semantics
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot & (kRead | kWrite | kExec);
  v.file = file;
  v.huge = huge;
  v.hugetlb = hugetlb;
  insert_vma(p, v);
  sync_vma_objects(p);
}

void OsModel::munmap(VAddr start, std::uint64_t len) {
  check_range(start, len, "@munmap");
  Process& p = cur();
  remove_range(p, start, start + ((len + kPageBytes - 1) & ~(kPageBytes - 1)));
  sync_vma_objects(p);
}

void OsModel::mprotect(VAddr start, std::uint64_t len, std::uint8_t prot) {
  check_range(start, len, "@mprotect");
  Process& p = cur();
  VAddr end = start + ((len + kPageBytes - 1) & ~(kPageBytes - 1));
  hugetlb_check_split(p, start, end, "@mprotect");
  split_vma_at(p, start);
  split_vma_at(p, end);
  std::vector<Vma> changed;
  for (auto it = p.vmas.lower_bound(start); it != p.vmas.end() && it->first < end;) {
    Vma v = it->second;
    v.prot = prot & (kRead | kWrite | kExec);
    changed.push_back(v);
    it = p.vmas.erase(it);
  }
  for (const Vma& v : changed) {
    insert_vma(p, v);
    protect_level(p, p.root, m_levels, 0, v.start, v.end, v);
  }
  shootdown(p, start, end);
  sync_vma_objects(p);
}

void OsModel::brk(VAddr end) {
  Process& p = cur();
  VAddr new_end = (end + kPageBytes - 1) & ~(kPageBytes - 1);
  if (new_end >= m_user_top) throw OsError("@brk: " + hex_string(end) + " is beyond user space");
  if (!p.has_brk) {  // the first @brk names the initial break: the heap starts empty there
    p.has_brk = true;
    p.brk_start = p.brk_end = new_end;
    return;
  }
  if (new_end < p.brk_start)
    throw OsError("@brk: " + hex_string(end) + " is below the start of the heap (" + hex_string(p.brk_start) + ")");
  if (new_end > p.brk_end) {
    remove_range(p, p.brk_end, new_end);
    Vma v;
    v.start = p.brk_end;
    v.end = new_end;
    v.prot = kRead | kWrite;
    insert_vma(p, v);
  } else if (new_end < p.brk_end) {
    remove_range(p, new_end, p.brk_end);
  }
  p.brk_end = new_end;
  sync_vma_objects(p);
}

void OsModel::exit_current() {
  Process& p = cur();
  kill(p, "exited");
  m_kills.pop_back();  // a normal exit is not a kill
}

// ---------------------------------------------------------------- faults

FaultOutcome OsModel::do_fault(VAddr cr2, std::uint32_t error_code) {
  ++m_pgfault;
  Process& p = cur();
  FaultOutcome out;
  if (error_code & pf::kRsvd)
    throw std::logic_error("OS model: reserved bit set in a page table it built, at " + hex_string(cr2));
  const bool write = error_code & pf::kW;
  const bool fetch = error_code & pf::kI;
  const std::string access = std::string(fetch ? "fetch" : write ? "write" : "read") + " at " + hex_string(cr2);

  auto segv = [&](const std::string& why) {
    ++m_segv;
    kill(p, "SIGSEGV, " + access + ": " + why);
    out.result = FaultResult::Killed;
    out.reason = m_kills.back();
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  };

  ktouch_vma_search(p, cr2);
  Vma* v = find_vma(p, cr2);
  if (!v) {
    if (!m_p.implicit_vmas) return segv("no VMA");
    if (cr2 >= m_user_top) return segv("kernel address");
    v = create_implicit_vma(p, cr2);
  }
  if (write && !(v->prot & kWrite)) return segv("VMA not writable");
  if (fetch && !(v->prot & kExec)) return segv("VMA not executable");
  if (!write && !fetch && !(v->prot & (kRead | kWrite | kExec))) return segv("VMA has no access (PROT_NONE)");
  ktouch_walk(p, cr2);
  if (v->hugetlb) {
    v->anon_vma = true;  // hugetlb_no_page(), a private mapping: anon_vma_prepare
    return hugetlb_fault(p, *v, cr2, write, access);
  }
  // handle_pte_fault(): with a PTE page under the PMD, pte_offset_map_nolock
  // reads the entry first; the handler maps the table again to change it
  // (do_anonymous_page, do_swap_page, wp_page_copy), except a spurious fault
  // and wp_page_reuse, which edit it under this mapping.
  pte_map_of(p, cr2);

  if ((error_code & pf::kP) && write) {
    // A write to the huge zero page: do_huge_pmd_wp_page() splits it
    // (__split_huge_pmd -> __split_huge_zero_page_pmd: 512 PTEs of the zero
    // page, the PMD cleared and flushed with pmdp_huge_clear_flush, one
    // INVLPG) and falls back to the PTE fault, a write to the zero page.
    PAddr pde_pa = 0;
    const std::uint64_t pde = entry_at(p, cr2, 2, &pde_pa);
    if ((pde & pte::kP) && is_leaf(2, pde) && is_zero_pfn((pde & m_addr_mask) >> kPageShift)) {
      const VAddr base = cr2 & ~(m_huge_bytes - 1);
      split_huge(p, base);
      flush_tlb_mm_range(p, base, base + kPageBytes, false);
      ++*m_zero_huge_splits;
    }
    if (cow_fault(p, cr2, &out)) return out;
  }
  if (error_code & pf::kP) {
    // The page is present but its entry denies what the VMA allows: make
    // the entry agree with the VMA (a spurious fault in Linux's terms).
    PAddr epa = 0;
    unsigned level = 1;
    std::uint64_t e = entry_at(p, cr2, 1, &epa);
    if (!(e & pte::kP)) {
      level = 2;
      e = entry_at(p, cr2, 2, &epa);
    }
    wr(epa, (e & m_addr_mask) | leaf_flags(*v, size_at(level)));
    ktouch(epa, m_entry_bytes, true);
    m_mmu.invlpg(cr2);
    ++m_minor;
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }

  if (swap_in(p, *v, cr2, write, &out)) return out;
  const bool thp = !v->file && m_huge_bytes &&
                   (m_p.thp == ThpMode::Always || (m_p.thp == ThpMode::Madvise && v->huge));
  if (thp) {
    const VAddr base = cr2 & ~(m_huge_bytes - 1);
    const unsigned order = m_shift[2] - kPageShift;  // 9, or 10 for a 4 MiB ia32 page
    const unsigned pages = 1u << order;
    // do_huge_pmd_anonymous_page() calls anon_vma_prepare() first, for a
    // read that maps the huge zero page too.
    if (base >= v->start && base + m_huge_bytes <= v->end && !mapped(entry_at(p, base, 2, nullptr)))
      v->anon_vma = true;
    if (base >= v->start && base + m_huge_bytes <= v->end && !mapped(entry_at(p, base, 2, nullptr)) && !write) {
      // do_huge_pmd_anonymous_page(), a read fault with use_zero_page (its
      // default): the huge zero page, read-only; without one, the fallback.
      if (const std::uint64_t zero = huge_zero_page()) {
        if (map(p, base, zero, size_at(2), leaf_flags(*v, size_at(2)) & ~(pte::kRW | pte::kD))) {
          p.huge_zero = true;  // mm_get_huge_zero_page: one reference per mm
          ++*m_zero_huge_maps;
          ++m_minor;
          out.cost_cycles = m_p.fault_minor_cycles;
          return out;
        }
      }
      ++m_thp_fallback;
    } else if (base >= v->start && base + m_huge_bytes <= v->end && !mapped(entry_at(p, base, 2, nullptr))) {
      // do_huge_pmd_anonymous_page -> vma_alloc_folio with
      // alloc_hugepage_direct_gfpmask(): for defrag=madvise (the default)
      // GFP_TRANSHUGE_LIGHT (no reclaim at all) outside madvised VMAs and
      // GFP_TRANSHUGE (direct reclaim and compaction, no kswapd) inside.
      // Either way the low watermark first, then min (gfp_to_alloc_flags),
      // with lowmem_reserve, from any zone GFP_HIGHUSER_MOVABLE allows; no
      // OOM kill on failure: a fall back to a 4 KiB page.
      auto block = m_buddy->alloc(order, ZoneType::HighMem, Watermark::Low);
      if (!block) block = m_buddy->alloc(order, ZoneType::HighMem, Watermark::Min);
      // Compaction makes 2 MiB blocks (order 9).
      if (!block && v->huge && order == 9 && compact_for_order9())
        block = m_buddy->alloc(order, ZoneType::HighMem, Watermark::Min);
      if (block) {
        for (unsigned i = 0; i < pages; ++i) {
          kmap_atomic(*block + i);  // clear_huge_page maps each subpage
          m_mem.zero_frame(*block + i);
          ktouch((*block + i) << kPageShift, kPageBytes, true);
        }
        if (map(p, base, *block, size_at(2), leaf_flags(*v, size_at(2)))) {
          p.rss_pages += pages;
          ++m_thp_alloc;
          ++m_minor;
          out.cost_cycles = m_p.fault_minor_cycles + zero_cycles(pages);
          return out;
        }
        m_buddy->free(*block, order);
      }
      ++m_thp_fallback;
    }
  }

  if (!write && !v->file) {
    // do_anonymous_page(), not a write: "entry =
    // pte_mkspecial(pfn_pte(my_zero_pfn(vmf->address), vma->vm_page_prot))":
    // the shared zero page, read-only (a private mapping's vm_page_prot has
    // no R/W) and clean; no page allocated, nothing in rss or on an LRU.
    if (!map(p, cr2 & ~(kPageBytes - 1), kZeroPfn, PageSize::k4K,
             leaf_flags(*v, PageSize::k4K) & ~(pte::kRW | pte::kD))) {
      return oom_kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
    }
    ++*m_zero_maps;
    ++m_minor;
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }
  // A page of its own (do_anonymous_page for a write: anon_vma_prepare;
  // a file page is the page cache's, not the VMA's).
  if (!v->file) v->anon_vma = true;
  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, &p)) {
    return oom_kill_faulting(p, "out of memory (OOM killer), " + access);
  }
  kmap_atomic(pfn);  // clear_user_highpage
  m_mem.zero_frame(pfn);
  ktouch(pfn << kPageShift, kPageBytes, true);
  if (!map(p, cr2 & ~(kPageBytes - 1), pfn, PageSize::k4K, leaf_flags(*v, PageSize::k4K))) {
    m_buddy->free(pfn, 0);
    return oom_kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
  }
  ++p.rss_pages;
  lru_add(pfn, p, cr2, *v);
  ++m_minor;
  out.cost_cycles = m_p.fault_minor_cycles + zero_cycles(1);
  return out;
}

}  // namespace mmusim
