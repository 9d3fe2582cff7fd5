// Unit tests for BuddyAllocator. Expected pfns and /proc/buddyinfo columns are
// worked out by hand in the comments next to each check.
#include "models/os/buddy_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/common/stats.h"

namespace mmusim {
namespace {

// A deterministic shuffle: std::shuffle's use of the engine is left to the
// standard library, a hand-rolled Fisher-Yates over mt19937_64 output is not.
template <typename T>
void det_shuffle(std::vector<T>& v, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// Allocates order-`order` blocks until the allocator refuses.
std::vector<std::uint64_t> drain(BuddyAllocator& a, unsigned order) {
  std::vector<std::uint64_t> out;
  while (auto p = a.alloc(order)) out.push_back(*p);
  return out;
}

TEST(BuddyAllocator, BootHandOverAlignedBase) {
  // [0, 1539): 0 is aligned to everything and 1539 >= 1024 -> order 10 at 0;
  // 1024 is 1024-aligned but only 515 remain -> order 9 at 1024; 3 remain at 1536
  // -> order 1 at 1536; 1 remains -> order 0 at 1538.
  BuddyAllocator a(0, 1024 + 512 + 3);
  EXPECT_EQ(a.max_order(), 10u);
  EXPECT_EQ(a.base_pfn(), 0u);
  EXPECT_EQ(a.num_pages(), 1539u);
  EXPECT_EQ(a.free_pages(), 1539u);
  EXPECT_EQ(a.buddyinfo(), "1 1 0 0 0 0 0 0 0 1 1");
  EXPECT_EQ(a.free_blocks(0), 1u);
  EXPECT_EQ(a.free_blocks(1), 1u);
  EXPECT_EQ(a.free_blocks(9), 1u);
  EXPECT_EQ(a.free_blocks(10), 1u);
  EXPECT_EQ(a.free_blocks(11), 0u);  // beyond max_order: no such column
  EXPECT_EQ(a.check_invariants(), "");
  // Each request is an exact fit for one boot block, so nothing is split.
  EXPECT_EQ(a.alloc(10), std::optional<std::uint64_t>(0));
  EXPECT_EQ(a.alloc(9), std::optional<std::uint64_t>(1024));
  EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(1536));
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(1538));
  EXPECT_EQ(a.free_pages(), 0u);
  EXPECT_EQ(a.num_splits(), 0u);
  EXPECT_EQ(a.alloc(0), std::nullopt);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, BootHandOverUnalignedBase) {
  // [3, 23): 3 is odd -> o0 at 3; 4 is 4- but not 8-aligned -> o2 at 4; 8 is 8-
  // but not 16-aligned, 15 left -> o3 at 8; 16 is 16-aligned but 7 left -> o2 at
  // 16; 20 is 4-aligned but 3 left -> o1 at 20; 1 left -> o0 at 22.
  // 1+4+8+4+2+1 = 20. Columns: o0 {3,22}=2, o1 {20}=1, o2 {4,16}=2, o3 {8}=1.
  BuddyAllocator a(3, 20);
  EXPECT_EQ(a.buddyinfo(), "2 1 2 1 0 0 0 0 0 0 0");
  EXPECT_EQ(a.free_pages(), 20u);
  EXPECT_EQ(a.check_invariants(), "");
  EXPECT_FALSE(a.is_free(2));
  EXPECT_TRUE(a.is_free(3));
  EXPECT_TRUE(a.is_free(22));
  EXPECT_FALSE(a.is_free(23));
  // Boot blocks are appended in pfn order, so each list is ascending.
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(3));
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(22));
  EXPECT_EQ(a.alloc(2), std::optional<std::uint64_t>(4));
  EXPECT_EQ(a.alloc(2), std::optional<std::uint64_t>(16));
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(8));
  EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(20));
  EXPECT_EQ(a.free_pages(), 0u);
  EXPECT_EQ(a.num_splits(), 0u);

  // Freeing must not merge across the range edges: 3's buddy 2 and 22's buddy 23
  // lie outside, so 20 (o1) cannot become [20, 24) and 3 stays order 0.
  const std::vector<std::pair<std::uint64_t, unsigned>> kBootBlocks = {{3, 0},  {22, 0}, {4, 2},
                                                                       {16, 2}, {8, 3},  {20, 1}};
  for (auto [pfn, order] : kBootBlocks) a.free(pfn, order);
  EXPECT_EQ(a.buddyinfo(), "2 1 2 1 0 0 0 0 0 0 0");
  EXPECT_EQ(a.num_merges(), 0u);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, BootHandOverRespectsMaxOrder) {
  // max_order 2 over [0, 19): four o2 blocks at 0,4,8,12 then 16 with 3 left ->
  // o1 at 16, o0 at 18.
  BuddyAllocator a(0, 19, 2);
  EXPECT_EQ(a.buddyinfo(), "1 1 4");
  EXPECT_EQ(a.check_invariants(), "");
  // max_order 0: every frame its own block, no merging ever.
  BuddyAllocator b(7, 5, 0);
  EXPECT_EQ(b.buddyinfo(), "5");
  EXPECT_EQ(b.alloc(1), std::nullopt);
  EXPECT_EQ(b.alloc(0), std::optional<std::uint64_t>(7));
  b.free(7, 0);
  EXPECT_EQ(b.buddyinfo(), "5");
  EXPECT_EQ(b.check_invariants(), "");
}

TEST(BuddyAllocator, EmptyRange) {
  BuddyAllocator a(100, 0);
  EXPECT_EQ(a.free_pages(), 0u);
  EXPECT_EQ(a.alloc(0), std::nullopt);
  EXPECT_FALSE(a.is_free(100));
  EXPECT_THROW(a.free(100, 0), std::logic_error);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, ConstructorRejectsBadArguments) {
  EXPECT_THROW(BuddyAllocator(0, 16, BuddyAllocator::kMaxSupportedOrder + 1), std::invalid_argument);
  EXPECT_THROW(BuddyAllocator(0, BuddyAllocator::kMaxPages + 1), std::invalid_argument);
  EXPECT_THROW(BuddyAllocator(UINT64_MAX - 3, 8), std::invalid_argument);
}

TEST(BuddyAllocator, SplitOrderThreeForOrderZero) {
  // One o3 block [0, 8). alloc(0) takes it and expand()s: keeps [0,4) and puts 4
  // on o2, keeps [0,2) and puts 2 on o1, keeps [0,1) and puts 1 on o0, returns 0.
  BuddyAllocator a(0, 8);
  EXPECT_EQ(a.buddyinfo(), "0 0 0 1 0 0 0 0 0 0 0");
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(0));
  EXPECT_EQ(a.buddyinfo(), "1 1 1 0 0 0 0 0 0 0 0");
  EXPECT_EQ(a.free_pages(), 7u);
  EXPECT_EQ(a.num_splits(), 3u);
  EXPECT_FALSE(a.is_free(0));
  for (std::uint64_t p = 1; p < 8; ++p) EXPECT_TRUE(a.is_free(p)) << p;
  EXPECT_EQ(a.check_invariants(), "");
  // Further order-0 requests walk up in pfn order: 1 (o0 head), then split o1 at
  // 2 -> 2 (3 to o0), 3, then split o2 at 4 -> 4 (6 to o1, 5 to o0), 5, then
  // split o1 at 6 -> 6 (7 to o0), 7.
  for (std::uint64_t want = 1; want < 8; ++want) EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(want));
  EXPECT_EQ(a.alloc(0), std::nullopt);
}

// Frees `blocks` in the given order and checks the allocator is back at boot.
void expect_back_to_boot(BuddyAllocator& a, const std::vector<std::pair<std::uint64_t, unsigned>>& blocks,
                         const std::string& boot_info, std::uint64_t total) {
  for (auto [pfn, order] : blocks) {
    a.free(pfn, order);
  }
  EXPECT_EQ(a.free_pages(), total);
  EXPECT_EQ(a.buddyinfo(), boot_info);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, FreeEverythingInAnyOrderRestoresBootState) {
  const std::uint64_t kPages = 1024 + 512 + 3;
  const std::string kBoot = "1 1 0 0 0 0 0 0 0 1 1";
  for (int variant = 0; variant < 4; ++variant) {
    BuddyAllocator a(0, kPages);
    std::vector<std::pair<std::uint64_t, unsigned>> blocks;
    if (variant < 3) {
      // Every frame as its own block: the whole pool split down to order 0.
      for (auto p : drain(a, 0)) blocks.emplace_back(p, 0);
      EXPECT_EQ(blocks.size(), kPages);
    } else {
      // Mixed orders until nothing of any order is left.
      const unsigned kOrders[] = {3, 0, 5, 1, 0, 2, 7, 0, 4, 1};
      for (std::size_t i = 0;; ++i) {
        bool any = false;
        for (unsigned k = kOrders[i % 10];; k = 0) {
          if (auto p = a.alloc(k)) {
            blocks.emplace_back(*p, k);
            any = true;
            break;
          }
          if (k == 0) break;
        }
        if (!any) break;
      }
    }
    EXPECT_EQ(a.free_pages(), 0u);
    EXPECT_EQ(a.check_invariants(), "");
    if (variant == 1) std::reverse(blocks.begin(), blocks.end());
    if (variant >= 2) det_shuffle(blocks, 12345 + variant);
    expect_back_to_boot(a, blocks, kBoot, kPages);
    // Not just the same counts: the same blocks, as exact-fit allocations show.
    EXPECT_EQ(a.alloc(10), std::optional<std::uint64_t>(0));
    EXPECT_EQ(a.alloc(9), std::optional<std::uint64_t>(1024));
    EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(1536));
    EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(1538));
  }
}

TEST(BuddyAllocator, FreeEverythingRestoresBootStateUnalignedBase) {
  BuddyAllocator a(3, 20);
  std::vector<std::pair<std::uint64_t, unsigned>> blocks;
  for (auto p : drain(a, 0)) blocks.emplace_back(p, 0);
  ASSERT_EQ(blocks.size(), 20u);
  det_shuffle(blocks, 99);
  expect_back_to_boot(a, blocks, "2 1 2 1 0 0 0 0 0 0 0", 20);
}

// Random alloc/free against a brute-force shadow of which frames are handed out.
void random_workload(std::uint64_t base, std::uint64_t pages, unsigned max_order, std::uint64_t seed, int steps,
                     std::vector<std::uint64_t>* trace) {
  BuddyAllocator a(base, pages, max_order);
  const std::string boot_info = a.buddyinfo();
  std::vector<bool> taken(pages, false);
  std::uint64_t taken_count = 0;
  std::vector<std::pair<std::uint64_t, unsigned>> live;
  std::mt19937_64 rng(seed);
  for (int step = 0; step < steps; ++step) {
    const bool do_alloc = live.empty() || rng() % 100 < 55;
    if (do_alloc) {
      // Mostly small orders, sometimes up to one past max_order.
      const std::uint64_t r = rng() % 16;
      const unsigned order = r < 8 ? 0 : r < 11 ? 1 : r < 13 ? 2 : static_cast<unsigned>(rng() % (max_order + 2));
      auto p = a.alloc(order);
      if (trace) trace->push_back(p ? *p : UINT64_MAX);
      if (order > max_order) {
        ASSERT_EQ(p, std::nullopt);
        continue;
      }
      if (!p) continue;
      const std::uint64_t size = std::uint64_t{1} << order;
      ASSERT_EQ(*p % size, 0u) << "order " << order << " block at " << *p << " misaligned";
      ASSERT_GE(*p, base);
      ASSERT_LE(*p - base + size, pages);
      for (std::uint64_t f = *p - base; f < *p - base + size; ++f) {
        ASSERT_FALSE(taken[f]) << "frame " << base + f << " handed out twice";
        taken[f] = true;
      }
      taken_count += size;
      live.emplace_back(*p, order);
    } else {
      const std::size_t i = rng() % live.size();
      const auto [pfn, order] = live[i];
      live[i] = live.back();
      live.pop_back();
      a.free(pfn, order);
      if (trace) trace->push_back(pfn);
      for (std::uint64_t f = pfn - base; f < pfn - base + (std::uint64_t{1} << order); ++f) taken[f] = false;
      taken_count -= std::uint64_t{1} << order;
    }
    ASSERT_EQ(a.free_pages(), pages - taken_count);
    const std::uint64_t probe = rng() % pages;
    ASSERT_EQ(a.is_free(base + probe), !taken[probe]) << "frame " << base + probe;
    if (step % 512 == 0) {
      ASSERT_EQ(a.check_invariants(), "") << "step " << step;
    }
  }
  ASSERT_EQ(a.check_invariants(), "");
  for (std::uint64_t f = 0; f < pages; ++f) ASSERT_EQ(a.is_free(base + f), !taken[f]) << "frame " << base + f;
  for (auto [pfn, order] : live) a.free(pfn, order);
  EXPECT_EQ(a.free_pages(), pages);
  EXPECT_EQ(a.buddyinfo(), boot_info);
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, RandomWorkloadNeverDuplicatesAndStaysAligned) {
  ASSERT_NO_FATAL_FAILURE(random_workload(0, 4096, 10, 1, 20000, nullptr));
  // Unaligned base and odd size.
  ASSERT_NO_FATAL_FAILURE(random_workload(5, 3001, 6, 2, 20000, nullptr));
  // Small max_order: many top-order blocks.
  ASSERT_NO_FATAL_FAILURE(random_workload(1000003, 777, 3, 3, 10000, nullptr));
  // Tight pool: frequent exhaustion.
  ASSERT_NO_FATAL_FAILURE(random_workload(64, 200, 10, 4, 10000, nullptr));
}

TEST(BuddyAllocator, Deterministic) {
  std::vector<std::uint64_t> t1, t2;
  ASSERT_NO_FATAL_FAILURE(random_workload(5, 3001, 6, 7, 5000, &t1));
  ASSERT_NO_FATAL_FAILURE(random_workload(5, 3001, 6, 7, 5000, &t2));
  EXPECT_FALSE(t1.empty());
  EXPECT_EQ(t1, t2);
}

TEST(BuddyAllocator, ExhaustionReturnsNulloptAndRecovers) {
  BuddyAllocator a(0, 16);
  std::vector<std::uint64_t> got = drain(a, 0);
  ASSERT_EQ(got.size(), 16u);
  for (std::uint64_t i = 0; i < 16; ++i) EXPECT_EQ(got[i], i);  // distinct, ascending (see SplitOrderThree...)
  EXPECT_EQ(a.alloc(0), std::nullopt);
  EXPECT_EQ(a.alloc(1), std::nullopt);
  EXPECT_EQ(a.alloc(10), std::nullopt);
  EXPECT_EQ(a.alloc(11), std::nullopt);   // above max_order: refused, not thrown
  EXPECT_EQ(a.num_alloc_failures(), 5u);  // including drain's final refusal
  a.free(9, 0);
  EXPECT_EQ(a.alloc(1), std::nullopt);  // 9's buddy 8 is still out
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(9));
  a.free(9, 0);
  a.free(8, 0);  // merges with 9 into an o1 block at 8
  EXPECT_EQ(a.buddyinfo(), "0 1 0 0 0 0 0 0 0 0 0");
  EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(8));
  EXPECT_EQ(a.check_invariants(), "");
}

TEST(BuddyAllocator, FragmentationDefeatsHigherOrderRequest) {
  // [0, 64) is one o6 block; draining by order 0 hands out 0..63. Freeing the
  // even frames gives 32 free pages, but each one's buddy (the odd frame next to
  // it) is still allocated, so nothing merges: buddyinfo "32 0 0 ...".
  BuddyAllocator a(0, 64);
  auto got = drain(a, 0);
  ASSERT_EQ(got.size(), 64u);
  for (std::uint64_t p = 0; p < 64; p += 2) a.free(p, 0);
  EXPECT_EQ(a.free_pages(), 32u);
  EXPECT_EQ(a.buddyinfo(), "32 0 0 0 0 0 0 0 0 0 0");
  EXPECT_EQ(a.alloc(1), std::nullopt);
  EXPECT_EQ(a.alloc(5), std::nullopt);
  EXPECT_EQ(a.check_invariants(), "");
  // Freeing 1 merges 0+1 -> o1 at 0 (buddy 2 is free at o0, not o1: stop).
  a.free(1, 0);
  EXPECT_EQ(a.buddyinfo(), "31 1 0 0 0 0 0 0 0 0 0");
  EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(0));
  // Order 0 still works: LIFO, the last even frame freed (62) is at the head.
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(62));
}

TEST(BuddyAllocator, BadFreesThrowAndChangeNothing) {
  BuddyAllocator a(0, 15);    // o3 at 0, o2 at 8, o1 at 12, o0 at 14
  const auto p = a.alloc(2);  // exact fit: 8
  ASSERT_EQ(p, std::optional<std::uint64_t>(8));
  const auto q = a.alloc(0);  // exact fit: 14
  ASSERT_EQ(q, std::optional<std::uint64_t>(14));
  const std::string before = a.buddyinfo();
  const std::uint64_t free_before = a.free_pages();

  EXPECT_THROW(a.free(0, 0), std::logic_error);   // never allocated: frame is free
  EXPECT_THROW(a.free(3, 0), std::logic_error);   // inside a free block
  EXPECT_THROW(a.free(9, 2), std::logic_error);   // misaligned for order 2
  EXPECT_THROW(a.free(9, 0), std::logic_error);   // interior frame of the block at 8
  EXPECT_THROW(a.free(8, 1), std::logic_error);   // wrong order (allocated as 2)
  EXPECT_THROW(a.free(8, 3), std::logic_error);   // wrong order, and 8 is o3-aligned
  EXPECT_THROW(a.free(8, 11), std::logic_error);  // order > max_order
  EXPECT_THROW(a.free(15, 0), std::logic_error);  // one past the end
  EXPECT_THROW(a.free(14, 1), std::logic_error);  // block [14, 16) sticks out of [0, 15)
  EXPECT_THROW(a.free(UINT64_MAX, 0), std::logic_error);
  EXPECT_EQ(a.buddyinfo(), before);
  EXPECT_EQ(a.free_pages(), free_before);
  EXPECT_EQ(a.check_invariants(), "");

  a.free(8, 2);
  EXPECT_THROW(a.free(8, 2), std::logic_error);  // double free
  a.free(14, 0);
  EXPECT_THROW(a.free(14, 0), std::logic_error);  // double free
  EXPECT_EQ(a.buddyinfo(), "1 1 1 1 0 0 0 0 0 0 0");
  EXPECT_EQ(a.check_invariants(), "");

  BuddyAllocator b(3, 20);
  EXPECT_THROW(b.free(2, 0), std::logic_error);  // below an unaligned base
  EXPECT_THROW(b.free(0, 2), std::logic_error);  // aligned block starting below the base
}

TEST(BuddyAllocator, ReserveTakesExactFrames) {
  // Reserve [10, 15) out of the o6 block [0, 64). Splitting toward 10: 32 (o5)
  // and 16 (o4) go back, then 0 (o3) since 10 is in the upper half [8,16), then
  // 12 (o2), then 8 (o1); [10,12) fits and is taken. For 12: the o2 block at 12
  // sticks out past 15, so 14 (o1) goes back and [12,14) is taken. For 14: the o1
  // block at 14 sticks out, 15 (o0) goes back and 14 is taken.
  // Free: 0 o3, 8 o1, 15 o0, 16 o4, 32 o5 = 8+2+1+16+32 = 59.
  BuddyAllocator a(0, 64);
  a.reserve(10, 5);
  EXPECT_EQ(a.free_pages(), 59u);
  EXPECT_EQ(a.buddyinfo(), "1 1 0 1 1 1 0 0 0 0 0");
  EXPECT_EQ(a.num_reserved_pages(), 5u);
  EXPECT_EQ(a.check_invariants(), "");
  for (std::uint64_t p = 0; p < 64; ++p) EXPECT_EQ(a.is_free(p), p < 10 || p >= 15) << p;

  // Reserving anything that is not free fails and changes nothing.
  const std::string before = a.buddyinfo();
  EXPECT_THROW(a.reserve(12, 1), std::logic_error);  // already reserved
  EXPECT_THROW(a.reserve(9, 2), std::logic_error);   // 9 free, 10 reserved
  EXPECT_THROW(a.reserve(60, 5), std::logic_error);  // runs past the end
  EXPECT_THROW(a.reserve(64, 1), std::logic_error);  // outside
  a.reserve(0, 0);                                   // empty: no-op
  EXPECT_EQ(a.buddyinfo(), before);
  EXPECT_TRUE(a.is_free(9));

  // Draining the pool never yields a reserved frame.
  auto got = drain(a, 0);
  EXPECT_EQ(got.size(), 59u);
  for (auto p : got) EXPECT_TRUE(p < 10 || p >= 15) << p;
  EXPECT_EQ(a.check_invariants(), "");

  // A reserved frame can be handed back one page at a time, like free_reserved_page().
  a.free(12, 0);
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(12));
  EXPECT_THROW(a.reserve(12, 1), std::logic_error);  // allocated now
  EXPECT_THROW(a.free(10, 1), std::logic_error);     // reserved frames are order-0 blocks
}

TEST(BuddyAllocator, ReserveWholeBlocksAndRange) {
  // Reserving whole boot blocks splits nothing.
  BuddyAllocator a(3, 20);  // 3 o0, 4 o2, 8 o3, 16 o2, 20 o1, 22 o0
  a.reserve(4, 12);         // exactly the o2 at 4 and the o3 at 8
  EXPECT_EQ(a.num_splits(), 0u);
  EXPECT_EQ(a.buddyinfo(), "2 1 1 0 0 0 0 0 0 0 0");
  EXPECT_EQ(a.check_invariants(), "");
  a.reserve(3, 1);
  a.reserve(16, 7);
  EXPECT_EQ(a.free_pages(), 0u);
  EXPECT_EQ(a.alloc(0), std::nullopt);
  EXPECT_EQ(a.check_invariants(), "");
  // Handing every reserved frame back, shuffled, rebuilds the boot layout.
  std::vector<std::pair<std::uint64_t, unsigned>> frames;
  for (std::uint64_t p = 3; p < 23; ++p) frames.emplace_back(p, 0);
  det_shuffle(frames, 5);
  expect_back_to_boot(a, frames, "2 1 2 1 0 0 0 0 0 0 0", 20);
}

TEST(BuddyAllocator, ScriptedSequenceBuddyinfo) {
  // [0, 32) with max_order 3: four o3 blocks at 0, 8, 16, 24 (ascending on the list).
  BuddyAllocator a(0, 32, 3);
  EXPECT_EQ(a.buddyinfo(), "0 0 0 4");
  // a=alloc(0): split o3@0 -> 4 to o2, 2 to o1, 1 to o0; returns 0.
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(0));
  EXPECT_EQ(a.buddyinfo(), "1 1 1 3");
  // b=alloc(2): o2 head 4.  c=alloc(1): o1 head 2.
  EXPECT_EQ(a.alloc(2), std::optional<std::uint64_t>(4));
  EXPECT_EQ(a.alloc(1), std::optional<std::uint64_t>(2));
  // d=alloc(2): o2 empty, split o3@8 -> 12 to o2; returns 8.  e=alloc(3): o3 head 16.
  EXPECT_EQ(a.alloc(2), std::optional<std::uint64_t>(8));
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(16));
  // Free: o0 {1}, o2 {12}, o3 {24}; 1 + 4 + 8 = 13 pages (19 handed out).
  EXPECT_EQ(a.buddyinfo(), "1 0 1 1");
  EXPECT_EQ(a.free_pages(), 13u);
  // free(a=0,0): buddy 1 free o0 -> o1@0; buddy 2 is c (allocated) -> stop.
  a.free(0, 0);
  EXPECT_EQ(a.buddyinfo(), "0 1 1 1");
  // free(d=8,2): buddy 12 free o2 -> o3@8, the top: goes to the head of o3 {8, 24}.
  a.free(8, 2);
  EXPECT_EQ(a.buddyinfo(), "0 1 0 2");
  // f=alloc(0): o0 empty, split o1@0 -> 1 to o0; returns 0.
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(0));
  EXPECT_EQ(a.buddyinfo(), "1 0 0 2");
  // free(c=2,1): buddy 0 is f (allocated) -> stays o1@2.
  a.free(2, 1);
  EXPECT_EQ(a.buddyinfo(), "1 1 0 2");
  // g=alloc(3): LIFO, the merged block 8 is at the head, not 24.
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(8));
  EXPECT_EQ(a.buddyinfo(), "1 1 0 1");
  // free(b=4,2): buddy 0 is f (allocated) -> stays o2@4.
  a.free(4, 2);
  EXPECT_EQ(a.buddyinfo(), "1 1 1 1");
  // free(f=0,0): 0+1 -> o1, +2 -> o2, +4 -> o3@0 (three merges); o3 {0, 24}.
  a.free(0, 0);
  EXPECT_EQ(a.buddyinfo(), "0 0 0 2");
  EXPECT_EQ(a.free_pages(), 16u);
  a.free(16, 3);  // o3 {16, 0, 24}
  a.free(8, 3);   // o3 {8, 16, 0, 24}
  EXPECT_EQ(a.buddyinfo(), "0 0 0 4");
  EXPECT_EQ(a.check_invariants(), "");
  // Splits: 3 (a) + 1 (d) + 1 (f) = 5. Merges: 1 (a) + 1 (d) + 3 (f) = 5.
  EXPECT_EQ(a.num_splits(), 5u);
  EXPECT_EQ(a.num_merges(), 5u);
  EXPECT_EQ(a.num_allocs(), 7u);
  EXPECT_EQ(a.num_frees(), 7u);
  // The list order is the LIFO order of the frees above.
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(8));
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(16));
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(0));
  EXPECT_EQ(a.alloc(3), std::optional<std::uint64_t>(24));
}

TEST(BuddyAllocator, RegistersStatistics) {
  BuddyAllocator a(0, 1539);
  StatGroup g("buddy");
  a.register_stats(g);
  ASSERT_NE(g.find("free_pages"), nullptr);
  ASSERT_NE(g.find("free_blocks.order10"), nullptr);
  EXPECT_EQ(g.find("free_blocks.order11"), nullptr);
  EXPECT_EQ(g.find("free_pages")->formula(), 1539.0);
  EXPECT_EQ(g.find("free_blocks.order9")->formula(), 1.0);
  a.alloc(0);  // exact fit at 1538
  a.alloc(0);  // splits the o1 at 1536
  EXPECT_EQ(g.find("free_pages")->formula(), 1537.0);
  EXPECT_EQ(g.find("free_blocks.order0")->formula(), 1.0);
  EXPECT_EQ(g.find("free_blocks.order1")->formula(), 0.0);
  EXPECT_EQ(g.find("allocs")->formula(), 2.0);
  EXPECT_EQ(g.find("splits")->formula(), 1.0);
  a.free(1536, 0);
  EXPECT_EQ(g.find("merges")->formula(), 1.0);
  EXPECT_EQ(g.find("frees")->formula(), 1.0);
  EXPECT_EQ(g.find("alloc_failures")->formula(), 0.0);
  EXPECT_EQ(g.find("reserved_pages")->formula(), 0.0);
}

TEST(BuddyAllocator, Handles64GiB) {
  // 16 Mi frames of 4 KiB from pfn 0: 2^24 / 2^10 = 16384 order-10 blocks.
  const std::uint64_t kPages = std::uint64_t{1} << 24;
  BuddyAllocator a(0, kPages);
  EXPECT_EQ(a.free_blocks(10), 16384u);
  EXPECT_EQ(a.free_pages(), kPages);
  a.reserve(0, 256);                                           // the low 1 MiB
  EXPECT_EQ(a.alloc(0), std::optional<std::uint64_t>(256));    // o8@256 split; lowest frame
  EXPECT_EQ(a.alloc(10), std::optional<std::uint64_t>(1024));  // first whole top block
  EXPECT_EQ(a.check_invariants(), "");
  a.free(1024, 10);
  a.free(256, 0);
  for (std::uint64_t p = 0; p < 256; ++p) a.free(p, 0);
  EXPECT_EQ(a.free_blocks(10), 16384u);
  EXPECT_EQ(a.buddyinfo(), "0 0 0 0 0 0 0 0 0 0 16384");
  EXPECT_EQ(a.check_invariants(), "");
}

// BuddyAllocator::take_free_range (the hugetlb pool at boot).

TEST(BuddyTakeFreeRange, TakesWholeMaxOrderBlocksAndFreeReturnsThem) {
  // 8192 frames, max_order 10: eight free blocks of 1024 after boot.
  BuddyAllocator b(0, 8192, 10);
  ASSERT_EQ(b.free_blocks(10), 8u);
  EXPECT_TRUE(b.take_free_range(2048, 4096));  // blocks 2048, 3072, 4096, 5120
  EXPECT_EQ(b.free_pages(), 8192u - 4096);
  EXPECT_EQ(b.free_blocks(10), 4u);
  EXPECT_FALSE(b.is_free(2048));
  EXPECT_FALSE(b.is_free(6143));
  EXPECT_TRUE(b.is_free(6144));
  EXPECT_EQ(b.num_reserved_pages(), 4096u);
  EXPECT_EQ(b.check_invariants(), "");
  // Each block is an allocated block of max_order; freeing them merges back.
  for (std::uint64_t pfn = 2048; pfn < 6144; pfn += 1024) b.free(pfn, 10);
  EXPECT_EQ(b.free_pages(), 8192u);
  EXPECT_EQ(b.free_blocks(10), 8u);
  EXPECT_EQ(b.check_invariants(), "");
}

TEST(BuddyTakeFreeRange, RefusesARangeWithAnAllocatedFrameAndChangesNothing) {
  BuddyAllocator b(0, 4096, 10);
  auto one = b.alloc(0);  // frame 0: splits block [0, 1024)
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, 0u);
  const std::string before = b.buddyinfo();
  EXPECT_FALSE(b.take_free_range(0, 2048));
  EXPECT_EQ(b.buddyinfo(), before);
  EXPECT_EQ(b.free_pages(), 4095u);
  EXPECT_TRUE(b.take_free_range(1024, 2048));  // [1024, 3072) is still whole
  EXPECT_EQ(b.free_pages(), 4095u - 2048);
  EXPECT_EQ(b.check_invariants(), "");
}

TEST(BuddyTakeFreeRange, MisalignedOrOutsideRangesAreLogicErrors) {
  BuddyAllocator b(0, 4096, 10);
  EXPECT_THROW(b.take_free_range(512, 1024), std::logic_error);
  EXPECT_THROW(b.take_free_range(0, 1000), std::logic_error);
  EXPECT_THROW(b.take_free_range(3072, 2048), std::logic_error);
  EXPECT_TRUE(b.take_free_range(0, 0));
  EXPECT_EQ(b.free_pages(), 4096u);
}

}  // namespace
}  // namespace mmusim
