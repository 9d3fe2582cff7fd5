// Unit tests of fork (models/os/kernel/fork.cpp: dup_mmap, copy_page_range,
// copy_present_pte, copy_huge_pmd) and the copy-on-write faults after it.
// Expected entries and counts are derived by hand in the comments.
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

// Linux 6.1 copy_present_pte(), a private writable page: "if
// (is_cow_mapping(vm_flags) && pte_write(pte)) { ptep_set_wrprotect(src_mm,
// addr, src_pte); pte = pte_wrprotect(pte); }" clears only R/W in the parent;
// the child's PTE is the same value "pte = pte_mkold(pte)" (A clear), and
// only for VM_SHARED mappings "pte = pte_mkclean(pte)". So after a write
// fault (D set) and a fork: parent P U A D, no R/W; child P U D, no A, no R/W.
TEST(Fork, TheParentKeepsDirtyAndTheChildStartsOldButDirty) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  ASSERT_EQ(t.os.handle_fault(kHeap, kWriteFault).result, FaultResult::Handled);
  ASSERT_TRUE(t.pte(1, kHeap) & pte::kD);
  t.os.fork(2);
  const std::uint64_t parent = t.pte(1, kHeap), child = t.pte(2, kHeap);
  EXPECT_EQ(parent & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD), pte::kP | pte::kUS | pte::kA | pte::kD);
  EXPECT_EQ(child & (pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD), pte::kP | pte::kUS | pte::kD);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// Linux 6.1 copy_page_range() returns at once unless vma_needs_copy():
// "if (src_vma->anon_vma) return true; /* Don't copy ptes where a page
// fault will fill them correctly. */ return false;" A VMA gets its anon_vma
// from anon_vma_prepare() when it first maps an anonymous page of its own:
// do_anonymous_page calls it only after the zero-page branch, and a file
// page never does. So the child gets no PTE for the file page nor for the
// zero page, only for the written page (shared copy-on-write), and faults
// the others in itself.
TEST(Fork, OnlyVmasWithAnAnonVmaAreCopied) {
  Os t;
  t.os.switch_to(1);
  const VAddr file = 0x400000, zero = 0x20000000;
  t.os.mmap(file, 4096, R, true, false);
  t.os.mmap(zero, 4096, R | W, false, false);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  ASSERT_EQ(t.os.handle_fault(file, kReadFault).result, FaultResult::Handled);
  ASSERT_EQ(t.os.handle_fault(zero, kReadFault).result, FaultResult::Handled);
  ASSERT_EQ(t.os.handle_fault(kHeap, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(t.os.process(1)->rss_pages, 2u);  // the file page and the written one
  t.os.fork(2);
  EXPECT_EQ(t.pte(2, file), 0u);
  EXPECT_EQ(t.pte(2, zero), 0u);
  EXPECT_TRUE(t.pte(2, kHeap) & pte::kP);
  EXPECT_EQ(t.frame(2, kHeap), t.frame(1, kHeap));
  EXPECT_EQ(t.os.process(2)->rss_pages, 1u);
  EXPECT_TRUE(t.pte(1, file) & pte::kP);  // the parent's mappings are untouched
  EXPECT_EQ(t.os.check_invariants(), "");
  // The child faults the file page in itself.
  t.os.switch_to(2);
  ASSERT_EQ(t.os.handle_fault(file, kReadFault).result, FaultResult::Handled);
  EXPECT_TRUE(t.pte(2, file) & pte::kP);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Fork, WriteAfterForkCopiesAndTheOtherProcessKeepsTheOldContent) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4 * 4096, R | W, false, false);
  ASSERT_EQ(t.os.handle_fault(kHeap, kWriteFault).result, FaultResult::Handled);
  const std::uint64_t old_frame = t.frame(1, kHeap);
  t.mem.write64(old_frame << 12, 0x1111);  // the program's data
  t.os.fork(2);
  EXPECT_EQ(t.os.current_pid(), 1u);  // the child does not run until switched to
  // Both map the same frame read-only; the frame is shared twice.
  EXPECT_EQ(t.frame(2, kHeap), old_frame);
  EXPECT_FALSE(t.pte(1, kHeap) & pte::kRW);
  EXPECT_FALSE(t.pte(2, kHeap) & pte::kRW);
  EXPECT_TRUE(t.pte(2, kHeap) & pte::kP);
  EXPECT_EQ(t.os.mapcount(old_frame), 2u);
  EXPECT_EQ(t.os.process(2)->rss_pages, 1u);
  EXPECT_EQ(t.os.check_invariants(), "");

  // The parent writes: a copy-on-write fault copies the frame.
  FaultOutcome o = t.os.handle_fault(kHeap, kWriteProtFault);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, 700u + 300u);  // minor + one 4 KiB copy
  const std::uint64_t new_frame = t.frame(1, kHeap);
  EXPECT_NE(new_frame, old_frame);
  EXPECT_TRUE(t.pte(1, kHeap) & pte::kRW);
  EXPECT_EQ(t.mem.read64(new_frame << 12), 0x1111u);  // content copied
  t.mem.write64(new_frame << 12, 0x2222);
  EXPECT_EQ(t.mem.read64(t.frame(2, kHeap) << 12), 0x1111u);  // the child still reads the old content
  EXPECT_EQ(t.os.mapcount(old_frame), 1u);
  EXPECT_EQ(t.stat("os.faults.cow_copy"), 1.0);
  EXPECT_EQ(t.stat("os.faults.cow"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");

  // The child, now the last sharer, writes: the frame is reused, not copied.
  t.os.switch_to(2);
  o = t.os.handle_fault(kHeap, kWriteProtFault);
  EXPECT_EQ(o.cost_cycles, 700u);
  EXPECT_EQ(t.frame(2, kHeap), old_frame);
  EXPECT_TRUE(t.pte(2, kHeap) & pte::kRW);
  EXPECT_EQ(t.stat("os.faults.cow_reuse"), 1.0);
  EXPECT_EQ(t.stat("os.faults.cow"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Fork, ExitOfEitherSideFreesOnlyWhatIsNoLongerShared) {
  Os t;
  const std::uint64_t used_at_boot = t.os.used_pages();
  t.os.switch_to(1);
  t.os.mmap(kHeap, 8 * 4096, R | W, false, false);
  for (int i = 0; i < 8; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  t.os.fork(2);
  const std::uint64_t shared = t.frame(1, kHeap + 4096);
  t.os.exit_current();  // the parent exits first
  EXPECT_EQ(t.os.mapcount(shared), 1u);
  EXPECT_FALSE(t.os.buddy().is_free(shared));  // still the child's
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.switch_to(2);
  EXPECT_EQ(t.os.handle_fault(kHeap, kReadFault | pf::kP).result, FaultResult::Handled);
  t.os.exit_current();
  EXPECT_TRUE(t.os.buddy().is_free(shared));
  EXPECT_EQ(t.os.used_pages(), used_at_boot);
  EXPECT_EQ(t.os.check_invariants(), "");
  // Two task_struct and mm_struct objects were allocated and freed again.
  EXPECT_EQ(t.stat("os.slab.task_struct.objects"), 0.0);
  EXPECT_EQ(t.stat("os.slab.mm_struct.objects"), 0.0);
  EXPECT_EQ(t.stat("os.forks"), 1.0);
}

TEST(Fork, MprotectAfterForkKeepsSharedPagesCopyOnWrite) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  t.os.handle_fault(kHeap, kWriteFault);
  t.os.fork(2);
  t.os.mprotect(kHeap, 4096, R);
  t.os.mprotect(kHeap, 4096, R | W);
  EXPECT_FALSE(t.pte(1, kHeap) & pte::kRW);  // still shared: stays read-only
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.handle_fault(kHeap, kWriteProtFault);
  EXPECT_NE(t.frame(1, kHeap), t.frame(2, kHeap));
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Fork, AHugePageIsSplitAndSharedPer4K) {
  Os t(64 * kMiB, ThpMode::Always);
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 2 * kMiB, R | W, false, false);
  t.os.handle_fault(0x40000000, kWriteFault);
  ASSERT_EQ(t.stat("os.thp.alloc"), 1.0);
  t.os.fork(2);
  EXPECT_EQ(t.frame(1, 0x40000000 + 5 * 4096), t.frame(2, 0x40000000 + 5 * 4096));
  EXPECT_EQ(t.os.process(2)->rss_pages, 512u);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.switch_to(2);
  t.os.handle_fault(0x40000000 + 5 * 4096, kWriteProtFault);
  EXPECT_NE(t.frame(1, 0x40000000 + 5 * 4096), t.frame(2, 0x40000000 + 5 * 4096));
  t.os.exit_current();
  t.os.switch_to(1);
  t.os.exit_current();
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Fork, ExistingChildIsAnError) {
  Os t;
  t.os.switch_to(1);
  t.os.switch_to(2);
  t.os.switch_to(1);
  EXPECT_THROW(t.os.fork(2), OsError);
}

}  // namespace
}  // namespace mmusim
