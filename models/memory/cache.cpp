#include "models/memory/cache.h"

#include <stdexcept>
#include <string>

namespace mmusim {
namespace {
bool pow2(std::uint64_t v) { return v && !(v & (v - 1)); }
unsigned log2u(std::uint64_t v) {
  unsigned n = 0;
  while ((std::uint64_t{1} << n) < v) ++n;
  return n;
}
}  // namespace

Cache::Cache(const CacheGeometry& g, StatGroup& stats)
    : m_g(g),
      m_line_shift(log2u(g.line_bytes)),
      m_set_mask(0),
      m_ways(g.ways),
      m_writebacks(stats.counter("writebacks", "dirty lines evicted (written back to the next level)")) {
  if (!pow2(g.line_bytes) || g.ways == 0 || g.size_bytes % g.line_bytes != 0)
    throw std::invalid_argument("cache: bad geometry");
  const std::uint64_t lines = g.size_bytes / g.line_bytes;
  if (lines % g.ways != 0 || !pow2(lines / g.ways)) throw std::invalid_argument("cache: sets must be a power of two");
  m_set_mask = lines / g.ways - 1;
  m_tag.assign(lines, kInvalid);
  m_stamp.assign(lines, 0);
  m_dirty.assign(lines, 0);
  m_hits[0] = &stats.counter("data_hits", "trace data accesses that hit");
  m_misses[0] = &stats.counter("data_misses", "trace data accesses that missed");
  m_hits[1] = &stats.counter("walk_hits", "page-walk references (entry reads, A/D writes) that hit");
  m_misses[1] = &stats.counter("walk_misses", "page-walk references that missed");
  m_hits[2] = &stats.counter("wb_in_hits", "write-backs from the level above that found their line");
  m_misses[2] = &stats.counter("wb_in_misses", "write-backs from the level above that allocated their line");
  Counter* h0 = m_hits[0];
  Counter* h1 = m_hits[1];
  Counter* m0 = m_misses[0];
  Counter* m1 = m_misses[1];
  stats.formula("hits", "demand hits (data + walk)",
                [h0, h1] { return static_cast<double>(h0->value() + h1->value()); });
  stats.formula("misses", "demand misses (data + walk)",
                [m0, m1] { return static_cast<double>(m0->value() + m1->value()); });
}

Cache::Result Cache::access(PAddr pa, bool write, MemSource src) {
  const std::uint64_t line = pa >> m_line_shift;
  const std::size_t base = static_cast<std::size_t>(line & m_set_mask) * m_ways;
  const auto s = static_cast<unsigned>(src);
  ++m_clock;
  std::size_t victim = base;
  for (std::size_t i = base; i < base + m_ways; ++i) {
    if (m_tag[i] == line) {
      ++*m_hits[s];
      m_stamp[i] = m_clock;
      m_dirty[i] |= static_cast<std::uint8_t>(write);
      return Result{true, false, 0};
    }
    // Invalid ways have stamp 0 and tag kInvalid; the first one wins.
    if (m_stamp[i] < m_stamp[victim]) victim = i;
  }
  ++*m_misses[s];
  Result r;
  if (m_tag[victim] != kInvalid && m_dirty[victim]) {
    r.victim_dirty = true;
    r.victim_addr = m_tag[victim] << m_line_shift;
    ++m_writebacks;
  }
  m_tag[victim] = line;
  m_stamp[victim] = m_clock;
  m_dirty[victim] = static_cast<std::uint8_t>(write);
  return r;
}

bool Cache::contains(PAddr pa) const {
  const std::uint64_t line = pa >> m_line_shift;
  const std::size_t base = static_cast<std::size_t>(line & m_set_mask) * m_ways;
  for (std::size_t i = base; i < base + m_ways; ++i)
    if (m_tag[i] == line) return true;
  return false;
}

bool Cache::is_dirty(PAddr pa) const {
  const std::uint64_t line = pa >> m_line_shift;
  const std::size_t base = static_cast<std::size_t>(line & m_set_mask) * m_ways;
  for (std::size_t i = base; i < base + m_ways; ++i)
    if (m_tag[i] == line) return m_dirty[i] != 0;
  return false;
}

}  // namespace mmusim
