// Unit tests of the processes (models/os/kernel/tasks.h, kernel/fork.c and
// kernel/exit.c): creation on first use, CR3 loads, kill and exit, and the
// kernel objects from the slab caches. fork has fork_test.cpp.
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

TEST(OsModel, SwitchToCreatesProcessesAndWritesCr3) {
  Os t(params());
  t.mmu.clear();
  t.os.switch_to(1);
  ASSERT_NE(t.os.process(1), nullptr);
  const PAddr root1 = t.root_of(1);
  EXPECT_EQ(root1, 0x1001000u);  // frame 4097, the order-0 block left over by the idle root
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1}));
  EXPECT_EQ(t.os.current_pid(), 1u);
  EXPECT_TRUE(t.os.process(1)->alive);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  for (unsigned i = 0; i < 512; ++i) ASSERT_EQ(t.mem.read64(root1 + i * 8), 0u);  // a zeroed PML4

  t.os.switch_to(1);  // already current: no MOV to CR3
  EXPECT_EQ(t.mmu.cr3_writes.size(), 1u);

  t.os.switch_to(2);
  const PAddr root2 = t.root_of(2);
  EXPECT_NE(root2, root1);
  EXPECT_GE(root2, 1 * kMiB);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1, root2}));
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1, root2, root1}));
  EXPECT_EQ(t.counter("os.processes"), 2u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 3.0);
  EXPECT_TRUE(t.os.alive(1));
  EXPECT_TRUE(t.os.alive(77));  // unknown pids are created on first use
  EXPECT_EQ(t.os.process(77), nullptr);
  EXPECT_EQ(t.mmu.invlpgs.size(), 0u);
  EXPECT_EQ(t.check_frames({1, 2}), "");
}

TEST(OsModel, FirstUseWithoutSwitchIsPid1) {
  Os t(params());
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  EXPECT_EQ(t.os.current_pid(), 1u);
  ASSERT_NE(t.os.process(1), nullptr);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(1));
}

TEST(OsModel, KillingAnotherProcessLeavesTheCurrentOneAlone) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  t.os.switch_to(2);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  EXPECT_NE(t.at(1, 0x10000000).frame, t.at(2, 0x10000000).frame);
  EXPECT_EQ(t.touch(0x20000000).result, FaultResult::Killed);
  EXPECT_TRUE(t.os.alive(1));
  EXPECT_TRUE(t.at(1, 0x10000000).present);
  EXPECT_EQ(t.check_frames({1, 2}), "");
}

// ---------------------------------------------------------------- exit

TEST(OsModel, ExitFreesEverything) {
  Os t(params(4, ThpMode::Always));
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(2);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  const std::uint64_t with2 = t.free_pages();
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 8 * kMiB, R | W, false, false);
  t.os.mmap(0x7f0000000000ull, 40 * k4K, R | W, false, false);
  for (VAddr va = 0x40000000; va < 0x40800000; va += k2M) ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(t.touch(0x7f0000000000ull + i * k4K).result, FaultResult::Handled);
  t.os.brk(0x2000000);
  t.os.brk(0x2100000);
  ASSERT_EQ(t.touch(0x2000000).result, FaultResult::Handled);
  t.os.munmap(0x40001000, k4K);  // a split 2 MiB page too
  t.mmu.clear();
  t.os.exit_current();
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_TRUE(t.os.alive(2));
  EXPECT_TRUE(t.os.kills().empty());  // a normal exit is not a kill
  EXPECT_EQ(t.free_pages(), with2);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_THROW(t.os.switch_to(1), OsError);
  EXPECT_EQ(t.check_frames({1, 2}), "");
  t.os.switch_to(2);
  t.os.exit_current();
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.used_pages(), 1u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
}

TEST(KernelObjects, ProcessesAndVmasComeFromSlabCaches) {
  MachineOs t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  t.os.mmap(kHeap + 0x100000, 4096, R, false, false);
  EXPECT_EQ(t.stat("os.slab.task_struct.objects"), 1.0);
  EXPECT_EQ(t.stat("os.slab.mm_struct.objects"), 1.0);
  EXPECT_EQ(t.stat("os.slab.vm_area_struct.objects"), 2.0);
  // An adjacent VMA with the same rights merges: still two objects.
  t.os.mmap(kHeap + 4096, 4096, R | W, false, false);
  EXPECT_EQ(t.stat("os.slab.vm_area_struct.objects"), 2.0);
  // mprotect of the middle of a VMA splits it into three.
  t.os.mmap(kHeap + 0x200000, 3 * 4096, R | W, false, false);
  t.os.mprotect(kHeap + 0x201000, 4096, R);
  EXPECT_EQ(t.stat("os.slab.vm_area_struct.objects"), 5.0);
  // task_struct: 3 per order-3 slab; mm_struct: 12 per order-2 slab; vm_area_struct: 20 per page.
  EXPECT_EQ(t.stat("os.slab.task_struct.objperslab"), 3.0);
  EXPECT_EQ(t.stat("os.slab.task_struct.pagesperslab"), 8.0);
  EXPECT_EQ(t.stat("os.slab.mm_struct.objperslab"), 12.0);
  EXPECT_EQ(t.stat("os.slab.vm_area_struct.objperslab"), 20.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- Tasks

// exit_mmap() frees every page and table of the mm; a kill of the running
// task leaves the CPU on the idle root (swapper_pg_dir).
TEST(Tasks, KillFreesTheMmAndLoadsTheIdleRootWhenCurrent) {
  Os t(params());
  Tasks& k = t.os.tasks();
  k.switch_to(1);
  t.os.mmap(0x10000000, 2 * k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  Process& p = *k.find(1);
  ASSERT_EQ(p.rss_pages, 1u);
  EXPECT_TRUE(k.is_current(1));
  k.kill(p, "a test");
  EXPECT_EQ(k.kills().back(), "process 1 killed: a test");
  EXPECT_FALSE(k.alive(1));
  EXPECT_EQ(p.rss_pages, 0u);
  EXPECT_EQ(p.pgtable_pages, 0u);
  EXPECT_TRUE(p.vmas.empty());
  EXPECT_FALSE(k.is_current(1));
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.idle_root());
  EXPECT_EQ(t.os.used_pages(), 1u);  // the idle root
  EXPECT_TRUE(k.alive(9));           // unknown pids are created on first use
  EXPECT_EQ(k.process(9), nullptr);
}

// @clone and @thread (kernel/fork.c copy_process with CLONE_VM): a thread
// gets a task_struct and nothing else (no mm_struct, no page directory);
// switching between tasks of one mm writes no CR3 (switch_mm_irqs_off:
// prev == next); exit_group ends the process and its threads, their
// task_structs freed: 1 process + 2 threads = 3 task_structs, 1 mm_struct,
// then none.
TEST(OsModel, CloneSharesTheMmAndExitEndsEveryThread) {
  Os t(params());
  t.os.switch_to(1);
  const PAddr root1 = t.root_of(1);
  const double tables = t.formula("os.pgtable_pages");
  t.mmu.clear();
  t.os.clone(2);
  t.os.clone(3);
  EXPECT_EQ(t.stat("os.slab.task_struct.objects"), 3.0);
  EXPECT_EQ(t.stat("os.slab.mm_struct.objects"), 1.0);
  EXPECT_EQ(t.formula("os.pgtable_pages"), tables);
  EXPECT_EQ(t.counter("os.processes"), 1u);
  EXPECT_EQ(t.os.thread_group(2), 1u);
  EXPECT_EQ(t.os.thread_group(1), 1u);
  EXPECT_EQ(t.os.thread_group(9), 0u);
  EXPECT_TRUE(t.os.alive(3));
  t.os.switch_to_thread(3);
  t.os.switch_to_thread(1);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  EXPECT_THROW(t.os.clone(1), OsError);
  EXPECT_THROW(t.os.clone(2), OsError);
  EXPECT_THROW(t.os.switch_to(2), OsError);  // @proc of a thread
  EXPECT_THROW(t.os.fork(3), OsError);
  EXPECT_THROW(t.os.switch_to_thread(9), OsError);
  // A thread of another process: that process's CR3.
  t.os.switch_to(4);
  t.os.clone(5);
  t.mmu.clear();
  t.os.switch_to_thread(2);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1}));
  t.os.exit_current();
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_FALSE(t.os.alive(2));
  EXPECT_FALSE(t.os.alive(3));
  EXPECT_TRUE(t.os.alive(5));
  EXPECT_THROW(t.os.switch_to_thread(3), OsError);
  // Process 4 and its thread 5 remain: 2 task_structs, 1 mm_struct.
  EXPECT_EQ(t.stat("os.slab.task_struct.objects"), 2.0);
  EXPECT_EQ(t.stat("os.slab.mm_struct.objects"), 1.0);
}

}  // namespace
}  // namespace mmusim
