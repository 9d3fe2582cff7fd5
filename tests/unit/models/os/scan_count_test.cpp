// Unit tests of reclaim's scan balance (models/os/mm/scan_count.h):
// int_sqrt, inactive_is_low, prepare_scan_count and get_scan_count of
// Linux 6.1 mm/vmscan.c. Each expected value is worked out in its comment
// from the kernel's arithmetic.
#include "models/os/mm/scan_count.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace mmusim {
namespace {

using namespace vmscan;

// lib/math/int_sqrt.c returns floor(sqrt(x)): 0, 1, 1 (sqrt 3 = 1.73), 2,
// 9 (sqrt 99 = 9.95), 10, 2^32 - 1 for 2^64 - 1.
TEST(ScanCount, IntSqrtIsTheFloorOfTheSquareRoot) {
  EXPECT_EQ(int_sqrt(0), 0u);
  EXPECT_EQ(int_sqrt(1), 1u);
  EXPECT_EQ(int_sqrt(3), 1u);
  EXPECT_EQ(int_sqrt(4), 2u);
  EXPECT_EQ(int_sqrt(99), 9u);
  EXPECT_EQ(int_sqrt(100), 10u);
  EXPECT_EQ(int_sqrt(UINT64_MAX), 0xffffffffu);
}

// inactive_is_low(): "gb = (inactive + active) >> (30 - PAGE_SHIFT); if (gb)
// inactive_ratio = int_sqrt(10 * gb); else inactive_ratio = 1; return
// inactive * inactive_ratio < active;"
//  - under 1 GiB (262144 pages) the ratio is 1: 10 inactive / 11 active is
//    low, 11 / 11 is not;
//  - 1 GiB: gb = 1, ratio int_sqrt(10) = 3: 65536 * 3 = 196608 is not below
//    196608; 65535 * 3 = 196605 is below 196609 (the sum is still 2^18);
//  - 10 GiB: 238313 + 2383130 = 2621443 pages, gb = 2621443 >> 18 = 10,
//    ratio int_sqrt(100) = 10: 2383130 < 2383130 is false; one more active
//    page (2383131) makes it low.
// The comment table in vmscan.c ("1GB 3 250MB, 10GB 10 0.9GB") agrees.
TEST(ScanCount, InactiveIsLowUsesTheSquareRootRatio) {
  EXPECT_TRUE(inactive_is_low(10, 11));
  EXPECT_FALSE(inactive_is_low(11, 11));
  EXPECT_FALSE(inactive_is_low(65536, 196608));
  EXPECT_TRUE(inactive_is_low(65535, 196609));
  EXPECT_FALSE(inactive_is_low(238313, 2383130));
  EXPECT_TRUE(inactive_is_low(238313, 2383131));
  EXPECT_FALSE(inactive_is_low(0, 0));
}

// SCAN_FRACT with no recorded cost: "total_cost = sc->anon_cost +
// sc->file_cost" = 0, anon_cost = file_cost = 0, total_cost = 0; "ap =
// swappiness * (total_cost + 1); ap /= anon_cost + 1" = 60, fp = (200 - 60)
// * 1 / 1 = 140, denominator 200. Each list: "scan = lruvec_size; scan >>=
// sc->priority" then "div64_u64(scan * fraction[file], denominator)". At
// priority 12 with lists 40960, 81920, 20480, 8192:
//   inactive anon 40960 >> 12 = 10, 10 * 60 / 200 = 3
//   active anon   81920 >> 12 = 20, 20 * 60 / 200 = 6
//   inactive file 20480 >> 12 = 5,  5 * 140 / 200 = 3 (3.5)
//   active file    8192 >> 12 = 2,  2 * 140 / 200 = 1 (1.4)
TEST(ScanCount, FractionsFollowSwappinessWithoutCost) {
  ScanBalance sc;
  sc.priority = 12;
  sc.swappiness = 60;
  sc.can_reclaim_anon = true;
  const LruCounts nr = get_scan_count({40960, 81920, 20480, 8192}, sc);
  EXPECT_EQ(nr[kInactiveAnon], 3u);
  EXPECT_EQ(nr[kActiveAnon], 6u);
  EXPECT_EQ(nr[kInactiveFile], 3u);
  EXPECT_EQ(nr[kActiveFile], 1u);
}

// With sc->anon_cost = 100 and sc->file_cost = 20 (pages written to swap
// recently weigh against anon): total_cost = 120, anon_cost = 120 + 100 =
// 220, file_cost = 120 + 20 = 140, total_cost = 360; ap = 60 * 361 / 221 =
// 21660 / 221 = 98, fp = 140 * 361 / 141 = 50540 / 141 = 358, denominator
// 456. Priority 10:
//   inactive anon 40960 >> 10 = 40, 40 * 98 / 456 = 3920 / 456 = 8
//   active anon   81920 >> 10 = 80, 80 * 98 / 456 = 7840 / 456 = 17
//   inactive file 20480 >> 10 = 20, 20 * 358 / 456 = 7160 / 456 = 15
//   active file    8192 >> 10 = 8,  8 * 358 / 456 = 2864 / 456 = 6
TEST(ScanCount, FractionsFollowTheRecordedCost) {
  ScanBalance sc;
  sc.priority = 10;
  sc.swappiness = 60;
  sc.can_reclaim_anon = true;
  sc.anon_cost = 100;
  sc.file_cost = 20;
  const LruCounts nr = get_scan_count({40960, 81920, 20480, 8192}, sc);
  EXPECT_EQ(nr[kInactiveAnon], 8u);
  EXPECT_EQ(nr[kActiveAnon], 17u);
  EXPECT_EQ(nr[kInactiveFile], 15u);
  EXPECT_EQ(nr[kActiveFile], 6u);
}

// The other balances:
//  - no swap space: "if (!sc->may_swap || !can_reclaim_anon_pages(...))
//    scan_balance = SCAN_FILE": anon 0, file lists >> priority (12: 5, 2);
//  - priority 0 with swappiness: "if (!sc->priority && swappiness)
//    scan_balance = SCAN_EQUAL": every list whole;
//  - priority 0, swappiness 0: SCAN_FRACT with ap = 0 * 1 / 1 = 0, fp =
//    200 * 1 / 1 = 200: anon 0, file whole (x 200 / 200);
//  - file_is_tiny: SCAN_ANON: file 0, anon >> priority (12: 10, 20);
//  - cache_trim_mode: SCAN_FILE.
TEST(ScanCount, BalancesOtherThanFractions) {
  const LruCounts lists = {40960, 81920, 20480, 8192};
  ScanBalance sc;
  sc.priority = 12;
  sc.can_reclaim_anon = false;
  EXPECT_EQ(get_scan_count(lists, sc), (LruCounts{0, 0, 5, 2}));
  sc.can_reclaim_anon = true;
  sc.priority = 0;
  EXPECT_EQ(get_scan_count(lists, sc), lists);
  sc.swappiness = 0;
  EXPECT_EQ(get_scan_count(lists, sc), (LruCounts{0, 0, 20480, 8192}));
  sc.swappiness = 60;
  sc.priority = 12;
  sc.file_is_tiny = true;
  EXPECT_EQ(get_scan_count(lists, sc), (LruCounts{10, 20, 0, 0}));
  sc.file_is_tiny = false;
  sc.cache_trim_mode = true;
  EXPECT_EQ(get_scan_count(lists, sc), (LruCounts{0, 0, 5, 2}));
}

// prepare_scan_count():
//  - may_deactivate: "if (refaults != ... || inactive_is_low(target_lruvec,
//    LRU_INACTIVE_ANON)) sc->may_deactivate |= DEACTIVATE_ANON" (no
//    refaults here); 100 inactive < 300 active anon (ratio 1): anon set;
//    5000 inactive file is not below 1000 active: file clear;
//  - "if (file >> sc->priority && !(sc->may_deactivate & DEACTIVATE_FILE))
//    sc->cache_trim_mode = 1": 5000 >> 12 = 1: on; with 4095 inactive file
//    pages, 4095 >> 12 = 0: off;
//  - "sc->file_is_tiny = file + free <= total_high_wmark &&
//    !(sc->may_deactivate & DEACTIVATE_ANON) && anon >> sc->priority" (anon
//    = the inactive anon list): with 8192 inactive, 0 active anon (not low),
//    10 file pages, 100 free and high watermarks of 200: 110 <= 200, 8192 >>
//    12 = 2: tiny; with 191 free, 201 > 200: not tiny;
//  - force_deactivate: both bits.
TEST(ScanCount, PrepareScanCountSetsDeactivationAndTheTrimModes) {
  ScanBalance sc;
  sc.priority = 12;
  prepare_scan_count({100, 300, 5000, 1000}, 1000000, 1000, sc);
  EXPECT_EQ(sc.may_deactivate, kDeactivateAnon);
  EXPECT_TRUE(sc.cache_trim_mode);
  EXPECT_FALSE(sc.file_is_tiny);
  prepare_scan_count({100, 300, 4095, 1000}, 1000000, 1000, sc);
  EXPECT_FALSE(sc.cache_trim_mode);
  prepare_scan_count({8192, 0, 10, 0}, 100, 200, sc);
  EXPECT_EQ(sc.may_deactivate, 0u);
  EXPECT_TRUE(sc.file_is_tiny);
  prepare_scan_count({8192, 0, 10, 0}, 191, 200, sc);
  EXPECT_FALSE(sc.file_is_tiny);
  sc.force_deactivate = true;
  prepare_scan_count({8192, 0, 10, 0}, 191, 200, sc);
  EXPECT_EQ(sc.may_deactivate, kDeactivateAnon | kDeactivateFile);
}

}  // namespace
}  // namespace mmusim
