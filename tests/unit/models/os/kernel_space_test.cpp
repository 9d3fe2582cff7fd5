// The kernel half of every address space (models/os/arch/kernel_space.h)
// and os.fault_model: accesses (models/os/fault_cost.h), checked with the
// real MMU and walker.
//
// Expected entries and counts are derived by hand from the SDM's formats
// (4.3 table 4-4/4-6, 4.4 table 4-8/4-9, 4.5 tables 4-15/4-16) and Linux's
// layout: PAGE_OFFSET 0xffff888000000000 (4-level; PML4 index 273, PDPT
// index 0), 0xff11000000000000 (5-level; PML5 index 273, P4D index 0),
// 0xc0000000 (32-bit: PDE 768, PDPTE 3); low memory 896 MiB; the kmap slot
// page table covers 0xffe00000 (ia32 PDE 1023; PAE PDPTE 3, PDE 511).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/os_fixture.h"
#include "tests/support/pt_builder.h"

namespace mmusim {
namespace {

using ostest::kGiB;
using ostest::kMiB;
constexpr std::uint64_t kKernDir = pte::kP | pte::kRW | pte::kA | pte::kD;  // _KERNPG_TABLE
constexpr std::uint64_t kKernLeaf = pte::kP | pte::kRW | pte::kA | pte::kD | pte::kG;
constexpr VAddr kOff4 = 0xffff888000000000ull, kOff5 = 0xff11000000000000ull, kOff32 = 0xc0000000ull;

// The port of os.fault_model: accesses: it translates through the real MMU
// in supervisor mode (as the replay does); a fixed 10 cycles an access (the
// tests count accesses, not the MMU's timing).
PAddr supervisor_pa(Mmu& mmu, VAddr va, bool write) {
  Translation t = mmu.translate(va, write ? AccessKind::Store : AccessKind::Load, false, true);
  if (t.fault)
    throw std::logic_error("kernel access faulted at " + std::to_string(va) + " ec " +
                           std::to_string(t.page_fault.error_code));
  return t.pa;
}

using Access = ostest::KernelAccess;
using ostest::RecordingPort;

struct Machine {
  Machine(PagingMode mode, std::uint64_t memory, bool pge = true, bool pse = true, unsigned levels = 4,
          FaultModel fm = FaultModel::Cycles)
      : pm(memory),
        rec(pm, 100),
        mmu(mmu_params(mode, pge, pse, levels), rec, stats.group("mmu")),
        port(10, [this](VAddr va, bool write) { return supervisor_pa(mmu, va, write); }) {
    OsParams p;
    p.memory_bytes = memory;
    p.mode = mode;
    p.levels = levels;
    p.pse = pse;
    p.pge = pge;
    p.implicit_vmas = false;
    p.fault_model = fm;
    p.highmem = mode == PagingMode::Ia32 || mode == PagingMode::Pae;  // as mmusim run sets it
    os = std::make_unique<OsModel>(p, pm, mmu, stats.group("os"));
    if (fm == FaultModel::Accesses) os->set_kernel_port(&port);
    eb = mode == PagingMode::Ia32 ? 4 : 8;
  }
  static MmuParams mmu_params(PagingMode mode, bool pge, bool pse, unsigned levels) {
    MmuParams p;
    TlbSpec s;
    s.name = "l1d";
    s.level = 1;
    s.serves_data = true;
    s.serves_inst = true;
    s.geometry.entries = 16;
    s.geometry.ways = 16;
    s.geometry.page_sizes = {PageSize::k4K, PageSize::k2M, PageSize::k4M, PageSize::k1G};
    s.geometry.policy = ReplacementPolicy::Lru;
    s.latency = 1;
    p.tlbs.push_back(s);
    p.walker.mode = mode;
    p.walker.levels = levels;
    p.walker.pse = pse;
    p.walker.pwc_entries = {0, 0, 0, 0, 0, 0};
    p.walker.pwc_ways = {0, 0, 0, 0, 0, 0};
    p.pge = pge;
    return p;
  }
  std::uint64_t entry(PAddr table, unsigned index) const { return pm.read(table + index * eb, eb); }
  PAddr root(std::uint32_t pid) const { return os->process(pid)->root; }

  StatGroup stats;
  PhysicalMemory pm;
  testing_pt::RecordingMemory rec;
  Mmu mmu;
  RecordingPort port;
  std::unique_ptr<OsModel> os;
  unsigned eb = 8;
};

// ---------------------------------------------------------------- layout

TEST(KernelHalf, X86_64MapsAllMemoryWithGlobal1GPages) {
  Machine m(PagingMode::X86_64, 8 * kGiB);
  EXPECT_EQ(m.os->page_offset(), kOff4);
  EXPECT_EQ(m.os->linear_map_bytes(), 8 * kGiB);
  // 8 GiB = 8 PDPTEs with PS in one PDPT: the only kernel table.
  EXPECT_EQ(m.os->kernel_pgtable_pages(), 1u);
  const std::uint64_t pml4e = m.entry(m.os->idle_root(), 273);
  EXPECT_EQ(pml4e & 0xfff, kKernDir);  // no U/S
  const PAddr pdpt = pml4e & 0x000ffffffffff000ull;
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(m.entry(pdpt, i), i * kGiB | kKernLeaf | pte::kPS | pte::kXD) << i;
  EXPECT_EQ(m.entry(pdpt, 8), 0u);
  // Every other root entry of the idle root is empty.
  for (unsigned i = 0; i < 512; ++i)
    if (i != 273) {
      ASSERT_EQ(m.entry(m.os->idle_root(), i), 0u) << i;
    }
}

TEST(KernelHalf, ProcessesShareTheIdleRootsKernelEntries) {
  Machine m(PagingMode::X86_64, 2 * kGiB);
  m.os->switch_to(1);
  m.os->switch_to(2);
  for (std::uint32_t pid : {1u, 2u}) {
    for (unsigned i = 0; i < 256; ++i) ASSERT_EQ(m.entry(m.root(pid), i), 0u) << pid << " " << i;
    for (unsigned i = 256; i < 512; ++i)
      ASSERT_EQ(m.entry(m.root(pid), i), m.entry(m.os->idle_root(), i)) << pid << " " << i;
  }
  EXPECT_EQ(m.os->process(1)->pgtable_pages, 1u);  // the kernel half is not the process's
  EXPECT_EQ(m.os->check_invariants(), "");
}

TEST(KernelHalf, SupervisorTranslatesUserFaults) {
  Machine m(PagingMode::X86_64, 2 * kGiB);
  m.os->switch_to(1);
  const VAddr va = kOff4 + 0x12345678;
  Translation t = m.mmu.translate(va, AccessKind::Load, false, true);
  ASSERT_FALSE(t.fault);
  EXPECT_EQ(t.pa, 0x12345678u);
  EXPECT_EQ(t.size, PageSize::k1G);
  // A user access to a supervisor page: #PF with P = 1 and U/S = 1 (SDM 4.7).
  t = m.mmu.translate(va, AccessKind::Load, true, true);
  ASSERT_TRUE(t.fault);
  EXPECT_EQ(t.page_fault.error_code, pf::kP | pf::kU);
}

// The point of G: without PCIDs every CR3 write flushes the TLB except the
// global entries (SDM 4.10.4.1), so the kernel's translation survives a
// context switch with CR4.PGE and is walked again without it.
class GlobalSurvivesSwitch : public ::testing::TestWithParam<bool> {};

TEST_P(GlobalSurvivesSwitch, OnlyWithPge) {
  const bool pge = GetParam();
  Machine m(PagingMode::X86_64, 2 * kGiB, pge);
  m.os->switch_to(1);
  const VAddr va = kOff4 + 0x40000000 + 0x5000;
  EXPECT_TRUE(m.mmu.translate(va, AccessKind::Load, false, true).walked);
  EXPECT_FALSE(m.mmu.translate(va, AccessKind::Load, false, true).walked);
  m.os->switch_to(2);
  EXPECT_EQ(m.mmu.translate(va, AccessKind::Load, false, true).walked, !pge);
  const std::uint64_t e = m.entry(m.entry(m.os->idle_root(), 273) & 0x000ffffffffff000ull, 1);
  EXPECT_EQ((e & pte::kG) != 0, pge);
}

INSTANTIATE_TEST_SUITE_P(Pge, GlobalSurvivesSwitch, ::testing::Bool());

TEST(KernelHalf, La57AndPartialGigabytes) {
  {
    // 5-level, 4 GiB: PML5[273] -> P4D; P4D[0] -> PDPT with 4 x 1 GiB.
    Machine m(PagingMode::X86_64_La57, 4 * kGiB, true, true, 5);
    EXPECT_EQ(m.os->page_offset(), kOff5);
    EXPECT_EQ(m.os->kernel_pgtable_pages(), 2u);
    EXPECT_EQ(m.entry(m.os->idle_root(), 273) & 0xfff, kKernDir);
  }
  {
    // 1 GiB + 3 MiB (the OS manages the whole size): one 1 GiB page, one
    // 2 MiB page, 256 4 KiB pages -> PDPT, PD, PT.
    Machine m(PagingMode::X86_64, kGiB + 3 * kMiB);
    EXPECT_EQ(m.os->kernel_pgtable_pages(), 3u);
    m.os->switch_to(1);
    Translation t = m.mmu.translate(kOff4 + kGiB + 2 * kMiB + 0x1234, AccessKind::Store, false, true);
    ASSERT_FALSE(t.fault);
    EXPECT_EQ(t.pa, kGiB + 2 * kMiB + 0x1234);
    EXPECT_EQ(t.size, PageSize::k4K);
    EXPECT_EQ(m.mmu.translate(kOff4 + kGiB + 0x1234, AccessKind::Load, false, true).size, PageSize::k2M);
  }
}

TEST(KernelHalf, Ia32LowmemWith4MPagesAndTheKmapTable) {
  Machine m(PagingMode::Ia32, 2 * kGiB);
  EXPECT_EQ(m.os->page_offset(), kOff32);
  EXPECT_EQ(m.os->linear_map_bytes(), 896 * kMiB);
  // 896 MiB = 224 PDEs with PS (768..991); the kmap page table (PDE 1023).
  EXPECT_EQ(m.os->kernel_pgtable_pages(), 1u);
  const PAddr pd = m.os->idle_root();
  for (unsigned i = 0; i < 224; ++i)
    ASSERT_EQ(m.entry(pd, 768 + i), i * 4 * kMiB | kKernLeaf | pte::kPS) << i;  // no XD in 4-byte entries
  for (unsigned i = 992; i < 1023; ++i) ASSERT_EQ(m.entry(pd, i), 0u) << i;
  EXPECT_EQ(m.entry(pd, 1023) & 0xfff, kKernDir);
  m.os->switch_to(1);
  for (unsigned i = 768; i < 1024; ++i) ASSERT_EQ(m.entry(m.root(1), i), m.entry(pd, i)) << i;
  Translation t = m.mmu.translate(kOff32 + 0x3456789, AccessKind::Load, false, true);
  ASSERT_FALSE(t.fault);
  EXPECT_EQ(t.pa, 0x3456789u);
  EXPECT_EQ(t.size, PageSize::k4M);
  EXPECT_EQ(m.os->check_invariants(), "");
}

TEST(KernelHalf, Ia32WithoutPseUsesPageTables) {
  // 64 MiB of low memory in 4 KiB pages: 16 page tables, plus the kmap one.
  Machine m(PagingMode::Ia32, 64 * kMiB, true, false);
  EXPECT_EQ(m.os->kernel_pgtable_pages(), 17u);
  m.os->switch_to(1);
  Translation t = m.mmu.translate(kOff32 + 0x2345678, AccessKind::Load, false, true);
  ASSERT_FALSE(t.fault);
  EXPECT_EQ(t.pa, 0x2345678u);
  EXPECT_EQ(t.size, PageSize::k4K);
}

TEST(KernelHalf, PaeSharesTheKernelPageDirectory) {
  Machine m(PagingMode::Pae, 2 * kGiB);
  // The kernel page directory (PDPTE 3: 448 PDEs of 2 MiB) and the kmap table (its PDE 511).
  EXPECT_EQ(m.os->kernel_pgtable_pages(), 2u);
  const std::uint64_t pdpte3 = m.entry(m.os->idle_root(), 3);
  EXPECT_EQ(pdpte3 & 0xfff, pte::kP);  // a PDPTE has only P (table 4-8)
  const PAddr kpd = pdpte3 & 0xfffff000ull;
  for (unsigned i = 0; i < 448; ++i) ASSERT_EQ(m.entry(kpd, i), i * 2 * kMiB | kKernLeaf | pte::kPS | pte::kXD) << i;
  EXPECT_EQ(m.entry(kpd, 511) & 0xfff, kKernDir);
  m.os->switch_to(1);
  m.os->switch_to(2);
  EXPECT_EQ(m.entry(m.root(1), 3), pdpte3);
  EXPECT_EQ(m.entry(m.root(2), 3), pdpte3);
  Translation t = m.mmu.translate(kOff32 + 0x7654321, AccessKind::Load, false, true);
  ASSERT_FALSE(t.fault);
  EXPECT_EQ(t.pa, 0x7654321u);
  EXPECT_EQ(m.os->check_invariants(), "");
}

TEST(KernelHalf, ExitKeepsTheKernelTables) {
  Machine m(PagingMode::X86_64, 2 * kGiB);
  const std::uint64_t free0 = m.os->buddy().free_pages();
  const std::uint64_t slab0 = m.os->slab().pages();
  m.os->switch_to(1);
  m.os->mmap(0x400000, 0x10000, OsModel::kRead | OsModel::kWrite, false, false);
  ASSERT_EQ(m.os->handle_fault(0x401000, pf::kW | pf::kU).result, FaultResult::Handled);
  m.os->exit_current();
  EXPECT_EQ(m.os->kernel_pgtable_pages(), 1u);
  // Slab pages taken for task/mm/VMA objects stay with their caches; every
  // other frame (root, PDPT, PD, PT, the data page) is back.
  EXPECT_EQ(m.os->buddy().free_pages(), free0 - (m.os->slab().pages() - slab0));
  EXPECT_EQ(m.os->used_pages(), 1u);  // the idle root
  EXPECT_NE(m.entry(m.os->idle_root(), 273), 0u);
  EXPECT_EQ(m.os->check_invariants(), "");
}

// ---------------------------------------------------------------- fault_model: accesses

TEST(FaultModelAccesses, DemandFaultsIssueTheHandlersWork) {
  Machine m(PagingMode::X86_64, 2 * kGiB, true, true, 4, FaultModel::Accesses);
  m.os->switch_to(1);
  m.os->mmap(0x400000, 0x10000, OsModel::kRead | OsModel::kWrite, false, false);
  const Process& p = *m.os->process(1);
  FaultOutcome o = m.os->handle_fault(0x401000, pf::kW | pf::kU);
  ASSERT_EQ(o.result, FaultResult::Handled);
  // Derived: current->mm (task, 8 bytes), the mm (64), the one VMA (16), the
  // walk reads the empty PML4E and stops (1); the data page is zeroed (1);
  // map() allocates PDPT, PD, PT: each zeroed (one 4 KiB access) and linked
  // (one entry write) = 6; the PTE written (1). 3 + 1 + 1 + 6 + 1 = 12.
  const std::vector<Access>& a = m.port.log;
  ASSERT_EQ(a.size(), 12u);
  const PAddr root = p.root;
  EXPECT_EQ(a[0].pa, p.task_obj);
  EXPECT_EQ(a[1].pa, p.mm_obj);
  EXPECT_EQ(a[2].pa, p.vma_objs[0]);
  EXPECT_EQ(a[3].pa, root + 0 * 8);  // PML4 index of 0x401000 is 0
  EXPECT_FALSE(a[3].write);
  const std::uint64_t pte_val = m.pm.read64(a[11].pa);
  EXPECT_EQ(a[4].pa, pte_val & 0x000ffffffffff000ull);  // the data page
  EXPECT_EQ(a[4].bytes, 4096u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(a[5 + 2 * i].bytes, 4096u) << i;
    EXPECT_TRUE(a[5 + 2 * i].write) << i;
    EXPECT_EQ(a[6 + 2 * i].bytes, 8u) << i;
    EXPECT_TRUE(a[6 + 2 * i].write) << i;
  }
  EXPECT_EQ(a[6].pa, root);  // the PML4E links the new PDPT
  EXPECT_EQ(a[11].bytes, 8u);
  EXPECT_TRUE(a[11].write);
  for (const Access& x : a) {
    EXPECT_EQ(x.va, kOff4 + x.pa);  // all through the linear map
    EXPECT_GE(x.va, kOff4);
  }
  // The per-4 KiB zeroing cost is replaced by the accesses: 700 + 12 x 10.
  EXPECT_EQ(o.cost_cycles, 700u + 12 * 10);

  // The next page, read: the same 3 reads, then PML4E, PDPTE, PDE, PTE read
  // (4); do_anonymous_page maps the zero page, so nothing is zeroed; its PTE
  // written: 8.
  m.port.log.clear();
  o = m.os->handle_fault(0x402000, pf::kU);
  EXPECT_EQ(m.port.log.size(), 8u);
  EXPECT_EQ(o.cost_cycles, 700u + 8 * 10);
  // Then a write to it: the same 3 + 4 reads (the PTE is present now), the
  // new page zeroed (wp_page_copy of the zero page) and the PTE written: 9.
  m.port.log.clear();
  o = m.os->handle_fault(0x402000, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(m.port.log.size(), 9u);
  EXPECT_EQ(o.cost_cycles, 700u + 9 * 10);
  EXPECT_EQ(m.port.log[7].bytes, 4096u);
  EXPECT_TRUE(m.port.log[7].write);
  const StatGroup::Entry* n = m.stats.find("os.kernel.accesses");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->counter->value(), 12u + 8 + 9);
}

TEST(FaultModelAccesses, VmaSearchIsABinarySearch) {
  Machine m(PagingMode::X86_64, 2 * kGiB, true, true, 4, FaultModel::Accesses);
  m.os->switch_to(1);
  // Seven VMAs with gaps (not merged): 0x1000000 + k * 0x100000, 64 KiB each.
  for (unsigned k = 0; k < 7; ++k)
    m.os->mmap(0x1000000 + k * 0x100000, 0x10000, k % 2 ? OsModel::kRead : OsModel::kRead | OsModel::kWrite, false,
               false);
  ASSERT_EQ(m.os->process(1)->vmas.size(), 7u);
  // A fault in VMA 6: probes mid = 3, then 5, then 6 -> three objects read.
  m.os->handle_fault(0x1600000, pf::kU);
  const Process& p = *m.os->process(1);
  ASSERT_GE(m.port.log.size(), 5u);
  EXPECT_EQ(m.port.log[2].pa, p.vma_objs[3]);
  EXPECT_EQ(m.port.log[3].pa, p.vma_objs[5]);
  EXPECT_EQ(m.port.log[4].pa, p.vma_objs[6]);
  EXPECT_EQ(m.port.log[5].pa, p.root);  // then the walk
}

TEST(FaultModelAccesses, HighMemPagesGoThroughAKmapSlot) {
  Machine m(PagingMode::Ia32, 2 * kGiB, true, true, 4, FaultModel::Accesses);
  m.os->switch_to(1);
  m.os->mmap(0x400000, 0x10000, OsModel::kRead | OsModel::kWrite, false, false);
  ASSERT_EQ(m.os->handle_fault(0x401000, pf::kW | pf::kU).result, FaultResult::Handled);
  PAddr pte_pa = 0;
  // The data frame: user pages prefer ZONE_HIGHMEM (GFP_HIGHUSER).
  const PAddr pt = m.entry(m.root(1), 1) & 0xfffff000ull;
  pte_pa = pt + 1 * 4;
  const PAddr frame = m.pm.read(pte_pa, 4) & 0xfffff000ull;
  ASSERT_GE(frame, 896 * kMiB);
  // Find the zeroing: the kmap PTE write, the access at the slot, the clear.
  // Slot 0's PTE: index 512 of the table under PDE 1023 (0xffe00000 >> 12 & 1023).
  const PAddr kmap_pt = (m.entry(m.os->idle_root(), 1023) & 0xfffff000ull) + 512 * 4;
  bool found = false;
  const auto& a = m.port.log;
  // (Page tables in HighMem go through the slot too: every slot access is
  // framed by the PTE write and clear.)
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i].va & ~0xfffull) != OsModel::kKmapBase) continue;
    ASSERT_TRUE(i > 0 && i + 1 < a.size());
    EXPECT_EQ(a[i - 1].pa, kmap_pt);  // set_pte of slot 0
    EXPECT_TRUE(a[i - 1].write);
    EXPECT_EQ(a[i + 1].pa, kmap_pt);  // kunmap_atomic clears it
    EXPECT_TRUE(a[i + 1].write);
    EXPECT_GE(a[i].pa, 896 * kMiB);                                          // only HighMem frames need a slot
    if (a[i].pa == frame && a[i].bytes == 4096 && a[i].write) found = true;  // the slot maps the data frame
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(m.pm.read(kmap_pt, 4), 0u);  // the slot is free again
  EXPECT_EQ(m.os->check_invariants(), "");
}

TEST(FaultModelAccesses, CopyOnWriteReadsTheOldPageAndWritesTheCopy) {
  Machine m(PagingMode::X86_64, 2 * kGiB, true, true, 4, FaultModel::Accesses);
  m.os->switch_to(1);
  m.os->mmap(0x400000, 0x10000, OsModel::kRead | OsModel::kWrite, false, false);
  ASSERT_EQ(m.os->handle_fault(0x401000, pf::kW | pf::kU).result, FaultResult::Handled);
  PAddr pte_pa = 0;
  const PAddr pt = m.entry(m.entry(m.entry(m.root(1), 0) & 0x000ffffffffff000ull, 0) & 0x000ffffffffff000ull, 2) &
                   0x000ffffffffff000ull;
  pte_pa = pt + 1 * 8;
  const PAddr old_frame = m.pm.read64(pte_pa) & 0x000ffffffffff000ull;
  m.os->fork(2);
  m.port.log.clear();
  // The parent writes its shared page: task, mm, one VMA (3); the walk reads
  // PML4E, PDPTE, PDE and the present read-only PTE (4); copy_page reads the
  // old frame and writes the new one (2); the PTE is written (1) = 10.
  FaultOutcome o = m.os->handle_fault(0x401000, pf::kP | pf::kW | pf::kU);
  ASSERT_EQ(o.result, FaultResult::Handled);
  const auto& a = m.port.log;
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(a[6].pa, pte_pa);
  EXPECT_FALSE(a[6].write);
  EXPECT_EQ(a[7].pa, old_frame);
  EXPECT_EQ(a[7].bytes, 4096u);
  EXPECT_FALSE(a[7].write);
  const PAddr new_frame = m.pm.read64(pte_pa) & 0x000ffffffffff000ull;
  EXPECT_NE(new_frame, old_frame);
  EXPECT_EQ(a[8].pa, new_frame);
  EXPECT_TRUE(a[8].write);
  EXPECT_EQ(a[9].pa, pte_pa);
  EXPECT_TRUE(a[9].write);
  EXPECT_EQ(o.cost_cycles, 700u + 10 * 10);  // no cow_copy_per_4k: the accesses replace it
  // The child, now the last sharer, reuses the old frame: 3 + 4 + the PTE = 8.
  m.os->switch_to(2);
  m.port.log.clear();
  o = m.os->handle_fault(0x401000, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(m.port.log.size(), 8u);
  EXPECT_EQ(o.cost_cycles, 700u + 8 * 10);
  EXPECT_EQ(m.os->check_invariants(), "");
}

TEST(FaultModelAccesses, CyclesModelIssuesNothing) {
  Machine m(PagingMode::X86_64, 2 * kGiB, true, true, 4, FaultModel::Cycles);
  m.os->set_kernel_port(&m.port);  // even with a port: the cycles model does not use it
  m.os->switch_to(1);
  m.os->mmap(0x400000, 0x10000, OsModel::kRead | OsModel::kWrite, false, false);
  FaultOutcome o = m.os->handle_fault(0x401000, pf::kW | pf::kU);
  EXPECT_TRUE(m.port.log.empty());
  EXPECT_EQ(o.cost_cycles, 700u + 300);
}

}  // namespace
}  // namespace mmusim
