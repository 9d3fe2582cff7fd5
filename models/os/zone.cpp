#include "models/os/zone.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "models/common/stats.h"

namespace mmusim {
namespace {

std::uint64_t int_sqrt(std::uint64_t x) {
  std::uint64_t r = 0;
  for (std::uint64_t bit = 1ull << 62; bit; bit >>= 2) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

}  // namespace

const char* zone_name(ZoneType t) {
  switch (t) {
    case ZoneType::Dma: return "DMA";
    case ZoneType::Dma32: return "DMA32";
    case ZoneType::Normal: return "Normal";
    case ZoneType::HighMem: return "HighMem";
  }
  return "?";
}

bool Zone::watermark_ok(unsigned order, Watermark w, ZoneType highest) const {
  const std::uint64_t need = std::uint64_t{1} << order;
  const std::uint64_t free = buddy->free_pages();
  if (free < need) return false;
  // __zone_watermark_ok: free pages minus the request (less one) must stay
  // above the mark plus the reserve kept from requests that could go higher.
  if (w != Watermark::None && free - (need - 1) <= mark(w) + lowmem_reserve[static_cast<unsigned>(highest)])
    return false;
  if (order == 0) return true;
  for (unsigned k = order; k <= buddy->max_order(); ++k)
    if (buddy->free_blocks(k)) return true;
  return false;
}

ZonedPageAllocator::ZonedPageAllocator(std::uint64_t num_pages, unsigned max_order, unsigned nodes, bool highmem,
                                       std::uint64_t reserved_low_pages)
    : m_num_pages(num_pages), m_max_order(max_order), m_nodes(nodes) {
  if (nodes == 0) throw std::invalid_argument("page allocator: at least one NUMA node");
  if (num_pages / nodes < 1) throw std::invalid_argument("page allocator: fewer pages than nodes");
  struct Range {
    ZoneType t;
    std::uint64_t lo, hi;
  };
  std::vector<Range> layout;
  layout.push_back({ZoneType::Dma, 0, kDmaEndPfn});
  if (highmem) {
    layout.push_back({ZoneType::Normal, kDmaEndPfn, kLowmemEndPfn});
    layout.push_back({ZoneType::HighMem, kLowmemEndPfn, UINT64_MAX});
  } else {
    layout.push_back({ZoneType::Dma32, kDmaEndPfn, kDma32EndPfn});
    layout.push_back({ZoneType::Normal, kDma32EndPfn, UINT64_MAX});
  }
  for (unsigned n = 0; n < nodes; ++n) {
    const std::uint64_t lo = num_pages / nodes * n;
    const std::uint64_t hi = n + 1 == nodes ? num_pages : num_pages / nodes * (n + 1);
    for (const Range& r : layout) {
      const std::uint64_t a = std::max(lo, r.lo), b = std::min(hi, r.hi);
      if (a >= b) continue;
      Zone z;
      z.node = n;
      z.type = r.t;
      z.buddy = std::make_unique<BuddyAllocator>(a, b - a, max_order);
      m_zones.push_back(std::move(z));
    }
  }
  m_node_stats.assign(nodes, NodeStats{});
  // Boot reservations (memblock_reserve) come out before the pages are counted
  // as managed.
  for (std::uint64_t pfn = 0; pfn < std::min(reserved_low_pages, num_pages);) {
    Zone* z = zone_of_mut(pfn);
    const std::uint64_t n = std::min(reserved_low_pages, z->end_pfn()) - pfn;
    z->buddy->reserve(pfn, n);
    pfn += n;
  }
  std::uint64_t lowmem_pages = 0;
  for (Zone& z : m_zones) {
    z.managed_pages = z.buddy->free_pages();
    if (z.type != ZoneType::HighMem) lowmem_pages += z.managed_pages;
  }
  // init_per_zone_wmark_min(), then __setup_per_zone_wmarks().
  m_min_free_kbytes = std::clamp<std::uint64_t>(int_sqrt(lowmem_pages * 4 * 16), 128, 262144);
  const std::uint64_t pages_min = m_min_free_kbytes / 4;
  for (Zone& z : m_zones) {
    // tmp: the zone's share of pages_min. HighMem's min is capped to a small
    // value (__GFP_HIGH allocations rarely need HighMem), but its low/high
    // gaps come from the uncapped share: "The WMARK_HIGH-WMARK_LOW and
    // (WMARK_LOW-WMARK_MIN) deltas control async page reclaim, and so should
    // not be capped for highmem."
    const std::uint64_t tmp = lowmem_pages ? pages_min * z.managed_pages / lowmem_pages : 0;
    if (z.type == ZoneType::HighMem)
      z.wmark_min = std::clamp<std::uint64_t>(z.managed_pages / 1024, 32, 128);  // SWAP_CLUSTER_MAX..128
    else z.wmark_min = tmp;
    const std::uint64_t d = std::max(tmp >> 2, z.managed_pages * kWatermarkScaleFactor / 10000);
    z.wmark_low = z.wmark_min + d;
    z.wmark_high = z.wmark_min + 2 * d;
  }
  // setup_per_zone_lowmem_reserve(): per node, zone i keeps from a request
  // whose highest zone is j the managed pages of zones i+1..j / ratio[i].
  for (Zone& z : m_zones) {
    const unsigned i = static_cast<unsigned>(z.type);
    const std::uint64_t ratio = kLowmemReserveRatio[i];
    std::uint64_t upper = 0;
    for (unsigned j = i + 1; j < z.lowmem_reserve.size(); ++j) {
      for (const Zone& u : m_zones)
        if (u.node == z.node && static_cast<unsigned>(u.type) == j) upper += u.managed_pages;
      z.lowmem_reserve[j] = ratio == 0 || z.managed_pages == 0 ? 0 : upper / ratio;
    }
  }
}

Zone* ZonedPageAllocator::zone_of_mut(std::uint64_t pfn) {
  auto it = std::upper_bound(m_zones.begin(), m_zones.end(), pfn,
                             [](std::uint64_t p, const Zone& z) { return p < z.base_pfn(); });
  if (it == m_zones.begin()) return nullptr;
  --it;
  return pfn < it->end_pfn() ? &*it : nullptr;
}

const Zone* ZonedPageAllocator::zone_of(std::uint64_t pfn) const {
  return const_cast<ZonedPageAllocator*>(this)->zone_of_mut(pfn);
}

std::uint64_t ZonedPageAllocator::zone_batchsize(std::uint64_t managed) {
  // zone_batchsize(): ~0.1% of the zone or 1 MiB (256 pages), whichever is
  // smaller, divided by 4, at least 1, then rounddown_pow_of_two(b + b/2) - 1;
  // zone_set_pageset_high_and_batch() takes max(1, that).
  std::uint64_t batch = std::min<std::uint64_t>(managed >> 10, (1u << 20) / 4096);
  batch /= 4;
  if (batch < 1) batch = 1;
  std::uint64_t x = batch + batch / 2, pow2 = 1;
  while (pow2 * 2 <= x) pow2 *= 2;
  return std::max<std::uint64_t>(1, pow2 - 1);
}

std::uint64_t ZonedPageAllocator::zone_highsize(std::uint64_t low, std::uint64_t batch, unsigned node_cpus,
                                                unsigned cpus) {
  // zone_highsize() with percpu_pagelist_high_fraction 0 and cpu_online 0
  // (setup_per_zone_wmarks -> zone_pcp_update(zone, 0)): the low watermark
  // split among the node's CPUs (all online CPUs for a node without any),
  // at least batch * 4.
  const unsigned split = node_cpus ? node_cpus : cpus;
  return std::max<std::uint64_t>(low / std::max(1u, split), batch << 2);
}

void ZonedPageAllocator::set_cpus(unsigned cpus) {
  if (cpus == 0) throw std::invalid_argument("page allocator: at least one CPU");
  m_cpu_node.assign(cpus, 0);
  for (unsigned c = 0; c < cpus; ++c) m_cpu_node[c] = static_cast<unsigned>(std::uint64_t{c} * m_nodes / cpus);
  if (m_pcp) enable_pcp(m_thp_order);
}

void ZonedPageAllocator::mark_pcp(std::uint64_t pfn, unsigned order, std::uint8_t on) {
  std::fill(m_on_pcp.begin() + static_cast<std::ptrdiff_t>(pfn),
            m_on_pcp.begin() + static_cast<std::ptrdiff_t>(pfn + (std::uint64_t{1} << order)), on);
}

void ZonedPageAllocator::enable_pcp(unsigned thp_order) {
  if (pcp_pages()) throw std::logic_error("page allocator: per-CPU lists set up again while holding pages");
  m_pcp = true;
  m_thp_order = thp_order;
  m_on_pcp.assign(m_num_pages, 0);
  const unsigned cpus = this->cpus();
  for (Zone& z : m_zones) {
    unsigned node_cpus = 0;
    for (unsigned n : m_cpu_node) node_cpus += n == z.node;
    PerCpuPages proto;
    proto.batch = zone_batchsize(z.managed_pages);
    proto.high = zone_highsize(z.wmark_low, proto.batch, node_cpus, cpus);
    z.pcp.assign(cpus, proto);
  }
}

std::optional<std::uint64_t> ZonedPageAllocator::rmqueue(Zone& z, unsigned order) {
  if (!pcp_order(order)) return z.buddy->alloc(order);
  // rmqueue_pcplist(): "On allocation, reduce the number of pages that are
  // batch freed."
  PerCpuPages& pcp = z.pcp[m_cpu];
  pcp.free_factor >>= 1;
  std::deque<std::uint64_t>& list = pcp.lists[order_to_pindex(order)];
  const std::uint64_t pages = std::uint64_t{1} << order;
  if (list.empty()) {
    // __rmqueue_pcplist(): "Scale batch relative to order if batch implies
    // free pages can be stored on the PCP": max(batch >> order, 2) when
    // batch > 1; rmqueue_bulk() adds each block at the list's tail.
    const std::uint64_t batch = pcp.batch > 1 ? std::max<std::uint64_t>(pcp.batch >> order, 2) : pcp.batch;
    ++m_pcp_stats.refills;
    for (std::uint64_t i = 0; i < batch; ++i) {
      auto pfn = z.buddy->alloc(order);
      if (!pfn) break;
      list.push_back(*pfn);
      mark_pcp(*pfn, order, 1);
      pcp.pages += pages;
      m_pcp_stats.refill_pages += pages;
    }
    // An empty list after the refill: rmqueue() falls back to
    // rmqueue_buddy(), which finds no block either.
    if (list.empty()) return std::nullopt;
  }
  const std::uint64_t pfn = list.front();  // list_first_entry
  list.pop_front();
  mark_pcp(pfn, order, 0);
  pcp.pages -= pages;
  m_pcp_stats.alloc += pages;
  return pfn;
}

std::optional<std::uint64_t> ZonedPageAllocator::alloc(unsigned order, ZoneType highest, Watermark w,
                                                       unsigned preferred_node) {
  // A CPU beyond set_cpus' count (added without OsParams::cpus, as unit
  // tests do) is on node 0.
  const unsigned local = m_cpu < m_cpu_node.size() ? m_cpu_node[m_cpu] : 0;
  if (preferred_node == kLocalNode) preferred_node = local;
  if (preferred_node >= m_nodes) preferred_node = 0;
  for (unsigned i = 0; i < m_nodes; ++i) {
    const unsigned node = (preferred_node + i) % m_nodes;
    // This node's zones, highest allowed first.
    for (auto it = m_zones.rbegin(); it != m_zones.rend(); ++it) {
      Zone& z = *it;
      if (z.node != node || static_cast<unsigned>(z.type) > static_cast<unsigned>(highest)) continue;
      if (!z.watermark_ok(order, w, highest)) continue;
      auto pfn = rmqueue(z, order);
      if (!pfn) continue;
      // zone_statistics(preferred_zone, z, 1).
      if (node == preferred_node) {
        ++m_node_stats[node].numa_hit;
      } else {
        ++m_node_stats[node].numa_miss;
        ++m_node_stats[preferred_node].numa_foreign;
      }
      ++(node == local ? m_node_stats[node].local_node : m_node_stats[node].other_node);
      return pfn;
    }
  }
  return std::nullopt;
}

std::uint64_t ZonedPageAllocator::nr_pcp_free(PerCpuPages& pcp, std::uint64_t high, std::uint64_t batch,
                                              bool free_high) {
  // nr_pcp_free(): "Free everything if batch freeing high-order pages."
  if (free_high) return pcp.count();
  if (high < batch) return 1;
  const std::uint64_t min_nr_free = batch, max_nr_free = high - batch;
  batch <<= pcp.free_factor;
  if (batch < max_nr_free && pcp.free_factor < kPcpBatchScaleMax) ++pcp.free_factor;
  return std::min(std::max(batch, min_nr_free), max_nr_free);  // clamp()
}

void ZonedPageAllocator::free_pcppages_bulk(Zone& z, PerCpuPages& pcp, std::uint64_t count, unsigned pindex) {
  // free_pcppages_bulk(): min(count, pcp->count) pages; the requested list
  // first, each list from its tail (list_last_entry) until the count is
  // met or the list is empty, then the next non-empty list in index order
  // (wrapping); whole blocks, so the count may be overshot.
  std::int64_t left = static_cast<std::int64_t>(std::min<std::uint64_t>(count, pcp.count()));
  if (left <= 0) return;
  ++m_pcp_stats.bulk_frees;
  while (left > 0) {
    while (pcp.lists[pindex].empty()) pindex = (pindex + 1) % PerCpuPages::kLists;
    std::deque<std::uint64_t>& list = pcp.lists[pindex];
    const unsigned order = pindex_to_order(pindex);
    const std::uint64_t pages = std::uint64_t{1} << order;
    do {
      const std::uint64_t pfn = list.back();
      list.pop_back();
      mark_pcp(pfn, order, 0);
      left -= static_cast<std::int64_t>(pages);
      pcp.pages -= pages;
      m_pcp_stats.bulk_free_pages += pages;
      z.buddy->free(pfn, order);
    } while (left > 0 && !list.empty());
  }
}

void ZonedPageAllocator::drain_all_pages() {
  ++m_pcp_stats.drain_all;
  // __drain_all_pages(NULL): drain_pages(cpu) for each CPU, each populated
  // zone in turn (drain_pages_zone: free_pcppages_bulk of pcp->count).
  for (unsigned c = 0; c < cpus(); ++c)
    for (Zone& z : m_zones)
      if (c < z.pcp.size()) free_pcppages_bulk(z, z.pcp[c], z.pcp[c].count(), 0);
}

void ZonedPageAllocator::drain_local_pages(const Zone* zone) {
  for (Zone& z : m_zones)
    if ((!zone || zone == &z) && m_cpu < z.pcp.size()) free_pcppages_bulk(z, z.pcp[m_cpu], z.pcp[m_cpu].count(), 0);
}

void ZonedPageAllocator::set_reclaim_active(ZoneType highest, bool active) {
  for (Zone& z : m_zones)
    if (static_cast<unsigned>(z.type) <= static_cast<unsigned>(highest)) z.reclaim_active = active;
}

std::uint64_t ZonedPageAllocator::pcp_pages() const {
  std::uint64_t n = 0;
  for (const Zone& z : m_zones)
    for (const PerCpuPages& p : z.pcp) n += p.count();
  return n;
}

void ZonedPageAllocator::free(std::uint64_t pfn, unsigned order) {
  Zone* z = zone_of_mut(pfn);
  if (!z) throw std::logic_error("page allocator: free of pfn " + std::to_string(pfn) + " outside every zone");
  if (!pcp_order(order)) {
    z->buddy->free(pfn, order);
    return;
  }
  // free_unref_page(): the block must be an allocated block of that order
  // (the buddy allocator's own checks, made here because the block stays
  // allocated there while it sits on a list).
  if (pfn < m_on_pcp.size() && m_on_pcp[pfn])
    throw std::logic_error("page allocator: double free of pfn " + std::to_string(pfn) + " (on a per-CPU list)");
  if (!z->buddy->is_allocated_block(pfn, order)) {
    z->buddy->free(pfn, order);  // throws the buddy allocator's diagnosis
    throw std::logic_error("page allocator: free of pfn " + std::to_string(pfn) + ", not an allocated block");
  }
  // free_unref_page_commit(): list_add at the head, then drain at high.
  PerCpuPages& pcp = z->pcp[m_cpu];
  const unsigned pindex = order_to_pindex(order);
  pcp.lists[pindex].push_front(pfn);
  mark_pcp(pfn, order, 1);
  pcp.pages += std::uint64_t{1} << order;
  m_pcp_stats.free += std::uint64_t{1} << order;
  // "As high-order pages other than THP's stored on PCP can contribute to
  // fragmentation, limit the number stored when PCP is heavily freeing
  // without allocation."
  const bool free_high = pcp.free_factor && order && order <= PerCpuPages::kCostlyOrder;
  // nr_pcp_high(): 0 with free_high; high, or min(batch << 2, high) while
  // reclaim is active.
  const std::uint64_t high = free_high ? 0 : z->reclaim_active ? std::min(pcp.batch << 2, pcp.high) : pcp.high;
  if (pcp.count() >= high) free_pcppages_bulk(*z, pcp, nr_pcp_free(pcp, high, pcp.batch, free_high), pindex);
}

void ZonedPageAllocator::split_page(std::uint64_t pfn, unsigned order) {
  Zone* z = zone_of_mut(pfn);
  if (!z) throw std::logic_error("page allocator: split_page of pfn " + std::to_string(pfn) + " outside every zone");
  z->buddy->split_page(pfn, order);
}

void ZonedPageAllocator::reserve(std::uint64_t pfn, std::uint64_t count) {
  Zone* z = zone_of_mut(pfn);
  if (!z || count > z->end_pfn() - pfn)
    throw std::logic_error("page allocator: reserve of pfn " + std::to_string(pfn) + " outside a zone");
  z->buddy->reserve(pfn, count);
}

bool ZonedPageAllocator::take_free_range(std::uint64_t pfn, std::uint64_t count) {
  Zone* z = zone_of_mut(pfn);
  if (!z || count > z->end_pfn() - pfn) return false;
  return z->buddy->take_free_range(pfn, count);
}

bool ZonedPageAllocator::below(ZoneType highest, Watermark w, unsigned preferred_node) const {
  for (const Zone& z : m_zones) {
    if (static_cast<unsigned>(z.type) > static_cast<unsigned>(highest)) continue;
    if (z.node != preferred_node && m_nodes > 1) continue;
    // A zone too small to hold its watermark at all (a tiny DMA zone) does not
    // count, as kswapd's pgdat_balanced() skips unmanaged zones.
    if (z.managed_pages <= z.mark(w)) continue;
    if (z.free_pages() <= z.mark(w)) return true;
  }
  return false;
}

std::uint64_t ZonedPageAllocator::deficit(Watermark w) const {
  std::uint64_t d = 0;
  for (const Zone& z : m_zones)
    if (z.managed_pages > z.mark(w) && z.free_pages() < z.mark(w)) d += z.mark(w) - z.free_pages();
  return d;
}

std::uint64_t ZonedPageAllocator::free_pages() const {
  std::uint64_t n = 0;
  for (const Zone& z : m_zones) n += z.free_pages();
  return n;
}

std::uint64_t ZonedPageAllocator::free_blocks(unsigned order) const {
  std::uint64_t n = 0;
  for (const Zone& z : m_zones) n += z.buddy->free_blocks(order);
  return n;
}

bool ZonedPageAllocator::is_free(std::uint64_t pfn) const {
  const Zone* z = zone_of(pfn);
  return z && z->buddy->is_free(pfn);
}

std::string ZonedPageAllocator::buddyinfo() const {
  std::string s;
  for (const Zone& z : m_zones) {
    char head[64];
    std::snprintf(head, sizeof head, "Node %u, zone %8s ", z.node, zone_name(z.type));
    s += head;
    for (unsigned k = 0; k <= m_max_order; ++k) {
      char col[32];
      std::snprintf(col, sizeof col, "%6llu ", static_cast<unsigned long long>(z.buddy->free_blocks(k)));
      s += col;
    }
    s += '\n';
  }
  return s;
}

std::string ZonedPageAllocator::check_invariants() const {
  std::uint64_t listed = 0;
  std::vector<std::uint8_t> seen(m_pcp ? m_num_pages : 0, 0);
  for (const Zone& z : m_zones) {
    const std::string where = "node " + std::to_string(z.node) + " zone " + zone_name(z.type) + ": ";
    std::string e = z.buddy->check_invariants();
    if (!e.empty()) return where + e;
    for (std::size_t c = 0; c < z.pcp.size(); ++c) {
      const PerCpuPages& p = z.pcp[c];
      const std::string list = where + "cpu " + std::to_string(c) + " per-CPU list ";
      std::uint64_t pages = 0;
      for (unsigned i = 0; i < PerCpuPages::kLists; ++i) {
        const unsigned order = pindex_to_order(i);
        for (std::uint64_t pfn : p.lists[i]) {
          if (pfn < z.base_pfn() || pfn >= z.end_pfn() || !z.buddy->is_allocated_block(pfn, order))
            return list + "holds frame " + std::to_string(pfn) + ", not an allocated order-" + std::to_string(order) +
                   " block of the zone";
          for (std::uint64_t f = pfn; f < pfn + (std::uint64_t{1} << order); ++f) {
            if (seen[f]++) return list + "holds frame " + std::to_string(f) + " twice";
            if (!m_on_pcp[f]) return list + "holds frame " + std::to_string(f) + " not marked as on a list";
            ++listed;
            ++pages;
          }
        }
      }
      if (pages != p.count())
        return list + "counts " + std::to_string(p.count()) + " pages but holds " + std::to_string(pages);
    }
  }
  std::uint64_t marked = 0;
  for (std::uint8_t b : m_on_pcp) marked += b;
  if (marked != listed)
    return std::to_string(marked) + " frames marked as on a per-CPU list, " + std::to_string(listed) + " listed";
  return "";
}

void ZonedPageAllocator::register_numa_stats(StatGroup& os_stats) const {
  StatGroup& numa = os_stats.group("numa");
  for (unsigned n = 0; n < m_nodes; ++n) {
    StatGroup& g = numa.group("node" + std::to_string(n));
    const NodeStats* s = &m_node_stats[n];
    g.formula("numa_hit", "allocations on this node, the preferred one (zone_statistics NUMA_HIT)",
              [s] { return static_cast<double>(s->numa_hit); });
    g.formula("numa_miss", "allocations on this node although another was preferred (NUMA_MISS)",
              [s] { return static_cast<double>(s->numa_miss); });
    g.formula("numa_foreign", "allocations preferring this node made on another (NUMA_FOREIGN)",
              [s] { return static_cast<double>(s->numa_foreign); });
    g.formula("interleave_hit", "interleaved allocations on this node (NUMA_INTERLEAVE_HIT; no interleave policy: 0)",
              [] { return 0.0; });
    g.formula("local_node", "allocations on this node by a CPU of this node (NUMA_LOCAL)",
              [s] { return static_cast<double>(s->local_node); });
    g.formula("other_node", "allocations on this node by a CPU of another node (NUMA_OTHER)",
              [s] { return static_cast<double>(s->other_node); });
  }
}

void ZonedPageAllocator::register_pcp_stats(StatGroup& os_stats) const {
  StatGroup& g = os_stats.group("pcp");
  const PcpStats* s = &m_pcp_stats;
  g.formula("pages", "pages on per-CPU lists (free, but not in NR_FREE_PAGES)",
            [this] { return static_cast<double>(pcp_pages()); });
  g.formula("alloc", "pages allocated from a per-CPU list (rmqueue_pcplist; 2^order per block)",
            [s] { return static_cast<double>(s->alloc); });
  g.formula("free", "pages freed to a per-CPU list (free_unref_page_commit)",
            [s] { return static_cast<double>(s->free); });
  g.formula("refills", "refills of an empty list from the buddy allocator (rmqueue_bulk)",
            [s] { return static_cast<double>(s->refills); });
  g.formula("refill_pages", "pages moved by rmqueue_bulk", [s] { return static_cast<double>(s->refill_pages); });
  g.formula("bulk_frees", "returns of pages to the buddy allocator (free_pcppages_bulk)",
            [s] { return static_cast<double>(s->bulk_frees); });
  g.formula("bulk_free_pages", "pages returned by free_pcppages_bulk",
            [s] { return static_cast<double>(s->bulk_free_pages); });
  g.formula("drain_all", "drain_all_pages calls (direct reclaim that freed pages but left the allocation failing)",
            [s] { return static_cast<double>(s->drain_all); });
  for (const Zone& z : m_zones) {
    StatGroup& zg = g.group("node" + std::to_string(z.node)).group(zone_name(z.type));
    for (std::size_t c = 0; c < z.pcp.size(); ++c) {
      const PerCpuPages* p = &z.pcp[c];
      StatGroup& cg = zg.group("cpu" + std::to_string(c));
      cg.formula("count", "pages on this CPU's list (/proc/zoneinfo pagesets count)",
                 [p] { return static_cast<double>(p->count()); });
      cg.formula("high", "list size that triggers a bulk free (zone_highsize)",
                 [p] { return static_cast<double>(p->high); });
      cg.formula("batch", "pages per refill and least per bulk free (zone_batchsize)",
                 [p] { return static_cast<double>(p->batch); });
    }
  }
}

void ZonedPageAllocator::register_stats(StatGroup& os_stats) const {
  for (unsigned n = 0; n < m_nodes; ++n) {
    StatGroup& g = os_stats.group("node" + std::to_string(n));
    g.formula("free_pages", "free frames on this node", [this, n] {
      std::uint64_t f = 0;
      for (const Zone& z : m_zones)
        if (z.node == n) f += z.free_pages();
      return static_cast<double>(f);
    });
    g.formula("numa_hit", "allocations satisfied on this, the preferred, node",
              [this, n] { return static_cast<double>(m_node_stats[n].numa_hit); });
    g.formula("numa_miss", "allocations satisfied here although another node was preferred",
              [this, n] { return static_cast<double>(m_node_stats[n].numa_miss); });
    g.formula("numa_foreign", "allocations preferring this node satisfied elsewhere",
              [this, n] { return static_cast<double>(m_node_stats[n].numa_foreign); });
    for (const Zone& z : m_zones) {
      if (z.node != n) continue;
      const Zone* zp = &z;
      StatGroup& zg = g.group(zone_name(z.type));
      zg.formula("managed_pages", "frames given to the buddy allocator at boot",
                 [zp] { return static_cast<double>(zp->managed_pages); });
      zg.formula("free_pages", "free frames in this zone", [zp] { return static_cast<double>(zp->free_pages()); });
      zg.formula("min", "min watermark (pages)", [zp] { return static_cast<double>(zp->wmark_min); });
      zg.formula("low", "low watermark (pages): kswapd wakes below it",
                 [zp] { return static_cast<double>(zp->wmark_low); });
      zg.formula("high", "high watermark (pages): kswapd's goal", [zp] { return static_cast<double>(zp->wmark_high); });
      StatGroup& fb = zg.group("free_blocks");
      for (unsigned k = 0; k <= m_max_order; ++k)
        fb.formula(std::to_string(k), "free blocks of order " + std::to_string(k) + " (a /proc/buddyinfo column)",
                   [zp, k] { return static_cast<double>(zp->buddy->free_blocks(k)); });
      for (const Zone& u : m_zones) {
        if (u.node != n || u.type <= z.type) continue;
        const unsigned j = static_cast<unsigned>(u.type);
        zg.group("lowmem_reserve")
            .formula(zone_name(u.type),
                     std::string("pages kept from requests that may use zone ") + zone_name(u.type) +
                         " (lowmem_reserve, /proc/zoneinfo protection)",
                     [zp, j] { return static_cast<double>(zp->lowmem_reserve[j]); });
      }
    }
  }
}

}  // namespace mmusim
