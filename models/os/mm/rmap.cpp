#include "models/os/mm/rmap.h"

#include "models/os/mm/filemap.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

Rmap::Rmap(PageAllocator& alloc, Reclaim& reclaim) : m_alloc(alloc), m_reclaim(reclaim) {}

std::uint32_t Rmap::mapcount(std::uint64_t pfn) const {
  if (!m_huge.empty()) {
    auto h = m_huge.upper_bound(pfn);
    if (h != m_huge.begin()) {
      --h;
      if (!h->second.split && pfn < h->first + (1ull << h->second.order)) return h->second.pmds;
    }
  }
  if (m_cache)
    if (const PageCache::Page* pg = m_cache->page_of(pfn)) return pg->mapcount;
  auto it = m_shared.find(pfn);
  return it == m_shared.end() ? 1 : it->second;
}

void Rmap::share(std::uint64_t pfn) {
  if (m_cache && m_cache->cached(pfn)) return m_cache->map_one(pfn);
  auto it = m_shared.find(pfn);
  if (it == m_shared.end()) m_shared[pfn] = 2;
  else ++it->second;
}

bool Rmap::unshare(std::uint64_t pfn) {
  auto it = m_shared.find(pfn);
  if (it == m_shared.end()) return false;
  if (--it->second == 1) m_shared.erase(it);
  return true;
}

bool Rmap::huge_exclusive(std::uint64_t head) const {
  auto it = m_huge.find(head);
  if (it == m_huge.end()) return true;
  if (!it->second.split || it->second.pmds != 1) return false;
  auto s = m_shared.lower_bound(head);
  return s == m_shared.end() || s->first >= head + (1ull << it->second.order);
}

void Rmap::share_huge(std::uint64_t head, unsigned order) {
  auto it = m_huge.find(head);
  if (it == m_huge.end()) {
    m_huge[head] = HugeMap{order, 2, false};
    return;
  }
  ++it->second.pmds;
  if (it->second.split)
    for (std::uint64_t f = head; f < head + (1ull << order); ++f) share(f);
}

void Rmap::split_huge_pmd(std::uint64_t head, unsigned order) {
  auto it = m_huge.find(head);
  if (it == m_huge.end()) {
    // The only mapper: the page is split with its PMD (as the model frees
    // 4 KiB pages one by one afterwards).
    m_alloc.buddy().split_page(head, order);
    return;
  }
  HugeMap& h = it->second;
  if (!h.split) {
    // Every frame keeps all its mappings: the other PMDs, and now a PTE.
    m_alloc.buddy().split_page(head, order);
    for (std::uint64_t f = head; f < head + (1ull << order); ++f) m_shared[f] = h.pmds;
    h.split = true;
  }
  if (--h.pmds == 0) m_huge.erase(it);
}

void Rmap::put_page(std::uint64_t pfn, unsigned order) {
  if (order > 0) {
    auto it = m_huge.find(pfn);
    if (it != m_huge.end()) {
      // zap_huge_pmd() -> page_remove_rmap(page, vma, true) of a shared
      // huge page: the page goes with its last mapping.
      HugeMap& h = it->second;
      const bool split = h.split;
      if (--h.pmds == (split ? 0u : 1u)) m_huge.erase(it);
      if (split)
        for (std::uint64_t f = pfn; f < pfn + (1ull << order); ++f) put_page(f, 0);
      return;
    }
  }
  if (order == 0 && m_cache && m_cache->cached(pfn)) return m_cache->unmap_one(pfn);
  if (order == 0 && unshare(pfn)) return;
  if (order == 0) m_reclaim.lru_del(pfn);
  m_alloc.buddy().free(pfn, order);
}

}  // namespace mmusim
