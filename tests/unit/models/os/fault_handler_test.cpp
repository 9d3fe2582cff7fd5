// Unit tests of the page-fault handler (models/os/mm/fault_handler.h,
// mm/memory.c): demand-zero pages, the zero page, leaf rights from the VMA,
// spurious faults and SIGSEGV.
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

// ---------------------------------------------------------------- demand-zero faults

struct FaultCase {
  unsigned levels;
  std::uint32_t error_code;
};

class DemandFault : public ::testing::TestWithParam<FaultCase> {};

// A read fault on private anonymous memory, Linux 6.1 do_anonymous_page():
// "if (!(vmf->flags & FAULT_FLAG_WRITE) && !mm_forbids_zeropage(vma->vm_mm))
// { entry = pte_mkspecial(pfn_pte(my_zero_pfn(vmf->address),
// vma->vm_page_prot)); ... goto setpte; }". vm_page_prot of a private
// read-write mapping is PAGE_COPY: P, U/S, A, NX; no R/W, no D. No page is
// allocated (only the page tables), nothing joins rss.
// The first write is then do_wp_page(): vm_normal_page() is NULL for the
// zero page, so wp_page_copy(), which for is_zero_pfn() allocates a zeroed
// page (alloc_zeroed_user_highpage_movable) and maps it with "entry =
// maybe_mkwrite(pte_mkdirty(entry), vma)": P, R/W, U/S, A, D, NX; the old
// entry goes with ptep_clear_flush_notify (one INVLPG). It is not a
// copy-on-write of a shared page: os.faults.cow stays 0.
class ZeroPage : public ::testing::TestWithParam<unsigned> {};

TEST_P(ZeroPage, AReadMapsTheZeroPageAndTheFirstWriteReplacesIt) {
  const unsigned levels = GetParam();
  Os t(params(levels));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x7f0000000000ull;
  t.os.mmap(base, 16 * k4K, R | W, false, false);
  const VAddr va = base + 3 * k4K + 0xabc;
  FaultOutcome o = t.os.handle_fault(va, pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor);  // nothing to zero
  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kUS | pte::kA | pte::kXD);
  EXPECT_EQ(l.frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1));  // the tables below the root only
  EXPECT_EQ(t.counter("os.zero_page.maps"), 1u);
  // Another page read: the same frame, still nothing allocated.
  ASSERT_EQ(t.touch(base + 9 * k4K, pf::kU).result, FaultResult::Handled);
  EXPECT_EQ(t.at(base + 9 * k4K).frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1));
  EXPECT_EQ(t.check_frames({1}), "");

  // The first write: a protection fault (P, W, U) on the read-only entry.
  const std::size_t invlpgs = t.mmu.invlpgs.size();
  o = t.os.handle_fault(va, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  l = t.at(va);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_NE(l.frame, OsModel::kZeroPfn << 12);
  for (PAddr a = l.frame; a < l.frame + k4K; a += 8) ASSERT_EQ(t.mem.read64(a), 0u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1) - 1);
  EXPECT_EQ(t.counter("os.zero_page.replaced"), 1u);
  EXPECT_EQ(t.counter("os.faults.cow"), 0u);
  EXPECT_EQ(t.counter("os.faults.minor"), 3u);
  ASSERT_EQ(t.mmu.invlpgs.size(), invlpgs + 1);
  // wp_page_copy's ptep_clear_flush(vma, vmf->address): vmf->address is the
  // page's (__handle_mm_fault: ".address = address & PAGE_MASK").
  EXPECT_EQ(t.mmu.invlpgs.back(), va & ~(k4K - 1));
  EXPECT_EQ(t.at(base + 9 * k4K).frame, OsModel::kZeroPfn << 12);  // the other page still reads zeros
  EXPECT_EQ(t.check_frames({1}), "");
  // munmap drops both; the zero page is nobody's to free.
  t.os.munmap(base, 16 * k4K);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.os.check_invariants(), "");
}

INSTANTIATE_TEST_SUITE_P(Levels, ZeroPage, ::testing::Values(4u, 5u),
                         [](const ::testing::TestParamInfo<unsigned>& i) { return "L" + std::to_string(i.param); });

TEST_P(DemandFault, MapsAZeroed4KPage) {
  const FaultCase fc = GetParam();
  Os t(params(fc.levels));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x7f0000000000ull;  // PML4 index 254: near the top of a 4-level user half
  t.os.mmap(base, 16 * k4K, R | W, false, false);
  EXPECT_EQ(t.free_pages(), free0);  // mmap alone allocates nothing

  const VAddr va = base + 3 * k4K + 0xabc;
  FaultOutcome o = t.os.handle_fault(va, fc.error_code | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.counter("os.faults.minor"), 1u);
  EXPECT_EQ(t.counter("os.pgfault"), 1u);
  EXPECT_EQ(t.counter("os.faults.segv"), 0u);

  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.level, 1u);
  ASSERT_EQ(l.path.size(), fc.levels);
  // Non-leaf entries: Linux's _PAGE_TABLE (P, R/W, U/S, A, D), no PS.
  for (unsigned i = 0; i + 1 < fc.levels; ++i) {
    EXPECT_TRUE(has(l.path[i], pte::kP | pte::kRW | pte::kUS | pte::kA)) << "level " << fc.levels - i;
    EXPECT_FALSE(l.path[i] & pte::kPS) << "level " << fc.levels - i;
    EXPECT_FALSE(l.path[i] & pte::kXD) << "level " << fc.levels - i;
  }
  // The PTE: P, R/W, U/S, A, D, and XD for a VMA without PROT_EXEC; nothing else.
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_EQ(l.frame % k4K, 0u);
  EXPECT_GE(l.frame, 1 * kMiB);
  EXPECT_LT(l.frame, 64 * kMiB);
  EXPECT_FALSE(t.os.buddy().is_free(l.frame >> 12));
  for (PAddr a = l.frame; a < l.frame + k4K; a += 8) ASSERT_EQ(t.mem.read64(a), 0u);  // demand-zero
  // Its neighbours in the VMA are still unmapped.
  EXPECT_FALSE(t.at(base + 2 * k4K).present);
  EXPECT_FALSE(t.at(base + 4 * k4K).present);
  // One data page and the tables below the root.
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, fc.levels);
  EXPECT_EQ(t.free_pages(), free0 - 1 - (fc.levels - 1));
  EXPECT_EQ(t.counter("os.pgtable_allocs"), 1u + 1 + (fc.levels - 1));  // idle root, pid 1 root, tables
  EXPECT_EQ(t.check_frames({1}), "");

  // A second page under the same page table costs one frame.
  EXPECT_EQ(t.touch(base + 15 * k4K, fc.error_code | pf::kU).result, FaultResult::Handled);
  EXPECT_EQ(t.free_pages(), free0 - 2 - (fc.levels - 1));
  EXPECT_NE(t.at(base + 15 * k4K).frame, l.frame);
  EXPECT_EQ(t.counter("os.faults.minor"), 2u);
  EXPECT_EQ(t.check_frames({1}), "");
}

// Write faults: a read fault maps the zero page instead (ZeroPage below).
INSTANTIATE_TEST_SUITE_P(Write, DemandFault, ::testing::Values(FaultCase{4, pf::kW}, FaultCase{5, pf::kW}),
                         [](const ::testing::TestParamInfo<FaultCase>& i) {
                           return std::string(i.param.levels == 5 ? "La57" : "Level4") +
                                  (i.param.error_code & pf::kW ? "Write" : "Read");
                         });

TEST(OsModel, FiveLevelFaultAboveTheFourLevelHalf) {
  Os t(params(5));
  t.os.switch_to(1);
  const VAddr va = 0x00ff123456789000ull;  // bits 56:48 = 0x0ff: PML5 index 255
  t.os.mmap(va, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(t.mem.read64(t.root_of(1) + 255 * 8) & pte::kP, pte::kP);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_THROW(t.os.mmap(1ull << 56, k4K, R, false, false), OsError);
}

TEST(OsModel, LeafRightsFollowTheVma) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R, false, false);
  t.os.mmap(0x10001000, k4K, R | X, false, false);
  t.os.mmap(0x10002000, k4K, R | W | X, false, false);
  t.os.mmap(0x10003000, k4K, X, false, false);  // exec-only: x86 cannot deny reads
  ASSERT_EQ(t.touch(0x10000000, pf::kU).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10001000, pf::kU | pf::kI).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10002000, pf::kU | pf::kW).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10003000, pf::kU | pf::kI).result, FaultResult::Handled);
  const std::uint64_t base = pte::kP | pte::kUS | pte::kA;
  EXPECT_EQ(t.at(0x10000000).entry & ~kAddrBits, base | pte::kXD);
  EXPECT_EQ(t.at(0x10001000).entry & ~kAddrBits, base);
  EXPECT_EQ(t.at(0x10002000).entry & ~kAddrBits, base | pte::kRW | pte::kD);
  EXPECT_EQ(t.at(0x10003000).entry & ~kAddrBits, base);
  EXPECT_EQ(t.counter("os.faults.minor"), 4u);
}

TEST(OsModel, NoXdWithoutNx) {
  OsParams p = params();
  p.nx = false;
  Os t(p);
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x10000000).entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD);
}

TEST(OsModel, SpuriousProtectionFaultRepairsTheEntry) {
  // A fault with P = 1 that the VMA allows: the entry is made to agree with
  // the VMA, the stale translation invalidated, and the access retried.
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  Lookup l = t.at(0x10000000);
  t.mem.write64(l.entry_pa, l.entry & ~pte::kRW);  // as if the entry had lost R/W
  t.mmu.clear();
  FaultOutcome o = t.os.handle_fault(0x10000010, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor);
  EXPECT_EQ(t.at(0x10000000).entry, l.entry);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x10000010}));
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- SIGSEGV

enum class Segv { WriteReadOnly, FetchNoExec, NoVma, ProtNone };

class SegvKill : public ::testing::TestWithParam<Segv> {};

TEST_P(SegvKill, KillsTheProcessAndFreesItsFrames) {
  Os t(params());
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(1);
  EXPECT_EQ(t.free_pages(), after_boot - 1);  // the root
  t.os.mmap(0x10000000, 4 * k4K, R | W, false, false);
  t.os.mmap(0x20000000, 4 * k4K, R, false, false);
  t.os.mmap(0x30000000, 4 * k4K, 0, false, false);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.touch(0x10000000 + i * k4K).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x20000000, pf::kU).result, FaultResult::Handled);  // reads are fine
  ASSERT_LT(t.free_pages(), after_boot - 1);
  t.mmu.clear();

  FaultOutcome o;
  switch (GetParam()) {
    case Segv::WriteReadOnly: o = t.os.handle_fault(0x20001000, pf::kU | pf::kW); break;
    case Segv::FetchNoExec: o = t.os.handle_fault(0x10002000, pf::kU | pf::kI | pf::kP); break;
    case Segv::NoVma: o = t.os.handle_fault(0x50000000, pf::kU); break;
    case Segv::ProtNone: o = t.os.handle_fault(0x30000000, pf::kU); break;
  }
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(o.cost_cycles, kMinor);
  EXPECT_NE(o.reason.find("SIGSEGV"), std::string::npos) << o.reason;
  EXPECT_EQ(t.counter("os.faults.segv"), 1u);
  EXPECT_EQ(t.counter("os.faults.minor"), 5u);
  EXPECT_FALSE(t.os.alive(1));
  ASSERT_EQ(t.os.kills().size(), 1u);
  EXPECT_EQ(t.os.kills()[0], o.reason);
  // Everything back: data pages, page tables, and the root.
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.used_pages(), 1u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 0u);
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  // The dead process's root is no longer loaded.
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_THROW(t.os.switch_to(1), OsError);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
  // Another process can run afterwards and reuse the memory.
  t.os.switch_to(2);
  EXPECT_EQ(t.free_pages(), after_boot - 1);
}

INSTANTIATE_TEST_SUITE_P(Causes, SegvKill,
                         ::testing::Values(Segv::WriteReadOnly, Segv::FetchNoExec, Segv::NoVma, Segv::ProtNone),
                         [](const ::testing::TestParamInfo<Segv>& i) {
                           switch (i.param) {
                             case Segv::WriteReadOnly: return "WriteReadOnly";
                             case Segv::FetchNoExec: return "FetchNoExec";
                             case Segv::NoVma: return "NoVma";
                             case Segv::ProtNone: return "ProtNone";
                           }
                           return "?";
                         });

}  // namespace
}  // namespace mmusim
