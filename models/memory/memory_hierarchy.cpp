#include "models/memory/memory_hierarchy.h"

#include <algorithm>
#include <stdexcept>

namespace mmusim {

MemoryHierarchy::MemoryHierarchy(const std::vector<CacheLevelSpec>& levels, MemoryController& ctrl,
                                 StatGroup& cache_stats)
    : m_ctrl(ctrl) {
  for (const auto& l : levels) {
    if (!m_levels.empty() && l.geometry.line_bytes != m_line_bytes)
      throw std::invalid_argument("memory hierarchy: every cache level needs the same line size");
    m_line_bytes = l.geometry.line_bytes;
    m_levels.push_back(Level{std::make_shared<Cache>(l.geometry, cache_stats.group(l.name)), l.latency});
  }
}

MemoryHierarchy::MemoryHierarchy(const std::vector<CacheLevelSpec>& levels, MemoryController& ctrl,
                                 StatGroup& cache_stats, const MemoryHierarchy* first, StatGroup& private_stats)
    : m_ctrl(ctrl) {
  for (std::size_t k = 0; k < levels.size(); ++k) {
    const CacheLevelSpec& l = levels[k];
    if (!m_levels.empty() && l.geometry.line_bytes != m_line_bytes)
      throw std::invalid_argument("memory hierarchy: every cache level needs the same line size");
    m_line_bytes = l.geometry.line_bytes;
    std::shared_ptr<Cache> c;
    if (!l.shared) c = std::make_shared<Cache>(l.geometry, private_stats.group(l.name));
    else if (first) c = first->m_levels.at(k).cache;
    else c = std::make_shared<Cache>(l.geometry, cache_stats.group(l.name));
    m_levels.push_back(Level{std::move(c), l.latency});
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

void MemoryHierarchy::register_numa_stats(StatGroup& stats, Counter** local, Counter** remote) {
  *local = &stats.counter("local_accesses", "DRAM demand accesses to the accessing core's own NUMA node");
  *remote = &stats.counter("remote_accesses",
                           "DRAM demand accesses to another node's memory (each + memory.controller.remote_latency)");
}

void MemoryHierarchy::set_numa(const std::vector<PAddr>& node_start, Cycles remote_latency, Counter& local,
                               Counter& remote) {
  if (node_start.size() < 2) return;
  m_node_start = node_start;
  m_remote_latency = remote_latency;
  m_local = &local;
  m_remote = &remote;
}

unsigned MemoryHierarchy::node_of(PAddr pa) const {
  if (m_node_start.empty()) return 0;
  const auto it = std::upper_bound(m_node_start.begin(), m_node_start.end(), pa);
  return static_cast<unsigned>(it - m_node_start.begin()) - 1;
}

Cycles MemoryHierarchy::remote(PAddr pa, unsigned node) {
  if (m_node_start.empty()) return 0;
  if (node_of(pa) == node) {
    ++*m_local;
    return 0;
  }
  ++*m_remote;
  return m_remote_latency;
}

Cycles MemoryHierarchy::access(PAddr pa, bool is_write, MemSource src, unsigned node) {
  if (m_levels.empty()) return m_ctrl.access(pa, is_write) + remote(pa, node);
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
    lat += m_ctrl.serve(m_queue.data(), m_queue.size()) + remote(line, node);
  } else {
    // Write-backs reached memory without a demand fill: posted.
    for (const MemRequest& w : m_queue) m_ctrl.serve(&w, 1);
  }
  return lat;
}

}  // namespace mmusim
