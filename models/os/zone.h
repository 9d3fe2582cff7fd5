// Physical memory as Linux lays it out: NUMA nodes, each split into zones,
// each zone one buddy allocator with its own watermarks; the page allocator
// walks a zonelist in fallback order.
//
// Models:
//  - Nodes: os.numa_nodes nodes share physical memory in equal, contiguous
//    slices (node i holds [i*M/n, (i+1)*M/n), rounded down to 4 KiB; the last
//    node takes the remainder), as a BIOS SRAT interleaves nothing.
//  - Zones (include/linux/mmzone.h): ZONE_DMA [0, 16 MiB); in 64-bit modes
//    ZONE_DMA32 [16 MiB, 4 GiB) and ZONE_NORMAL above; in 32-bit modes
//    (ia32, PAE) ZONE_NORMAL [16 MiB, 896 MiB) and ZONE_HIGHMEM above
//    896 MiB, which the kernel's linear map does not cover. A node holds the
//    part of each zone's range that falls in its slice; empty zones are
//    omitted (as populated_zone() skips them).
//  - Watermarks as __setup_per_zone_wmarks() and init_per_zone_wmark_min()
//    in mm/page_alloc.c compute them: min_free_kbytes =
//    int_sqrt(16 * lowmem_kbytes), clamped to [128, 262144]; pages_min =
//    min_free_kbytes / 4 is shared among the low zones in proportion to their
//    managed pages; a HIGHMEM zone's min is managed/1024 clamped to
//    [32, 128]; then low = min + d and high = min + 2d with
//    d = max(min / 4, managed * watermark_scale_factor / 10000), factor 10.
//    lowmem_kbytes counts managed (not reserved) pages below HIGHMEM.
//  - lowmem_reserve[] as setup_per_zone_lowmem_reserve() computes it: for a
//    zone i of a node and each higher zone type j, lowmem_reserve[j] = the
//    managed pages of the node's zones i+1..j / sysctl_lowmem_reserve_ratio[i]
//    (defaults DMA 256, DMA32 256, NORMAL 32, HIGHMEM 0); 0 when the ratio is
//    0 or the zone manages no page. It protects lower zones from requests
//    that could have used higher ones (/proc/zoneinfo "protection").
//  - zone_watermark_ok() (__zone_watermark_ok): after the request, free
//    pages less (2^order - 1) must exceed the mark plus
//    lowmem_reserve[highest zone of the request], and for order > 0 a free
//    block of at least that order must exist. Watermark::None
//    (ALLOC_NO_WATERMARKS) checks neither.
//  - Zonelists (build_zonelists, node order): the preferred node's zones
//    from the highest the request may use down to DMA, then the same for the
//    other nodes in increasing distance (node id order, as with a flat SLIT).
//    A request names its highest zone as a gfp zone modifier does:
//    GFP_KERNEL -> NORMAL, GFP_HIGHUSER -> HIGHMEM, GFP_DMA32, GFP_DMA.
//  - get_page_from_freelist(): a first pass at the low watermark; if it
//    fails the caller may reclaim (kswapd) and retry at min (the slow path);
//    a pass without watermarks is for the OOM victim / PF_MEMALLOC only.
//  - Per-node statistics as /sys/devices/system/node/nodeN/numastat, counted
//    as zone_statistics() (mm/page_alloc.c) counts them, once per
//    allocation: numa_hit (allocated on the preferred node), numa_miss
//    (allocated here though another node was preferred), numa_foreign
//    (preferred here, allocated elsewhere), local_node / other_node (allocated
//    on / off the node of the CPU that allocates, numa_node_id()).
//    interleave_hit stays 0 (no MPOL_INTERLEAVE). The preferred node is the
//    allocating CPU's (the default MPOL_LOCAL policy), CPUs being split
//    evenly among the nodes (set_cpus).
//  - Per-CPU page lists (struct per_cpu_pages, include/linux/mmzone.h), one
//    per zone and CPU, when enable_pcp() turned them on (os.pcp_lists):
//    orders 0..3 and the THP order (pcp_allowed_order), one migrate type.
//    rmqueue_pcplist /
//    __rmqueue_pcplist: free_factor >>= 1, an empty list is refilled by
//    rmqueue_bulk with max(batch >> order, 2) blocks (batch if it is 1)
//    taken from the buddy allocator one by one and added to the list's tail
//    (list_add_tail), then the head is taken (list_first_entry).
//    free_unref_page / free_unref_page_commit: the block goes to the head of
//    its list (list_add); when count >= nr_pcp_high() (high, or
//    min(batch << 2, high) while kswapd reclaims the zone:
//    ZONE_RECLAIM_ACTIVE; 0 when free_high: an order 1..3 free after a bulk
//    free without an allocation since), free_pcppages_bulk returns
//    nr_pcp_free() pages (all with free_high) to the buddy allocator, from
//    the tail (list_last_entry) of the freed block's list first, then the
//    next non-empty lists in index order, whole blocks.
//    batch and high as zone_batchsize() and zone_highsize() compute them.
//    Pages on a per-CPU list are not free pages (NR_FREE_PAGES leaves them
//    out, so watermarks do not see them) and not in use; drain_all_pages()
//    and drain_local_pages() return them to the buddy allocator.
//
// kswapd's balance check (Reclaim's pgdat_balanced) uses watermark_ok(),
// lowmem_reserve included; below() and deficit() compare free pages with
// the plain marks.
// Leaves out: watermark boosting, memory holes (every node slice is fully
// populated), migrate types (one list per order), movable zones, memory
// hotplug.
// Written from those kernel descriptions and Gorman, "Understanding the Linux
// Virtual Memory Manager", ch. 2 "Describing Physical Memory"; no kernel
// code is copied.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/os/buddy_allocator.h"

namespace mmusim {

class StatGroup;

enum class ZoneType : unsigned { Dma = 0, Dma32 = 1, Normal = 2, HighMem = 3 };
const char* zone_name(ZoneType t);

// Which watermark an allocation must respect.
enum class Watermark { Min, Low, High, None };

// struct per_cpu_pages with one migrate type: one list per order 0..3
// (PAGE_ALLOC_COSTLY_ORDER) and one for the THP order (pageblock_order),
// indexed as order_to_pindex() does; a list's front is its head. count is
// in pages, as pcp->count.
struct PerCpuPages {
  static constexpr unsigned kCostlyOrder = 3;           // PAGE_ALLOC_COSTLY_ORDER
  static constexpr unsigned kLists = kCostlyOrder + 2;  // NR_PCP_LISTS with one migrate type
  std::array<std::deque<std::uint64_t>, kLists> lists;
  std::uint64_t pages = 0;
  std::uint64_t high = 0, batch = 1;
  unsigned free_factor = 0;
  std::uint64_t count() const { return pages; }
};

struct Zone {
  unsigned node = 0;
  std::vector<PerCpuPages> pcp;  // by CPU; empty when the lists are off
  bool reclaim_active = false;   // ZONE_RECLAIM_ACTIVE: kswapd is balancing the node
  ZoneType type = ZoneType::Normal;
  std::unique_ptr<BuddyAllocator> buddy;
  std::uint64_t managed_pages = 0;  // present minus boot reservations
  std::uint64_t wmark_min = 0, wmark_low = 0, wmark_high = 0;
  // Pages kept from requests whose highest zone is the index (a ZoneType).
  std::array<std::uint64_t, 4> lowmem_reserve{};
  std::uint64_t base_pfn() const { return buddy->base_pfn(); }
  std::uint64_t end_pfn() const { return buddy->base_pfn() + buddy->num_pages(); }
  std::uint64_t free_pages() const { return buddy->free_pages(); }
  std::uint64_t mark(Watermark w) const {
    return w == Watermark::Min ? wmark_min : w == Watermark::Low ? wmark_low : w == Watermark::High ? wmark_high : 0;
  }
  // zone_watermark_ok() for a request of 2^order pages whose highest zone
  // (gfp zone modifier) is `highest`.
  bool watermark_ok(unsigned order, Watermark w, ZoneType highest) const;
};

struct NodeStats {
  std::uint64_t numa_hit = 0, numa_miss = 0, numa_foreign = 0, local_node = 0, other_node = 0;
};

// Per-CPU list event counts, summed over zones and CPUs.
struct PcpStats {
  std::uint64_t alloc = 0;         // pages handed out from a per-CPU list (2^order per block)
  std::uint64_t free = 0;          // pages freed to a per-CPU list
  std::uint64_t refills = 0;       // rmqueue_bulk calls
  std::uint64_t refill_pages = 0;  // pages they moved from the buddy allocator
  std::uint64_t bulk_frees = 0;    // free_pcppages_bulk calls
  std::uint64_t bulk_free_pages = 0;
  std::uint64_t drain_all = 0;  // drain_all_pages calls
};

class ZonedPageAllocator {
 public:
  static constexpr std::uint64_t kDmaEndPfn = (16ull << 20) >> 12;
  static constexpr std::uint64_t kDma32EndPfn = (4ull << 30) >> 12;
  static constexpr std::uint64_t kLowmemEndPfn = (896ull << 20) >> 12;  // 32-bit: end of the linear map
  static constexpr unsigned kWatermarkScaleFactor = 10;
  // sysctl_lowmem_reserve_ratio by ZoneType: DMA, DMA32, NORMAL, HIGHMEM.
  static constexpr std::array<std::uint64_t, 4> kLowmemReserveRatio = {256, 256, 32, 0};

  // num_pages frames from pfn 0 split among `nodes` nodes; highmem: 32-bit
  // zone layout. reserved_low_pages frames at pfn 0 are reserved at boot
  // (x86 reserves the low 1 MiB) before the watermarks are computed.
  ZonedPageAllocator(std::uint64_t num_pages, unsigned max_order, unsigned nodes, bool highmem,
                     std::uint64_t reserved_low_pages);

  static constexpr unsigned kLocalNode = ~0u;       // the current CPU's node
  static constexpr unsigned kPcpBatchScaleMax = 5;  // CONFIG_PCP_BATCH_SCALE_MAX default (mm/Kconfig)

  // zone_batchsize() and zone_highsize() (mm/page_alloc.c) for a zone of
  // `managed` pages with low watermark `low`, split among `node_cpus` CPUs
  // of its node (0: none, then among all `cpus`).
  static std::uint64_t zone_batchsize(std::uint64_t managed);
  static std::uint64_t zone_highsize(std::uint64_t low, std::uint64_t batch, unsigned node_cpus, unsigned cpus);

  // `cpus` CPUs, CPU c on node c * nodes / cpus (an even split in CPU
  // order); the current CPU is 0.
  void set_cpus(unsigned cpus);
  unsigned cpus() const { return static_cast<unsigned>(m_cpu_node.size()); }
  unsigned cpu_node(unsigned cpu) const { return m_cpu_node.at(cpu); }
  // The CPU whose per-CPU lists and node the next calls use.
  void set_cpu(unsigned cpu) { m_cpu = cpu; }
  unsigned cpu() const { return m_cpu; }
  // Per-CPU page lists on, with each zone's batch and high for the CPUs of
  // set_cpus (zone_set_pageset_high_and_batch); thp_order is
  // pageblock_order (HPAGE_PMD_ORDER), whose blocks have a list too.
  void enable_pcp(unsigned thp_order = 9);
  // pcp_allowed_order() with the lists on.
  bool pcp_order(unsigned order) const { return m_pcp && (order <= PerCpuPages::kCostlyOrder || order == m_thp_order); }
  bool pcp_enabled() const { return m_pcp; }
  // drain_all_pages(NULL): every CPU's lists (CPU order, then zone order)
  // back to the buddy allocator. drain_local_pages(zone): the current CPU's
  // lists of that zone (nullptr: of every zone).
  void drain_all_pages();
  void drain_local_pages(const Zone* zone = nullptr);
  // ZONE_RECLAIM_ACTIVE on the zones up to `highest` (kswapd's
  // set_reclaim_active / clear_reclaim_active).
  void set_reclaim_active(ZoneType highest, bool active);
  // Pages on per-CPU lists, and whether pfn is one of them (any frame of a
  // block on a list).
  std::uint64_t pcp_pages() const;
  bool on_pcp(std::uint64_t pfn) const { return m_pcp && pfn < m_on_pcp.size() && m_on_pcp[pfn]; }
  const PcpStats& pcp_stats() const { return m_pcp_stats; }

  // Allocates 2^order frames from the first zone of the zonelist (preferred
  // node, highest zone `highest` and below, then the other nodes) that meets
  // watermark w; std::nullopt if none does. Orders 0..3 and the THP order go
  // through the current CPU's list of that zone when the lists are on
  // (rmqueue_pcplist).
  std::optional<std::uint64_t> alloc(unsigned order, ZoneType highest, Watermark w,
                                     unsigned preferred_node = kLocalNode);
  // Any zone, no watermark: the call of the first model (and of the OOM
  // victim's exit path).
  std::optional<std::uint64_t> alloc(unsigned order) {
    return alloc(order, ZoneType::HighMem, Watermark::None, kLocalNode);
  }
  // Orders 0..3 and the THP order go to the current CPU's list when the
  // lists are on (free_unref_page).
  void free(std::uint64_t pfn, unsigned order);
  void split_page(std::uint64_t pfn, unsigned order);
  // Takes specific free frames out of their zone (BuddyAllocator::reserve).
  void reserve(std::uint64_t pfn, std::uint64_t count);
  // BuddyAllocator::take_free_range in the zone holding pfn; false (nothing
  // changed) when the range is not all free or does not lie in one zone.
  bool take_free_range(std::uint64_t pfn, std::uint64_t count);

  // Some zone of the zonelist for `highest` is below its low (kswapd wake-up)
  // or min watermark (direct reclaim).
  bool below(ZoneType highest, Watermark w, unsigned preferred_node = 0) const;
  // Pages needed to bring every zone up to its high watermark (kswapd's goal).
  std::uint64_t deficit(Watermark w) const;

  std::uint64_t free_pages() const;
  std::uint64_t free_blocks(unsigned order) const;  // summed over zones
  std::uint64_t num_pages() const { return m_num_pages; }
  unsigned max_order() const { return m_max_order; }
  unsigned nodes() const { return m_nodes; }
  bool is_free(std::uint64_t pfn) const;
  // The zone holding pfn, or nullptr.
  const Zone* zone_of(std::uint64_t pfn) const;
  const std::vector<Zone>& zones() const { return m_zones; }
  const NodeStats& node_stats(unsigned node) const { return m_node_stats.at(node); }
  std::uint64_t min_free_kbytes() const { return m_min_free_kbytes; }
  // "Node 0, zone      DMA  1 1 ..." lines, as /proc/buddyinfo.
  std::string buddyinfo() const;
  // Each zone's BuddyAllocator::check_invariants and its per-CPU lists (each
  // block an allocated block of its list's order in the zone, on one list
  // once, count the pages listed), "" if all hold.
  std::string check_invariants() const;

  // os.node<N>.{free_pages, numa_hit, numa_miss, numa_foreign} and
  // os.node<N>.<ZONE>.{managed_pages, free_pages, min, low, high, free_blocks.<k>,
  // lowmem_reserve.<HIGHER ZONE>}.
  void register_stats(StatGroup& os_stats) const;
  // With more than one node: os.numa.node<N>.{numa_hit, numa_miss,
  // numa_foreign, interleave_hit, local_node, other_node}, as numastat.
  void register_numa_stats(StatGroup& os_stats) const;
  // With the per-CPU lists on: os.pcp.{alloc, free, refills, ...} and
  // os.pcp.node<N>.<ZONE>.cpu<C>.{count, high, batch} (/proc/zoneinfo's
  // pagesets).
  void register_pcp_stats(StatGroup& os_stats) const;

 private:
  Zone* zone_of_mut(std::uint64_t pfn);
  // rmqueue(): from the current CPU's list when pcp_order, else the buddy.
  std::optional<std::uint64_t> rmqueue(Zone& z, unsigned order);
  // free_pcppages_bulk(): `count` pages, from list `pindex` first.
  void free_pcppages_bulk(Zone& z, PerCpuPages& pcp, std::uint64_t count, unsigned pindex);
  std::uint64_t nr_pcp_free(PerCpuPages& pcp, std::uint64_t high, std::uint64_t batch, bool free_high);
  unsigned order_to_pindex(unsigned order) const {
    return order <= PerCpuPages::kCostlyOrder ? order : PerCpuPages::kLists - 1;
  }
  unsigned pindex_to_order(unsigned pindex) const { return pindex + 1 == PerCpuPages::kLists ? m_thp_order : pindex; }
  void mark_pcp(std::uint64_t pfn, unsigned order, std::uint8_t on);
  std::uint64_t m_num_pages;
  unsigned m_max_order;
  unsigned m_nodes;
  std::vector<Zone> m_zones;  // by node, then zone type: ascending pfn
  std::vector<NodeStats> m_node_stats;
  std::uint64_t m_min_free_kbytes = 0;
  std::vector<unsigned> m_cpu_node{0};  // by CPU
  unsigned m_cpu = 0;
  bool m_pcp = false;
  unsigned m_thp_order = 9;
  std::vector<std::uint8_t> m_on_pcp;  // by pfn (every frame of a listed block), with the lists on
  PcpStats m_pcp_stats;
};

}  // namespace mmusim
