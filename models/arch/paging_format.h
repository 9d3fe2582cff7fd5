// The geometry and the entry formats of the four x86 paging modes (Intel SDM
// Vol. 3A chapter 4), the one description the walker, the translation
// checker, the paging-structure caches and the tests use.
//
// Levels are numbered from the leaf: 1 = page table (PTE), 2 = page
// directory (PDE), 3 = page-directory-pointer table (PDPTE), 4 = PML4,
// 5 = PML5. Per mode:
//
//   mode        entry  levels  linear  index bits (level 1, 2, ...)  PS leaf
//   32-bit      4 B    2       32      10 (21:12), 10 (31:22)        PDE: 4 MiB (CR4.PSE = 1)
//   PAE         8 B    3       32      9 (20:12), 9 (29:21), 2 (31:30)  PDE: 2 MiB
//   4-level     8 B    4       48      9 each, from bit 12           PDE: 2 MiB, PDPTE: 1 GiB
//   5-level     8 B    5       57      9 each, from bit 12           PDE: 2 MiB, PDPTE: 1 GiB
//
// (SDM 4.3 figure 4-2; 4.4.2 figures 4-5..4-7; 4.5.4 figures 4-8..4-11.) The
// PAE level 3 is the four PDPTE registers, loaded from a 32-byte table at
// CR3 bits 31:5 (4.4.1); the other modes' root is a 4 KiB table at CR3
// bits 31:12 (32-bit) or (MAXPHYADDR-1):12.
//
// Reserved bits (EntryMasks, for a MAXPHYADDR M, EFER.NXE and CR4.PSE):
//  - 32-bit paging: only a 4 MiB PDE has any, bits 21:(M'-19) with
//    M' = min(40, M) (table 4-4, PSE-36); its physical bits (M'-1):32 are
//    PDE bits (M'-20):13.
//  - PAE paging: bits 62:M of PDEs and PTEs (tables 4-9 .. 4-11; unlike
//    4-level paging 62:52 are not ignored), bits 20:13 of a 2 MiB PDE, XD
//    with NXE = 0; a PDPTE's 63:M, 8:5 and 2:1 (table 4-8).
//  - 4-level and 5-level paging: bits 51:M of every entry; PS of a PML5E or
//    PML4E; bits 20:13 of a 2 MiB PDE, 29:13 of a 1 GiB PDPTE; XD with
//    NXE = 0 (tables 4-14 .. 4-20).
#pragma once

#include <array>
#include <cstdint>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_mode.h"
#include "models/common/types.h"

namespace mmusim {

// Bits hi:lo set.
constexpr std::uint64_t bit_range(unsigned hi, unsigned lo) {
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

struct PagingFormat {
  PagingMode mode = PagingMode::X86_64;
  unsigned levels = 4;         // Ia32 2, Pae 3 (the PDPTE registers), X86_64 4, X86_64_La57 5
  unsigned entry_bytes = 8;    // 4 with 32-bit paging
  unsigned va_bits = 48;       // linear-address bits translated
  unsigned root_low_bit = 12;  // CR3 locates the root from this bit up (5 with PAE)
  bool has_xd = true;          // entries have an XD bit (not with 32-bit paging)
  // Per level (index 1..5; 0 unused): the lowest linear-address bit of the
  // level's index and its width.
  std::array<unsigned, 6> index_shift{};
  std::array<unsigned, 6> index_bits{};
  // Per level: PS = 1 makes the entry map a page of large_page[level]
  // (level 2, and level 3 with 4-level and 5-level paging).
  std::array<bool, 6> ps_maps_page{};
  std::array<PageSize, 6> large_page{};

  constexpr unsigned entries(unsigned level) const { return 1u << index_bits[level]; }
  constexpr std::uint64_t index_mask(unsigned level) const { return entries(level) - 1; }
  // The index of va's entry in the level's table.
  constexpr std::uint64_t index(VAddr va, unsigned level) const {
    return (va >> index_shift[level]) & index_mask(level);
  }
  constexpr std::uint64_t va_mask() const { return bit_range(va_bits - 1, 0); }
  // Bytes of linear-address space one entry of the level covers.
  constexpr std::uint64_t entry_span(unsigned level) const { return 1ull << index_shift[level]; }
  // The page an entry of the level maps when it is a leaf.
  constexpr PageSize page_size(unsigned level) const { return level == 1 ? PageSize::k4K : large_page[level]; }
  // Whether the mode has pages of size s (4K and 4M; or 4K, 2M and 1G).
  constexpr bool has_page_size(PageSize s) const {
    if (s == PageSize::k4K) return true;
    for (unsigned l = 2; l <= levels; ++l)
      if (ps_maps_page[l] && large_page[l] == s) return true;
    return false;
  }
  // CR3 bits that locate the root table, for MAXPHYADDR m.
  constexpr std::uint64_t root_mask(unsigned m) const {
    return mode == PagingMode::Ia32 || mode == PagingMode::Pae ? bit_range(31, root_low_bit) : bit_range(m - 1, 12);
  }
  // Entry bits that hold a physical address, for MAXPHYADDR m.
  constexpr std::uint64_t addr_mask(unsigned m) const {
    return mode == PagingMode::Ia32 ? bit_range(31, 12) : bit_range(m - 1, 12);
  }
};

constexpr PagingFormat paging_format(PagingMode m) {
  PagingFormat f;
  f.mode = m;
  switch (m) {
    case PagingMode::Ia32:
      f.levels = 2;
      f.entry_bytes = 4;
      f.va_bits = 32;
      f.has_xd = false;
      f.index_shift = {0, 12, 22, 0, 0, 0};
      f.index_bits = {0, 10, 10, 0, 0, 0};
      f.ps_maps_page = {false, false, true, false, false, false};
      f.large_page = {PageSize::k4K, PageSize::k4K, PageSize::k4M, PageSize::k4K, PageSize::k4K, PageSize::k4K};
      return f;
    case PagingMode::Pae:
      f.levels = 3;
      f.va_bits = 32;
      f.root_low_bit = 5;
      f.index_shift = {0, 12, 21, 30, 0, 0};
      f.index_bits = {0, 9, 9, 2, 0, 0};
      f.ps_maps_page = {false, false, true, false, false, false};
      f.large_page = {PageSize::k4K, PageSize::k4K, PageSize::k2M, PageSize::k4K, PageSize::k4K, PageSize::k4K};
      return f;
    case PagingMode::X86_64:
    case PagingMode::X86_64_La57: break;
  }
  f.levels = m == PagingMode::X86_64_La57 ? 5 : 4;
  f.va_bits = 12 + 9 * f.levels;
  f.index_shift = {0, 12, 21, 30, 39, 48};
  f.index_bits = {0, 9, 9, 9, 9, 9};
  f.ps_maps_page = {false, false, true, true, false, false};
  f.large_page = {PageSize::k4K, PageSize::k4K, PageSize::k2M, PageSize::k1G, PageSize::k4K, PageSize::k4K};
  return f;
}

// The mode WalkerParams-style settings name: mode X86_64 with 5 levels is
// 5-level paging.
constexpr PagingMode effective_paging_mode(PagingMode m, unsigned levels) {
  return m == PagingMode::X86_64 && levels == 5 ? PagingMode::X86_64_La57 : m;
}

// "pml5", "pml4", "pdpt", "pd", "pt" for levels 5..1.
const char* paging_level_name(unsigned level);

// The masks a walk applies to the entries of one mode, given MAXPHYADDR,
// EFER.NXE and CR4.PSE (see the header comment for the reserved bits).
struct EntryMasks {
  std::uint64_t addr = 0;  // entry bits holding a physical address
  std::uint64_t root = 0;  // CR3 bits locating the root table
  // Per level: PS = 1 makes the entry map a page (with 32-bit paging only
  // when CR4.PSE = 1).
  std::array<bool, 6> ps_leaf{};
  // Per level: reserved bits of an entry that references a table, and of
  // one that maps a page.
  std::array<std::uint64_t, 6> table_rsvd{};
  std::array<std::uint64_t, 6> page_rsvd{};
  std::uint64_t xd = 0;          // the XD bit where it denies fetches (NXE = 1, 8-byte entries), else 0
  std::uint64_t pdpte_rsvd = 0;  // reserved bits of a present PAE PDPTE (table 4-8)
  unsigned pse36_bits = 0;       // physical-address bits above 31 of a 4 MiB page (32-bit paging)

  // A 4 MiB PDE's page frame (32-bit paging, table 4-4): bits 31:22 from
  // PDE bits 31:22, bits (M'-1):32 from PDE bits (M'-20):13.
  std::uint64_t pse36_frame(std::uint64_t pde) const {
    return (pde & bit_range(31, 22)) | (((pde >> 13) & ((1ull << pse36_bits) - 1)) << 32);
  }
};

EntryMasks entry_masks(const PagingFormat& f, unsigned phys_addr_bits, bool nxe, bool pse);

}  // namespace mmusim
