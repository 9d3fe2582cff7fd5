#include "models/pwc/paging_structure_cache.h"

#include <stdexcept>

namespace mmusim {

PagingStructureCache::PagingStructureCache(const PagingFormat& f, unsigned level, unsigned entries, unsigned ways,
                                           StatGroup& stats)
    : m_va_mask(f.va_mask()),
      m_shift(f.index_shift[level]),
      m_hits(stats.counter("hits", "walks that found this level's entry cached")),
      m_misses(stats.counter("misses", "walks that did not")) {
  if (entries == 0) return;
  m_ways = ways == 0 ? entries : ways;
  if (entries % m_ways != 0) throw std::invalid_argument("paging-structure cache: ways must divide entries");
  m_sets = entries / m_ways;
  if (m_sets & (m_sets - 1)) throw std::invalid_argument("paging-structure cache: sets must be a power of two");
  m_entries.resize(entries);
}

const PscEntry* PagingStructureCache::lookup(VAddr va, std::uint16_t pcid) {
  if (m_entries.empty()) return nullptr;
  const std::uint64_t tag = this->tag(va);
  PscEntry* set = &m_entries[(tag & (m_sets - 1)) * m_ways];
  for (unsigned w = 0; w < m_ways; ++w) {
    if (set[w].valid && set[w].tag == tag && set[w].pcid == pcid) {
      set[w].stamp = ++m_clock;
      ++m_hits;
      return &set[w];
    }
  }
  ++m_misses;
  return nullptr;
}

void PagingStructureCache::insert(VAddr va, const PscEntry& entry) {
  if (m_entries.empty()) return;
  PscEntry e = entry;
  e.tag = tag(va);
  PscEntry* set = &m_entries[(e.tag & (m_sets - 1)) * m_ways];
  PscEntry* victim = &set[0];
  for (unsigned w = 0; w < m_ways; ++w) {
    if (set[w].valid && set[w].tag == e.tag && set[w].pcid == e.pcid) {
      victim = &set[w];
      break;
    }
    if (!set[w].valid) {
      if (victim->valid) victim = &set[w];
    } else if (victim->valid && set[w].stamp < victim->stamp) {
      victim = &set[w];
    }
  }
  *victim = e;
  victim->valid = true;
  victim->stamp = ++m_clock;
}

void PagingStructureCache::invalidate(VAddr va, std::uint16_t pcid) {
  if (m_entries.empty()) return;
  const std::uint64_t tag = this->tag(va);
  PscEntry* set = &m_entries[(tag & (m_sets - 1)) * m_ways];
  for (unsigned w = 0; w < m_ways; ++w)
    if (set[w].valid && set[w].tag == tag && set[w].pcid == pcid) set[w].valid = false;
}

void PagingStructureCache::flush_all() {
  for (auto& e : m_entries) e.valid = false;
}

void PagingStructureCache::flush_pcid(std::uint16_t pcid) {
  for (auto& e : m_entries)
    if (e.pcid == pcid) e.valid = false;
}

}  // namespace mmusim
