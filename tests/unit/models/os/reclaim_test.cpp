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
// PG_referenced; 16 MiB of swap. reclaim(1) is do_try_to_free_pages() with
// nr_to_reclaim 1: "do { ... shrink_zones(zonelist, sc); if
// (sc->nr_reclaimed >= sc->nr_to_reclaim) break; ... } while
// (--sc->priority >= 0)". get_scan_count(), SCAN_FRACT (swap space, no
// cost: ap = 60, fp = 140): inactive anon (3 >> priority) * 60 / 200 = 0
// at every priority from 12 to 1 (3 >> 1 = 1, 60 / 200 = 0); at priority
// 0, "if (!sc->priority && swappiness) scan_balance = SCAN_EQUAL": all 3.
// (The active list stays empty: inactive_is_low(3, 0) is false.)
// shrink_inactive_list() isolates p1, p2, p3 from the tail and
// folio_check_references() keeps each: young, not yet PG_referenced, so
// marked and kept ("All mapped folios start out with page table
// references from the instantiating fault, so we need to look twice"),
// back to the head: [p3 p2 p1] again. The pass frees nothing: 0 returned,
// 3 pages scanned. A second reclaim(1) reaches priority 0 the same way and
// isolates the three again: none young since, each PG_referenced -
// FOLIOREF_RECLAIM for an anonymous page: all three written to swap, p1
// first into slot 1 (slot 0 is the swap header): the batch is finished
// even though one page was asked for. No activation, no deactivation.
// (Three activations would need each page referenced twice.)
TEST(Reclaim, PagesTouchedOnceAreMarkedThenReclaimedWithoutActivation) {
  Os t(64 * kMiB, ThpMode::Never, 16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 3u);
  EXPECT_EQ(t.os.reclaim(1, false), 0u);
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 3.0);
  EXPECT_EQ(t.stat("os.swap.out"), 0.0);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 3u);
  EXPECT_FALSE(t.pte(1, kHeap) & pte::kA);
  EXPECT_EQ(t.os.reclaim(1, false), 3u);
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 0.0);
  EXPECT_EQ(t.stat("os.vmstat.pgdeactivate"), 0.0);
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 6.0);
  EXPECT_EQ(t.stat("os.vmstat.pgsteal_kswapd"), 3.0);
  EXPECT_EQ(t.stat("os.swap.out"), 3.0);
  const std::uint64_t e = t.pte(1, kHeap);
  EXPECT_FALSE(e & pte::kP);
  EXPECT_TRUE(e & OsModel::kSwapEntry);
  EXPECT_EQ((e & kAddrBits) >> 12, 1u);  // slot 1: slot 0 is the swap header
  EXPECT_EQ(t.os.process(1)->swap_pages, 3u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// A page referenced again after the mark is activated: after the first
// reclaim above all three are PG_referenced and old; p2 is touched again
// (A set by the hardware: here by hand). The next reclaim(1) isolates p1,
// p2, p3 at priority 0: p1 not young but marked - reclaimed (slot 1); p2
// young and marked - "if (referenced_folio || referenced_ptes > 1) return
// FOLIOREF_ACTIVATE": to the active list (pgactivate 1); p3 reclaimed (slot
// 2). Two pages freed. shrink_lruvec() then ends with "if
// (can_age_anon_pages(...) && inactive_is_low(lruvec, LRU_INACTIVE_ANON))
// shrink_active_list(SWAP_CLUSTER_MAX, ...)": 0 inactive * 1 < 1 active,
// so p2 goes back to the inactive list (pgdeactivate 1; its young bit was
// already taken by folio_check_references).
TEST(Reclaim, ASecondReferenceActivates) {
  Os t(64 * kMiB, ThpMode::Never, 16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 3 * 4096, R | W, false, false);
  for (int i = 0; i < 3; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  ASSERT_EQ(t.os.reclaim(1, false), 0u);
  PAddr where = 0;
  const std::uint64_t e2 = t.pte(1, kHeap + 4096, &where);
  t.mem.write64(where, e2 | pte::kA);
  EXPECT_EQ(t.os.reclaim(1, false), 2u);
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 1.0);
  EXPECT_EQ(t.stat("os.vmstat.pgdeactivate"), 1.0);
  EXPECT_EQ(t.os.lru_size(OsModel::kActiveAnon), 0u);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 1u);
  EXPECT_FALSE(t.pte(1, kHeap) & pte::kP);             // p1 swapped
  EXPECT_TRUE(t.pte(1, kHeap + 4096) & pte::kP);       // p2 activated
  EXPECT_FALSE(t.pte(1, kHeap + 2 * 4096) & pte::kP);  // p3 swapped
  EXPECT_EQ((t.pte(1, kHeap + 2 * 4096) & kAddrBits) >> 12, 2u);
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
  ASSERT_EQ(t.os.reclaim(1, false), 0u);  // marked (see above)
  ASSERT_EQ(t.os.reclaim(1, false), 3u);  // kHeap goes to slot 1 (see above)
  t.os.fork(2);
  EXPECT_EQ(t.os.swap()->count(1), 2u);
  EXPECT_EQ(t.os.process(2)->swap_pages, 3u);
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

// Process 1 of a 16 MiB x86_64 machine (one zone, DMA) with 64 MiB of swap
// writes pages at kHeap until the zone is below its high watermark (not yet
// at low, so no allocation has woken kswapd); then every PTE is made old by
// hand, so that no page is young or PG_referenced.
struct KswapdMachine {
  Os t{16 * kMiB, ThpMode::Never, 64 * kMiB};
  std::uint64_t pages = 0;
  explicit KswapdMachine(std::uint64_t free_target) {
    t.os.switch_to(1);
    t.os.mmap(kHeap, 16 * kMiB, R | W, false, false);
    const Zone& z = t.os.buddy().zones().at(0);
    while (z.free_pages() > free_target) t.os.handle_fault(kHeap + pages++ * 4096, kWriteFault);
    for (std::uint64_t i = 0; i < pages; ++i) {
      PAddr where = 0;
      const std::uint64_t e = t.pte(1, kHeap + i * 4096, &where);
      t.mem.write64(where, e & ~pte::kA);
    }
  }
};

// The machine: 16 MiB, so one zone (DMA, 3840 managed pages) with min 123,
// low 153, high 183 (zone_test derives those marks) and lowmem_reserve 0.
// Filled down to 154 free pages (3659 pages written, all on the inactive
// anon list; 154 > low, so no allocation woke kswapd), all old, none
// PG_referenced. balance_pgdat() from Linux 6.1 mm/vmscan.c, by hand:
//  - pgdat_balanced(): "zone_watermark_ok_safe(zone, order, mark,
//    highest_zoneidx)": 154 free is not above 183 + 0: unbalanced.
//  - kswapd_age_node(): inactive_is_low(3659, 0) is false: no aging.
//  - kswapd_shrink_node(): "sc->nr_to_reclaim += max(high_wmark_pages(zone),
//    SWAP_CLUSTER_MAX)" = 183.
//  - get_scan_count() per priority; prepare_scan_count()'s "file_is_tiny =
//    file + free <= total_high_wmark && !(may_deactivate & DEACTIVATE_ANON)
//    && anon >> sc->priority" (no file pages: free <= 183) picks SCAN_ANON
//    whenever 3659 >> priority is not 0, else SCAN_FRACT scans
//    (0 * 60 / 200 =) 0:
//      priority 12: 3659 >> 12 = 0, nothing
//      priority 11: 3659 >> 11 = 1 page, reclaimed (old, unreferenced:
//                   FOLIOREF_RECLAIM, swapped): 155 free
//      priority 10: 3658 >> 10 = 3: 158 free
//      priority 9:  3655 >> 9 = 7: 165 free
//      priority 8:  3648 >> 8 = 14: 179 free
//      priority 7:  179 <= 183, still tiny: 3634 >> 7 = 28: 207 free
//    Each pass scans fewer than 183 pages ("return sc->nr_scanned >=
//    sc->nr_to_reclaim" false: raise_priority), so the priority drops by one
//    each time; at priority 6 pgdat_balanced() finds 207 > 183: done.
//  Scanned and reclaimed 1 + 3 + 7 + 14 + 28 = 53; no failure counted.
TEST(Kswapd, BalancePgdatRaisesThePriorityUntilTheZoneIsBalanced) {
  KswapdMachine m(154);
  const Zone& z = m.t.os.buddy().zones().at(0);
  ASSERT_EQ(m.t.os.buddy().zones().size(), 1u);
  ASSERT_EQ(z.managed_pages, 3840u);
  ASSERT_EQ(z.wmark_high, 183u);
  ASSERT_EQ(z.wmark_low, 153u);
  ASSERT_EQ(z.free_pages(), 154u);
  ASSERT_EQ(m.t.os.lru_size(OsModel::kInactiveAnon), 3659u);
  ASSERT_EQ(m.t.stat("os.vmstat.kswapd_wakeups"), 0.0);
  m.t.os.reclaimer().wake_kswapd();
  EXPECT_EQ(m.t.stat("os.vmstat.kswapd_wakeups"), 1.0);
  EXPECT_EQ(m.t.stat("os.vmstat.pgscan_kswapd"), 53.0);
  EXPECT_EQ(m.t.stat("os.vmstat.pgsteal_kswapd"), 53.0);
  EXPECT_EQ(m.t.stat("os.swap.out"), 53.0);
  EXPECT_EQ(z.free_pages(), 207u);
  EXPECT_EQ(m.t.os.reclaimer().kswapd_failures(), 0u);
  // lru_note_cost(lruvec, false, 53) after each batch: 53 in all, never
  // above a quarter of the ~3600 LRU pages, so no decay.
  EXPECT_EQ(m.t.os.reclaimer().anon_cost(), 53u);
  EXPECT_EQ(m.t.os.check_invariants(), "");
  // Woken again, balanced: wakeup_kswapd() returns at once.
  m.t.os.reclaimer().wake_kswapd();
  EXPECT_EQ(m.t.stat("os.vmstat.pgscan_kswapd"), 53.0);
}

// Filled to exactly the high watermark (183 free, "free <= mark" is not
// balanced): at priority 12 nothing is scanned (3630 >> 12 = 0), at 11
// file_is_tiny gives SCAN_ANON and 3630 >> 11 = 1 page is reclaimed; 184 >
// 183: balanced. kswapd checks between passes, so it stops after one page.
TEST(Kswapd, OnePageAboveTheHighWatermarkIsBalanced) {
  KswapdMachine m(183);
  const Zone& z = m.t.os.buddy().zones().at(0);
  ASSERT_EQ(z.free_pages(), 183u);
  ASSERT_EQ(m.t.os.lru_size(OsModel::kInactiveAnon), 3630u);
  m.t.os.reclaimer().wake_kswapd();
  EXPECT_EQ(m.t.stat("os.vmstat.pgsteal_kswapd"), 1.0);
  EXPECT_EQ(z.free_pages(), 184u);
}

// Without swap nothing is reclaimable (get_scan_count: SCAN_FILE, no file
// pages): balance_pgdat() runs priorities 12 to 1 in vain and "if
// (!sc.nr_reclaimed) pgdat->kswapd_failures++". wakeup_kswapd() gives up
// on a node with "pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES" (16): the
// 17th wake-up changes nothing.
TEST(Kswapd, AHopelessNodeIsLeftToDirectReclaim) {
  Os t(16 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 16 * kMiB, R | W, false, false);
  const Zone& z = t.os.buddy().zones().at(0);
  for (std::uint64_t i = 0; z.free_pages() > 170; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  for (unsigned i = 1; i <= 17; ++i) {
    t.os.reclaimer().wake_kswapd();
    EXPECT_EQ(t.os.reclaimer().kswapd_failures(), std::min(i, 16u));
  }
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 0.0);
}

}  // namespace
}  // namespace mmusim
