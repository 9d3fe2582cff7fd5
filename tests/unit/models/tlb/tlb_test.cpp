// Tests of the TLB model under each replacement policy (replacement_test.cpp
// tests the policies' state on its own).
//
// Expected values come from hand-worked sequences (PLRU tree, LRU/FIFO
// order) or from brute-force reference models written here independently of
// the model: std::list LRU, per-set lists, and a slot-by-slot reference TLB
// that keeps its replacement state in plain containers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <iterator>
#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/tlb/replacement.h"
#include "models/tlb/tlb.h"
#include "tests/support/stat_values.h"
#include "tests/support/test_rng.h"

namespace mmusim {
namespace {

constexpr ReplacementPolicy kAllPolicies[] = {ReplacementPolicy::Lru, ReplacementPolicy::Plru, ReplacementPolicy::Fifo,
                                              ReplacementPolicy::Random};

using testing_support::TestRng;

// The generator of this file's address streams, from a seed.
TestRng rng_for(std::uint64_t seed) { return TestRng(seed * 2654435761u + 0x1234567); }

TlbGeometry make_geometry(unsigned entries, unsigned ways, ReplacementPolicy policy,
                          std::vector<PageSize> sizes = {PageSize::k4K}, std::uint64_t seed = 1) {
  TlbGeometry g;
  g.entries = entries;
  g.ways = ways;
  g.policy = policy;
  g.page_sizes = std::move(sizes);
  g.seed = seed;
  return g;
}

TlbEntry make_entry(VAddr vpn, PageSize size = PageSize::k4K, std::uint16_t pcid = 0, bool global = false,
                    std::uint64_t pfn = 0) {
  TlbEntry e;
  e.vpn = vpn;
  e.pfn = pfn ? pfn : 0x40000 + vpn;
  e.size = size;
  e.pcid = pcid;
  e.global = global;
  e.valid = true;
  e.writable = true;
  e.user = true;
  return e;
}

VAddr va_of(VAddr vpn, PageSize size = PageSize::k4K) { return vpn << page_shift(size); }

std::string policy_param_name(const ::testing::TestParamInfo<ReplacementPolicy>& info) {
  return replacement_policy_name(info.param);
}

// ---------------------------------------------------------------------------
// Entries.

TEST(TlbEntryTest, TranslateKeepsPageOffset) {
  TlbEntry e4k = make_entry(0x12345, PageSize::k4K, 0, false, 0xabc);
  EXPECT_EQ(e4k.translate(0x12345678), 0xabc678u);
  TlbEntry e2m = make_entry(0x3, PageSize::k2M, 0, false, 0x7);
  EXPECT_EQ(e2m.translate(0x6abcde), (0x7ull << 21) | 0xabcde);
  TlbEntry e1g = make_entry(0x1, PageSize::k1G, 0, false, 0x5);
  EXPECT_EQ(e1g.translate(0x7fff1234), (0x5ull << 30) | 0x3fff1234);
}

// ---------------------------------------------------------------------------
// Geometry and statistics.

TEST(TlbGeometryTest, DerivesSetsAndWays) {
  StatGroup s1, s2, s3, s4;
  Tlb a("a", make_geometry(64, 4, ReplacementPolicy::Lru), s1);
  EXPECT_EQ(a.sets(), 16u);
  EXPECT_EQ(a.ways(), 4u);
  EXPECT_EQ(a.entries(), 64u);
  Tlb b("b", make_geometry(64, 0, ReplacementPolicy::Lru), s2);
  EXPECT_EQ(b.sets(), 1u);
  EXPECT_EQ(b.ways(), 64u);
  Tlb c("c", make_geometry(48, 48, ReplacementPolicy::Fifo), s3);  // fully associative, 48 ways
  EXPECT_EQ(c.sets(), 1u);
  EXPECT_EQ(c.ways(), 48u);
  Tlb d("d", make_geometry(12, 3, ReplacementPolicy::Random), s4);  // 4 sets of 3
  EXPECT_EQ(d.sets(), 4u);
  EXPECT_EQ(d.name(), "d");
  EXPECT_EQ(d.valid_entries(), 0u);
}

TEST(TlbGeometryTest, InvalidGeometryThrows) {
  auto expect_reject = [](const TlbGeometry& g, const std::string& why) {
    StatGroup s;
    try {
      Tlb t("l1d", g, s);
      ADD_FAILURE() << "accepted: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("l1d"), std::string::npos) << e.what();
    }
  };
  expect_reject(make_geometry(64, 5, ReplacementPolicy::Lru), "ways not dividing entries");
  expect_reject(make_geometry(64, 128, ReplacementPolicy::Lru), "more ways than entries");
  expect_reject(make_geometry(12, 4, ReplacementPolicy::Lru), "3 sets");
  expect_reject(make_geometry(48, 4, ReplacementPolicy::Lru), "12 sets");
  expect_reject(make_geometry(12, 3, ReplacementPolicy::Plru), "plru with 3 ways");
  expect_reject(make_geometry(24, 0, ReplacementPolicy::Plru), "fully associative plru with 24 ways");
  expect_reject(make_geometry(64, 4, ReplacementPolicy::Lru, {}), "no page sizes");
  expect_reject(make_geometry(64, 4, ReplacementPolicy::Lru, {PageSize::k4K, PageSize::k4K}), "duplicate size");
  expect_reject(make_geometry(0, 0, ReplacementPolicy::Lru), "zero entries");
}

TEST(TlbGeometryTest, StatisticsRegisteredInOrder) {
  StatGroup stats("l1d");
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Lru), stats);
  std::vector<std::string> names;
  for (const auto& e : stats.entries()) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"accesses", "hits", "misses", "evictions", "flushes", "flushed_entries",
                                             "fractured_fills"}));
}

TEST(TlbGeometryTest, InsertOfUnheldSizeThrows) {
  StatGroup s;
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Lru), s);
  EXPECT_TRUE(t.holds(PageSize::k4K));
  EXPECT_FALSE(t.holds(PageSize::k2M));
  EXPECT_THROW(t.insert(make_entry(1, PageSize::k2M)), std::invalid_argument);
  EXPECT_EQ(t.valid_entries(), 0u);
}

TEST(TlbGeometryTest, PageSizesReportedSmallestFirst) {
  StatGroup s;
  Tlb t("stlb", make_geometry(16, 4, ReplacementPolicy::Lru, {PageSize::k1G, PageSize::k4K, PageSize::k2M}), s);
  EXPECT_EQ(t.page_sizes(), (std::vector<PageSize>{PageSize::k4K, PageSize::k2M, PageSize::k1G}));
  EXPECT_TRUE(t.holds(PageSize::k1G));
  EXPECT_FALSE(t.holds(PageSize::k4M));
}

// ---------------------------------------------------------------------------
// Policy-specific orders, hand-worked. 16 entries x 4 ways = 4 sets; vpns
// 0, 4, 8, 12, 16, ... all map to set 0.

std::vector<VAddr> present(const Tlb& t, const std::vector<VAddr>& vpns, std::uint16_t pcid = 0) {
  std::vector<VAddr> out;
  for (VAddr v : vpns)
    if (t.probe(va_of(v), pcid)) out.push_back(v);
  return out;
}

TEST(TlbLruTest, TouchedWaySurvivesLeastRecentlyUsedIsEvicted) {
  StatGroup s;
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Lru), s);
  for (VAddr v : {0, 4, 8, 12}) t.insert(make_entry(v));
  ASSERT_NE(t.lookup(va_of(0), 0), nullptr);  // vpn 0 becomes MRU; vpn 4 is now LRU
  t.insert(make_entry(16));
  EXPECT_EQ(present(t, {0, 4, 8, 12, 16}), (std::vector<VAddr>{0, 8, 12, 16}));
  EXPECT_EQ(stat_value(s, "evictions"), 1u);
  t.insert(make_entry(20));
  EXPECT_EQ(present(t, {0, 4, 8, 12, 16, 20}), (std::vector<VAddr>{0, 12, 16, 20}));
  EXPECT_EQ(stat_value(s, "evictions"), 2u);
}

TEST(TlbLruTest, ProbeDoesNotUpdateReplacementOrStats) {
  StatGroup s;
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Lru), s);
  for (VAddr v : {0, 4, 8, 12}) t.insert(make_entry(v));
  ASSERT_NE(t.probe(va_of(0), 0), nullptr);
  t.insert(make_entry(16));
  EXPECT_EQ(present(t, {0, 4, 8, 12, 16}), (std::vector<VAddr>{4, 8, 12, 16}));
  EXPECT_EQ(stat_value(s, "accesses"), 0u);
  EXPECT_EQ(stat_value(s, "hits"), 0u);
}

TEST(TlbFifoTest, HitsDoNotProtect) {
  StatGroup s;
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Fifo), s);
  for (VAddr v : {0, 4, 8, 12}) t.insert(make_entry(v));
  for (int i = 0; i < 3; ++i) ASSERT_NE(t.lookup(va_of(0), 0), nullptr);
  t.insert(make_entry(16));
  EXPECT_EQ(present(t, {0, 4, 8, 12, 16}), (std::vector<VAddr>{4, 8, 12, 16}));
  t.insert(make_entry(20));
  EXPECT_EQ(present(t, {4, 8, 12, 16, 20}), (std::vector<VAddr>{8, 12, 16, 20}));
  EXPECT_EQ(stat_value(s, "evictions"), 2u);
}

TEST(TlbPlruTest, HandWorkedFourWaySequence) {
  // One set of four ways. Fill A B C D (ways 0-3), hit A, then insert
  // E F G H. Tree bits after each step (root, left pair, right pair), where
  // 0 means "victim on the lower-numbered side":
  //   fills A,B,C,D      -> 0 0 0   victim way 0
  //   hit A (way 0)      -> 1 1 0   victim way 2 (C)
  //   E into way 2       -> 0 1 1   victim way 1 (B)
  //   F into way 1       -> 1 0 1   victim way 3 (D)
  //   G into way 3       -> 0 0 0   victim way 0 (A)
  // True LRU would evict B, C, D, A instead.
  StatGroup s;
  Tlb t("l1d", make_geometry(4, 4, ReplacementPolicy::Plru), s);
  const VAddr A = 0, B = 1, C = 2, D = 3, E = 4, F = 5, G = 6, H = 7;
  for (VAddr v : {A, B, C, D}) t.insert(make_entry(v));
  for (unsigned w = 0; w < 4; ++w) EXPECT_EQ(t.entry_at(0, w).vpn, w);
  ASSERT_NE(t.lookup(va_of(A), 0), nullptr);
  t.insert(make_entry(E));
  EXPECT_EQ(present(t, {A, B, C, D, E}), (std::vector<VAddr>{A, B, D, E}));
  EXPECT_EQ(t.entry_at(0, 2).vpn, E);
  t.insert(make_entry(F));
  EXPECT_EQ(present(t, {A, B, D, E, F}), (std::vector<VAddr>{A, D, E, F}));
  t.insert(make_entry(G));
  EXPECT_EQ(present(t, {A, D, E, F, G}), (std::vector<VAddr>{A, E, F, G}));
  t.insert(make_entry(H));
  EXPECT_EQ(present(t, {A, E, F, G, H}), (std::vector<VAddr>{E, F, G, H}));
  EXPECT_EQ(stat_value(s, "evictions"), 4u);
}

TEST(TlbPlruTest, SameSequenceUnderLruEvictsInRecencyOrder) {
  StatGroup s;
  Tlb t("l1d", make_geometry(4, 4, ReplacementPolicy::Lru), s);
  for (VAddr v : {0, 1, 2, 3}) t.insert(make_entry(v));
  ASSERT_NE(t.lookup(va_of(0), 0), nullptr);
  std::vector<VAddr> evicted;
  std::vector<VAddr> live{0, 1, 2, 3};
  for (VAddr v : {4, 5, 6, 7}) {
    t.insert(make_entry(v));
    live.push_back(v);
    for (VAddr old : live)
      if (!t.probe(va_of(old), 0)) evicted.push_back(old);
    live.erase(std::remove(live.begin(), live.end(), evicted.back()), live.end());
  }
  EXPECT_EQ(evicted, (std::vector<VAddr>{1, 2, 3, 0}));
}

// ---------------------------------------------------------------------------
// Random: reproducible, seed-dependent, always a way of the right set.

// Fills set 0 of a 16x4 TLB, then inserts `n` more set-0 pages, returning
// the vpn each insert evicted. Checks every insert evicts exactly one
// previously present page of that set and leaves the other sets alone.
std::vector<VAddr> random_victims(std::uint64_t seed, int n) {
  StatGroup s;
  Tlb t("l1d", make_geometry(16, 4, ReplacementPolicy::Random, {PageSize::k4K}, seed), s);
  for (VAddr v : {1, 2, 3}) t.insert(make_entry(v));  // other sets
  std::vector<VAddr> live{0, 4, 8, 12};
  for (VAddr v : live) t.insert(make_entry(v));
  std::vector<VAddr> evicted;
  for (int i = 0; i < n; ++i) {
    const VAddr fresh = 16 + 4 * static_cast<VAddr>(i);
    t.insert(make_entry(fresh));
    std::vector<VAddr> gone;
    for (VAddr v : live)
      if (!t.probe(va_of(v), 0)) gone.push_back(v);
    EXPECT_EQ(gone.size(), 1u);
    if (gone.size() != 1) break;
    EXPECT_NE(t.probe(va_of(fresh), 0), nullptr);
    EXPECT_EQ(t.valid_entries(), 7u);
    evicted.push_back(gone[0]);
    live.erase(std::find(live.begin(), live.end(), gone[0]));
    live.push_back(fresh);
  }
  EXPECT_EQ(present(t, {1, 2, 3}), (std::vector<VAddr>{1, 2, 3}));
  EXPECT_EQ(stat_value(s, "evictions"), static_cast<std::uint64_t>(n));
  return evicted;
}

TEST(TlbRandomTest, SameSeedSameVictims) {
  EXPECT_EQ(random_victims(7, 200), random_victims(7, 200));
  EXPECT_EQ(random_victims(0, 50), random_victims(0, 50));
}

TEST(TlbRandomTest, DifferentSeedsDiffer) {
  // 200 victims agreeing by chance: probability about 4^-200.
  EXPECT_NE(random_victims(1, 200), random_victims(2, 200));
  EXPECT_NE(random_victims(1, 200), random_victims(3, 200));
}

TEST(TlbRandomTest, VictimsUseEveryWay) {
  StatGroup s;
  Tlb t("l1d", make_geometry(8, 8, ReplacementPolicy::Random, {PageSize::k4K}, 5), s);
  for (VAddr v = 0; v < 8; ++v) t.insert(make_entry(v));
  std::set<unsigned> ways;
  for (VAddr v = 8; v < 400; ++v) {
    t.insert(make_entry(v));
    for (unsigned w = 0; w < 8; ++w)
      if (t.entry_at(0, w).vpn == v) ways.insert(w);
  }
  EXPECT_EQ(ways.size(), 8u);
  EXPECT_EQ(t.valid_entries(), 8u);
}

// ---------------------------------------------------------------------------
// Properties that hold for every policy.

class TlbPolicyTest : public ::testing::TestWithParam<ReplacementPolicy> {
 protected:
  TlbGeometry geometry(unsigned entries, unsigned ways, std::vector<PageSize> sizes = {PageSize::k4K}) const {
    return make_geometry(entries, ways, GetParam(), std::move(sizes), 11);
  }
};

TEST_P(TlbPolicyTest, MissFillHitAndCounters) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  EXPECT_EQ(t.lookup(0x5123, 0), nullptr);
  t.insert(make_entry(5, PageSize::k4K, 0, false, 0x777));
  TlbEntry* e = t.lookup(0x5fff, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->translate(0x5abc), 0x777abcu);
  EXPECT_EQ(t.lookup(0x6000, 0), nullptr);
  e = t.lookup(0x5000, 0);
  ASSERT_NE(e, nullptr);
  e->dirty = true;  // attribute updates through the returned pointer stick
  EXPECT_TRUE(t.probe(0x5000, 0)->dirty);
  EXPECT_EQ(stat_value(s, "accesses"), 4u);
  EXPECT_EQ(stat_value(s, "hits"), 2u);
  EXPECT_EQ(stat_value(s, "misses"), 2u);
  EXPECT_EQ(stat_value(s, "evictions"), 0u);
}

TEST_P(TlbPolicyTest, InsertMarksEntryValid) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  TlbEntry e = make_entry(3);
  e.valid = false;
  t.insert(e);
  EXPECT_NE(t.probe(va_of(3), 0), nullptr);
  EXPECT_EQ(t.valid_entries(), 1u);
}

TEST_P(TlbPolicyTest, InvalidWaysFilledBeforeEvicting) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  for (VAddr v : {0, 4, 8, 12}) t.insert(make_entry(v));
  EXPECT_EQ(stat_value(s, "evictions"), 0u);
  EXPECT_EQ(t.valid_entries(), 4u);
  for (unsigned w = 0; w < 4; ++w) EXPECT_EQ(t.entry_at(0, w).vpn, 4 * w);  // lowest invalid way first
  // A hole made by a flush is refilled before anything is evicted.
  t.flush_page(va_of(8), 0);
  t.insert(make_entry(16));
  EXPECT_EQ(stat_value(s, "evictions"), 0u);
  EXPECT_EQ(t.entry_at(0, 2).vpn, 16u);
  EXPECT_EQ(present(t, {0, 4, 12, 16}), (std::vector<VAddr>{0, 4, 12, 16}));
  t.insert(make_entry(20));
  EXPECT_EQ(stat_value(s, "evictions"), 1u);
  EXPECT_EQ(t.valid_entries(), 4u);
}

TEST_P(TlbPolicyTest, SetIndexSeparatesSets) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  for (VAddr v : {1, 2, 3, 7}) t.insert(make_entry(v));  // sets 1, 2, 3, 3
  EXPECT_EQ(t.set_index(va_of(7), PageSize::k4K), 3u);
  for (VAddr v : {0, 4, 8, 12, 16}) t.insert(make_entry(v));  // all set 0
  EXPECT_EQ(present(t, {0, 4, 8, 12, 16}).size(), 4u);
  EXPECT_NE(t.probe(va_of(16), 0), nullptr);
  EXPECT_EQ(present(t, {1, 2, 3, 7}), (std::vector<VAddr>{1, 2, 3, 7}));
  EXPECT_EQ(stat_value(s, "evictions"), 1u);
  // Many more set-0 pages still never disturb the other sets.
  for (VAddr v = 20; v < 400; v += 4) t.insert(make_entry(v));
  EXPECT_EQ(present(t, {1, 2, 3, 7}), (std::vector<VAddr>{1, 2, 3, 7}));
  EXPECT_EQ(t.valid_entries(), 8u);
}

TEST_P(TlbPolicyTest, FullyAssociativeHoldsAnyPagesUpToCapacity) {
  for (unsigned ways : {16u, 0u}) {
    StatGroup s;
    Tlb t("fa", geometry(16, ways), s);
    for (VAddr v = 0; v < 16; ++v) t.insert(make_entry(v * 64));  // would collide in any set-assoc layout
    EXPECT_EQ(stat_value(s, "evictions"), 0u);
    for (VAddr v = 0; v < 16; ++v) EXPECT_NE(t.lookup(va_of(v * 64), 0), nullptr);
    t.insert(make_entry(9999));
    EXPECT_EQ(stat_value(s, "evictions"), 1u);
    EXPECT_EQ(t.valid_entries(), 16u);
  }
}

TEST_P(TlbPolicyTest, OverwriteInPlaceDoesNotEvict) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  for (VAddr v : {0, 4, 8, 12}) t.insert(make_entry(v));
  t.insert(make_entry(8, PageSize::k4K, 0, false, 0x999));
  EXPECT_EQ(stat_value(s, "evictions"), 0u);
  EXPECT_EQ(t.valid_entries(), 4u);
  EXPECT_EQ(t.entry_at(0, 2).pfn, 0x999u);
  EXPECT_EQ(t.probe(va_of(8), 0)->pfn, 0x999u);
  // Same page for another PCID is a different translation: it needs a way.
  t.insert(make_entry(8, PageSize::k4K, 1, false, 0x555));
  EXPECT_EQ(stat_value(s, "evictions"), 1u);
  EXPECT_EQ(t.probe(va_of(8), 1)->pfn, 0x555u);
}

TEST_P(TlbPolicyTest, GlobalFillReplacesEveryPcidCopy) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(4, PageSize::k4K, 1, false, 0x10));
  t.insert(make_entry(4, PageSize::k4K, 2, false, 0x20));
  t.insert(make_entry(8, PageSize::k4K, 3, false, 0x30));
  EXPECT_EQ(t.valid_entries(), 3u);
  t.insert(make_entry(4, PageSize::k4K, 1, true, 0x40));
  EXPECT_EQ(t.valid_entries(), 2u);
  for (std::uint16_t p : {0, 1, 2, 7}) EXPECT_EQ(t.probe(va_of(4), p)->pfn, 0x40u);
  // And a per-PCID fill over a global entry replaces it.
  t.insert(make_entry(4, PageSize::k4K, 5, false, 0x50));
  EXPECT_EQ(t.valid_entries(), 2u);
  EXPECT_EQ(t.probe(va_of(4), 5)->pfn, 0x50u);
  EXPECT_EQ(t.probe(va_of(4), 1), nullptr);
  EXPECT_EQ(stat_value(s, "evictions"), 0u);
}

TEST_P(TlbPolicyTest, PcidAndGlobalMatching) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));
  t.insert(make_entry(2, PageSize::k4K, 1, true));
  EXPECT_NE(t.lookup(va_of(1), 1), nullptr);
  EXPECT_EQ(t.lookup(va_of(1), 2), nullptr);
  EXPECT_NE(t.lookup(va_of(2), 1), nullptr);
  EXPECT_NE(t.lookup(va_of(2), 2), nullptr);
  EXPECT_NE(t.lookup(va_of(2), 4095), nullptr);
  EXPECT_EQ(stat_value(s, "hits"), 4u);
  EXPECT_EQ(stat_value(s, "misses"), 1u);
}

TEST_P(TlbPolicyTest, FlushNonGlobalKeepsGlobals) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));
  t.insert(make_entry(2, PageSize::k4K, 2, false));
  t.insert(make_entry(3, PageSize::k4K, 1, true));
  t.flush_non_global();
  EXPECT_EQ(t.probe(va_of(1), 1), nullptr);
  EXPECT_EQ(t.probe(va_of(2), 2), nullptr);
  EXPECT_NE(t.probe(va_of(3), 2), nullptr);
  EXPECT_EQ(t.valid_entries(), 1u);
  EXPECT_EQ(stat_value(s, "flushes"), 1u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 2u);
}

TEST_P(TlbPolicyTest, FlushPcidOnlyThatPcidsNonGlobals) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));
  t.insert(make_entry(5, PageSize::k4K, 1, false));
  t.insert(make_entry(2, PageSize::k4K, 2, false));
  t.insert(make_entry(3, PageSize::k4K, 1, true));
  t.flush_pcid(1);
  EXPECT_EQ(t.probe(va_of(1), 1), nullptr);
  EXPECT_EQ(t.probe(va_of(5), 1), nullptr);
  EXPECT_NE(t.probe(va_of(2), 2), nullptr);
  EXPECT_NE(t.probe(va_of(3), 1), nullptr);
  EXPECT_EQ(stat_value(s, "flushes"), 1u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 2u);
  t.flush_pcid(9);  // removes nothing, still one operation
  EXPECT_EQ(stat_value(s, "flushes"), 2u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 2u);
}

TEST_P(TlbPolicyTest, FlushPageIsInvlpg) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));  // current pcid: goes
  t.insert(make_entry(1, PageSize::k4K, 2, false));  // other pcid: stays
  t.insert(make_entry(2, PageSize::k4K, 1, true));   // global, other page: stays
  t.insert(make_entry(5, PageSize::k4K, 1, false));  // same set, other page: stays
  t.flush_page(va_of(1) + 0x123, 1);
  EXPECT_EQ(t.probe(va_of(1), 1), nullptr);
  EXPECT_NE(t.probe(va_of(1), 2), nullptr);
  EXPECT_NE(t.probe(va_of(2), 1), nullptr);
  EXPECT_NE(t.probe(va_of(5), 1), nullptr);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 1u);
  // A global entry goes whatever the current PCID.
  t.flush_page(va_of(2), 3);
  EXPECT_EQ(t.probe(va_of(2), 1), nullptr);
  EXPECT_EQ(stat_value(s, "flushes"), 2u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 2u);
  EXPECT_EQ(t.valid_entries(), 2u);
}

TEST_P(TlbPolicyTest, FlushPageAnyPcid) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));
  t.insert(make_entry(1, PageSize::k4K, 2, false));
  t.insert(make_entry(1, PageSize::k4K, 3, false));
  t.insert(make_entry(2, PageSize::k4K, 1, true));
  t.flush_page_any_pcid(va_of(1));
  for (std::uint16_t p : {1, 2, 3}) EXPECT_EQ(t.probe(va_of(1), p), nullptr);
  EXPECT_NE(t.probe(va_of(2), 1), nullptr);
  t.flush_page_any_pcid(va_of(2));
  EXPECT_EQ(t.valid_entries(), 0u);
  EXPECT_EQ(stat_value(s, "flushes"), 2u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 4u);
}

TEST_P(TlbPolicyTest, FlushAllRemovesGlobalsToo) {
  StatGroup s;
  Tlb t("l1d", geometry(16, 4, {PageSize::k4K, PageSize::k2M}), s);
  t.insert(make_entry(1, PageSize::k4K, 1, false));
  t.insert(make_entry(2, PageSize::k4K, 2, true));
  t.insert(make_entry(3, PageSize::k2M, 0, true));
  t.flush_all();
  EXPECT_EQ(t.valid_entries(), 0u);
  EXPECT_EQ(t.probe(va_of(2), 2), nullptr);
  EXPECT_EQ(t.probe(va_of(3, PageSize::k2M), 0), nullptr);
  t.flush_all();  // on an empty TLB: still an operation, nothing removed
  EXPECT_EQ(stat_value(s, "flushes"), 2u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 3u);
}

TEST_P(TlbPolicyTest, TwoMegEntryCoversEveryFourKPageInside) {
  StatGroup s;
  Tlb t("stlb", geometry(16, 4, {PageSize::k4K, PageSize::k2M}), s);
  const VAddr base = va_of(5, PageSize::k2M);  // 0xa00000
  t.insert(make_entry(5, PageSize::k2M, 0, false, 0x33));
  for (VAddr off = 0; off < page_bytes(PageSize::k2M); off += page_bytes(PageSize::k4K)) {
    const TlbEntry* e = t.lookup(base + off + 0x18, 0);
    ASSERT_NE(e, nullptr) << off;
    EXPECT_EQ(e->size, PageSize::k2M);
    EXPECT_EQ(e->translate(base + off + 0x18), (0x33ull << 21) + off + 0x18);
  }
  EXPECT_EQ(stat_value(s, "accesses"), 512u);
  EXPECT_EQ(stat_value(s, "hits"), 512u);
  EXPECT_EQ(t.lookup(base - 1, 0), nullptr);
  EXPECT_EQ(t.lookup(base + page_bytes(PageSize::k2M), 0), nullptr);
  EXPECT_EQ(stat_value(s, "accesses"), 514u);
  EXPECT_EQ(stat_value(s, "misses"), 2u);
  // A 4K entry alongside in the same TLB: both sizes are probed.
  t.insert(make_entry(0x10, PageSize::k4K));
  EXPECT_NE(t.lookup(va_of(0x10), 0), nullptr);
  EXPECT_NE(t.lookup(base + 0x1234, 0), nullptr);
  EXPECT_EQ(stat_value(s, "accesses"), 516u);
  EXPECT_EQ(stat_value(s, "hits") + stat_value(s, "misses"), stat_value(s, "accesses"));
}

TEST_P(TlbPolicyTest, FourKEntryWinsOverCoveringLargePage) {
  StatGroup s;
  Tlb t("stlb", geometry(16, 4, {PageSize::k2M, PageSize::k4K}), s);
  t.insert(make_entry(0, PageSize::k2M, 0, false, 0x1));
  t.insert(make_entry(3, PageSize::k4K, 0, false, 0x99));
  EXPECT_EQ(t.probe(0x3008, 0)->size, PageSize::k4K);
  EXPECT_EQ(t.probe(0x4008, 0)->size, PageSize::k2M);
}

TEST_P(TlbPolicyTest, FlushPageOfTwoMegEntryFromItsMiddle) {
  StatGroup s;
  Tlb t("stlb", geometry(16, 4, {PageSize::k4K, PageSize::k2M}), s);
  t.insert(make_entry(5, PageSize::k2M, 1, false));
  t.insert(make_entry(5, PageSize::k2M, 2, false));
  t.insert(make_entry(va_of(6, PageSize::k2M) >> 12, PageSize::k4K, 1));  // 4K page in the next 2M
  const VAddr middle = va_of(5, PageSize::k2M) + 0x12345;
  t.flush_page(middle, 1);
  EXPECT_EQ(t.probe(va_of(5, PageSize::k2M), 1), nullptr);
  EXPECT_NE(t.probe(va_of(5, PageSize::k2M), 2), nullptr);
  EXPECT_NE(t.probe(va_of(6, PageSize::k2M), 1), nullptr);
  t.flush_page_any_pcid(middle + 0x100000);
  EXPECT_EQ(t.probe(va_of(5, PageSize::k2M), 2), nullptr);
  EXPECT_EQ(t.valid_entries(), 1u);
  EXPECT_EQ(stat_value(s, "flushes"), 2u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 2u);
}

TEST_P(TlbPolicyTest, FlushPageRemovesEverySizeCoveringTheAddress) {
  StatGroup s;
  Tlb t("stlb", geometry(16, 4, {PageSize::k4K, PageSize::k2M, PageSize::k1G}), s);
  t.insert(make_entry(0x200, PageSize::k4K));  // va 0x200000
  t.insert(make_entry(1, PageSize::k2M));      // va 0x200000
  t.insert(make_entry(0, PageSize::k1G));      // va 0
  t.insert(make_entry(0x201, PageSize::k4K));  // next 4K page: stays
  t.flush_page(0x200abc, 0);
  EXPECT_EQ(t.valid_entries(), 1u);
  EXPECT_EQ(stat_value(s, "flushed_entries"), 3u);
  EXPECT_EQ(t.probe(0x201000, 0)->size, PageSize::k4K);
}

TEST_P(TlbPolicyTest, AccessesEqualHitsPlusMissesOverAStream) {
  StatGroup s;
  Tlb t("l1d", geometry(32, 4, {PageSize::k4K, PageSize::k2M}), s);
  TestRng rng = rng_for(17);
  for (int i = 0; i < 20000; ++i) {
    const VAddr va = rng.below(1u << 24);
    const std::uint16_t pcid = static_cast<std::uint16_t>(rng.below(3));
    if (!t.lookup(va, pcid)) {
      const bool huge = (va >> 21) % 3 == 0;
      const PageSize sz = huge ? PageSize::k2M : PageSize::k4K;
      t.insert(make_entry(va >> page_shift(sz), sz, pcid));
    }
    if (i % 1000 == 999) t.flush_pcid(static_cast<std::uint16_t>(rng.below(3)));
    ASSERT_LE(t.valid_entries(), t.entries());
  }
  EXPECT_EQ(stat_value(s, "accesses"), 20000u);
  EXPECT_EQ(stat_value(s, "hits") + stat_value(s, "misses"), stat_value(s, "accesses"));
  EXPECT_GT(stat_value(s, "hits"), 0u);
  EXPECT_GT(stat_value(s, "evictions"), 0u);
  EXPECT_EQ(stat_value(s, "flushes"), 20u);
}

TEST_P(TlbPolicyTest, DirectMappedEvictsOnEveryConflict) {
  StatGroup s;
  Tlb t("dm", geometry(8, 1), s);
  t.insert(make_entry(3));
  t.insert(make_entry(11));  // same set (3 mod 8)
  EXPECT_EQ(t.probe(va_of(3), 0), nullptr);
  EXPECT_NE(t.probe(va_of(11), 0), nullptr);
  EXPECT_EQ(stat_value(s, "evictions"), 1u);
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, TlbPolicyTest, ::testing::ValuesIn(kAllPolicies), policy_param_name);

// ---------------------------------------------------------------------------
// LRU against brute-force lists.

// Mostly a hot working set with a colder tail, so hit rates are neither ~0
// nor ~1 and the LRU order actually matters.
VAddr stream_page(TestRng& rng, unsigned pages) {
  if (rng.below(4) != 0) return rng.below(pages / 4);
  return rng.below(pages);
}

TEST(TlbLruReferenceTest, FullyAssociativeMatchesListLru) {
  constexpr unsigned kEntries = 64;
  constexpr unsigned kPages = 200;
  constexpr int kAccesses = 100000;
  for (unsigned ways : {kEntries, 0u}) {
    StatGroup s;
    Tlb t("fa", make_geometry(kEntries, ways, ReplacementPolicy::Lru), s);
    std::list<VAddr> ref;  // front = most recent
    std::uint64_t ref_misses = 0;
    TestRng rng = rng_for(2024);
    for (int i = 0; i < kAccesses; ++i) {
      const VAddr vpn = stream_page(rng, kPages);
      auto it = std::find(ref.begin(), ref.end(), vpn);
      const bool ref_hit = it != ref.end();
      if (ref_hit) {
        ref.splice(ref.begin(), ref, it);
      } else {
        ++ref_misses;
        ref.push_front(vpn);
        if (ref.size() > kEntries) ref.pop_back();
      }
      const bool hit = t.lookup(va_of(vpn) | 0x80, 0) != nullptr;
      ASSERT_EQ(hit, ref_hit) << "access " << i << " ways " << ways;
      if (!hit) t.insert(make_entry(vpn));
    }
    EXPECT_EQ(stat_value(s, "misses"), ref_misses);
    EXPECT_EQ(stat_value(s, "hits"), kAccesses - ref_misses);
    EXPECT_EQ(stat_value(s, "evictions"), ref_misses - kEntries);
    EXPECT_GT(ref_misses, 1000u);
    EXPECT_LT(ref_misses, 90000u);
  }
}

TEST(TlbLruReferenceTest, SetAssociativeMatchesPerSetListLru) {
  constexpr unsigned kEntries = 64, kWays = 4, kSets = kEntries / kWays;
  constexpr unsigned kPages = 300;
  StatGroup s;
  Tlb t("l1d", make_geometry(kEntries, kWays, ReplacementPolicy::Lru), s);
  std::vector<std::list<VAddr>> ref(kSets);
  std::uint64_t ref_misses = 0, ref_evictions = 0;
  TestRng rng = rng_for(77);
  for (int i = 0; i < 100000; ++i) {
    const VAddr vpn = stream_page(rng, kPages);
    std::list<VAddr>& set = ref[vpn % kSets];
    auto it = std::find(set.begin(), set.end(), vpn);
    const bool ref_hit = it != set.end();
    if (ref_hit) {
      set.splice(set.begin(), set, it);
    } else {
      ++ref_misses;
      set.push_front(vpn);
      if (set.size() > kWays) {
        set.pop_back();
        ++ref_evictions;
      }
    }
    const bool hit = t.lookup(va_of(vpn), 0) != nullptr;
    ASSERT_EQ(hit, ref_hit) << "access " << i;
    if (!hit) t.insert(make_entry(vpn));
  }
  EXPECT_EQ(stat_value(s, "misses"), ref_misses);
  EXPECT_EQ(stat_value(s, "evictions"), ref_evictions);
  EXPECT_EQ(t.valid_entries(), static_cast<std::size_t>(kEntries));
}

// ---------------------------------------------------------------------------
// Differential test against a slot-by-slot reference TLB: random lookups,
// fills (including global/per-PCID overlaps) and every kind of flush.

class RefTlb {
 public:
  struct Slot {
    bool valid = false;
    VAddr vpn = 0;
    PageSize size = PageSize::k4K;
    std::uint16_t pcid = 0;
    bool global = false;
    std::uint64_t pfn = 0;
  };

  RefTlb(ReplacementPolicy policy, unsigned sets, unsigned ways, std::vector<PageSize> sizes)
      : m_policy(policy),
        m_sets(sets),
        m_ways(ways),
        m_sizes(std::move(sizes)),
        m_slots(sets, std::vector<Slot>(ways)),
        m_lru(sets),
        m_fifo(sets),
        m_plru(sets) {
    std::sort(m_sizes.begin(), m_sizes.end(), [](PageSize a, PageSize b) { return page_bytes(a) < page_bytes(b); });
  }

  // Returns {set, way} of the match or {-1, -1}.
  std::pair<int, int> find(VAddr va, std::uint16_t pcid) const {
    for (PageSize sz : m_sizes) {
      const VAddr vpn = va / page_bytes(sz);
      const unsigned set = static_cast<unsigned>(vpn % m_sets);
      for (unsigned w = 0; w < m_ways; ++w) {
        const Slot& sl = m_slots[set][w];
        if (sl.valid && sl.size == sz && sl.vpn == vpn && (sl.global || sl.pcid == pcid))
          return {static_cast<int>(set), static_cast<int>(w)};
      }
    }
    return {-1, -1};
  }

  const Slot* lookup(VAddr va, std::uint16_t pcid) {
    ++accesses;
    auto [set, way] = find(va, pcid);
    if (set < 0) {
      ++misses;
      return nullptr;
    }
    ++hits;
    use(static_cast<unsigned>(set), static_cast<unsigned>(way), false);
    return &m_slots[static_cast<unsigned>(set)][static_cast<unsigned>(way)];
  }

  // `random_choice` supplies the victim for the Random policy, which the
  // reference cannot predict; the caller reads it off the model, and this
  // checks it is a legal choice (a full set, no same-page entry).
  void insert(VAddr vpn, PageSize size, std::uint16_t pcid, bool global, std::uint64_t pfn, int random_choice) {
    const unsigned set = static_cast<unsigned>(vpn % m_sets);
    std::vector<Slot>& row = m_slots[set];
    int target = -1;
    for (unsigned w = 0; w < m_ways; ++w) {
      Slot& sl = row[w];
      const bool same_page = sl.valid && sl.vpn == vpn && sl.size == size;
      if (same_page && (sl.global || global || sl.pcid == pcid)) {
        if (target < 0) target = static_cast<int>(w);
        else sl.valid = false;
      }
    }
    if (target < 0) {
      for (unsigned w = 0; w < m_ways && target < 0; ++w)
        if (!row[w].valid) target = static_cast<int>(w);
    }
    if (target < 0) {
      ++evictions;
      target = m_policy == ReplacementPolicy::Random ? random_choice : static_cast<int>(victim(set));
      EXPECT_GE(target, 0);
      EXPECT_LT(target, static_cast<int>(m_ways));
    }
    Slot& sl = row[static_cast<unsigned>(target)];
    sl = Slot{true, vpn, size, pcid, global, pfn};
    use(set, static_cast<unsigned>(target), true);
  }

  template <typename Pred>
  void flush_if(Pred pred) {
    ++flushes;
    for (auto& row : m_slots)
      for (Slot& sl : row)
        if (sl.valid && pred(sl)) {
          sl.valid = false;
          ++flushed_entries;
        }
  }

  void flush_page_if(VAddr va, bool any_pcid, std::uint16_t pcid) {
    flush_if([&](const Slot& sl) {
      return sl.vpn == va / page_bytes(sl.size) && (any_pcid || sl.global || sl.pcid == pcid) &&
             std::find(m_sizes.begin(), m_sizes.end(), sl.size) != m_sizes.end();
    });
  }

  const Slot& slot(unsigned set, unsigned way) const { return m_slots[set][way]; }
  std::size_t valid_count() const {
    std::size_t n = 0;
    for (const auto& row : m_slots)
      for (const Slot& sl : row) n += sl.valid;
    return n;
  }

  std::uint64_t accesses = 0, hits = 0, misses = 0, evictions = 0, flushes = 0, flushed_entries = 0;

 private:
  void use(unsigned set, unsigned way, bool fill) {
    std::list<unsigned>& lru = m_lru[set];
    lru.remove(way);
    lru.push_front(way);
    if (fill) {
      std::deque<unsigned>& fifo = m_fifo[set];
      fifo.erase(std::remove(fifo.begin(), fifo.end(), way), fifo.end());
      fifo.push_back(way);
    }
    // PLRU over explicit ranges: the node for [lo, hi) points at the half
    // not containing the used way (false = lower half is the victim side).
    unsigned lo = 0, hi = m_ways;
    while (hi - lo > 1) {
      const unsigned mid = (lo + hi) / 2;
      const bool in_lower = way < mid;
      m_plru[set][{lo, hi}] = in_lower;
      if (in_lower) hi = mid;
      else lo = mid;
    }
  }

  unsigned victim(unsigned set) {
    switch (m_policy) {
      case ReplacementPolicy::Lru: return m_lru[set].back();
      case ReplacementPolicy::Fifo: return m_fifo[set].front();
      case ReplacementPolicy::Plru: {
        unsigned lo = 0, hi = m_ways;
        while (hi - lo > 1) {
          const unsigned mid = (lo + hi) / 2;
          const bool upper = m_plru[set][{lo, hi}];  // default false: lower half
          if (upper) lo = mid;
          else hi = mid;
        }
        return lo;
      }
      case ReplacementPolicy::Random: break;
    }
    ADD_FAILURE() << "no reference victim for random";
    return 0;
  }

  ReplacementPolicy m_policy;
  unsigned m_sets, m_ways;
  std::vector<PageSize> m_sizes;
  std::vector<std::vector<Slot>> m_slots;
  std::vector<std::list<unsigned>> m_lru;    // front = most recent use
  std::vector<std::deque<unsigned>> m_fifo;  // front = oldest fill
  std::vector<std::map<std::pair<unsigned, unsigned>, bool>> m_plru;
};

struct DiffShape {
  const char* label;
  unsigned entries, ways;
  std::vector<PageSize> sizes;
};

const DiffShape kDiffShapes[] = {
    {"l1d_64x4_4k", 64, 4, {PageSize::k4K}},
    {"fa16_4k_2m", 16, 0, {PageSize::k4K, PageSize::k2M}},
    {"stlb_32x2_4k_2m_1g", 32, 2, {PageSize::k4K, PageSize::k2M, PageSize::k1G}},
    {"dm8_4k", 8, 1, {PageSize::k4K}},
    {"s8x8_2m_4k", 64, 8, {PageSize::k2M, PageSize::k4K}},
};

class TlbDifferentialTest : public ::testing::TestWithParam<std::tuple<ReplacementPolicy, int>> {};

TEST_P(TlbDifferentialTest, MatchesReferenceSlotForSlot) {
  const ReplacementPolicy policy = std::get<0>(GetParam());
  const DiffShape& shape = kDiffShapes[std::get<1>(GetParam())];
  StatGroup s;
  Tlb t("dut", make_geometry(shape.entries, shape.ways, policy, shape.sizes, 31), s);
  RefTlb ref(policy, t.sets(), t.ways(), shape.sizes);
  auto holds = [&](PageSize sz) { return t.holds(sz); };
  TestRng rng = rng_for(4242 + static_cast<std::uint64_t>(std::get<1>(GetParam())));

  // The "page tables": which size maps an address, and to which frame.
  auto mapping_size = [&](VAddr va) {
    if (va >= (VAddr{1} << 30) && holds(PageSize::k1G)) return PageSize::k1G;
    if ((va >> 21) % 2 == 1 && holds(PageSize::k2M)) return PageSize::k2M;
    return holds(PageSize::k4K) ? PageSize::k4K : PageSize::k2M;
  };
  auto frame = [](VAddr vpn, std::uint16_t pcid, bool global) {
    return (vpn * 0x9e37 + (global ? 0 : pcid + 1) * 0x10001) & 0xffffff;
  };
  auto random_va = [&]() -> VAddr {
    if (rng.below(20) == 0) return (VAddr{1} << 30) + rng.below(VAddr{1} << 31);
    const VAddr page = rng.below(5) ? rng.below(96) : rng.below(2048);
    return (page << 12) | rng.below(4096);  // 8 MiB: four 2M regions
  };

  // Inserts into both; for Random the victim is read off the model.
  auto fill = [&](VAddr vpn, PageSize sz, std::uint16_t pcid, bool global) {
    TlbEntry e = make_entry(vpn, sz, pcid, global, frame(vpn, pcid, global));
    t.insert(e);
    int chosen = -1;
    const unsigned set = t.set_index(vpn << page_shift(sz), sz);
    for (unsigned w = 0; w < t.ways(); ++w) {
      const TlbEntry& x = t.entry_at(set, w);
      if (x.valid && x.vpn == vpn && x.size == sz && x.pcid == pcid && x.global == global) chosen = static_cast<int>(w);
    }
    ASSERT_GE(chosen, 0);
    ref.insert(vpn, sz, pcid, global, e.pfn, chosen);
  };

  for (int step = 0; step < 30000; ++step) {
    const std::uint64_t op = rng.below(1000);
    const VAddr va = random_va();
    const std::uint16_t pcid = static_cast<std::uint16_t>(rng.below(3));
    if (op < 880) {
      const TlbEntry* got = t.lookup(va, pcid);
      const RefTlb::Slot* want = ref.lookup(va, pcid);
      ASSERT_EQ(got != nullptr, want != nullptr) << "step " << step;
      if (got) {
        ASSERT_EQ(got->vpn, want->vpn);
        ASSERT_EQ(got->size, want->size);
        ASSERT_EQ(got->pfn, want->pfn);
      } else {
        const PageSize sz = mapping_size(va);
        const VAddr vpn = va >> page_shift(sz);
        fill(vpn, sz, pcid, vpn % 7 == 0);
      }
    } else if (op < 940) {
      // Unprompted fill with a random global bit: exercises overwrite in
      // place and the global-replaces-per-PCID-copies path.
      const PageSize sz = mapping_size(va);
      fill(va >> page_shift(sz), sz, pcid, rng.below(3) == 0);
    } else if (op < 960) {
      t.flush_page(va, pcid);
      ref.flush_page_if(va, false, pcid);
    } else if (op < 975) {
      t.flush_page_any_pcid(va);
      ref.flush_page_if(va, true, 0);
    } else if (op < 988) {
      t.flush_pcid(pcid);
      ref.flush_if([pcid](const RefTlb::Slot& sl) { return !sl.global && sl.pcid == pcid; });
    } else if (op < 996) {
      t.flush_non_global();
      ref.flush_if([](const RefTlb::Slot& sl) { return !sl.global; });
    } else {
      t.flush_all();
      ref.flush_if([](const RefTlb::Slot&) { return true; });
    }

    ASSERT_EQ(t.valid_entries(), ref.valid_count()) << "step " << step;
    for (unsigned set = 0; set < t.sets(); ++set)
      for (unsigned w = 0; w < t.ways(); ++w) {
        const TlbEntry& a = t.entry_at(set, w);
        const RefTlb::Slot& b = ref.slot(set, w);
        ASSERT_EQ(a.valid, b.valid) << "step " << step << " set " << set << " way " << w;
        if (!a.valid) continue;
        ASSERT_EQ(a.vpn, b.vpn) << "step " << step << " set " << set << " way " << w;
        ASSERT_EQ(a.size, b.size);
        ASSERT_EQ(a.global, b.global);
        if (!a.global) {
          ASSERT_EQ(a.pcid, b.pcid);
        }
        ASSERT_EQ(a.pfn, b.pfn);
      }
  }

  EXPECT_EQ(stat_value(s, "accesses"), ref.accesses);
  EXPECT_EQ(stat_value(s, "hits"), ref.hits);
  EXPECT_EQ(stat_value(s, "misses"), ref.misses);
  EXPECT_EQ(stat_value(s, "evictions"), ref.evictions);
  EXPECT_EQ(stat_value(s, "flushes"), ref.flushes);
  EXPECT_EQ(stat_value(s, "flushed_entries"), ref.flushed_entries);
  EXPECT_EQ(stat_value(s, "hits") + stat_value(s, "misses"), stat_value(s, "accesses"));
  EXPECT_GT(ref.hits, 300u);  // even the 8-entry direct-mapped shape hits ~500 times
  EXPECT_GT(ref.evictions, 100u);
}

std::string diff_param_name(const ::testing::TestParamInfo<std::tuple<ReplacementPolicy, int>>& info) {
  return std::string(replacement_policy_name(std::get<0>(info.param))) + "_" +
         kDiffShapes[std::get<1>(info.param)].label;
}

INSTANTIATE_TEST_SUITE_P(PoliciesAndShapes, TlbDifferentialTest,
                         ::testing::Combine(::testing::ValuesIn(kAllPolicies),
                                            ::testing::Range(0, static_cast<int>(std::size(kDiffShapes)))),
                         diff_param_name);

}  // namespace
}  // namespace mmusim
