#include "models/os/mm/rmap.h"

#include "models/os/mm/filemap.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

Rmap::Rmap(PageAllocator& alloc, Reclaim& reclaim) : m_alloc(alloc), m_reclaim(reclaim) {}

std::uint32_t Rmap::mapcount(std::uint64_t pfn) const {
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

void Rmap::put_page(std::uint64_t pfn, unsigned order) {
  if (order == 0 && m_cache && m_cache->cached(pfn)) return m_cache->unmap_one(pfn);
  if (order == 0 && unshare(pfn)) return;
  if (order == 0) m_reclaim.lru_del(pfn);
  m_alloc.buddy().free(pfn, order);
}

}  // namespace mmusim
