#include "sim/curves_output.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace mmusim {

namespace {

std::string fixed(double v) { return std::to_string(std::llround(v)); }

// The rows of a sampled TLB: estimates scaled to all its lookups, rounded;
// the bound rounded up.
std::string sampled_rows(const TlbCurves& c, const StatGroup::Entry* walks_stat, bool opt_column) {
  const MissCurves& m = *c.curves;
  const Tlb& host = *c.host;
  const double total = static_cast<double>(m.total_accesses());
  const std::string acc = std::to_string(m.total_accesses());
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.6f", m.sample_rate());
  const std::string tail = std::string(",") + rate + ',' + std::to_string(m.accesses()) + ',';
  bool walks = c.walks && walks_stat && host.entries() <= m.max_entries();
  double base = 0;
  if (walks) {
    unsigned i = 0;
    while (m.sets_at(i) != host.sets()) ++i;
    base = static_cast<double>(walks_stat->counter->value()) + m.estimates_at(i)[host.ways() - 1].walk_free_hits;
  }
  std::string out;
  for (unsigned i = 0; i < m.num_set_counts(); ++i) {
    const unsigned sets = m.sets_at(i);
    const std::vector<MissCurves::Estimate> est = m.estimates_at(i);
    for (unsigned ways = 1; ways <= m.max_ways_at(i); ++ways) {
      const MissCurves::Estimate& e = est[ways - 1];
      const std::int64_t hits = std::llround(e.hits);
      out += c.tlb + ',' + std::to_string(sets) + ',' + std::to_string(ways) + ',' + std::to_string(sets * ways) + ',' +
             acc + ',' + std::to_string(hits) + ',' + fixed(total - static_cast<double>(hits)) + ',' +
             (walks ? fixed(std::max(0.0, base - e.walk_free_hits)) : std::string()) + tail +
             std::to_string(static_cast<std::int64_t>(std::ceil(e.misses_bound))) + (opt_column ? "," : "") + '\n';
    }
  }
  return out;
}

}  // namespace

std::string curves_csv(const std::vector<TlbCurves>& curves, const StatGroup& root) {
  bool any_sampled = false;
  for (const TlbCurves& c : curves) any_sampled = any_sampled || c.curves->sampling();
  bool any_opt = false;
  for (const TlbCurves& c : curves) any_opt = any_opt || c.curves->opt_recorded();
  std::string out = "tlb,sets,ways,entries,accesses,hits,misses,walks";
  out += any_sampled ? ",sample_rate,sampled_accesses,misses_bound" : "";
  out += any_opt ? ",opt_misses\n" : "\n";
  const StatGroup::Entry* walks_stat = root.find("mmu.walker.walks");
  for (const TlbCurves& c : curves) {
    const MissCurves& m = *c.curves;
    if (m.sampling()) {
      out += sampled_rows(c, walks_stat, any_opt);
      continue;
    }
    const std::string extra = any_sampled ? ",1," + std::to_string(m.accesses()) + ",0" : std::string();
    const std::string acc = std::to_string(m.accesses());
    // Walks need the host's own walk-free hits, so its geometry in range.
    const Tlb& host = *c.host;
    const bool walks = c.walks && walks_stat && host.entries() <= m.max_entries();
    const std::uint64_t base = walks ? walks_stat->counter->value() + m.walk_free_hits(host.sets(), host.ways()) : 0;
    for (unsigned i = 0; i < m.num_set_counts(); ++i) {
      const unsigned sets = m.sets_at(i);
      for (unsigned ways = 1; ways <= m.max_ways_at(i); ++ways) {
        const std::uint64_t hits = m.hits(sets, ways);
        out += c.tlb + ',' + std::to_string(sets) + ',' + std::to_string(ways) + ',' + std::to_string(sets * ways) +
               ',' + acc + ',' + std::to_string(hits) + ',' + std::to_string(m.accesses() - hits) + ',' +
               (walks ? std::to_string(base - m.walk_free_hits(sets, ways)) : std::string()) + extra +
               (any_opt ? ',' + (sets == 1 && m.opt_recorded() ? std::to_string(m.opt_misses(ways)) : std::string())
                        : std::string()) +
               '\n';
      }
    }
  }
  return out;
}

void check_curves_against_stats(const std::vector<TlbCurves>& curves, const StatGroup& root) {
  for (const TlbCurves& c : curves) {
    const Tlb& t = *c.host;
    if (t.policy() != ReplacementPolicy::Lru || t.entries() > c.curves->max_entries() || c.curves->sampling()) continue;
    const std::string base = "mmu.tlb." + c.tlb + ".";
    const StatGroup::Entry* acc = root.find(base + "accesses");
    const StatGroup::Entry* miss = root.find(base + "misses");
    if (!acc || !miss) throw std::logic_error("miss curves: no statistics " + base + "{accesses,misses}");
    const std::uint64_t m = c.curves->misses(t.sets(), t.ways());
    if (acc->counter->value() != c.curves->accesses() || miss->counter->value() != m)
      throw std::logic_error("miss curves of " + c.tlb + " disagree with its statistics at its own geometry (" +
                             std::to_string(t.sets()) + " sets x " + std::to_string(t.ways()) +
                             " ways): " + std::to_string(c.curves->accesses()) + " accesses, " + std::to_string(m) +
                             " misses; the TLB counted " + std::to_string(acc->counter->value()) + " and " +
                             std::to_string(miss->counter->value()));
  }
}

}  // namespace mmusim
