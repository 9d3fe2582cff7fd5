#include "models/tlb/miss_curves.h"

#include "models/tlb/miss_curves_opt_record.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mmusim {

MissCurves::~MissCurves() = default;

MissCurves::MissCurves(const std::vector<PageSize>& sizes, unsigned max_entries, unsigned depth_cap)
    : m_max_entries(max_entries) {
  if (max_entries == 0) throw std::invalid_argument("miss curves: the entry bound must be at least 1");
  if (sizes.empty()) throw std::invalid_argument("miss curves: no page size");
  std::vector<PageSize> sorted = sizes;
  std::sort(sorted.begin(), sorted.end(), [](PageSize a, PageSize b) { return page_shift(a) < page_shift(b); });
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (PageSize s : sorted) {
    m_sizes[m_num_sizes] = s;
    m_shifts[m_num_sizes] = page_shift(s);
    ++m_num_sizes;
  }
  for (unsigned sets = 1; sets <= max_entries; sets *= 2) {
    Stacks s;
    s.sets = sets;
    s.depth = max_entries / sets;
    if (depth_cap != 0) s.depth = std::min(s.depth, depth_cap);
    s.slots.resize(std::size_t{sets} * s.depth);
    s.used.assign(sets, 0);
    s.hist.assign(s.depth, 0);
    s.free_hist.assign(s.depth, 0);
    m_stacks.push_back(std::move(s));
    if (sets > max_entries / 2) break;  // the next doubling would overflow the bound
  }
}

std::uint32_t MissCurves::content_of(const TlbEntry& e) {
  std::uint64_t h = e.pfn * 0x9e3779b97f4a7c15ull;
  h ^= (e.writable ? 1u : 0u) | (e.user ? 2u : 0u) | (e.nx ? 4u : 0u) | (e.dirty ? 8u : 0u);
  h *= 0xff51afd7ed558ccdull;
  return static_cast<std::uint32_t>(h >> 32);
}

MissCurves::Key MissCurves::key_of(const TlbEntry& e) {
  Key k;
  k.vpn = e.vpn;
  // A fractured piece (SDM 4.10.2.3) also carries its page's size, so that
  // an INVLPG anywhere in that page finds it (Tlb::flush_page_where).
  const std::uint32_t page =
      e.fractured() ? static_cast<std::uint32_t>(e.page_size) : static_cast<std::uint32_t>(e.size);
  k.tag = static_cast<std::uint32_t>(e.size) | (e.global ? 1u << 4 : 0u) | (page << 5) | (std::uint32_t{e.pcid} << 8);
  k.content = content_of(e);
  return k;
}

unsigned MissCurves::find_key(Stacks& s, const Key& k) {
  const Key* row = s.row(k.vpn);
  const unsigned used = s.used_of(k.vpn);
  for (unsigned i = 0; i < used; ++i)
    if (row[i].tag == k.tag && row[i].vpn == k.vpn) return i + 1;
  return 0;
}

unsigned MissCurves::find_address(Stacks& s, VAddr va, std::uint16_t pcid, Key* found) const {
  for (unsigned z = 0; z < m_num_sizes; ++z) {
    const VAddr vpn = va >> m_shifts[z];
    const Key* row = s.row(vpn);
    const unsigned used = s.used_of(vpn);
    for (unsigned i = 0; i < used; ++i) {
      const Key& k = row[i];
      if (k.tag != kHole && k.vpn == vpn && size_of(k) == m_sizes[z] && (global_of(k) || pcid_of(k) == pcid)) {
        *found = k;
        return i + 1;
      }
    }
  }
  return 0;
}

void MissCurves::reference(Stacks& s, const Key& k) {
  Key* row = s.row(k.vpn);
  unsigned& used = s.used_of(k.vpn);
  const bool global = global_of(k);
  const PageSize size = size_of(k);
  const std::uint16_t pcid = pcid_of(k);
  unsigned hole = s.depth;  // the topmost hole
  for (unsigned i = 0; i < used; ++i) {
    Key& old = row[i];
    if (old.tag == kHole) {
      if (hole == s.depth) hole = i;
      continue;
    }
    if (old.vpn == k.vpn && size_of(old) == size && (global || global_of(old) || pcid_of(old) == pcid)) {
      old.tag = kHole;
      if (hole == s.depth) hole = i;
      // A non-global entry shadows at most one (Tlb::insert keeps them
      // unique); a global one may replace one copy per PCID.
      if (!global) break;
    }
  }
  if (hole == s.depth) hole = used < s.depth ? used : s.depth - 1;  // free space, else the bottom falls out
  std::memmove(row + 1, row, sizeof(Key) * hole);
  row[0] = k;
  used = std::max(used, hole + 1);
}

void MissCurves::reference_found(Stacks& s, const Key& k) {
  if (s.pending_depth == 0) {
    reference(s, k);
    return;
  }
  Key* row = s.row(k.vpn);
  unsigned& used = s.used_of(k.vpn);
  const unsigned q = s.pending_depth - 1;
  // A hit's entry is the only one of its page in its set (see reference),
  // so it is the only shadow; it becomes the hole unless one lies above.
  row[q].tag = kHole;
  const unsigned hole = std::min(q, s.pending_hole);
  std::memmove(row + 1, row, sizeof(Key) * hole);
  row[0] = k;
  used = std::max(used, hole + 1);
}

void MissCurves::trim(Stacks& s, std::uint64_t vpn) {
  const Key* row = s.row(vpn);
  unsigned& used = s.used_of(vpn);
  while (used > 0 && row[used - 1].tag == kHole) --used;
}

void MissCurves::flush_repeats() {
  if (m_repeats == 0) return;
  for (Stacks& s : m_stacks) {
    s.hist[0] += m_repeats;
    s.free_hist[0] += m_repeats;
  }
  m_repeats = 0;
}

void MissCurves::resolve() {
  flush_repeats();
  if (m_pending == Pending::None) return;
  const Pending p = m_pending;
  m_pending = Pending::None;
  if (p == Pending::Miss) return;  // no fill: the size is not held, or the walk faulted
  for (Stacks& s : m_stacks) {
    if (p == Pending::Hit) {
      if (s.pending_depth) ++s.free_hist[s.pending_depth - 1];
      reference_found(s, m_pending_key);
    } else if (const unsigned d = find_key(s, m_pending_key)) {
      s.row(m_pending_key.vpn)[d - 1].tag = kHole;
      trim(s, m_pending_key.vpn);
    }
  }
}

void MissCurves::set_sample_rate(double rate) {
  if (m_opt) throw std::invalid_argument("miss curves: OPT curves need exact curves, not sampled ones");
  if (!(rate > 0.0 && rate < 1.0))
    throw std::invalid_argument("miss curves: the sample rate must be in (0, 1), got " + std::to_string(rate));
  m_sample_threshold = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(rate * kSampleModulus)));
  m_unit_shift = m_shifts[m_num_sizes - 1];
  std::vector<PageSize> sizes(m_sizes, m_sizes + m_num_sizes);
  const double cap = std::ceil(kHeadFactor / sample_rate());
  m_head = std::make_unique<MissCurves>(sizes, m_max_entries,
                                        cap >= m_max_entries ? m_max_entries : static_cast<unsigned>(cap));
}

bool MissCurves::sampled_va(VAddr va) const {
  // splitmix64's finaliser: a fixed bijection, so the sample is deterministic.
  std::uint64_t h = (va >> m_unit_shift) + 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return (h >> 40) < m_sample_threshold;  // the top 24 bits: hash mod P, P = 2^24
}

void MissCurves::note_unit(VAddr va, bool repeat) {
  const std::uint64_t unit = va >> m_unit_shift;
  auto it = m_unit_index.find(unit);
  if (it == m_unit_index.end()) {
    it = m_unit_index.emplace(unit, static_cast<std::uint32_t>(m_unit_lookups.size())).first;
    m_unit_lookups.push_back(0);
    m_unit_repeats.push_back(0);
  }
  m_cur_unit = it->second;
  ++m_unit_lookups[m_cur_unit];
  if (repeat) {
    ++m_unit_repeats[m_cur_unit];
    return;
  }
  for (std::size_t i = 0; i < m_stacks.size(); ++i)
    if (const unsigned d = m_stacks[i].pending_depth)
      ++m_unit_depths[(std::uint64_t{m_cur_unit} << 24) | (std::uint64_t{i} << 17) | (d - 1)];
}

std::vector<MissCurves::Estimate> MissCurves::estimates_at(unsigned i) const {
  const Stacks& s = m_stacks.at(i);
  const unsigned depth = s.depth;
  std::vector<Estimate> out(depth);
  const double n_total = static_cast<double>(m_total_accesses);
  const double n_s = static_cast<double>(m_accesses);
  const double rate = sample_rate();
  if (m_accesses == 0) {
    for (unsigned w = 1; w <= depth; ++w) {
      if (w <= m_head->max_ways_at(i)) {
        out[w - 1].hits = static_cast<double>(m_head->hits(s.sets, w));
        out[w - 1].walk_free_hits = static_cast<double>(m_head->walk_free_hits(s.sets, w));
      } else {
        out[w - 1].misses_bound = n_total;
      }
    }
    return out;
  }
  // Interpolated cumulative count of a histogram up to real depth t.
  auto upto = [depth](const std::vector<std::uint64_t>& h, double t) {
    const unsigned whole = std::min(depth, static_cast<unsigned>(t));
    double c = 0;
    for (unsigned d = 0; d < whole; ++d) c += static_cast<double>(h[d]);
    if (whole < depth) c += (t - whole) * static_cast<double>(h[whole]);
    return c;
  };
  std::vector<double> miss_ratio(depth);
  for (unsigned w = 1; w <= depth; ++w) {
    const double t = 1.0 + (w - 1) * rate;
    const double hs = static_cast<double>(m_repeats) + upto(s.hist, t);
    const double fs = static_cast<double>(m_repeats) + upto(s.free_hist, t);
    out[w - 1].hits = n_total * hs / n_s;
    out[w - 1].walk_free_hits = n_total * fs / n_s;
    miss_ratio[w - 1] = 1.0 - hs / n_s;
  }
  // Per unit: its depths in this stack, sorted.
  std::vector<std::vector<std::pair<unsigned, std::uint64_t>>> per_unit(m_unit_lookups.size());
  for (const auto& kv : m_unit_depths)
    if (((kv.first >> 17) & 0x7fu) == i)
      per_unit[kv.first >> 24].emplace_back(static_cast<unsigned>(kv.first & 0x1ffffu) + 1, kv.second);
  std::vector<double> sum(depth, 0.0);
  for (std::size_t u = 0; u < per_unit.size(); ++u) {
    auto& v = per_unit[u];
    std::sort(v.begin(), v.end());
    const double n_u = static_cast<double>(m_unit_lookups[u]);
    double cum = static_cast<double>(m_unit_repeats[u]);
    std::size_t p = 0;
    for (unsigned w = 1; w <= depth; ++w) {
      const double t = 1.0 + (w - 1) * rate;
      const unsigned whole = static_cast<unsigned>(t);
      while (p < v.size() && v[p].first <= whole) cum += static_cast<double>(v[p++].second);
      double h = cum;
      if (p < v.size() && v[p].first == whole + 1) h += (t - whole) * static_cast<double>(v[p].second);
      const double dev = (n_u - h) - miss_ratio[w - 1] * n_u;
      sum[w - 1] += dev * dev;
    }
  }
  // Too few sampled units for the variance estimate (one unit alone gives
  // 0): no bound but the trivial one.
  const bool few = m_unit_lookups.size() < kMinUnits;
  for (unsigned w = 0; w < depth; ++w)
    out[w].misses_bound = few ? n_total : 3.0 * std::sqrt((1.0 - rate) * sum[w]) / rate + kBiasAllowance * n_total;
  // The exact head.
  const unsigned sets = s.sets;
  for (unsigned w = 1; w <= std::min(depth, m_head->max_ways_at(i)); ++w) {
    out[w - 1].hits = static_cast<double>(m_head->hits(sets, w));
    out[w - 1].walk_free_hits = static_cast<double>(m_head->walk_free_hits(sets, w));
    out[w - 1].misses_bound = 0;
  }
  return out;
}

void MissCurves::lookup(VAddr va, std::uint16_t pcid, const TlbEntry* hit) {
  ++m_total_accesses;
  if (m_opt) {
    opt_miss_only();
    if (hit) opt_reference(key_of(*hit), true);
    else m_opt->pending_miss = true;
  }
  if (m_head) m_head->lookup(va, pcid, hit);
  if (m_sample_threshold && !sampled_va(va)) return;
  ++m_accesses;
  if (hit) {
    const Key k = key_of(*hit);
    if (m_pending == Pending::Hit && m_pending_top && k.vpn == m_pending_key.vpn && k.tag == m_pending_key.tag) {
      ++m_repeats;
      if (m_sample_threshold) note_unit(va, true);
      return;
    }
    resolve();
    m_pending_top = true;
    for (Stacks& s : m_stacks) {
      // find_key, noting the topmost hole on the way for reference_found.
      const Key* row = s.row(k.vpn);
      const unsigned used = s.used_of(k.vpn);
      s.pending_depth = 0;
      s.pending_hole = s.depth;
      for (unsigned i = 0; i < used; ++i) {
        if (row[i].tag == k.tag && row[i].vpn == k.vpn) {
          s.pending_depth = i + 1;
          break;
        }
        if (row[i].tag == kHole && s.pending_hole == s.depth) s.pending_hole = i;
      }
      if (s.pending_depth) ++s.hist[s.pending_depth - 1];
      m_pending_top = m_pending_top && s.pending_depth == 1;
    }
    if (m_sample_threshold) note_unit(va, false);
    m_pending = Pending::Hit;
    m_pending_key = k;
  } else {
    resolve();
    for (Stacks& s : m_stacks) {
      s.pending_depth = find_address(s, va, pcid, &s.pending_found);
      if (s.pending_depth) ++s.hist[s.pending_depth - 1];
    }
    if (m_sample_threshold) note_unit(va, false);
    m_pending = Pending::Miss;
  }
}

void MissCurves::fill(const TlbEntry& e) {
  if (m_opt) {
    const bool counted = m_opt->pending_miss;
    m_opt->pending_miss = false;
    opt_reference(key_of(e), counted);
  }
  if (m_head) m_head->fill(e);
  if (m_sample_threshold && !sampled_va(e.vpn << page_shift(e.size))) return;
  flush_repeats();
  const Key k = key_of(e);
  if (m_pending == Pending::Miss) {
    // The walk after this TLB's miss refilled the page: a geometry that held
    // it with the same content hit and did not walk.
    for (Stacks& s : m_stacks)
      if (s.pending_depth && s.pending_found.vpn == k.vpn && size_of(s.pending_found) == size_of(k) &&
          s.pending_found.content == k.content)
        ++s.free_hist[s.pending_depth - 1];
  } else if (m_pending != Pending::None && (m_pending_key.vpn != k.vpn || size_of(m_pending_key) != size_of(k))) {
    // The fill completing a pending hit (a rights walk) is its reference;
    // anything else settles the pending lookup first.
    resolve();
  }
  m_pending = Pending::None;
  if (e.fractured()) m_has_fractured = true;
  for (Stacks& s : m_stacks) reference(s, k);
}

void MissCurves::invalidate_entry(const TlbEntry& e) {
  if (m_opt) {
    opt_miss_only();
    opt_end(key_of(e));
  }
  if (m_head) m_head->invalidate_entry(e);
  if (m_sample_threshold && !sampled_va(e.vpn << page_shift(e.size))) return;
  flush_repeats();
  const Key k = key_of(e);
  if (m_pending == Pending::Hit && m_pending_key.vpn == k.vpn && m_pending_key.tag == k.tag) {
    m_pending = Pending::Invalidated;  // a rights walk: a fill may follow
    return;
  }
  resolve();
  for (Stacks& s : m_stacks)
    if (const unsigned d = find_key(s, k)) {
      s.row(k.vpn)[d - 1].tag = kHole;
      trim(s, k.vpn);
    }
}

template <typename Pred>
void MissCurves::flush_where(Pred pred) {
  resolve();
  if (m_opt) {
    opt_miss_only();
    opt_end_where(pred);
  }
  for (Stacks& s : m_stacks)
    for (unsigned set = 0; set < s.sets; ++set) {
      Key* row = &s.slots[std::size_t{set} * s.depth];
      for (unsigned i = 0; i < s.used[set]; ++i)
        if (row[i].tag != kHole && pred(row[i])) row[i].tag = kHole;
      trim(s, set);
    }
}

template <typename Pred>
void MissCurves::flush_page_where(VAddr va, Pred pred) {
  resolve();
  if (m_opt) {
    opt_miss_only();
    opt_end_where([&](const Key& k) {
      if (!pred(k)) return false;
      const PageSize size = size_of(k);
      if (k.vpn == va >> page_shift(size)) return true;
      const auto page = static_cast<PageSize>((k.tag >> 5) & 3u);  // a fractured piece's page
      if (page == size) return false;
      const unsigned big = page_shift(page);
      return ((k.vpn << page_shift(size)) >> big) == (va >> big);
    });
  }
  if (m_has_fractured) {
    // The pieces of a larger page containing va, wherever they sit.
    for (Stacks& s : m_stacks)
      for (unsigned set = 0; set < s.sets; ++set) {
        Key* row = &s.slots[std::size_t{set} * s.depth];
        for (unsigned i = 0; i < s.used[set]; ++i) {
          if (row[i].tag == kHole || !pred(row[i])) continue;
          const auto page = static_cast<PageSize>((row[i].tag >> 5) & 3u);
          if (page == size_of(row[i])) continue;
          const unsigned big = page_shift(page);
          if (((row[i].vpn << page_shift(size_of(row[i]))) >> big) == (va >> big)) row[i].tag = kHole;
        }
        trim(s, set);
      }
  }
  for (unsigned z = 0; z < m_num_sizes; ++z) {
    const VAddr vpn = va >> m_shifts[z];
    for (Stacks& s : m_stacks) {
      Key* row = s.row(vpn);
      const unsigned used = s.used_of(vpn);
      for (unsigned i = 0; i < used; ++i)
        if (row[i].tag != kHole && row[i].vpn == vpn && size_of(row[i]) == m_sizes[z] && pred(row[i]))
          row[i].tag = kHole;
      trim(s, vpn);
    }
  }
}

void MissCurves::flush_all() {
  if (m_head) m_head->flush_all();
  flush_where([](const Key&) { return true; });
  m_has_fractured = false;
}

void MissCurves::flush_non_global() {
  if (m_head) m_head->flush_non_global();
  flush_where([](const Key& k) { return !global_of(k); });
}

void MissCurves::flush_pcid(std::uint16_t pcid) {
  if (m_head) m_head->flush_pcid(pcid);
  flush_where([pcid](const Key& k) { return !global_of(k) && pcid_of(k) == pcid; });
}

void MissCurves::flush_page(VAddr va, std::uint16_t pcid) {
  if (m_head) m_head->flush_page(va, pcid);
  flush_page_where(va, [pcid](const Key& k) { return global_of(k) || pcid_of(k) == pcid; });
}

void MissCurves::flush_page_any_pcid(VAddr va) {
  if (m_head) m_head->flush_page_any_pcid(va);
  flush_page_where(va, [](const Key&) { return true; });
}

void MissCurves::flush_page_pcid(VAddr va, std::uint16_t pcid) {
  if (m_head) m_head->flush_page_pcid(va, pcid);
  flush_page_where(va, [pcid](const Key& k) { return !global_of(k) && pcid_of(k) == pcid; });
}

std::uint64_t MissCurves::walk_free_hits(unsigned sets, unsigned ways) const {
  hits(sets, ways);  // validates the geometry
  unsigned i = 0;
  while (m_stacks[i].sets != sets) ++i;
  std::uint64_t h = m_repeats;
  for (unsigned w = 0; w < ways; ++w) h += m_stacks[i].free_hist[w];
  // The last lookup, a hit nothing has followed yet, did not walk.
  const unsigned d = m_stacks[i].pending_depth;
  if (m_pending == Pending::Hit && d != 0 && d <= ways) ++h;
  return h;
}

std::uint64_t MissCurves::hits(unsigned sets, unsigned ways) const {
  unsigned i = 0;
  while (i < m_stacks.size() && m_stacks[i].sets != sets) ++i;
  if (i == m_stacks.size() || ways == 0 || ways > m_stacks[i].depth)
    throw std::invalid_argument("miss curves: " + std::to_string(sets) + " sets x " + std::to_string(ways) +
                                " ways is outside the analysed range (bound " + std::to_string(m_max_entries) +
                                " entries)");
  std::uint64_t h = m_repeats;
  for (unsigned w = 0; w < ways; ++w) h += m_stacks[i].hist[w];
  return h;
}

// ---------------------------------------------------------------- OPT (the rest in miss_curves_opt.cpp)

void MissCurves::opt_miss_only() {
  if (m_opt->pending_miss) {
    m_opt->pending_miss = false;
    ++m_opt->miss_only;
  }
}

template <typename Pred>
void MissCurves::opt_end_where(Pred pred) {
  for (auto it = m_opt->live.begin(); it != m_opt->live.end();) {
    auto& v = it->second;
    const VAddr vpn = it->first >> 4;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const std::pair<std::uint32_t, std::uint32_t>& e) {
                             return pred(Key{vpn, e.first, 0});
                           }),
            v.end());
    it = v.empty() ? m_opt->live.erase(it) : std::next(it);
  }
}

}  // namespace mmusim
