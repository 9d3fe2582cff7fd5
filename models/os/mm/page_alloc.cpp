#include "models/os/mm/page_alloc.h"

#include <algorithm>
#include <random>
#include <string>

#include "models/os/mm/oom_kill.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kSwapClusterMax = 32;
constexpr unsigned kMaxReclaimRetries = 16;
constexpr std::uint64_t k4G = 1ull << 32;

}  // namespace

PageAllocator::PageAllocator(const OsParams& p, OomKiller& oom, Reclaim& reclaim)
    : m_p(p), m_oom(oom), m_reclaim(reclaim) {}

void PageAllocator::boot(StatGroup& os) {
  // A non-PAE 32-bit kernel uses the first 4 GiB only (4-byte entries).
  const std::uint64_t managed =
      m_p.mode == PagingMode::Ia32 ? std::min<std::uint64_t>(m_p.memory_bytes, k4G) : m_p.memory_bytes;
  m_buddy = std::make_unique<ZonedPageAllocator>(managed / kPageBytes, m_p.max_order, m_p.numa_nodes, m_p.highmem,
                                                 kReservedLowPages);
  m_buddy->register_stats(os);
}

void PageAllocator::register_buddy_stats(StatGroup& os) {
  StatGroup& b = os.group("buddy");
  b.formula("free_pages", "free 4 KiB frames in the buddy allocator",
            [this] { return static_cast<double>(m_buddy->free_pages()); });
  StatGroup& fb = b.group("free_blocks");
  for (unsigned o = 0; o <= m_p.max_order; ++o)
    fb.formula(std::to_string(o), "free blocks of order " + std::to_string(o) + " (a /proc/buddyinfo column)",
               [this, o] { return static_cast<double>(m_buddy->free_blocks(o)); });
}

void PageAllocator::register_fragmentation_stats(StatGroup& os) {
  StatGroup& fr = os.group("fragmentation");
  fr.formula("pinned_pages", "frames pinned at boot by os.fragmentation",
             [this] { return static_cast<double>(m_pinned.size()); });
  fr.formula("free_outside_order9", "free frames not in a free block of order 9 or more (unusable for a 2 MiB page)",
             [this] {
               std::uint64_t in9 = 0;
               for (unsigned k = 9; k <= m_buddy->max_order(); ++k) in9 += m_buddy->free_blocks(k) << k;
               return static_cast<double>(m_buddy->free_pages() - in9);
             });
}

void PageAllocator::fragment_memory() {
  if (m_p.fragmentation_percent == 0) return;
  // Candidates: 2 MiB-aligned ranges wholly free after boot, in a seeded
  // Fisher-Yates order (std::shuffle's algorithm is not specified).
  std::vector<std::uint64_t> regions;
  for (std::uint64_t head = 0; head + 512 <= m_buddy->num_pages(); head += 512) {
    bool free = true;
    for (std::uint64_t f = head; f < head + 512 && free; ++f) free = m_buddy->is_free(f);
    if (free) regions.push_back(head);
  }
  std::mt19937_64 rng(m_p.seed);
  for (std::size_t i = regions.size(); i > 1; --i) std::swap(regions[i - 1], regions[rng() % i]);
  // Pinning one frame of a region leaves its other 511 frames free but out of
  // any order-9 block; stop once they are the target share of free memory.
  const std::uint64_t free0 = m_buddy->free_pages();
  std::uint64_t broken = 0;
  for (std::uint64_t head : regions) {
    if (broken * 511 * 100 >= m_p.fragmentation_percent * (free0 - m_pinned.size())) break;
    const std::uint64_t pfn = head + rng() % 512;
    m_buddy->reserve(pfn, 1);
    m_pinned.push_back(pfn);
    ++broken;
  }
}

bool PageAllocator::alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking, ZoneType highest) {
  for (;;) {
    if (auto r = page_alloc(order, highest)) {
      *pfn = *r;
      return true;
    }
    if (!m_oom.kill_other(asking)) return false;
  }
}

std::optional<std::uint64_t> PageAllocator::page_alloc(unsigned order, ZoneType highest) {
  if (auto r = m_buddy->alloc(order, highest, Watermark::Low)) return r;
  if (!m_reclaim.in_reclaim()) m_reclaim.wake_kswapd(order, highest);
  if (auto r = m_buddy->alloc(order, highest, Watermark::Min)) return r;
  if (!m_reclaim.in_reclaim()) {
    m_reclaim.count_allocstall();
    for (unsigned round = 0; round < kMaxReclaimRetries; ++round) {
      const std::uint64_t got = m_reclaim.reclaim(kSwapClusterMax, true);
      if (auto r = m_buddy->alloc(order, highest, Watermark::Min)) return r;
      // __alloc_pages_direct_reclaim(): after a reclaim that made progress,
      // "If an allocation failed after direct reclaim, it could be because
      // pages are pinned on the per-cpu lists": drain_all_pages(NULL) once
      // and retry.
      if (got && m_buddy->pcp_enabled()) {
        m_buddy->drain_all_pages();
        if (auto r = m_buddy->alloc(order, highest, Watermark::Min)) return r;
      }
      if (!got) break;
    }
    // __alloc_pages_slowpath: a GFP_KERNEL or GFP_HIGHUSER allocation never
    // goes below the min watermark (no ALLOC_HARDER, ALLOC_HIGH or
    // ALLOC_NO_WATERMARKS for it); the caller's next step is the OOM killer.
    return std::nullopt;
  }
  // Allocations made by reclaim itself run with PF_MEMALLOC, which is
  // ALLOC_NO_WATERMARKS (__gfp_pfmemalloc_flags).
  return m_buddy->alloc(order, highest, Watermark::None);
}

}  // namespace mmusim
