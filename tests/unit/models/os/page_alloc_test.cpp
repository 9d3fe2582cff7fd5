// Unit tests of the page allocator (models/os/mm/page_alloc.h,
// mm/page_alloc.c): the buddyinfo statistics and os.fragmentation.
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

TEST(OsModel, BuddyinfoStatisticsFollowTheAllocator) {
  Os t(params(4, ThpMode::Always));
  auto check = [&] {
    for (unsigned o = 0; o <= 10; ++o)
      EXPECT_EQ(t.formula("os.buddy.free_blocks." + std::to_string(o)),
                static_cast<double>(t.os.buddy().free_blocks(o)))
          << "order " << o;
    EXPECT_EQ(t.root.find("os.buddy.free_blocks.11"), nullptr);
    EXPECT_EQ(t.formula("os.buddy.free_pages"), static_cast<double>(t.os.buddy().free_pages()));
  };
  check();
  // At boot (see the top of this file): DMA has [256, 512) order 8, [512, 1024)
  // order 9 and 3 order-10 blocks; DMA32 has [4097] .. [4608, 5120), one block
  // each of orders 0..9 after the idle root, and 11 order-10 blocks.
  EXPECT_EQ(t.formula("os.buddy.free_blocks.10"), 14.0);
  EXPECT_EQ(t.formula("os.buddy.free_blocks.9"), 2.0);
  EXPECT_EQ(t.formula("os.buddy.free_blocks.8"), 2.0);
  for (unsigned o = 0; o <= 7; ++o) EXPECT_EQ(t.formula("os.buddy.free_blocks." + std::to_string(o)), 1.0) << o;
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 8 * kMiB, R | W, false, false);
  for (VAddr va = 0x40000000; va < 0x40800000; va += k2M) t.touch(va);
  t.os.mmap(0x80000000, 3 * kMiB, R | W, false, false);  // [0x80200000, 0x80300000) cannot be huge
  for (VAddr va = 0x80200000; va < 0x80300000; va += k4K) t.touch(va);
  check();
  t.os.munmap(0x40000000, 3 * kMiB);
  check();
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
    OsParams p = machine_params(64 * kMiB, ThpMode::Always, 0);
    p.fragmentation_percent = 50;
    p.seed = seed;
    OsModel os(p, mem, mmu, root.group("os"));
    EXPECT_EQ(root.find("os.fragmentation.pinned_pages")->formula(), 16.0);
    EXPECT_EQ(os.buddy().free_blocks(9) + 2 * os.buddy().free_blocks(10), 15u) << seed;
    EXPECT_EQ(os.check_invariants(), "");
    os.switch_to(1);
    os.mmap(0x40000000, 64 * kMiB, R | W, false, false);
    for (int i = 0; i < 32; ++i)
      ASSERT_EQ(os.handle_fault(0x40000000 + i * 2 * kMiB, kWriteFault).result, FaultResult::Handled);
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
    OsParams p = machine_params(64 * kMiB, ThpMode::Never, 0);
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

// ---------------------------------------------------------------- PageAllocator

// The low 1 MiB is reserved at boot (256 frames: x86 Linux's
// reserve_real_mode and the "reserve low 1MB" memblock reservation). Without
// the kernel half the idle root takes frame 4096 (the first of ZONE_DMA32,
// the highest zone a 64 MiB machine has; see os_fixture.h), which leaves
// frame 4097 at the head of order 0: the next order-0 request gets it.
TEST(PageAllocator, BootReservesTheLow1MiBAndHandsOutTheLowestFreeFrame) {
  Os t(params());
  PageAllocator& a = t.os.page_allocator();
  EXPECT_EQ(PageAllocator::kReservedLowPages, 256u);
  for (std::uint64_t pfn : {0ull, 255ull}) EXPECT_FALSE(a.buddy().is_free(pfn));
  EXPECT_TRUE(a.buddy().is_free(256));
  std::uint64_t pfn = 0;
  ASSERT_TRUE(a.alloc_frame(0, &pfn, nullptr));
  EXPECT_EQ(pfn, 4097u);
  ASSERT_TRUE(a.alloc_frame(1, &pfn, nullptr));
  EXPECT_EQ(pfn, 4098u);
  // GFP_KERNEL (highest zone Normal) may use DMA32 and DMA here too.
  const auto n = a.page_alloc(0, ZoneType::Normal);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4100u);
  EXPECT_TRUE(a.pinned().empty());
}

}  // namespace
}  // namespace mmusim
