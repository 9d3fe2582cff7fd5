// Unit tests of the reserved 1 GiB hugetlb pool (os.hugetlb_1g,
// models/os/mm/hugetlb.h).
//
// Page tables are read back with a reader written here from Intel SDM Vol.
// 3A 4.5 (table 4-16: a PDPTE with PS = 1 maps a 1-GByte page, its address in
// bits 51:30), and translated by the real Walker. Every expected number is
// derived by hand in the comments from the documented boot layout
// (zone.h, buddy_allocator.h): with 64-bit paging and one node, ZONE_DMA is
// frames [0, 4096) and ZONE_DMA32 [4096, min(memory, 4 GiB)); the low 1 MiB
// (frames 0..255) is reserved, so the 1 GiB range [0, 1 GiB) is never free.
// A 1 GiB page is 2^18 = 262144 frames = 256 blocks of order 10.
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
#include "tests/support/pt_builder.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = HugetlbOs;

constexpr std::uint64_t kFramesPer1G = 262144;  // 1 GiB / 4 KiB
// OsParams defaults: fault_cost.minor 700, zero_page_per_4k 300, cow_copy_per_4k 300.
constexpr Cycles kHugeFaultCost = 700 + kFramesPer1G * 300;  // 78,643,900
constexpr VAddr kVa = 1ull << 30;                            // 1 GiB: PML4 index 0, PDPT index 1

// ---------------------------------------------------------------- boot reservation

TEST(HugetlbBoot, ReservesTopDownAlignedRangesAndTheBuddyDropsByExactlyNTimes262144) {
  // 4 GiB: frames [0, 1048576). Top-down the candidates are [3G, 4G) (head
  // 786432) and [2G, 3G) (head 524288); both are free at boot.
  Os none(4 * kGiB, 0);
  Os two(4 * kGiB, 2);
  EXPECT_EQ(two.os.hugetlb_total(), 2u);
  EXPECT_EQ(two.os.hugetlb_free(), 2u);
  EXPECT_EQ(two.os.hugetlb_pool(), (std::set<std::uint64_t>{524288, 786432}));
  for (std::uint64_t head : two.os.hugetlb_pool()) EXPECT_EQ(head % kFramesPer1G, 0u);
  // The rest of the boot (idle root, slab pages) is the same in both.
  EXPECT_EQ(none.os.buddy().free_pages() - two.os.buddy().free_pages(), 2 * kFramesPer1G);
  EXPECT_EQ(none.os.buddy().free_blocks(10) - two.os.buddy().free_blocks(10), 2u * 256);
  EXPECT_FALSE(two.os.buddy().is_free(524288));
  EXPECT_FALSE(two.os.buddy().is_free(1048575));
  EXPECT_TRUE(two.os.buddy().is_free(524287));
  EXPECT_EQ(two.stat("os.hugetlb.total"), 2.0);
  EXPECT_EQ(two.stat("os.hugetlb.free"), 2.0);
  EXPECT_EQ(two.stat("os.hugetlb.alloc"), 0.0);
  EXPECT_EQ(two.stat("os.hugetlb.sigbus"), 0.0);
  // The free pool pages are not "used"; both models use the same frames.
  EXPECT_EQ(two.os.used_pages(), none.os.used_pages());
  EXPECT_EQ(two.os.check_invariants(), "");
}

TEST(HugetlbBoot, ReservesWhatFitsAndWarnsOnce) {
  // 3 GiB: frames [0, 786432). Candidates top-down: [2G, 3G) and [1G, 2G)
  // fit; [0, 1G) holds the reserved low 1 MiB. 2 of 4.
  testing::internal::CaptureStderr();
  Os t(3 * kGiB, 4);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(t.os.hugetlb_total(), 2u);
  EXPECT_EQ(t.os.hugetlb_pool(), (std::set<std::uint64_t>{262144, 524288}));
  EXPECT_EQ(err, "HugeTLB: allocating 4 of page size 1.00 GiB failed.  Only allocated 2 hugepages.\n");
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(HugetlbBoot, APartialGigabyteAtTheTopIsNotUsed) {
  // 2.5 GiB: frames [0, 655360); the highest whole aligned range is [1G, 2G)
  // (head 262144); [2G, 2.5G) is only half a page.
  testing::internal::CaptureStderr();
  Os t(2 * kGiB + 512 * kMiB, 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(t.os.hugetlb_pool(), (std::set<std::uint64_t>{262144}));
}

TEST(HugetlbBoot, RejectedWithoutOneGigabytePagesOrWithAMaxOrderAbove18) {
  PhysicalMemory mem(64 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p;
  p.memory_bytes = 64 * kMiB;
  p.mode = PagingMode::Pae;
  p.hugetlb_1g_pages = 1;
  EXPECT_THROW(OsModel(p, mem, mmu, root.group("a")), std::invalid_argument);
  p.mode = PagingMode::X86_64;
  p.max_order = 19;
  EXPECT_THROW(OsModel(p, mem, mmu, root.group("b")), std::invalid_argument);
}

// ---------------------------------------------------------------- faults

TEST(HugetlbFault, MapsAZeroedPoolPageWithAPdptePsThatTheWalkerTranslatesAs1G) {
  Os t(4 * kGiB, 2);
  t.os.switch_to(1);
  // 0x1000 bytes: rounded up to 1 GiB.
  t.os.mmap(kVa, 0x1000, R | W, false, false, true);
  const Process* p = t.os.process(1);
  ASSERT_EQ(p->vmas.size(), 1u);
  EXPECT_EQ(p->vmas.begin()->second.end, kVa + kGiB);
  EXPECT_TRUE(p->vmas.begin()->second.hugetlb);
  // Stale content in the pool page that the fault must clear.
  t.mem.write64(2 * kGiB + 0x123458, 0xdead);
  FaultOutcome o = t.os.handle_fault(kVa + 0x123456, kWriteFault);
  ASSERT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kHugeFaultCost);
  // The free list's back is the lowest page reserved: [2G, 3G).
  const std::uint64_t e = t.pdpte(1, kVa);
  EXPECT_TRUE(e & pte::kPS);
  EXPECT_EQ(e & kAddrBits, 2 * kGiB);
  EXPECT_EQ(e & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD),
            pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_EQ(t.mem.read64(2 * kGiB + 0x123458), 0u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);  // hugetlb pages are not in rss
  EXPECT_EQ(t.os.lru_size(OsModel::kActiveAnon) + t.os.lru_size(OsModel::kInactiveAnon), 0u);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_EQ(t.stat("os.hugetlb.alloc"), 1.0);
  EXPECT_EQ(t.stat("os.faults.minor"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");

  // The walker reads the tables the OS built: a 1 GiB page at 2 GiB.
  testing_pt::RecordingMemory ptm(t.mem, 1);
  StatGroup ws("walker"), ps("pwc");
  Walker w(WalkerParams{}, ptm, ws, ps);
  const VAddr va = kVa + 0x3456789;
  WalkResult r = w.walk(t.os.process(1)->root, va, AccessKind::Store, true, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k1G);
  EXPECT_EQ(r.frame, 2 * kGiB);
  EXPECT_EQ(r.frame + (va & (kGiB - 1)), 2 * kGiB + 0x3456789);
  EXPECT_TRUE(r.writable);
  EXPECT_EQ(r.mem_reads, 2u);  // PML4E, PDPTE

  // A second touch in the same 1 GiB does not fault again: a read of the
  // other end translates through the same entry.
  r = w.walk(t.os.process(1)->root, kVa + kGiB - 8, AccessKind::Load, true, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 2 * kGiB);
}

TEST(HugetlbFault, AnEmptyPoolKillsWithSigbusAndTheKillReturnsThePages) {
  Os t(4 * kGiB, 1);
  t.os.switch_to(1);
  t.os.mmap(kVa, 2 * kGiB, R | W, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kReadFault).result, FaultResult::Handled);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 0.0);
  FaultOutcome o = t.os.handle_fault(kVa + kGiB + 64, kWriteFault);
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(o.cost_cycles, 700u);
  EXPECT_NE(o.reason.find("SIGBUS"), std::string::npos) << o.reason;
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_EQ(t.stat("os.hugetlb.sigbus"), 1.0);
  EXPECT_EQ(t.stat("os.faults.segv"), 0.0);
  EXPECT_EQ(t.stat("os.hugetlb.alloc"), 1.0);
  // The killed process's page went back to the pool, not to the buddy.
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_FALSE(t.os.buddy().is_free(786432));
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(HugetlbFault, AReadOnlyMappingMapsReadOnlyAndAWriteIsSigsegv) {
  Os t(4 * kGiB, 1);
  t.os.switch_to(1);
  t.os.mmap(kVa, kGiB, R, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kReadFault).result, FaultResult::Handled);
  EXPECT_FALSE(t.pdpte(1, kVa) & pte::kRW);
  EXPECT_EQ(t.os.handle_fault(kVa, kWriteProtFault).result, FaultResult::Killed);
  EXPECT_EQ(t.stat("os.faults.segv"), 1.0);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(HugetlbInvariants, TheCheckerCountsPoolFrames) {
  // Pool pages at frames 524288 (handed out first) and 786432.
  Os t(4 * kGiB, 2);
  t.os.switch_to(1);
  t.os.mmap(kVa, 2 * kGiB, R | W, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kWriteFault).result, FaultResult::Handled);
  ASSERT_EQ(t.os.check_invariants(), "");
  // The PDPT the PML4E[0] points to; PDPTE 1 maps kVa, PDPTE 2 the next 1 GiB.
  const PAddr pdpt = entry(t.mem, t.os.process(1)->root, 0, 4) & kAddrBits;
  const std::uint64_t mapped = t.mem.read64(pdpt + 8);
  ASSERT_EQ(mapped & kAddrBits, 524288ull << 12);
  // Forged: a second mapping of the free pool page 786432.
  t.mem.write64(pdpt + 16, (786432ull << 12) | (mapped & ~kAddrBits));
  EXPECT_NE(t.os.check_invariants().find("kernel page"), std::string::npos) << t.os.check_invariants();
  t.mem.write64(pdpt + 16, 0);
  // Forged: the mapped page's entry cleared: its first frame, 524288 =
  // 0x80000, is owned by nobody.
  t.mem.write64(pdpt + 8, 0);
  EXPECT_EQ(t.os.check_invariants(), "frame 0x80000 is allocated but owned by nobody (leak)");
  t.mem.write64(pdpt + 8, mapped);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- munmap, mprotect, mmap errors

TEST(HugetlbVma, MunmapReturnsPagesToThePoolAndSplittingIsAnOsError) {
  Os t(4 * kGiB, 2);
  t.os.switch_to(1);
  t.os.mmap(kVa, 2 * kGiB, R | W, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kWriteFault).result, FaultResult::Handled);
  ASSERT_EQ(t.os.handle_fault(kVa + kGiB, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 0.0);
  const std::uint64_t used = t.os.used_pages();
  // Splits inside a 1 GiB page are EINVAL: nothing changes.
  EXPECT_THROW(t.os.munmap(kVa + 0x1000, kGiB), OsError);
  EXPECT_THROW(t.os.munmap(kVa, 0x1000), OsError);
  EXPECT_THROW(t.os.mprotect(kVa, 0x200000, R), OsError);
  EXPECT_THROW(t.os.mmap(kVa + kGiB + 0x200000, 0x1000, R, false, false), OsError);  // MAP_FIXED over part
  EXPECT_EQ(t.os.process(1)->vmas.size(), 1u);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 0.0);
  EXPECT_EQ(t.os.check_invariants(), "");
  // An aligned mprotect splits the VMA and keeps both pages.
  t.os.mprotect(kVa + kGiB, kGiB, R);
  EXPECT_FALSE(t.pdpte(1, kVa + kGiB) & pte::kRW);
  EXPECT_TRUE(t.pdpte(1, kVa) & pte::kRW);
  EXPECT_EQ(t.os.process(1)->vmas.size(), 2u);
  EXPECT_EQ(t.os.check_invariants(), "");
  // Unmapping one whole page returns it: free count back up by one.
  t.os.munmap(kVa, kGiB);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_EQ(t.pdpte(1, kVa), 0u);
  EXPECT_EQ(t.os.used_pages(), used - kFramesPer1G);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.exit_current();
  EXPECT_EQ(t.stat("os.hugetlb.free"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(HugetlbVma, UnalignedStartOrFileIsAnOsError) {
  Os t(4 * kGiB, 1);
  t.os.switch_to(1);
  EXPECT_THROW(t.os.mmap(kVa + 0x200000, kGiB, R | W, false, false, true), OsError);
  EXPECT_THROW(t.os.mmap(kVa, kGiB, R | W, true, false, true), OsError);
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
}

TEST(HugetlbVma, HugetlbVmasDoNotMergeWithNeighbours) {
  Os t(4 * kGiB, 0);
  t.os.switch_to(1);
  t.os.mmap(kVa, kGiB, R | W, false, false, true);
  t.os.mmap(kVa + kGiB, 0x1000, R | W, false, false);
  t.os.mmap(kVa + 2 * kGiB, kGiB, R | W, false, false, true);
  EXPECT_EQ(t.os.process(1)->vmas.size(), 3u);
  // No pool at all: the first fault gets SIGBUS.
  EXPECT_EQ(t.os.handle_fault(kVa, kWriteFault).result, FaultResult::Killed);
  EXPECT_EQ(t.stat("os.hugetlb.sigbus"), 1.0);
}

// ---------------------------------------------------------------- fork

TEST(HugetlbFork, WriteAfterForkCopiesFromThePoolAndTheLastSharerReuses) {
  // Pool heads (frames) 786432, 524288, 262144; the free list hands out
  // 262144 ([1G, 2G)) first, then 524288.
  Os t(4 * kGiB, 3);
  t.os.switch_to(1);
  t.os.mmap(kVa, kGiB, R | W, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(t.frame_1g(1, kVa), 262144u);
  t.mem.write64(kGiB + 8, 0x1111);
  t.os.fork(2);
  EXPECT_EQ(t.frame_1g(2, kVa), 262144u);
  EXPECT_FALSE(t.pdpte(1, kVa) & pte::kRW);
  EXPECT_FALSE(t.pdpte(2, kVa) & pte::kRW);
  EXPECT_TRUE(t.pdpte(2, kVa) & pte::kPS);
  // copy_hugetlb_page_range() (Linux 6.1): huge_ptep_set_wrprotect() in the
  // parent, "entry = huge_pte_wrprotect(entry)" for the child, nothing else:
  // A and D of the written page stay set in both (no mkold, no mkclean).
  EXPECT_EQ(t.pdpte(1, kVa) & (pte::kA | pte::kD), pte::kA | pte::kD);
  EXPECT_EQ(t.pdpte(2, kVa) & (pte::kA | pte::kD), pte::kA | pte::kD);
  EXPECT_EQ(t.os.mapcount(262144), 2u);
  EXPECT_EQ(t.os.process(2)->rss_pages, 0u);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");

  // The child writes: a new pool page (524288), the content copied.
  t.os.switch_to(2);
  FaultOutcome o = t.os.handle_fault(kVa + 8, kWriteProtFault);
  ASSERT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, 700u + kFramesPer1G * 300);
  EXPECT_EQ(t.frame_1g(2, kVa), 524288u);
  EXPECT_TRUE(t.pdpte(2, kVa) & pte::kRW);
  EXPECT_EQ(t.mem.read64(2 * kGiB + 8), 0x1111u);
  EXPECT_EQ(t.os.mapcount(262144), 1u);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_EQ(t.stat("os.hugetlb.alloc"), 2.0);
  EXPECT_EQ(t.stat("os.faults.cow"), 1.0);
  EXPECT_EQ(t.stat("os.faults.cow_copy"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");

  // The parent, now the last sharer, reuses its page.
  t.os.switch_to(1);
  o = t.os.handle_fault(kVa, kWriteProtFault);
  EXPECT_EQ(o.cost_cycles, 700u);
  EXPECT_EQ(t.frame_1g(1, kVa), 262144u);
  EXPECT_TRUE(t.pdpte(1, kVa) & pte::kRW);
  EXPECT_EQ(t.stat("os.faults.cow_reuse"), 1.0);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");

  t.os.switch_to(2);
  t.os.exit_current();
  EXPECT_EQ(t.stat("os.hugetlb.free"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(HugetlbFork, CopyOnWriteWithAnEmptyPoolIsSigbusForTheWriter) {
  Os t(4 * kGiB, 1);
  t.os.switch_to(1);
  t.os.mmap(kVa, kGiB, R | W, false, false, true);
  ASSERT_EQ(t.os.handle_fault(kVa, kWriteFault).result, FaultResult::Handled);
  t.os.fork(2);
  t.os.switch_to(2);
  FaultOutcome o = t.os.handle_fault(kVa, kWriteProtFault);
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_NE(o.reason.find("SIGBUS"), std::string::npos) << o.reason;
  EXPECT_FALSE(t.os.alive(2));
  EXPECT_TRUE(t.os.alive(1));
  EXPECT_EQ(t.os.mapcount(786432), 1u);
  EXPECT_EQ(t.stat("os.hugetlb.sigbus"), 1.0);
  EXPECT_EQ(t.stat("os.hugetlb.free"), 0.0);
  EXPECT_EQ(t.os.check_invariants(), "");
  // The parent still has it: a write reuses it.
  t.os.switch_to(1);
  EXPECT_EQ(t.os.handle_fault(kVa, kWriteProtFault).result, FaultResult::Handled);
  EXPECT_TRUE(t.pdpte(1, kVa) & pte::kRW);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- Hugetlb, through its interface

// A pool page is named by its first frame; any frame of it maps to that
// head. hugetlb_get_unmapped_area / hugetlbfs: a MAP_HUGETLB length is
// rounded up to the huge page size (ALIGN(len, huge_page_size(h))), and the
// address must be aligned to it.
TEST(HugetlbPool, HeadsAndMmapLengths) {
  Os t(2 * kGiB, 1);
  Hugetlb& h = t.os.hugetlb();
  ASSERT_EQ(h.total(), 1u);
  const std::uint64_t head = *h.pool().begin();
  EXPECT_EQ(head % Hugetlb::kPages, 0u);
  EXPECT_EQ(h.head(head), head);
  EXPECT_EQ(h.head(head + Hugetlb::kPages - 1), head);
  EXPECT_EQ(h.head(head - 1), UINT64_MAX);
  EXPECT_EQ(h.mmap_len(kGiB, 1, false), kGiB);
  EXPECT_EQ(h.mmap_len(kGiB, kGiB + 1, false), 2 * kGiB);
  EXPECT_THROW(h.mmap_len(kGiB + k2M, kGiB, false), OsError);
  EXPECT_THROW(h.mmap_len(kGiB, kGiB, true), OsError);
}

}  // namespace
}  // namespace mmusim
