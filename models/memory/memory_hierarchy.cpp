#include "models/memory/memory_hierarchy.h"

#include <stdexcept>

namespace mmusim {

MemoryHierarchy::MemoryHierarchy(const std::vector<CacheLevelSpec>& levels, MemoryController& ctrl,
                                 StatGroup& cache_stats)
    : m_ctrl(ctrl) {
  for (const auto& l : levels) {
    if (!m_levels.empty() && l.geometry.line_bytes != m_line_bytes)
      throw std::invalid_argument("memory hierarchy: every cache level needs the same line size");
    m_line_bytes = l.geometry.line_bytes;
    m_levels.push_back(Level{std::make_unique<Cache>(l.geometry, cache_stats.group(l.name)), l.latency});
  }
}

void MemoryHierarchy::write_back(std::size_t k, PAddr pa) {
  if (k == m_levels.size()) {
    m_queue.push_back(MemRequest{pa, true});
    return;
  }
  Cache::Result r = m_levels[k].cache->access(pa, true, MemSource::WriteBack);
  if (r.victim_dirty) write_back(k + 1, r.victim_addr);
}

Cycles MemoryHierarchy::access(PAddr pa, bool is_write, MemSource src) {
  if (m_levels.empty()) return m_ctrl.access(pa, is_write);
  Cycles lat = 0;
  const PAddr line = pa & ~static_cast<PAddr>(m_line_bytes - 1);
  m_queue.clear();
  m_victims.clear();
  std::size_t k = 0;
  for (; k < m_levels.size(); ++k) {
    lat += m_levels[k].latency;
    // Only level 1 sees the write; lower levels receive a read (the fill),
    // and the dirty line comes down later as a write-back.
    Cache::Result r = m_levels[k].cache->access(line, is_write && k == 0, src);
    if (r.victim_dirty) m_victims.emplace_back(k + 1, r.victim_addr);
    if (r.hit) break;
  }
  const bool fill = k == m_levels.size();
  if (fill) m_queue.push_back(MemRequest{line, false});
  // The victims go down after the demand's lookups, level 1's first.
  for (const auto& v : m_victims) write_back(v.first, v.second);
  if (fill) {
    lat += m_ctrl.serve(m_queue.data(), m_queue.size());
  } else {
    // Write-backs reached memory without a demand fill: posted.
    for (const MemRequest& w : m_queue) m_ctrl.serve(&w, 1);
  }
  return lat;
}

}  // namespace mmusim
