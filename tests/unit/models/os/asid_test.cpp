// Unit tests of the ASIDs and flushes (models/os/arch/tlb.h,
// arch/x86/mm/tlb.c): PCID slots and the no-flush bit.
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

TEST(OsModelPcid, SwitchesUseLinuxAsidSlotsAndTheNoFlushBit) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  constexpr std::uint64_t kNoFlush = 1ull << 63;
  t.os.switch_to(1);
  t.os.switch_to(2);
  const PAddr r1 = t.root_of(1), r2 = t.root_of(2);
  t.os.switch_to(1);
  // New mm: next slot, PCID = slot + 1, flushed; known mm: no-flush bit.
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r1 | 1, r2 | 2, r1 | 1 | kNoFlush}));
  EXPECT_EQ(t.os.pcid_of(1), 1u);
  EXPECT_EQ(t.os.pcid_of(2), 2u);
  // A shootdown in the current process keeps its slot's generation current.
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  t.os.switch_to(2);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 1 | kNoFlush);
  // Seven processes, six slots: the seventh takes slot 0 (PCID 1) and
  // process 1, coming back, the next slot (PCID 3, process 3's), flushed.
  for (std::uint32_t pid = 3; pid <= 7; ++pid) t.os.switch_to(pid);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(7) | 1);
  EXPECT_EQ(t.os.pcid_of(1), 0u);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 2);
  EXPECT_EQ(t.os.pcid_of(2), 0u);
}

// ---------------------------------------------------------------- AsidManager

// arch/x86/mm/tlb.c: "unsigned long tlb_single_page_flush_ceiling
// __read_mostly = 33;" flush_tlb_mm_range() flushes a range of up to 33
// pages one INVLPG each and a larger one entirely (TLB_FLUSH_ALL: a CR3
// write of the current PCID without the no-flush bit, SDM 4.10.4.1).
TEST(AsidManager, ShootdownIsInvlpgUpToTheCeilingThenAFullFlush) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  t.os.switch_to(1);
  Process& p1 = *t.os.tasks().find(1);
  AsidManager& a = t.os.asids();
  t.mmu.clear();
  a.shootdown(p1, 0x10000000, 0x10000000 + 33 * k4K);
  EXPECT_EQ(t.mmu.invlpgs.size(), 33u);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  a.shootdown(p1, 0x10000000, 0x10000000 + 34 * k4K);
  EXPECT_EQ(t.mmu.invlpgs.size(), 33u);
  ASSERT_EQ(t.mmu.cr3_writes.size(), 1u);
  EXPECT_EQ(t.mmu.cr3_writes[0], p1.root | 1);
}

// choose_new_asid(): "*need_flush = (this_cpu_read(cpu_tlbstate.ctxs[asid].
// tlb_gen) < next_tlb_gen);" A flush of an mm that is not loaded only
// advances its generation (inc_mm_tlb_gen); its PCID is flushed when it is
// switched to again.
TEST(AsidManager, AFlushOfAnMmNotLoadedIsDeferredToItsNextSwitch) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  t.os.switch_to(1);
  t.os.switch_to(2);
  Process& p1 = *t.os.tasks().find(1);
  AsidManager& a = t.os.asids();
  EXPECT_EQ(a.pcid_of(1), 1u);
  EXPECT_EQ(a.pcid_of(2), 2u);
  t.mmu.clear();
  const std::uint64_t gen = p1.tlb_gen;
  a.flush_tlb_mm(p1);
  EXPECT_EQ(p1.tlb_gen, gen + 1);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  EXPECT_TRUE(t.mmu.invlpgs.empty());
  EXPECT_TRUE(a.tlb_flush_deferred(1));
  EXPECT_FALSE(a.tlb_flush_deferred(2));
  t.os.switch_to(1);
  ASSERT_EQ(t.mmu.cr3_writes.size(), 1u);
  EXPECT_EQ(t.mmu.cr3_writes[0], p1.root | 1);  // bit 63 clear: PCID 1 is flushed
  EXPECT_FALSE(a.tlb_flush_deferred(1));
  a.release(1);
  EXPECT_EQ(a.pcid_of(1), 0u);
}

// Several CPUs (OsModel::add_cpu, set_cpu): each has its own MMU, current
// task and PCID slots (Linux's per-CPU cpu_tlbstate). Process 1 runs on
// CPU 0, process 2 on CPU 1: each is its CPU's first mm, so each takes its
// CPU's slot 0, PCID 1 (choose_new_asid), flushed; CPU 1's MMU got the idle
// root at add_cpu, as CPU 0's did at boot. Back on CPU 0, process 1 is still
// current there: no CR3 write. An munmap of one page by process 1 on CPU 0
// is one INVLPG on CPU 0's MMU only (no shootdown yet) and a new TLB
// generation of mm 1.
TEST(OsModelPcid, EachCpuHasItsOwnCurrentTaskAndPcidSlots) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  FakeMmu cpu1;
  EXPECT_EQ(t.os.add_cpu(cpu1), 1u);
  t.os.switch_to(1);
  t.os.set_cpu(1);
  t.os.switch_to(2);
  const PAddr r1 = t.root_of(1), r2 = t.root_of(2);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r1 | 1}));
  EXPECT_EQ(cpu1.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r2 | 1}));
  EXPECT_EQ(t.os.current_pid(), 2u);
  EXPECT_EQ(t.os.pcid_of(2), 1u);
  t.os.set_cpu(0);
  EXPECT_EQ(t.os.current_pid(), 1u);
  EXPECT_EQ(t.os.pcid_of(1), 1u);
  EXPECT_EQ(t.os.pcid_of(2), 0u);  // not in CPU 0's slots
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.size(), 2u);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  t.mmu.clear();
  cpu1.clear();
  t.os.munmap(0x10000000, k4K);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x10000000}));
  EXPECT_TRUE(cpu1.invlpgs.empty());
  EXPECT_TRUE(cpu1.cr3_writes.empty());
  // Process 1 on CPU 1 later: CPU 1 has no slot for it, so its next slot
  // (slot 1, PCID 2), flushed.
  t.os.set_cpu(1);
  t.os.switch_to(1);
  EXPECT_EQ(cpu1.cr3_writes, (std::vector<std::uint64_t>{r1 | 2}));
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
}

// A process killed from CPU 0 (the OOM killer may choose one running on
// another CPU) while it is current on CPU 1: exit_mmap's flush (freed
// tables) reaches CPU 1, lazy once its task is gone, and moves it to
// init_mm: CPU 1 loads the idle root during the kill, before anything could
// walk the freed tables; CPU 0's MMU sees nothing of it (mm 2 was never
// loaded there). CPU 1 then has no current task, so the next switch there
// loads a CR3 again.
TEST(OsModelCpus, AProcessKilledWhileCurrentOnAnotherCpuLeavesThatCpuIdle) {
  Os t(params());
  FakeMmu cpu1;
  t.os.add_cpu(cpu1);
  t.os.set_cpu(1);
  t.os.switch_to(2);
  t.os.set_cpu(0);
  t.os.switch_to(1);
  const PAddr r1 = t.root_of(1);
  t.mmu.clear();
  cpu1.clear();
  t.os.tasks().kill(*t.os.tasks().find(2), "test");
  EXPECT_EQ(cpu1.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  t.os.set_cpu(1);
  EXPECT_EQ(cpu1.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_FALSE(t.os.alive(2));
  t.os.switch_to(1);
  EXPECT_EQ(cpu1.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r1}));
  t.os.set_cpu(0);
  t.os.set_cpu(1);  // nothing due any more
  EXPECT_EQ(cpu1.cr3_writes.size(), 2u);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
}

}  // namespace
}  // namespace mmusim
