// End-to-end tests: run the mmusim binary (one SystemC kernel per process)
// and check its statistics against independent derivations.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/trace/open_trace.h"
#include "tests/support/run_mmusim.h"
#include "tests/support/temp_file.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mmusim;

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;
const std::string kBundled = kSource + "/traces/xz-compress.lackey.zst";
const std::string kSmall = kSource + "/traces/ls-small.lackey.zst";

using Result = RunResult;

Result run(const std::string& args, const std::string& dir) {
  return run_mmusim(args, dir + "/out.txt", dir + "/err.txt");
}

json stats(const std::string& dir) {
  std::ifstream f(dir + "/stats.json");
  return json::parse(f);
}

// Every access of a trace, with page-crossing accesses split in two as the
// simulator translates them.
struct Touch {
  std::uint64_t page;
  bool data;
};
std::vector<Touch> touches(const std::string& trace) {
  std::vector<Touch> v;
  auto r = open_trace(trace, "auto");
  TraceRecord rec;
  while (r->next(rec)) {
    if (rec.kind != RecordKind::Access) continue;
    const bool data = rec.access != AccessKind::IFetch;
    const std::uint64_t first = rec.addr >> 12, last = (rec.addr + rec.size - 1) >> 12;
    v.push_back({first, data});
    if (last != first) v.push_back({last, data});
  }
  return v;
}

// Minor faults of demand paging with 4 KiB pages and no memory pressure, as
// Linux 6.1 takes them: the first touch of a page faults; if it is a load or
// a fetch in anonymous memory, do_anonymous_page maps the zero page
// read-only, and the first store later faults again (do_wp_page ->
// wp_page_copy). So: distinct pages + anonymous pages read before their
// first write. (A store's first touch, or a file page, faults once: file
// pages are mapped as the VMA allows.) Memory is anonymous unless the
// latest @mmap covering it said file; the first max accesses are counted.
std::uint64_t demand_faults(const std::string& trace, std::uint64_t max = UINT64_MAX) {
  std::map<std::uint64_t, bool> file_page;  // page -> in a file mapping
  std::map<std::uint64_t, int> state;       // page -> 1 zero page, 2 its own page
  std::uint64_t faults = 0, n = 0;
  auto r = open_trace(trace, "auto");
  TraceRecord rec;
  while (n < max && r->next(rec)) {
    if (rec.kind == RecordKind::Mmap) {
      for (std::uint64_t p = rec.addr >> 12; p < (rec.addr + rec.len + 4095) >> 12; ++p) file_page[p] = rec.file;
      continue;
    }
    if (rec.kind != RecordKind::Access) continue;
    ++n;
    const bool write = rec.access == AccessKind::Store || rec.access == AccessKind::Modify;
    const std::uint64_t first = rec.addr >> 12, last = (rec.addr + rec.size - 1) >> 12;
    for (std::uint64_t p = first; p <= last; ++p) {
      int& st = state[p];
      const bool anon = !file_page[p];
      if (st == 0) {
        ++faults;
        st = (!write && anon) ? 1 : 2;
      } else if (st == 1 && write) {
        ++faults;
        st = 2;
      }
    }
  }
  return faults;
}

// A fully associative LRU TLB, the obvious way: a list in recency order.
std::uint64_t brute_force_lru_misses(const std::vector<Touch>& t, std::size_t entries) {
  std::list<std::uint64_t> order;  // front = most recent
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  std::uint64_t misses = 0;
  for (const auto& x : t) {
    if (!x.data) continue;
    auto it = where.find(x.page);
    if (it != where.end()) {
      order.erase(it->second);
    } else {
      ++misses;
      if (order.size() == entries) {
        where.erase(order.back());
        order.pop_back();
      }
    }
    order.push_front(x.page);
    where[x.page] = order.begin();
  }
  return misses;
}

const char* const kOneDtlb =
    "mmu:\n"
    "  tlbs:\n"
    "    dtlb: {level: 1, serves: data, page_sizes: [4K], entries: 64, ways: 64, replacement: lru}\n"
    "os: {thp: never}\n";

}  // namespace

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

TEST(EndToEnd, SegvKillsOneProcessAndTheReplayGoesOn) {
  std::string d = temp_dir("e2e", "segv");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n"
                                 "R 0x10000\n"  // outside every VMA: SIGSEGV
                                 "R 0x10008\n"  // skipped: process 1 is dead
                                 "@proc 2\n"
                                 "@mmap 0x400000 0x2000 rw- anon\n"
                                 "W 0x400010\n"
                                 "R 0x401000\n");
  Result r = run("run -q --set replay.implicit_vmas=false -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("SIGSEGV"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t.txt:2"), std::string::npos) << r.err;
  json s = stats(d);
  EXPECT_EQ(s["os"]["faults"]["segv"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(s["replay"]["skipped"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["replay"]["accesses"].get<std::uint64_t>(), 3u);
}

// Counts by hand: two demand-zero writes; after @fork the parent's write to
// the shared page copies it (cow 1); the child's read of 0x10001000 hits its
// inherited mapping (no fault); its write copies (the parent still maps the
// page: cow 2); its write to 0x10002000 and the parent's to 0x10003000 are
// demand-zero. Minor faults: 2 + 2 copy-on-write + 2 = 6.
TEST(EndToEnd, ForkIsCopyOnWriteThroughTheReplay) {
  std::string d = temp_dir("e2e", "fork");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n"
                                 "@mmap 0x10000000 0x4000 rw anon\n"
                                 "W 0x10000000\n"
                                 "W 0x10001000\n"
                                 "@fork 2\n"
                                 "R 0x10000000\n"
                                 "W 0x10000000\n"
                                 "@proc 2\n"
                                 "R 0x10001000\n"
                                 "W 0x10001000\n"
                                 "W 0x10002000\n"
                                 "@exit\n"
                                 "@proc 1\n"
                                 "W 0x10003000\n");
  Result r = run("run -q --check-invariants --set os.memory=64MiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(s["os"]["forks"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["faults"]["cow"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(s["os"]["faults"]["cow_copy"].get<std::uint64_t>(), 2u);
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), 6u);
  EXPECT_EQ(s["os"]["processes"].get<std::uint64_t>(), 2u);
  // A child pid that exists is a trace error naming the line.
  std::string bad = write_file(d, "bad.txt", "@proc 1\n@proc 2\n@proc 1\n@fork 2\n");
  r = run("run -q -t " + bad, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:4"), std::string::npos) << r.err;
}

// The value of PATH in a stats.csv ("path,value" lines), or "" if absent.
std::string csv_value(const std::string& csv, const std::string& path) {
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, path.size() + 1, path + ",") == 0) return line.substr(path.size() + 1);
  return "";
}

// @mark NAME snapshots every statistic, histograms included, under
// marks.NAME: the same paths and values as the run's own statistics at that
// point (stats.csv), flat keys of marks.NAME in stats.json.
TEST(EndToEnd, MarksSnapshotEveryStatisticIncludingHistograms) {
  std::string d = temp_dir("e2e", "marks");
  std::string trace = write_file(d, "t.txt",
                                 "@mmap 0x400000 0x10000 rw anon\n"
                                 "R 0x400000\n"
                                 "W 0x401000\n"
                                 "@mark one\n"
                                 "R 0x402000\n");
  Result r = run("run -q -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string csv = slurp(d + "/stats.csv");
  EXPECT_EQ(csv_value(csv, "marks.one.replay.accesses"), "2");
  EXPECT_EQ(csv_value(csv, "marks.one.mmu.walker.latency.count"), csv_value(csv, "marks.one.mmu.walker.walks"));
  // Each first touch walks twice: the faulting walk and the retry's.
  EXPECT_EQ(csv_value(csv, "marks.one.mmu.walker.latency.count"), "4");
  EXPECT_EQ(csv_value(csv, "mmu.walker.latency.count"), "6");
  EXPECT_NE(csv_value(csv, "marks.one.mmu.walker.latency.buckets.le_10"), "");
  json s = stats(d);
  EXPECT_EQ(s["marks"]["one"]["mmu.walker.latency.count"].get<std::uint64_t>(), 4u);
  EXPECT_EQ(s["marks"]["one"]["replay.accesses"].get<std::uint64_t>(), 2u);
  // Every statistic of the run is in the mark, in the same order.
  std::vector<std::string> run_paths, mark_paths;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const std::string path = line.substr(0, line.rfind(','));
    if (path.compare(0, 10, "marks.one.") == 0) mark_paths.push_back(path.substr(10));
    else run_paths.push_back(path);
  }
  EXPECT_EQ(mark_paths, run_paths);
}

// The 1 GiB hugetlb pool through the replay. 4 GiB of memory, two pool pages
// reserved at boot ([3G, 4G) and [2G, 3G)). By hand:
//   W 0x40000000   fault 1: maps pool page 1 (alloc 1, minor 1)
//   R 0x7fff0000   same 1 GiB page: no fault
//   W 0x80000010   fault 2: maps pool page 2 (alloc 2, minor 2); pool empty
//   @fork 2        the child shares both pages copy-on-write
//   W 0x40000008   fault 3 (child): copy needs a pool page, none: SIGBUS
//                  (sigbus 1; not minor, not cow); its mappings are dropped
//   R 0x40001000   skipped: process 2 is dead
//   W 0x40000010   fault 4 (parent): write-protected, map count back to 1:
//                  reuse (cow 1, cow_reuse 1, minor 3)
//   @munmap        the page at 2 GiB (virtual) goes back to the pool (free 1)
//   R 0xc0000000   fault 5: maps it again in a new VMA (alloc 3, minor 4)
// pgfault 5, free 0 at the end, total 2, no SIGSEGV, one fork.
// os.fault_model: accesses through the whole simulator. Derived by hand
// (models/os/fault_cost.h): a first fault in a fresh address space
// reads task, mm and the one VMA (3), the empty PML4E (1), zeroes the data
// page (1), allocates and links PDPT, PD and PT (2 each: 6) and writes the
// PTE (1) = 12; the next page under the same PT: 3 + 4 entry reads + 1 + 1 =
// 9. Two processes: 12 + 9 + 12 = 33 kernel accesses. All of them land in
// the linear map's 1 GiB page over 4-5 GiB (ZONE_NORMAL of the 8 GiB
// default, where these few frames come from), so only the first walks while
// the 1 GiB entry is global (CR4.PGE); without PGE the switch to process 2
// (a CR3 write without PCIDs) flushes it and process 2's first fault walks
// again.
TEST(EndToEnd, FaultModelAccessesAndGlobalKernelPages) {
  std::string d = temp_dir("e2e", "kaccess");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n"
                                 "@mmap 0x400000 0x4000 rw- anon\n"
                                 "W 0x400000\n"
                                 "W 0x401000\n"
                                 "@proc 2\n"
                                 "@mmap 0x400000 0x4000 rw- anon\n"
                                 "W 0x400000\n");
  for (const bool pge : {true, false}) {
    const std::string out = d + (pge ? "/pge" : "/nopge");
    Result r = run(std::string("run -q --check-invariants --set os.fault_model=accesses --set paging.pge=") +
                       (pge ? "true" : "false") + " -t " + trace + " -o " + out,
                   d);
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string csv = slurp(out + "/stats.csv");
    EXPECT_EQ(csv_value(csv, "os.kernel.accesses"), "33") << pge;
    EXPECT_EQ(csv_value(csv, "os.kernel.pgtable_pages"), "1") << pge;  // one PDPT: 8 x 1 GiB
    EXPECT_EQ(csv_value(csv, "replay.kernel_walks"), pge ? "1" : "2");
    EXPECT_EQ(csv_value(csv, "os.faults.minor"), "3");
  }
  // The cycles model issues none.
  Result r = run("run -q -t " + trace + " -o " + d + "/cycles", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string csv = slurp(d + "/cycles/stats.csv");
  EXPECT_EQ(csv_value(csv, "os.kernel.accesses"), "0");
  EXPECT_EQ(csv_value(csv, "replay.kernel_walks"), "0");
}

TEST(EndToEnd, HugetlbPoolThroughTheReplay) {
  std::string d = temp_dir("e2e", "hugetlb");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n"
                                 "@mmap 0x40000000 0x40000000 rw- anon hugetlb\n"
                                 "W 0x40000000\n"
                                 "R 0x7fff0000\n"
                                 "@mmap 0x80000000 0x1000 rw hugetlb\n"
                                 "W 0x80000010\n"
                                 "@fork 2\n"
                                 "@proc 2\n"
                                 "W 0x40000008\n"
                                 "R 0x40001000\n"
                                 "@proc 1\n"
                                 "W 0x40000010\n"
                                 "@munmap 0x80000000 0x40000000\n"
                                 "@mmap 0xc0000000 0x1000 r-- hugetlb anon\n"
                                 "R 0xc0000000\n");
  Result r = run("run -q --check-invariants --set os.hugetlb_1g=2 --set os.memory=4GiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("SIGBUS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t.txt:9"), std::string::npos) << r.err;
  const std::string csv = slurp(d + "/stats.csv");
  EXPECT_EQ(csv_value(csv, "os.hugetlb.total"), "2");
  EXPECT_EQ(csv_value(csv, "os.hugetlb.free"), "0");
  EXPECT_EQ(csv_value(csv, "os.hugetlb.alloc"), "3");
  EXPECT_EQ(csv_value(csv, "os.hugetlb.sigbus"), "1");
  EXPECT_EQ(csv_value(csv, "os.pgfault"), "5");
  EXPECT_EQ(csv_value(csv, "os.faults.minor"), "4");
  EXPECT_EQ(csv_value(csv, "os.faults.cow"), "1");
  EXPECT_EQ(csv_value(csv, "os.faults.cow_reuse"), "1");
  EXPECT_EQ(csv_value(csv, "os.faults.cow_copy"), "0");
  EXPECT_EQ(csv_value(csv, "os.faults.segv"), "0");
  EXPECT_EQ(csv_value(csv, "os.forks"), "1");
  EXPECT_EQ(csv_value(csv, "replay.skipped"), "1");

  // Without the pool the first hugetlb fault is a SIGBUS.
  r = run("run -q --set os.memory=4GiB -t " + trace + " -o " + d + "/none", d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string csv0 = slurp(d + "/none/stats.csv");
  EXPECT_EQ(csv_value(csv0, "os.hugetlb.total"), "0");
  EXPECT_EQ(csv_value(csv0, "os.hugetlb.sigbus"), "1");
  EXPECT_EQ(csv_value(csv0, "os.hugetlb.alloc"), "0");

  // A hugetlb mapping that does not start 1 GiB-aligned is a trace error
  // naming its line (exit 3); hugetlb with file a syntax error.
  std::string bad = write_file(d, "bad.txt", "@proc 1\n@mmap 0x40200000 0x1000 rw hugetlb\n");
  r = run("run -q --set os.hugetlb_1g=1 --set os.memory=4GiB -t " + bad, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 GiB-aligned"), std::string::npos) << r.err;
  std::string file = write_file(d, "file.txt", "@proc 1\n@mmap 0x40000000 0x1000 rw file hugetlb\n");
  r = run("run -q -t " + file, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("file.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hugetlbfs"), std::string::npos) << r.err;

  // 32-bit modes have no 1 GiB pages: a config error naming the key.
  r = run("run -q --set paging.mode=pae --set os.hugetlb_1g=1 -t " + trace, d);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("os.hugetlb_1g"), std::string::npos) << r.err;
}

// 16 MiB: 4096 frames, 3840 managed after the reserved 1 MiB, no swap.
// Process 1 (oom_score_adj 1000) touches 100 pages, process 2 touches pages
// until memory runs out. Linux 6.1 oom_badness: "adj *= totalpages / 1000"
// with totalpages = 3840 managed pages, so adj adds 1000 * 3 = 3000 (not
// 3840): process 1 scores 100 + 3 page tables + 3000 = 3103. Process 2
// (lines 106.. are its writes) runs out of memory - at the zone's min
// watermark, 123 pages - after some 3,600 pages: its 3,600 pages and ~10
// accounted tables are more than 3103, so it is the victim; it could not
// be while its score was at most 3103, so not before line 106 + 3093.
// (With adj scaled by all 4096 frames, 4096 + 103, process 1 would be.)
TEST(EndToEnd, OomScoreAdjFromTheTraceChoosesTheVictim) {
  std::string d = temp_dir("e2e", "oomadj");
  std::string text = "@proc 1\n@oom_score_adj 1000\n@mmap 0x10000000 0x64000 rw anon\n";
  for (int i = 0; i < 100; ++i)
    text += "W 0x" + ([&] {
              std::ostringstream o;
              o << std::hex << 0x10000000 + i * 4096;
              return o.str();
            })() +
            "\n";
  text += "@proc 2\n@mmap 0x20000000 0x1000000 rw anon\n";
  for (int i = 0; i < 4096; ++i)
    text += "W 0x" + ([&] {
              std::ostringstream o;
              o << std::hex << 0x20000000 + i * 4096;
              return o.str();
            })() +
            "\n";
  std::string trace = write_file(d, "t.txt", text);
  Result r = run("run -q --set os.memory=16MiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::size_t at = r.err.find("t.txt:");
  ASSERT_NE(at, std::string::npos) << r.err;
  const unsigned line = static_cast<unsigned>(std::stoul(r.err.substr(at + 6)));
  EXPECT_GE(line, 106u + 3093);
  EXPECT_LE(line, 106u + 3840);
  EXPECT_NE(r.err.find(": process 2 killed: out of memory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("process 1 killed"), std::string::npos) << r.err;
  json s = stats(d);
  EXPECT_EQ(s["os"]["oom_kills"].get<std::uint64_t>(), 1u);
}

// The five real traces as five processes (about 22 MiB touched, 5700 pages)
// in 16 MiB of memory with swap: reclaim drops clean file pages and swaps
// anonymous ones out, and the invariants hold after every fault.
TEST(EndToEnd, MemoryPressureWithSwapKeepsTheInvariants) {
  std::string d = temp_dir("e2e", "pressure");
  const std::string t = kSource + "/traces/";
  Result r = run("run -q --check-invariants --set os.memory=16MiB --set os.swap.size=64MiB -t " + t +
                     "xz-compress.bin.zst -t " + t + "python-dict.bin.zst -t " + t + "sqlite-memdb.bin.zst -t " + t +
                     "bzip2-compress.bin.zst -t " + t + "sort-words.bin.zst -o " + d,
                 d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_GT(s["os"]["swap"]["out"].get<double>(), 0.0);
  EXPECT_GT(s["os"]["swap"]["in"].get<double>(), 0.0);
  EXPECT_GT(s["os"]["faults"]["major"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(s["os"]["oom_kills"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(s["os"]["faults"]["segv"].get<std::uint64_t>(), 0u);
}

TEST(EndToEnd, BadInputsExitWithTheDocumentedCodes) {
  std::string d = temp_dir("e2e", "errors");
  std::string bad_trace = write_file(d, "bad.txt", "R 0x1000\nR 0x2000\nL 0x3000\n");
  Result r = run("run -t " + bad_trace + " -o " + d + "/out", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d + "/out/stats.json"));
  EXPECT_FALSE(fs::exists(d + "/out/stats.csv"));

  std::string noncanon = write_file(d, "nc.txt", "R 0x1000\nR 0x0000900000000000\n");
  r = run("run -q -t " + noncanon, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("nc.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("canonical"), std::string::npos) << r.err;

  // Every byte must be canonical (SDM Vol. 1 3.3.7.1): 0x7ffffffffff8 + 7 is
  // the last canonical byte of the lower half with 48 bits, 0x7ffffffffffc +
  // 7 = 0x800000000003 is not; the 4-byte access there is fine. With 5
  // levels (57 bits) the same access is canonical.
  std::string last = write_file(d, "last.txt", "R 0x7ffffffffff8 8\nR 0x7ffffffffffc 4\nR 0x7ffffffffffc 8\n");
  r = run("run -q -t " + last, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("last.txt:3: last byte of the access at 0x7ffffffffffc of 8 bytes, 0x800000000003 is not "
                       "canonical with 48-bit linear addresses"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run("run -q -t " + last + " --set paging.mode=x86_64_la57", d).code, 0);

  std::string bad_cfg = write_file(d, "bad.yaml", "mmu:\n  tlbs:\n    l1d: {entires: 64}\n");
  r = run("run -c " + bad_cfg + " -t " + bad_trace, d);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.yaml:3:11"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'entries'"), std::string::npos) << r.err;

  r = run("run --set mmu.tlbs.l1d.ways=6", d);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("must divide entries (64), got 6"), std::string::npos) << r.err;

  r = run("run --no-such-option", d);
  EXPECT_EQ(r.code, 2);
  r = run("frobnicate", d);
  EXPECT_EQ(r.code, 2);
  r = run("run -t " + d + "/does-not-exist.txt", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("does-not-exist.txt"), std::string::npos) << r.err;
}

TEST(EndToEnd, HelpAndParamsDescribeTheInterface) {
  std::string d = temp_dir("e2e", "help");
  Result r = run("--help", d);
  EXPECT_EQ(r.code, 0);
  for (const char* word : {"run", "params", "--set", "-o OUTDIR", "--max-accesses", "exit codes"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  r = run("params", d);
  EXPECT_EQ(r.code, 0);
  for (const char* key : {"mmu.tlbs.l1d.entries", "mmu.pwc.pd.entries", "os.memory", "replay.implicit_vmas",
                          "memory.dram.tRCD", "paging.mode", "clock"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
  // The resolved config written by a run loads back and resolves the same.
  std::string trace = write_file(d, "t.txt", "R 0x1000\n");
  r = run("run -q --set mmu.tlbs.l1d.entries=128 -t " + trace + " -o " + d + "/a", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run -q -c " + d + "/a/config.yaml -t " + trace + " -o " + d + "/b", d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(d + "/a/config.yaml"), slurp(d + "/b/config.yaml"));
  EXPECT_NE(slurp(d + "/a/config.yaml").find("entries: 128"), std::string::npos);
}

TEST(EndToEnd, SeveralTracesRunAsProcessesRoundRobin) {
  std::string d = temp_dir("e2e", "multi");
  std::string a = write_file(d, "a.txt", "R 0x1000\nW 0x2000\nR 0x1000\nR 0x3000\n");
  std::string b = write_file(d, "b.txt", "R 0x1000\nR 0x1000\nR 0x5000\n");
  Result r = run("run -q -t " + a + " -t " + b + " --set replay.switch_interval=2 -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Slices of 2 accesses: A{R1000 W2000} B{R1000 R1000} A{R1000 R3000} B{R5000},
  // then A finds its end. Switches A>B, B>A, A>B, B>A = 4.
  EXPECT_EQ(s["replay"]["switches"].get<std::uint64_t>(), 4u);
  EXPECT_EQ(s["os"]["processes"].get<std::uint64_t>(), 2u);
  // CR3 writes: the idle root at boot, A's and B's first loads (each made
  // when its trace first needs a process), then the switches B>A, A>B, B>A
  // (the first switch A>B finds B without a process yet) = 1 + 2 + 3.
  EXPECT_EQ(s["mmu"]["cr3_writes"].get<std::uint64_t>(), 6u);
  // Separate address spaces: both 0x1000s fault, 5 distinct (process, page).
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), 5u);
  // Only B's second R 0x1000 hits: every switch flushes the TLBs (no PCID,
  // no global user pages).
  EXPECT_EQ(s["mmu"]["tlb"]["l1d"]["hits"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["replay"]["accesses"].get<std::uint64_t>(), 7u);
}

TEST(EndToEnd, TheSameTraceInEveryFormatAndCompressionGivesIdenticalStatistics) {
  std::string d = temp_dir("e2e", "formats");
  ASSERT_TRUE(fs::exists(kSmall)) << kSmall;
  std::string reference;
  int runs = 0;
  for (const char* ext : {"txt", "bin", "lackey"}) {
    for (const char* comp : {"", ".gz", ".xz", ".zst"}) {
      const std::string name = std::string("t.") + ext + comp;
      Result c = run("convert " + kSmall + " " + d + "/" + name, d);
      ASSERT_EQ(c.code, 0) << name << ": " << c.err;
      Result r = run("run -q -t " + d + "/" + name + " -o " + d + "/out-" + name, d);
      ASSERT_EQ(r.code, 0) << name << ": " << r.err;
      std::string csv = slurp(d + "/out-" + name + "/stats.csv");
      ASSERT_FALSE(csv.empty());
      if (reference.empty()) {
        Result o = run("run -q -t " + kSmall + " -o " + d + "/out-original", d);
        ASSERT_EQ(o.code, 0) << o.err;
        reference = slurp(d + "/out-original/stats.csv");
      }
      EXPECT_EQ(csv, reference) << name;
      ++runs;
    }
  }
  EXPECT_EQ(runs, 12);
}

// ---------------------------------------------------------------- paging modes and flushes

namespace {

// One fully associative 4 KiB data TLB, no paging-structure caches, fixed
// memory latency, 4 KiB pages only: every walk reads one entry per level it
// reaches, which makes the reference counts easy to derive by hand.
const char* const kPlainWalks =
    "mmu:\n"
    "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 64, ways: 64, latency: 1}}\n"
    "  pwc: {pml5: {entries: 0}, pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
    "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
    "os: {thp: never}\n";

std::uint64_t u64(const json& s, std::initializer_list<const char*> path) {
  const json* j = &s;
  for (const char* k : path) j = &(*j)[k];
  return j->get<std::uint64_t>();
}

}  // namespace

TEST(EndToEnd, TheSameTraceInEveryPagingModeFaultsOncePerPageWithTheModesWalkLengths) {
  std::string d = temp_dir("e2e", "modes");
  std::string cfg = write_file(d, "c.yaml", kPlainWalks);
  // Five pages of one 2 MiB (and 4 MiB) region below 3 GiB, each loaded
  // twice: five first touches, five TLB hits.
  std::string text;
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 5; ++i) text += "R 0x" + std::to_string(10000000 + i * 1000) + "\n";  // 0x10000000 + i * 0x1000
  std::string trace = write_file(d, "t.txt", text);
  // Walk references, derived from the table formats (SDM 4.3-4.5): the OS
  // model creates entries with A = 1 (and D = 1 when writable), so no A/D
  // write happens; a faulting walk stops at the first entry with P = 0.
  //  - x86_64: first page: PML4E not present (1 read), fault, retry 4 reads;
  //    each later page: PML4E, PDPTE, PDE present, PTE not (4), retry 4.
  //  - x86_64_la57: the same with one more level: 1 + 5, then 5 + 5.
  //  - pae: the PDPTE comes from its register (no walk reference) and the
  //    user page directories exist from process creation: first page PDE
  //    not present (1), retry PDE + PTE (2); later pages PDE, PTE (2), retry 2.
  //  - ia32: PDE not present (1), retry 2; later 2 + 2.
  struct Mode {
    const char* name;
    std::uint64_t reads;
  };
  for (Mode m :
       {Mode{"x86_64", 5 + 4 * 8}, Mode{"x86_64_la57", 6 + 4 * 10}, Mode{"pae", 3 + 4 * 4}, Mode{"ia32", 3 + 4 * 4}}) {
    std::string out = d + "/" + m.name;
    Result r = run("run -q -c " + cfg + " -t " + trace + " --set paging.mode=" + m.name + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << m.name << ": " << r.err;
    json s = stats(out);
    EXPECT_EQ(u64(s, {"os", "faults", "minor"}), 5u) << m.name;
    EXPECT_EQ(u64(s, {"replay", "retries"}), 5u) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 5u) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "walker", "walks"}), 10u) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "walker", "mem_reads"}), m.reads) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "walker", "ad_writes"}), 0u) << m.name;
    // PAE: the process's CR3 load reads its four PDPTEs through the memory
    // path (the boot-time load of the idle PDPT happens before simulation,
    // untimed); the other modes read only walk entries.
    const std::uint64_t pdpte_reads = std::string(m.name) == "pae" ? 4 : 0;
    EXPECT_EQ(u64(s, {"memory", "reads"}), m.reads + pdpte_reads) << m.name;
  }
}

TEST(EndToEnd, LargePagesFollowTheMode) {
  // os.thp: always with a VMA covering 4 MiB aligned at 4 MiB. ia32 with
  // PSE maps one 4 MiB page (SDM 4.3: PDE.PS), PAE and x86_64 2 MiB pages
  // (4.4, 4.5): the three pages written, at offsets 0, 0x1000 and 0x200000,
  // lie in one 4 MiB page but in two 2 MiB pages. (Stores: a load would map
  // the huge zero page instead, do_huge_pmd_anonymous_page.)
  std::string d = temp_dir("e2e", "large");
  std::string cfg =
      write_file(d, "c.yaml",
                 "mmu:\n"
                 "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K, 2M, 4M], entries: 16, ways: 16, latency: 1}}\n"
                 "  pwc: {pml5: {entries: 0}, pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
                 "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
                 "os: {thp: always}\n");
  std::string trace = write_file(d, "t.txt",
                                 "@mmap 0x10000000 0x400000 rw- anon\n"
                                 "W 0x10000000\nW 0x10001000\nW 0x10200000\n");
  struct Mode {
    const char* name;
    std::uint64_t faults, reads;
  };
  // ia32: PDE not present (1), fault, retry reads the 4 MiB PDE (1); the
  //   two later accesses hit the one TLB entry.
  // pae: PDE (1), retry PDE (1); second access hits; third: PDE (1), retry 1.
  // x86_64: PML4E (1), retry PML4E PDPTE PDE (3); hit; third: PML4E PDPTE
  //   PDE (3), retry 3.
  for (Mode m : {Mode{"ia32", 1, 2}, Mode{"pae", 2, 4}, Mode{"x86_64", 2, 10}}) {
    std::string out = d + "/" + m.name;
    Result r =
        run("run -q --check-invariants -c " + cfg + " -t " + trace + " --set paging.mode=" + m.name + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << m.name << ": " << r.err;
    json s = stats(out);
    EXPECT_EQ(u64(s, {"os", "thp", "alloc"}), m.faults) << m.name;
    EXPECT_EQ(u64(s, {"os", "faults", "minor"}), m.faults) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "walker", "mem_reads"}), m.reads) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 3u - m.faults) << m.name;
  }
}

TEST(EndToEnd, AddressesAModeCannotHoldAreTraceErrors) {
  std::string d = temp_dir("e2e", "modeaddr");
  std::string t32 = write_file(d, "t32.txt", "R 0x1000\nR 0xbffff000\nR 0x100000000\n");
  for (const char* mode : {"ia32", "pae"}) {
    Result r = run("run -q -t " + t32 + " --set paging.mode=" + std::string(mode), d);
    EXPECT_EQ(r.code, 3) << mode;
    EXPECT_NE(r.err.find("t32.txt:3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("0x100000000"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("32-bit"), std::string::npos) << r.err;
  }
  // An access that starts below 4 GiB and ends above it.
  std::string cross = write_file(d, "cross.txt", "R 0xfffffffc 8\n");
  Result r = run("run -q -t " + cross + " --set paging.mode=ia32", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("cross.txt:1"), std::string::npos) << r.err;
  // bin traces name the byte offset of the record.
  std::string bin = d + "/t32.bin";
  ASSERT_EQ(run("convert " + t32 + " " + bin, d).code, 0);
  r = run("run -q -t " + bin + " --set paging.mode=pae", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("t32.bin: byte "), std::string::npos) << r.err;
  // 57-bit canonical: 2^47 is fine with 5 levels, 2^56 is not.
  std::string t57 = write_file(d, "t57.txt", "R 0x800000000000\nR 0x100000000000000\n");
  r = run("run -q -t " + t57 + " --set paging.mode=x86_64_la57", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("t57.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("canonical"), std::string::npos) << r.err;
  // @invlpg of an address the mode cannot hold.
  std::string ti = write_file(d, "ti.txt", "R 0x1000\n@invlpg 0x100000000\n");
  r = run("run -q -t " + ti + " --set paging.mode=ia32", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("ti.txt:2"), std::string::npos) << r.err;
}

TEST(EndToEnd, TheBundled32BitTraceRunsInEveryModeWithTheDemandFaultsOfLinux) {
  // gzip-compress-i386.bin.zst: a real i386 program, all its addresses below
  // 3 GiB, with its mmap/brk events. Its first 200,000 accesses in each of
  // the four modes: no error, no implicit VMA, no SIGSEGV, and with THP off
  // the faults demand_faults() derives (one per distinct 4 KiB page touched,
  // first and last byte of each access, plus one per anonymous page read
  // before its first write), whatever the page-table format.
  const std::string trace = kSource + "/traces/gzip-compress-i386.bin.zst";
  ASSERT_TRUE(fs::exists(trace)) << trace;
  const std::uint64_t n = 200000;
  std::set<std::uint64_t> pages;
  std::uint64_t accesses = 0, top = 0;
  {
    auto rd = open_trace(trace, "auto");
    TraceRecord rec;
    while (accesses < n && rd->next(rec)) {
      if (rec.kind != RecordKind::Access) continue;
      ++accesses;
      pages.insert(rec.addr >> 12);
      pages.insert((rec.addr + rec.size - 1) >> 12);
      top = std::max<std::uint64_t>(top, rec.addr + rec.size);
    }
  }
  ASSERT_EQ(accesses, n);
  EXPECT_LE(top, 0xC0000000u);  // the 32-bit modes' user space: 3 GiB
  EXPECT_GT(pages.size(), 50u);
  std::string d = temp_dir("e2e", "i386");
  for (const char* mode : {"ia32", "pae", "x86_64", "x86_64_la57"}) {
    std::string out = d + "/" + mode;
    Result r = run("run -q -t " + trace + " --max-accesses " + std::to_string(n) + " --set paging.mode=" + mode +
                       " --set os.thp=never -o " + out,
                   d);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    json s = stats(out);
    EXPECT_EQ(u64(s, {"os", "pgfault"}), demand_faults(trace, n)) << mode;
    EXPECT_EQ(u64(s, {"os", "faults", "minor"}), demand_faults(trace, n)) << mode;
    EXPECT_EQ(u64(s, {"os", "faults", "segv"}), 0u) << mode;
    EXPECT_EQ(u64(s, {"os", "implicit_vmas"}), 0u) << mode;
  }
}

TEST(EndToEnd, EveryPresetLoadsAndRunsATrace) {
  std::string d = temp_dir("e2e", "presets");
  std::string trace =
      write_file(d, "t.txt", "@mmap 0x8048000 0x3000 r-x file\nX 0x8048000 4\nR 0x10000000\nW 0x10001000\n");
  for (const auto& e : fs::directory_iterator(kSource + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    Result r = run("run -q -c " + e.path().string() + " -t " + trace, d);
    EXPECT_EQ(r.code, 0) << e.path() << ": " << r.err;
  }
}

TEST(EndToEnd, ProcessSwitchesFlushUnlessPcidsKeepTheEntries) {
  std::string d = temp_dir("e2e", "pcid");
  std::string cfg = write_file(d, "c.yaml", kPlainWalks);
  // Two processes take turns touching one page each.
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\nR 0x10000000\n@proc 2\nR 0x10000000\n"
                                 "@proc 1\nR 0x10000000\n@proc 2\nR 0x10000000\n");
  // Without PCIDs every MOV to CR3 drops the non-global entries (SDM
  // 4.10.4.1): all four lookups miss. With PCIDs process 1 runs with PCID 1
  // and process 2 with PCID 2; switching back sets the no-flush bit, so the
  // third and fourth lookups hit.
  Result r = run("run -q -c " + cfg + " -t " + trace + " -o " + d + "/off", d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d + "/off");
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 0u);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "misses"}), 4u);
  EXPECT_EQ(u64(s, {"mmu", "cr3_noflush"}), 0u);
  EXPECT_EQ(u64(s, {"os", "faults", "minor"}), 2u);
  r = run("run -q -c " + cfg + " -t " + trace + " --set paging.pcid=true -o " + d + "/on", d);
  ASSERT_EQ(r.code, 0) << r.err;
  s = stats(d + "/on");
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 2u);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "misses"}), 2u);
  EXPECT_EQ(u64(s, {"mmu", "cr3_noflush"}), 2u);
  // Boot (idle root) + four switches.
  EXPECT_EQ(u64(s, {"mmu", "cr3_writes"}), 5u);
  EXPECT_EQ(u64(s, {"os", "faults", "minor"}), 2u);
}

TEST(EndToEnd, PcidSlotsAreReusedRoundRobinAsLinuxDoes) {
  std::string d = temp_dir("e2e", "pcidslots");
  std::string cfg = write_file(d, "c.yaml", kPlainWalks);
  // Seven processes, six PCID slots (Linux's TLB_NR_DYN_ASIDS): process 7
  // takes process 1's slot (PCID 1, flushed). Process 1 then takes the next
  // slot, process 2's (PCID 2, flushed) and misses; process 3 still owns
  // PCID 3 with a current generation and hits; process 2 lost its slot and
  // misses.
  std::string text;
  for (int p = 1; p <= 7; ++p) text += "@proc " + std::to_string(p) + "\nR 0x10000000\n";
  text += "@proc 1\nR 0x10000000\n@proc 3\nR 0x10000000\n@proc 2\nR 0x10000000\n";
  std::string trace = write_file(d, "t.txt", text);
  Result r = run("run -q -c " + cfg + " -t " + trace + " --set paging.pcid=true -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 1u);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "misses"}), 9u);
  EXPECT_EQ(u64(s, {"mmu", "cr3_noflush"}), 1u);
  EXPECT_EQ(u64(s, {"os", "faults", "minor"}), 7u);
}

TEST(EndToEnd, ShootdownsKeepThePcidGenerationInStep) {
  std::string d = temp_dir("e2e", "pcidgen");
  std::string cfg = write_file(d, "c.yaml", kPlainWalks);
  // Process 1 maps and touches a page, is switched away, comes back (hit,
  // no flush), unmaps the page (INVLPG while current), maps it again and
  // touches it (miss: fault, new page). Each @mmap and @munmap of one page
  // in the current process is one INVLPG (Linux's flush ceiling is 33
  // pages; @mmap has MAP_FIXED semantics and unmaps first): 3 INVLPGs.
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n@mmap 0x10000000 0x1000 rw- anon\nR 0x10000000\nR 0x10001000\n"
                                 "@proc 2\nR 0x20000000\n"
                                 "@proc 1\nR 0x10000000\n@munmap 0x10000000 0x1000\n@mmap 0x10000000 0x1000 rw- anon\n"
                                 "R 0x10000000\nR 0x10001000\n");
  Result r = run("run -q -c " + cfg + " -t " + trace + " --set paging.pcid=true -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Lookups: 0x10000000 miss, 0x10001000 miss, 0x20000000 miss,
  // 0x10000000 hit, 0x10000000 miss (after INVLPG), 0x10001000 hit.
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 2u);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "misses"}), 4u);
  EXPECT_EQ(u64(s, {"mmu", "invlpgs"}), 3u);
  EXPECT_EQ(u64(s, {"mmu", "cr3_noflush"}), 1u);
}

TEST(EndToEnd, InvpcidEventsFlushByTheirType) {
  std::string d = temp_dir("e2e", "invpcid");
  std::string cfg = write_file(d, "c.yaml", kPlainWalks);
  // Process 1 (PCID 1) touches pages A and B, process 2 (PCID 2) page A.
  // Then, from process 2: INVPCID type 0 for PCID 1 page A, type 1 for
  // PCID 2; back in process 1 (no-flush), A misses and B hits; type 3
  // drops all non-global entries, so B misses; type 2 everything.
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\nR 0x10000000\nR 0x10001000\n"
                                 "@proc 2\nR 0x10000000\n"
                                 "@invpcid 0 1 0x10000000\n@invpcid 1 2\n"
                                 "@proc 1\nR 0x10000000\nR 0x10001000\n"
                                 "@invpcid 3 0\nR 0x10001000\n@invpcid 2 0\nR 0x10001000\n");
  Result r = run("run -q -c " + cfg + " -t " + trace + " --set paging.pcid=true -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Misses: A1, B1, A2, A1 (type 0), B1 after type 3, B1 after type 2 = 6;
  // hits: B1 once.
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "hits"}), 1u);
  EXPECT_EQ(u64(s, {"mmu", "tlb", "d", "misses"}), 6u);
  EXPECT_EQ(u64(s, {"mmu", "invpcids"}), 4u);
  EXPECT_EQ(u64(s, {"mmu", "full_flushes"}), 1u);
  // Without PCIDs, INVPCID with a non-zero PCID raises #GP: a trace error.
  r = run("run -q -c " + cfg + " -t " + trace, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("t.txt:6"), std::string::npos) << r.err;
}

TEST(EndToEnd, PagingStructureCachesShortenWalksInEveryMode) {
  std::string d = temp_dir("e2e", "modespwc");
  std::string cfg =
      write_file(d, "c.yaml",
                 "mmu:\n"
                 "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 64, ways: 64, latency: 1}}\n"
                 "  pwc: {pml5: {entries: 2, ways: 2}, pml4: {entries: 2, ways: 2}, pdpt: {entries: 4, ways: 4},"
                 " pd: {entries: 32, ways: 4}}\n"
                 "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
                 "os: {thp: never}\n");
  std::string text;
  for (int i = 0; i < 5; ++i) text += "R 0x" + std::to_string(10000000 + i * 1000) + "\n";
  std::string trace = write_file(d, "t.txt", text);
  // SDM 4.10.3: a PDE-cache hit starts the walk at the page table. 4.10.4.1:
  // delivering a #PF invalidates the cache entries that would be used for
  // its address, so the retry after each fault walks from the top again.
  //  - x86_64: page 1: PML4E not present (1), retry 4 (fills the caches);
  //    pages 2-5: PDE hit, PTE not present (1), retry 4. 5 x 5 = 25.
  //  - x86_64_la57: 1 + 5 each: 30.  pae, ia32 (PDE cache only): page 1
  //    PDE (1) + 2, pages 2-5 PTE (1) + 2: 15.
  struct Mode {
    const char* name;
    std::uint64_t reads;
  };
  for (Mode m : {Mode{"x86_64", 25}, Mode{"x86_64_la57", 30}, Mode{"pae", 15}, Mode{"ia32", 15}}) {
    std::string out = d + "/" + m.name;
    Result r = run("run -q -c " + cfg + " -t " + trace + " --set paging.mode=" + m.name + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << m.name << ": " << r.err;
    json s = stats(out);
    EXPECT_EQ(u64(s, {"mmu", "walker", "mem_reads"}), m.reads) << m.name;
    EXPECT_EQ(u64(s, {"mmu", "pwc", "pd", "hits"}), 4u) << m.name;
    EXPECT_EQ(u64(s, {"os", "faults", "minor"}), 5u) << m.name;
  }
}

// Copy-on-write in every paging mode, with and without huge pages, under
// --check-invariants. Hand count, THP off: three first touches (3 faults),
// after the fork the parent's store to 0x10000000 copies (4), the parent's
// load of 0x10001000 and the child's load of 0x10000000 find shared
// read-only entries (no fault), the child's store to 0x10001000 copies (5),
// its store to the untouched 0x10300000 is demand-zero (6). THP on: the
// 4 MiB VMA holds one 4 MiB page (ia32 with PSE) or two 2 MiB pages (the
// other modes), split into 4 KiB pieces at the fork; the store to
// 0x10300000 is then a third copy, of a piece of the shared huge page:
// faults 1 + 3 = 4 with one 4 MiB page, 2 + 3 = 5 with two 2 MiB pages.
TEST(EndToEnd, ForkIsCopyOnWriteInEveryPagingMode) {
  std::string d = temp_dir("e2e", "fork-modes");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n@mmap 0x10000000 0x400000 rw anon\n"
                                 "W 0x10000000\nW 0x10001000\nW 0x10200000\n"
                                 "@fork 2\nW 0x10000000\nR 0x10001000\n"
                                 "@proc 2\nR 0x10000000\nW 0x10001000\nW 0x10300000\n@exit\n"
                                 "@proc 1\nR 0x10200000\n");
  struct Case {
    const char* mode;
    const char* thp;
    std::uint64_t cow_copies, minor;
  } cases[] = {
      {"ia32", "never", 2, 6},  {"pae", "never", 2, 6},  {"x86_64", "never", 2, 6},  {"x86_64_la57", "never", 2, 6},
      {"ia32", "always", 3, 4}, {"pae", "always", 3, 5}, {"x86_64", "always", 3, 5}, {"x86_64_la57", "always", 3, 5},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.mode) + " thp " + c.thp);
    Result r =
        run("run -q --check-invariants --set paging.mode=" + std::string(c.mode) +
                " --set paging.pse=true --set os.memory=256MiB --set os.thp=" + c.thp + " -t " + trace + " -o " + d,
            d);
    ASSERT_EQ(r.code, 0) << r.err;
    json s = stats(d);
    EXPECT_EQ(u64(s, {"os", "faults", "cow_copy"}), c.cow_copies);
    EXPECT_EQ(u64(s, {"os", "faults", "cow_reuse"}), 0u);
    EXPECT_EQ(u64(s, {"os", "faults", "minor"}), c.minor);
    EXPECT_EQ(u64(s, {"os", "forks"}), 1u);
  }
}

// @cr4_pge: a write that changes CR4.PGE flushes every TLB and PWC entry
// (SDM 4.10.4.1); one that does not change it flushes nothing. Hand count
// against the same trace without the events: the first load of 0x10000000
// faults and walks, the default pge is 1; "@cr4_pge 0" is a change (one full
// flush), so the second load walks again (one walk more); the second
// "@cr4_pge 0" changes nothing, so the third load hits; "@cr4_pge 1" is a
// change again (two full flushes in all) and the fourth load walks again
// (two walks more).
TEST(EndToEnd, Cr4PgeTogglesFlushEverything) {
  std::string d = temp_dir("e2e", "pge");
  std::string plain = write_file(d, "plain.txt", "R 0x10000000\nR 0x10000000\nR 0x10000000\nR 0x10000000\n");
  std::string pge = write_file(d, "pge.txt",
                               "R 0x10000000\n@cr4_pge 0\nR 0x10000000\n@cr4_pge 0\nR 0x10000000\n@cr4_pge 1\n"
                               "R 0x10000000\n");
  Result r = run("run -q -t " + plain + " -o " + d + "/a", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run -q -t " + pge + " -o " + d + "/b", d);
  ASSERT_EQ(r.code, 0) << r.err;
  json a = stats(d + "/a"), b = stats(d + "/b");
  EXPECT_EQ(u64(a, {"mmu", "full_flushes"}), 0u);
  EXPECT_EQ(u64(b, {"mmu", "full_flushes"}), 2u);
  EXPECT_EQ(u64(b, {"mmu", "walker", "walks"}), u64(a, {"mmu", "walker", "walks"}) + 2);
  EXPECT_EQ(u64(b, {"os", "faults", "minor"}), 1u);
  // With PAE paging each of the two changes also loads the PDPTE registers
  // from CR3 (SDM 4.4.1), the unchanged write does not: two loads more.
  r = run("run -q -t " + plain + " -o " + d + "/pa --set paging.mode=pae", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run -q -t " + pge + " -o " + d + "/pb --set paging.mode=pae", d);
  ASSERT_EQ(r.code, 0) << r.err;
  json pa = stats(d + "/pa"), pb = stats(d + "/pb");
  EXPECT_EQ(u64(pb, {"mmu", "walker", "pdpte_loads"}), u64(pa, {"mmu", "walker", "pdpte_loads"}) + 2);
  EXPECT_EQ(u64(pb, {"mmu", "walker", "pdpte_reads"}), u64(pa, {"mmu", "walker", "pdpte_reads"}) + 8);
  // A bad value names the line.
  std::string bad = write_file(d, "bad.txt", "R 0x1000\n@cr4_pge on\n");
  r = run("run -q -t " + bad, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:2"), std::string::npos) << r.err;
}

// Fracturing (SDM 4.10.2.3): with the default TLBs no instruction TLB holds
// 1G, so a 1 GiB hugetlb page is cached as 2 MiB pieces in l1i and l2 (2M
// is the largest size they hold that 4-level paging has). Hand count of the
// five fetches: the first faults (a walk that faults, the hugetlb fault, a
// walk that fills one piece in l1i and one in l2); the second and third are
// in the same 2 MiB piece (l1i hits); the fourth is in the next 2 MiB (a
// walk, a second piece each); the fifth hits it: 3 walks, 2 fractured fills
// per TLB. Without fracturing nothing caches the page: 2 + 4 walks.
TEST(EndToEnd, OneGigPagesAreFracturedForTheInstructionTlbs) {
  std::string d = temp_dir("e2e", "fracture");
  std::string t = write_file(d, "frac.txt",
                             "@mmap 0x40000000 0x40000000 r-x anon hugetlb\nX 0x40000000 4\nX 0x40000100 4\n"
                             "X 0x40001000 4\nX 0x40200000 4\nX 0x40200040 4\n");
  Result r = run("run -q --check-invariants --set os.hugetlb_1g=1 -t " + t + " -o " + d + "/on", d);
  ASSERT_EQ(r.code, 0) << r.err;
  json on = stats(d + "/on");
  EXPECT_EQ(u64(on, {"mmu", "walker", "walks"}), 3u);
  EXPECT_EQ(u64(on, {"mmu", "tlb", "l1i", "fractured_fills"}), 2u);
  EXPECT_EQ(u64(on, {"mmu", "tlb", "l2", "fractured_fills"}), 2u);
  EXPECT_EQ(u64(on, {"mmu", "tlb", "l1i", "hits"}), 3u);
  r = run("run -q --set os.hugetlb_1g=1 --set mmu.tlbs.l1i.fracture=false --set mmu.tlbs.l2.fracture=false -t " + t +
              " -o " + d + "/off",
          d);
  ASSERT_EQ(r.code, 0) << r.err;
  json off = stats(d + "/off");
  EXPECT_EQ(u64(off, {"mmu", "walker", "walks"}), 6u);
  EXPECT_EQ(u64(off, {"mmu", "tlb", "l1i", "fractured_fills"}), 0u);
}

// free_pgtables (Linux 6.1 mm/memory.c free_pgd_range with the floor and
// ceiling of unmap_region): a page table goes only when no VMA left reaches
// into the 2 MiB it maps. Two pages 2 MiB apart in one 4 MiB VMA: idle
// root, process root, PDPT, PD and two PTs = 6 page-table pages. Unmapping
// the second page splits the VMA; [0x10201000, 0x10400000) still lies in
// the second PT's range, so it stays (6). Unmapping that rest too frees it (5).
TEST(EndToEnd, UnmapFreesAPageTableOnlyWhenNoVmaReachesIntoIt) {
  std::string d = temp_dir("e2e", "freepgt");
  const std::string head = "@mmap 0x10000000 0x400000 rw- anon\nW 0x10000000\nW 0x10200000\n";
  std::string a = write_file(d, "a.txt", head + "@munmap 0x10200000 0x1000\n");
  std::string b = write_file(d, "b.txt", head + "@munmap 0x10200000 0x1000\n@munmap 0x10201000 0x1ff000\n");
  ASSERT_EQ(run("run -q --check-invariants -t " + a + " -o " + d + "/a", d).code, 0);
  ASSERT_EQ(run("run -q --check-invariants -t " + b + " -o " + d + "/b", d).code, 0);
  EXPECT_EQ(u64(stats(d + "/a"), {"os", "pgtable_pages"}), 6u);
  EXPECT_EQ(u64(stats(d + "/b"), {"os", "pgtable_pages"}), 5u);
}

// A fork that finds no memory is -ENOMEM to the parent (kernel/fork.c
// copy_process, dup_mmap), not a bad trace: 16 MiB (3840 managed pages, a
// min watermark of 123), an unkillable process 1 (oom_score_adj -1000)
// writes one page in each of 1500 2 MiB regions - 1500 pages and 1500 page
// tables, 3000 frames of the 3717 above min - and forks: the child shares
// the pages but needs its own 1500 page tables (the VMA has an anon_vma:
// vma_needs_copy), more than is left, and no process can be killed for
// them. The fork fails, the child's records are skipped, process 1 runs on,
// and the run exits 0. (Had it only read, the zero-page mappings would give
// the VMA no anon_vma, and the fork would copy no page table at all.)
TEST(EndToEnd, AForkThatFindsNoMemoryFailsWithEnomem) {
  std::string d = temp_dir("e2e", "enomem");
  std::ostringstream t;
  t << "@proc 1\n@oom_score_adj -1000\n@mmap 0x100000000 0x100000000 rw- anon\n" << std::hex;
  for (std::uint64_t i = 0; i < 1500; ++i) t << "W 0x" << 0x100000000ull + (i << 21) << "\n";
  t << "@fork 2\n@proc 2\nR 0x100000000\nR 0x100200000\n@proc 1\nR 0x100000000\n";
  std::string trace = write_file(d, "t.txt", t.str());
  Result r = run("run -q --set os.memory=16MiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("t.txt:1504: @fork 2 failed: out of memory for the child's page tables (ENOMEM to process 1)"),
            std::string::npos)
      << r.err;
  json s = stats(d);
  EXPECT_EQ(u64(s, {"os", "enomem", "forks"}), 1u);
  EXPECT_EQ(u64(s, {"os", "forks"}), 0u);
  EXPECT_EQ(u64(s, {"replay", "skipped"}), 2u);  // the child's two reads
  EXPECT_EQ(u64(s, {"os", "oom_kills"}), 0u);
  EXPECT_EQ(u64(s, {"replay", "accesses"}), 1501u);
}

// A 64 GiB swap area in ia32: swapon cuts it to what a 32-bit swap entry
// addresses (pgtable-2level.h: offset bits 31:9, 2^23 slots; slot 0 the
// header), and swapping works: 20 MiB written in 16 MiB, then read again.
TEST(EndToEnd, Ia32SwapAreaIsCutToWhatASwapEntryAddresses) {
  std::string d = temp_dir("e2e", "swap32");
  std::ostringstream t;
  t << "@mmap 0x10000000 0x1400000 rw- anon\n" << std::hex;
  for (int pass = 0; pass < 2; ++pass)
    for (std::uint64_t i = 0; i < 0x1400000; i += 4096) t << (pass ? "R 0x" : "W 0x") << 0x10000000 + i << "\n";
  std::string trace = write_file(d, "t.txt", t.str());
  Result r =
      run("run -q --set paging.mode=ia32 --set os.memory=16MiB --set os.swap.size=64GiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(u64(s, {"os", "swap", "total"}), (1u << 23) - 1);
  EXPECT_GT(u64(s, {"os", "vmstat", "pswpout"}), 0u);
  EXPECT_GT(u64(s, {"os", "faults", "major"}), 0u);
  EXPECT_EQ(u64(s, {"os", "oom_kills"}), 0u);
}
