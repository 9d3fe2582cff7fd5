// Unit tests of the map counts (models/os/mm/rmap.h, mm/rmap.c).
//
// include/linux/mm.h page_mapcount(): "return atomic_read(&page->_mapcount)
// + 1;" - a frame mapped once has a map count of 1; fork's
// page_dup_file_rmap / page_try_dup_anon_rmap add one per copy, and
// page_remove_rmap() takes one away; the frame is freed when its last
// mapping goes (folio_put after zap_pte_range).
#include <gtest/gtest.h>

#include <cstdint>

#include "models/os/os_model.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;

TEST(Rmap, SharedFramesCountTheirMappingsAndTheLastPutFreesThem) {
  OsFixture t(params());
  Rmap& r = t.os.rmap();
  std::uint64_t pfn = 0;
  ASSERT_TRUE(t.os.page_allocator().alloc_frame(0, &pfn, nullptr));
  EXPECT_EQ(r.mapcount(pfn), 1u);
  r.share(pfn);
  EXPECT_EQ(r.mapcount(pfn), 2u);
  r.share(pfn);
  EXPECT_EQ(r.mapcount(pfn), 3u);
  r.put_page(pfn, 0);
  EXPECT_EQ(r.mapcount(pfn), 2u);
  EXPECT_FALSE(t.os.buddy().is_free(pfn));
  r.put_page(pfn, 0);
  EXPECT_EQ(r.mapcount(pfn), 1u);
  EXPECT_TRUE(r.shared().empty());
  EXPECT_FALSE(t.os.buddy().is_free(pfn));
  r.put_page(pfn, 0);
  EXPECT_TRUE(t.os.buddy().is_free(pfn));
}

TEST(Rmap, UnshareTellsWhetherTheFrameWasShared) {
  OsFixture t(params());
  Rmap& r = t.os.rmap();
  EXPECT_FALSE(r.unshare(5000));
  r.share(5000);
  EXPECT_TRUE(r.unshare(5000));
  EXPECT_EQ(r.mapcount(5000), 1u);
  EXPECT_FALSE(r.unshare(5000));
}

// The last put of a 4 KiB page also takes it off its LRU list
// (__folio_put -> __page_cache_release -> lruvec_del_folio).
TEST(Rmap, TheLastPutTakesThePageOffItsLru) {
  OsFixture t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  const std::uint64_t pfn = t.at(0x10000000).frame >> 12;
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 1u);
  t.os.rmap().share(pfn);
  t.os.rmap().put_page(pfn, 0);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 1u);
  t.os.rmap().put_page(pfn, 0);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 0u);
  EXPECT_TRUE(t.os.buddy().is_free(pfn));
}

}  // namespace
}  // namespace mmusim
