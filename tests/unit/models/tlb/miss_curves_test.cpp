// Tests of MissCurves, the one-pass LRU stack-distance analysis of a TLB.
//
// Expected values come from a hand-worked sequence (the hole an invalidation
// leaves) and from brute force: the same program of accesses and
// invalidations is run separately on a TLB of every geometry - once on the
// production Tlb class, once on a reference LRU TLB written here from plain
// vectors - and each geometry's misses must equal the curve's point. The
// program follows the MMU's fill rules (a miss or a failed rights check
// walks and fills; a fault invalidates the page; a retry after it probes and
// fills without a demand lookup), so each geometry takes its own path
// through it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/tlb/miss_curves.h"
#include "models/tlb/tlb.h"
#include "tests/support/test_rng.h"

namespace mmusim {
namespace {

using testing_support::TestRng;

// The generator of this file's streams, from a seed.
TestRng rng_for(std::uint64_t seed) { return TestRng(seed * 0x9e3779b97f4a7c15ull + 12345); }

// A reference LRU TLB: the slots of each set in a plain vector, a use tick
// per slot, the match and shadow rules of the SDM restated.
class RefLru {
 public:
  RefLru(unsigned sets, unsigned ways, std::vector<PageSize> sizes)
      : m_sets(sets), m_ways(ways), m_sizes(std::move(sizes)), m_slots(std::size_t{sets} * ways) {}
  struct Slot {
    bool valid = false;
    VAddr vpn = 0;
    PageSize size = PageSize::k4K;
    std::uint16_t pcid = 0;
    bool global = false;
    std::uint64_t tick = 0;
    bool dirty = false;
  };
  bool holds(PageSize s) const {
    for (PageSize h : m_sizes)
      if (h == s) return true;
    return false;
  }
  Slot* find(VAddr va, std::uint16_t pcid) {
    // smallest size first, like the model
    for (PageSize s : {PageSize::k4K, PageSize::k2M, PageSize::k4M, PageSize::k1G}) {
      if (!holds(s)) continue;
      const VAddr vpn = va >> page_shift(s);
      for (unsigned w = 0; w < m_ways; ++w) {
        Slot& x = at(vpn, w);
        if (x.valid && x.vpn == vpn && x.size == s && (x.global || x.pcid == pcid)) return &x;
      }
    }
    return nullptr;
  }
  Slot* lookup(VAddr va, std::uint16_t pcid) {
    ++accesses;
    Slot* x = find(va, pcid);
    if (!x) {
      ++misses;
      return nullptr;
    }
    x->tick = ++m_clock;
    return x;
  }
  void insert(VAddr vpn, PageSize size, std::uint16_t pcid, bool global, bool dirty) {
    Slot* target = nullptr;
    for (unsigned w = 0; w < m_ways; ++w) {
      Slot& x = at(vpn, w);
      if (x.valid && x.vpn == vpn && x.size == size && (x.global || global || x.pcid == pcid)) {
        if (!target) target = &x;
        else x.valid = false;
      }
    }
    for (unsigned w = 0; w < m_ways && !target; ++w)
      if (!at(vpn, w).valid) target = &at(vpn, w);
    if (!target) {
      target = &at(vpn, 0);
      for (unsigned w = 1; w < m_ways; ++w)
        if (at(vpn, w).tick < target->tick) target = &at(vpn, w);
    }
    *target = Slot{true, vpn, size, pcid, global, ++m_clock, dirty};
  }
  template <typename Pred>
  void drop(Pred p) {
    for (Slot& x : m_slots)
      if (x.valid && p(x)) x.valid = false;
  }
  std::uint64_t accesses = 0, misses = 0, rights_failures = 0;

 private:
  Slot& at(VAddr vpn, unsigned w) { return m_slots[(vpn & (m_sets - 1)) * m_ways + w]; }
  unsigned m_sets, m_ways;
  std::vector<PageSize> m_sizes;
  std::vector<Slot> m_slots;
  std::uint64_t m_clock = 0;
};

// The same operations on the production Tlb.
struct ModelTlb {
  ModelTlb(unsigned sets, unsigned ways, const std::vector<PageSize>& sizes) {
    TlbGeometry g;
    g.entries = sets * ways;
    g.ways = ways;
    g.page_sizes = sizes;
    tlb = std::make_unique<Tlb>("t", g, stats);
  }
  StatGroup stats;
  std::unique_ptr<Tlb> tlb;
};

// The page world: fixed per page, so every geometry sees the same mapping.
struct Page {
  bool mapped = true;
  PageSize size = PageSize::k4K;
  bool global = false;
};
Page page_of(VAddr va) {
  const std::uint64_t region = va >> 21;
  Page p;
  p.size = region % 4 == 3 ? PageSize::k2M : PageSize::k4K;
  const std::uint64_t n = va >> page_shift(p.size);
  p.mapped = n % 23 != 5;
  p.global = n % 7 == 1;
  return p;
}

enum class OpKind { Access, Clean, Cr3, Cr3NoFlush, Invlpg, Invpcid0, Invpcid1, Invpcid2, Invpcid3, AnyPcid };
struct Op {
  OpKind kind = OpKind::Access;
  VAddr va = 0;
  std::uint16_t pcid = 0;
  bool store = false;
};

std::vector<Op> random_program(std::uint64_t seed, unsigned n, bool pcids, unsigned flush_per_mille) {
  TestRng r = rng_for(seed);
  std::vector<Op> ops;
  VAddr hot[48];
  for (VAddr& h : hot) h = (VAddr{r.below(12)} << 21) | (VAddr{r.below(512)} << 12);
  for (unsigned i = 0; i < n; ++i) {
    Op o;
    o.pcid = static_cast<std::uint16_t>(pcids ? r.below(4) : 0);
    // Skewed reuse: mostly a small hot set, sometimes anywhere in 24 MiB.
    const unsigned pick = r.below(100);
    o.va = pick < 90 ? hot[r.below(pick < 50 ? 6 : 48)] : (VAddr{r.below(12)} << 21) | (VAddr{r.below(512)} << 12);
    o.va |= r.below(4096);
    if (r.below(1000) < flush_per_mille) {
      const unsigned k = r.below(pcids ? 9 : 5);
      const OpKind kinds_pcid[] = {OpKind::Cr3,      OpKind::Cr3NoFlush, OpKind::Invlpg,
                                   OpKind::Invpcid0, OpKind::Invpcid1,   OpKind::Invpcid2,
                                   OpKind::Invpcid3, OpKind::AnyPcid,    OpKind::Invlpg};
      const OpKind kinds_plain[] = {OpKind::Cr3, OpKind::Invlpg, OpKind::Invpcid2, OpKind::AnyPcid, OpKind::Clean};
      o.kind = pcids ? kinds_pcid[k] : kinds_plain[k];
      if (r.below(3) == 0) o.kind = OpKind::Clean;
    } else {
      o.kind = OpKind::Access;
      o.store = r.below(100) < 20;
    }
    ops.push_back(o);
  }
  return ops;
}

// Runs the program against one TLB through the MMU's rules. T provides
// lookup/probe/insert/invalidate and the flushes via the adapter below.
// Returns the number of walks.
template <typename A>
std::uint64_t run_program(const std::vector<Op>& ops, bool pcids, A& t) {
  std::uint16_t cur = 0;
  std::uint64_t walks = 0;
  // Demand paging: a page's first walk faults (it is not yet mapped), the
  // handler maps it and the access is retried without a demand lookup. The
  // set of mapped pages changes only at faults, which every geometry takes
  // at the same accesses (an unmapped page is in no TLB). A store walk sets
  // the page's dirty flag; a store that hits a clean entry fails its rights
  // check (A/D updating), invalidates it and walks. Clean clears a page's
  // dirty flag and shoots its entries down, as page_mkclean does.
  std::set<std::uint64_t> mapped, dirty;
  auto id_of = [](VAddr va) {
    const Page p = page_of(va);
    return (va >> page_shift(p.size)) * 4 + static_cast<unsigned>(p.size);
  };
  auto walk_and_fill = [&](VAddr va, bool store) {
    ++walks;
    const Page p = page_of(va);
    const std::uint64_t id = id_of(va);
    if (!p.mapped || !mapped.count(id)) {
      t.invalidate_page(va, cur);  // the fault
      if (p.mapped) mapped.insert(id);
      return false;
    }
    // Each address space has its own page tables, so its own dirty flags;
    // global (kernel) pages share one entry.
    const std::uint64_t did = p.global ? id << 12 : (id << 12) | (cur + 1);
    if (store) dirty.insert(did);
    if (t.holds(p.size)) t.insert(va >> page_shift(p.size), p.size, cur, p.global, dirty.count(did) > 0);
    return true;
  };
  for (const Op& o : ops) {
    switch (o.kind) {
      case OpKind::Access: {
        const int hit = t.lookup(o.va, cur);  // -1 miss, 0 clean, 1 dirty
        if (hit > 0 || (hit == 0 && !o.store)) break;
        if (hit == 0) t.invalidate_hit(o.va, cur);
        // The retry: probes (no statistics), walks and fills if it misses.
        if (!walk_and_fill(o.va, o.store) && page_of(o.va).mapped && !t.probe(o.va, cur)) walk_and_fill(o.va, o.store);
        break;
      }
      case OpKind::Clean:
        for (std::uint64_t k = 0; k <= 4096; ++k) dirty.erase((id_of(o.va) << 12) | k);
        t.flush_page_any_pcid(o.va);
        break;
      case OpKind::Cr3:
        if (pcids) {
          cur = o.pcid;
          t.flush_pcid(cur);
        } else {
          t.flush_non_global();
        }
        break;
      case OpKind::Cr3NoFlush: cur = o.pcid; break;
      case OpKind::Invlpg: t.flush_page(o.va, cur); break;
      case OpKind::Invpcid0: t.flush_page_pcid(o.va, o.pcid); break;
      case OpKind::Invpcid1: t.flush_pcid(o.pcid); break;
      case OpKind::Invpcid2: t.flush_all(); break;
      case OpKind::Invpcid3: t.flush_non_global(); break;
      case OpKind::AnyPcid: t.flush_page_any_pcid(o.va); break;
    }
  }
  return walks;
}

struct ModelAdapter {
  Tlb& t;
  const TlbEntry* last = nullptr;
  int lookup(VAddr va, std::uint16_t pcid) {
    last = t.lookup(va, pcid);
    return last ? (last->dirty ? 1 : 0) : -1;
  }
  bool probe(VAddr va, std::uint16_t pcid) { return t.probe(va, pcid) != nullptr; }
  void invalidate_hit(VAddr, std::uint16_t) { t.invalidate_entry(last); }
  void invalidate_page(VAddr va, std::uint16_t pcid) { t.invalidate_page(va, pcid); }
  bool holds(PageSize s) const { return t.holds(s); }
  void insert(VAddr vpn, PageSize size, std::uint16_t pcid, bool global, bool dirty) {
    TlbEntry e;
    e.vpn = vpn;
    e.pfn = vpn + 7;
    e.writable = true;
    e.dirty = dirty;
    e.size = size;
    e.pcid = pcid;
    e.global = global;
    e.valid = true;
    t.insert(e);
  }
  void flush_all() { t.flush_all(); }
  void flush_non_global() { t.flush_non_global(); }
  void flush_pcid(std::uint16_t p) { t.flush_pcid(p); }
  void flush_page(VAddr va, std::uint16_t p) { t.flush_page(va, p); }
  void flush_page_pcid(VAddr va, std::uint16_t p) { t.flush_page_pcid(va, p); }
  void flush_page_any_pcid(VAddr va) { t.flush_page_any_pcid(va); }
};

struct RefAdapter {
  RefLru& t;
  RefLru::Slot* last = nullptr;
  int lookup(VAddr va, std::uint16_t pcid) {
    last = t.lookup(va, pcid);
    return last ? (last->dirty ? 1 : 0) : -1;
  }
  bool probe(VAddr va, std::uint16_t pcid) { return t.find(va, pcid) != nullptr; }
  void invalidate_hit(VAddr, std::uint16_t) {
    last->valid = false;
    ++t.rights_failures;
  }
  void invalidate_page(VAddr va, std::uint16_t pcid) {
    while (RefLru::Slot* x = t.find(va, pcid)) x->valid = false;
  }
  bool holds(PageSize s) const { return t.holds(s); }
  void insert(VAddr vpn, PageSize size, std::uint16_t pcid, bool global, bool dirty) {
    t.insert(vpn, size, pcid, global, dirty);
  }
  void flush_all() {
    t.drop([](const RefLru::Slot&) { return true; });
  }
  void flush_non_global() {
    t.drop([](const RefLru::Slot& x) { return !x.global; });
  }
  void flush_pcid(std::uint16_t p) {
    t.drop([p](const RefLru::Slot& x) { return !x.global && x.pcid == p; });
  }
  template <typename Pred>
  void drop_page(VAddr va, Pred pred) {
    t.drop([va, pred](const RefLru::Slot& x) { return x.vpn == (va >> page_shift(x.size)) && pred(x); });
  }
  void flush_page(VAddr va, std::uint16_t p) {
    drop_page(va, [p](const RefLru::Slot& x) { return x.global || x.pcid == p; });
  }
  void flush_page_pcid(VAddr va, std::uint16_t p) {
    drop_page(va, [p](const RefLru::Slot& x) { return !x.global && x.pcid == p; });
  }
  void flush_page_any_pcid(VAddr va) {
    drop_page(va, [](const RefLru::Slot&) { return true; });
  }
};

struct Case {
  std::uint64_t seed;
  bool pcids;
  unsigned flush_per_mille;
  std::vector<PageSize> sizes;
  unsigned sets, ways;  // the geometry the curves ride on
};

class MissCurvesBruteForce : public ::testing::TestWithParam<Case> {};

TEST_P(MissCurvesBruteForce, EveryGeometryEqualsItsSeparateRun) {
  const Case c = GetParam();
  const std::vector<Op> ops = random_program(c.seed, 30000, c.pcids, c.flush_per_mille);
  constexpr unsigned kBound = 64;
  ModelTlb host(c.sets, c.ways, c.sizes);
  MissCurves curves(c.sizes, kBound);
  host.tlb->set_curves(&curves);
  ModelAdapter ha{*host.tlb};
  const std::uint64_t host_walks = run_program(ops, c.pcids, ha);
  const std::uint64_t host_free = curves.walk_free_hits(c.sets, c.ways);
  ASSERT_EQ(curves.num_set_counts(), 7u);  // 1, 2, ..., 64 sets
  unsigned points = 0;
  std::uint64_t rights_hits = 0;
  for (unsigned sets = 1; sets <= kBound; sets *= 2) {
    for (unsigned ways = 1; ways <= kBound / sets; ++ways) {
      RefLru ref(sets, ways, c.sizes);
      RefAdapter ra{ref};
      const std::uint64_t ref_walks = run_program(ops, c.pcids, ra);
      ModelTlb sep(sets, ways, c.sizes);
      ModelAdapter sa{*sep.tlb};
      run_program(ops, c.pcids, sa);
      const std::uint64_t sep_misses = sep.stats.find("misses")->counter->value();
      ASSERT_EQ(ref.misses, sep_misses) << sets << "x" << ways << ": the reference and the model disagree";
      ASSERT_EQ(curves.accesses(), ref.accesses);
      EXPECT_EQ(curves.misses(sets, ways), ref.misses) << sets << " sets x " << ways << " ways";
      EXPECT_EQ(host_walks + host_free - curves.walk_free_hits(sets, ways), ref_walks)
          << sets << " sets x " << ways << " ways: walks";
      rights_hits += ref.rights_failures;
      ++points;
    }
  }
  EXPECT_EQ(points, 64u + 32 + 16 + 8 + 4 + 2 + 1);
  EXPECT_GT(rights_hits, 0u) << "the program never failed a rights check";
  // The stream reuses pages enough to exercise deep hits, not only misses.
  EXPECT_LT(curves.misses(1, 64) * 10, curves.accesses() * 8);
  EXPECT_GT(curves.misses(1, 1) * 10, curves.misses(1, 64) * 13);
  // The host geometry is one of the points.
  EXPECT_EQ(curves.misses(c.sets, c.ways), host.stats.find("misses")->counter->value());
}

const std::vector<PageSize> k4K{PageSize::k4K};
const std::vector<PageSize> k4K2M{PageSize::k4K, PageSize::k2M};

INSTANTIATE_TEST_SUITE_P(Streams, MissCurvesBruteForce,
                         ::testing::Values(Case{1, false, 0, k4K, 4, 4}, Case{2, false, 20, k4K, 4, 4},
                                           Case{3, true, 20, k4K, 16, 1}, Case{4, true, 60, k4K2M, 2, 8},
                                           Case{5, false, 60, k4K2M, 1, 32}, Case{6, true, 5, k4K, 1, 64},
                                           Case{7, true, 150, k4K2M, 8, 2}));

// Hand-worked: a fully associative TLB sees lookups of pages A, B, C (each
// missing and filled), then C is invalidated, then A, D, B.
//   2 entries: {C,B} -> {B} -> A misses, fills the free slot {A,B}
//              -> D evicts B {D,A} -> B misses.            6 misses
//   3 entries: {A,B,C} -> {A,B} -> A hits -> D fills the free slot
//              {D,A,B} -> B hits.                          4 misses
//   1 entry:   every lookup misses.                        6 misses
// Closing the gap instead of leaving a hole would make A hit at 2 entries.
TEST(MissCurves, InvalidationLeavesAHole) {
  MissCurves c({PageSize::k4K}, 4);
  auto entry = [](VAddr page) {
    TlbEntry e;
    e.vpn = page;
    e.valid = true;
    return e;
  };
  auto access = [&](VAddr page, bool hit_in_host) {
    TlbEntry e = entry(page);
    c.lookup(page << 12, 0, hit_in_host ? &e : nullptr);
    if (!hit_in_host) c.fill(e);
  };
  // The host is a 4-entry TLB: A, B, C miss; after C's invalidation A hits,
  // D misses, B hits.
  access(1, false);
  access(2, false);
  access(3, false);
  c.invalidate_entry(entry(3));
  access(1, true);
  access(4, false);
  access(2, true);
  EXPECT_EQ(c.accesses(), 6u);
  EXPECT_EQ(c.misses(1, 1), 6u);
  EXPECT_EQ(c.misses(1, 2), 6u);
  EXPECT_EQ(c.misses(1, 3), 4u);
  EXPECT_EQ(c.misses(1, 4), 4u);
}

// A rights walk that faults: the hit entry is invalidated and not refilled.
// TLBs that held it lose it (hit, then the hole); the ones that did not are
// unchanged. 2 entries, lookups A B C, then a rights-failing hit on A at 3
// entries (a miss at 2: {C,B} stays), then B: hits at 2 and 3 entries.
TEST(MissCurves, FaultingRightsWalkKeepsSmallerTlbsIntact) {
  MissCurves c({PageSize::k4K}, 4);
  TlbEntry a, b, cc;
  a.vpn = 1;
  b.vpn = 2;
  cc.vpn = 3;
  for (TlbEntry* e : {&a, &b, &cc}) {
    e->valid = true;
    c.lookup(e->vpn << 12, 0, nullptr);
    c.fill(*e);
  }
  c.lookup(a.vpn << 12, 0, &a);
  c.invalidate_entry(a);
  c.flush_page(a.vpn << 12, 0);  // the fault's invalidation: nothing more
  c.lookup(b.vpn << 12, 0, &b);
  // A's second lookup: hit at 3 and 4 entries only. B: hit at 2+ entries
  // (at 1 entry C alone is held).
  EXPECT_EQ(c.misses(1, 1), 5u);
  EXPECT_EQ(c.misses(1, 2), 4u);
  EXPECT_EQ(c.misses(1, 3), 3u);
  // With 1 entry, had A been pushed, B would still miss; with 2 entries a
  // push of A would have evicted B: B's hit at 2 entries is the check.
}

TEST(MissCurves, RejectsGeometryOutsideTheBound) {
  MissCurves c({PageSize::k4K}, 48);
  EXPECT_EQ(c.num_set_counts(), 6u);  // 1..32 sets
  EXPECT_EQ(c.max_ways_at(0), 48u);
  EXPECT_EQ(c.max_ways_at(5), 1u);
  EXPECT_THROW(c.misses(64, 1), std::invalid_argument);
  EXPECT_THROW(c.misses(2, 25), std::invalid_argument);
  EXPECT_THROW(c.misses(3, 1), std::invalid_argument);
  EXPECT_THROW(MissCurves({PageSize::k4K}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim

namespace mmusim {
namespace {

// Sampling (SHARDS): the expected values are the exact curves of the same
// program, never the sampled output.
TEST(MissCurvesSampling, ExactHeadAndEstimatesWithinTheirBound) {
  const std::vector<PageSize> sizes{PageSize::k4K};
  const std::vector<Op> ops = random_program(7, 30000, true, 5);
  constexpr unsigned kBound = 64;
  auto run = [&](double rate) {
    ModelTlb host(16, 4, sizes);
    auto c = std::make_unique<MissCurves>(sizes, kBound);
    if (rate > 0) c->set_sample_rate(rate);
    host.tlb->set_curves(c.get());
    ModelAdapter ha{*host.tlb};
    run_program(ops, true, ha);
    return c;
  };
  const auto exact = run(0);
  const auto sampled = run(0.25);
  const auto again = run(0.25);
  ASSERT_TRUE(sampled->sampling());
  EXPECT_FALSE(exact->sampling());
  EXPECT_EQ(sampled->total_accesses(), exact->accesses());
  EXPECT_GT(sampled->accesses(), 0u);
  EXPECT_LT(sampled->accesses(), exact->accesses());
  const unsigned head = 16;  // ceil(4 / 0.25)
  unsigned estimated = 0;
  for (unsigned i = 0; i < exact->num_set_counts(); ++i) {
    const unsigned sets = exact->sets_at(i);
    const auto est = sampled->estimates_at(i);
    const auto est2 = again->estimates_at(i);
    ASSERT_EQ(est.size(), kBound / sets);
    for (unsigned w = 1; w <= kBound / sets; ++w) {
      const auto& e = est[w - 1];
      EXPECT_EQ(e.hits, est2[w - 1].hits);  // deterministic
      EXPECT_EQ(e.misses_bound, est2[w - 1].misses_bound);
      const double truth = static_cast<double>(exact->hits(sets, w));
      if (w <= head) {
        EXPECT_EQ(e.hits, truth) << sets << "x" << w;
        EXPECT_EQ(e.misses_bound, 0.0);
      } else {
        ++estimated;
        EXPECT_LE(std::abs(e.hits - truth), e.misses_bound) << sets << "x" << w;
        // 32 sampled pages or more: not the trivial bound (curves_sampling_e2e
        // checks a tight one on a bundled trace)
        EXPECT_LT(e.misses_bound, static_cast<double>(exact->accesses())) << sets << "x" << w;
      }
    }
  }
  EXPECT_EQ(estimated, 48u + 16u);  // 1 set: ways 17..64; 2 sets: 17..32
}

TEST(MissCurvesSampling, RejectsRatesOutsideTheOpenInterval) {
  for (double r : {0.0, 1.0, 1.5, -0.5}) {
    MissCurves c({PageSize::k4K}, 8);
    EXPECT_THROW(c.set_sample_rate(r), std::invalid_argument) << r;
  }
}

}  // namespace
}  // namespace mmusim

namespace mmusim {
namespace {

// OPT: the expected misses come from a brute-force Belady MIN written here,
// one simulation per size on the page sequence: a miss evicts the resident
// page whose next access is farthest (never, if it is invalidated first);
// an invalidation frees the page's slot.
struct OptEvent {
  int kind;  // 0 access, 1 invlpg, 2 flush all, 3 access to a page no fill follows
  unsigned page;
};

std::uint64_t brute_min(const std::vector<OptEvent>& ev, unsigned size) {
  std::vector<unsigned> cache;
  std::uint64_t misses = 0;
  auto next_use = [&](std::size_t from, unsigned p) {
    for (std::size_t j = from; j < ev.size(); ++j) {
      if (ev[j].kind == 2 || (ev[j].kind == 1 && ev[j].page == p)) return ev.size() + 1;  // invalidated first
      if (ev[j].kind == 0 && ev[j].page == p) return j;
    }
    return ev.size() + 1;
  };
  for (std::size_t t = 0; t < ev.size(); ++t) {
    const OptEvent& e = ev[t];
    if (e.kind == 3) {
      ++misses;
    } else if (e.kind == 2) {
      cache.clear();
    } else if (e.kind == 1) {
      cache.erase(std::remove(cache.begin(), cache.end(), e.page), cache.end());
    } else if (std::find(cache.begin(), cache.end(), e.page) == cache.end()) {
      ++misses;
      if (cache.size() == size) {
        std::size_t victim = 0, far = 0;
        for (std::size_t i = 0; i < cache.size(); ++i) {
          const std::size_t n = next_use(t + 1, cache[i]);
          if (n > far) {
            far = n;
            victim = i;
          }
        }
        cache.erase(cache.begin() + static_cast<std::ptrdiff_t>(victim));
      }
      cache.push_back(e.page);
    }
  }
  return misses;
}

TEST(MissCurvesOpt, EqualsBruteForceMinForEverySize) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    TestRng rng = rng_for(seed);
    auto below = [&rng](unsigned n) { return static_cast<unsigned>(rng.below(n)); };
    std::vector<OptEvent> ev;
    for (unsigned i = 0; i < 4000; ++i) {
      const unsigned r = below(1000);
      if (r < 15) ev.push_back({1, below(24)});
      else if (r < 18) ev.push_back({2, 0});
      else if (r < 30) ev.push_back({3, 100 + below(4)});
      else ev.push_back({0, below(3) == 0 ? below(24) : below(6)});
    }
    constexpr unsigned kBound = 16;
    MissCurves c({PageSize::k4K}, kBound);
    c.record_opt();
    // The host TLB: 3 entries, LRU, kept here; it decides hits and fills.
    std::vector<unsigned> host;
    std::uint64_t host_misses = 0;
    auto entry = [](unsigned p) {
      TlbEntry e;
      e.vpn = p;
      e.pfn = p + 1000;
      e.valid = true;
      return e;
    };
    for (const OptEvent& e : ev) {
      const VAddr va = VAddr{e.page} << 12;
      if (e.kind == 0) {
        auto it = std::find(host.begin(), host.end(), e.page);
        if (it != host.end()) {
          host.erase(it);
          host.insert(host.begin(), e.page);
          const TlbEntry te = entry(e.page);
          c.lookup(va, 0, &te);
        } else {
          c.lookup(va, 0, nullptr);
          ++host_misses;
          if (host.size() == 3) host.pop_back();
          host.insert(host.begin(), e.page);
          c.fill(entry(e.page));
        }
      } else if (e.kind == 3) {
        c.lookup(va, 0, nullptr);
        ++host_misses;
      } else if (e.kind == 1) {
        host.erase(std::remove(host.begin(), host.end(), e.page), host.end());
        c.flush_page(va, 0);
      } else {
        host.clear();
        c.flush_all();
      }
    }
    for (unsigned s = 1; s <= kBound; ++s) {
      EXPECT_EQ(c.opt_misses(s), brute_min(ev, s)) << "seed " << seed << ", " << s << " entries";
      EXPECT_LE(c.opt_misses(s), c.misses(1, s));
    }
    EXPECT_LT(c.opt_misses(4), c.misses(1, 4)) << "OPT never beat LRU: the stream is too easy";
    EXPECT_EQ(c.misses(1, 3), host_misses);  // the events are a consistent TLB's
  }
}

TEST(MissCurvesOpt, NotWithSampling) {
  MissCurves a({PageSize::k4K}, 8);
  a.set_sample_rate(0.5);
  EXPECT_THROW(a.record_opt(), std::invalid_argument);
  MissCurves b({PageSize::k4K}, 8);
  b.record_opt();
  EXPECT_THROW(b.set_sample_rate(0.5), std::invalid_argument);
  EXPECT_THROW(b.opt_misses(9), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim
