// The kernel half of every address space, after arch/x86/mm/init_64.c and
// init_32.c (kernel_physical_mapping_init), arch/x86/mm/pgtable.c (pgd_ctor)
// and mm/highmem.c (kmap_atomic):
//  - the idle root (swapper_pg_dir), loaded when no process runs, maps all
//    memory - low memory in the 32-bit modes - at PAGE_OFFSET with the
//    largest pages that fit: 1 GiB (SDM 4.5, table 4-16: PDPTE with PS) in
//    the 64-bit modes, then 2 MiB / 4 MiB (PDE with PS, SDM 4.3 with CR4.PSE
//    and 4.4), then 4 KiB. Its entries are supervisor-only, read/write, A and
//    D set, execute-disable with EFER.NXE (not in 4-byte entries) and global
//    (G) when CR4.PGE is on (__PAGE_KERNEL with __supported_pte_mask): a CR3
//    write without PCIDs keeps them (SDM 4.10.4.1). Directory entries are
//    _KERNPG_TABLE (P, R/W, A, D); a PAE PDPTE has only P (SDM table 4-8);
//  - every process's root gets the root-level kernel entries of the idle
//    root at creation (pgd_alloc -> pgd_ctor -> clone_pgd_range); with PAE
//    the fourth PDPTE points to the one shared kernel page directory
//    (SHARED_KERNEL_PMD);
//  - the 32-bit modes map only low memory (the first 896 MiB) linearly; a
//    HighMem frame is reached through a kmap_atomic slot, whose page table
//    (the fixmap, FIX_KMAP_BEGIN, at kKmapBase) is built here. The kmap
//    counters: every kmap_atomic of a HighMem frame the kernel touches, and
//    of those the ones that mapped a HIGHPTE page table (PageTables::pte_map).
// Left out: the kernel image mapping (__START_KERNEL_map) and vmalloc space.
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class PageAllocator;

class KernelSpace {
 public:
  // The first kmap_atomic slot's address in the 32-bit modes (the fixmap).
  static constexpr VAddr kKmapBase = 0xffe00000ull;
  // Linux's PAGE_OFFSET in the 32-bit modes (the 3G/1G split).
  static constexpr VAddr kPageOffset32 = 0xc0000000ull;

  KernelSpace(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc);

  // os.kernel.pgtable_pages; os.highmem.kmap_atomic and kmap_atomic_pte.
  void register_stats(StatGroup& os);
  void register_kmap_stats(StatGroup& os);
  // Boot: swapper_pg_dir (throws std::invalid_argument without memory for it).
  void alloc_idle_root();
  // Boot: the linear map and the kmap page table in the idle root. Throws
  // std::invalid_argument for the accesses fault model without the kernel half.
  void build();
  // The root-level entries of the kernel half into a new root (clone_pgd_range).
  void copy_kernel_half(PAddr root);

  // Highmem (32-bit modes): touching a frame above the linear map (zeroing,
  // copying, filling it) needs a temporary kmap_atomic slot; this counts one
  // when pfn is a HighMem frame.
  void kmap_atomic(std::uint64_t pfn);
  // A kmap_atomic of a HighMem PTE page (CONFIG_HIGHPTE).
  void count_pte_kmap() {
    ++m_kmap_atomic;
    ++m_kmap_atomic_pte;
  }
  std::uint64_t kmap_atomic_count() const { return m_kmap_atomic; }
  std::uint64_t kmap_atomic_pte_count() const { return m_kmap_atomic_pte; }

  PAddr idle_root() const { return m_idle_root; }
  // PAGE_OFFSET: 0xffff888000000000 with 4 levels, 0xff11000000000000 with 5,
  // 0xc0000000 in the 32-bit modes; 0 without the kernel half.
  VAddr page_offset() const { return m_page_offset; }
  // Bytes of physical memory the linear map covers.
  std::uint64_t linear_map_bytes() const { return m_linear_bytes; }
  // Page-table pages of the kernel half, shared by every address space.
  const std::vector<PAddr>& tables() const { return m_tables; }
  // The PTE of kmap_atomic slot 0 (32-bit modes), 0 if none.
  PAddr kmap_pte() const { return m_kmap_pte; }
  // The flags of a kernel leaf (__PAGE_KERNEL).
  std::uint64_t kernel_leaf_flags() const;

 private:
  void map_kernel(VAddr va, PAddr pa, PageSize size);
  PAddr alloc_kernel_table();

  const OsParams& m_p;
  PhysicalMemory& m_mem;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  PAddr m_idle_root = 0;
  VAddr m_page_offset = 0;
  std::uint64_t m_linear_bytes = 0;
  std::vector<PAddr> m_tables;
  PAddr m_kmap_pte = 0;
  std::uint64_t m_kmap_atomic = 0;
  std::uint64_t m_kmap_atomic_pte = 0;
};

}  // namespace mmusim
