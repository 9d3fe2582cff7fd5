// The per-CPU page lists inside the OS model (os.pcp_lists): reclaim frees to
// the lists, direct reclaim drains them, and the invariants treat their pages
// as free. Expected values derived in the comments from Linux 6.1's
// mm/page_alloc.c and the zone arithmetic of zone_test.cpp.
#include <gtest/gtest.h>

#include "models/os/os_model.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;

// 16 MiB, one CPU, swap: a single DMA zone of 3840 managed pages.
// min_free_kbytes = int_sqrt(3840 * 4 * 16 = 245760) = 495 (495^2 = 245025,
// 496^2 = 246016); min = 495 / 4 = 123; low = 123 + max(30, 3) = 153.
// zone_batchsize(3840) = 1 (3 / 4 = 0 -> 1 -> rounddown_pow_of_two(1) - 1 = 0
// -> max(1, 0)); zone_highsize = max(153 / 1, 4) = 153.
OsParams pcp_params() {
  OsParams p = machine_params(16 * kMiB, ThpMode::Never, 16 * kMiB);
  p.pcp_lists = PcpMode::On;
  return p;
}

TEST(PcpOs, ListsSizedForTheZoneAndOffByDefaultWithOneCpu) {
  OsFixture t(pcp_params());
  EXPECT_EQ(t.stat("os.pcp.node0.DMA.cpu0.batch"), 1.0);
  EXPECT_EQ(t.stat("os.pcp.node0.DMA.cpu0.high"), 153.0);
  OsParams off = pcp_params();
  off.pcp_lists = PcpMode::Auto;  // one CPU: off, no statistics
  OsFixture u(off);
  EXPECT_EQ(u.root.find("os.pcp.pages"), nullptr);
  EXPECT_FALSE(u.os.buddy().pcp_enabled());
}

// Reclaim under pressure: 15 MiB touched on a 16 MiB machine with swap.
// Pages reclaim frees go to the current CPU's list (free_unref_page);
// kswapd runs with ZONE_RECLAIM_ACTIVE, so a list keeps fewer than
// min(batch << 2 = 4, 153) pages then. Every page stays owned or free: the
// invariants (which count list pages as free) hold after every fault, and
// the list accounting balances.
TEST(PcpOs, ReclaimFreesThroughTheListsAndTheInvariantsHold) {
  OsFixture t(pcp_params());
  t.os.switch_to(1);
  const std::uint64_t bytes = 15 * kMiB;
  t.os.mmap(kHeap, bytes, R | W, false, false);
  for (VAddr va = kHeap; va < kHeap + bytes; va += 4096) {
    t.os.handle_fault(va, kWriteFault);
    ASSERT_EQ(t.os.check_invariants(), "") << va;
  }
  ASSERT_GT(t.stat("os.swap.out"), 0.0);
  EXPECT_GT(t.stat("os.pcp.bulk_frees"), 0.0);
  // A list never holds more than high (153) pages.
  EXPECT_LE(t.stat("os.pcp.pages"), 153.0);
  // Pages entering a list (refills, frees) = pages leaving it (allocations,
  // bulk frees) + pages left on it.
  EXPECT_EQ(t.stat("os.pcp.refill_pages") + t.stat("os.pcp.free"),
            t.stat("os.pcp.alloc") + t.stat("os.pcp.bulk_free_pages") + t.stat("os.pcp.pages"));
}

// A page on a list is free for the invariants; taking it off the list
// without handing it to anyone would be a leak the checker reports.
TEST(PcpOs, InvariantsCountListPagesAsFree) {
  OsFixture t(pcp_params());
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4096, R | W, false, false);
  t.os.handle_fault(kHeap, kWriteFault);
  // batch 1: the refill's one page was handed out, the list is empty; the
  // munmap frees the page to the list.
  EXPECT_EQ(t.os.buddy().pcp_pages(), 0u);
  t.os.munmap(kHeap, 4096);
  EXPECT_GT(t.os.buddy().pcp_pages(), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
  // Allocate one page behind the model's back: owned by nobody.
  ZonedPageAllocator& b = t.os.page_allocator().buddy();
  const auto leaked = b.alloc(0, ZoneType::HighMem, Watermark::None);
  ASSERT_TRUE(leaked);
  EXPECT_NE(t.os.check_invariants().find("leak"), std::string::npos) << t.os.check_invariants();
}

}  // namespace
}  // namespace mmusim
