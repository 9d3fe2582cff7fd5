// Unit tests for the slab allocator and kmalloc (models/os/slab.h).
//
// Slab orders and objects per slab are derived by hand from SLUB's
// calculate_order() as the header describes it (min_objects 8 with one CPU,
// slub_max_order 3, leftover at most 1/16, then 1/8, then 1/4 of the slab).
#include "models/os/slab.h"

#include <gtest/gtest.h>

#include "models/common/stats.h"
#include "models/os/buddy_allocator.h"

namespace mmusim {
namespace {

// A slab allocator over a plain 4 MiB buddy allocator at pfn 0.
struct Fixture {
  BuddyAllocator buddy{0, 1024, 10};
  SlabAllocator slab{[this](unsigned order, ZoneType) { return buddy.alloc(order); },
                     [this](std::uint64_t pfn, unsigned order) { buddy.free(pfn, order); }, ZoneType::Normal};
};

struct OrderCase {
  unsigned size, order, objects;
};

class SlabOrder : public testing::TestWithParam<OrderCase> {};

TEST_P(SlabOrder, MatchesHandDerivation) {
  const OrderCase c = GetParam();
  EXPECT_EQ(SlabAllocator::slab_order(c.size), c.order) << c.size;
  EXPECT_EQ((4096u << c.order) / c.size, c.objects);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SlabOrder,
                         testing::Values(
                             // 8 * 8 = 64 B -> order 0; 4096 % 8 = 0: 512 per slab (slabinfo kmalloc-8: 512, 1 page).
                             OrderCase{8, 0, 512},
                             // 8 * 96 = 768 -> order 0; 4096 % 96 = 64 <= 256: 42 per slab.
                             OrderCase{96, 0, 42},
                             // 8 * 192 = 1536 -> order 0; 4096 % 192 = 64 <= 256: 21.
                             OrderCase{192, 0, 21},
                             // 8 * 200 = 1600 -> order 0; 4096 % 200 = 96 <= 256: 20 (vm_area_struct).
                             OrderCase{200, 0, 20},
                             // 8 * 1024 = 8192 -> order 1; leftover 0: 8.
                             OrderCase{1024, 1, 8},
                             // 8 * 1344 = 10752 -> order 2 (16 KiB); 16384 % 1344 = 256 <= 1024: 12 (mm_struct).
                             OrderCase{1344, 2, 12},
                             // order-3 slab holds 4, so min_objects 4; 4 * 8192 = 32 KiB -> order 3: 4 (kmalloc-8k).
                             OrderCase{8192, 3, 4},
                             // order-3 holds 3 (32768 / 9984); 3 * 9984 = 29952 -> order 3; leftover 2816
                             // > 32768/16 = 2048 but <= 32768/8 = 4096: order 3, 3 (task_struct).
                             OrderCase{9984, 3, 3},
                             // 8 * 32 = 256 -> order 0: 128 (the PAE pgd_cache).
                             OrderCase{32, 0, 128}));

TEST(Kmalloc, ClassSelection) {
  EXPECT_EQ(SlabAllocator::kmalloc_class(1), 8u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(8), 8u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(9), 16u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(64), 64u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(65), 96u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(96), 96u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(97), 128u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(129), 192u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(193), 256u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(257), 512u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(4097), 8192u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(8192), 8192u);
  EXPECT_EQ(SlabAllocator::kmalloc_class(8193), 0u);  // kmalloc_large
  EXPECT_EQ(SlabAllocator::kmalloc_class(0), 0u);
}

TEST(Kmalloc, SmallFromCachesLargeFromTheBuddyAllocator) {
  Fixture f;
  // 65 bytes -> kmalloc-96: one order-0 slab taken from the buddy allocator.
  const auto a = f.slab.kmalloc(65);
  ASSERT_TRUE(a.has_value());
  KmemCache* k96 = f.slab.find("kmalloc-96");
  ASSERT_NE(k96, nullptr);
  EXPECT_EQ(k96->objects, 1u);
  EXPECT_EQ(k96->slabs.size(), 1u);
  // 8193 bytes -> get_order = 2: 4 frames straight from the buddy allocator.
  const std::uint64_t before = f.buddy.free_pages();
  const auto big = f.slab.kmalloc(8193);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(before - f.buddy.free_pages(), 4u);
  EXPECT_EQ(*big % (4 * 4096), 0u);
  EXPECT_EQ(f.slab.pages(), 1u + 4u);
  f.slab.kfree(*big);
  f.slab.kfree(*a);
  EXPECT_EQ(f.slab.pages(), 1u);  // the empty kmalloc-96 slab is kept (min_partial 5)
  EXPECT_THROW(f.slab.kfree(0x123456), std::logic_error);
  EXPECT_EQ(f.slab.check_invariants(), "");
  EXPECT_FALSE(f.slab.kmalloc(0).has_value());
}

// A cache of 1000-byte objects: stride 1000; 8 * 1000 = 8000 -> order 1;
// 8192 % 1000 = 192 <= 512: 8 objects per 2-page slab. min_partial =
// clamp(ilog2(1000) / 2 = 4, 5, 10) = 5.
TEST(KmemCache, ObjectsSlabsAndLifoReuse) {
  Fixture f;
  KmemCache* c = f.slab.create("test", 1000);
  EXPECT_EQ(c->order, 1u);
  EXPECT_EQ(c->objects_per_slab, 8u);
  EXPECT_EQ(c->min_partial, 5u);
  std::vector<PAddr> objs;
  for (int i = 0; i < 9; ++i) objs.push_back(*f.slab.alloc(c));
  EXPECT_EQ(c->objects, 9u);
  EXPECT_EQ(c->slabs.size(), 2u);
  // Within a slab objects are handed out in address order.
  for (int i = 1; i < 8; ++i) EXPECT_EQ(objs[i], objs[0] + 1000u * i);
  EXPECT_EQ(objs[0] % 8192, 0u);  // the slab is an aligned order-1 block
  // LIFO: the object freed last is the next one handed out.
  f.slab.free(c, objs[3]);
  f.slab.free(c, objs[5]);
  EXPECT_EQ(*f.slab.alloc(c), objs[5]);
  EXPECT_THROW(f.slab.free(c, objs[0] + 1), std::logic_error);  // not an object start
  f.slab.free(c, objs[0]);
  EXPECT_THROW(f.slab.free(c, objs[0]), std::logic_error);  // double free
  EXPECT_EQ(f.slab.check_invariants(), "");
}

TEST(KmemCache, EmptySlabsBeyondMinPartialGoBack) {
  Fixture f;
  KmemCache* c = f.slab.create("test", 1000);
  std::vector<PAddr> objs;
  for (int i = 0; i < 48; ++i) objs.push_back(*f.slab.alloc(c));  // 6 full slabs
  EXPECT_EQ(c->slabs.size(), 6u);
  // One free object in each of slabs 0..4: five partial slabs.
  for (int s = 0; s < 5; ++s) f.slab.free(c, objs[s * 8]);
  EXPECT_EQ(c->partial.size(), 5u);
  // Emptying slab 5 with five partial slabs already: discarded to the buddy allocator.
  const std::uint64_t before = f.buddy.free_pages();
  for (int i = 40; i < 48; ++i) f.slab.free(c, objs[i]);
  EXPECT_EQ(c->slabs.size(), 5u);
  EXPECT_EQ(f.buddy.free_pages() - before, 2u);
  EXPECT_THROW(f.slab.destroy(c), std::logic_error);  // objects remain
  for (int s = 0; s < 5; ++s)
    for (int i = 1; i < 8; ++i) f.slab.free(c, objs[s * 8 + i]);
  f.slab.destroy(c);
  EXPECT_EQ(f.slab.pages(), 0u);
  EXPECT_EQ(f.buddy.free_pages(), 1024u);
  EXPECT_EQ(f.buddy.check_invariants(), "");
}

TEST(KmemCache, StatsAsSlabinfo) {
  Fixture f;
  StatGroup root;
  f.slab.register_stats(root.group("slab"));
  KmemCache* c = f.slab.create("pgd_cache", 32, 32);
  for (int i = 0; i < 130; ++i) ASSERT_TRUE(f.slab.alloc(c).has_value());
  // 128 per slab: 130 objects need 2 slabs.
  EXPECT_EQ(root.find("slab.pgd_cache.objects")->formula(), 130.0);
  EXPECT_EQ(root.find("slab.pgd_cache.slabs")->formula(), 2.0);
  EXPECT_EQ(root.find("slab.kmalloc-8k.objperslab")->formula(), 4.0);
  EXPECT_THROW(f.slab.create("pgd_cache", 32), std::invalid_argument);
  EXPECT_THROW(f.slab.create("odd", 32, 24), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim
