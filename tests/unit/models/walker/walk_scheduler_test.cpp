// Unit tests for WalkScheduler (models/walker/walk_scheduler.h), without
// SystemC: small cases worked by hand from the rules in the header, and the
// outstanding = 1 identity against an in-order reference written here (each
// access starts when the previous one ended plus the gap; a fault adds its
// cost and a retry in sequence).
#include <gtest/gtest.h>

#include <cstdint>

#include "models/common/stats.h"
#include "models/walker/walk_scheduler.h"

namespace mmusim {
namespace {

std::uint64_t stat(const StatGroup& g, const char* n) { return g.find(n)->counter->value(); }

TEST(WalkScheduler, TwoWalksShareOneWalker) {
  StatGroup s("walker");
  WalkScheduler w(/*outstanding*/ 4, /*walkers*/ 1, /*gap*/ 0, s);
  Cycles a = w.start();
  EXPECT_EQ(a, 0u);
  Cycles da = w.translate(a, 1, true, 30, 100);  // lookup 0..1, walk 1..31
  EXPECT_EQ(da, 31u);
  w.complete(da);
  Cycles b = w.start();  // issues at once: slots are free
  EXPECT_EQ(b, 0u);
  Cycles db = w.translate(b, 1, true, 30, 200);  // waits for the walker until 31
  EXPECT_EQ(db, 61u);
  w.complete(db);
  EXPECT_EQ(stat(s, "wait_cycles"), 30u);
}

TEST(WalkScheduler, TwoWalkersOverlap) {
  StatGroup s("walker");
  WalkScheduler w(4, 2, 0, s);
  Cycles a = w.start();
  w.complete(w.translate(a, 1, true, 30, 100));
  Cycles b = w.start();
  EXPECT_EQ(w.translate(b, 1, true, 30, 200), 31u);
  EXPECT_EQ(stat(s, "wait_cycles"), 0u);
}

TEST(WalkScheduler, HitOnAPageBeingWalkedMergesOntoTheWalk) {
  StatGroup s("walker");
  WalkScheduler w(4, 2, 0, s);
  w.complete(w.translate(w.start(), 1, true, 30, 100));  // page 100 walked until 31
  Cycles b = w.start();
  EXPECT_EQ(w.translate(b, 1, false, 0, 100), 31u);  // functional hit, but the walk is in flight
  w.complete(31);
  Cycles c = w.start();
  EXPECT_EQ(w.translate(c, 1, false, 0, 300), 1u);  // another page: a plain hit
  w.complete(1);
  EXPECT_EQ(stat(s, "merged"), 1u);
}

TEST(WalkScheduler, WindowOfTwoWaitsForTheAccessTwoBefore) {
  StatGroup s("walker");
  WalkScheduler w(2, 2, /*gap*/ 5, s);
  Cycles a = w.start();                        // 0
  Cycles da = w.translate(a, 1, true, 40, 1);  // 41
  w.complete(da);
  Cycles b = w.start();  // issue = 0 + gap = 5
  EXPECT_EQ(b, 5u);
  w.complete(w.translate(b, 1, false, 0, 2));  // 6
  Cycles c = w.start();                        // issue 10, but the slot of access a frees at 41 (+ gap 5)
  EXPECT_EQ(c, 46u);
  w.complete(c + 1);
  Cycles d = w.start();  // issue 51; b's slot: 6 + 5
  EXPECT_EQ(d, 51u);
}

TEST(WalkScheduler, DrainWaitsForEverythingInFlight) {
  StatGroup s("walker");
  WalkScheduler w(4, 2, 0, s);
  w.complete(w.translate(w.start(), 1, true, 50, 1));  // done 51
  w.complete(w.translate(w.start(), 1, false, 0, 2));  // done 1
  EXPECT_EQ(w.drain(), 51u);
  EXPECT_EQ(w.start(), 51u);
}

TEST(WalkScheduler, OutstandingOneIsTheInOrderModel) {
  for (Cycles gap : {Cycles{0}, Cycles{3}}) {
    StatGroup s("walker");
    WalkScheduler w(1, 2, gap, s);
    Cycles reference = 0;  // in order: start of the next access
    Cycles last_done = 0;
    std::uint64_t x = 99;
    auto rnd = [&x](std::uint64_t m) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return (x >> 33) % m;
    };
    for (int i = 0; i < 20000; ++i) {
      Cycles t = w.start();
      ASSERT_EQ(t, reference) << "access " << i;
      Cycles in_order = reference;
      // One or two translations (a page crossing), each maybe walking, maybe faulting once.
      const int parts = rnd(8) == 0 ? 2 : 1;
      for (int p = 0; p < parts; ++p) {
        const Cycles lookup = rnd(10);
        const bool walked = rnd(4) == 0;
        const Cycles walk = walked ? 1 + rnd(300) : 0;
        const std::uint64_t page = rnd(16);
        t = w.translate(t, lookup, walked, walk, page);
        in_order += lookup + walk;
        if (walked && rnd(10) == 0) {  // the walk faulted: handler, then the retry
          const Cycles cost = 700 + rnd(100);
          t = std::max(w.drain(), t) + cost;
          w.advance_to(t);
          in_order += cost;
          const Cycles retry = 1 + rnd(200);
          t = w.translate(t, 1, true, retry - 1, page);
          in_order += retry;
        }
        ASSERT_EQ(t, in_order) << "access " << i;
      }
      const Cycles data = rnd(3) == 0 ? rnd(120) : 0;  // a data access after the translation
      t += data;
      in_order += data;
      w.complete(t);
      last_done = t;
      reference = in_order + gap;
    }
    EXPECT_EQ(w.drain(), last_done + gap);
    EXPECT_EQ(stat(s, "merged"), 0u);
    EXPECT_EQ(stat(s, "wait_cycles"), 0u);
  }
}

}  // namespace
}  // namespace mmusim
