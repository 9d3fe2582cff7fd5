#include "models/os/os_model.h"

#include <algorithm>
#include <sstream>

#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kTableFlags = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;  // Linux _PAGE_TABLE
constexpr std::uint64_t kReservedLowBytes = 1ull << 20;
constexpr std::uint64_t kFlushCeilingPages = 33;  // tlb_single_page_flush_ceiling
constexpr VAddr k2M = 2ull << 20;
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

unsigned index_at(VAddr va, unsigned level) { return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511); }
std::uint64_t span_at(unsigned level) { return 1ull << (12 + 9 * (level - 1)); }

std::string hex(std::uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
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
      m_cow(stats.group("faults").counter("cow", "copy-on-write faults; none without fork")),
      m_thp_alloc(stats.group("thp").counter("alloc", "2 MiB pages allocated at fault time (thp_fault_alloc)")),
      m_thp_fallback(stats.group("thp").counter("fallback", "eligible faults that fell back to 4 KiB: no order-9 block (thp_fault_fallback)")),
      m_oom_kills(stats.counter("oom_kills", "processes killed by the OOM killer")),
      m_implicit_vmas(stats.counter("implicit_vmas", "VMAs created by a first touch (replay.implicit_vmas)")),
      m_processes(stats.counter("processes", "processes created")),
      m_pgtable_allocs(stats.counter("pgtable_allocs", "page-table pages allocated")),
      m_cow_copies(stats.group("faults").counter("cow_copy", "copy-on-write faults that copied the shared frame")),
      m_cow_reuses(stats.group("faults").counter("cow_reuse", "copy-on-write faults by the last sharer, which reuse the frame")),
      m_forks(stats.counter("forks", "processes created by @fork")) {
  if (p.levels != 4 && p.levels != 5) throw std::invalid_argument("OS model: levels must be 4 or 5");
  if (p.memory_bytes > m_mem.size_bytes()) throw std::invalid_argument("OS model: more memory than physical memory");
  m_addr_mask = ((1ull << p.phys_addr_bits) - 1) & ~0xfffull;
  m_user_top = 1ull << (12 + 9 * p.levels - 1);
  if (p.numa_nodes == 0) throw std::invalid_argument("OS model: numa_nodes must be at least 1");
  m_buddy = std::make_unique<ZonedPageAllocator>(p.memory_bytes / kPageBytes, p.max_order, p.numa_nodes, p.highmem,
                                                 kReservedLowBytes / kPageBytes);
  m_buddy->register_stats(stats);
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

  // swapper_pg_dir: the root loaded when no process runs.
  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, nullptr)) throw std::invalid_argument("OS model: no memory for the idle page directory");
  m_mem.zero_frame(pfn);
  m_idle_root = pfn << kPageShift;
  ++m_pgtable_pages;
  ++m_pgtable_allocs;
  m_mmu.write_cr3(m_idle_root);
}

std::uint64_t OsModel::used_pages() const {
  return m_buddy->num_pages() - kReservedLowBytes / kPageBytes - m_buddy->free_pages() - m_slab->pages() -
         m_pinned.size();
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
  return *m_procs.at(m_current);
}

Process& OsModel::create(std::uint32_t pid) {
  auto proc = std::make_unique<Process>();
  proc->pid = pid;
  PAddr root = alloc_table(*proc);
  if (!root) throw OsError("out of memory creating process " + std::to_string(pid));
  proc->root = root;
  auto task = m_slab->alloc(m_task_cache);
  auto mm = task ? m_slab->alloc(m_mm_cache) : std::nullopt;
  if (!mm) {
    if (task) m_slab->free(m_task_cache, *task);
    free_tables(*proc, root, m_p.levels);
    throw OsError("out of memory creating process " + std::to_string(pid) + " (task_struct, mm_struct)");
  }
  proc->task_obj = *task;
  proc->mm_obj = *mm;
  ++m_processes;
  return *(m_procs[pid] = std::move(proc));
}

void OsModel::switch_to(std::uint32_t pid) {
  auto it = m_procs.find(pid);
  Process& p = it == m_procs.end() ? create(pid) : *it->second;
  if (!p.alive) throw OsError("@proc " + std::to_string(pid) + ": the process was killed or has exited");
  bool same = m_has_current && m_current == pid;
  m_current = pid;
  m_has_current = true;
  if (!same) m_mmu.write_cr3(p.root);
}

// ---------------------------------------------------------------- frames and tables

bool OsModel::alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking) {
  for (;;) {
    if (auto r = page_alloc(order)) {
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

PAddr OsModel::alloc_table(Process& p) {
  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, &p)) return 0;
  m_mem.zero_frame(pfn);
  ++p.pgtable_pages;
  ++m_pgtable_pages;
  ++m_pgtable_allocs;
  return pfn << kPageShift;
}

std::uint64_t OsModel::leaf_flags(const Vma& v, PageSize size) const {
  if (!(v.prot & (kRead | kWrite | kExec))) return kProtNone | (size != PageSize::k4K ? pte::kPS : 0);
  std::uint64_t f = pte::kP | pte::kUS | pte::kA;
  if (v.prot & kWrite) f |= pte::kRW | pte::kD;
  if (m_p.nx && !(v.prot & kExec)) f |= pte::kXD;
  if (size != PageSize::k4K) f |= pte::kPS;
  return f;
}

bool OsModel::map(Process& p, VAddr va, std::uint64_t pfn, PageSize size, std::uint64_t flags) {
  unsigned leaf = size == PageSize::k4K ? 1 : size == PageSize::k2M ? 2 : 3;
  PAddr table = p.root;
  for (unsigned level = m_p.levels; level > leaf; --level) {
    PAddr epa = table + index_at(va, level) * 8ull;
    std::uint64_t e = m_mem.read64(epa);
    if (!mapped(e)) {
      PAddr t = alloc_table(p);
      if (!t) return false;
      e = t | kTableFlags;
      m_mem.write64(epa, e);
    } else if (level <= 3 && (e & pte::kPS)) {
      throw std::logic_error("OS model: a huge page is mapped where a table is needed at " + hex(va));
    }
    table = e & m_addr_mask;
  }
  m_mem.write64(table + index_at(va, leaf) * 8ull, (pfn << kPageShift) | flags);
  return true;
}

std::uint64_t OsModel::entry_at(const Process& p, VAddr va, unsigned level, PAddr* pa) const {
  PAddr table = p.root;
  for (unsigned l = m_p.levels;; --l) {
    PAddr epa = table + index_at(va, l) * 8ull;
    std::uint64_t e = m_mem.read64(epa);
    if (l == level) {
      if (pa) *pa = epa;
      return e;
    }
    if (!(e & pte::kP) || (l <= 3 && (e & pte::kPS))) return 0;
    table = e & m_addr_mask;
  }
}

void OsModel::split_huge(Process& p, VAddr va) {
  PAddr pde_pa = 0;
  std::uint64_t pde = entry_at(p, va, 2, &pde_pa);
  if (!mapped(pde) || !(pde & pte::kPS)) return;
  PAddr table = alloc_table(p);
  if (!table) throw OsError("out of memory splitting the 2 MiB page at " + hex(va & ~(k2M - 1)));
  std::uint64_t frame = pde & m_addr_mask & ~(k2M - 1);
  m_buddy->split_page(frame >> kPageShift, 9);
  std::uint64_t flags = pde & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kG | pte::kXD | kProtNone);
  for (unsigned i = 0; i < 512; ++i) m_mem.write64(table + i * 8ull, (frame + i * kPageBytes) | flags);
  m_mem.write64(pde_pa, table | kTableFlags);
}

void OsModel::free_tables(Process& p, PAddr table, unsigned level) {
  if (level > 1) {
    for (unsigned i = 0; i < 512; ++i) {
      std::uint64_t e = m_mem.read64(table + i * 8ull);
      if ((e & pte::kP) && !(level <= 3 && (e & pte::kPS))) free_tables(p, e & m_addr_mask, level - 1);
    }
  }
  m_buddy->free(table >> kPageShift, 0);
  --p.pgtable_pages;
  --m_pgtable_pages;
}

bool OsModel::unmap_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end) {
  const std::uint64_t span = span_at(level);
  const unsigned lo = start > base ? static_cast<unsigned>((start - base) / span) : 0;
  const unsigned hi = static_cast<unsigned>(std::min<std::uint64_t>(511, (end - 1 - base) / span));
  for (unsigned i = lo; i <= hi; ++i) {
    const VAddr va_lo = base + i * span, va_hi = va_lo + span;
    const PAddr epa = table + i * 8ull;
    std::uint64_t e = m_mem.read64(epa);
    if (!mapped(e)) continue;
    const bool covers = start <= va_lo && va_hi <= end;
    bool leaf = level == 1 || (level <= 3 && (e & pte::kPS));
    if (leaf && !covers) {
      if (level == 3) throw std::logic_error("OS model: partial unmap of a 1 GiB page");
      split_huge(p, va_lo);
      e = m_mem.read64(epa);
      leaf = false;
    }
    if (leaf && swap_marker(e)) {
      release_swap_entry(p, e);
      m_mem.write64(epa, 0);
    } else if (leaf) {
      unsigned order = level == 1 ? 0 : level == 2 ? 9 : 18;
      put_page(p, (e & m_addr_mask) >> kPageShift, order);
      p.rss_pages -= 1ull << order;
      m_mem.write64(epa, 0);
    } else if (unmap_level(p, e & m_addr_mask, level - 1, va_lo, start, end)) {
      m_buddy->free((e & m_addr_mask) >> kPageShift, 0);
      --p.pgtable_pages;
      --m_pgtable_pages;
      m_mem.write64(epa, 0);
    }
  }
  for (unsigned i = 0; i < 512; ++i)
    if (mapped(m_mem.read64(table + i * 8ull))) return false;
  return true;
}

void OsModel::protect_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end,
                            const Vma& v) {
  const std::uint64_t span = span_at(level);
  const unsigned lo = start > base ? static_cast<unsigned>((start - base) / span) : 0;
  const unsigned hi = static_cast<unsigned>(std::min<std::uint64_t>(511, (end - 1 - base) / span));
  for (unsigned i = lo; i <= hi; ++i) {
    const VAddr va_lo = base + i * span, va_hi = va_lo + span;
    const PAddr epa = table + i * 8ull;
    std::uint64_t e = m_mem.read64(epa);
    if (!mapped(e)) continue;
    bool leaf = level == 1 || (level <= 3 && (e & pte::kPS));
    if (leaf && !(start <= va_lo && va_hi <= end)) {
      if (level == 3) throw std::logic_error("OS model: partial mprotect of a 1 GiB page");
      split_huge(p, va_lo);
      e = m_mem.read64(epa);
      leaf = false;
    }
    if (leaf && swap_marker(e)) {
      continue;  // swapped out: the rights come from the VMA at swap-in
    } else if (leaf) {
      PageSize size = level == 1 ? PageSize::k4K : level == 2 ? PageSize::k2M : PageSize::k1G;
      std::uint64_t flags = leaf_flags(v, size);
      if (mapcount((e & m_addr_mask) >> kPageShift) > 1) flags &= ~(pte::kRW | pte::kD);  // still copy-on-write
      m_mem.write64(epa, (e & m_addr_mask) | flags);
    } else {
      protect_level(p, e & m_addr_mask, level - 1, va_lo, start, end, v);
    }
  }
}

void OsModel::shootdown(Process& p, VAddr start, VAddr end) {
  if (!m_has_current || m_current != p.pid) return;  // flushed at the next switch to it anyway
  if ((end - start) / kPageBytes <= kFlushCeilingPages) {
    for (VAddr va = start; va < end; va += kPageBytes) m_mmu.invlpg(va);
  } else {
    m_mmu.write_cr3(p.root);
  }
}

void OsModel::kill(Process& p, const std::string& why) {
  unmap_level(p, p.root, m_p.levels, 0, 0, m_user_top);
  free_tables(p, p.root, m_p.levels);
  p.vmas.clear();
  free_kernel_objects(p);
  p.alive = false;
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
    return !a.file && !n.file && a.prot == n.prot && a.huge == n.huge && a.implicit == n.implicit;
  };
  auto next = p.vmas.lower_bound(n.start);
  if (next != p.vmas.end() && next->second.start == n.end && mergeable(next->second)) {
    n.end = next->second.end;
    p.vmas.erase(next);
  }
  auto it = p.vmas.lower_bound(n.start);
  if (it != p.vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end == n.start && mergeable(prev->second)) {
      prev->second.end = n.end;
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
  split_vma_at(p, start);
  split_vma_at(p, end);
  for (auto it = p.vmas.lower_bound(start); it != p.vmas.end() && it->first < end;) it = p.vmas.erase(it);
  unmap_level(p, p.root, m_p.levels, 0, start, end);
  shootdown(p, start, end);
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
  if (start % kPageBytes) throw OsError(std::string(what) + ": start " + hex(start) + " is not 4 KiB-aligned");
  if (start >= m_user_top || len > m_user_top - start)
    throw OsError(std::string(what) + ": range " + hex(start) + "+" + hex(len) + " goes beyond user space (" +
                  hex(m_user_top) + ")");
}

void OsModel::mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge) {
  check_range(start, len, "@mmap");
  Process& p = cur();
  VAddr end = start + ((len + kPageBytes - 1) & ~(kPageBytes - 1));
  remove_range(p, start, end);  // the address the kernel returned: MAP_FIXED semantics
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot & (kRead | kWrite | kExec);
  v.file = file;
  v.huge = huge;
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
    protect_level(p, p.root, m_p.levels, 0, v.start, v.end, v);
  }
  shootdown(p, start, end);
  sync_vma_objects(p);
}

void OsModel::brk(VAddr end) {
  Process& p = cur();
  VAddr new_end = (end + kPageBytes - 1) & ~(kPageBytes - 1);
  if (new_end >= m_user_top) throw OsError("@brk: " + hex(end) + " is beyond user space");
  if (!p.has_brk) {  // the first @brk names the initial break: the heap starts empty there
    p.has_brk = true;
    p.brk_start = p.brk_end = new_end;
    return;
  }
  if (new_end < p.brk_start)
    throw OsError("@brk: " + hex(end) + " is below the start of the heap (" + hex(p.brk_start) + ")");
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
    throw std::logic_error("OS model: reserved bit set in a page table it built, at " + hex(cr2));
  const bool write = error_code & pf::kW;
  const bool fetch = error_code & pf::kI;
  const std::string access = std::string(fetch ? "fetch" : write ? "write" : "read") + " at " + hex(cr2);

  auto segv = [&](const std::string& why) {
    ++m_segv;
    kill(p, "SIGSEGV, " + access + ": " + why);
    out.result = FaultResult::Killed;
    out.reason = m_kills.back();
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  };

  Vma* v = find_vma(p, cr2);
  if (!v) {
    if (!m_p.implicit_vmas) return segv("no VMA");
    if (cr2 >= m_user_top) return segv("kernel address");
    v = create_implicit_vma(p, cr2);
  }
  if (write && !(v->prot & kWrite)) return segv("VMA not writable");
  if (fetch && !(v->prot & kExec)) return segv("VMA not executable");
  if (!write && !fetch && !(v->prot & (kRead | kWrite | kExec))) return segv("VMA has no access (PROT_NONE)");

  if ((error_code & pf::kP) && write && cow_fault(p, cr2, &out)) return out;
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
    PageSize size = level == 1 ? PageSize::k4K : PageSize::k2M;
    m_mem.write64(epa, (e & m_addr_mask) | leaf_flags(*v, size));
    m_mmu.invlpg(cr2);
    ++m_minor;
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }

  if (swap_in(p, *v, cr2, &out)) return out;
  const bool thp = !v->file && (m_p.thp == ThpMode::Always || (m_p.thp == ThpMode::Madvise && v->huge));
  if (thp) {
    const VAddr base = cr2 & ~(k2M - 1);
    if (base >= v->start && base + k2M <= v->end && !mapped(entry_at(p, base, 2, nullptr))) {
      // Like do_huge_pmd_anonymous_page: one try at an order-9 block, no
      // OOM kill on failure; fall back to a 4 KiB page instead.
      auto block = m_buddy->alloc(9);
      // defrag=madvise (the default): only madvised VMAs compact directly.
      if (!block && v->huge && compact_for_order9()) block = m_buddy->alloc(9);
      if (block) {
        for (unsigned i = 0; i < 512; ++i) {
          kmap_atomic(*block + i);  // clear_huge_page maps each subpage
          m_mem.zero_frame(*block + i);
        }
        if (map(p, base, *block, PageSize::k2M, leaf_flags(*v, PageSize::k2M))) {
          p.rss_pages += 512;
          ++m_thp_alloc;
          ++m_minor;
          out.cost_cycles = m_p.fault_minor_cycles + 512 * m_p.zero_page_per_4k_cycles;
          return out;
        }
        m_buddy->free(*block, 9);
      }
      ++m_thp_fallback;
    }
  }

  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, &p)) {
    ++m_oom_kills;
    kill(p, "out of memory (OOM killer), " + access);
    out.result = FaultResult::Killed;
    out.reason = m_kills.back();
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }
  kmap_atomic(pfn);  // clear_user_highpage
  m_mem.zero_frame(pfn);
  if (!map(p, cr2 & ~(kPageBytes - 1), pfn, PageSize::k4K, leaf_flags(*v, PageSize::k4K))) {
    m_buddy->free(pfn, 0);
    ++m_oom_kills;
    kill(p, "out of memory for page tables (OOM killer), " + access);
    out.result = FaultResult::Killed;
    out.reason = m_kills.back();
    out.cost_cycles = m_p.fault_minor_cycles;
    return out;
  }
  ++p.rss_pages;
  lru_add(pfn, p, cr2, *v);
  ++m_minor;
  out.cost_cycles = m_p.fault_minor_cycles + m_p.zero_page_per_4k_cycles;
  return out;
}

}  // namespace mmusim
