// Unit tests of the page tables (models/os/mm/page_tables.h): the formats of
// the 32-bit modes (SDM 4.3, 4.4) and the PAE pgd_cache.
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

// ---------------------------------------------------------------- 32-bit modes and PCIDs
//
// The tables are read back with the layouts of SDM 4.3 (32-bit paging:
// PDE index = va bits 31:22, PTE index = bits 21:12, 4-byte entries, a
// 4 MiB page's frame = PDE bits 31:22) and 4.4 (PAE: PDPTE index = bits
// 31:30, PDE index = bits 29:21, PTE index = bits 20:12, 8-byte entries;
// a PDPTE has only P and the address, bits 2:1 and 8:5 being reserved).


OsParams params32(PagingMode mode, ThpMode thp = ThpMode::Never, bool pse = true,
                  std::uint64_t memory = 64 * kMiB) {
  OsParams p = params(4, thp, memory, true);
  p.mode = mode;
  p.pse = pse;
  return p;
}

TEST(OsModel32, Ia32BuildsFourByteEntries) {
  Os t(params32(PagingMode::Ia32));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr root = t.root_of(1);
  ASSERT_EQ(t.mmu.cr3_writes.back(), root);
  const VAddr va = 0x10345010;
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const std::uint64_t pde = t.mem.read(root + (va >> 22) * 4, 4);
  EXPECT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  EXPECT_FALSE(pde & pte::kPS);
  // 1024 entries of 4 bytes: the next PDE (4 bytes on) stays empty.
  EXPECT_EQ(t.mem.read(root + ((va >> 22) + 1) * 4, 4), 0u);
  const PAddr pt = pde & 0xfffff000;
  const std::uint64_t e = t.mem.read(pt + ((va >> 12) & 0x3ff) * 4, 4);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD));
  EXPECT_NE(e & 0xfffff000, 0u);
  // A 4-byte PTE whose neighbours are empty: nothing spilled into them.
  EXPECT_EQ(t.mem.read(pt + (((va >> 12) & 0x3ff) + 1) * 4, 4), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 2u);  // the page directory and one page table
}

TEST(OsModel32, Ia32WithPseMapsA4MPageAndWithoutPseDoesNot) {
  for (bool pse : {true, false}) {
    Os t(params32(PagingMode::Ia32, ThpMode::Always, pse));
    t.os.switch_to(1);
    t.os.mmap(0x10000000, 4 * kMiB, R | W, false, false);
    ASSERT_EQ(t.touch(0x10123456).result, FaultResult::Handled);
    const std::uint64_t pde = t.mem.read(t.root_of(1) + (0x10000000 >> 22) * 4, 4);
    ASSERT_TRUE(pde & pte::kP);
    if (pse) {
      EXPECT_TRUE(pde & pte::kPS);
      EXPECT_EQ(pde & 0x3ff000, 0u);  // bits 21:12 of the frame: 4 MiB aligned (PAT bit 12 clear)
      EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1024u);
    } else {
      EXPECT_FALSE(pde & pte::kPS);
      EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
    }
  }
}

TEST(OsModel32, Ia32UsesTheFirst4GiBOnly) {
  Os t(params32(PagingMode::Ia32, ThpMode::Never, true, 8 * kGiB));
  EXPECT_EQ(t.os.buddy().num_pages(), 4 * kGiB / k4K);
}

TEST(OsModel32, PaeBuildsAPdptWithPreallocatedPageDirectories) {
  Os t(params32(PagingMode::Pae));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr pdpt = t.root_of(1);
  EXPECT_EQ(pdpt % 32, 0u);
  EXPECT_LT(pdpt, 4 * kGiB);
  // Three user PDPTEs present with P only; the kernel quarter empty.
  for (unsigned i = 0; i < 3; ++i) {
    const std::uint64_t e = t.mem.read64(pdpt + i * 8);
    EXPECT_EQ(e & 0xfff, pte::kP) << i;
    EXPECT_NE(e & kAddrBits, 0u) << i;
  }
  EXPECT_EQ(t.mem.read64(pdpt + 3 * 8), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> before{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};

  const VAddr va = 0x10345010;
  t.os.mmap(0x10345000, k4K, R | W, false, false);  // not executable: XD with NXE
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(pdpt + (va >> 30) * 8) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((va >> 21) & 511) * 8);
  ASSERT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  const std::uint64_t e = t.mem.read64((pde & kAddrBits) + ((va >> 12) & 511) * 8);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD));
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);

  // Unmapping frees the page table but never a page directory: the PDPTE
  // registers were loaded at the MOV to CR3 and must stay right.
  t.os.munmap(0x10345000, k4K);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> after{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};
  EXPECT_EQ(after, before);
  t.os.exit_current();
  // Only the idle PDPT is left, and it is a pgd_cache slab object: the
  // slab owns its page, which used_pages() leaves out.
  EXPECT_EQ(t.os.used_pages(), 0u);
  EXPECT_EQ(t.idle_root() % 32, 0u);
  EXPECT_LT(t.idle_root(), 1ull << 32);
}

TEST(OsModel32, PaeTwoMegPages) {
  Os t(params32(PagingMode::Pae, ThpMode::Always));
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x10012345).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(t.root_of(1)) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((0x10000000 >> 21) & 511) * 8);
  EXPECT_TRUE(has(pde, pte::kP | pte::kPS));
  EXPECT_EQ(pde & kAddrBits & (2 * kMiB - 1), 0u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
}

TEST(OsModel32, PcidsOnlyIn64BitModes) {
  for (PagingMode m : {PagingMode::Ia32, PagingMode::Pae}) {
    OsParams p = params32(m);
    p.pcid = true;
    PhysicalMemory mem(64 * kMiB);
    FakeMmu mmu;
    StatGroup s;
    EXPECT_THROW(OsModel(p, mem, mmu, s), std::invalid_argument);
  }
}

TEST(KernelObjects, PaePdptFromThe32BytePgdCache) {
  MachineOs t;
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

}  // namespace
}  // namespace mmusim
