// Unit tests for the statistics registry (models/common/stats.h): dotted
// paths, find(), declaration order, duplicate names, histogram buckets with
// inclusive upper bounds and one overflow bucket, formulas, reset.
#include "models/common/stats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim {
namespace {

TEST(Counter, IncrementAddReset) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  ++c;
  ++c;
  c += 40;
  EXPECT_EQ(c.value(), 42u);
  c.reset();
  EXPECT_EQ(c.value(), 0u);
}

TEST(StatGroup, CountersAreBoundToTheirEntries) {
  StatGroup root;
  Counter& hits = root.group("mmu").group("tlb").group("l1d").counter("hits", "demand lookups that hit");
  ++hits;
  hits += 2;
  const StatGroup::Entry* e = root.find("mmu.tlb.l1d.hits");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, StatGroup::Kind::Counter);
  EXPECT_EQ(e->name, "hits");
  EXPECT_EQ(e->description, "demand lookups that hit");
  ASSERT_NE(e->counter, nullptr);
  EXPECT_EQ(e->counter, &hits);
  EXPECT_EQ(e->counter->value(), 3u);
}

TEST(StatGroup, FindIsRelativeToTheGroup) {
  StatGroup root;
  StatGroup& mmu = root.group("mmu");
  mmu.group("walker").counter("walks", "page walks");
  EXPECT_NE(root.find("mmu.walker.walks"), nullptr);
  EXPECT_NE(mmu.find("walker.walks"), nullptr);
  EXPECT_NE(mmu.group("walker").find("walks"), nullptr);
  // Absent statistics, absent groups, a group named as if it were a statistic,
  // and a path that goes through a statistic are all nullptr.
  EXPECT_EQ(root.find("mmu.walker.faults"), nullptr);
  EXPECT_EQ(root.find("mmu.pwc.hits"), nullptr);
  EXPECT_EQ(root.find("mmu.walker"), nullptr);
  EXPECT_EQ(root.find("mmu.walker.walks.x"), nullptr);
  EXPECT_EQ(root.find(""), nullptr);
  EXPECT_EQ(root.find("walks"), nullptr);
}

TEST(StatGroup, GroupReturnsTheSameChild) {
  StatGroup root;
  StatGroup& a = root.group("os");
  StatGroup& b = root.group("os");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(root.groups().size(), 1u);
  EXPECT_EQ(a.name(), "os");
  EXPECT_EQ(root.name(), "");
  StatGroup named("top");
  EXPECT_EQ(named.name(), "top");
}

TEST(StatGroup, DeclarationOrderIsKept) {
  StatGroup g;
  // Deliberately not alphabetical: the writers must keep this order.
  g.counter("zeta", "z");
  g.histogram("alpha", "a", {1, 2});
  g.formula("mid", "m", [] { return 1.0; });
  g.counter("beta", "b");
  g.group("z_group");
  g.group("a_group");
  const auto& e = g.entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].name, "zeta");
  EXPECT_EQ(e[1].name, "alpha");
  EXPECT_EQ(e[2].name, "mid");
  EXPECT_EQ(e[3].name, "beta");
  EXPECT_EQ(e[0].kind, StatGroup::Kind::Counter);
  EXPECT_EQ(e[1].kind, StatGroup::Kind::Histogram);
  EXPECT_EQ(e[2].kind, StatGroup::Kind::Formula);
  ASSERT_EQ(g.groups().size(), 2u);
  EXPECT_EQ(g.groups()[0]->name(), "z_group");
  EXPECT_EQ(g.groups()[1]->name(), "a_group");
}

TEST(StatGroup, CounterAddressesStayStable) {
  // Many counters: a vector would move them; the group keeps them in place.
  StatGroup g;
  std::vector<Counter*> cs;
  for (int i = 0; i < 1000; ++i) cs.push_back(&g.counter("c" + std::to_string(i), "counter"));
  for (int i = 0; i < 1000; ++i) *cs[static_cast<std::size_t>(i)] += static_cast<std::uint64_t>(i);
  for (int i = 0; i < 1000; ++i) {
    const StatGroup::Entry* e = g.find("c" + std::to_string(i));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counter, cs[static_cast<std::size_t>(i)]);
    EXPECT_EQ(e->counter->value(), static_cast<std::uint64_t>(i));
  }
}

TEST(StatGroup, DuplicateNamesThrow) {
  StatGroup g;
  g.counter("hits", "h");
  EXPECT_THROW(g.counter("hits", "again"), std::logic_error);
  EXPECT_THROW(g.histogram("hits", "again", {1}), std::logic_error);
  EXPECT_THROW(g.formula("hits", "again", [] { return 0.0; }), std::logic_error);
  // A group and a statistic may not share a name either way round.
  EXPECT_THROW(g.group("hits"), std::logic_error);
  g.group("tlb");
  EXPECT_THROW(g.counter("tlb", "clash"), std::logic_error);
  EXPECT_THROW(g.formula("tlb", "clash", [] { return 0.0; }), std::logic_error);
  EXPECT_THROW(g.histogram("tlb", "clash", {}), std::logic_error);
  // The same name in different groups is fine.
  EXPECT_NO_THROW(g.group("tlb").counter("hits", "h"));
  EXPECT_EQ(g.entries().size(), 1u);
}

TEST(StatGroup, FormulasAreEvaluatedWhenRead) {
  StatGroup g;
  Counter& hits = g.counter("hits", "h");
  Counter& accesses = g.counter("accesses", "a");
  g.formula("hit_rate", "hits / accesses", [&] {
    return accesses.value() ? static_cast<double>(hits.value()) / static_cast<double>(accesses.value()) : 0.0;
  });
  const StatGroup::Entry* f = g.find("hit_rate");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, StatGroup::Kind::Formula);
  EXPECT_EQ(f->counter, nullptr);
  EXPECT_EQ(f->histogram, nullptr);
  EXPECT_DOUBLE_EQ(f->formula(), 0.0);
  accesses += 4;
  hits += 3;
  EXPECT_DOUBLE_EQ(f->formula(), 0.75);
}

TEST(StatGroup, ResetAllRecurses) {
  StatGroup root;
  Counter& a = root.counter("a", "a");
  Counter& b = root.group("x").group("y").counter("b", "b");
  Histogram& h = root.group("x").histogram("h", "h", {10});
  a += 5;
  b += 7;
  h.sample(3);
  h.sample(30);
  root.reset_all();
  EXPECT_EQ(a.value(), 0u);
  EXPECT_EQ(b.value(), 0u);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.buckets(), (std::vector<std::uint64_t>{0, 0}));
  // Usable after the reset, min starting afresh.
  h.sample(7);
  EXPECT_EQ(h.min(), 7u);
  EXPECT_EQ(h.max(), 7u);
}

TEST(Histogram, InclusiveUpperBoundsAndOverflow) {
  // Buckets: [0,10], (10,20], (20,50], (50, inf).
  Histogram h({10, 20, 50});
  ASSERT_EQ(h.buckets().size(), 4u);
  EXPECT_EQ(h.upper_bounds(), (std::vector<std::uint64_t>{10, 20, 50}));
  h.sample(0);     // bucket 0
  h.sample(10);    // bucket 0: the bound is inclusive
  h.sample(11);    // bucket 1
  h.sample(20);    // bucket 1
  h.sample(21);    // bucket 2
  h.sample(50);    // bucket 2
  h.sample(51);    // overflow
  h.sample(1000);  // overflow
  EXPECT_EQ(h.buckets(), (std::vector<std::uint64_t>{2, 2, 2, 2}));
  EXPECT_EQ(h.count(), 8u);
  EXPECT_EQ(h.sum(), 0u + 10 + 11 + 20 + 21 + 50 + 51 + 1000);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 1000u);
}

TEST(Histogram, EmptyHasZeroMinAndMax) {
  Histogram h({1});
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.sum(), 0u);
}

TEST(Histogram, NoBoundsIsOneOverflowBucket) {
  Histogram h({});
  ASSERT_EQ(h.buckets().size(), 1u);
  h.sample(0);
  h.sample(UINT64_MAX);
  EXPECT_EQ(h.buckets()[0], 2u);
  EXPECT_EQ(h.max(), UINT64_MAX);
}

TEST(Histogram, UnsortedBoundsThrow) { EXPECT_THROW(Histogram({5, 3}), std::logic_error); }

TEST(Histogram, RegisteredThroughAGroup) {
  StatGroup g;
  Histogram& h = g.group("walker").histogram("latency", "walk latency", {16, 64});
  h.sample(16);
  h.sample(17);
  h.sample(65);
  const StatGroup::Entry* e = g.find("walker.latency");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, StatGroup::Kind::Histogram);
  EXPECT_EQ(e->histogram, &h);
  EXPECT_EQ(e->histogram->buckets(), (std::vector<std::uint64_t>{1, 1, 1}));
}

TEST(StatGroup, SnapshotFlattensInDeclarationOrderWithHistogramsExpanded) {
  StatGroup root;
  Counter& a = root.counter("a", "first");
  Histogram& h = root.histogram("h", "latency", {10, 20});
  root.formula("f", "half of a", [&a] { return static_cast<double>(a.value()) / 2; });
  StatGroup& child = root.group("child");
  Counter& b = child.counter("b", "in a group");
  a += 3;
  h.sample(5);
  h.sample(25);
  b += 7;
  const std::vector<StatValue> s = root.snapshot();
  const std::vector<std::string> paths = {"a",     "h.count",         "h.sum",           "h.min",
                                          "h.max", "h.buckets.le_10", "h.buckets.le_20", "h.buckets.gt_20",
                                          "f",     "child.b"};
  ASSERT_EQ(s.size(), paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(s[i].path, paths[i]);
  EXPECT_TRUE(s[0].integer);
  EXPECT_EQ(s[0].count, 3u);
  EXPECT_EQ(s[1].count, 2u);   // count
  EXPECT_EQ(s[2].count, 30u);  // sum
  EXPECT_EQ(s[3].count, 5u);   // min
  EXPECT_EQ(s[4].count, 25u);  // max
  EXPECT_EQ(s[5].count, 1u);
  EXPECT_EQ(s[6].count, 0u);
  EXPECT_EQ(s[7].count, 1u);
  EXPECT_FALSE(s[8].integer);
  EXPECT_DOUBLE_EQ(s[8].real, 1.5);
  EXPECT_DOUBLE_EQ(s[8].as_double(), 1.5);
  EXPECT_EQ(s[9].count, 7u);
  // Relative to the group it is taken from.
  const std::vector<StatValue> c = child.snapshot();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].path, "b");
}

// sum_of: the totals of several cores' groups. Core 0 counted 3 hits and
// sampled 5 and 20; core 1 counted 4 hits and sampled 1: the total has
// 3 + 4 = 7 hits and a histogram of 3 samples, sum 26, min 1, max 20, in
// buckets le_10 (5 and 1) and gt_10 (20); nested groups are summed too,
// and a later increment shows in the next snapshot.
TEST(StatGroupSum, TotalsOfIdenticalGroups) {
  StatGroup root;
  StatGroup& total = root.group("mmu");
  StatGroup& c0 = root.group("core0").group("mmu");
  StatGroup& c1 = root.group("core1").group("mmu");
  Counter* hits[2];
  Histogram* lat[2];
  Counter* walks[2];
  StatGroup* cores[2] = {&c0, &c1};
  for (int i = 0; i < 2; ++i) {
    hits[i] = &cores[i]->counter("hits", "hits");
    lat[i] = &cores[i]->histogram("latency", "latency", {10});
    walks[i] = &cores[i]->group("walker").counter("walks", "walks");
  }
  *hits[0] += 3;
  *hits[1] += 4;
  lat[0]->sample(5);
  lat[0]->sample(20);
  lat[1]->sample(1);
  ++*walks[1];
  total.sum_of({&c0, &c1});
  auto value = [&](const std::string& path) {
    for (const auto& v : root.snapshot())
      if (v.path == path) return v.count;
    ADD_FAILURE() << "no " << path;
    return std::uint64_t{0};
  };
  EXPECT_EQ(value("mmu.hits"), 7u);
  EXPECT_EQ(value("mmu.latency.count"), 3u);
  EXPECT_EQ(value("mmu.latency.sum"), 26u);
  EXPECT_EQ(value("mmu.latency.min"), 1u);
  EXPECT_EQ(value("mmu.latency.max"), 20u);
  EXPECT_EQ(value("mmu.latency.buckets.le_10"), 2u);
  EXPECT_EQ(value("mmu.latency.buckets.gt_10"), 1u);
  EXPECT_EQ(value("mmu.walker.walks"), 1u);
  // The totals come first (created first), in the parts' order.
  EXPECT_EQ(root.snapshot()[0].path, "mmu.hits");
  *hits[1] += 10;
  EXPECT_EQ(value("mmu.hits"), 17u);
  EXPECT_EQ(root.find("mmu.hits")->counter->value(), 17u);
}

TEST(StatGroupSum, RefusesDifferentParts) {
  StatGroup a, b, t;
  a.counter("x", "x");
  b.counter("y", "y");
  EXPECT_THROW(t.sum_of({&a, &b}), std::logic_error);
}

}  // namespace
}  // namespace mmusim
