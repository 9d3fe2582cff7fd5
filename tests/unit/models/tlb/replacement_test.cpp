// Tests of the replacement policies on their own (models/tlb/replacement.h):
// the policy names, and ReplacementState's victims for LRU, tree PLRU, FIFO
// and seeded random, worked out by hand (the PLRU tree bits) or checked
// against the property each policy guarantees.
#include "models/tlb/replacement.h"

#include <gtest/gtest.h>

#include <iterator>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/test_rng.h"

namespace mmusim {
namespace {

using testing_support::TestRng;

constexpr ReplacementPolicy kAllPolicies[] = {ReplacementPolicy::Lru, ReplacementPolicy::Plru, ReplacementPolicy::Fifo,
                                              ReplacementPolicy::Random};

// ---------------------------------------------------------------------------
// Policy names.

TEST(ReplacementPolicyNames, TheConfigurationNamesInEnumOrder) {
  // mmu.tlbs.NAME.replacement takes these names (README, Configuration).
  ASSERT_EQ(std::size(kReplacementPolicyNames), std::size(kAllPolicies));
  const char* expected[] = {"lru", "plru", "fifo", "random"};
  for (std::size_t i = 0; i < std::size(kAllPolicies); ++i) {
    EXPECT_EQ(kReplacementPolicyNames[i].value, kAllPolicies[i]);
    EXPECT_STREQ(kReplacementPolicyNames[i].name, expected[i]);
    EXPECT_STREQ(replacement_policy_name(kAllPolicies[i]), expected[i]);
  }
}

// ---------------------------------------------------------------------------
// ReplacementState on its own.

TEST(ReplacementStateTest, PlruBitsPointAwayFromTheUsedWay) {
  ReplacementState r(ReplacementPolicy::Plru, 1, 4, 1);
  // Bits: 1 = root (0 -> ways 0-1), 2 = ways 0/1, 3 = ways 2/3.
  EXPECT_EQ(r.victim(0), 0u);
  r.touch(0, 0);
  EXPECT_TRUE(r.plru_bit(0, 1));
  EXPECT_TRUE(r.plru_bit(0, 2));
  EXPECT_FALSE(r.plru_bit(0, 3));
  EXPECT_EQ(r.victim(0), 2u);
  r.touch(0, 2);
  EXPECT_FALSE(r.plru_bit(0, 1));
  EXPECT_TRUE(r.plru_bit(0, 2));
  EXPECT_TRUE(r.plru_bit(0, 3));
  EXPECT_EQ(r.victim(0), 1u);
  r.touch(0, 1);
  EXPECT_EQ(r.victim(0), 3u);
  r.touch(0, 3);
  EXPECT_EQ(r.victim(0), 0u);
}

TEST(ReplacementStateTest, PlruNeverPicksTheMostRecentlyUsedWay) {
  // The one guarantee tree PLRU shares with LRU: every bit on the used way's
  // path points away from it.
  ReplacementState r(ReplacementPolicy::Plru, 1, 8, 1);
  TestRng rng(3 * 2654435761u + 0x1234567);
  unsigned last = 0;
  for (int i = 0; i < 10000; ++i) {
    const unsigned w = static_cast<unsigned>(rng.below(8));
    r.touch(0, w);
    last = w;
    EXPECT_NE(r.victim(0), last);
  }
}

TEST(ReplacementStateTest, LruAndFifoDifferOnHits) {
  ReplacementState lru(ReplacementPolicy::Lru, 2, 2, 1);
  ReplacementState fifo(ReplacementPolicy::Fifo, 2, 2, 1);
  for (ReplacementState* r : {&lru, &fifo}) {
    r->fill(1, 0);
    r->fill(1, 1);
    r->touch(1, 0);
  }
  EXPECT_EQ(lru.victim(1), 1u);
  EXPECT_EQ(fifo.victim(1), 0u);
}

TEST(ReplacementStateTest, RandomIsReproducibleAndResettable) {
  ReplacementState a(ReplacementPolicy::Random, 1, 16, 99);
  ReplacementState b(ReplacementPolicy::Random, 1, 16, 99);
  std::vector<unsigned> first;
  for (int i = 0; i < 100; ++i) {
    const unsigned v = a.victim(0);
    EXPECT_LT(v, 16u);
    EXPECT_EQ(v, b.victim(0));
    first.push_back(v);
  }
  a.reset();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.victim(0), first[static_cast<std::size_t>(i)]);
  // Seed 0 must not get stuck (a plain xorshift would).
  ReplacementState z(ReplacementPolicy::Random, 1, 16, 0);
  std::set<unsigned> seen;
  for (int i = 0; i < 100; ++i) seen.insert(z.victim(0));
  EXPECT_GT(seen.size(), 8u);
}

TEST(ReplacementStateTest, RejectsBadShapes) {
  EXPECT_THROW(ReplacementState(ReplacementPolicy::Plru, 1, 3, 1), std::invalid_argument);
  EXPECT_THROW(ReplacementState(ReplacementPolicy::Lru, 0, 4, 1), std::invalid_argument);
  EXPECT_THROW(ReplacementState(ReplacementPolicy::Lru, 1, 0, 1), std::invalid_argument);
  EXPECT_NO_THROW(ReplacementState(ReplacementPolicy::Fifo, 1, 3, 1));
  EXPECT_NO_THROW(ReplacementState(ReplacementPolicy::Plru, 1, 1, 1));
}

}  // namespace
}  // namespace mmusim
