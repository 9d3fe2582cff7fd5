// Unit tests of the address space (models/os/mm/address_space.h, mm/mmap.c
// and mm/mprotect.c): implicit VMAs, munmap with free_pgtables' floor and
// ceiling, shootdowns, mprotect and brk.
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

// ---------------------------------------------------------------- implicit VMAs

TEST(OsModel, ImplicitVmasCoverTheAligned2MAndMerge) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  ASSERT_EQ(t.touch(0x601234, pf::kU).result, FaultResult::Handled);
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x600000u);
  EXPECT_EQ(vmas.begin()->second.end, 0x800000u);
  EXPECT_TRUE(vmas.begin()->second.implicit);
  EXPECT_EQ(vmas.begin()->second.prot, R | W | X);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 1u);
  EXPECT_TRUE(t.at(0x601000).present);
  // The implicit VMA is rwx, so no XD.
  EXPECT_FALSE(t.at(0x601000).entry & pte::kXD);

  // A touch in the next 2 MiB: a second implicit VMA, merged with the first.
  ASSERT_EQ(t.touch(0x9fffff, pf::kU | pf::kI).result, FaultResult::Handled);
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x600000u);
  EXPECT_EQ(vmas.begin()->second.end, 0xa00000u);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 2u);
  // A touch inside it creates nothing.
  ASSERT_EQ(t.touch(0x700123).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 2u);

  // An @mmap over part of it clips it (MAP_FIXED): the page mapped there goes.
  ASSERT_TRUE(t.at(0x700000).present);
  t.os.mmap(0x700000, 0x10000, R, false, false);
  EXPECT_FALSE(t.at(0x700000).present);
  EXPECT_TRUE(t.at(0x601000).present);
  EXPECT_TRUE(t.at(0x9ff000).present);
  ASSERT_EQ(vmas.size(), 3u);
  auto it = vmas.begin();
  EXPECT_EQ(it->second.start, 0x600000u);
  EXPECT_EQ(it->second.end, 0x700000u);
  EXPECT_TRUE(it->second.implicit);
  ++it;
  EXPECT_EQ(it->second.start, 0x700000u);
  EXPECT_EQ(it->second.end, 0x710000u);
  EXPECT_FALSE(it->second.implicit);
  EXPECT_EQ(it->second.prot, R);
  ++it;
  EXPECT_EQ(it->second.start, 0x710000u);
  EXPECT_EQ(it->second.end, 0xa00000u);
  EXPECT_TRUE(it->second.implicit);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, ImplicitVmasStopAtExistingVmas) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  t.os.mmap(0xc00000, 0x10000, R | W, false, false);  // [0xc00000, 0xc10000)
  t.os.mmap(0xdf0000, 0x10000, R | W, false, false);  // [0xdf0000, 0xe00000)
  ASSERT_EQ(t.touch(0xd00000).result, FaultResult::Handled);
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 3u);
  // The gap between the two @mmap VMAs inside 2 MiB-aligned [0xc00000, 0xe00000).
  auto it = vmas.find(0xc10000);
  ASSERT_NE(it, vmas.end());
  EXPECT_EQ(it->second.end, 0xdf0000u);
  EXPECT_TRUE(it->second.implicit);
  // Below: [0xa00000, 0xc00000), up to the @mmap VMA.
  ASSERT_EQ(t.touch(0xbff000).result, FaultResult::Handled);
  it = vmas.find(0xa00000);
  ASSERT_NE(it, vmas.end());
  EXPECT_EQ(it->second.end, 0xc00000u);
  // An anonymous @mmap VMA next to an implicit one stays separate.
  EXPECT_EQ(vmas.size(), 4u);
}

TEST(OsModel, ImplicitVmasOffMeansSegv) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, false));
  t.os.switch_to(1);
  EXPECT_EQ(t.touch(0x601234).result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 0u);
}

TEST(OsModel, ImplicitVmaNeverAboveUserSpace) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  FaultOutcome o = t.touch(1ull << 47, pf::kU);
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 0u);
  // And the last 2 MiB below the top is a normal implicit VMA.
  t.os.switch_to(2);
  ASSERT_EQ(t.touch((1ull << 47) - 8).result, FaultResult::Handled);
  ASSERT_EQ(t.os.process(2)->vmas.size(), 1u);
  EXPECT_EQ(t.os.process(2)->vmas.begin()->second.end, 1ull << 47);
}

// ---------------------------------------------------------------- munmap

TEST(OsModel, MunmapFreesFramesAndEmptyTables) {
  Os t(params());
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.mmap(0x10000000, 64 * k4K, R | W, false, false);
  for (int i : {0, 1, 2, 40}) ASSERT_EQ(t.touch(0x10000000 + i * k4K).result, FaultResult::Handled);
  EXPECT_EQ(t.free_pages(), free0 - 3 - 4);  // PDPT, PD, PT and four pages
  // Unmapping one page frees only it.
  t.os.munmap(0x10001000, k4K);
  EXPECT_EQ(t.free_pages(), free0 - 3 - 3);
  EXPECT_FALSE(t.at(0x10001000).present);
  EXPECT_TRUE(t.at(0x10002000).present);
  EXPECT_EQ(t.os.process(1)->vmas.size(), 2u);  // the hole splits the VMA
  // Unmapping the rest frees the pages and the now empty PT, PD and PDPT.
  t.os.munmap(0x10000000, 64 * k4K);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 1u);
  for (unsigned i = 0; i < 512; ++i) ASSERT_EQ(t.mem.read64(t.root_of(1) + i * 8), 0u);
  EXPECT_EQ(t.check_frames({1}), "");
  // The unmapped range faults as outside every VMA now.
  EXPECT_EQ(t.touch(0x10000000).result, FaultResult::Killed);
}

TEST(OsModel, MunmapKeepsTablesStillInUse) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 1024 * k4K, R | W, false, false);  // two page tables' worth
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10200000).result, FaultResult::Handled);
  const std::uint64_t free1 = t.free_pages();
  t.os.munmap(0x10200000, k4K);
  // Linux 6.1 unmap_region() -> free_pgtables(tlb, mt, vma, prev ? prev->vm_end
  // : FIRST_USER_ADDRESS, next ? next->vm_start : USER_PGTABLES_CEILING) ->
  // free_pte_range only for a PMD whose 2 MiB lies within [floor, ceiling):
  // here floor = 0x10200000 (the end of the VMA below) and ceiling =
  // 0x10201000 (the rest of the split VMA), so the PT of [0x10200000,
  // 0x10400000) stays although it maps nothing now: only the page is freed.
  EXPECT_EQ(t.free_pages(), free1 + 1);
  EXPECT_TRUE(t.at(0x10000000).present);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);  // PML4, PDPT, PD, two PTs
  EXPECT_EQ(t.check_frames({1}), "");
  // Unmapping the rest of that 2 MiB leaves nothing above the floor: the PT
  // goes (floor 0x10200000, ceiling USER_PGTABLES_CEILING).
  t.os.munmap(0x10201000, 511 * k4K);
  EXPECT_EQ(t.free_pages(), free1 + 2);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MunmapShootdownInvlpgUpTo33Pages) {
  // Linux's tlb_single_page_flush_ceiling: up to 33 pages one INVLPG each,
  // more than that a full flush (here a CR3 reload).
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 256 * k4K, R | W, false, false);
  t.mmu.clear();
  t.os.munmap(0x10000000, 33 * k4K);
  ASSERT_EQ(t.mmu.invlpgs.size(), 33u);
  for (unsigned i = 0; i < 33; ++i) EXPECT_EQ(t.mmu.invlpgs[i], 0x10000000 + i * k4K);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  t.mmu.clear();
  t.os.munmap(0x10040000, 34 * k4K);
  EXPECT_TRUE(t.mmu.invlpgs.empty());
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.root_of(1)}));
  // A length that is not a whole number of pages is rounded up: 1 byte = 1 page.
  t.mmu.clear();
  t.os.munmap(0x10080000, 1);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x10080000}));
}

TEST(OsModel, MunmapOfPartOfA2MPageSplitsIt) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x40000000;
  t.os.mmap(base, 4 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(base).result, FaultResult::Handled);
  const PAddr huge = t.at(base).frame;
  ASSERT_EQ(t.at(base).level, 2u);
  const std::uint64_t free1 = t.free_pages();
  t.mmu.clear();

  t.os.munmap(base + 10 * k4K, k4K);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{base + 10 * k4K}));
  // The PTE page deposited with the huge PMD replaces the PDE
  // (pgtable_trans_huge_withdraw: nothing allocated); one data frame goes back.
  EXPECT_EQ(t.free_pages(), free1 + 1);
  EXPECT_EQ(t.os.process(1)->rss_pages, 511u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  EXPECT_TRUE(t.os.buddy().is_free((huge >> 12) + 10));
  for (unsigned i = 0; i < 512; ++i) {
    Lookup l = t.at(base + i * k4K);
    if (i == 10) {
      EXPECT_FALSE(l.present);
      EXPECT_EQ(l.entry, 0u);
      continue;
    }
    ASSERT_TRUE(l.present) << i;
    ASSERT_EQ(l.level, 1u) << i;
    // The same frames as before, now as 4 KiB PTEs with the same rights (no PS:
    // bit 7 of a PTE is PAT).
    ASSERT_EQ(l.frame, huge + i * k4K) << i;
    ASSERT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD) << i;
  }
  EXPECT_EQ(t.check_frames({1}), "");
  // The hole faults as outside every VMA; the rest of the VMA still works.
  ASSERT_EQ(t.os.process(1)->vmas.size(), 2u);
  // Unmapping everything returns every frame, the split ones one by one.
  t.os.munmap(base, 4 * kMiB);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MunmapOfAWhole2MPageFreesTheBlock) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.mmap(0x40000000, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.at(0x40000000).level, 2u);
  t.mmu.clear();
  t.os.munmap(0x40000000, 2 * kMiB);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_TRUE(t.mmu.invlpgs.empty());
  EXPECT_EQ(t.mmu.cr3_writes.size(), 1u);  // 512 pages: a full flush
}

TEST(OsModel, BadRangesAreOsErrors) {
  Os t(params());
  t.os.switch_to(1);
  EXPECT_THROW(t.os.munmap(0x10000001, k4K), OsError);
  EXPECT_THROW(t.os.munmap(0x10000000, 0), OsError);
  EXPECT_THROW(t.os.mmap(0x10000800, k4K, R, false, false), OsError);
  EXPECT_THROW(t.os.mmap((1ull << 47) - k4K, 2 * k4K, R, false, false), OsError);
  EXPECT_THROW(t.os.mprotect(0x10000000, 0, R), OsError);
  EXPECT_NO_THROW(t.os.mmap((1ull << 47) - k4K, k4K, R, false, false));
}

// ---------------------------------------------------------------- mprotect

TEST(OsModel, MprotectReadOnlyClearsRw) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 8 * k4K, R | W, false, false);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  std::vector<PAddr> frames;
  for (int i = 0; i < 8; ++i) frames.push_back(t.at(base + i * k4K).frame);
  t.mmu.clear();
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{base + 2 * k4K, base + 3 * k4K, base + 4 * k4K}));
  for (int i = 0; i < 8; ++i) {
    Lookup l = t.at(base + i * k4K);
    ASSERT_TRUE(l.present);
    EXPECT_EQ(l.frame, frames[static_cast<std::size_t>(i)]);  // same pages, new rights
    const bool ro = i >= 2 && i < 5;
    EXPECT_EQ((l.entry & pte::kRW) != 0, !ro) << i;
    EXPECT_TRUE(l.entry & pte::kXD);
  }
  EXPECT_EQ(t.os.process(1)->vmas.size(), 3u);
  // A write to the read-only part is a protection fault now: SIGSEGV.
  EXPECT_EQ(t.touch(base + 3 * k4K, pf::kP | pf::kW | pf::kU).result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.faults.segv"), 1u);
}

TEST(OsModel, MprotectBackMergesTheVma) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 8 * k4K, R | W, false, false);
  ASSERT_EQ(t.touch(base + 3 * k4K).result, FaultResult::Handled);
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R);
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R | W);
  ASSERT_EQ(t.os.process(1)->vmas.size(), 1u);
  EXPECT_EQ(t.os.process(1)->vmas.begin()->second.end, base + 8 * k4K);
  EXPECT_TRUE(t.at(base + 3 * k4K).entry & pte::kRW);
  // mprotect adding PROT_EXEC drops XD.
  t.os.mprotect(base, 8 * k4K, R | W | X);
  EXPECT_FALSE(t.at(base + 3 * k4K).entry & pte::kXD);
}

TEST(OsModel, MprotectNoneMakesPagesInaccessibleButKeepsThem) {
  // Linux keeps a PROT_NONE page's frame in a not-present PTE (_PAGE_PROTNONE):
  // the hardware must fault on any access, and mprotect back restores it.
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 4 * k4K, R | W, false, false);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  const PAddr frame = t.at(base + k4K).frame;
  const std::uint64_t free1 = t.free_pages();
  t.os.mprotect(base + k4K, k4K, 0);
  EXPECT_FALSE(t.at(base + k4K).present);  // P = 0: every access faults
  EXPECT_TRUE(t.at(base).present);
  EXPECT_EQ(t.free_pages(), free1);
  EXPECT_EQ(t.os.process(1)->rss_pages, 4u);
  EXPECT_EQ(t.check_frames({1}), "");
  t.os.mprotect(base + k4K, k4K, R | W);
  Lookup l = t.at(base + k4K);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.frame, frame);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  // PROT_NONE again, then unmap: the kept frame is freed too.
  t.os.mprotect(base, 4 * k4K, 0);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(t.at(base + i * k4K).present);
  t.os.munmap(base, 4 * k4K);
  EXPECT_EQ(t.free_pages(), free1 + 4 + 3);  // four pages, PT, PD, PDPT
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MprotectNoneOfAProcessThatDiesFreesTheKeptFrames) {
  Os t(params(4, ThpMode::Always));
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 4 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x40200000).result, FaultResult::Handled);
  t.os.mprotect(0x40000000, 2 * kMiB, 0);  // a whole 2 MiB page
  t.os.mprotect(0x40200000, k4K, 0);       // part of the other: split
  EXPECT_FALSE(t.at(0x40000000).present);
  EXPECT_FALSE(t.at(0x40200000).present);
  EXPECT_TRUE(t.at(0x40201000).present);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.touch(0x40000000, pf::kU).result, FaultResult::Killed);
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
}

TEST(OsModel, MprotectPartOfA2MPageSplitsIt) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const VAddr base = 0x40000000;
  t.os.mmap(base, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(base).result, FaultResult::Handled);
  const PAddr huge = t.at(base).frame;
  t.os.mprotect(base + k2M - k4K, k4K, R);
  EXPECT_EQ(t.at(base).level, 1u);
  EXPECT_EQ(t.at(base).frame, huge);
  EXPECT_TRUE(t.at(base).entry & pte::kRW);
  Lookup last = t.at(base + k2M - k4K);
  EXPECT_EQ(last.frame, huge + k2M - k4K);
  EXPECT_FALSE(last.entry & pte::kRW);
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- brk

TEST(OsModel, BrkGrowsAndShrinksTheHeap) {
  Os t(params());
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.brk(0x1000000);  // the first @brk names the initial break: an empty heap
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  EXPECT_TRUE(t.os.process(1)->has_brk);
  EXPECT_EQ(t.os.process(1)->brk_start, 0x1000000u);

  t.os.brk(0x1002345);  // rounded up to a page
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x1000000u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1003000u);
  EXPECT_EQ(vmas.begin()->second.prot, R | W);
  EXPECT_EQ(t.os.process(1)->brk_end, 0x1003000u);
  ASSERT_EQ(t.touch(0x1000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x1002ff8).result, FaultResult::Handled);

  t.os.brk(0x1005000);  // grows: still one VMA
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1005000u);

  t.mmu.clear();
  t.os.brk(0x1001000);  // shrinks: the pages above the new break are unmapped
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1001000u);
  EXPECT_TRUE(t.at(0x1000000).present);
  EXPECT_FALSE(t.at(0x1002000).present);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x1001000, 0x1002000, 0x1003000, 0x1004000}));
  EXPECT_EQ(t.check_frames({1}), "");

  EXPECT_THROW(t.os.brk(0xfff000), OsError);  // below the start of the heap
  t.os.brk(0x1000000);                        // back to empty
  EXPECT_TRUE(vmas.empty());
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_EQ(t.touch(0x1000000).result, FaultResult::Killed);  // no heap there any more
}

// ---------------------------------------------------------------- AddressSpace

// VMAs are half-open [vm_start, vm_end) (mm/mmap.c find_vma: the first VMA
// with vm_end > addr).
TEST(AddressSpace, VmaOverlapsIsHalfOpen) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr a = 0x10000000;
  t.os.mmap(a, 2 * k4K, R | W, false, false);
  const AddressSpace& as = t.os.address_space();
  const Process& p = *t.os.process(1);
  EXPECT_TRUE(as.vma_overlaps(p, a + k4K, a + 3 * k4K));
  EXPECT_FALSE(as.vma_overlaps(p, a + 2 * k4K, a + 3 * k4K));
  EXPECT_FALSE(as.vma_overlaps(p, a - k4K, a));
  EXPECT_TRUE(as.vma_overlaps(p, a - k4K, a + 1));
  EXPECT_EQ(find_vma(p, a + 2 * k4K - 1)->start, a);
  EXPECT_EQ(find_vma(p, a + 2 * k4K), nullptr);
}

}  // namespace
}  // namespace mmusim
