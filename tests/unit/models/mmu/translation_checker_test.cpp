// The TLB-transparency check (models/mmu/translation_checker.h) and the fork
// flush it was built to catch (models/os/kernel/fork.cpp, Tasks::fork).
//
// Expected translations are derived in the comments from the SDM's entry
// formats (Vol. 3A 4.3 table 4-4/4-6, 4.4 tables 4-8..4-11, 4.5 tables
// 4-15..4-20) and the copy-on-write counts from Linux 6.1 (kernel/fork.c
// dup_mmap, mm/memory.c copy_present_pte and do_wp_page), not from the
// checker's own comments.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu.h"
#include "models/mmu/translation_checker.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/pt_builder.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kUserRw = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;

WalkerParams walker_params(PagingMode mode, unsigned levels = 4) {
  WalkerParams w;
  w.mode = mode;
  w.levels = levels;
  w.phys_addr_bits = mode == PagingMode::Ia32 ? 36 : 46;
  return w;
}

TranslationChecker::Reader reader(const PhysicalMemory& pm) {
  return [&pm](PAddr pa, unsigned bytes) { return pm.read(pa, bytes); };
}

// ---------------------------------------------------------------- the reference walk

TEST(ReferenceWalk, FourLevelPagesOfEverySize) {
  PhysicalMemory pm(64 * kMiB);
  testing_pt::PageTableBuilder b(pm, 4);
  // 4 KiB: PTE = frame | P RW US A D; pa = frame | va[11:0].
  b.map(0x7f0000001000, 0x5000, PageSize::k4K, kUserRw);
  // 2 MiB, read-only and XD (bit 63): pa = PDE[51:21] | va[20:0].
  b.map(0x40000000 + 0x200000, 0x800000, PageSize::k2M, pte::kP | pte::kUS | pte::kA | pte::kXD);
  // 1 GiB, supervisor: pa = PDPTE[51:30] | va[29:0].
  b.map(0x8000000000, 0x40000000, PageSize::k1G, pte::kP | pte::kRW | pte::kA);
  TranslationChecker c(walker_params(PagingMode::X86_64), true, reader(pm));

  ReferenceTranslation t = c.reference(b.root() | 5 /* a PCID */, 0x7f0000001abc);
  EXPECT_TRUE(t.present);
  EXPECT_EQ(t.pa, 0x5abcu);
  EXPECT_EQ(t.size, PageSize::k4K);
  EXPECT_TRUE(t.writable && t.user && t.dirty);
  EXPECT_FALSE(t.nx);

  t = c.reference(b.root(), 0x40000000 + 0x200000 + 0x12345);
  EXPECT_EQ(t.pa, 0x800000u + 0x12345);
  EXPECT_EQ(t.size, PageSize::k2M);
  EXPECT_FALSE(t.writable);
  EXPECT_TRUE(t.nx);
  EXPECT_FALSE(t.dirty);

  t = c.reference(b.root(), 0x8000000000 + 0x3456789);
  EXPECT_EQ(t.pa, 0x40000000u + 0x3456789);
  EXPECT_EQ(t.size, PageSize::k1G);
  EXPECT_FALSE(t.user);

  EXPECT_FALSE(c.reference(b.root(), 0x7f0000002000).present);  // PTE 0: not present
}

TEST(ReferenceWalk, RightsAreTheAndOfTheLevelsAndXdTheOr) {
  PhysicalMemory pm(64 * kMiB);
  testing_pt::PageTableBuilder b(pm, 4);
  // Tables without R/W above a writable PTE: R/W is the AND (SDM 4.6.1).
  b.map(0x1000, 0x9000, PageSize::k4K, kUserRw, pte::kP | pte::kUS | pte::kXD);
  TranslationChecker c(walker_params(PagingMode::X86_64), true, reader(pm));
  const ReferenceTranslation t = c.reference(b.root(), 0x1000);
  EXPECT_FALSE(t.writable);
  EXPECT_TRUE(t.user);
  EXPECT_TRUE(t.nx);  // XD in a table entry: the OR over the levels
}

TEST(ReferenceWalk, FiveLevel) {
  PhysicalMemory pm(64 * kMiB);
  testing_pt::PageTableBuilder b(pm, 5);
  const VAddr va = 0x00ff000000003000ull;  // PML5 index 1
  b.map(va, 0x7000, PageSize::k4K, kUserRw);
  TranslationChecker c(walker_params(PagingMode::X86_64, 5), true, reader(pm));
  EXPECT_EQ(c.reference(b.root(), va + 8).pa, 0x7008u);
  // With 4 levels the same tables would be read from the PML4 index of va
  // bits 47:39 (0): nothing there.
  TranslationChecker four(walker_params(PagingMode::X86_64, 4), true, reader(pm));
  EXPECT_FALSE(four.reference(b.root(), va).present);
}

TEST(ReferenceWalk, Ia32FourMiBPageWithPse36AndAPageTable) {
  PhysicalMemory pm(64 * kMiB);
  testing_pt::Ia32TableBuilder b(pm);
  // Table 4-4: a 4 MiB page's physical bits 35:32 (MAXPHYADDR 36) are PDE
  // bits 16:13; frame 0x3_0040_0000 -> PDE 0x00400000 | 3 << 13.
  b.map(0x00800000, 0x300400000ull, PageSize::k4M, static_cast<std::uint32_t>(pte::kP | pte::kUS));
  // A 4 KiB page under a PDE without U/S: supervisor only (the AND).
  b.map(0x01001000, 0x6000, PageSize::k4K, static_cast<std::uint32_t>(kUserRw),
        static_cast<std::uint32_t>(pte::kP | pte::kRW));
  TranslationChecker c(walker_params(PagingMode::Ia32), true, reader(pm));
  ReferenceTranslation t = c.reference(b.root(), 0x00812345);
  EXPECT_EQ(t.pa, 0x300400000ull + 0x12345);
  EXPECT_EQ(t.size, PageSize::k4M);
  EXPECT_FALSE(t.writable);
  t = c.reference(b.root(), 0x01001010);
  EXPECT_EQ(t.pa, 0x6010u);
  EXPECT_FALSE(t.user);
  EXPECT_TRUE(t.writable);
  EXPECT_FALSE(t.nx);  // 32-bit paging has no XD
}

TEST(ReferenceWalk, PaeReadsThePdptAtCr3) {
  PhysicalMemory pm(64 * kMiB);
  testing_pt::PaeTableBuilder b(pm);
  // PDPTE 2 (va bits 31:30), PDE 1 (29:21): a 2 MiB page with XD.
  b.map(0x80200000, 0x1400000, PageSize::k2M, pte::kP | pte::kRW | pte::kUS | pte::kXD);
  TranslationChecker c(walker_params(PagingMode::Pae), true, reader(pm));
  const ReferenceTranslation t = c.reference(b.pdpt(), 0x80212345);
  EXPECT_EQ(t.pa, 0x1400000u + 0x12345);
  EXPECT_EQ(t.size, PageSize::k2M);
  EXPECT_TRUE(t.nx && t.writable && t.user);
  EXPECT_FALSE(c.reference(b.pdpt(), 0x40000000).present);  // PDPTE 1 is not present
}

// ---------------------------------------------------------------- the MMU with the check

MmuParams mmu_params(PagingMode mode, bool pcid, unsigned levels = 4, bool pwc = false) {
  MmuParams p;
  TlbSpec s;
  s.name = "l1d";
  s.geometry.entries = 16;
  s.geometry.ways = 16;
  s.geometry.page_sizes = {PageSize::k4K, PageSize::k2M, PageSize::k4M, PageSize::k1G};
  p.tlbs.push_back(s);
  p.walker = walker_params(mode, levels);
  if (!pwc) {
    p.walker.pwc_entries = {0, 0, 0, 0, 0, 0};
    p.walker.pwc_ways = {0, 0, 0, 0, 0, 0};
  }
  p.pcid = pcid;
  return p;
}

struct HandBuilt {
  explicit HandBuilt(bool pwc = false)
      : pm(64 * kMiB),
        mem(pm, 10),
        b(pm, 4),
        mmu(mmu_params(PagingMode::X86_64, false, 4, pwc), mem, stats.group("mmu")),
        checker(mmu.walker().params(), true, reader(pm)) {
    mmu.set_checker(&checker);
    mmu.write_cr3(b.root());
  }
  Translation load(VAddr va) { return mmu.translate(va, AccessKind::Load, true, true); }
  StatGroup stats;
  PhysicalMemory pm;
  testing_pt::RecordingMemory mem;
  testing_pt::PageTableBuilder b;
  Mmu mmu;
  TranslationChecker checker;
};

std::string violation(HandBuilt& h, VAddr va, AccessKind kind = AccessKind::Load) {
  try {
    h.mmu.translate(va, kind, true, true);
  } catch (const TransparencyViolation& e) {
    return e.what();
  }
  return "";
}

TEST(TransparencyCheck, AStaleWritableEntryIsCaughtAndAnInvlpgClearsIt) {
  HandBuilt h;
  const auto path = h.b.map(0x10000, 0x20000, PageSize::k4K, kUserRw);
  ASSERT_FALSE(h.load(0x10000).fault);   // walk, fill
  EXPECT_EQ(violation(h, 0x10008), "");  // a hit, coherent
  // R/W cleared in memory without INVLPG: the cached entry grants a write
  // the PTE denies (SDM 4.10.4.2 requires an invalidation here).
  h.b.clear_bits(path.entry[1], pte::kRW);
  const std::string v = violation(h, 0x10008);
  EXPECT_NE(v.find("grants write access the page tables deny"), std::string::npos) << v;
  EXPECT_NE(v.find("0x10008"), std::string::npos) << v;
  EXPECT_NE(v.find("TLB l1d"), std::string::npos) << v;
  EXPECT_NE(v.find("cached pa 0x20008 (4K page) write"), std::string::npos) << v;
  EXPECT_NE(v.find("page tables pa 0x20008 (4K page) read-only"), std::string::npos) << v;
  h.mmu.invlpg(0x10000);
  EXPECT_EQ(violation(h, 0x10008), "");  // walks again: read-only now, coherent
}

TEST(TransparencyCheck, AMovedOrUnmappedPageIsCaught) {
  HandBuilt h;
  const auto path = h.b.map(0x10000, 0x20000, PageSize::k4K, kUserRw);
  ASSERT_FALSE(h.load(0x10000).fault);
  h.b.set(path.entry[1], 0x30000 | kUserRw);
  EXPECT_NE(violation(h, 0x10000).find("maps another physical address"), std::string::npos);
  h.b.set(path.entry[1], 0);
  EXPECT_NE(violation(h, 0x10000).find("maps a page the page tables do not map"), std::string::npos);
}

TEST(TransparencyCheck, FewerRightsThanTheTablesAreNotAnError) {
  HandBuilt h;
  const auto path = h.b.map(0x10000, 0x20000, PageSize::k4K, pte::kP | pte::kUS | pte::kA | pte::kXD);
  ASSERT_FALSE(h.load(0x10000).fault);
  // Rights added without a flush (SDM 4.10.4.3: no invalidation needed; at
  // worst a spurious fault or, here, a second walk).
  h.b.set(path.entry[1], 0x20000 | kUserRw);
  EXPECT_EQ(violation(h, 0x10000), "");
  EXPECT_EQ(violation(h, 0x10000, AccessKind::Store), "");
}

TEST(TransparencyCheck, AStoreThroughADirtyEntryWhoseDirtyFlagWasClearedIsCaught) {
  HandBuilt h;
  const auto path = h.b.map(0x10000, 0x20000, PageSize::k4K, kUserRw);
  ASSERT_FALSE(h.mmu.translate(0x10000, AccessKind::Store, true, true).fault);
  h.b.clear_bits(path.entry[1], pte::kD);  // as writeback's page_mkclean, without its flush
  EXPECT_EQ(violation(h, 0x10000), "");    // a load needs no D
  EXPECT_NE(violation(h, 0x10000, AccessKind::Store).find("dirty flag"), std::string::npos);
}

TEST(TransparencyCheck, AStalePagingStructureCacheEntryIsCaught) {
  HandBuilt h(/*pwc=*/true);
  h.b.map(0x200000, 0x20000, PageSize::k4K, kUserRw);
  const auto other = h.b.map(0x201000, 0x21000, PageSize::k4K, kUserRw);
  ASSERT_FALSE(h.load(0x200000).fault);  // fills the TLB and the PDE cache
  // The PDE now points at a new page table that maps 0x201000 elsewhere;
  // no flush, so the walk for 0x201000 (a TLB miss) starts from the cached
  // PDE and reads the old page table.
  const PAddr pt = h.b.alloc_table();
  h.pm.write64(pt + 1 * 8, 0x44000 | kUserRw);
  h.pm.write64(pt + 0 * 8, 0x20000 | kUserRw);
  h.b.set(other.entry[2], pt | testing_pt::kTableDefault);
  const std::string v = violation(h, 0x201000);
  EXPECT_NE(v.find("started from the paging-structure cache pwc.pd"), std::string::npos) << v;
  EXPECT_NE(v.find("maps another physical address"), std::string::npos) << v;
}

TEST(TransparencyCheck, AFlushLinuxDefersIsAccepted) {
  HandBuilt h;
  const auto path = h.b.map(0x10000, 0x20000, PageSize::k4K, kUserRw);
  ASSERT_FALSE(h.load(0x10000).fault);
  h.b.clear_bits(path.entry[1], pte::kRW);
  std::uint16_t asked = 99;
  h.checker.set_deferred_flush([&asked](std::uint16_t pcid) {
    asked = pcid;
    return true;
  });
  EXPECT_EQ(violation(h, 0x10000), "");
  EXPECT_EQ(asked, 0u);  // the current PCID (0 without CR4.PCIDE)
}

// ---------------------------------------------------------------- fork with PCIDs

// The real MMU and OS model, with the check on; accesses retry after a
// handled fault as the replay does.
struct Machine {
  Machine(PagingMode mode, unsigned levels, bool pcid, bool hook, std::uint64_t swap = 0)
      : pm(64 * kMiB),
        mem(pm, 10),
        mmu(mmu_params(mode, pcid, levels, /*pwc=*/true), mem, stats.group("mmu")),
        checker(mmu.walker().params(), true, reader(pm)) {
    OsParams p;
    p.memory_bytes = 64 * kMiB;
    p.mode = mode;
    p.levels = levels;
    p.pcid = pcid;
    p.implicit_vmas = false;
    p.check_invariants = swap == 0;  // O(memory) per fault: off for the pressure test
    p.swap_bytes = swap;
    os = std::make_unique<OsModel>(p, pm, mmu, stats.group("os"));
    OsModel::TestHooks h;
    h.fork_without_flush_tlb_mm = hook;
    os->set_test_hooks(h);
    checker.set_deferred_flush([this](std::uint16_t id) { return os->tlb_flush_deferred(id); });
    mmu.set_checker(&checker);
  }
  PAddr access(VAddr va, AccessKind kind) {
    for (int i = 0; i < 4; ++i) {
      const Translation t = mmu.translate(va, kind, true, i == 0);
      if (!t.fault) return t.pa;
      const FaultOutcome o = os->handle_fault(t.page_fault.cr2, t.page_fault.error_code);
      if (o.result != FaultResult::Handled) throw std::runtime_error("fault not handled: " + o.reason);
    }
    throw std::runtime_error("fault loop");
  }
  std::uint64_t stat(const std::string& path) const { return stats.find(path)->counter->value(); }
  StatGroup stats;
  PhysicalMemory pm;
  testing_pt::RecordingMemory mem;
  Mmu mmu;
  TranslationChecker checker;
  std::unique_ptr<OsModel> os;
};

struct ForkCase {
  PagingMode mode;
  unsigned levels;
  bool pcid;
};

class ForkThenSwitch : public testing::TestWithParam<ForkCase> {};

constexpr VAddr kHeap = 0x10000000;

// Parent 1 writes two heap pages, forks 2, the child reads one, the parent
// runs again and stores to both. Linux 6.1: copy_present_pte() write-protects
// both PTEs of each private writable page (is_cow_mapping); the parent's
// stores fault, and do_wp_page() finds each page mapped twice, so
// wp_page_copy() copies it: os.faults.cow = 2, two copies, whatever the PCID
// setting. The child keeps the original frames.
void fork_then_switch(Machine& m, PAddr* parent_pa, PAddr* child_pa) {
  m.os->switch_to(1);
  m.os->mmap(kHeap, 2 * 4096, OsModel::kRead | OsModel::kWrite, false, false);
  m.access(kHeap, AccessKind::Store);
  m.access(kHeap + 4096, AccessKind::Store);
  m.os->fork(2);
  m.os->switch_to(2);
  *child_pa = m.access(kHeap, AccessKind::Load);
  m.os->switch_to(1);
  *parent_pa = m.access(kHeap, AccessKind::Store);
  m.access(kHeap + 4096, AccessKind::Store);
  m.access(kHeap, AccessKind::Load);  // a TLB hit, checked
}

TEST_P(ForkThenSwitch, TheParentsStoreCopiesAndNeverReachesTheChildsFrame) {
  const ForkCase c = GetParam();
  Machine m(c.mode, c.levels, c.pcid, /*hook=*/false);
  PAddr parent = 0, child = 0;
  fork_then_switch(m, &parent, &child);
  EXPECT_EQ(m.stat("os.faults.cow"), 2u);
  EXPECT_EQ(m.stat("os.faults.cow_copy"), 2u);
  EXPECT_NE(parent >> 12, child >> 12);
  EXPECT_GT(m.checker.checks(), 0u);
}

TEST_P(ForkThenSwitch, WithTheOldForkTheCheckFiresOnlyWithPcids) {
  const ForkCase c = GetParam();
  Machine m(c.mode, c.levels, c.pcid, /*hook=*/true);
  PAddr parent = 0, child = 0;
  if (!c.pcid) {
    // Without PCIDs the old CR3 reload flushed the parent's entries anyway.
    fork_then_switch(m, &parent, &child);
    EXPECT_EQ(m.stat("os.faults.cow"), 2u);
    return;
  }
  // With PCIDs the switch back to the parent is a no-flush CR3 load and its
  // pre-fork writable entry for kHeap survives: the store would hit it.
  try {
    fork_then_switch(m, &parent, &child);
    FAIL() << "the stale writable entry was not caught";
  } catch (const TransparencyViolation& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("store of 0x10000000"), std::string::npos) << w;
    EXPECT_NE(w.find("grants write access the page tables deny"), std::string::npos) << w;
  }
  EXPECT_EQ(m.stat("os.faults.cow"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ForkThenSwitch,
                         testing::Values(ForkCase{PagingMode::X86_64, 4, false}, ForkCase{PagingMode::X86_64, 4, true},
                                         ForkCase{PagingMode::X86_64_La57, 5, false},
                                         ForkCase{PagingMode::X86_64_La57, 5, true}),
                         [](const testing::TestParamInfo<ForkCase>& i) {
                           return std::string(i.param.levels == 5 ? "La57" : "X86_64") +
                                  (i.param.pcid ? "Pcid" : "NoPcid");
                         });

TEST(DeferredFlush, ReclaimOfAnotherProcessLeavesItsPcidPendingUntilItRunsAgain) {
  Machine m(PagingMode::X86_64, 4, /*pcid=*/true, false, /*swap=*/64 * kMiB);
  m.os->switch_to(1);
  m.os->mmap(kHeap, 4096, OsModel::kRead | OsModel::kWrite, false, false);
  m.access(kHeap, AccessKind::Store);
  const std::uint16_t pcid1 = m.os->pcid_of(1);
  ASSERT_EQ(pcid1, 1u);  // the first of PCIDs 1..6 (TLB_NR_DYN_ASIDS)
  m.os->switch_to(2);
  EXPECT_FALSE(m.os->tlb_flush_deferred(pcid1));
  // Process 2 fills memory until reclaim swaps process 1's page out:
  // try_to_unmap_one() flushes process 1's mm (flush_tlb_mm_range), which is
  // not loaded, so only its tlb_gen moves on.
  const std::uint64_t len = 128 * kMiB;
  m.os->mmap(0x40000000, len, OsModel::kRead | OsModel::kWrite, false, false);
  for (VAddr va = 0x40000000; va < 0x40000000 + len && m.os->process(1)->swap_pages == 0; va += 4096)
    m.access(va, AccessKind::Store);
  ASSERT_EQ(m.os->process(1)->swap_pages, 1u);
  EXPECT_TRUE(m.os->tlb_flush_deferred(pcid1));
  EXPECT_FALSE(m.os->tlb_flush_deferred(m.os->pcid_of(2)));  // the current mm: flushed at once
  // switch_mm_irqs_off(): choose_new_asid() sees the old generation and
  // flushes PCID 1 with the CR3 load; nothing is pending any more.
  m.os->switch_to(1);
  EXPECT_EQ(m.os->pcid_of(1), pcid1);
  EXPECT_FALSE(m.os->tlb_flush_deferred(pcid1));
  m.access(kHeap, AccessKind::Load);  // a major fault brings it back
  EXPECT_EQ(m.stat("os.faults.major"), 1u);
}

// ---------------------------------------------------------------- two CPUs

// Thread 2 of process 1 runs on CPU 1 (a second Mmu with its own checker,
// asking about CPU 1's PCID slots) and caches the writable translation of
// a heap page; process 1 on CPU 0 then makes the page read-only
// (mprotect). The TLB shootdown flushes CPU 1's entry, so CPU 1's store
// walks and faults (the tables deny the write) instead of hitting. With the
// test hook that sends no IPI (a flush reaching only CPU 0, the model before
// shootdowns), CPU 1 hits its stale writable entry: CPU 1's PCID slot is a
// generation behind, but CPU 1 runs the mm, not lazily, so Linux would have
// flushed it at once (flush_tlb_func from the IPI): no deferred flush, and
// the check stops the run. With and without PCIDs.
class TwoCpus : public testing::TestWithParam<bool> {};

TEST_P(TwoCpus, AStaleTranslationOnAnotherCpuIsCaughtUnlessShotDown) {
  for (bool hook : {false, true}) {
    Machine m(PagingMode::X86_64, 4, GetParam(), false);
    StatGroup stats1;
    testing_pt::RecordingMemory mem1(m.pm, 10);
    Mmu mmu1(mmu_params(PagingMode::X86_64, GetParam(), 4, true), mem1, stats1.group("mmu"));
    TranslationChecker checker1(mmu1.walker().params(), true, reader(m.pm));
    checker1.set_deferred_flush([&m](std::uint16_t id) { return m.os->tlb_flush_deferred(id, 1); });
    mmu1.set_checker(&checker1);
    m.checker.set_deferred_flush([&m](std::uint16_t id) { return m.os->tlb_flush_deferred(id, 0); });
    OsModel::TestHooks h;
    h.flush_without_ipis = hook;
    m.os->set_test_hooks(h);
    ASSERT_EQ(m.os->add_cpu(mmu1), 1u);
    m.os->switch_to(1);
    m.os->mmap(kHeap, 4096, OsModel::kRead | OsModel::kWrite, false, false);
    m.access(kHeap, AccessKind::Store);
    m.os->clone(2);
    m.os->set_cpu(1);
    m.os->switch_to_thread(2);
    ASSERT_FALSE(mmu1.translate(kHeap, AccessKind::Store, true, true).fault);  // walked, cached
    m.os->set_cpu(0);
    m.os->mprotect(kHeap, 4096, OsModel::kRead);
    m.os->set_cpu(1);
    if (hook) {
      EXPECT_THROW(mmu1.translate(kHeap, AccessKind::Store, true, true), TransparencyViolation);
    } else {
      EXPECT_TRUE(mmu1.translate(kHeap, AccessKind::Store, true, true).fault);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Pcid, TwoCpus, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& i) { return i.param ? "Pcid" : "NoPcid"; });

}  // namespace
}  // namespace mmusim
