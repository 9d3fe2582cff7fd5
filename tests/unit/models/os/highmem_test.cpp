// Unit tests of HighMem in the 32-bit modes (models/os/arch/kernel_space.h
// kmap_atomic counting, models/os/mm/page_tables.h HIGHPTE): kmap_atomic for
// HighMem frames and HighMem PTE pages.
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

double root_stat(const StatGroup& root, const std::string& path) {
  const StatGroup::Entry* e = root.find(path);
  if (!e) throw std::runtime_error("no statistic " + path);
  return e->formula();
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
  OsParams p = machine_params(1024 * kMiB, ThpMode::Never, 0);
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
    OsParams p = machine_params(2048 * kMiB, ThpMode::Never, 0);
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
// reclaim(1) (do_try_to_free_pages): get_scan_count() scans (1 >> priority)
// * 60 / 200 = 0 pages at priorities 12 to 1 and, SCAN_EQUAL at priority
// 0, the one page: it was referenced (A set at creation): folio_referenced
// maps the table (1), A is cleared and, the page not yet PG_referenced, it
// is marked and kept on the inactive list (folio_check_references: "we
// need to look twice"); nothing freed. A second reclaim(1) examines it
// again (1): unreferenced but marked - reclaimed: try_to_unmap maps the
// table (1) and the data page is read out through a kmap (1, not a table).
// PTE kmaps 2 + 3 = 5, all kmaps 3 + 4 = 7. A read fault then swaps it in:
// handle_pte_fault's lookup (1), the data page filled (1, not a table) and
// do_swap_page's pte_offset_map_lock (1): 7 and 10.
TEST(Highmem, ReclaimAndSwapInOfAHighPteMapTheTable) {
  PhysicalMemory mem(2048 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p = machine_params(2048 * kMiB, ThpMode::Never, 1 * kMiB);
  p.mode = PagingMode::Ia32;
  p.highmem = true;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.mmap(kHeap, 4096, R | W, false, false);
  os.handle_fault(kHeap, kWriteFault);
  ASSERT_GE(ia32_pte_page(mem, os.process(1)->root, kHeap), kLowmemEnd);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 2u);
  EXPECT_EQ(os.kmap_atomic_count(), 3u);
  ASSERT_EQ(os.reclaim(1, false), 0u);
  EXPECT_EQ(os.kmap_atomic_pte_count(), 3u);
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

// PAE with THP: a 2 MiB page is a PDE in a lowmem page directory; its
// fault zeroes its 512 subpages through 512 data kmaps and the PTE page it
// deposits (pte_alloc_one, a HIGHPTE page) through one. munmap of its first
// 4 KiB splits it with that deposited page: filled (1), then zap_pte_range
// maps it (1).
TEST(Highmem, SplittingAHugePageFillsAHighPteTable) {
  PhysicalMemory mem(2048 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p = machine_params(2048 * kMiB, ThpMode::Always, 0);
  p.mode = PagingMode::Pae;
  p.highmem = true;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.mmap(kHeap, 2 * kMiB, R | W, false, false);  // kHeap is 2 MiB-aligned
  os.handle_fault(kHeap, kWriteFault);
  // 512 subpages cleared, and the PTE page deposited with the huge PMD
  // (do_huge_pmd_anonymous_page -> pte_alloc_one: __GFP_ZERO maps the high
  // page to clear it).
  EXPECT_EQ(os.kmap_atomic_pte_count(), 1u);
  EXPECT_EQ(os.kmap_atomic_count(), 513u);
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

// ---------------------------------------------------------------- KernelSpace kmap counting

// 32-bit kernels map low memory only up to 896 MiB (frame 229376: the
// default __VMALLOC_RESERVE leaves 896 MiB of the 1 GiB kernel space to the
// linear map); kmap_atomic of a frame at or above it takes a slot
// (mm/highmem.c __kmap_local_page_prot), below it returns the linear address.
TEST(KernelSpaceKmap, CountsHighMemFramesOnly) {
  OsParams p = machine_params(1024 * kMiB);
  p.mode = PagingMode::Ia32;
  p.highmem = true;
  OsFixture t(p);
  KernelSpace& k = t.os.kernel_space();
  const std::uint64_t n = k.kmap_atomic_count();
  k.kmap_atomic(229375);
  EXPECT_EQ(k.kmap_atomic_count(), n);
  k.kmap_atomic(229376);
  EXPECT_EQ(k.kmap_atomic_count(), n + 1);
  EXPECT_EQ(k.kmap_atomic_pte_count(), 0u);
  EXPECT_EQ(k.linear_map_bytes(), 896 * kMiB);
  EXPECT_EQ(k.page_offset(), 0xC0000000u);
}

}  // namespace
}  // namespace mmusim
