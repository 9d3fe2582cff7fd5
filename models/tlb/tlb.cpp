#include "models/tlb/tlb.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "models/tlb/miss_curves.h"

namespace mmusim {

namespace {

bool is_power_of_two(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

unsigned Tlb::checked_ways(const std::string& name, const TlbGeometry& g) {
  auto fail = [&name](const std::string& why) { throw std::invalid_argument("tlb " + name + ": " + why); };
  if (g.entries == 0) fail("entries must be at least 1");
  const unsigned ways = g.ways == 0 ? g.entries : g.ways;
  if (ways > g.entries || g.entries % ways != 0)
    fail("ways (" + std::to_string(ways) + ") must divide entries (" + std::to_string(g.entries) + ")");
  const unsigned sets = g.entries / ways;
  if (!is_power_of_two(sets)) fail("sets (entries / ways = " + std::to_string(sets) + ") must be a power of two");
  if (g.policy == ReplacementPolicy::Plru && !is_power_of_two(ways))
    fail("plru replacement needs a power-of-two number of ways, got " + std::to_string(ways));
  if (g.page_sizes.empty()) fail("page_sizes must list at least one page size");
  unsigned seen = 0;
  for (PageSize s : g.page_sizes) {
    const unsigned bit = 1u << static_cast<unsigned>(s);
    if (seen & bit) fail(std::string("page size ") + page_size_name(s) + " listed twice");
    seen |= bit;
  }
  return ways;
}

Tlb::Tlb(std::string name, const TlbGeometry& g, StatGroup& stats)
    : m_name(std::move(name)),
      m_ways(checked_ways(m_name, g)),
      m_sets(g.entries / m_ways),
      m_set_mask(m_sets - 1),
      m_entries(std::size_t{m_sets} * m_ways),
      m_repl(g.policy, m_sets, m_ways, g.seed),
      m_accesses(stats.counter("accesses", "demand lookups")),
      m_hits(stats.counter("hits", "demand lookups that hit")),
      m_misses(stats.counter("misses", "demand lookups that missed")),
      m_evictions(stats.counter("evictions", "fills that replaced a valid entry")),
      m_flushes(stats.counter("flushes", "invalidation operations (any scope)")),
      m_flushed_entries(stats.counter("flushed_entries", "valid entries removed by invalidations")),
      m_fractured_fills(stats.counter(
          "fractured_fills", "fills of a piece of a page larger than any size this TLB holds (SDM 4.10.2.3)")) {
  std::vector<PageSize> sizes = g.page_sizes;
  // Smallest first: 4K pages dominate most traces, so the common hit is
  // found on the first probe, and the order is independent of config order.
  std::sort(sizes.begin(), sizes.end(), [](PageSize a, PageSize b) { return page_shift(a) < page_shift(b); });
  for (PageSize s : sizes) {
    m_sizes[m_num_sizes] = s;
    m_shifts[m_num_sizes] = page_shift(s);
    ++m_num_sizes;
    m_held_mask |= 1u << static_cast<unsigned>(s);
  }
}

std::vector<PageSize> Tlb::page_sizes() const { return {m_sizes, m_sizes + m_num_sizes}; }

void Tlb::insert(const TlbEntry& in) {
  if (!holds(in.size))
    throw std::invalid_argument("tlb " + m_name + ": insert of a " + page_size_name(in.size) +
                                " entry, a size this TLB does not hold");
  const unsigned set = static_cast<unsigned>(in.vpn & m_set_mask);
  TlbEntry* row = &m_entries[slot(set, 0)];

  // An existing entry the new one would shadow for some PCID: overwriting it
  // (rather than adding a second copy) keeps lookups unambiguous.
  auto shadows = [&in](const TlbEntry& old) {
    return old.valid && old.vpn == in.vpn && old.size == in.size && (old.global || in.global || old.pcid == in.pcid);
  };

  unsigned target = m_ways;
  unsigned first_invalid = m_ways;
  for (unsigned w = 0; w < m_ways; ++w) {
    if (shadows(row[w])) {
      if (target == m_ways) target = w;
      else invalidate(set, w);  // only reachable when a global replaces per-PCID copies
    } else if (!row[w].valid && first_invalid == m_ways) {
      first_invalid = w;
    }
  }

  if (target == m_ways) {
    if (first_invalid != m_ways) {
      target = first_invalid;
      ++m_valid_count;
    } else {
      target = m_repl.victim(set);
      ++m_evictions;
    }
  }
  row[target] = in;
  row[target].valid = true;
  if (in.fractured()) m_has_fractured = true;
  m_repl.fill(set, target);
  if (m_curves) m_curves->fill(row[target]);
}

void Tlb::note_lookup(VAddr va, std::uint16_t pcid, const TlbEntry* hit) { m_curves->lookup(va, pcid, hit); }

void Tlb::invalidate_entry(const TlbEntry* e) {
  if (e < m_entries.data() || e >= m_entries.data() + m_entries.size())
    throw std::invalid_argument("tlb " + m_name + ": invalidate_entry of a foreign entry");
  if (m_curves && e->valid) m_curves->invalidate_entry(*e);
  invalidate_entry_quiet(e);
}

void Tlb::invalidate_entry_quiet(const TlbEntry* e) {
  const auto idx = static_cast<unsigned>(e - m_entries.data());
  if (e->valid) invalidate(idx / m_ways, idx % m_ways);
}

void Tlb::invalidate(unsigned set, unsigned way) {
  m_entries[slot(set, way)].valid = false;
  --m_valid_count;
}

template <typename Pred>
void Tlb::flush_where(Pred pred) {
  ++m_flushes;
  std::uint64_t removed = 0;
  if (m_valid_count != 0) {
    for (unsigned set = 0; set < m_sets; ++set)
      for (unsigned w = 0; w < m_ways; ++w) {
        const TlbEntry& e = m_entries[slot(set, w)];
        if (e.valid && pred(e)) {
          invalidate(set, w);
          ++removed;
        }
      }
  }
  m_flushed_entries += removed;
}

template <typename Pred>
std::uint64_t Tlb::drop_fractured(VAddr va, Pred pred) {
  // The pieces of a larger page sit in the sets of their own page numbers:
  // look through every entry (only once a fractured fill has happened).
  std::uint64_t removed = 0;
  if (!m_has_fractured || m_valid_count == 0) return 0;
  for (unsigned set = 0; set < m_sets; ++set)
    for (unsigned w = 0; w < m_ways; ++w) {
      const TlbEntry& e = m_entries[slot(set, w)];
      if (!e.valid || !e.fractured() || !pred(e)) continue;
      const unsigned big = page_shift(e.page_size);
      if (((e.vpn << page_shift(e.size)) >> big) == (va >> big)) {
        invalidate(set, w);
        ++removed;
      }
    }
  return removed;
}

void Tlb::invalidate_page(VAddr va, std::uint16_t pcid) {
  if (m_curves) m_curves->flush_page(va, pcid);
  unsigned set = 0, way = 0;
  while (find(va, pcid, &set, &way)) invalidate(set, way);
  drop_fractured(va, [pcid](const TlbEntry& e) { return e.global || e.pcid == pcid; });
}

template <typename Pred>
void Tlb::flush_page_where(VAddr va, Pred pred) {
  ++m_flushes;
  std::uint64_t removed = drop_fractured(va, pred);
  for (unsigned i = 0; i < m_num_sizes; ++i) {
    const VAddr vpn = va >> m_shifts[i];
    const unsigned set = static_cast<unsigned>(vpn & m_set_mask);
    for (unsigned w = 0; w < m_ways; ++w) {
      const TlbEntry& e = m_entries[slot(set, w)];
      if (e.valid && e.vpn == vpn && e.size == m_sizes[i] && pred(e)) {
        invalidate(set, w);
        ++removed;
      }
    }
  }
  m_flushed_entries += removed;
}

void Tlb::flush_all() {
  if (m_curves) m_curves->flush_all();
  flush_where([](const TlbEntry&) { return true; });
  m_has_fractured = false;
}

void Tlb::flush_non_global() {
  if (m_curves) m_curves->flush_non_global();
  flush_where([](const TlbEntry& e) { return !e.global; });
}

void Tlb::flush_pcid(std::uint16_t pcid) {
  if (m_curves) m_curves->flush_pcid(pcid);
  flush_where([pcid](const TlbEntry& e) { return !e.global && e.pcid == pcid; });
}

void Tlb::flush_page(VAddr va, std::uint16_t pcid) {
  if (m_curves) m_curves->flush_page(va, pcid);
  flush_page_where(va, [pcid](const TlbEntry& e) { return e.global || e.pcid == pcid; });
}

void Tlb::flush_page_pcid(VAddr va, std::uint16_t pcid) {
  if (m_curves) m_curves->flush_page_pcid(va, pcid);
  flush_page_where(va, [pcid](const TlbEntry& e) { return !e.global && e.pcid == pcid; });
}

void Tlb::flush_page_any_pcid(VAddr va) {
  if (m_curves) m_curves->flush_page_any_pcid(va);
  flush_page_where(va, [](const TlbEntry&) { return true; });
}

}  // namespace mmusim
