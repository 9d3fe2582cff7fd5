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

std::optional<std::uint64_t> ZonedPageAllocator::alloc(unsigned order, ZoneType highest, Watermark w,
                                                       unsigned preferred_node) {
  if (preferred_node >= m_nodes) preferred_node = 0;
  for (unsigned i = 0; i < m_nodes; ++i) {
    const unsigned node = (preferred_node + i) % m_nodes;
    // This node's zones, highest allowed first.
    for (auto it = m_zones.rbegin(); it != m_zones.rend(); ++it) {
      Zone& z = *it;
      if (z.node != node || static_cast<unsigned>(z.type) > static_cast<unsigned>(highest)) continue;
      if (!z.watermark_ok(order, w, highest)) continue;
      auto pfn = z.buddy->alloc(order);
      if (!pfn) continue;
      if (node == preferred_node) {
        ++m_node_stats[node].numa_hit;
      } else {
        ++m_node_stats[node].numa_miss;
        ++m_node_stats[preferred_node].numa_foreign;
      }
      return pfn;
    }
  }
  return std::nullopt;
}

void ZonedPageAllocator::free(std::uint64_t pfn, unsigned order) {
  Zone* z = zone_of_mut(pfn);
  if (!z) throw std::logic_error("page allocator: free of pfn " + std::to_string(pfn) + " outside every zone");
  z->buddy->free(pfn, order);
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
  for (const Zone& z : m_zones) {
    std::string e = z.buddy->check_invariants();
    if (!e.empty()) return "node " + std::to_string(z.node) + " zone " + zone_name(z.type) + ": " + e;
  }
  return "";
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
