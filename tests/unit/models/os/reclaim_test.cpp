// Unit tests of reclaim and compaction (models/os/mm/vmscan.h,
// mm/vmscan.c, mm/compaction.c): second-chance aging, swap-out and swap-in,
// and direct compaction for a madvised 2 MiB fault.
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
using Os = MachineOs;

// ---------------------------------------------------------------- reclaim and swap

// Three pages faulted in order p1, p2, p3 sit on the inactive anon list,
// newest first (head p3 p2 p1 tail), each PTE young from its fault, none
// PG_referenced. Linux 6.1 folio_check_references(): a young page that is not
// yet PG_referenced is marked and kept ("All mapped folios start out with
// page table references from the instantiating fault, so we need to look
// twice"), back to the head of the inactive list; only a second reference
// activates it. reclaim(1) scans the tail: p1 kept [p1 p3 p2], p2 kept
// [p2 p1 p3], p3 kept [p3 p2 p1]; then p1 again: not young since, but
// PG_referenced (cleared by the test) - FOLIOREF_RECLAIM for an anonymous
// page: written to swap. So: p1 is the victim after 4 scans, no activation,
// no deactivation, 1 swap-out into slot 1. (Three activations would need
// each page referenced twice.)
TEST(Reclaim, SecondChanceAgingPicksTheOldestUnreferencedPage) {
  Os t(64 * kMiB, ThpMode::Never, 16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 3u);
  EXPECT_EQ(t.os.reclaim(1, false), 1u);
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 0.0);
  EXPECT_EQ(t.stat("os.vmstat.pgdeactivate"), 0.0);
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 4.0);
  EXPECT_EQ(t.stat("os.swap.out"), 1.0);
  const std::uint64_t e = t.pte(1, kHeap);
  EXPECT_FALSE(e & pte::kP);
  EXPECT_TRUE(e & OsModel::kSwapEntry);
  EXPECT_EQ((e & kAddrBits) >> 12, 1u);  // slot 1: slot 0 is the swap header
  EXPECT_TRUE(t.pte(1, kHeap + 4096) & pte::kP);
  EXPECT_EQ(t.os.process(1)->swap_pages, 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 2u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// A page referenced again after the mark is activated: after the reclaim
// above, p2 and p3 are PG_referenced; touching p2 again (A set by the
// hardware: here by hand) and reclaiming one more page scans p2 first
// (the tail: [p3 p2]) - young and marked: FOLIOREF_ACTIVATE - then p3, not
// young since but marked: reclaimed.
TEST(Reclaim, ASecondReferenceActivates) {
  Os t(64 * kMiB, ThpMode::Never, 16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  ASSERT_EQ(t.os.reclaim(1, false), 1u);
  PAddr where = 0;
  const std::uint64_t e2 = t.pte(1, kHeap + 4096, &where);
  t.mem.write64(where, e2 | pte::kA);
  EXPECT_EQ(t.os.reclaim(1, false), 1u);
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 1.0);
  EXPECT_EQ(t.os.lru_size(OsModel::kActiveAnon), 1u);
  EXPECT_TRUE(t.pte(1, kHeap + 4096) & pte::kP);       // p2 activated
  EXPECT_FALSE(t.pte(1, kHeap + 2 * 4096) & pte::kP);  // p3 swapped
  EXPECT_EQ(t.stat("os.swap.out"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Reclaim, NoSwapMeansAnonPagesStay) {
  Os t(64 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  EXPECT_EQ(t.os.reclaim(3, true), 0u);
  EXPECT_EQ(t.stat("os.swap.out"), 0.0);
}

// 16 MiB of memory (4096 frames, 256 reserved), 32 MiB of swap, and a
// process writing 6000 pages, each tagged with its own address: memory runs
// out, reclaim swaps pages out, and reading everything back swaps them in
// with their content intact.
TEST(Reclaim, SwapRoundTripPreservesContent) {
  Os t(16 * kMiB, ThpMode::Never, 32 * kMiB);
  t.os.switch_to(1);
  const std::uint64_t pages = 6000;
  t.os.mmap(kHeap, pages * 4096, R | W, false, false);
  for (std::uint64_t i = 0; i < pages; ++i) {
    const VAddr va = kHeap + i * 4096;
    ASSERT_EQ(t.os.handle_fault(va, kWriteFault).result, FaultResult::Handled) << i;
    t.mem.write64((t.frame(1, va) << 12) + 8 * (i % 512), va ^ 0x5a5a5a5a);
  }
  EXPECT_EQ(t.os.check_invariants(), "");
  EXPECT_GT(t.stat("os.swap.out"), 0.0);
  EXPECT_EQ(t.os.process(1)->rss_pages + t.os.process(1)->swap_pages, pages);
  std::uint64_t swapped_in = 0;
  for (std::uint64_t i = 0; i < pages; ++i) {
    const VAddr va = kHeap + i * 4096;
    if (!(t.pte(1, va) & pte::kP)) {
      FaultOutcome o = t.os.handle_fault(va, kReadFault);
      ASSERT_EQ(o.result, FaultResult::Handled) << i;
      EXPECT_GE(o.cost_cycles, 40000u + 40000u);  // major + swap latency
      ++swapped_in;
    }
    ASSERT_EQ(t.mem.read64((t.frame(1, va) << 12) + 8 * (i % 512)), va ^ 0x5a5a5a5a) << "page " << i;
    if (i % 1000 == 0) {
      ASSERT_EQ(t.os.check_invariants(), "") << i;
    }
  }
  EXPECT_GT(swapped_in, 0u);
  EXPECT_EQ(t.stat("os.swap.in"), static_cast<double>(swapped_in));
  EXPECT_EQ(t.stat("os.faults.major"), static_cast<double>(swapped_in));
  EXPECT_EQ(t.stat("os.oom_kills"), 0.0);
  EXPECT_EQ(t.os.check_invariants(), "");
  // Exit returns every frame and every swap slot.
  t.os.exit_current();
  EXPECT_EQ(t.os.swap()->used(), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Reclaim, ForkSharesSwapSlots) {
  Os t(64 * kMiB, ThpMode::Never, 16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  t.mem.write64(t.frame(1, kHeap) << 12, 77);
  ASSERT_EQ(t.os.reclaim(1, false), 1u);  // kHeap goes to slot 1 (see above)
  t.os.fork(2);
  EXPECT_EQ(t.os.swap()->count(1), 2u);
  EXPECT_EQ(t.os.process(2)->swap_pages, 1u);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.switch_to(2);
  t.os.handle_fault(kHeap, kReadFault);
  EXPECT_EQ(t.mem.read64(t.frame(2, kHeap) << 12), 77u);
  EXPECT_EQ(t.os.swap()->count(1), 1u);
  t.os.exit_current();
  t.os.switch_to(1);
  t.os.exit_current();
  EXPECT_EQ(t.os.swap()->used(), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- compaction

// 16 MiB (all ZONE_DMA). Two processes fill memory with 4 KiB pages in
// turns, process 1's tagged; process 2 exits: half the memory is free but no
// 2 MiB range is. A fault in a madvised VMA of process 1 finds no order-9
// block, compacts one range (moving process 1's pages out of it, content
// intact) and gets its 2 MiB page.
TEST(Compaction, MakesA2MBlockForAMadvisedFault) {
  PhysicalMemory mem(16 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsModel os(machine_params(16 * kMiB, ThpMode::Madvise, 0), mem, mmu, root.group("os"));
  // Pages per process: of 3840 managed frames about 200 stay free, fewer than
  // a 2 MiB block and above the zone's min watermark (123: min_free_kbytes
  // = int_sqrt(3840 * 64) = 495), where user pages stop.
  const std::uint64_t n = 1800;
  for (std::uint32_t pid : {1u, 2u}) {
    os.switch_to(pid);
    os.mmap(kHeap, n * 4096, R | W, false, false);
    // Page tables are unmovable (no migrate types keep them apart): fault
    // one page per 2 MiB first so that they all land early, together.
    for (std::uint64_t i = 0; i < n; i += 512) os.handle_fault(kHeap + i * 4096, kWriteFault);
  }
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint32_t pid : {1u, 2u}) {
      os.switch_to(pid);
      if (i % 512) {
        ASSERT_EQ(os.handle_fault(kHeap + i * 4096, kWriteFault).result, FaultResult::Handled);
      }
    }
  for (std::uint64_t i = 0; i < n; ++i)
    mem.write64((pte_of(mem, os.process(1)->root, kHeap + i * 4096) & kAddrBits) + 16, i + 1);
  os.switch_to(2);
  os.exit_current();
  os.switch_to(1);
  ASSERT_EQ(os.buddy().free_blocks(9) + os.buddy().free_blocks(10), 0u);
  ASSERT_GE(os.buddy().free_pages(), 1024u);
  os.mmap(0x40000000, 2 * kMiB, R | W, false, true);
  ASSERT_EQ(os.handle_fault(0x40000000, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(root.find("os.thp.alloc")->counter->value(), 1u);
  EXPECT_EQ(root.find("os.vmstat.compact_stall")->formula(), 1.0);
  EXPECT_EQ(root.find("os.vmstat.compact_success")->formula(), 1.0);
  EXPECT_GT(root.find("os.vmstat.pgmigrate_success")->formula(), 0.0);
  EXPECT_LT(root.find("os.vmstat.pgmigrate_success")->formula(), 512.0);
  for (std::uint64_t i = 0; i < n; ++i)
    ASSERT_EQ(mem.read64((pte_of(mem, os.process(1)->root, kHeap + i * 4096) & kAddrBits) + 16), i + 1) << i;
  EXPECT_EQ(os.check_invariants(), "");
}

// ---------------------------------------------------------------- the LRU lists

// folio_add_lru() -> lru_add_fn(): a new page goes to the head of the
// inactive list of its type (anon since Linux 5.9 too). Anon here: pages of
// anonymous VMAs and of writable (private, maybe dirty) file VMAs; file:
// pages of read-only file VMAs.
TEST(Reclaim, NewPagesGoToTheInactiveListOfTheirType) {
  Os t;
  t.os.switch_to(1);
  Reclaim& r = t.os.reclaimer();
  const Process& p = *t.os.process(1);
  Vma anon;
  anon.prot = R | W;
  Vma file_ro;
  file_ro.prot = R;
  file_ro.file = true;
  Vma file_rw = file_ro;
  file_rw.prot = R | W;
  r.lru_add(6000, p, 0x10000000, anon);
  r.lru_add(6001, p, 0x10001000, file_ro);
  r.lru_add(6002, p, 0x10002000, file_rw);
  EXPECT_EQ(r.lru_size(Reclaim::kInactiveAnon), 2u);
  EXPECT_EQ(r.lru_size(Reclaim::kInactiveFile), 1u);
  EXPECT_EQ(r.lru_size(Reclaim::kActiveAnon) + r.lru_size(Reclaim::kActiveFile), 0u);
  EXPECT_TRUE(r.on_lru(6001));
  for (std::uint64_t pfn : {6000, 6001, 6002}) r.lru_del(pfn);
  EXPECT_FALSE(r.on_lru(6001));
  EXPECT_EQ(r.lru_size(Reclaim::kInactiveAnon) + r.lru_size(Reclaim::kInactiveFile), 0u);
}

}  // namespace
}  // namespace mmusim
