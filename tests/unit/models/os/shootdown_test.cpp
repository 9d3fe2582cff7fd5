// Unit tests of the SMP TLB shootdown (models/os/arch/tlb.h after
// arch/x86/mm/tlb.c of Linux 6.1): per-CPU cpu_tlbstate, mm_cpumask, lazy
// TLB, flush_tlb_mm_range -> native_flush_tlb_multi -> flush_tlb_func, the
// os.tlb.* statistics and costs.
//
// The set-up of most tests: process 1 runs on CPU 0; thread 2 (@clone, same
// mm) runs on CPU 1. Both CPUs then have mm 1 loaded and are in its cpumask
// (switch_mm_irqs_off: cpumask_set_cpu(cpu, mm_cpumask(next))). Costs are
// the os.tlb.* defaults: send 150, delivery 1200, handler 700, ack 300,
// INVLPG 100 per page, full flush 200. So a shootdown reaching one remote
// CPU makes the initiator wait 150 * 1 + 1200 + handler + 300, the handler
// being 700 + its flush.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "models/os/os_model.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = OsFixture;

constexpr Cycles kSend = 150, kDelivery = 1200, kHandler = 700, kAck = 300, kInvlpg = 100, kFull = 200;

// The pages [first, first + n) of the heap.
std::vector<VAddr> pages(VAddr first, unsigned n) {
  std::vector<VAddr> v;
  for (unsigned i = 0; i < n; ++i) v.push_back(first + i * k4K);
  return v;
}

struct TwoCpus {
  explicit TwoCpus(OsParams p, unsigned heap_pages = 128) : t(p) {
    t.os.add_cpu(cpu1);
    t.os.switch_to(1);
    t.os.mmap(kHeap, heap_pages * k4K, R | W, false, false);
    t.os.clone(2);
    t.os.set_cpu(1);
    t.os.switch_to_thread(2);
    t.os.set_cpu(0);
    stalls.clear();
    t.os.set_cpu_stall_sink([this](unsigned cpu, Cycles c) { stalls.push_back({cpu, c}); });
  }
  void clear() {
    t.mmu.clear();
    cpu1.clear();
    stalls.clear();
  }
  std::uint64_t tlb(const char* name) const { return t.counter(std::string("os.tlb.") + name); }
  Process& mm() { return *t.os.tasks().find(1); }

  Os t;
  FakeMmu cpu1;
  struct Stall {
    unsigned cpu;
    Cycles cycles;
    bool operator==(const Stall& o) const { return cpu == o.cpu && cycles == o.cycles; }
  };
  std::vector<Stall> stalls;
};

// With one CPU no os.tlb statistic exists (a one-core stats.csv keeps its
// statistics); the second CPU registers them.
TEST(Shootdown, StatisticsAppearWithTheSecondCpu) {
  Os t(params());
  EXPECT_EQ(t.root.find("os.tlb.shootdowns"), nullptr);
  FakeMmu cpu1;
  t.os.add_cpu(cpu1);
  EXPECT_NE(t.root.find("os.tlb.shootdowns"), nullptr);
  EXPECT_NE(t.root.find("os.tlb.ipi_wait_cycles"), nullptr);
}

// The cpumask follows switch_mm_irqs_off: a CPU joins the mm it switches to
// and leaves the one it switched from.
TEST(Shootdown, TheCpumaskHoldsTheCpusThatHaveTheMmLoaded) {
  TwoCpus s(params());
  EXPECT_EQ(s.mm().cpumask, 0b11u);
  EXPECT_EQ(s.t.os.asids().loaded_mm(0), 1u);
  EXPECT_EQ(s.t.os.asids().loaded_mm(1), 1u);
  s.t.os.set_cpu(1);
  s.t.os.switch_to(3);  // CPU 1 to another mm: its bit leaves mm 1
  EXPECT_EQ(s.mm().cpumask, 0b01u);
  EXPECT_EQ(s.t.os.tasks().find(3)->cpumask, 0b10u);
}

// munmap of 1, 33 and 34 pages on CPU 0 while CPU 1 runs the same mm.
// Each is flush_tlb_mm_range(): the mm's generation goes up by one; CPU 1 is
// in the cpumask, so native_flush_tlb_multi (nr_tlb_remote_flush + 1), CPU 0
// runs flush_tlb_func itself, CPU 1 gets an IPI (nr_tlb_remote_flush_received
// + 1). Both CPUs were at the previous generation (set by the switch and by
// each earlier flush), so a ranged flush of at most
// tlb_single_page_flush_ceiling = 33 pages is partial: INVLPG per page on
// both (nr_tlb_local_flush_one counts the initiator's pages); 34 pages become
// TLB_FLUSH_ALL: a CR3 reload (no PCIDs: the root alone) on both
// (nr_tlb_local_flush_all + 1 for CPU 0). No table is freed: the VMA goes on
// beyond each range, and the 128 pages share one page table.
TEST(Shootdown, MunmapOf1_33And34PagesFlushesBothCpus) {
  TwoCpus s(params());
  const PAddr r1 = s.t.root_of(1);
  for (unsigned i = 0; i < 68; ++i) s.t.touch(kHeap + i * k4K);
  s.clear();
  const std::uint64_t gen = s.mm().tlb_gen;

  s.t.os.munmap(kHeap, k4K);  // page 0
  EXPECT_EQ(s.mm().tlb_gen, gen + 1);
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.cpu1.invlpgs, pages(kHeap, 1));
  EXPECT_TRUE(s.t.mmu.cr3_writes.empty());
  EXPECT_TRUE(s.cpu1.cr3_writes.empty());
  // The initiator's wait: 150 + 1200 + (700 + 1 * 100) + 300 = 2450; the
  // handler's 800 go to CPU 1.
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + kInvlpg + kAck);
  EXPECT_EQ(s.stalls, (std::vector<TwoCpus::Stall>{{1, kHandler + kInvlpg}}));
  s.clear();

  s.t.os.munmap(kHeap + k4K, 33 * k4K);  // pages 1..33
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap + k4K, 33));
  EXPECT_EQ(s.cpu1.invlpgs, pages(kHeap + k4K, 33));
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + 33 * kInvlpg + kAck);  // 5650
  s.clear();

  s.t.os.munmap(kHeap + 34 * k4K, 34 * k4K);  // pages 34..67
  EXPECT_TRUE(s.t.mmu.invlpgs.empty());
  EXPECT_TRUE(s.cpu1.invlpgs.empty());
  EXPECT_EQ(s.t.mmu.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + kFull + kAck);  // 2550
  EXPECT_EQ(s.stalls, (std::vector<TwoCpus::Stall>{{1, kHandler + kFull}}));

  EXPECT_EQ(s.mm().tlb_gen, gen + 3);
  EXPECT_EQ(s.tlb("remote_flush"), 3u);
  EXPECT_EQ(s.tlb("remote_flush_received"), 3u);
  EXPECT_EQ(s.tlb("shootdowns"), 3u);
  EXPECT_EQ(s.tlb("ipis_sent"), 3u);
  EXPECT_EQ(s.tlb("local_flush_one"), 1u + 33u);
  EXPECT_EQ(s.tlb("local_flush_all"), 1u);
  EXPECT_EQ(s.tlb("remote_flush_one"), 2u);
  EXPECT_EQ(s.tlb("remote_flush_all"), 1u);
  EXPECT_EQ(s.tlb("lazy_skipped"), 0u);
  EXPECT_EQ(s.t.os.check_invariants(), "");
}

// mprotect is flushed the same way (change_protection -> flush_tlb_range).
TEST(Shootdown, MprotectFlushesBothCpus) {
  TwoCpus s(params());
  s.t.touch(kHeap);
  s.clear();
  s.t.os.mprotect(kHeap, k4K, R);
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.cpu1.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.tlb("ipis_sent"), 1u);
  EXPECT_EQ(s.tlb("local_flush_one"), 1u);
}

// A CPU alone in the cpumask flushes locally: no native_flush_tlb_multi, no
// IPI, nothing waited (flush_tlb_mm_range's "else if (mm ==
// loaded_mm)" branch).
TEST(Shootdown, AnMmLoadedOnlyHereIsFlushedLocally) {
  Os t(params());
  FakeMmu cpu1;
  t.os.add_cpu(cpu1);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4 * k4K, R | W, false, false);
  t.touch(kHeap);
  t.mmu.clear();
  t.os.munmap(kHeap, k4K);
  EXPECT_EQ(t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_TRUE(cpu1.invlpgs.empty());
  EXPECT_EQ(t.counter("os.tlb.remote_flush"), 0u);
  EXPECT_EQ(t.counter("os.tlb.local_flush_one"), 1u);
  EXPECT_EQ(t.os.take_event_cycles(), 0u);
}

// Lazy TLB: CPU 1 goes idle keeping mm 1 (enter_lazy_tlb). A munmap that
// frees no table skips it (should_flush_tlb: "Lazy TLB will get flushed at
// the next context switch"): native_flush_tlb_multi still counts (CPU 1 is
// in the cpumask) but no IPI goes, nothing is waited. Unmapping the whole
// VMA frees its page tables (free_pgtables: no VMA left around them), so
// freed_tables sends the IPI to the lazy CPU too (on_each_cpu_mask), and
// its flush_tlb_func switches it to init_mm (the idle root) and out of the
// cpumask; the handler's flush is the CR3 write, 700 + 200. The initiator's
// own flush: 127 pages > 33, a full flush.
TEST(Shootdown, LazyCpusAreSkippedUnlessTablesAreFreed) {
  TwoCpus s(params());
  const PAddr r1 = s.t.root_of(1);
  s.t.touch(kHeap);
  s.t.touch(kHeap + k4K);
  s.t.os.enter_lazy_tlb(1);
  EXPECT_TRUE(s.t.os.asids().is_lazy(1));
  s.clear();

  s.t.os.munmap(kHeap, k4K);
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_TRUE(s.cpu1.invlpgs.empty());
  EXPECT_TRUE(s.cpu1.cr3_writes.empty());
  EXPECT_EQ(s.tlb("remote_flush"), 1u);
  EXPECT_EQ(s.tlb("lazy_skipped"), 1u);
  EXPECT_EQ(s.tlb("ipis_sent"), 0u);
  EXPECT_EQ(s.tlb("shootdowns"), 0u);
  EXPECT_EQ(s.t.os.take_event_cycles(), 0u);
  EXPECT_TRUE(s.stalls.empty());
  EXPECT_EQ(s.mm().cpumask, 0b11u);  // a lazy CPU keeps its bit
  s.clear();

  s.t.os.munmap(kHeap + k4K, 127 * k4K);  // the rest of the VMA
  EXPECT_EQ(s.t.mmu.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{s.t.idle_root()}));
  EXPECT_EQ(s.tlb("remote_flush"), 2u);
  EXPECT_EQ(s.tlb("lazy_skipped"), 1u);
  EXPECT_EQ(s.tlb("ipis_sent"), 1u);
  EXPECT_EQ(s.tlb("lazy_switched"), 1u);
  EXPECT_EQ(s.tlb("remote_flush_received"), 1u);
  EXPECT_EQ(s.tlb("local_flush_all"), 1u);
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + kFull + kAck);
  EXPECT_EQ(s.mm().cpumask, 0b01u);
  EXPECT_EQ(s.t.os.asids().loaded_mm(1), 0u);
  EXPECT_FALSE(s.t.os.asids().is_lazy(1));
  // Thread 2 runs on CPU 1 again: from init_mm, a switch to another mm.
  s.t.os.set_cpu(1);
  s.t.os.switch_to_thread(2);
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{s.t.idle_root(), r1}));
  EXPECT_EQ(s.mm().cpumask, 0b11u);
}

// The generation check of switch_mm_irqs_off when a lazy CPU switches back
// to the mm it kept (real_prev == next, was_lazy): no CR3 write when the
// mm's tlb_gen equals the CPU's ctxs[asid].tlb_gen; a CR3 write without the
// no-flush bit (need_flush, the same ASID) when a flush skipped it.
// Without PCIDs the write is the root alone.
TEST(Shootdown, ALazyCpuSwitchingBackFlushesOnlyIfTheGenerationMoved) {
  TwoCpus s(params());
  const PAddr r1 = s.t.root_of(1);
  s.t.os.enter_lazy_tlb(1);
  s.clear();
  s.t.os.set_cpu(1);
  s.t.os.switch_to_thread(2);  // nothing happened meanwhile
  EXPECT_TRUE(s.cpu1.cr3_writes.empty());
  s.t.os.enter_lazy_tlb(1);
  s.t.os.set_cpu(0);
  s.t.os.munmap(kHeap, k4K);  // CPU 1 skipped: its generation is one behind
  s.t.os.set_cpu(1);
  s.t.os.switch_to_thread(2);
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_FALSE(s.t.os.asids().is_lazy(1));
}

// The same with PCIDs. CPU 1's first mm is mm 1: slot 0, PCID 1. While CPU
// 1 is lazy and behind, PCID 1 on CPU 1 holds a flush Linux defers (the
// TLB-transparency check accepts its entries); after the switch back, none.
TEST(Shootdown, ALazyCpuSwitchingBackWithPcidsReloadsItsPcidWithoutNoFlush) {
  OsParams p = params();
  p.pcid = true;
  TwoCpus s(p);
  const PAddr r1 = s.t.root_of(1);
  constexpr std::uint64_t kNoFlush = 1ull << 63;
  EXPECT_EQ(s.t.os.pcid_of(1), 1u);
  s.t.os.enter_lazy_tlb(1);
  s.clear();
  s.t.os.set_cpu(1);
  s.t.os.switch_to_thread(2);
  EXPECT_TRUE(s.cpu1.cr3_writes.empty());
  EXPECT_FALSE(s.t.os.tlb_flush_deferred(1, 1));
  s.t.os.enter_lazy_tlb(1);
  s.t.os.set_cpu(0);
  s.t.os.munmap(kHeap, k4K);
  EXPECT_TRUE(s.t.os.tlb_flush_deferred(1, 1));   // lazy CPU 1: deferred
  EXPECT_FALSE(s.t.os.tlb_flush_deferred(1, 0));  // CPU 0 flushed at once
  s.t.os.set_cpu(1);
  s.t.os.switch_to_thread(2);
  ASSERT_EQ(s.cpu1.cr3_writes.size(), 1u);
  EXPECT_EQ(s.cpu1.cr3_writes[0], r1 | 1);  // PCID 1, bit 63 clear
  EXPECT_EQ(s.cpu1.cr3_writes[0] & kNoFlush, 0u);
  EXPECT_FALSE(s.t.os.tlb_flush_deferred(1, 1));
}

// A copy-on-write fault in a threaded process. Process 1 writes a page on
// CPU 0, then forks: dup_mmap's flush_tlb_mm(oldmm) is TLB_FLUSH_ALL, a
// full flush on both CPUs (CR3 reload of r1 on each). The write on CPU 0
// then copies the page (mapcount 2) and wp_page_copy's ptep_clear_flush is
// flush_tlb_page: one generation on, so INVLPG of the page on both CPUs. The
// fault's cost: minor 700 + copy 300 + the wait 150 + 1200 + (700 + 100) + 300.
TEST(Shootdown, CopyOnWriteInAThreadedProcessFlushesEveryCpuOfTheMm) {
  TwoCpus s(params());
  const PAddr r1 = s.t.root_of(1);
  s.t.touch(kHeap);
  s.clear();
  s.t.os.fork(3);
  EXPECT_EQ(s.t.mmu.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{r1}));
  EXPECT_EQ(s.tlb("local_flush_all"), 1u);
  EXPECT_EQ(s.tlb("remote_flush_all"), 1u);
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + kFull + kAck);
  s.clear();
  const FaultOutcome o = s.t.touch(kHeap, kWriteProtFault);
  EXPECT_EQ(s.t.counter("os.faults.cow_copy"), 1u);
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.cpu1.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(o.cost_cycles, kMinor + 300 + kSend + kDelivery + kHandler + kInvlpg + kAck);
  EXPECT_EQ(s.t.os.take_event_cycles(), 0u);  // the fault's wait went into its cost
  EXPECT_EQ(s.tlb("remote_flush_one"), 1u);
}

// Reclaim swapping out a page of an mm loaded on both CPUs: try_to_unmap
// clears the PTE and flushes the page on both (ptep_clear_flush ->
// flush_tlb_page). One page, touched once: the first reclaim pass only
// clears its accessed flag (folio_referenced), the second swaps it out.
TEST(Shootdown, ReclaimUnmappingAPageMappedOnTwoCpusFlushesBoth) {
  OsParams p = params();
  p.swap_bytes = 16 * kMiB;
  TwoCpus s(p);
  s.t.touch(kHeap);
  ASSERT_EQ(s.t.os.reclaim(1, false), 0u);
  s.clear();
  ASSERT_EQ(s.t.os.reclaim(1, false), 1u);
  EXPECT_EQ(s.t.mmu.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.cpu1.invlpgs, pages(kHeap, 1));
  EXPECT_EQ(s.tlb("shootdowns"), 1u);
  EXPECT_EQ(s.stalls, (std::vector<TwoCpus::Stall>{{1, kHandler + kInvlpg}}));
}

// exit_mmap: process 1 exits on CPU 0 while its thread runs on CPU 1 (both
// end: exit_group). Both CPUs are lazy once their tasks are gone (exit_mm ->
// enter_lazy_tlb); tlb_finish_mmu's fullmm flush has freed_tables, so CPU 0
// runs flush_tlb_func itself and CPU 1 gets the IPI; each, lazy, switches to
// init_mm: the idle root on both MMUs, the cpumask empty. One IPI, a wait
// of 150 + 1200 + (700 + 200) + 300.
TEST(Shootdown, ExitMmapMovesEveryCpuOfTheMmToInitMm) {
  TwoCpus s(params());
  s.t.touch(kHeap);
  Process& mm = s.mm();
  s.clear();
  s.t.os.exit_current();
  EXPECT_EQ(s.t.mmu.cr3_writes, (std::vector<std::uint64_t>{s.t.idle_root()}));
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{s.t.idle_root()}));
  EXPECT_EQ(mm.cpumask, 0u);
  EXPECT_EQ(s.t.os.asids().loaded_mm(0), 0u);
  EXPECT_EQ(s.t.os.asids().loaded_mm(1), 0u);
  EXPECT_EQ(s.tlb("ipis_sent"), 1u);
  EXPECT_EQ(s.tlb("lazy_switched"), 2u);
  EXPECT_EQ(s.t.os.take_event_cycles(), kSend + kDelivery + kHandler + kFull + kAck);
  // CPU 1 has no task now: the next switch there loads a CR3, once.
  s.t.os.set_cpu(1);
  EXPECT_EQ(s.cpu1.cr3_writes.size(), 1u);
  s.t.os.switch_to(4);
  EXPECT_EQ(s.cpu1.cr3_writes, (std::vector<std::uint64_t>{s.t.idle_root(), s.t.root_of(4)}));
}

// The cpumask invariant (OsModel::check_invariants): it holds through
// switches, lazy mode, shootdowns and exit, and a bit for a CPU that does
// not have the mm loaded (or a loaded CPU without its bit) is reported.
TEST(Shootdown, TheCpumaskInvariantHoldsAndCatchesAWrongBit) {
  TwoCpus s(params());
  s.t.touch(kHeap);
  EXPECT_EQ(s.t.os.check_invariants(), "");
  s.t.os.enter_lazy_tlb(1);
  s.t.os.munmap(kHeap, 128 * k4K);
  EXPECT_EQ(s.t.os.check_invariants(), "");
  s.mm().cpumask |= 0b10;  // CPU 1 runs init_mm now
  EXPECT_EQ(s.t.os.check_invariants(), "mm 1's cpumask has CPU 1, which does not have it loaded");
  s.mm().cpumask = 0;
  EXPECT_EQ(s.t.os.check_invariants(), "CPU 0 has mm 1 loaded but is not in its cpumask");
  s.mm().cpumask = 0b01;
  s.t.os.exit_current();
  EXPECT_EQ(s.t.os.check_invariants(), "");
}

// enter_lazy_tlb on a CPU that runs init_mm does nothing (Linux returns at
// once), and an unknown CPU is an error.
TEST(Shootdown, EnterLazyTlbOnInitMmDoesNothing) {
  Os t(params());
  FakeMmu cpu1;
  t.os.add_cpu(cpu1);
  t.os.enter_lazy_tlb(1);
  EXPECT_FALSE(t.os.asids().is_lazy(1));
  EXPECT_THROW(t.os.enter_lazy_tlb(2), std::out_of_range);
}

}  // namespace
}  // namespace mmusim
