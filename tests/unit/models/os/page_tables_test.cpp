// Unit tests of the page tables (models/os/mm/page_tables.h): the formats of
// the 32-bit modes (SDM 4.3, 4.4) and the PAE pgd_cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = OsFixture;

// ---------------------------------------------------------------- 32-bit modes and PCIDs
//
// The tables are read back with the layouts of SDM 4.3 (32-bit paging:
// PDE index = va bits 31:22, PTE index = bits 21:12, 4-byte entries, a
// 4 MiB page's frame = PDE bits 31:22) and 4.4 (PAE: PDPTE index = bits
// 31:30, PDE index = bits 29:21, PTE index = bits 20:12, 8-byte entries;
// a PDPTE has only P and the address, bits 2:1 and 8:5 being reserved).

OsParams params32(PagingMode mode, ThpMode thp = ThpMode::Never, bool pse = true, std::uint64_t memory = 64 * kMiB) {
  OsParams p = params(4, thp, memory, true);
  p.mode = mode;
  p.pse = pse;
  return p;
}

TEST(OsModel32, Ia32BuildsFourByteEntries) {
  Os t(params32(PagingMode::Ia32));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr root = t.root_of(1);
  ASSERT_EQ(t.mmu.cr3_writes.back(), root);
  const VAddr va = 0x10345010;
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const std::uint64_t pde = t.mem.read(root + (va >> 22) * 4, 4);
  EXPECT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  EXPECT_FALSE(pde & pte::kPS);
  // 1024 entries of 4 bytes: the next PDE (4 bytes on) stays empty.
  EXPECT_EQ(t.mem.read(root + ((va >> 22) + 1) * 4, 4), 0u);
  const PAddr pt = pde & 0xfffff000;
  const std::uint64_t e = t.mem.read(pt + ((va >> 12) & 0x3ff) * 4, 4);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD));
  EXPECT_NE(e & 0xfffff000, 0u);
  // A 4-byte PTE whose neighbours are empty: nothing spilled into them.
  EXPECT_EQ(t.mem.read(pt + (((va >> 12) & 0x3ff) + 1) * 4, 4), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 2u);  // the page directory and one page table
}

TEST(OsModel32, Ia32WithPseMapsA4MPageAndWithoutPseDoesNot) {
  for (bool pse : {true, false}) {
    Os t(params32(PagingMode::Ia32, ThpMode::Always, pse));
    t.os.switch_to(1);
    t.os.mmap(0x10000000, 4 * kMiB, R | W, false, false);
    ASSERT_EQ(t.touch(0x10123456).result, FaultResult::Handled);
    const std::uint64_t pde = t.mem.read(t.root_of(1) + (0x10000000 >> 22) * 4, 4);
    ASSERT_TRUE(pde & pte::kP);
    if (pse) {
      EXPECT_TRUE(pde & pte::kPS);
      EXPECT_EQ(pde & 0x3ff000, 0u);  // bits 21:12 of the frame: 4 MiB aligned (PAT bit 12 clear)
      EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1024u);
    } else {
      EXPECT_FALSE(pde & pte::kPS);
      EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
    }
  }
}

TEST(OsModel32, Ia32UsesTheFirst4GiBOnly) {
  Os t(params32(PagingMode::Ia32, ThpMode::Never, true, 8 * kGiB));
  EXPECT_EQ(t.os.buddy().num_pages(), 4 * kGiB / k4K);
}

TEST(OsModel32, PaeBuildsAPdptWithPreallocatedPageDirectories) {
  Os t(params32(PagingMode::Pae));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr pdpt = t.root_of(1);
  EXPECT_EQ(pdpt % 32, 0u);
  EXPECT_LT(pdpt, 4 * kGiB);
  // Three user PDPTEs present with P only; the kernel quarter empty.
  for (unsigned i = 0; i < 3; ++i) {
    const std::uint64_t e = t.mem.read64(pdpt + i * 8);
    EXPECT_EQ(e & 0xfff, pte::kP) << i;
    EXPECT_NE(e & kAddrBits, 0u) << i;
  }
  EXPECT_EQ(t.mem.read64(pdpt + 3 * 8), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> before{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};

  const VAddr va = 0x10345010;
  t.os.mmap(0x10345000, k4K, R | W, false, false);  // not executable: XD with NXE
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(pdpt + (va >> 30) * 8) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((va >> 21) & 511) * 8);
  ASSERT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  const std::uint64_t e = t.mem.read64((pde & kAddrBits) + ((va >> 12) & 511) * 8);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD));
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);

  // Unmapping frees the page table but never a page directory: the PDPTE
  // registers were loaded at the MOV to CR3 and must stay right.
  t.os.munmap(0x10345000, k4K);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> after{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};
  EXPECT_EQ(after, before);
  t.os.exit_current();
  // Only the idle PDPT is left, and it is a pgd_cache slab object: the
  // slab owns its page, which used_pages() leaves out.
  EXPECT_EQ(t.os.used_pages(), 0u);
  EXPECT_EQ(t.idle_root() % 32, 0u);
  EXPECT_LT(t.idle_root(), 1ull << 32);
}

TEST(OsModel32, PaeTwoMegPages) {
  Os t(params32(PagingMode::Pae, ThpMode::Always));
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x10012345).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(t.root_of(1)) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((0x10000000 >> 21) & 511) * 8);
  EXPECT_TRUE(has(pde, pte::kP | pte::kPS));
  EXPECT_EQ(pde & kAddrBits & (2 * kMiB - 1), 0u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
}

TEST(OsModel32, PcidsOnlyIn64BitModes) {
  for (PagingMode m : {PagingMode::Ia32, PagingMode::Pae}) {
    OsParams p = params32(m);
    p.pcid = true;
    PhysicalMemory mem(64 * kMiB);
    FakeMmu mmu;
    StatGroup s;
    EXPECT_THROW(OsModel(p, mem, mmu, s), std::invalid_argument);
  }
}

TEST(KernelObjects, PaePdptFromThe32BytePgdCache) {
  MachineOs t;
  const PAddr a = t.os.alloc_pae_pdpt();
  const PAddr b = t.os.alloc_pae_pdpt();
  ASSERT_NE(a, 0u);
  EXPECT_EQ(a % 32, 0u);
  EXPECT_EQ(b, a + 32);
  EXPECT_LT(b, 4ull << 30);
  EXPECT_EQ(t.stat("os.slab.pgd_cache.objects"), 2.0);
  t.os.free_pae_pdpt(a);
  t.os.free_pae_pdpt(b);
  EXPECT_EQ(t.stat("os.slab.pgd_cache.objects"), 0.0);
}

// ---------------------------------------------------------------- geometry and the range walker, through PageTables

// SDM 4.5 (4-level and 5-level paging): 512 8-byte entries per table, each
// level translating 9 bits above the 12-bit page offset (shifts 12, 21, 30,
// 39, 48); PDE.PS maps 2 MiB, PDPTE.PS 1 GiB (tables 4-15, 4-16). User space
// is the lower canonical half, 2^47 or 2^56, so the kernel half starts at
// root index 256. SDM 4.3 (32-bit paging): 1024 4-byte entries, shifts 12
// and 22, PDE.PS maps 4 MiB with CR4.PSE. SDM 4.4 (PAE): a 4-entry PDPT
// (shift 30) over 512-entry directories, 2 MiB pages; a PDPTE has P and the
// address only (table 4-8). The 32-bit modes end user space at Linux's
// PAGE_OFFSET 0xC0000000: PDE 768 (ia32), PDPTE 3 (PAE).
TEST(PageTablesGeometry, FollowsTheSdmInEveryMode) {
  Os l4(params());
  const PageTables& a = l4.os.page_tables();
  EXPECT_EQ(a.levels(), 4u);
  EXPECT_EQ(a.entry_bytes(), 8u);
  EXPECT_EQ(a.entries(4), 512u);
  EXPECT_EQ(a.shift(1), 12u);
  EXPECT_EQ(a.shift(2), 21u);
  EXPECT_EQ(a.shift(3), 30u);
  EXPECT_EQ(a.shift(4), 39u);
  EXPECT_EQ(a.large_top(), 3u);
  EXPECT_EQ(a.huge_bytes(), 2 * kMiB);
  EXPECT_EQ(a.huge_order(), 9u);
  EXPECT_EQ(a.user_top(), 1ull << 47);
  EXPECT_EQ(a.kernel_root_index(), 256u);
  EXPECT_EQ(a.index_at(0x7fffffffffffull, 4), 255u);
  EXPECT_EQ(a.table_flags(3), pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD);  // _PAGE_TABLE

  Os l5(params(5));
  const PageTables& b = l5.os.page_tables();
  EXPECT_EQ(b.levels(), 5u);
  EXPECT_EQ(b.shift(5), 48u);
  EXPECT_EQ(b.user_top(), 1ull << 56);
  EXPECT_EQ(b.kernel_root_index(), 256u);

  Os ia32(params32(PagingMode::Ia32));
  const PageTables& c = ia32.os.page_tables();
  EXPECT_EQ(c.levels(), 2u);
  EXPECT_EQ(c.entry_bytes(), 4u);
  EXPECT_EQ(c.entries(2), 1024u);
  EXPECT_EQ(c.shift(2), 22u);
  EXPECT_EQ(c.huge_bytes(), 4 * kMiB);
  EXPECT_EQ(c.huge_order(), 10u);
  EXPECT_EQ(c.size_at(2), PageSize::k4M);
  EXPECT_EQ(c.user_top(), 0xC0000000u);
  EXPECT_EQ(c.kernel_root_index(), 768u);
  EXPECT_EQ(c.addr_mask(), 0xfffff000u);

  Os nopse(params32(PagingMode::Ia32, ThpMode::Never, false));
  EXPECT_EQ(nopse.os.page_tables().large_top(), 0u);  // no PS without CR4.PSE
  EXPECT_EQ(nopse.os.page_tables().huge_bytes(), 0u);

  Os pae(params32(PagingMode::Pae));
  const PageTables& d = pae.os.page_tables();
  EXPECT_EQ(d.levels(), 3u);
  EXPECT_EQ(d.entries(3), 4u);
  EXPECT_EQ(d.entries(2), 512u);
  EXPECT_EQ(d.shift(3), 30u);
  EXPECT_EQ(d.huge_bytes(), 2 * kMiB);
  EXPECT_EQ(d.large_top(), 2u);
  EXPECT_EQ(d.kernel_root_index(), 3u);
  EXPECT_EQ(d.table_flags(3), pte::kP);
}

// Records what the walker hands to its callbacks (mm/pagewalk.c's
// pte_entry, with split_huge_pmd before the walk goes below a huge PMD).
class RecordingOps : public RangeOps {
 public:
  explicit RecordingOps(PageTables& pt, bool clear = false) : m_pt(pt), m_clear(clear) {}
  bool split(unsigned level, std::uint64_t, bool covered) override {
    splits.push_back(level);
    return !covered;
  }
  void leaf(unsigned level, PAddr epa, std::uint64_t, VAddr va) override {
    leaves.push_back({level, va});
    if (m_clear) m_pt.wr(epa, 0);
  }
  bool wants_empty() const override { return m_clear; }
  void empty_table(unsigned level, PAddr, std::uint64_t, VAddr lo, VAddr) override { empties.push_back({level, lo}); }

  std::vector<std::pair<unsigned, VAddr>> leaves, empties;
  std::vector<unsigned> splits;

 private:
  PageTables& m_pt;
  bool m_clear;
};

TEST(PageTablesWalker, VisitsTheMappedLeavesOfTheRangeInOrder) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr a = 0x40000000;
  t.os.mmap(a, 4 * k4K, R | W, false, false);
  ASSERT_EQ(t.touch(a).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(a + 2 * k4K).result, FaultResult::Handled);
  PageTables& pt = t.os.page_tables();
  Process& p = *t.os.tasks().find(1);
  RecordingOps all(pt);
  pt.walk_range(p, a, a + 4 * k4K, all);
  EXPECT_EQ(all.leaves, (std::vector<std::pair<unsigned, VAddr>>{{1, a}, {1, a + 2 * k4K}}));
  EXPECT_TRUE(all.splits.empty());  // no huge leaf on the way
  RecordingOps part(pt);
  pt.walk_range(p, a + k4K, a + 3 * k4K, part);
  EXPECT_EQ(part.leaves, (std::vector<std::pair<unsigned, VAddr>>{{1, a + 2 * k4K}}));
  // Clearing both leaves empties the PTE page: the walker reports it once,
  // at its PDE (level 2), as free_pgtables needs; the PD still maps it.
  RecordingOps clear(pt, true);
  EXPECT_FALSE(pt.walk_range(p, a, a + 4 * k4K, clear));
  EXPECT_EQ(clear.empties, (std::vector<std::pair<unsigned, VAddr>>{{2, a}}));
  EXPECT_EQ(pt.entry_at(p, a, 1, nullptr), 0u);
}

TEST(PageTablesWalker, AHugeLeafPartlyInTheRangeIsSplitFirst) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const VAddr a = 0x40000000;
  t.os.mmap(a, k2M, R | W, false, false);
  ASSERT_EQ(t.touch(a).result, FaultResult::Handled);
  PageTables& pt = t.os.page_tables();
  Process& p = *t.os.tasks().find(1);
  ASSERT_TRUE(pt.is_leaf(2, pt.entry_at(p, a, 2, nullptr)));
  const std::uint64_t tables = p.pgtable_pages;
  RecordingOps ops(pt);
  pt.walk_range(p, a + k4K, a + 2 * k4K, ops);
  EXPECT_EQ(ops.splits, std::vector<unsigned>{2});
  // __split_huge_pmd_locked: the PTE page deposited with the huge PMD is
  // withdrawn (pgtable_trans_huge_withdraw) and filled with 512 entries for
  // the 2 MiB page: no allocation, the same count of page tables; the walk
  // then visits the one PTE of the range.
  EXPECT_EQ(p.pgtable_pages, tables);
  EXPECT_TRUE(p.deposited.empty());
  EXPECT_FALSE(pt.is_leaf(2, pt.entry_at(p, a, 2, nullptr)));
  EXPECT_EQ(ops.leaves, (std::vector<std::pair<unsigned, VAddr>>{{1, a + k4K}}));
  RecordingOps whole(pt);
  pt.walk_range(p, a, a + k2M, whole);
  EXPECT_EQ(whole.leaves.size(), 512u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// pte_alloc / pmd_alloc / pud_alloc on the way down: a first page in a fresh
// 4-level address space allocates its PDPT, PD and PT; a second page in the
// same 2 MiB needs none.
TEST(PageTablesWalker, TableForAllocatesOnlyMissingTables) {
  Os t(params());
  t.os.switch_to(1);
  PageTables& pt = t.os.page_tables();
  Process& p = *t.os.tasks().find(1);
  EXPECT_EQ(p.pgtable_pages, 1u);  // the PML4
  EXPECT_EQ(pt.entry_at(p, 0x40000000, 1, nullptr), 0u);
  const PAddr t1 = pt.table_for(p, 0x40000000, 1);
  ASSERT_NE(t1, 0u);
  EXPECT_EQ(p.pgtable_pages, 4u);
  EXPECT_EQ(pt.table_for(p, 0x40001000, 1), t1);
  EXPECT_EQ(p.pgtable_pages, 4u);
  PAddr epa = 0;
  pt.entry_at(p, 0x40001000, 1, &epa);
  EXPECT_EQ(epa, t1 + 8);
}

}  // namespace
}  // namespace mmusim
