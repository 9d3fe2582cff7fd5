// Unit tests for the per-CPU page lists and the NUMA counters of the zoned
// page allocator (models/os/zone.h).
//
// Every expected figure is derived by hand in the comments from Linux 6.1's
// mm/page_alloc.c (zone_batchsize, zone_highsize, rmqueue_pcplist,
// __rmqueue_pcplist, rmqueue_bulk, free_unref_page_commit, nr_pcp_free,
// free_pcppages_bulk, zone_statistics) and list.h semantics (list_add puts
// at the head, list_add_tail at the tail, list_first_entry is the head,
// list_last_entry the tail), not read back from the code.
#include <gtest/gtest.h>

#include <vector>

#include "models/common/stats.h"
#include "models/os/zone.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kMiBPages = 256;

const Zone& zone(const ZonedPageAllocator& a, unsigned node, ZoneType t) {
  for (const Zone& z : a.zones())
    if (z.node == node && z.type == t) return z;
  throw std::runtime_error("no such zone");
}

double stat(const StatGroup& root, const std::string& path) {
  const auto* s = root.find(path);
  if (!s) throw std::runtime_error("no statistic " + path);
  return s->formula();
}

// zone_batchsize(): b = min(managed >> 10, SZ_1M / PAGE_SIZE = 256) / 4, at
// least 1, then rounddown_pow_of_two(b + b / 2) - 1, and max(1, that).
TEST(PcpSizes, ZoneBatchsize) {
  // 16 MiB DMA less the reserved 1 MiB: 3840 >> 10 = 3; 3 / 4 = 0 -> 1;
  // rounddown_pow_of_two(1 + 0) - 1 = 0 -> max(1, 0) = 1.
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(3840), 1u);
  // 48 MiB: 12288 >> 10 = 12; 12 / 4 = 3; 3 + 1 = 4 -> 4 - 1 = 3.
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(12288), 3u);
  // 160 MiB: 40960 >> 10 = 40; 40 / 4 = 10; 10 + 5 = 15 -> 8 - 1 = 7.
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(40960), 7u);
  // 1 GiB: 262144 >> 10 = 256 = the 1 MiB cap; 256 / 4 = 64; 64 + 32 = 96
  // -> 64 - 1 = 63 (the "batch: 63" of a large zone in /proc/zoneinfo).
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(262144), 63u);
  // 4 GiB: 1048576 >> 10 = 1024, capped at 256: 63 again.
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(1048576), 63u);
  // A tiny zone: 100 >> 10 = 0 -> 1 -> 0 -> max(1, 0) = 1.
  EXPECT_EQ(ZonedPageAllocator::zone_batchsize(100), 1u);
}

// zone_highsize(): low watermark / CPUs of the zone's node (all online CPUs
// when the node has none), at least batch << 2.
TEST(PcpSizes, ZoneHighsize) {
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(240, 3, 2, 2), 120u);     // 240 / 2
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(240, 3, 20, 20), 12u);    // 240 / 20 = 12 = 3 << 2
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(240, 3, 40, 40), 12u);    // 240 / 40 = 6 < 12
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(400, 63, 0, 4), 252u);    // memoryless node: 400 / 4 = 100 < 252
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(4000, 63, 0, 4), 1000u);  // 4000 / 4
  EXPECT_EQ(ZonedPageAllocator::zone_highsize(153, 1, 4, 8), 38u);      // the node's 4 CPUs: 153 / 4 = 38
}

// 64 MiB, one node: DMA manages 3840 pages, low 75; DMA32 12288, low 240
// (zone_test's LayoutAndWatermarksOf64MiB). With 2 CPUs on the node: DMA32
// batch 3, high 240 / 2 = 120; DMA batch 1, high max(75 / 2 = 37, 4) = 37.
TEST(Pcp, HighAndBatchPerZoneAsZoneinfo) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.set_cpus(2);
  a.enable_pcp();
  for (unsigned c = 0; c < 2; ++c) {
    EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[c].batch, 3u);
    EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[c].high, 120u);
    EXPECT_EQ(zone(a, 0, ZoneType::Dma).pcp[c].batch, 1u);
    EXPECT_EQ(zone(a, 0, ZoneType::Dma).pcp[c].high, 37u);
  }
  StatGroup root;
  a.register_pcp_stats(root.group("os"));
  EXPECT_EQ(stat(root, "os.pcp.node0.DMA32.cpu1.high"), 120.0);
  EXPECT_EQ(stat(root, "os.pcp.node0.DMA.cpu0.batch"), 1.0);
  EXPECT_EQ(stat(root, "os.pcp.node0.DMA32.cpu0.count"), 0.0);
}

// Order-0 allocations from DMA32 (the zonelist's first zone for a
// GFP_HIGHUSER request) with one CPU (batch 3, high 240).
// The buddy allocator hands a fresh order-10 block at 4096 out one frame at a
// time in ascending order (expand() keeps the lower half): 4096, 4097, ...
// rmqueue_bulk adds each at the tail, the allocation takes the head.
TEST(Pcp, RefillTakesBatchPagesAndServesTheHead) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.set_cpus(1);
  a.enable_pcp();
  const std::uint64_t free0 = a.free_pages();
  // First allocation: the list is empty, rmqueue_bulk moves [4096, 4097, 4098]
  // and the head 4096 is returned; 2 pages stay on the list.
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[0].count(), 2u);
  // The list's pages are not free pages (NR_FREE_PAGES drops by 3).
  EXPECT_EQ(a.free_pages(), free0 - 3);
  EXPECT_TRUE(a.on_pcp(4097));
  EXPECT_FALSE(a.is_free(4097));
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4097u);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4098u);
  // Empty again: the next refill is [4099, 4100, 4101].
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4099u);
  EXPECT_EQ(a.pcp_stats().refills, 2u);
  EXPECT_EQ(a.pcp_stats().refill_pages, 6u);
  // free_unref_page_commit: list_add at the head, so the last freed page is
  // the next one handed out: list [4097, 4096, 4100, 4101].
  a.free(4096, 0);
  a.free(4097, 0);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[0].count(), 4u);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4097u);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4100u);
  EXPECT_EQ(a.check_invariants(), "");
  // A page on a list freed again is a double free.
  a.free(4100, 0);
  EXPECT_THROW(a.free(4100, 0), std::logic_error);
}

// Bulk frees with 20 CPUs on the node: DMA32 high = max(240 / 20, 3 << 2) =
// 12, batch 3. 24 pages 4096..4119 are allocated (8 refills of 3), then freed
// in ascending order without an allocation in between; each goes to the
// head, free_pcppages_bulk takes from the tail (the oldest). nr_pcp_free()
// with min_nr_free = 3 and max_nr_free = 12 - 3 = 9:
//  - free 12: count 12 >= 12: 3 << 0 = 3 < 9, free_factor -> 1; clamp 3:
//    4096..4098 go back; count 9.
//  - free 15: count 12: 3 << 1 = 6 < 9, free_factor -> 2; clamp 6:
//    4099..4104; count 6.
//  - free 21: count 12: 3 << 2 = 12, not < 9 (free_factor stays 2); clamp
//    to 9: 4105..4113; count 3.
//  - frees 22..24: count 6, the list 4119 (head) .. 4114.
TEST(Pcp, BulkFreesDoubleWithoutAllocations) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.set_cpus(20);
  a.enable_pcp();
  const PerCpuPages& pcp = zone(a, 0, ZoneType::Dma32).pcp[0];
  ASSERT_EQ(pcp.high, 12u);
  for (std::uint64_t i = 0; i < 24; ++i) ASSERT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u + i);
  EXPECT_EQ(a.pcp_stats().refills, 8u);
  for (std::uint64_t i = 0; i < 24; ++i) {
    a.free(4096 + i, 0);
    if (i == 11) {
      EXPECT_EQ(pcp.count(), 9u);
      EXPECT_EQ(pcp.free_factor, 1u);
      EXPECT_TRUE(a.is_free(4098));
      EXPECT_TRUE(a.on_pcp(4099));
    }
    if (i == 14) {
      EXPECT_EQ(pcp.count(), 6u);
    }
    if (i == 20) {
      EXPECT_EQ(pcp.count(), 3u);
    }
  }
  EXPECT_EQ(pcp.count(), 6u);
  EXPECT_EQ(pcp.free_factor, 2u);
  EXPECT_EQ(a.pcp_stats().bulk_frees, 3u);
  EXPECT_EQ(a.pcp_stats().bulk_free_pages, 18u);  // 3 + 6 + 9
  EXPECT_EQ(std::vector<std::uint64_t>(pcp.lists[0].begin(), pcp.lists[0].end()),
            (std::vector<std::uint64_t>{4119, 4118, 4117, 4116, 4115, 4114}));
  for (std::uint64_t f = 4096; f < 4114; ++f) EXPECT_TRUE(a.is_free(f)) << f;
  // An allocation halves free_factor (2 -> 1) and takes the head.
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4119u);
  EXPECT_EQ(pcp.free_factor, 1u);
  EXPECT_EQ(a.check_invariants(), "");
}

// While kswapd reclaims (ZONE_RECLAIM_ACTIVE), nr_pcp_high is
// min(batch << 2, high): with one CPU DMA32's high 240 becomes 12, so the
// 12th free drains 3 pages (as above).
TEST(Pcp, ReclaimActiveLowersHigh) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.enable_pcp();
  for (std::uint64_t i = 0; i < 12; ++i) ASSERT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u + i);
  a.set_reclaim_active(ZoneType::HighMem, true);
  for (std::uint64_t i = 0; i < 12; ++i) a.free(4096 + i, 0);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[0].count(), 9u);
  a.set_reclaim_active(ZoneType::HighMem, false);
  a.free(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 0);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[0].count(), 9u);  // 240 again: no drain
}

// Each CPU has its own list; drain_all_pages and drain_local_pages give the
// pages back, and the buddy allocator merges them to the boot state.
TEST(Pcp, ListsPerCpuAndDrains) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.set_cpus(2);
  a.enable_pcp();
  const std::uint64_t free0 = a.free_pages();
  // CPU 0 refills [4096, 4097, 4098] and takes 4096; CPU 1 refills
  // [4099, 4100, 4101] and takes 4099.
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u);
  a.set_cpu(1);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4099u);
  // CPU 1 frees CPU 0's page: it goes to CPU 1's list, whose head it is.
  a.free(4096, 0);
  EXPECT_EQ(zone(a, 0, ZoneType::Dma32).pcp[1].count(), 3u);
  EXPECT_EQ(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 4096u);
  a.free(4096, 0);
  // drain_local_pages on CPU 1: its 3 pages back; CPU 0 keeps 2.
  a.drain_local_pages();
  EXPECT_EQ(a.pcp_pages(), 2u);
  EXPECT_EQ(a.free_pages(), free0 - 1 - 2);  // 4099 in use, CPU 0's 2
  a.free(4099, 0);                           // to CPU 1's list
  a.drain_all_pages();
  EXPECT_EQ(a.pcp_pages(), 0u);
  EXPECT_EQ(a.free_pages(), free0);
  EXPECT_EQ(a.free_blocks(10), 15u);  // merged back: 3 in DMA + 12 in DMA32
  EXPECT_EQ(a.pcp_stats().drain_all, 1u);
  EXPECT_EQ(a.check_invariants(), "");
}

// Pages on a list are not free pages: the watermark check before rmqueue
// does not see them, so an allocation can fail while a list holds pages;
// drain_all_pages (what __alloc_pages_direct_reclaim does then) makes it
// succeed. 16 MiB, one CPU: one DMA zone of 3840 managed pages, low 153
// (min_free_kbytes = int_sqrt(245760) = 495, min = 123, low = 123 +
// max(30, 3)), batch 1, high 153. Order-0 allocations at the low watermark
// pass while free - 0 > 153: 3840 - 153 = 3687 of them (batch 1: each
// refill moves one page, handed out at once).
TEST(Pcp, PagesOnAListAreNotFreeForTheWatermarkUntilDrained) {
  ZonedPageAllocator a(16 * kMiBPages, 10, 1, false, 256);
  a.enable_pcp();
  ASSERT_EQ(zone(a, 0, ZoneType::Dma).pcp[0].high, 153u);
  std::vector<std::uint64_t> got;
  while (auto pfn = a.alloc(0, ZoneType::HighMem, Watermark::Low)) got.push_back(*pfn);
  EXPECT_EQ(got.size(), 3687u);
  EXPECT_EQ(a.free_pages(), 153u);
  EXPECT_EQ(a.pcp_pages(), 0u);
  // 100 frees stay on the list (100 < high): still 153 free pages.
  for (int i = 0; i < 100; ++i) a.free(got[i], 0);
  EXPECT_EQ(a.pcp_pages(), 100u);
  EXPECT_EQ(a.free_pages(), 153u);
  EXPECT_FALSE(a.alloc(0, ZoneType::HighMem, Watermark::Low));
  a.drain_all_pages();
  EXPECT_EQ(a.free_pages(), 253u);
  EXPECT_TRUE(a.alloc(0, ZoneType::HighMem, Watermark::Low));
  EXPECT_EQ(a.check_invariants(), "");
}

// Orders 1..3 and the THP order have lists of their own; others bypass
// them. 64 MiB, one CPU: DMA32 batch 3, high 240.
//  - order 1: batch max(3 >> 1 = 1, 2) = 2 blocks: the buddy hands order-1
//    blocks of the fresh order-10 block at 4096 out in ascending order,
//    4096 then 4098; 4096 is returned, 4098 stays (count 2 pages).
//  - order 9: max(3 >> 9 = 0, 2) = 2 blocks: splitting 4096's order-10
//    block for the order-1 pages left its upper half 4608 on the order-9
//    list, so 4608 first; then the next order-10 block, 5120, is split
//    (5632 to the order-9 list): 4608 is returned, 5120 stays (count 2 +
//    512 = 514 pages, above high 240: a refill does not check high).
//  - order 5 and order 10 bypass the lists.
TEST(Pcp, HigherOrderListsAndBypass) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 1, false, 256);
  a.enable_pcp(9);
  const PerCpuPages& pcp = zone(a, 0, ZoneType::Dma32).pcp[0];
  EXPECT_EQ(*a.alloc(1, ZoneType::HighMem, Watermark::Low), 4096u);
  EXPECT_EQ(pcp.lists[1].size(), 1u);
  EXPECT_EQ(pcp.lists[1].front(), 4098u);
  EXPECT_EQ(pcp.count(), 2u);
  EXPECT_EQ(*a.alloc(9, ZoneType::HighMem, Watermark::Low), 4608u);
  EXPECT_EQ(pcp.lists[4].front(), 5120u);
  EXPECT_EQ(pcp.count(), 514u);
  EXPECT_TRUE(a.on_pcp(5120 + 511));  // every frame of a listed block
  EXPECT_FALSE(a.is_free(5120 + 511));
  EXPECT_EQ(a.check_invariants(), "");
  const std::uint64_t refills = a.pcp_stats().refills;
  const auto big = a.alloc(5, ZoneType::HighMem, Watermark::Low);
  ASSERT_TRUE(big);
  EXPECT_EQ(a.pcp_stats().refills, refills);
  a.free(*big, 5);
  EXPECT_EQ(pcp.count(), 514u);
  // Freeing the THP block 4608: to the head of its list, [4608, 5120];
  // count 1026 >= high 240, so free_pcppages_bulk(nr_pcp_free(240, 3) =
  // clamp(3 << 0, 3, 237) = 3 pages, free_factor -> 1) starts at the THP
  // list's tail, 5120: one whole block, 512 pages, overshooting the 3 asked
  // for; count 514.
  a.free(4608, 9);
  EXPECT_EQ(pcp.count(), 514u);
  EXPECT_EQ(pcp.lists[4].size(), 1u);
  EXPECT_EQ(pcp.lists[4].front(), 4608u);
  EXPECT_TRUE(a.is_free(5120));
  EXPECT_EQ(pcp.free_factor, 1u);
  // An order-1 free now has free_high (free_factor 1, order 1..3):
  // nr_pcp_high 0, nr_pcp_free = everything: 516 pages, from the order-1
  // list first ([4096, 4098]: 4098, then 4096, from the tail), then the THP
  // list (4608). The lists are empty and everything merges back.
  a.free(4096, 1);
  EXPECT_EQ(pcp.count(), 0u);
  EXPECT_EQ(a.pcp_pages(), 0u);
  EXPECT_EQ(a.free_blocks(10), 15u);
  EXPECT_EQ(a.check_invariants(), "");
}

// zone_statistics() with two nodes and two CPUs, 64 MiB: node 0 holds DMA
// [0, 4096) and DMA32 [4096, 8192), node 1 DMA32 [8192, 16384); CPU c is on
// node c * 2 / 2 = c. lowmem 16128 pages as in the one-node case, so
// pages_min = 253; node 1's DMA32: min = 253 * 8192 / 16128 = 128, low =
// 128 + max(32, 8) = 160; node 0's DMA32: min = 64, low = 64 + 16 = 80.
// Lists off. CPU 1 allocates order-10 blocks at the low watermark: node 1's
// 8 blocks pass while free - 1023 > 160, i.e. 7 (after 7 blocks free = 1024,
// 1 <= 160); the 8th falls back to node 0's DMA32 (4096 - 1023 > 80).
TEST(Numa, ZoneStatisticsOnTwoNodesAndTwoCpus) {
  ZonedPageAllocator a(64 * kMiBPages, 10, 2, false, 256);
  a.set_cpus(2);
  EXPECT_EQ(a.cpu_node(0), 0u);
  EXPECT_EQ(a.cpu_node(1), 1u);
  a.set_cpu(1);
  for (unsigned i = 0; i < 7; ++i) ASSERT_GE(*a.alloc(10, ZoneType::HighMem, Watermark::Low), 8192u);
  // The 8th: node 1 fails its low watermark, node 0's DMA32 gives 4096.
  EXPECT_EQ(*a.alloc(10, ZoneType::HighMem, Watermark::Low), 4096u);
  // CPU 0: its own node, a hit and local.
  a.set_cpu(0);
  EXPECT_LT(*a.alloc(0, ZoneType::HighMem, Watermark::Low), 8192u);
  // CPU 0 asking for node 1 explicitly (a preferred node not its own): a
  // hit on node 1, but other_node (numa_node_id() is 0). Order 0 fits: node
  // 1's DMA32 has 1024 free, 1024 - 0 > 160.
  EXPECT_GE(*a.alloc(0, ZoneType::HighMem, Watermark::Low, 1), 8192u);
  StatGroup root;
  a.register_numa_stats(root.group("os"));
  // Node 1: 7 hits by CPU 1 (local) + 1 hit by CPU 0 (other); 1 foreign.
  EXPECT_EQ(stat(root, "os.numa.node1.numa_hit"), 8.0);
  EXPECT_EQ(stat(root, "os.numa.node1.numa_miss"), 0.0);
  EXPECT_EQ(stat(root, "os.numa.node1.numa_foreign"), 1.0);
  EXPECT_EQ(stat(root, "os.numa.node1.local_node"), 7.0);
  EXPECT_EQ(stat(root, "os.numa.node1.other_node"), 1.0);
  // Node 0: CPU 1's fallback (a miss, other_node) and CPU 0's local hit.
  EXPECT_EQ(stat(root, "os.numa.node0.numa_hit"), 1.0);
  EXPECT_EQ(stat(root, "os.numa.node0.numa_miss"), 1.0);
  EXPECT_EQ(stat(root, "os.numa.node0.numa_foreign"), 0.0);
  EXPECT_EQ(stat(root, "os.numa.node0.local_node"), 1.0);
  EXPECT_EQ(stat(root, "os.numa.node0.other_node"), 1.0);
  EXPECT_EQ(stat(root, "os.numa.node0.interleave_hit"), 0.0);
}

// CPUs split evenly: c * nodes / cpus.
TEST(Numa, CpusSplitEvenlyAmongNodes) {
  ZonedPageAllocator a(128 * kMiBPages, 10, 2, false, 256);
  a.set_cpus(4);  // 0, 0, 1, 1
  EXPECT_EQ(a.cpu_node(1), 0u);
  EXPECT_EQ(a.cpu_node(2), 1u);
  a.set_cpus(3);  // 0*2/3 = 0, 2/3 = 0, 4/3 = 1
  EXPECT_EQ(a.cpu_node(1), 0u);
  EXPECT_EQ(a.cpu_node(2), 1u);
}

}  // namespace
}  // namespace mmusim
