// The page tables of the user address spaces, in the format of the paging
// mode (SDM 4.3 ia32, 4.4 PAE, 4.5 4-level and 5-level paging), after Linux's
// mm/pgtable-generic.c, mm/pagewalk.c and arch/x86/mm/pgtable.c:
//  - the geometry of the mode (levels, entry size, index bits, which levels
//    may hold a page) and entry reads and writes in simulated memory, through
//    the zero-time debug path; the walker then reads those bytes;
//  - table_for() (pte_alloc / pmd_alloc), map(), the split of a huge page
//    into a PTE page (__split_huge_pmd), freeing a whole tree;
//  - the roots: with PAE the processor reads the PDPTEs only at a MOV to CR3
//    (4.4.1), so, as pgd_alloc -> preallocate_pmds, the three user page
//    directories are allocated with the PDPT and never freed before it. The
//    PDPT itself is a zeroed 32-byte object of the pgd_cache slab cache,
//    below 4 GiB (CR3 is 32 bits);
//  - one range walker (walk_page_range) with per-operation callbacks, used
//    by unmap (zap_page_range + free_pgtables), mprotect (change_protection)
//    and fork (copy_page_range);
//  - HIGHPTE (32-bit modes with HighMem): directories are GFP_KERNEL, from
//    lowmem; PTE pages come from pte_alloc_one() with __GFP_HIGHMEM
//    (__userpte_alloc_gfp), and the kernel reaches one through a
//    kmap_atomic per visit (pte_offset_map .. pte_unmap), counted by
//    pte_map(). The hardware walker reads tables by physical address and
//    needs no kernel mapping.
// New entries are created with A set, and D set in writable leaves (Linux's
// protection_map and _PAGE_TABLE). A PROT_NONE page keeps its frame in a
// not-present entry (_PAGE_PROTNONE).
#pragma once

#include <array>
#include <cstdint>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_format.h"
#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageAllocator;
class KernelSpace;
class FaultCost;
class Thp;
class SlabAllocator;
class Rmap;
struct KmemCache;

// Software encodings in entries the hardware ignores because P = 0 (SDM
// 4.5.4): a PROT_NONE page keeps its frame, marked by bit 9 (every access
// faults; an mprotect that allows access again restores the entry); a swap
// entry keeps its slot (swap_space.h); a dropped clean file page keeps only
// a marker (its content is re-read from the file, zeros here).
namespace swpte {
constexpr std::uint64_t kProtNone = 1ull << 9;
constexpr std::uint64_t kSwapEntry = 1ull << 10;
constexpr std::uint64_t kFileEvicted = 1ull << 11;
// The entry holds a table or a page, accessible or PROT_NONE, or a swap or
// file marker.
inline bool mapped(std::uint64_t e) { return (e & (pte::kP | kProtNone | kSwapEntry | kFileEvicted)) != 0; }
// A page that keeps its frame (present or PROT_NONE).
inline bool has_frame(std::uint64_t e) { return (e & (pte::kP | kProtNone)) != 0; }
// A swap entry or a dropped file page.
inline bool swap_marker(std::uint64_t e) { return !has_frame(e) && (e & (kSwapEntry | kFileEvicted)); }
}  // namespace swpte

// The callbacks of one walk_range() (mm/pagewalk.c's mm_walk_ops).
class RangeOps {
 public:
  virtual ~RangeOps() = default;
  // A table of `level` is entered (copy: a new destination PTE page).
  virtual void enter_table(unsigned /*level*/) {}
  // Whether to pass over the non-zero entry mapping [lo, hi) (copy: VMAs without anon_vma).
  virtual bool skip(VAddr /*lo*/, VAddr /*hi*/) { return false; }
  // Whether the huge leaf e of `level` is split before the walk goes on
  // below it; `covered`: its range lies wholly inside the walked one.
  virtual bool split(unsigned level, std::uint64_t e, bool covered) = 0;
  // A leaf: a page, a swap entry or a file marker, at epa, mapping va.
  virtual void leaf(unsigned level, PAddr epa, std::uint64_t e, VAddr va) = 0;
  // Whether empty tables are reported (empty_table below).
  virtual bool wants_empty() const { return false; }
  // The table of the entry e at epa (level > 1), mapping [lo, hi), maps
  // nothing after the walk.
  virtual void empty_table(unsigned /*level*/, PAddr /*epa*/, std::uint64_t /*e*/, VAddr /*lo*/, VAddr /*hi*/) {}
  // Ends the walk (copy: out of memory).
  virtual bool stopped() const { return false; }
};

class PageTables {
 public:
  PageTables(const OsParams& p, PhysicalMemory& mem, PageAllocator& alloc, KernelSpace& kspace, FaultCost& cost,
             const Thp& thp, SlabAllocator& slab, Rmap& rmap);

  // os.pgtable_allocs, and os.pgtable_pages; os.thp.split_pmd.
  void register_alloc_counter(StatGroup& os);
  void register_pages_stat(StatGroup& os);
  void register_split_counter(StatGroup& thp);

  // Geometry of the mode (models/arch/paging_format.h).
  const PagingFormat& format() const { return m_fmt; }
  unsigned levels() const { return m_fmt.levels; }
  unsigned entry_bytes() const { return m_fmt.entry_bytes; }
  unsigned entries(unsigned level) const { return m_fmt.entries(level); }
  unsigned shift(unsigned level) const { return m_fmt.index_shift[level]; }
  std::uint64_t addr_mask() const { return m_addr_mask; }
  bool ia32() const { return m_ia32; }
  bool pae() const { return m_pae; }
  bool highpte() const { return m_highpte; }
  unsigned large_top() const { return m_large_top; }         // highest level whose entries may map a page (PS)
  std::uint64_t huge_bytes() const { return m_huge_bytes; }  // the THP size: 2 MiB, 4 MiB with ia32 (0: none)
  unsigned huge_order() const { return shift(2) - kPageShift; }
  std::uint64_t huge_pages() const { return 1ull << huge_order(); }
  // Highest user address + 1 (3 GiB, 2^47 or 2^56).
  VAddr user_top() const { return m_user_top; }
  unsigned index_at(VAddr va, unsigned level) const { return static_cast<unsigned>(m_fmt.index(va, level)); }
  std::uint64_t span_at(unsigned level) const { return m_fmt.entry_span(level); }
  // The first root entry of the kernel half.
  unsigned kernel_root_index() const { return static_cast<unsigned>(m_user_top / span_at(levels())); }
  std::uint64_t rd(PAddr pa) const { return m_mem.read(pa, entry_bytes()); }
  void wr(PAddr pa, std::uint64_t v) { m_mem.write(pa, entry_bytes(), v); }
  bool is_leaf(unsigned level, std::uint64_t e) const { return level == 1 || (level <= m_large_top && (e & pte::kPS)); }
  // The page a leaf entry of `level` (1 .. large_top()) maps.
  PageSize size_at(unsigned level) const { return m_fmt.page_size(level); }
  // The level of a leaf entry mapping a page of `size` (PTE, PDE or PDPTE).
  static unsigned leaf_level(PageSize size) { return size == PageSize::k4K ? 1 : size == PageSize::k1G ? 3 : 2; }
  // _PAGE_TABLE for a directory entry of `level` (a PAE PDPTE: P only).
  std::uint64_t table_flags(unsigned level) const;
  // The leaf flags of a page of VMA v (protection_map).
  std::uint64_t leaf_flags(const Vma& v, PageSize size) const;

  // The 32-byte, 32-byte-aligned PAE page-directory-pointer table from the
  // "pgd_cache" slab cache, below 4 GiB; 0 when out of memory.
  PAddr alloc_pae_pdpt();
  void free_pae_pdpt(PAddr pdpt);
  // swapper_pg_dir (lowmem), counted as a page-table page; 0 when out of memory.
  PAddr alloc_idle_root();
  // The root of a new address space (PAE: the PDPT and its three user page
  // directories) with the kernel half copied in; 0 when out of memory.
  PAddr alloc_root(Process& p);
  // A zeroed page-table page for `level` (1 = PTE page); 0 when out of
  // memory. Directories are GFP_KERNEL (lowmem); PTE pages may be HighMem.
  PAddr alloc_table(Process& p, unsigned level);
  // The table of level `leaf` on va's path, tables above it allocated as
  // needed (pte_alloc/pmd_alloc); 0 when out of memory.
  PAddr table_for(Process& p, VAddr va, unsigned leaf);
  // Installs a leaf; false if a page table could not be allocated.
  bool map(Process& p, VAddr va, std::uint64_t pfn, PageSize size, std::uint64_t flags);
  // The entry at `level` for va, or 0 if a table above it is absent; *pa
  // receives its physical address when the table exists.
  std::uint64_t entry_at(const Process& p, VAddr va, unsigned level, PAddr* pa) const;
  // Splits the huge page mapping va into a PTE page (a huge zero page into
  // PTEs of the 4 KiB zero page); no-op if va is not mapped huge. The PTE
  // page is the one deposited with the huge PMD, so a split never allocates
  // (__split_huge_pmd_locked -> pgtable_trans_huge_withdraw). A huge page
  // other PMDs still map stays theirs (Rmap::split_huge_pmd).
  void split_huge(Process& p, VAddr va);
  // pte_alloc_one() + pgtable_trans_huge_deposit() for the huge PMD that is
  // about to map `base`; false when out of memory (the PMD is then not
  // mapped huge).
  bool deposit(Process& p, VAddr base);
  // zap_deposited_table(): frees the PTE page deposited for `base`, if any.
  void zap_deposit(Process& p, VAddr base);
  // Frees the table at `table` and every table below it (the root's kernel
  // half excepted).
  void free_tables(Process& p, PAddr table, unsigned level);
  // Frees one emptied page-table page below the root (free_pgd_range).
  void free_table_page(Process& p, PAddr table);
  // Walks the user entries of p that map [start, end), top-down; returns
  // whether the root maps nothing afterwards when ops.wants_empty().
  bool walk_range(Process& p, VAddr start, VAddr end, RangeOps& ops);
  // HIGHPTE: one kmap_atomic when `table` is a PTE page above the linear
  // map. Called once per kernel visit of a PTE page.
  void pte_map(PAddr table);
  // pte_map of the PTE page holding va's entry, if the page-middle entry
  // holds a table (handle_pte_fault's pte_offset_map_nolock).
  void pte_map_of(const Process& p, VAddr va);
  // Page-table pages in use (all processes and the idle root).
  std::uint64_t pages() const { return m_pages; }

 private:
  bool walk_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end, RangeOps& ops);

  const OsParams& m_p;
  PhysicalMemory& m_mem;
  PageAllocator& m_alloc;
  KernelSpace& m_kspace;
  FaultCost& m_cost;
  const Thp& m_thp;
  SlabAllocator& m_slab;
  Rmap& m_rmap;
  KmemCache* m_pgd_cache = nullptr;
  Counter* m_allocs = nullptr;
  Counter* m_split_pmds = nullptr;
  std::uint64_t m_pages = 0;
  std::uint64_t m_addr_mask = 0;
  VAddr m_user_top = 0;
  PagingFormat m_fmt;
  bool m_ia32 = false, m_pae = false, m_highpte = false;
  unsigned m_large_top = 3;
  std::uint64_t m_huge_bytes = 2ull << 20;
};

}  // namespace mmusim
