// Tests of the paging formats (models/arch/paging_format.h) against the
// numbers of Intel SDM Vol. 3A chapter 4, written out literally: the
// geometry of figures 4-2 (32-bit), 4-5..4-7 (PAE), 4-8..4-11 (4-level and
// 5-level) and the reserved bits of tables 4-4 (32-bit 4 MiB PDE), 4-8..4-11
// (PAE) and 4-14..4-20 (4-level and 5-level).
#include "models/arch/paging_format.h"

#include <gtest/gtest.h>

#include <cstring>

#include "models/arch/entry_bits.h"

namespace mmusim {
namespace {

TEST(PagingFormat, ThirtyTwoBitPaging) {
  constexpr PagingFormat f = paging_format(PagingMode::Ia32);
  EXPECT_EQ(f.levels, 2u);
  EXPECT_EQ(f.entry_bytes, 4u);
  EXPECT_EQ(f.va_bits, 32u);
  EXPECT_FALSE(f.has_xd);
  EXPECT_EQ(f.entries(1), 1024u);
  EXPECT_EQ(f.entries(2), 1024u);
  // va 0x48F45678: PD index bits 31:22 = 0x123, PT index 21:12 = 0x345.
  EXPECT_EQ(f.index(0x48F45678, 2), 0x123u);
  EXPECT_EQ(f.index(0x48F45678, 1), 0x345u);
  EXPECT_EQ(f.entry_span(2), 4ull << 20);
  EXPECT_TRUE(f.ps_maps_page[2]);
  EXPECT_EQ(f.page_size(2), PageSize::k4M);
  EXPECT_TRUE(f.has_page_size(PageSize::k4K));
  EXPECT_TRUE(f.has_page_size(PageSize::k4M));
  EXPECT_FALSE(f.has_page_size(PageSize::k2M));
  EXPECT_FALSE(f.has_page_size(PageSize::k1G));
  EXPECT_EQ(f.va_mask(), 0xffffffffull);
  // CR3 and entry addresses: bits 31:12 (tables 4-3, 4-5, 4-6).
  EXPECT_EQ(f.root_mask(52), 0xfffff000ull);
  EXPECT_EQ(f.addr_mask(52), 0xfffff000ull);
}

TEST(PagingFormat, PaePaging) {
  constexpr PagingFormat f = paging_format(PagingMode::Pae);
  EXPECT_EQ(f.levels, 3u);
  EXPECT_EQ(f.entry_bytes, 8u);
  EXPECT_EQ(f.va_bits, 32u);
  EXPECT_TRUE(f.has_xd);
  EXPECT_EQ(f.entries(3), 4u);
  EXPECT_EQ(f.entries(2), 512u);
  EXPECT_EQ(f.entries(1), 512u);
  // va 0x82BAB678: PDPTE index 31:30 = 2, PD index 29:21 = 0x15, PT index
  // 20:12 = 0x1ab.
  EXPECT_EQ(f.index(0x82BAB678, 3), 2u);
  EXPECT_EQ(f.index(0x82BAB678, 2), 0x15u);
  EXPECT_EQ(f.index(0x82BAB678, 1), 0x1abu);
  EXPECT_EQ(f.page_size(2), PageSize::k2M);
  EXPECT_FALSE(f.ps_maps_page[3]);  // a PDPTE never maps a page with PAE paging
  EXPECT_TRUE(f.has_page_size(PageSize::k2M));
  EXPECT_FALSE(f.has_page_size(PageSize::k1G));
  EXPECT_FALSE(f.has_page_size(PageSize::k4M));
  // CR3 bits 31:5 locate the 32-byte PDPT (table 4-7).
  EXPECT_EQ(f.root_mask(52), 0xffffffe0ull);
  EXPECT_EQ(f.addr_mask(36), 0x0000000ffffff000ull);
}

TEST(PagingFormat, FourAndFiveLevelPaging) {
  constexpr PagingFormat f4 = paging_format(PagingMode::X86_64);
  constexpr PagingFormat f5 = paging_format(PagingMode::X86_64_La57);
  EXPECT_EQ(f4.levels, 4u);
  EXPECT_EQ(f5.levels, 5u);
  EXPECT_EQ(f4.va_bits, 48u);
  EXPECT_EQ(f5.va_bits, 57u);
  EXPECT_EQ(f4.va_mask(), 0x0000ffffffffffffull);
  EXPECT_EQ(f5.va_mask(), 0x01ffffffffffffffull);
  const unsigned shifts[] = {0, 12, 21, 30, 39, 48};
  for (unsigned l = 1; l <= 5; ++l) {
    EXPECT_EQ(f5.index_shift[l], shifts[l]) << l;
    EXPECT_EQ(f5.entries(l), 512u) << l;
    if (l <= 4) {
      EXPECT_EQ(f4.index_shift[l], shifts[l]) << l;
    }
  }
  // va with PML5 index 2, PML4 3, PDPT 5, PD 7, PT 9.
  const VAddr va = (2ull << 48) | (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12) | 0x123;
  EXPECT_EQ(f5.index(va, 5), 2u);
  EXPECT_EQ(f5.index(va, 4), 3u);
  EXPECT_EQ(f5.index(va, 3), 5u);
  EXPECT_EQ(f5.index(va, 2), 7u);
  EXPECT_EQ(f5.index(va, 1), 9u);
  EXPECT_EQ(f4.page_size(2), PageSize::k2M);
  EXPECT_EQ(f4.page_size(3), PageSize::k1G);
  EXPECT_FALSE(f4.ps_maps_page[4]);
  EXPECT_FALSE(f5.ps_maps_page[5]);
  EXPECT_TRUE(f4.has_page_size(PageSize::k1G));
  EXPECT_FALSE(f4.has_page_size(PageSize::k4M));
  EXPECT_EQ(f4.root_mask(46), 0x00003ffffffff000ull);
  EXPECT_EQ(f4.addr_mask(52), 0x000ffffffffff000ull);
}

TEST(PagingFormat, EffectiveModeAndNames) {
  EXPECT_EQ(effective_paging_mode(PagingMode::X86_64, 5), PagingMode::X86_64_La57);
  EXPECT_EQ(effective_paging_mode(PagingMode::X86_64, 4), PagingMode::X86_64);
  EXPECT_EQ(effective_paging_mode(PagingMode::Pae, 5), PagingMode::Pae);
  EXPECT_STREQ(paging_mode_name(PagingMode::Ia32), "ia32");
  EXPECT_STREQ(paging_mode_name(PagingMode::Pae), "pae");
  EXPECT_STREQ(paging_mode_name(PagingMode::X86_64), "x86_64");
  EXPECT_STREQ(paging_mode_name(PagingMode::X86_64_La57), "x86_64_la57");
  EXPECT_STREQ(paging_level_name(5), "pml5");
  EXPECT_STREQ(paging_level_name(4), "pml4");
  EXPECT_STREQ(paging_level_name(3), "pdpt");
  EXPECT_STREQ(paging_level_name(2), "pd");
  EXPECT_STREQ(paging_level_name(1), "pt");
}

TEST(EntryBits, Positions) {
  // SDM 4.5.4 tables 4-14 .. 4-20 and 4.7 figure 4-12.
  EXPECT_EQ(pte::kP, 0x1u);
  EXPECT_EQ(pte::kRW, 0x2u);
  EXPECT_EQ(pte::kUS, 0x4u);
  EXPECT_EQ(pte::kPWT, 0x8u);
  EXPECT_EQ(pte::kPCD, 0x10u);
  EXPECT_EQ(pte::kA, 0x20u);
  EXPECT_EQ(pte::kD, 0x40u);
  EXPECT_EQ(pte::kPS, 0x80u);
  EXPECT_EQ(pte::kG, 0x100u);
  EXPECT_EQ(pte::kPat4K, 0x80u);
  EXPECT_EQ(pte::kPatLarge, 0x1000u);
  EXPECT_EQ(pte::kPkMask, 0x7800000000000000ull);
  EXPECT_EQ(pte::kXD, 0x8000000000000000ull);
  EXPECT_EQ(pf::kP, 1u);
  EXPECT_EQ(pf::kW, 2u);
  EXPECT_EQ(pf::kU, 4u);
  EXPECT_EQ(pf::kRsvd, 8u);
  EXPECT_EQ(pf::kI, 16u);
  EXPECT_EQ(pf::kPK, 32u);
}

TEST(EntryMasks, FourLevelReservedBits) {
  const EntryMasks k = entry_masks(paging_format(PagingMode::X86_64), 46, true, true);
  constexpr std::uint64_t k51to46 = 0x000fc00000000000ull;
  EXPECT_EQ(k.addr, 0x00003ffffffff000ull);
  EXPECT_EQ(k.xd, pte::kXD);
  for (unsigned l = 1; l <= 3; ++l) EXPECT_EQ(k.table_rsvd[l], k51to46) << l;
  EXPECT_EQ(k.table_rsvd[4], k51to46 | pte::kPS);  // PS of a PML4E is reserved
  EXPECT_EQ(k.page_rsvd[1], k51to46);
  EXPECT_EQ(k.page_rsvd[2], k51to46 | 0x1fe000ull);    // bits 20:13 of a 2 MiB PDE
  EXPECT_EQ(k.page_rsvd[3], k51to46 | 0x3fffe000ull);  // bits 29:13 of a 1 GiB PDPTE
  EXPECT_FALSE(k.ps_leaf[1]);
  EXPECT_TRUE(k.ps_leaf[2]);
  EXPECT_TRUE(k.ps_leaf[3]);
  EXPECT_FALSE(k.ps_leaf[4]);
  // NXE = 0: XD is reserved everywhere and denies nothing.
  const EntryMasks n = entry_masks(paging_format(PagingMode::X86_64_La57), 52, false, true);
  EXPECT_EQ(n.xd, 0u);
  EXPECT_EQ(n.table_rsvd[5], pte::kXD | pte::kPS);
  EXPECT_EQ(n.page_rsvd[1], pte::kXD);
  EXPECT_EQ(n.root, 0x000ffffffffff000ull);
}

TEST(EntryMasks, PaeReservedBits) {
  const EntryMasks k = entry_masks(paging_format(PagingMode::Pae), 36, true, true);
  // Bits 62:36 of PDEs and PTEs (tables 4-9 .. 4-11), 20:13 of a 2 MiB PDE.
  EXPECT_EQ(k.page_rsvd[1], 0x7ffffff000000000ull);
  EXPECT_EQ(k.table_rsvd[2], 0x7ffffff000000000ull);
  EXPECT_EQ(k.page_rsvd[2], 0x7ffffff000000000ull | 0x1fe000ull);
  // A PDPTE: 63:36, 8:5 and 2:1 (table 4-8).
  EXPECT_EQ(k.pdpte_rsvd, 0xfffffff000000000ull | 0x1e0ull | 0x6ull);
  EXPECT_EQ(k.root, 0xffffffe0ull);
  EXPECT_FALSE(k.ps_leaf[3]);
}

TEST(EntryMasks, ThirtyTwoBitReservedBitsAndPse36) {
  // Table 4-4: bits 21:(M'-19) of a 4 MiB PDE, M' = min(40, MAXPHYADDR).
  EXPECT_EQ(entry_masks(paging_format(PagingMode::Ia32), 40, true, true).page_rsvd[2], 0x200000ull);
  EXPECT_EQ(entry_masks(paging_format(PagingMode::Ia32), 52, true, true).page_rsvd[2], 0x200000ull);
  EXPECT_EQ(entry_masks(paging_format(PagingMode::Ia32), 36, true, true).page_rsvd[2], 0x3e0000ull);
  EXPECT_EQ(entry_masks(paging_format(PagingMode::Ia32), 32, true, true).page_rsvd[2], 0x3fe000ull);
  const EntryMasks k = entry_masks(paging_format(PagingMode::Ia32), 40, true, true);
  EXPECT_EQ(k.xd, 0u);  // no XD bit in 4-byte entries
  EXPECT_EQ(k.table_rsvd[2], 0u);
  EXPECT_EQ(k.page_rsvd[1], 0u);
  EXPECT_TRUE(k.ps_leaf[2]);
  // PDE 0x12c00000 | 0xab << 13 | PS | P: frame bits 31:22 = 0x12c00000,
  // bits 39:32 = 0xab.
  EXPECT_EQ(k.pse36_frame(0x12c00000ull | (0xabull << 13) | pte::kPS | pte::kP), 0xab12c00000ull);
  // M = 36: only PDE bits 16:13 are address bits 35:32.
  EXPECT_EQ(entry_masks(paging_format(PagingMode::Ia32), 36, true, true).pse36_frame(0x12c00000ull | (0xabull << 13)),
            0xb12c00000ull);
  // CR4.PSE = 0: PS is ignored, a PDE always references a page table.
  EXPECT_FALSE(entry_masks(paging_format(PagingMode::Ia32), 40, true, false).ps_leaf[2]);
}

}  // namespace
}  // namespace mmusim
