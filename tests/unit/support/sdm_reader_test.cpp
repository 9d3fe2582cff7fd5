// Tests of the tests' SDM page-table reader (tests/support/sdm_reader.h):
// it reads back, in every mode, the tables the builders of
// tests/support/pt_builder.h write, with the entry addresses, frames, page
// sizes and rights worked out here from Intel SDM Vol. 3A 4.3 .. 4.6.
#include "tests/support/sdm_reader.h"

#include <gtest/gtest.h>

#include "models/memory/physical_memory.h"
#include "tests/support/pt_builder.h"

namespace mmusim {
namespace {

using testing_pt::Ia32TableBuilder;
using testing_pt::PaeTableBuilder;
using testing_pt::PageTableBuilder;
using testing_sdm::SdmReader;

constexpr std::uint64_t kRWU = pte::kP | pte::kRW | pte::kUS;

TEST(SdmReader, FourLevel4KPageAndItsEntries) {
  PhysicalMemory pm(64ull << 20);
  PageTableBuilder pt(pm, 4);
  const VAddr va = testing_pt::make_va(0, 3, 5, 7, 9, 0x123);
  const PageTableBuilder::Path p = pt.map(va, 0x12345000, PageSize::k4K, kRWU | pte::kXD);
  const SdmReader r(pm, PagingMode::X86_64);
  const testing_sdm::Lookup l = r.walk(pt.root(), va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.level, 1u);
  EXPECT_EQ(l.frame, 0x12345000u);
  EXPECT_EQ(l.size, PageSize::k4K);
  EXPECT_TRUE(l.writable);
  EXPECT_TRUE(l.user);
  EXPECT_TRUE(l.nx);
  ASSERT_EQ(l.steps.size(), 4u);
  ASSERT_EQ(l.path.size(), 4u);
  EXPECT_EQ(l.path[3], 0x12345000u | kRWU | pte::kXD);
  // PML4E at root + 3 * 8, PDPTE at its table + 5 * 8, ...
  EXPECT_EQ(l.steps[0].entry_pa, pt.root() + 3 * 8);
  EXPECT_EQ(l.steps[1].entry_pa, p.table[3] + 5 * 8);
  EXPECT_EQ(l.steps[2].entry_pa, p.table[2] + 7 * 8);
  EXPECT_EQ(l.steps[3].entry_pa, p.table[1] + 9 * 8);
  EXPECT_EQ(l.entry_pa, p.entry[1]);
  EXPECT_EQ(r.entry(pt.root(), va, 3) & testing_sdm::kAddrBits, p.table[2]);
  // Not mapped one PT entry further: the walk ends at the PTE with P = 0.
  const testing_sdm::Lookup miss = r.walk(pt.root(), va + 0x1000);
  EXPECT_FALSE(miss.present);
  EXPECT_EQ(miss.level, 1u);
  const testing_sdm::Tables t = r.tables(pt.root());
  EXPECT_EQ(t.tables.size(), 4u);
  ASSERT_EQ(t.leaves.size(), 1u);
  EXPECT_EQ(t.leaves[0].va, va & ~0xfffull);
}

TEST(SdmReader, FiveLevelLargePagesAndRights) {
  PhysicalMemory pm(64ull << 20);
  PageTableBuilder pt(pm, 5);
  const VAddr v2m = testing_pt::make_va(2, 3, 5, 7, 0, 0);
  const VAddr v1g = testing_pt::make_va(2, 3, 6, 0, 0, 0);
  pt.map(v2m, 0x40000000, PageSize::k2M, pte::kP | pte::kUS);          // read-only
  pt.map(v1g, 0x8040000000, PageSize::k1G, kRWU, pte::kP | pte::kRW);  // supervisor tables
  const SdmReader r(pm, PagingMode::X86_64_La57);
  testing_sdm::Lookup l = r.walk(pt.root(), v2m + 0x12345);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.size, PageSize::k2M);
  EXPECT_EQ(l.frame, 0x40000000u);
  EXPECT_FALSE(l.writable);
  EXPECT_TRUE(l.user);
  EXPECT_EQ(l.steps.size(), 4u);
  l = r.walk(pt.root(), v1g + 0x12345678);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.size, PageSize::k1G);
  EXPECT_EQ(l.frame, 0x8040000000u);
  EXPECT_EQ(l.level, 3u);
}

TEST(SdmReader, ThirtyTwoBitPagingWithPse36) {
  PhysicalMemory pm(1ull << 30);  // reaches the "page table" the 4 MiB PDE names without PSE
  Ia32TableBuilder pt(pm);
  pt.map(0x48F45678 & ~0xfffull, 0x12345000, PageSize::k4K, static_cast<std::uint32_t>(kRWU));
  pt.map(0x80000000, 0xab12c00000ull, PageSize::k4M, static_cast<std::uint32_t>(kRWU));
  SdmReader r(pm, PagingMode::Ia32);
  testing_sdm::Lookup l = r.walk(pt.root(), 0x48F45678);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.steps[0].entry_pa, pt.root() + 0x123 * 4);
  EXPECT_EQ(l.frame, 0x12345000u);
  l = r.walk(pt.root(), 0x80123456);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.size, PageSize::k4M);
  EXPECT_EQ(l.frame, 0xab12c00000ull);
  EXPECT_FALSE(l.nx);
  // CR4.PSE = 0: the same PDE references a "page table" at its bits 31:12.
  const SdmReader nopse(pm, PagingMode::Ia32, false);
  l = nopse.walk(pt.root(), 0x80123456);
  EXPECT_EQ(l.steps.size(), 2u);
  EXPECT_EQ(l.steps[1].table, 0x12c00000u | (0xabull << 13));
}

TEST(SdmReader, PaeReadsThePdpteFromMemory) {
  PhysicalMemory pm(64ull << 20);
  PaeTableBuilder pt(pm);
  const PaeTableBuilder::Path p = pt.map(0x82BAB000, 0x12345000, PageSize::k4K, kRWU);
  const SdmReader r(pm, PagingMode::Pae);
  const testing_sdm::Lookup l = r.walk(pt.pdpt(), 0x82BAB678);
  ASSERT_TRUE(l.present);
  ASSERT_EQ(l.steps.size(), 3u);
  EXPECT_EQ(l.steps[0].entry_pa, p.pdpte);
  EXPECT_EQ(l.steps[0].entry_pa, 0x100fe0u + 2 * 8);
  EXPECT_EQ(l.steps[1].entry_pa, p.pde);
  EXPECT_EQ(l.steps[2].entry_pa, p.pte);
  EXPECT_EQ(l.frame, 0x12345000u);
  // The PDPTE has no R/W or U/S (table 4-8): the rights are the PDE's and
  // the PTE's.
  EXPECT_TRUE(l.writable);
  EXPECT_TRUE(l.user);
  const testing_sdm::Tables t = r.tables(pt.pdpt());
  EXPECT_EQ(t.tables.size(), 2u);  // the page directory and the page table
  ASSERT_EQ(t.leaves.size(), 1u);
  EXPECT_EQ(t.leaves[0].va, 0x82BAB000u);
}

}  // namespace
}  // namespace mmusim
