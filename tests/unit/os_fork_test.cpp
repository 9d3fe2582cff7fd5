// Unit tests of the OS model's fork/copy-on-write, kernel objects, OOM
// badness and invariant checker (models/os/os_model_mm.cpp).
//
// Page tables are read back with a small reader written here from Intel SDM
// Vol. 3A 4.5, not with the model's helpers; expected scores and counts are
// derived by hand in the comments.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kAddrBits = 0x000ffffffffff000ull;
constexpr std::uint8_t R = OsModel::kRead, W = OsModel::kWrite;
constexpr std::uint32_t kWriteFault = pf::kU | pf::kW;
constexpr std::uint32_t kWriteProtFault = pf::kU | pf::kW | pf::kP;
constexpr std::uint32_t kReadFault = pf::kU;

class FakeMmu : public MmuControl {
 public:
  void write_cr3(std::uint64_t value) override { m_cr3 = value; ++cr3_writes; }
  std::uint64_t cr3() const override { return m_cr3; }
  void invlpg(VAddr va) override { invlpgs.push_back(va); }
  void flush_all() override {}
  unsigned cr3_writes = 0;
  std::vector<VAddr> invlpgs;

 private:
  std::uint64_t m_cr3 = 0;
};

// The 4-level leaf entry of va, and its address; 0 if not mapped by a 4 KiB page.
std::uint64_t pte_of(const PhysicalMemory& m, PAddr root, VAddr va, PAddr* where = nullptr) {
  PAddr table = root;
  for (unsigned level = 4; level >= 1; --level) {
    const PAddr epa = table + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
    const std::uint64_t e = m.read64(epa);
    if (level == 1) {
      if (where) *where = epa;
      return e;
    }
    if (!(e & pte::kP) || (e & pte::kPS)) return 0;
    table = e & kAddrBits;
  }
  return 0;
}

struct Os {
  explicit Os(std::uint64_t memory = 64 * kMiB, ThpMode thp = ThpMode::Never, std::uint64_t swap = 0)
      : mem(memory), os(params(memory, thp, swap), mem, mmu, root.group("os")) {}
  static OsParams params(std::uint64_t memory, ThpMode thp, std::uint64_t swap) {
    OsParams p;
    p.memory_bytes = memory;
    p.thp = thp;
    p.swap_bytes = swap;
    p.implicit_vmas = false;
    return p;
  }
  std::uint64_t pte(std::uint32_t pid, VAddr va, PAddr* where = nullptr) const {
    return pte_of(mem, os.process(pid)->root, va, where);
  }
  std::uint64_t frame(std::uint32_t pid, VAddr va) const { return (pte(pid, va) & kAddrBits) >> 12; }
  double stat(const std::string& path) const {
    const StatGroup::Entry* e = root.find(path);
    if (!e) throw std::runtime_error("no statistic " + path);
    return e->counter ? static_cast<double>(e->counter->value()) : e->formula();
  }
  PhysicalMemory mem;
  FakeMmu mmu;
  StatGroup root;
  OsModel os;
};

constexpr VAddr kHeap = 0x10000000;

double root_stat(const StatGroup& root, const std::string& path) {
  const StatGroup::Entry* e = root.find(path);
  if (!e) throw std::runtime_error("no statistic " + path);
  return e->formula();
}

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

TEST(KernelObjects, ProcessesAndVmasComeFromSlabCaches) {
  Os t;
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

TEST(KernelObjects, PaePdptFromThe32BytePgdCache) {
  Os t;
  const PAddr a = t.os.alloc_pae_pdpt();
  const PAddr b = t.os.alloc_pae_pdpt();
  ASSERT_NE(a, 0u);
  EXPECT_EQ(a % 32, 0u);
  EXPECT_EQ(b, a + 32);
  EXPECT_LT(b, 4ull << 30);
  EXPECT_EQ(t.stat("os.slab.pgd_cache.objects"), 2.0);
  t.os.free_pae_pdpt(a);
  t.os.free_pae_pdpt(b);
  EXPECT_EQ(t.stat("os.slab.pgd_cache.objects"), 0.0);
}

// Linux 6.1 oom_badness(): points = get_mm_rss + MM_SWAPENTS +
// mm_pgtables_bytes / PAGE_SIZE, then "adj *= totalpages / 1000; points +=
// adj". mm_pgtables_bytes counts PTE, PMD and PUD pages (mm_inc_nr_ptes/
// pmds/puds), not the PGD. totalpages (constrained_alloc, no constraint) =
// totalram_pages() + total_swap_pages: 16 MiB is 4096 frames, all ZONE_DMA,
// of which the low 1 MiB (256 frames) is reserved at boot, so 3840 managed
// pages and no swap: totalpages / 1000 = 3.
TEST(Oom, VictimByBadnessWithOomScoreAdj) {
  Os t(16 * kMiB);
  // pid 1: 10 pages + 3 accounted tables (PDPT = PUD, PD = PMD, PT; not the
  // PML4 = PGD), adj +100 -> 13 + 100 * 3 = 313.
  t.os.switch_to(1);
  t.os.set_oom_score_adj(100);
  t.os.mmap(kHeap, 10 * 4096, R | W, false, false);
  for (int i = 0; i < 10; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  // pid 2: 20 pages + 3 tables, adj 0 -> 23.
  t.os.switch_to(2);
  t.os.mmap(kHeap, 20 * 4096, R | W, false, false);
  for (int i = 0; i < 20; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(1)), 313);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(2)), 23);
  EXPECT_THROW(t.os.set_oom_score_adj(1001), OsError);
  // pid 3 is unkillable and grows until memory runs out.
  t.os.switch_to(3);
  t.os.set_oom_score_adj(-1000);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(3)), INT64_MIN);
  t.os.mmap(kHeap, 16 * kMiB, R | W, false, false);
  std::vector<std::uint32_t> order;
  for (VAddr va = kHeap; va < kHeap + 16 * kMiB; va += 4096) {
    const std::size_t before = t.os.kills().size();
    FaultOutcome o = t.os.handle_fault(va, kWriteFault);
    if (t.os.kills().size() > before) order.push_back(!t.os.alive(1) && order.empty() ? 1 : !t.os.alive(2) && order.size() == 1 ? 2 : 3);
    if (o.result == FaultResult::Killed) break;
  }
  // First the larger score (pid 1 despite its smaller rss), then pid 2, then
  // with nobody killable left the faulting process itself.
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], 1u);
  EXPECT_EQ(order[1], 2u);
  EXPECT_EQ(order[2], 3u);
  EXPECT_EQ(t.stat("os.oom_kills"), 3.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(Invariants, CatchACorruptedState) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4 * 4096, R | W, false, false);
  t.os.handle_fault(kHeap, kWriteFault);
  t.os.handle_fault(kHeap + 4096, kWriteFault);
  ASSERT_EQ(t.os.check_invariants(), "");
  PAddr where = 0;
  const std::uint64_t e0 = t.pte(1, kHeap);
  const std::uint64_t e1 = t.pte(1, kHeap + 4096, &where);
  // Alias: the second page maps the first page's frame.
  t.mem.write64(where, (e0 & kAddrBits) | (e1 & ~kAddrBits));
  EXPECT_NE(t.os.check_invariants().find("aliased"), std::string::npos) << t.os.check_invariants();
  // A frame that is free in the buddy allocator.
  std::uint64_t free_pfn = 0;
  while (!t.os.buddy().is_free(free_pfn)) ++free_pfn;
  t.mem.write64(where, (free_pfn << 12) | (e1 & ~kAddrBits));
  EXPECT_NE(t.os.check_invariants().find("free in the buddy allocator"), std::string::npos) << t.os.check_invariants();
  // Writable in a read-only VMA.
  t.mem.write64(where, e1);
  ASSERT_EQ(t.os.check_invariants(), "");
  t.os.mprotect(kHeap, 4 * 4096, R);
  t.mem.write64(where, t.pte(1, kHeap + 4096) | pte::kRW);
  EXPECT_NE(t.os.check_invariants().find("read-only VMA"), std::string::npos) << t.os.check_invariants();
}

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
  EXPECT_TRUE(t.pte(1, kHeap + 4096) & pte::kP);      // p2 activated
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

// ---------------------------------------------------------------- fragmentation and THP

// 64 MiB: 16128 free frames after the reserved 1 MiB; 31 wholly free 2 MiB
// ranges (7 in DMA above the first, 24 in DMA32). 50 %: pin one frame in k
// ranges until 511 k >= 0.5 (16128 - k): k = 15 gives 7665 < 8056.5, k = 16
// gives 8176 >= 8056, so 16 ranges are broken and 15 stay whole, whatever
// the seed. A THP-always process then touching each of 32 ranges of a 64 MiB
// VMA gets 15 huge pages and 17 fallbacks (the page tables and slabs it
// needs come from the broken ranges' small blocks).
TEST(Fragmentation, BootPinsFramesAndThpFallsBack) {
  for (std::uint64_t seed : {1ull, 2ull}) {
    PhysicalMemory mem(64 * kMiB);
    FakeMmu mmu;
    StatGroup root;
    OsParams p = Os::params(64 * kMiB, ThpMode::Always, 0);
    p.fragmentation_percent = 50;
    p.seed = seed;
    OsModel os(p, mem, mmu, root.group("os"));
    EXPECT_EQ(root.find("os.fragmentation.pinned_pages")->formula(), 16.0);
    EXPECT_EQ(os.buddy().free_blocks(9) + 2 * os.buddy().free_blocks(10), 15u) << seed;
    EXPECT_EQ(os.check_invariants(), "");
    os.switch_to(1);
    os.mmap(0x40000000, 64 * kMiB, R | W, false, false);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(os.handle_fault(0x40000000 + i * 2 * kMiB, kWriteFault).result, FaultResult::Handled);
    EXPECT_EQ(root.find("os.thp.alloc")->counter->value(), 15u);
    EXPECT_EQ(root.find("os.thp.fallback")->counter->value(), 17u);
    EXPECT_EQ(os.check_invariants(), "");
  }
}

TEST(Fragmentation, SameSeedSamePinsOtherSeedOthers) {
  auto pins = [](std::uint64_t seed) {
    PhysicalMemory mem(64 * kMiB);
    FakeMmu mmu;
    StatGroup root;
    OsParams p = Os::params(64 * kMiB, ThpMode::Never, 0);
    p.fragmentation_percent = 30;
    p.seed = seed;
    OsModel os(p, mem, mmu, root.group("os"));
    std::string s;
    for (std::uint64_t pfn = 0; pfn < 16384; ++pfn)
      if (!os.buddy().is_free(pfn)) s += std::to_string(pfn) + ",";
    return s;
  };
  EXPECT_EQ(pins(7), pins(7));
  EXPECT_NE(pins(7), pins(8));
}

// ---------------------------------------------------------------- highmem

// 1 GiB in the 32-bit zone layout: HighMem is [896 MiB, 1 GiB) and user
// pages come from it first (GFP_HIGHUSER). A demand-zero fault zeroes the
// page through one kmap_atomic; a copy-on-write copy maps source and copy
// (2 more); kernel objects (slab, GFP_KERNEL) never come from HighMem.
TEST(Highmem, TouchingHighMemFramesGoesThroughKmap) {
  PhysicalMemory mem(1024 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p = Os::params(1024 * kMiB, ThpMode::Never, 0);
  p.highmem = true;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.mmap(kHeap, 4096, R | W, false, false);
  os.handle_fault(kHeap, kWriteFault);
  const std::uint64_t pfn = (pte_of(mem, os.process(1)->root, kHeap) & kAddrBits) >> 12;
  EXPECT_GE(pfn, (896 * kMiB) >> 12);
  EXPECT_EQ(os.buddy().zone_of(pfn)->type, ZoneType::HighMem);
  EXPECT_EQ(os.kmap_atomic_count(), 1u);
  os.fork(2);
  os.handle_fault(kHeap, kWriteProtFault);
  EXPECT_EQ(os.kmap_atomic_count(), 3u);
  EXPECT_EQ(root.find("os.highmem.kmap_atomic")->formula(), 3.0);
  const PAddr pdpt = os.alloc_pae_pdpt();
  EXPECT_LT(pdpt, 896 * kMiB);  // pgd_cache slabs are lowmem
  os.free_pae_pdpt(pdpt);
  EXPECT_EQ(os.check_invariants(), "");
}

TEST(Highmem, NoKmapIn64BitModes) {
  Os t(64 * kMiB);
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  t.os.handle_fault(kHeap, kWriteFault);
  EXPECT_EQ(t.os.kmap_atomic_count(), 0u);
}

// HIGHPTE: the 32-bit modes with 2 GiB, ZONE_HIGHMEM = [896 MiB, 2 GiB).
// Page directories are GFP_KERNEL (lowmem); a PTE page is allocated with
// __GFP_HIGHMEM, and the zonelist of such a request starts at HighMem,
// which is far above its watermark here: the first PTE page is a HighMem
// frame, and every kernel visit of it takes one kmap_atomic.
struct HighPte {
  explicit HighPte(PagingMode mode, bool highmem = true) : mem(2048 * kMiB) {
    OsParams p = Os::params(2048 * kMiB, ThpMode::Never, 0);
    p.mode = mode;
    p.highmem = highmem;
    os = std::make_unique<OsModel>(p, mem, mmu, root.group("os"));
  }
  std::uint64_t pte_kmaps() const { return os->kmap_atomic_pte_count(); }
  std::uint64_t kmaps() const { return os->kmap_atomic_count(); }
  PhysicalMemory mem;
  FakeMmu mmu;
  StatGroup root;
  std::unique_ptr<OsModel> os;
};
constexpr PAddr kLowmemEnd = 896 * kMiB;

// The frame of the ia32 PTE page for va (SDM 4.3: PDE index va[31:22],
// 4-byte entries); 0 when the PDE is not present.
PAddr ia32_pte_page(const PhysicalMemory& m, PAddr pd, VAddr va) {
  const std::uint64_t pde = m.read(pd + ((va >> 22) & 1023) * 4, 4);
  return (pde & pte::kP) ? (pde & 0xfffff000ull) : 0;
}

TEST(Highmem, Ia32PageDirectoriesAreLowmemPtePagesHighMem) {
  HighPte t(PagingMode::Ia32);
  EXPECT_LT(t.mmu.cr3(), kLowmemEnd);  // the idle root (swapper_pg_dir)
  t.os->switch_to(1);
  const PAddr pd = t.os->process(1)->root;
  EXPECT_LT(pd, kLowmemEnd);
  // kHeap = 0x10000000 is 4 MiB-aligned: the four pages share one PTE page.
  t.os->mmap(kHeap, 4 * 4096, R | W, false, false);
  EXPECT_EQ(t.pte_kmaps(), 0u);  // a fresh mmap walks no table
  // First fault: no PTE page yet (PDE none, no lookup): pte_alloc zeroes a
  // new one (1) and do_anonymous_page maps it to write the PTE (1); the data
  // page is zeroed through its own kmap (1, not a page table).
  t.os->handle_fault(kHeap, kWriteFault);
  const PAddr pt = ia32_pte_page(t.mem, pd, kHeap);
  ASSERT_NE(pt, 0u);
  EXPECT_GE(pt, kLowmemEnd);
  EXPECT_EQ(t.os->buddy().zone_of(pt >> 12)->type, ZoneType::HighMem);
  EXPECT_EQ(t.pte_kmaps(), 2u);
  EXPECT_EQ(t.kmaps(), 3u);
  // Each later demand fault into the same PTE page: handle_pte_fault's
  // lookup (1) and do_anonymous_page's pte_offset_map_lock (1), + the data page.
  t.os->handle_fault(kHeap + 4096, kWriteFault);
  EXPECT_EQ(t.pte_kmaps(), 4u);
  // A read fault maps the zero page (do_anonymous_page, no
  // FAULT_FLAG_WRITE): the two table maps, but no data page to zero.
  t.os->handle_fault(kHeap + 2 * 4096, kReadFault);
  EXPECT_EQ(t.pte_kmaps(), 6u);
  EXPECT_EQ(t.kmaps(), 8u);
  // munmap of one page inside the PTE page: zap_pte_range maps it once.
  t.os->munmap(kHeap + 2 * 4096, 4096);
  EXPECT_EQ(t.pte_kmaps(), 7u);
  // mprotect of two pages: change_pte_range maps it once.
  t.os->mprotect(kHeap, 2 * 4096, R);
  EXPECT_EQ(t.pte_kmaps(), 8u);
  // fork: copy_pte_range maps the source (1); the child's PTE page is new
  // (zeroed, 1) and mapped to be filled (1). No data page is touched.
  t.os->fork(2);
  EXPECT_EQ(t.pte_kmaps(), 11u);
  EXPECT_EQ(t.kmaps(), 13u);
  const PAddr child_pd = t.os->process(2)->root;
  EXPECT_LT(child_pd, kLowmemEnd);
  EXPECT_GE(ia32_pte_page(t.mem, child_pd, kHeap), kLowmemEnd);
  EXPECT_EQ(root_stat(t.root, "os.highmem.kmap_atomic_pte"), 11.0);
  EXPECT_EQ(root_stat(t.root, "os.highmem.kmap_atomic"), 13.0);
  EXPECT_EQ(t.os->check_invariants(), "");  // the checker's reads count nothing
  EXPECT_EQ(t.pte_kmaps(), 11u);
}

// Reclaim and swap-in of a page whose PTE page is HighMem (ia32, 2 GiB, 1 MiB
// of swap), by hand: the first fault costs 2 PTE kmaps + 1 data kmap. Then
// reclaim(1): the inactive tail was referenced (A set at creation):
// folio_referenced maps the table (1), A is cleared and, the page not yet
// PG_referenced, it is marked and kept on the inactive list
// (folio_check_references: "we need to look twice"); examined again (1), it
// is unreferenced but marked - reclaimed: try_to_unmap maps the table (1)
// and the data page is read out through a kmap (1, not a table). PTE kmaps
// 2 + 3 = 5, all kmaps 3 + 4 = 7. A read fault then swaps it in:
// handle_pte_fault's lookup (1), the data page filled (1, not a table) and
// do_swap_page's pte_offset_map_lock (1): 7 and 10.
TEST(Highmem, ReclaimAndSwapInOfAHighPteMapTheTable) {
  PhysicalMemory mem(2048 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p = Os::params(2048 * kMiB, ThpMode::Never, 1 * kMiB);
  p.mode = PagingMode::Ia32;
  p.highmem = true;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.mmap(kHeap, 4096, R | W, false, false);
  os.handle_fault(kHeap, kWriteFault);
  ASSERT_GE(ia32_pte_page(mem, os.process(1)->root, kHeap), kLowmemEnd);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 2u);
  EXPECT_EQ(os.kmap_atomic_count(), 3u);
  ASSERT_EQ(os.reclaim(1, false), 1u);
  EXPECT_EQ(os.process(1)->swap_pages, 1u);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 5u);
  EXPECT_EQ(os.kmap_atomic_count(), 7u);
  os.handle_fault(kHeap, kReadFault);
  EXPECT_EQ(os.process(1)->swap_pages, 0u);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 7u);
  EXPECT_EQ(os.kmap_atomic_count(), 10u);
  EXPECT_EQ(os.check_invariants(), "");
}

// PAE: the PDPT (pgd_cache) and its three preallocated page directories are
// lowmem; the PTE page of the first fault is HighMem (2 kmaps, as above).
TEST(Highmem, PaeDirectoriesAreLowmem) {
  HighPte t(PagingMode::Pae);
  t.os->switch_to(1);
  const PAddr pdpt = t.os->process(1)->root;
  EXPECT_LT(pdpt, kLowmemEnd);
  for (unsigned i = 0; i < 3; ++i) {
    const std::uint64_t pdpte = t.mem.read64(pdpt + i * 8);
    ASSERT_TRUE(pdpte & pte::kP);
    EXPECT_LT(pdpte & kAddrBits, kLowmemEnd) << "PDPTE " << i;
  }
  t.os->mmap(kHeap, 4096, R | W, false, false);
  t.os->handle_fault(kHeap, kWriteFault);
  // kHeap = 0x10000000: PDPTE 0, PDE 128 (va[29:21]), 8-byte entries.
  const std::uint64_t pd = t.mem.read64(pdpt) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((kHeap >> 21) & 511) * 8);
  ASSERT_TRUE(pde & pte::kP);
  EXPECT_GE(pde & kAddrBits, kLowmemEnd);
  EXPECT_EQ(t.pte_kmaps(), 2u);
  EXPECT_EQ(t.kmaps(), 3u);
}

// PAE with THP: a 2 MiB page is a PDE in a lowmem page directory, so its
// fault maps no PTE page (its 512 subpages are zeroed through 512 data
// kmaps). munmap of its first 4 KiB splits it: a new PTE page is zeroed (1)
// and filled (1), then zap_pte_range maps it (1).
TEST(Highmem, SplittingAHugePageFillsAHighPteTable) {
  PhysicalMemory mem(2048 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p = Os::params(2048 * kMiB, ThpMode::Always, 0);
  p.mode = PagingMode::Pae;
  p.highmem = true;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.mmap(kHeap, 2 * kMiB, R | W, false, false);  // kHeap is 2 MiB-aligned
  os.handle_fault(kHeap, kWriteFault);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 0u);
  EXPECT_EQ(os.kmap_atomic_count(), 512u);
  os.munmap(kHeap, 4096);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 3u);
  EXPECT_EQ(os.kmap_atomic_count(), 515u);
  EXPECT_EQ(os.check_invariants(), "");
}

// 64-bit kernels have no CONFIG_HIGHPTE (and no HighMem): the same events
// count no kmap at all. With the 32-bit zone layout forced on x86_64 the
// tables still come from lowmem; only the data page is a HighMem frame.
TEST(Highmem, NoPageTableKmapIn64BitModes) {
  for (PagingMode mode : {PagingMode::X86_64, PagingMode::X86_64_La57}) {
    for (bool highmem : {false, true}) {
      HighPte t(mode, highmem);
      t.os->switch_to(1);
      t.os->mmap(kHeap, 4 * 4096, R | W, false, false);
      t.os->handle_fault(kHeap, kWriteFault);
      t.os->handle_fault(kHeap + 4096, kWriteFault);
      t.os->munmap(kHeap + 4096, 4096);
      t.os->mprotect(kHeap, 4096, R);
      t.os->fork(2);
      EXPECT_EQ(t.pte_kmaps(), 0u) << static_cast<int>(mode) << " highmem " << highmem;
      EXPECT_EQ(t.kmaps(), highmem ? 2u : 0u) << static_cast<int>(mode);
      PAddr where = 0;
      pte_of(t.mem, t.os->process(1)->root, kHeap, &where);
      if (mode == PagingMode::X86_64) {
        EXPECT_LT(where, kLowmemEnd);
      }
    }
  }
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
  OsModel os(Os::params(16 * kMiB, ThpMode::Madvise, 0), mem, mmu, root.group("os"));
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

// mm_pgtables_bytes / PAGE_SIZE in every mode, one page touched at kHeap.
// Linux accounts PTE pages (mm_inc_nr_ptes in pmd_install), PMD pages
// (mm_inc_nr_pmds: __pmd_alloc, and with PAE the three user PMDs that
// pgd_prepopulate_pmd installs) and PUD pages (mm_inc_nr_puds), never the
// PGD nor a P4D page. totalpages = 3840 managed pages (16 MiB less the
// reserved low 1 MiB) + 16383 usable swap slots (64 MiB = 16384 slots less
// the header, setup_swap_map_and_extents) = 20223; adj 50 adds 50 * 20.
struct OomCase {
  PagingMode mode;
  unsigned levels;
  std::uint64_t tables;     // every page table of the process, root included
  std::uint64_t accounted;  // of them, mm_pgtables_bytes / PAGE_SIZE
};
class OomTables : public testing::TestWithParam<OomCase> {};
TEST_P(OomTables, BadnessCountsWhatLinuxAccounts) {
  const OomCase c = GetParam();
  PhysicalMemory mem(16 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p;
  p.memory_bytes = 16 * kMiB;
  p.mode = c.mode;
  p.levels = c.levels;
  p.highmem = c.mode == PagingMode::Ia32 || c.mode == PagingMode::Pae;
  p.swap_bytes = 64 * kMiB;
  p.implicit_vmas = false;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.set_oom_score_adj(50);
  os.mmap(kHeap, 4096, R | W, false, false);
  ASSERT_EQ(os.handle_fault(kHeap, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(os.process(1)->pgtable_pages, c.tables);
  EXPECT_EQ(os.mm_pgtables_pages(*os.process(1)), c.accounted);
  EXPECT_EQ(os.oom_badness(*os.process(1)), static_cast<std::int64_t>(1 + c.accounted + 50 * 20));
}
INSTANTIATE_TEST_SUITE_P(
    Modes, OomTables,
    testing::Values(OomCase{PagingMode::X86_64, 4, 4, 3},       // PML4 | PDPT PD PT
                    OomCase{PagingMode::X86_64_La57, 5, 5, 3},  // PML5 P4D | PUD PMD PT
                    OomCase{PagingMode::Pae, 3, 5, 4},          // PDPT | 3 PMDs PT
                    OomCase{PagingMode::Ia32, 2, 2, 1}),        // PD | PT
    [](const testing::TestParamInfo<OomCase>& i) { return std::string(paging_mode_name(i.param.mode)); });

// Swap entries of 32-bit paging. arch/x86/include/asm/pgtable-2level.h:
// SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1 = 9, so a 4-byte swap PTE holds
// the offset in bits 31:9, 23 bits: 2^23 slots (32 GiB). swapon's
// read_swap_header() cuts a larger area to swapfile_maximum_size = 2^23
// pages, and slot 0 is the header: total_swap_pages = 2^23 - 1. 64-bit
// entries (46-bit MAXPHYADDR here) address far more: 64 GiB = 2^24 slots
// stay whole, 2^24 - 1 usable.
TEST(Swap32, AnAreaLargerThanASwapEntryAddressesIsCutAndEverySlotRoundTrips) {
  for (PagingMode mode : {PagingMode::Ia32, PagingMode::X86_64}) {
    PhysicalMemory mem(16 * kMiB);
    FakeMmu mmu;
    StatGroup root;
    OsParams p;
    p.memory_bytes = 16 * kMiB;
    p.mode = mode;
    p.levels = mode == PagingMode::Ia32 ? 2 : 4;
    p.highmem = mode == PagingMode::Ia32;
    p.swap_bytes = 64 * (1ull << 30);
    OsModel os(p, mem, mmu, root.group("os"));
    const double total = root.find("os.swap.total")->formula();
    EXPECT_EQ(total, mode == PagingMode::Ia32 ? (1u << 23) - 1.0 : (1u << 24) - 1.0) << paging_mode_name(mode);
    for (std::uint64_t slot : {1ull, 7ull, 8ull, 1ull << 20, (1ull << 20) + 5, (1ull << 23) - 1}) {
      const std::uint64_t e = os.swap_entry(slot);
      EXPECT_EQ(os.swap_slot(e), slot) << slot;
      EXPECT_FALSE(e & pte::kP) << slot;  // not present: every access faults
      if (mode == PagingMode::Ia32) {
        EXPECT_EQ(e >> 32, 0u) << slot;  // fits the 4-byte entry
      }
    }
  }
}

}  // namespace
}  // namespace mmusim
