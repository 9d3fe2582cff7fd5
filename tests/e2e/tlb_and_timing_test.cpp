// End-to-end: the TLB statistics of the bundled trace against a brute-force
// LRU TLB and Linux's demand faults, byte-identical reruns, and the cycle
// accounting by hand (loosely timed, with caches, overlapped walks).
// Each runs the mmusim binary (one SystemC kernel per process).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/trace/open_trace.h"
#include "tests/support/e2e.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mmusim;
using namespace mmusim::e2e;

TEST(EndToEnd, BundledTraceMatchesBruteForceLruAndCountsOneFaultPerPage) {
  ASSERT_TRUE(fs::exists(kBundled)) << kBundled;
  std::string d = temp_dir("e2e", "lru");
  std::string cfg = write_file(d, "one-dtlb.yaml", kOneDtlb);
  Result r = run("run -q -c " + cfg + " -t " + kBundled + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);

  std::vector<Touch> t = touches(kBundled);
  std::uint64_t data_lookups = 0;
  std::set<std::uint64_t> pages;
  for (const auto& x : t) {
    data_lookups += x.data;
    pages.insert(x.page);
  }
  EXPECT_EQ(s["mmu"]["tlb"]["dtlb"]["accesses"].get<std::uint64_t>(), data_lookups);
  EXPECT_EQ(s["mmu"]["tlb"]["dtlb"]["misses"].get<std::uint64_t>(), brute_force_lru_misses(t, 64));
  // Demand paging with 4 KiB pages: one minor fault per page touched, one
  // more for each read before its first write (the zero page), each
  // followed by one re-execution.
  const std::uint64_t faults = demand_faults(kBundled);
  EXPECT_GT(faults, pages.size());
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), faults);
  EXPECT_EQ(s["replay"]["retries"].get<std::uint64_t>(), faults);
  EXPECT_EQ(s["os"]["zero_page"]["replaced"].get<std::uint64_t>(), faults - pages.size());
  EXPECT_EQ(s["os"]["faults"]["segv"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(fs::exists(d + "/stats.csv"));
  EXPECT_TRUE(fs::exists(d + "/config.yaml"));
}

TEST(EndToEnd, LooselyTimedTotalEqualsWaitPerAccess) {
  std::string d = temp_dir("e2e", "lt");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  std::map<std::string, std::string> csv;
  for (const char* variant : {"--set replay.sync=access", "--set replay.sync=quantum", "--set replay.quantum=10ns",
                              "--set replay.quantum=1ms"}) {
    std::string out = d + "/" + std::to_string(csv.size());
    Result r = run("run -q --max-accesses 200000 -t " + trace + " " + std::string(variant) + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << variant << ": " << r.err;
    csv[variant] = slurp(out + "/stats.csv");
    EXPECT_GT(stats(out)["replay"]["cycles"].get<std::uint64_t>(), 0u);
  }
  // Every statistic, replay.cycles included, is the same however often the
  // initiator synchronises.
  for (const auto& kv : csv) EXPECT_EQ(kv.second, csv.begin()->second) << kv.first;
}

TEST(EndToEnd, SameInputsGiveByteIdenticalStatistics) {
  std::string d = temp_dir("e2e", "det");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  for (const char* sub : {"a", "b"}) {
    Result r = run("run -q --set mmu.tlbs.l2.replacement=random -t " + trace + " -o " + d + "/" + sub, d);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  EXPECT_EQ(slurp(d + "/a/stats.csv"), slurp(d + "/b/stats.csv"));
  EXPECT_FALSE(slurp(d + "/a/stats.csv").empty());
}

TEST(EndToEnd, CyclesOfATinyTraceFollowFromTheLatencies) {
  // Fixed memory latency 100, no paging-structure caches, one 4-entry L1
  // data TLB (latency 1), no other TLB; fault costs 1000 + 50 per page.
  std::string d = temp_dir("e2e", "cycles");
  std::string cfg =
      write_file(d, "c.yaml",
                 "mmu:\n"
                 "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 4, ways: 4, latency: 1}}\n"
                 "  pwc: {pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
                 "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
                 "os: {fault_cost: {minor: 1000, zero_page_per_4k: 50}}\n"
                 "replay: {gap_cycles: 3}\n");
  std::string trace = write_file(d, "t.txt", "R 0x1000\nR 0x1008\nW 0x1010\n");
  Result r = run("run -q -c " + cfg + " -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Access 1 (a load): TLB miss (1) + walk: PML4E not present, 1 read (100)
  //   -> fault: a read maps the zero page (do_anonymous_page), nothing to
  //   zero (1000) -> retry: TLB miss (1) + 4-level walk of 4 reads (400);
  //   the entries the OS wrote have A set, and the read needs no D, so no
  //   A/D writes. Then gap 3. = 1 + 100 + 1000 + 1 + 400 + 3 = 1505
  // Access 2: hit (1) + gap (3) = 4.
  // Access 3 (a store): a hit (1) on the read-only entry, which does not
  //   allow it: a walk (400) that faults (P, W, U); wp_page_copy of the zero
  //   page allocates and zeroes a page (1000 + 50) -> retry: TLB miss (1) +
  //   walk (400); the new PTE has A and D. Gap 3. = 1 + 400 + 1050 + 1 + 400
  //   + 3 = 1855.
  EXPECT_EQ(s["replay"]["cycles"].get<std::uint64_t>(), 1505u + 4u + 1855u);
  EXPECT_EQ(s["mmu"]["walker"]["mem_reads"].get<std::uint64_t>(), 1u + 4 + 4 + 4);
  EXPECT_EQ(s["mmu"]["walker"]["ad_writes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(s["memory"]["reads"].get<std::uint64_t>(), 13u);
  EXPECT_EQ(s["mmu"]["tlb"]["d"]["hits"].get<std::uint64_t>(), 2u);  // accesses 2 and 3 (then the rights walk)
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(s["os"]["zero_page"]["maps"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["zero_page"]["replaced"].get<std::uint64_t>(), 1u);
}

TEST(EndToEnd, CachesTimeDataAndWalkReferencesByHand) {
  // As above, plus one 32 KiB cache level (latency 2) in front of the fixed
  // memory: data accesses are now timed, and walk references hit or miss in
  // the same cache.
  std::string d = temp_dir("e2e", "caches");
  std::string cfg =
      write_file(d, "c.yaml",
                 "mmu:\n"
                 "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 4, ways: 4, latency: 1}}\n"
                 "  pwc: {pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
                 "memory:\n"
                 "  controller: {model: fixed, fixed_latency: 100}\n"
                 "  caches: {l1: {size: 32KiB, ways: 8, latency: 2}}\n"
                 "os: {fault_cost: {minor: 1000, zero_page_per_4k: 50}}\n"
                 "replay: {gap_cycles: 3}\n");
  std::string trace = write_file(d, "t.txt", "R 0x1000\nR 0x1008\nW 0x1010\n");
  Result r = run("run -q -c " + cfg + " -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Access 1 (a load): TLB miss (1) + PML4E read, a cache miss (2 + 100) ->
  //   fault, the zero page mapped (1000) -> retry: TLB miss (1) + PML4E
  //   again, now a hit (2), PDPTE, PDE, PTE each in its own page, three
  //   misses (3 x 102); then the data line - of the zero page - a miss
  //   (102); gap 3. = 1 + 102 + 1000 + 1 + 2 + 306 + 102 + 3 = 1517
  // Access 2: TLB hit (1) + same line, a hit (2) + gap (3) = 6.
  // Access 3 (a store): TLB hit (1) on the read-only entry -> walk, four
  //   cache hits (8) -> fault, a new zeroed page (1050) -> retry: TLB miss
  //   (1) + walk, four hits (8) + the new page's line, a miss (102) + gap 3.
  //   = 1 + 8 + 1050 + 1 + 8 + 102 + 3 = 1173
  EXPECT_EQ(s["replay"]["cycles"].get<std::uint64_t>(), 1517u + 6u + 1173u);
  const json& c = s["memory"]["cache"]["l1"];
  EXPECT_EQ(c["walk_misses"].get<std::uint64_t>(), 4u);
  EXPECT_EQ(c["walk_hits"].get<std::uint64_t>(), 1u + 4 + 4);
  EXPECT_EQ(c["data_misses"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(c["data_hits"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["memory"]["reads"].get<std::uint64_t>(), 6u);
  EXPECT_EQ(s["memory"]["writes"].get<std::uint64_t>(), 0u);  // the dirty line is never evicted
}

TEST(EndToEnd, WithCachesLooselyTimedTotalEqualsWaitPerAccess) {
  std::string d = temp_dir("e2e", "ltc");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  const std::string caches =
      " --set memory.caches.l1.size=32KiB --set memory.caches.l2.level=2 --set memory.caches.l2.size=256KiB"
      " --set memory.caches.l2.latency=12 --set memory.caches.l2.ways=16";
  std::map<std::string, std::string> csv;
  for (const char* variant : {"--set replay.sync=access", "--set replay.sync=quantum", "--set replay.quantum=10ns"}) {
    std::string out = d + "/" + std::to_string(csv.size());
    Result r = run("run -q --max-accesses 200000 -t " + trace + caches + " " + variant + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << variant << ": " << r.err;
    csv[variant] = slurp(out + "/stats.csv");
    EXPECT_GT(stats(out)["memory"]["cache"]["l2"]["walk_hits"].get<std::uint64_t>(), 0u);
    EXPECT_GT(stats(out)["memory"]["row_hits"].get<std::uint64_t>(), 0u);
  }
  for (const auto& kv : csv) EXPECT_EQ(kv.second, csv.begin()->second) << kv.first;
}

TEST(EndToEnd, OverlappedTotalDoesNotDependOnTheQuantum) {
  std::string d = temp_dir("e2e", "ltovl");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  std::map<std::string, std::string> csv;
  for (const char* variant : {"--set replay.sync=access", "--set replay.sync=quantum", "--set replay.quantum=10ns",
                              "--set replay.quantum=1ms"}) {
    std::string out = d + "/" + std::to_string(csv.size());
    Result r = run("run -q --max-accesses 100000 -t " + trace +
                       " --set replay.outstanding=4 --set replay.gap_cycles=1 --set mmu.tlbs.l1d.entries=8"
                       " --set mmu.tlbs.l1d.ways=2 --set memory.caches.l1.size=16KiB " +
                       variant + " -o " + out,
                   d);
    ASSERT_EQ(r.code, 0) << variant << ": " << r.err;
    csv[variant] = slurp(out + "/stats.csv");
  }
  for (const auto& kv : csv) EXPECT_EQ(kv.second, csv.begin()->second) << kv.first;
}

TEST(EndToEnd, WithoutCachesThereAreNoCacheStatistics) {
  std::string d = temp_dir("e2e", "nocache");
  Result r = run("run -q --max-accesses 1000 -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(stats(d)["memory"].contains("cache"));
}

TEST(EndToEnd, OutstandingAccessesOverlapWalksWithoutChangingWhatIsTranslated) {
  std::string d = temp_dir("e2e", "ovl");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  // A small TLB so that walks are frequent.
  const std::string base = "run -q -t " + trace +
                           " --set mmu.tlbs.l1d.entries=8 --set mmu.tlbs.l1d.ways=2 --set mmu.tlbs.l2.entries=16"
                           " --set mmu.tlbs.l2.ways=4 --set memory.caches.l1.size=32KiB";
  std::map<std::string, json> st;
  for (const char* v : {"a1", "a4w1", "a4w4", "a1b"}) {
    std::string args = base;
    if (std::string(v) == "a4w1") args += " --set replay.outstanding=4 --set mmu.walker.walkers=1";
    if (std::string(v) == "a4w4") args += " --set replay.outstanding=4 --set mmu.walker.walkers=4";
    if (std::string(v) == "a1b") args += " --set replay.outstanding=1 --set mmu.walker.walkers=4";
    Result r = run(args + " -o " + d + "/" + v, d);
    ASSERT_EQ(r.code, 0) << v << ": " << r.err;
    st[v] = stats(d + "/" + v);
  }
  auto cycles = [&](const char* v) { return st[v]["replay"]["cycles"].get<std::uint64_t>(); };
  // In order, the number of walkers changes nothing.
  EXPECT_EQ(cycles("a1"), cycles("a1b"));
  EXPECT_FALSE(st["a1"]["mmu"]["walker"].contains("merged"));
  // Overlap shortens the run; more walkers shorten it further.
  EXPECT_LT(cycles("a4w1"), cycles("a1"));
  EXPECT_LT(cycles("a4w4"), cycles("a4w1"));
  EXPECT_GT(st["a4w1"]["mmu"]["walker"]["wait_cycles"].get<std::uint64_t>(),
            st["a4w4"]["mmu"]["walker"]["wait_cycles"].get<std::uint64_t>());
  EXPECT_GT(st["a4w4"]["mmu"]["walker"]["merged"].get<std::uint64_t>(), 0u);
  // What is translated, and how, does not depend on the timing.
  for (const char* v : {"a4w1", "a4w4"}) {
    EXPECT_EQ(st[v]["mmu"]["tlb"], st["a1"]["mmu"]["tlb"]) << v;
    EXPECT_EQ(st[v]["mmu"]["walker"]["walks"], st["a1"]["mmu"]["walker"]["walks"]) << v;
    EXPECT_EQ(st[v]["mmu"]["walker"]["cycles"], st["a1"]["mmu"]["walker"]["cycles"]) << v;
    EXPECT_EQ(st[v]["os"], st["a1"]["os"]) << v;
    EXPECT_EQ(st[v]["memory"], st["a1"]["memory"]) << v;
  }
}
