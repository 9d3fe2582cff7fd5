#include "models/mmu/mmu_params.h"

#include <set>
#include <utility>

namespace mmusim {

void TlbParams::check(const ParamCheck& c) const {
  if (level == 0) c.fail("level", "must be at least 1, got 0");
  check_set_geometry(c, entries, ways, false, replacement == ReplacementPolicy::Plru);
  if (page_sizes.empty()) c.fail("page_sizes", "must name at least one page size");
  const std::set<PageSize> seen(page_sizes.begin(), page_sizes.end());
  if (seen.size() != page_sizes.size()) c.fail("page_sizes", "lists a page size twice");
  if (!(curves_sample_rate >= 0.0 && curves_sample_rate <= 1.0))
    c.fail("curves_sample_rate", "must be in (0, 1] (or 0: no sampling), got " + format_number(curves_sample_rate));
  if (curves_opt && curves_sample_rate > 0.0 && curves_sample_rate < 1.0)
    c.fail("curves_opt", "needs exact curves: curves_sample_rate is " + format_number(curves_sample_rate));
  if (curves > kMaxCurvesEntries)
    c.fail("curves",
           "must be at most " + std::to_string(kMaxCurvesEntries) + " entries, got " + std::to_string(curves));
}

TlbSpec TlbParams::spec(const std::string& name, std::uint64_t seed) const {
  TlbSpec s;
  s.name = name;
  s.level = level;
  s.serves_data = serves_data();
  s.serves_inst = serves_inst();
  s.geometry.entries = entries;
  s.geometry.ways = ways == 0 ? entries : ways;
  s.geometry.page_sizes = page_sizes;
  s.geometry.policy = replacement;
  std::uint64_t h = seed;
  for (char ch : name) h = h * 1099511628211ull + static_cast<unsigned char>(ch);
  s.geometry.seed = h | 1;
  s.latency = latency;
  s.fracture = fracture;
  return s;
}

std::map<std::string, TlbParams> MmuConfig::default_tlbs() {
  auto make = [](unsigned level, TlbServes serves, std::vector<PageSize> sizes, unsigned entries, unsigned ways,
                 Cycles latency) {
    TlbParams t;
    t.level = level;
    t.serves = serves;
    t.page_sizes = std::move(sizes);
    t.entries = entries;
    t.ways = ways;
    t.latency = latency;
    return t;
  };
  using P = PageSize;
  using S = TlbServes;
  return {
      {"l1d", make(1, S::Data, {P::k4K}, 64, 4, 1)},
      {"l1d_2m", make(1, S::Data, {P::k2M, P::k4M}, 32, 4, 1)},
      {"l1d_1g", make(1, S::Data, {P::k1G}, 4, 4, 1)},
      {"l1i", make(1, S::Inst, {P::k4K, P::k2M, P::k4M}, 128, 8, 1)},
      {"l2", make(2, S::Both, {P::k4K, P::k2M}, 1536, 12, 9)},
  };
}

void MmuConfig::check(const ParamCheck& c) const {
  std::set<unsigned> levels;
  for (const auto& kv : tlbs) {
    kv.second.check(c.at("tlbs." + kv.first + "."));
    levels.insert(kv.second.level);
  }
  unsigned expect = 1;
  for (unsigned l : levels) {
    if (l != expect)
      c.fail("tlbs", "levels must be numbered 1, 2, ... without gaps; level " + std::to_string(expect) + " is missing");
    ++expect;
  }
  pwc.check(c.at("pwc."));
  walker.check(c.at("walker."));
}

MmuParams MmuConfig::mmu_params(const PagingParams& paging, std::uint64_t seed) const {
  MmuParams p;
  for (const auto& kv : tlbs) p.tlbs.push_back(kv.second.spec(kv.first, seed));
  paging.apply(p.walker);
  pwc.apply(p.walker);
  p.pge = paging.pge;
  p.pcid = paging.pcid;
  return p;
}

bool MmuConfig::walks_follow_tlb(const std::string& tlb) const {
  auto it = tlbs.find(tlb);
  if (it == tlbs.end()) return false;
  const TlbParams& t = it->second;
  for (const bool data : {true, false}) {
    auto serves = [data](const TlbParams& x) { return data ? x.serves_data() : x.serves_inst(); };
    if (!serves(t)) continue;
    for (const auto& kv : tlbs) {
      if (kv.first == tlb || !serves(kv.second)) continue;
      if (kv.second.level >= t.level) return false;  // a sibling, or a level below
    }
  }
  return true;
}

}  // namespace mmusim
