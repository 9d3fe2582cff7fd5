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

// Process 1 with a 2 MiB anonymous mapping, written once: with THP always
// one huge page (do_huge_pmd_anonymous_page), before each THP fork test.
struct ThpWritten {
  static constexpr VAddr kBase = 0x40000000;
  Os t{64 * kMiB, ThpMode::Always};
  ThpWritten() {
    t.os.switch_to(1);
    t.os.mmap(kBase, 2 * kMiB, R | W, false, false);
    t.os.handle_fault(kBase, kWriteFault);
  }
};

// Linux 6.1 copy_huge_pmd() (mm/huge_memory.c) does not split: "pgtable =
// pte_alloc_one(dst_mm)", then for an anonymous huge page "get_page(src_page);
// page_try_dup_anon_rmap(src_page, true, src_vma)" (one more compound
// mapping: page_mapcount of every subpage is 2), "add_mm_counter(dst_mm,
// MM_ANONPAGES, HPAGE_PMD_NR)" (the child's rss is 512),
// "pgtable_trans_huge_deposit(dst_mm, dst_pmd, pgtable)" (one deposited
// PTE page), "pmdp_set_wrprotect(src_mm, addr, src_pmd)" (the parent's PMD
// loses R/W and keeps A and D) and "pmd = pmd_mkold(pmd_wrprotect(pmd));
// set_pmd_at(dst_mm, ...)" (the child's: the same frame, PS, no R/W, no A,
// D kept). No PMD is split: thp_split_pmd stays 0.
TEST(Fork, AHugePageIsSharedWholeWriteProtectedInBoth) {
  ThpWritten w;
  Os& t = w.t;
  const VAddr base = ThpWritten::kBase;
  ASSERT_EQ(t.stat("os.thp.alloc"), 1.0);
  const Lookup before = t.at(1, base);
  ASSERT_EQ(before.level, 2u);
  const std::uint64_t head = before.frame >> 12;
  t.os.fork(2);
  const Lookup par = t.at(1, base + 5 * k4K), chi = t.at(2, base + 5 * k4K);
  ASSERT_TRUE(par.present && chi.present);
  EXPECT_EQ(par.level, 2u);
  EXPECT_EQ(chi.level, 2u);
  EXPECT_EQ(par.frame, before.frame);
  EXPECT_EQ(chi.frame, before.frame);
  const std::uint64_t bits = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kPS;
  EXPECT_EQ(par.entry & bits, pte::kP | pte::kUS | pte::kA | pte::kD | pte::kPS);
  EXPECT_EQ(chi.entry & bits, pte::kP | pte::kUS | pte::kD | pte::kPS);
  EXPECT_EQ(t.os.mapcount(head), 2u);
  EXPECT_EQ(t.os.mapcount(head + 511), 2u);
  EXPECT_EQ(t.os.process(2)->rss_pages, 512u);
  EXPECT_EQ(t.os.process(2)->deposited.size(), 1u);
  EXPECT_EQ(t.counter("os.thp.split_pmd"), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// The first write after the fork, by the child, to the 6th 4 KiB page:
// do_huge_pmd_wp_page() finds the page neither PageAnonExclusive (cleared
// by page_try_dup_anon_rmap at fork) nor with "folio_ref_count(folio) ==
// 1" (the parent holds it), so "__split_huge_pmd(vma, vmf->pmd,
// vmf->address, false, NULL); return VM_FAULT_FALLBACK": the child's PMD
// becomes 512 PTEs of the same frames (__split_huge_pmd_locked, "write =
// pmd_write(old_pmd)": read-only; thp_split_pmd 1; the deposited page
// table is withdrawn and used). handle_pte_fault() then takes the write
// fault on the read-only PTE: do_wp_page() -> wp_page_copy(), one new
// frame for the child (cow 1, cow_copy 1), all in the one fault (pgfault
// 2 in all). The parent still maps the page huge, read-only; frame 5 is the
// parent's alone now (mapcount 1), the 511 others are mapped twice (the
// parent's PMD, the child's PTE).
TEST(Fork, TheFirstWriteSplitsTheWritersPmdAndCopiesOne4KPage) {
  ThpWritten w;
  Os& t = w.t;
  const VAddr base = ThpWritten::kBase;
  const std::uint64_t head = t.at(1, base).frame >> 12;
  t.os.fork(2);
  t.os.switch_to(2);
  ASSERT_EQ(t.os.handle_fault(base + 5 * k4K, kWriteProtFault).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.pgfault"), 2u);
  EXPECT_EQ(t.counter("os.faults.cow"), 1u);
  EXPECT_EQ(t.counter("os.faults.cow_copy"), 1u);
  EXPECT_EQ(t.counter("os.thp.split_pmd"), 1u);
  EXPECT_EQ(t.at(2, base + 5 * k4K).level, 1u);
  EXPECT_NE(t.frame(2, base + 5 * k4K), head + 5);
  EXPECT_TRUE(t.pte(2, base + 5 * k4K) & pte::kRW);
  EXPECT_EQ(t.frame(2, base + 6 * k4K), head + 6);
  EXPECT_FALSE(t.pte(2, base + 6 * k4K) & pte::kRW);
  EXPECT_EQ(t.at(1, base).level, 2u);
  EXPECT_FALSE(t.at(1, base).entry & pte::kRW);
  EXPECT_EQ(t.os.mapcount(head + 5), 1u);
  EXPECT_EQ(t.os.mapcount(head + 6), 2u);
  EXPECT_TRUE(t.os.process(2)->deposited.empty());
  EXPECT_EQ(t.os.process(2)->rss_pages, 512u);
  EXPECT_EQ(t.os.check_invariants(), "");
  // The parent's write to the 8th page: its PMD is the last huge mapping,
  // but the child's PTEs still map 511 of its frames (folio_ref_count > 1):
  // split and copy again (thp_split_pmd 2, cow_copy 2).
  t.os.switch_to(1);
  ASSERT_EQ(t.os.handle_fault(base + 7 * k4K, kWriteProtFault).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.thp.split_pmd"), 2u);
  EXPECT_EQ(t.counter("os.faults.cow_copy"), 2u);
  EXPECT_NE(t.frame(1, base + 7 * k4K), head + 7);
  EXPECT_EQ(t.os.mapcount(head + 7), 1u);  // the child's
  EXPECT_EQ(t.os.check_invariants(), "");
  // Exits: every frame goes with its last mapping.
  const std::uint64_t free_before_exits = t.free_pages();
  t.os.exit_current();
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.switch_to(2);
  t.os.exit_current();
  EXPECT_EQ(t.os.check_invariants(), "");
  EXPECT_GT(t.free_pages(), free_before_exits + 512);
}

// The child exits before anyone writes: the parent's PMD is the only
// mapping again. do_huge_pmd_wp_page(): "if (folio_ref_count(folio) == 1)
// { ... page_move_anon_rmap(page, vma); ... reuse: entry =
// maybe_pmd_mkwrite(pmd_mkdirty(entry), vma); pmdp_set_access_flags(...);
// return VM_FAULT_WRITE; }": the PMD is made writable in place, no split,
// no copy-on-write counted.
TEST(Fork, TheLastMapperOfASharedHugePageReusesItsPmd) {
  ThpWritten w;
  Os& t = w.t;
  const VAddr base = ThpWritten::kBase;
  const std::uint64_t head = t.at(1, base).frame >> 12;
  t.os.fork(2);
  t.os.switch_to(2);
  t.os.exit_current();
  EXPECT_EQ(t.os.mapcount(head), 1u);
  t.os.switch_to(1);
  ASSERT_EQ(t.os.handle_fault(base + 3 * k4K, kWriteProtFault).result, FaultResult::Handled);
  const Lookup l = t.at(1, base);
  EXPECT_EQ(l.level, 2u);
  EXPECT_EQ(l.frame >> 12, head);
  EXPECT_TRUE(l.entry & pte::kRW);
  EXPECT_EQ(t.counter("os.thp.split_pmd"), 0u);
  EXPECT_EQ(t.counter("os.faults.cow"), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// mprotect(PROT_READ) then mprotect(PROT_READ|PROT_WRITE) after the fork:
// change_huge_pmd() (mm/huge_memory.c) sets "entry = pmd_modify(oldpmd,
// newprot)" with a private mapping's vm_page_prot, which has no R/W, and
// asserts "BUG_ON(vma_is_anonymous(vma) && !preserve_write &&
// pmd_write(entry))": the shared PMD stays read-only in the parent.
TEST(Fork, MprotectAfterForkKeepsASharedHugePageReadOnly) {
  ThpWritten w;
  Os& t = w.t;
  const VAddr base = ThpWritten::kBase;
  t.os.fork(2);
  t.os.mprotect(base, 2 * kMiB, R);
  t.os.mprotect(base, 2 * kMiB, R | W);
  EXPECT_EQ(t.at(1, base).level, 2u);
  EXPECT_FALSE(t.at(1, base).entry & pte::kRW);
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
