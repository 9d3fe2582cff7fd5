#include "sim/experiment/one_pass.h"

#include <algorithm>
#include <map>
#include <utility>

#include "sim/config/config.h"

namespace mmusim {
namespace {

// mmu.tlbs.<T>.entries or .ways: T, else empty.
std::string geometry_tlb(const std::string& key) {
  const std::string pre = "mmu.tlbs.";
  if (key.rfind(pre, 0) != 0) return "";
  const size_t dot = key.rfind('.');
  if (dot <= pre.size()) return "";
  const std::string leaf = key.substr(dot + 1);
  if (leaf != "entries" && leaf != "ways") return "";
  return key.substr(pre.size(), dot - pre.size());
}

}  // namespace

OnePass analyse_one_pass(const Experiment& e) {
  OnePass op;
  auto no = [&op](const std::string& why) {
    op.plan.ok = false;
    op.plan.reason = why;
    return op;
  };
  std::string tlb;
  for (const auto& k : e.keys) {
    const std::string t = geometry_tlb(k);
    if (t.empty()) continue;
    if (!tlb.empty() && t != tlb) return no("the sweep changes two TLBs (" + tlb + " and " + t + ")");
    tlb = t;
  }
  if (tlb.empty()) return no("no swept key is the entries or ways of a TLB");
  op.plan.tlb = tlb;
  const std::string mpre = "mmu.tlb." + tlb + ".";
  bool want_walks = false;
  for (const auto& m : e.metrics) {
    const bool own = m == mpre + "hits" || m == mpre + "misses" || m == mpre + "accesses";
    want_walks = want_walks || m == "mmu.walker.walks";
    if (!own && m != "mmu.walker.walks")
      return no("metric " + m + " is not determined by the input of TLB " + tlb +
                " alone (one pass gives its hits, misses and accesses, and mmu.walker.walks for the last level)");
  }
  std::map<std::string, size_t> by_other;
  for (size_t p = 0; p < e.points.size(); ++p) {
    const Config c = load_config(e.base, e.overrides(e.points[p])).config;
    auto it = c.mmu.tlbs.find(tlb);
    if (it == c.mmu.tlbs.end()) return no("point " + e.points[p].id + " has no TLB " + tlb);
    const TlbParams& t = it->second;
    if (want_walks && !walks_follow_tlb(c, tlb))
      return no("metric mmu.walker.walks is not determined by TLB " + tlb +
                ": it is not the only TLB of the last level for the access kinds it serves");
    if (t.replacement != ReplacementPolicy::Lru)
      return no("mmu.tlbs." + tlb + ".replacement is " + name_of(kReplacementPolicyNames, t.replacement) +
                " (one pass is exact for lru only)");
    SweptGeometry g;
    g.ways = t.ways == 0 ? t.entries : t.ways;
    g.sets = t.entries / g.ways;
    op.geometry.push_back(g);
    std::vector<std::pair<std::string, std::string>> other;
    for (const auto& kv : e.points[p].values)
      if (geometry_tlb(kv.first).empty()) other.push_back(kv);
    std::string gkey;
    for (const auto& kv : other) gkey += kv.first + "=" + kv.second + "\n";
    auto [git, fresh] = by_other.emplace(gkey, op.groups.size());
    if (fresh) {
      OnePassGroup gr;
      gr.id = point_id(other);
      op.groups.push_back(gr);
    }
    OnePassGroup& gr = op.groups[git->second];
    gr.points.push_back(p);
    gr.bound = std::max(gr.bound, t.entries);
    op.group_of.push_back(git->second);
  }
  for (const OnePassGroup& g : op.groups)
    if (g.bound > TlbParams::kMaxCurvesEntries)
      return no("mmu.tlbs." + tlb + ".entries up to " + std::to_string(g.bound) + " exceeds the curves' bound of " +
                std::to_string(TlbParams::kMaxCurvesEntries));
  op.plan.ok = true;
  return op;
}

}  // namespace mmusim
