#include "sim/curves_output.h"

#include <stdexcept>
#include <string>

namespace mmusim {

std::string curves_csv(const std::vector<TlbCurves>& curves, const StatGroup& root) {
  std::string out = "tlb,sets,ways,entries,accesses,hits,misses,walks\n";
  const StatGroup::Entry* walks_stat = root.find("mmu.walker.walks");
  for (const TlbCurves& c : curves) {
    const MissCurves& m = *c.curves;
    const std::string acc = std::to_string(m.accesses());
    // Walks need the host's own walk-free hits, so its geometry in range.
    const Tlb& host = *c.host;
    const bool walks = c.walks && walks_stat && host.entries() <= m.max_entries();
    const std::uint64_t base = walks ? walks_stat->counter->value() + m.walk_free_hits(host.sets(), host.ways()) : 0;
    for (unsigned i = 0; i < m.num_set_counts(); ++i) {
      const unsigned sets = m.sets_at(i);
      for (unsigned ways = 1; ways <= m.max_ways_at(i); ++ways) {
        const std::uint64_t hits = m.hits(sets, ways);
        out += c.tlb + ',' + std::to_string(sets) + ',' + std::to_string(ways) + ',' + std::to_string(sets * ways) + ',' +
               acc + ',' + std::to_string(hits) + ',' + std::to_string(m.accesses() - hits) + ',' +
               (walks ? std::to_string(base - m.walk_free_hits(sets, ways)) : std::string()) + '\n';
      }
    }
  }
  return out;
}

void check_curves_against_stats(const std::vector<TlbCurves>& curves, const StatGroup& root) {
  for (const TlbCurves& c : curves) {
    const Tlb& t = *c.host;
    if (t.policy() != ReplacementPolicy::Lru || t.entries() > c.curves->max_entries()) continue;
    const std::string base = "mmu.tlb." + c.tlb + ".";
    const StatGroup::Entry* acc = root.find(base + "accesses");
    const StatGroup::Entry* miss = root.find(base + "misses");
    if (!acc || !miss) throw std::logic_error("miss curves: no statistics " + base + "{accesses,misses}");
    const std::uint64_t m = c.curves->misses(t.sets(), t.ways());
    if (acc->counter->value() != c.curves->accesses() || miss->counter->value() != m)
      throw std::logic_error("miss curves of " + c.tlb + " disagree with its statistics at its own geometry (" +
                             std::to_string(t.sets()) + " sets x " + std::to_string(t.ways()) + " ways): " +
                             std::to_string(c.curves->accesses()) + " accesses, " + std::to_string(m) +
                             " misses; the TLB counted " + std::to_string(acc->counter->value()) + " and " +
                             std::to_string(miss->counter->value()));
  }
}

}  // namespace mmusim
