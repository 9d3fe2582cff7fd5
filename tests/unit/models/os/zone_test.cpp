// Unit tests for the zoned page allocator (models/os/zone.h).
//
// Every expected figure is derived by hand in the comments from the Linux
// rules the header cites, not read back from the code.
#include "models/os/zone.h"

#include <gtest/gtest.h>

#include "models/common/stats.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kMiBPages = 256;  // 4 KiB frames per MiB

const Zone& zone(const ZonedPageAllocator& a, unsigned node, ZoneType t) {
  for (const Zone& z : a.zones())
    if (z.node == node && z.type == t) return z;
  throw std::runtime_error("no such zone");
}

// 64 MiB, one node, 64-bit layout: DMA [0, 4096) and DMA32 [4096, 16384);
// the low 1 MiB (256 frames) is reserved out of DMA.
TEST(Zones, LayoutAndWatermarksOf64MiB) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  ASSERT_EQ(a.zones().size(), 2u);
  const Zone& dma = zone(a, 0, ZoneType::Dma);
  const Zone& dma32 = zone(a, 0, ZoneType::Dma32);
  EXPECT_EQ(dma.base_pfn(), 0u);
  EXPECT_EQ(dma.end_pfn(), 4096u);
  EXPECT_EQ(dma32.base_pfn(), 4096u);
  EXPECT_EQ(dma32.end_pfn(), 16384u);
  EXPECT_EQ(dma.managed_pages, 3840u);
  EXPECT_EQ(dma32.managed_pages, 12288u);
  // lowmem = 16128 pages = 64512 KiB; int_sqrt(64512 * 16 = 1032192) = 1015
  // (1015^2 = 1030225 <= 1032192 < 1016^2 = 1032256).
  EXPECT_EQ(a.min_free_kbytes(), 1015u);
  // pages_min = 1015 / 4 = 253; DMA: 253 * 3840 / 16128 = 60 (60.2);
  // DMA32: 253 * 12288 / 16128 = 192 (192.8).
  EXPECT_EQ(dma.wmark_min, 60u);
  EXPECT_EQ(dma32.wmark_min, 192u);
  // d = max(min / 4, managed * 10 / 10000): DMA max(15, 3) = 15, DMA32 max(48, 12) = 48.
  EXPECT_EQ(dma.wmark_low, 75u);
  EXPECT_EQ(dma.wmark_high, 90u);
  EXPECT_EQ(dma32.wmark_low, 240u);
  EXPECT_EQ(dma32.wmark_high, 288u);
}

// buddyinfo after boot: DMA's first 4 MiB block [0, 1024) loses [0, 256) to
// the reservation, leaving [256, 512) (order 8) and [512, 1024) (order 9);
// [1024, 4096) is three order-10 blocks; DMA32 is 12 order-10 blocks.
TEST(Zones, BuddyinfoAfterBoot) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  EXPECT_EQ(a.buddyinfo(),
            "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
            "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n");
  EXPECT_EQ(a.free_pages(), 16384u - 256u);
  EXPECT_EQ(a.free_blocks(10), 15u);
  StatGroup root;
  a.register_stats(root.group("os"));
  EXPECT_EQ(root.find("os.node0.DMA.free_blocks.9")->formula(), 1.0);
  EXPECT_EQ(root.find("os.node0.DMA32.free_blocks.10")->formula(), 12.0);
  EXPECT_EQ(root.find("os.node0.DMA32.low")->formula(), 240.0);
}

// 32-bit layout with 1 GiB: DMA [0, 4096), Normal [4096, 229376) (896 MiB),
// HighMem [229376, 262144) = 32768 frames.
TEST(Zones, HighmemAbove896MiBIn32BitModes) {
  ZonedPageAllocator a(1024 * kMiBPages, 10, 1, true, 256);
  ASSERT_EQ(a.zones().size(), 3u);
  const Zone& normal = zone(a, 0, ZoneType::Normal);
  const Zone& high = zone(a, 0, ZoneType::HighMem);
  EXPECT_EQ(normal.base_pfn(), 4096u);
  EXPECT_EQ(normal.end_pfn(), 229376u);
  EXPECT_EQ(high.base_pfn(), 229376u);
  EXPECT_EQ(high.managed_pages, 32768u);
  // lowmem = 3840 + 225280 = 229120 pages = 916480 KiB; int_sqrt(14663680) =
  // 3829; pages_min = 957; Normal: 957 * 225280 / 229120 = 940 (940.96).
  // HighMem (__setup_per_zone_wmarks, Linux 6.1): tmp = 957 * 32768 /
  // 229120 = 136 (136.87); min = clamp(32768 / 1024, 32, 128) = 32; the gap
  // is max(tmp >> 2, 32768 * 10 / 10000) = max(34, 32) = 34, from the
  // uncapped tmp: low = 66, high = 100.
  EXPECT_EQ(high.wmark_min, 32u);
  EXPECT_EQ(high.wmark_low, 66u);
  EXPECT_EQ(high.wmark_high, 100u);
  EXPECT_EQ(a.min_free_kbytes(), 3829u);
  EXPECT_EQ(normal.wmark_min, 940u);
  // A GFP_HIGHUSER request takes HighMem first; GFP_KERNEL never gets it.
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 229376u);
  EXPECT_EQ(*a.alloc(0, ZoneType::Normal, Watermark::Low), 4096u);
  EXPECT_EQ(a.zone_of(229376u)->type, ZoneType::HighMem);
}

// lowmem_reserve (setup_per_zone_lowmem_reserve, ratios DMA 256, DMA32 256,
// NORMAL 32, HIGHMEM 0), 32-bit layout with 1 GiB: managed DMA 3840, Normal
// 225280, HighMem 32768 (see HighmemAbove896MiBIn32BitModes).
//   DMA[Normal] = 225280 / 256 = 880; DMA[HighMem] = (225280 + 32768) / 256
//   = 258048 / 256 = 1008; Normal[HighMem] = 32768 / 32 = 1024; HighMem: 0.
// And 64-bit with 64 MiB: DMA[DMA32] = 12288 / 256 = 48 (no Normal zone:
// DMA[Normal] = 48 too); DMA32[Normal] = 0.
TEST(Zones, LowmemReserveAsSetupPerZoneLowmemReserve) {
  ZonedPageAllocator a(1024 * kMiBPages, 10, 1, true, 256);
  const Zone& dma = zone(a, 0, ZoneType::Dma);
  const Zone& normal = zone(a, 0, ZoneType::Normal);
  const Zone& high = zone(a, 0, ZoneType::HighMem);
  EXPECT_EQ(dma.lowmem_reserve[static_cast<unsigned>(ZoneType::Normal)], 880u);
  EXPECT_EQ(dma.lowmem_reserve[static_cast<unsigned>(ZoneType::HighMem)], 1008u);
  EXPECT_EQ(normal.lowmem_reserve[static_cast<unsigned>(ZoneType::Normal)], 0u);
  EXPECT_EQ(normal.lowmem_reserve[static_cast<unsigned>(ZoneType::HighMem)], 1024u);
  EXPECT_EQ(high.lowmem_reserve[static_cast<unsigned>(ZoneType::HighMem)], 0u);
  StatGroup root;
  a.register_stats(root.group("os"));
  EXPECT_EQ(root.find("os.node0.DMA.lowmem_reserve.HighMem")->formula(), 1008.0);
  EXPECT_EQ(root.find("os.node0.Normal.lowmem_reserve.HighMem")->formula(), 1024.0);

  ZonedPageAllocator b(64 * kMiBPages, 10, 1, false, 256);
  EXPECT_EQ(zone(b, 0, ZoneType::Dma).lowmem_reserve[static_cast<unsigned>(ZoneType::Dma32)], 48u);
  EXPECT_EQ(zone(b, 0, ZoneType::Dma).lowmem_reserve[static_cast<unsigned>(ZoneType::Normal)], 48u);
  EXPECT_EQ(zone(b, 0, ZoneType::Dma32).lowmem_reserve[static_cast<unsigned>(ZoneType::Normal)], 0u);
}

// The reserve in the watermark check, same 1 GiB 32-bit layout. HighMem is
// taken away; GFP_HIGHUSER requests at the low watermark then fall back to
// Normal while its free pages exceed low + 1024 = 1175 + 1024 = 2199 (low
// 1175: min 940 + max(940 / 4, 225280 * 10 / 10000) = 940 + 235), i.e.
// 225280 - 2199 = 223081 pages, then to DMA while free exceeds low + 1008 =
// 1028 (DMA min 957 * 3840 / 229120 = 16, low 16 + max(4, 3) = 20): 3840 -
// 1028 = 2812 pages; then they fail. A GFP_KERNEL request still gets a
// Normal page (no reserve against itself), and Watermark::None ignores
// reserves.
TEST(Zones, LowmemReserveProtectsLowerZonesFromHigherRequests) {
  ZonedPageAllocator a(1024 * kMiBPages, 10, 1, true, 256);
  a.reserve(229376, 32768);
  std::uint64_t from_normal = 0, from_dma = 0;
  while (auto pfn = a.alloc(0, ZoneType::HighMem, Watermark::Low)) ++(*pfn < 4096 ? from_dma : from_normal);
  EXPECT_EQ(from_normal, 223081u);
  EXPECT_EQ(from_dma, 2812u);
  EXPECT_EQ(zone(a, 0, ZoneType::Normal).free_pages(), 2199u);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma).free_pages(), 1028u);
  auto k = a.alloc(0, ZoneType::Normal, Watermark::Low);
  ASSERT_TRUE(k.has_value());
  EXPECT_GE(*k, 4096u);
  EXPECT_TRUE(a.alloc(0, ZoneType::HighMem, Watermark::None).has_value());
  EXPECT_EQ(a.check_invariants(), "");
}

// No DMA32 and no HighMem when memory ends below 16 MiB... memory ends at
// 32 MiB: DMA [0, 4096), DMA32 [4096, 8192).
TEST(Zones, FallbackOrderFollowsTheZonelistAndWatermarks) {
  ZonedPageAllocator a(32 * kMiBPages, 10, 1, false, 256);
  const Zone& dma32 = zone(a, 0, ZoneType::Dma32);
  // Drain DMA32 down to its low watermark with order-0 allocations at Low:
  // each succeeds while free - 0 > low.
  std::uint64_t from_dma32 = 0;
  while (true) {
    auto pfn = a.alloc(0, ZoneType::Normal, Watermark::Low);
    ASSERT_TRUE(pfn.has_value());
    if (*pfn < 4096) break;  // fell back to DMA
    ++from_dma32;
  }
  // DMA32 free after the loop must be exactly its low watermark.
  EXPECT_EQ(dma32.free_pages(), dma32.wmark_low);
  EXPECT_EQ(from_dma32, 4096u - dma32.wmark_low);
  // At Min the same request may still use DMA32.
  auto pfn = a.alloc(0, ZoneType::Normal, Watermark::Min);
  ASSERT_TRUE(pfn.has_value());
  EXPECT_GE(*pfn, 4096u);
  EXPECT_TRUE(a.below(ZoneType::Normal, Watermark::Low));
  EXPECT_FALSE(a.below(ZoneType::Normal, Watermark::Min));
  // A DMA-only request never leaves ZONE_DMA.
  EXPECT_LT(*a.alloc(0, ZoneType::Dma, Watermark::None), 4096u);
  EXPECT_EQ(a.check_invariants(), "");
}

// Two nodes of 32 MiB: node 0 = DMA [0, 4096) + DMA32 [4096, 8192); node 1 =
// DMA32 [8192, 16384).
TEST(Zones, NumaNodesSplitMemoryAndCountHitsAndMisses) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 2, false, 256);
  ASSERT_EQ(a.zones().size(), 3u);
  EXPECT_EQ(zone(a, 1, ZoneType::Dma32).base_pfn(), 8192u);
  EXPECT_EQ(zone(a, 1, ZoneType::Dma32).managed_pages, 8192u);
  EXPECT_EQ(*a.alloc(0, ZoneType::Normal, Watermark::None, 0), 4096u);
  EXPECT_EQ(*a.alloc(0, ZoneType::Normal, Watermark::None, 1), 8192u);
  EXPECT_EQ(a.node_stats(0).numa_hit, 1u);
  EXPECT_EQ(a.node_stats(1).numa_hit, 1u);
  // Exhaust node 0 entirely (DMA32 then DMA), then the next goes to node 1.
  const std::uint64_t node0_free = zone(a, 0, ZoneType::Dma).free_pages() + zone(a, 0, ZoneType::Dma32).free_pages();
  for (std::uint64_t i = 0; i < node0_free; ++i) ASSERT_LT(*a.alloc(0, ZoneType::Normal, Watermark::None, 0), 8192u);
  EXPECT_GE(*a.alloc(0, ZoneType::Normal, Watermark::None, 0), 8192u);
  EXPECT_EQ(a.node_stats(1).numa_miss, 1u);
  EXPECT_EQ(a.node_stats(0).numa_foreign, 1u);
}

TEST(Zones, FreeReturnsToTheOwningZoneAndMerges) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  auto p = a.alloc(3, ZoneType::HighMem, Watermark::None);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, 4096u);  // head of DMA32's first order-10 block
  a.free(*p, 3);
  EXPECT_EQ(a.free_blocks(10), 15u);  // merged back whole
  EXPECT_THROW(a.free(*p, 3), std::logic_error);
  EXPECT_EQ(a.check_invariants(), "");
}

// Random allocations and frees over two nodes and every zone limit, against
// a brute-force shadow of the frames handed out: no frame twice, blocks
// aligned to their order and inside a zone the request allows, and freeing
// everything restores the boot state exactly.
TEST(Zones, RandomWorkloadAgainstABruteForceShadow) {
  ZonedPageAllocator a(96 * kMiBPages, 10, 2, false, 256);
  const std::string boot = a.buddyinfo();
  std::vector<bool> taken(a.num_pages(), false);
  struct Block {
    std::uint64_t pfn;
    unsigned order;
  };
  std::vector<Block> live;
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  const ZoneType limits[] = {ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal, ZoneType::HighMem};
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || next() % 3 != 0) {
      const unsigned order = static_cast<unsigned>(next() % 11 < 8 ? next() % 3 : next() % 11);
      const ZoneType limit = limits[next() % 4];
      const unsigned node = static_cast<unsigned>(next() % 2);
      auto pfn = a.alloc(order, limit, Watermark::None, node);
      if (!pfn) continue;
      ASSERT_EQ(*pfn % (1ull << order), 0u);
      const Zone* z = a.zone_of(*pfn);
      ASSERT_NE(z, nullptr);
      ASSERT_LE(static_cast<unsigned>(z->type), static_cast<unsigned>(limit));
      ASSERT_LE(*pfn + (1ull << order), z->end_pfn());
      for (std::uint64_t f = *pfn; f < *pfn + (1ull << order); ++f) {
        ASSERT_FALSE(taken[f]) << "frame " << f << " handed out twice";
        ASSERT_GE(f, 256u);
        taken[f] = true;
      }
      live.push_back({*pfn, order});
    } else {
      const std::size_t k = next() % live.size();
      for (std::uint64_t f = live[k].pfn; f < live[k].pfn + (1ull << live[k].order); ++f) taken[f] = false;
      a.free(live[k].pfn, live[k].order);
      live[k] = live.back();
      live.pop_back();
    }
    if (step % 5000 == 0) {
      ASSERT_EQ(a.check_invariants(), "");
    }
  }
  for (const Block& b : live) a.free(b.pfn, b.order);
  EXPECT_EQ(a.buddyinfo(), boot);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(ZonedTakeFreeRange, ARangeMustLieInOneZone) {
  // 8192 frames, 64-bit layout: DMA [0, 4096), DMA32 [4096, 8192); the low
  // 256 frames reserved, so DMA has 4096 - 256 = 3840 free and DMA32 4096.
  ZonedPageAllocator z(8192, 10, 1, false, 256);
  ASSERT_EQ(z.free_pages(), 3840u + 4096);
  EXPECT_FALSE(z.take_free_range(2048, 4096));  // straddles DMA and DMA32
  EXPECT_FALSE(z.take_free_range(0, 1024));     // holds the reserved frames
  EXPECT_EQ(z.free_pages(), 3840u + 4096);
  EXPECT_TRUE(z.take_free_range(4096, 4096));
  EXPECT_EQ(z.free_pages(), 3840u);
  EXPECT_EQ(z.check_invariants(), "");
}

}  // namespace
}  // namespace mmusim
