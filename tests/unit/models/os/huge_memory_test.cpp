// Unit tests of transparent huge pages (models/os/mm/huge_memory.h,
// mm/huge_memory.c do_huge_pmd_anonymous_page): eligibility, the 2 MiB
// fault and its fallback.
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

// ---------------------------------------------------------------- transparent huge pages

TEST(OsModel, ThpAlwaysMapsA2MPage) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x40000000;  // 1 GiB-aligned, so 2 MiB-aligned
  t.os.mmap(base, 4 * kMiB, R | W, false, false);
  FaultOutcome o = t.touch(base + 0x123456);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + 512 * kZero);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  EXPECT_EQ(t.counter("os.faults.minor"), 1u);
  Lookup l = t.at(base + 0x123456);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.level, 2u);  // a PDE with PS = 1: no page table below
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kPS | pte::kXD);
  EXPECT_EQ(l.frame % k2M, 0u);
  EXPECT_EQ(l.entry & kAddrBits & (k2M - 1), 0u);  // bits 20:13 are reserved in a 2 MiB PDE
  // The whole 2 MiB translates, the next 2 MiB not yet.
  EXPECT_EQ(t.at(base).frame, l.frame);
  EXPECT_EQ(t.at(base + k2M - 1).frame, l.frame);
  EXPECT_FALSE(t.at(base + k2M).present);
  // Root, PDPT and PD, and the PTE page do_huge_pmd_anonymous_page()
  // allocates (pte_alloc_one) and deposits with the huge PMD
  // (pgtable_trans_huge_deposit; mm_inc_nr_ptes counts it in
  // mm_pgtables_bytes); 512 data frames.
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  EXPECT_EQ(t.os.process(1)->deposited.size(), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 512u);
  EXPECT_EQ(t.free_pages(), free0 - 2 - 1 - 512);
  EXPECT_EQ(t.check_frames({1}), "");

  // The second 2 MiB of the VMA, read: do_huge_pmd_anonymous_page() with
  // use_zero_page (Linux's default) and no FAULT_FLAG_WRITE maps the huge
  // zero page read-only (mk_huge_pmd(zero_page, vma->vm_page_prot), no
  // mkwrite, no mkdirty), allocating it on first use (get_huge_zero_page:
  // an order-9 block, zeroed). No huge page for the process, nothing in rss.
  const std::uint64_t free1 = t.free_pages();
  ASSERT_EQ(t.touch(base + k2M, pf::kU).result, FaultResult::Handled);
  Lookup z = t.at(base + k2M + 0x5000);
  EXPECT_EQ(z.level, 2u);
  EXPECT_EQ(z.entry & ~kAddrBits, pte::kP | pte::kUS | pte::kA | pte::kPS | pte::kXD);
  EXPECT_EQ(z.frame, t.os.huge_zero_pfn() << 12);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.huge_maps"), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 512u);
  // The huge zero page itself, and the PTE page deposited with its PMD
  // (do_huge_pmd_anonymous_page: pte_alloc_one before mm_get_huge_zero_page).
  EXPECT_EQ(t.free_pages(), free1 - 512 - 1);
  EXPECT_EQ(t.check_frames({1}), "");
  // A write into it: do_huge_pmd_wp_page() on the huge zero PMD splits it
  // (__split_huge_zero_page_pmd: a page table of 512 zero-page PTEs) and
  // falls back to the PTE fault, wp_page_copy() of the zero page: one 4 KiB
  // page, no huge page.
  ASSERT_EQ(t.touch(base + k2M + 0x5008, pf::kP | pf::kW | pf::kU).result, FaultResult::Handled);
  Lookup w = t.at(base + k2M + 0x5008);
  EXPECT_EQ(w.level, 1u);
  EXPECT_EQ(w.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_EQ(t.at(base + k2M + 0x6000).frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.huge_splits"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.replaced"), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 513u);
  // Root, PDPT, PD, and the two deposited PTE pages (the THP's and the
  // split huge zero PMD's, now in the tree).
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);
  EXPECT_EQ(t.free_pages(), free1 - 512 - 1 - 1);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(OsModel, ThpIneligibleVmasUse4KWithoutCountingFallback) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  // Too small: 1 MiB.
  t.os.mmap(0x40000000, 1 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40000000).level, 1u);
  // 4 MiB but not 2 MiB-aligned: [0x80100000, 0x80500000). Only the aligned
  // 2 MiB [0x80200000, 0x80400000) lies inside it.
  t.os.mmap(0x80100000, 4 * kMiB, R | W, false, false);
  FaultOutcome o = t.touch(0x80100000);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.at(0x80100000).level, 1u);
  ASSERT_EQ(t.touch(0x804ff000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x804ff000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
  ASSERT_EQ(t.touch(0x80300000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x80300000).level, 2u);
  EXPECT_EQ(t.at(0x80300000).frame, t.at(0x80200000).frame);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  // File-backed VMAs never get anonymous huge pages.
  t.os.mmap(0xc0000000, 4 * kMiB, R | W, true, false);
  ASSERT_EQ(t.touch(0xc0000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0xc0000000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, ThpSkipsA2MRangeThatAlreadyHasAPageTable) {
  // do_huge_pmd_anonymous_page only runs on an empty PMD.
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  t.os.mmap(0x40000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);  // 4 KiB: too small
  t.os.mmap(0x40001000, 4 * kMiB - k4K, R | W, false, false);   // merges: [0x40000000, 0x40400000) rw
  ASSERT_EQ(t.os.process(1)->vmas.size(), 1u);
  ASSERT_EQ(t.touch(0x40100000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40100000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  ASSERT_EQ(t.touch(0x40200000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40200000).level, 2u);
}

TEST(OsModel, ThpMadviseOnlyWithTheAdvice) {
  Os t(params(4, ThpMode::Madvise));
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 4 * kMiB, R | W, false, false);
  t.os.mmap(0x80000000, 4 * kMiB, R | W, false, true);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x80000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40000000).level, 1u);
  EXPECT_EQ(t.at(0x80000000).level, 2u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
}

TEST(OsModel, ThpNeverIgnoresTheAdvice) {
  Os t(params(4, ThpMode::Never));
  t.os.switch_to(1);
  t.os.mmap(0x80000000, 4 * kMiB, R | W, false, true);
  ASSERT_EQ(t.touch(0x80000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x80000000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
}

TEST(OsModel, ThpFallsBackWhenNoOrder9BlockIsLeft) {
  // 8 MiB = 2048 frames: boot blocks [0, 1024) and [1024, 2048) of order 10.
  // Reserving frames 0..255 leaves [256, 512) order 8 and [512, 1024) order 9.
  // Page tables come from the order-8 piece, so exactly three order-9 blocks
  // can be had: frame 512, then 1024 and 1536 (splitting the order-10 block).
  Os t(params(4, ThpMode::Always, 8 * kMiB));
  t.os.switch_to(1);
  EXPECT_EQ(t.free_pages(), 2048u - 256 - 1 - 1);
  const VAddr base = 0x40000000;
  t.os.mmap(base, 16 * kMiB, R | W, false, false);
  const PAddr expect[] = {512 * k4K, 1024 * k4K, 1536 * k4K};
  for (int i = 0; i < 3; ++i) {
    FaultOutcome o = t.touch(base + i * k2M + 0x1000);
    EXPECT_EQ(o.cost_cycles, kMinor + 512 * kZero);
    Lookup l = t.at(base + i * k2M);
    EXPECT_EQ(l.level, 2u);
    EXPECT_EQ(l.frame, expect[i]) << i;
  }
  EXPECT_EQ(t.counter("os.thp.alloc"), 3u);
  EXPECT_EQ(t.os.buddy().free_blocks(9), 0u);
  EXPECT_EQ(t.os.buddy().free_blocks(10), 0u);
  // 1790 - PDPT - PD - 3 * (512 + the deposited PTE page).
  EXPECT_EQ(t.free_pages(), 1790u - 2 - 3 * 513);

  FaultOutcome o = t.touch(base + 3 * k2M + 0x5000);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.counter("os.thp.fallback"), 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 3u);
  EXPECT_EQ(t.at(base + 3 * k2M + 0x5000).level, 1u);
  EXPECT_EQ(t.free_pages(), 1790u - 2 - 3 * 513 - 2);  // a page table and the page
  EXPECT_EQ(t.counter("os.faults.minor"), 4u);
  // The next page of that 2 MiB already has a page table: not eligible, not counted.
  ASSERT_EQ(t.touch(base + 3 * k2M + 0x6000).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.thp.fallback"), 1u);
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- Thp and the zero pages

// mm/huge_memory.c get_huge_zero_page(): one order-9 block allocated on
// first use and kept; shrink_huge_zero_page_scan(): "if
// (atomic_cmpxchg(&huge_zero_refcount, 1, 0) != 1) return 0;" - it is freed
// only when no mm holds a reference. my_zero_pfn: the 4 KiB zero page, frame
// 255 here (the last of the reserved low 1 MiB).
TEST(Thp, TheHugeZeroPageIsAllocatedOnceAndFreedByItsShrinkerWhenUnused) {
  Os t(params(4, ThpMode::Always));
  Thp& h = t.os.thp();
  EXPECT_TRUE(h.is_zero_pfn(255));
  EXPECT_FALSE(h.is_zero_pfn(256));
  EXPECT_EQ(h.huge_zero_pfn(), 0u);
  const std::uint64_t z = h.huge_zero_page();
  ASSERT_NE(z, 0u);
  EXPECT_EQ(z % 512, 0u);
  EXPECT_EQ(h.huge_zero_page(), z);
  EXPECT_TRUE(h.is_zero_pfn(z + 511));
  EXPECT_FALSE(h.is_zero_pfn(z + 512));
  // A read fault in a THP VMA maps it; the mm holds it until exit.
  t.os.switch_to(1);
  t.os.mmap(0x40000000, k2M, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000, pf::kU).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40000000).frame, z << 12);
  h.shrink_huge_zero_page();
  EXPECT_EQ(h.huge_zero_pfn(), z);
  t.os.exit_current();
  h.shrink_huge_zero_page();
  EXPECT_EQ(h.huge_zero_pfn(), 0u);
  EXPECT_TRUE(t.os.buddy().is_free(z));
}

}  // namespace
}  // namespace mmusim
