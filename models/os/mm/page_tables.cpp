#include "models/os/mm/page_tables.h"

#include <algorithm>

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/fault_cost.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/rmap.h"
#include "models/os/slab.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kTableFlags = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;  // Linux _PAGE_TABLE
constexpr VAddr kPageOffset32 = 0xc0000000ull;  // the 3G/1G split: user space ends there
constexpr unsigned kPaePgdBytes = 32;           // 4 PDPTEs, 32-byte aligned (CR3 bits 31:5)

}  // namespace

PageTables::PageTables(const OsParams& p, PhysicalMemory& mem, PageAllocator& alloc, KernelSpace& kspace,
                       FaultCost& cost, const Thp& thp, SlabAllocator& slab, Rmap& rmap)
    : m_p(p), m_mem(mem), m_alloc(alloc), m_kspace(kspace), m_cost(cost), m_thp(thp), m_slab(slab), m_rmap(rmap) {
  m_fmt = paging_format(effective_paging_mode(p.mode, p.levels));
  m_ia32 = p.mode == PagingMode::Ia32;
  m_pae = p.mode == PagingMode::Pae;
  m_highpte = p.highmem && (m_ia32 || m_pae);  // CONFIG_HIGHPTE exists only in 32-bit kernels
  // The highest level whose entries map a page: with 32-bit paging only
  // when CR4.PSE = 1 (0: no large pages).
  m_large_top = 0;
  for (unsigned l = 2; l <= m_fmt.levels; ++l)
    if (m_fmt.ps_maps_page[l] && (!m_ia32 || p.pse)) m_large_top = l;
  m_huge_bytes = m_large_top >= 2 ? span_at(2) : 0;
  m_addr_mask = m_fmt.addr_mask(p.phys_addr_bits);
  m_user_top = (m_ia32 || m_pae) ? kPageOffset32 : 1ull << (m_fmt.va_bits - 1);
}

void PageTables::register_alloc_counter(StatGroup& os) {
  m_allocs = &os.counter("pgtable_allocs", "page-table pages allocated");
}

void PageTables::register_split_counter(StatGroup& thp) {
  m_split_pmds = &thp.counter("split_pmd",
                              "huge PMDs split into a PTE page (vmstat thp_split_pmd): partial munmap or mprotect, "
                              "a write to the huge zero page or to a huge page shared since fork");
}

void PageTables::register_pages_stat(StatGroup& os) {
  os.formula("pgtable_pages", "page-table pages in use (all processes and the idle root)",
             [this] { return static_cast<double>(m_pages); });
}

std::uint64_t PageTables::table_flags(unsigned level) const {
  // A PAE PDPTE has only P and the address: its R/W, U/S, A, D positions are
  // reserved (SDM table 4-8).
  return m_pae && level == 3 ? pte::kP : kTableFlags;
}

std::uint64_t PageTables::leaf_flags(const Vma& v, PageSize size) const {
  if (!(v.prot & kProtMask)) return swpte::kProtNone | (size != PageSize::k4K ? pte::kPS : 0);
  std::uint64_t f = pte::kP | pte::kUS | pte::kA;
  if (v.prot & kProtWrite) f |= pte::kRW | pte::kD;
  if (m_p.nx && !m_ia32 && !(v.prot & kProtExec)) f |= pte::kXD;  // no XD bit in 4-byte entries
  if (size != PageSize::k4K) f |= pte::kPS;
  return f;
}

PAddr PageTables::alloc_pae_pdpt() {
  // Created on first use: Linux's pgtable_cache_init() makes it only for PAE.
  if (!m_pgd_cache)
    m_pgd_cache =
        m_slab.create("pgd_cache", kPaePgdBytes, kPaePgdBytes, m_p.highmem ? ZoneType::Normal : ZoneType::Dma32);
  auto pa = m_slab.alloc(m_pgd_cache);
  if (!pa) return 0;
  for (unsigned i = 0; i < kPaePgdBytes; i += 8) m_mem.write64(*pa + i, 0);
  return *pa;
}

void PageTables::free_pae_pdpt(PAddr pdpt) { m_slab.free(m_pgd_cache, pdpt); }

PAddr PageTables::alloc_idle_root() {
  PAddr root = 0;
  if (m_pae) {
    root = alloc_pae_pdpt();
  } else {
    std::uint64_t pfn = 0;
    if (m_alloc.alloc_frame(0, &pfn, nullptr, ZoneType::Normal)) {
      m_mem.zero_frame(pfn);
      root = pfn << kPageShift;
    }
  }
  if (!root) return 0;
  ++m_pages;
  ++*m_allocs;
  return root;
}

PAddr PageTables::alloc_root(Process& p) {
  if (!m_pae) {
    const PAddr root = alloc_table(p, levels());
    if (root) m_kspace.copy_kernel_half(root);
    return root;
  }
  PAddr pdpt = alloc_pae_pdpt();
  if (!pdpt) return 0;
  ++p.pgtable_pages;
  ++m_pages;
  ++*m_allocs;
  // preallocate_pmds: one page directory per user PDPTE (3 GiB / 1 GiB).
  for (unsigned i = 0; i < m_user_top / span_at(3); ++i) {
    PAddr pd = alloc_table(p, 2);
    if (!pd) {
      free_tables(p, pdpt, 3);
      return 0;
    }
    wr(pdpt + i * 8ull, pd | table_flags(3));
  }
  m_kspace.copy_kernel_half(pdpt);
  return pdpt;
}

PAddr PageTables::alloc_table(Process& p, unsigned level) {
  // arch/x86/mm/pgtable.c: pte_alloc_one() allocates with __userpte_alloc_gfp,
  // GFP_PGTABLE_USER | __GFP_HIGHMEM with CONFIG_HIGHPTE; page directories
  // (pgd_alloc, preallocate_pmds, pmd_alloc_one) are GFP_PGTABLE_USER without
  // it, so from lowmem: the kernel edits them through its linear map.
  const ZoneType highest = level == 1 && m_highpte ? ZoneType::HighMem : ZoneType::Normal;
  std::uint64_t pfn = 0;
  if (!m_alloc.alloc_frame(0, &pfn, &p, highest)) return 0;
  const PAddr pa = pfn << kPageShift;
  if (level == 1) pte_map(pa);  // __GFP_ZERO: clear_highpage() maps the page to zero it
  m_mem.zero_frame(pfn);
  m_cost.ktouch(pfn << kPageShift, kPageBytes, true);  // clear_page of the new table
  ++p.pgtable_pages;
  ++m_pages;
  ++*m_allocs;
  return pa;
}

void PageTables::pte_map(PAddr table) {
  if (!m_highpte || (table >> kPageShift) < ZonedPageAllocator::kLowmemEndPfn) return;
  m_kspace.count_pte_kmap();
}

void PageTables::pte_map_of(const Process& p, VAddr va) {
  if (!m_highpte) return;
  const std::uint64_t pde = entry_at(p, va, 2, nullptr);
  if ((pde & pte::kP) && !is_leaf(2, pde)) pte_map(pde & m_addr_mask);
}

bool PageTables::map(Process& p, VAddr va, std::uint64_t pfn, PageSize size, std::uint64_t flags) {
  const unsigned leaf = leaf_level(size);
  const PAddr table = table_for(p, va, leaf);
  if (!table) return false;
  if (leaf == 1) pte_map(table);  // pte_offset_map_lock() to install the PTE
  wr(table + index_at(va, leaf) * entry_bytes(), (pfn << kPageShift) | flags);
  m_cost.ktouch(table + index_at(va, leaf) * entry_bytes(), entry_bytes(), true);
  return true;
}

PAddr PageTables::table_for(Process& p, VAddr va, unsigned leaf) {
  PAddr table = p.root;
  for (unsigned level = levels(); level > leaf; --level) {
    PAddr epa = table + index_at(va, level) * entry_bytes();
    std::uint64_t e = rd(epa);
    if (!swpte::mapped(e)) {
      // PAE page directories are preallocated with the PDPT (see the header).
      if (m_pae && level == 3) throw std::logic_error("OS model: PAE PDPTE not present at " + hex_string(va));
      PAddr t = alloc_table(p, level - 1);
      if (!t) return 0;
      e = t | table_flags(level);
      wr(epa, e);
      m_cost.ktouch(epa, entry_bytes(), true);
    } else if (is_leaf(level, e)) {
      throw std::logic_error("OS model: a huge page is mapped where a table is needed at " + hex_string(va));
    }
    table = e & m_addr_mask;
  }
  return table;
}

std::uint64_t PageTables::entry_at(const Process& p, VAddr va, unsigned level, PAddr* pa) const {
  PAddr table = p.root;
  for (unsigned l = levels();; --l) {
    PAddr epa = table + index_at(va, l) * entry_bytes();
    std::uint64_t e = rd(epa);
    if (l == level) {
      if (pa) *pa = epa;
      return e;
    }
    if (!(e & pte::kP) || is_leaf(l, e)) return 0;
    table = e & m_addr_mask;
  }
}

void PageTables::split_huge(Process& p, VAddr va) {
  PAddr pde_pa = 0;
  std::uint64_t pde = entry_at(p, va, 2, &pde_pa);
  if (!swpte::mapped(pde) || !is_leaf(2, pde)) return;
  const VAddr base = va & ~(m_huge_bytes - 1);
  auto dep = p.deposited.find(base);
  if (dep == p.deposited.end())
    throw std::logic_error("OS model: huge PMD at " + hex_string(base) + " without a deposited page table");
  const PAddr table = dep->second;  // zeroed when deposited, untouched since
  p.deposited.erase(dep);
  if (m_split_pmds) ++*m_split_pmds;  // count_vm_event(THP_SPLIT_PMD), before the zero-page case
  std::uint64_t frame = pde & m_addr_mask & ~(m_huge_bytes - 1);
  std::uint64_t flags =
      pde & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kG | pte::kXD | swpte::kProtNone);
  pte_map(table);  // __split_huge_pmd_locked fills the new table through pte_offset_map
  if (m_thp.is_zero_pfn(frame >> kPageShift)) {
    // __split_huge_zero_page_pmd(): every PTE maps the 4 KiB zero page.
    for (unsigned i = 0; i < entries(1); ++i) wr(table + i * entry_bytes(), (Thp::kZeroPfn << kPageShift) | flags);
    wr(pde_pa, table | table_flags(2));
    return;
  }
  m_rmap.split_huge_pmd(frame >> kPageShift, huge_order());
  for (unsigned i = 0; i < entries(1); ++i) wr(table + i * entry_bytes(), (frame + i * kPageBytes) | flags);
  wr(pde_pa, table | table_flags(2));
}

bool PageTables::deposit(Process& p, VAddr base) {
  const PAddr table = alloc_table(p, 1);
  if (!table) return false;
  p.deposited[base] = table;
  return true;
}

void PageTables::zap_deposit(Process& p, VAddr base) {
  auto dep = p.deposited.find(base);
  if (dep == p.deposited.end()) return;
  free_table_page(p, dep->second);
  p.deposited.erase(dep);
}

void PageTables::free_tables(Process& p, PAddr table, unsigned level) {
  if (level > 1) {
    // The root's kernel half is shared (KernelSpace::copy_kernel_half): not the process's.
    const unsigned n = level == levels() ? kernel_root_index() : entries(level);
    for (unsigned i = 0; i < n; ++i) {
      std::uint64_t e = rd(table + i * entry_bytes());
      if ((e & pte::kP) && !is_leaf(level, e)) free_tables(p, e & m_addr_mask, level - 1);
    }
  }
  if (m_pae && level == 3) free_pae_pdpt(table);
  else m_alloc.buddy().free(table >> kPageShift, 0);
  --p.pgtable_pages;
  --m_pages;
}

void PageTables::free_table_page(Process& p, PAddr table) {
  m_alloc.buddy().free(table >> kPageShift, 0);
  --p.pgtable_pages;
  --m_pages;
}

bool PageTables::walk_range(Process& p, VAddr start, VAddr end, RangeOps& ops) {
  return walk_level(p, p.root, levels(), 0, start, end, ops);
}

bool PageTables::walk_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end,
                            RangeOps& ops) {
  if (level == 1) pte_map(table);  // zap_pte_range, change_pte_range, copy_pte_range map the table once
  ops.enter_table(level);
  const std::uint64_t span = span_at(level);
  const unsigned lo = start > base ? static_cast<unsigned>((start - base) / span) : 0;
  const unsigned hi = static_cast<unsigned>(std::min<std::uint64_t>(entries(level) - 1, (end - 1 - base) / span));
  for (unsigned i = lo; i <= hi && !ops.stopped(); ++i) {
    const VAddr va_lo = base + i * span, va_hi = va_lo + span;
    const PAddr epa = table + i * entry_bytes();
    std::uint64_t e = rd(epa);
    if (e && ops.skip(va_lo, va_hi)) continue;
    if (!swpte::mapped(e)) continue;
    bool leaf = is_leaf(level, e);
    if (leaf && level > 1 && ops.split(level, e, start <= va_lo && va_hi <= end)) {
      split_huge(p, va_lo);
      e = rd(epa);
      leaf = false;
    }
    if (leaf) {
      ops.leaf(level, epa, e, va_lo);
    } else if (walk_level(p, e & m_addr_mask, level - 1, va_lo, start, end, ops) && ops.wants_empty()) {
      ops.empty_table(level, epa, e, va_lo, va_hi);
    }
  }
  if (!ops.wants_empty()) return false;
  for (unsigned i = 0; i < entries(level); ++i)
    if (swpte::mapped(rd(table + i * entry_bytes()))) return false;
  return true;
}

}  // namespace mmusim
