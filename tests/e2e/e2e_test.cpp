// End-to-end tests: run the mmusim binary (one SystemC kernel per process)
// and check its statistics against independent derivations.
#include <gtest/gtest.h>
#include <sys/wait.h>

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

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mmusim;

namespace {

const std::string kBin = MMUSIM_BIN;
const std::string kSource = MMUSIM_SOURCE_DIR;
const std::string kBundled = kSource + "/traces/xz-compress.lackey.zst";
const std::string kSmall = kSource + "/traces/ls-small.lackey.zst";

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::string tmpdir(const std::string& name) {
  std::string d = testing::TempDir() + "/mmusim-e2e-" + name + "-" + std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Result run(const std::string& args, const std::string& dir) {
  std::string cmd = kBin + " " + args + " >" + dir + "/out.txt 2>" + dir + "/err.txt";
  int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir + "/out.txt");
  r.err = slurp(dir + "/err.txt");
  return r;
}

json stats(const std::string& dir) {
  std::ifstream f(dir + "/stats.json");
  return json::parse(f);
}

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
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
  std::string d = tmpdir("lru");
  std::string cfg = write(d, "one-dtlb.yaml", kOneDtlb);
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
  // Demand paging with 4 KiB pages: exactly one minor fault per page touched,
  // each followed by one re-execution.
  EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), pages.size());
  EXPECT_EQ(s["replay"]["retries"].get<std::uint64_t>(), pages.size());
  EXPECT_EQ(s["os"]["faults"]["segv"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(fs::exists(d + "/stats.csv"));
  EXPECT_TRUE(fs::exists(d + "/config.yaml"));
}

TEST(EndToEnd, LooselyTimedTotalEqualsWaitPerAccess) {
  std::string d = tmpdir("lt");
  std::string trace = fs::exists(kSmall) ? kSmall : kBundled;
  std::map<std::string, std::string> csv;
  for (const char* variant : {"--set replay.sync=access", "--set replay.sync=quantum",
                                     "--set replay.quantum=10ns", "--set replay.quantum=1ms"}) {
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
  std::string d = tmpdir("det");
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
  std::string d = tmpdir("cycles");
  std::string cfg = write(d, "c.yaml",
                          "mmu:\n"
                          "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 4, ways: 4, latency: 1}}\n"
                          "  pwc: {pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
                          "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
                          "os: {fault_cost: {minor: 1000, zero_page_per_4k: 50}}\n"
                          "replay: {gap_cycles: 3}\n");
  std::string trace = write(d, "t.txt", "R 0x1000\nR 0x1008\nW 0x1010\n");
  Result r = run("run -q -c " + cfg + " -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  // Access 1: TLB miss (1) + walk: PML4E not present, 1 read (100) -> fault
  //   (1050) -> retry: TLB miss (1) + 4-level walk of 4 reads (400); the
  //   entries the OS wrote have A and D set, so no A/D writes. Then gap 3.
  //   = 1 + 100 + 1050 + 1 + 400 + 3 = 1555
  // Access 2: hit (1) + gap (3) = 4.  Access 3 (a store; D already set): 4.
  EXPECT_EQ(s["replay"]["cycles"].get<std::uint64_t>(), 1555u + 4u + 4u);
  EXPECT_EQ(s["mmu"]["walker"]["mem_reads"].get<std::uint64_t>(), 5u);
  EXPECT_EQ(s["mmu"]["walker"]["ad_writes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(s["memory"]["reads"].get<std::uint64_t>(), 5u);
  EXPECT_EQ(s["mmu"]["tlb"]["d"]["hits"].get<std::uint64_t>(), 2u);
}

TEST(EndToEnd, SegvKillsOneProcessAndTheReplayGoesOn) {
  std::string d = tmpdir("segv");
  std::string trace = write(d, "t.txt",
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
  std::string d = tmpdir("fork");
  std::string trace = write(d, "t.txt",
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
  std::string bad = write(d, "bad.txt", "@proc 1\n@proc 2\n@proc 1\n@fork 2\n");
  r = run("run -q -t " + bad, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:4"), std::string::npos) << r.err;
}

// 16 MiB: 4096 frames, 3840 after the reserved 1 MiB. Process 1 (oom_score_adj
// 1000) touches 100 pages, process 2 touches pages until memory runs out:
// the OOM killer takes process 1 although process 2 is much larger, since
// 1000 / 1000 of 4096 pages adds 4096 to process 1's score (104 pages and
// tables), more than process 2 can reach (under 3840).
TEST(EndToEnd, OomScoreAdjFromTheTraceChoosesTheVictim) {
  std::string d = tmpdir("oomadj");
  std::string text = "@proc 1\n@oom_score_adj 1000\n@mmap 0x10000000 0x64000 rw anon\n";
  for (int i = 0; i < 100; ++i) text += "W 0x" + ([&] { std::ostringstream o; o << std::hex << 0x10000000 + i * 4096; return o.str(); })() + "\n";
  text += "@proc 2\n@mmap 0x20000000 0x1000000 rw anon\n";
  for (int i = 0; i < 4096; ++i) text += "W 0x" + ([&] { std::ostringstream o; o << std::hex << 0x20000000 + i * 4096; return o.str(); })() + "\n";
  std::string trace = write(d, "t.txt", text);
  Result r = run("run -q --set os.memory=16MiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("process 1 killed: out of memory"), std::string::npos) << r.err;
  json s = stats(d);
  EXPECT_GE(s["os"]["oom_kills"].get<std::uint64_t>(), 1u);
}

// The five real traces as five processes (about 22 MiB touched, 5700 pages)
// in 16 MiB of memory with swap: reclaim drops clean file pages and swaps
// anonymous ones out, and the invariants hold after every fault.
TEST(EndToEnd, MemoryPressureWithSwapKeepsTheInvariants) {
  std::string d = tmpdir("pressure");
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
  std::string d = tmpdir("errors");
  std::string bad_trace = write(d, "bad.txt", "R 0x1000\nR 0x2000\nL 0x3000\n");
  Result r = run("run -t " + bad_trace + " -o " + d + "/out", d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d + "/out/stats.json"));
  EXPECT_FALSE(fs::exists(d + "/out/stats.csv"));

  std::string noncanon = write(d, "nc.txt", "R 0x1000\nR 0x0000900000000000\n");
  r = run("run -q -t " + noncanon, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("nc.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("canonical"), std::string::npos) << r.err;

  std::string bad_cfg = write(d, "bad.yaml", "mmu:\n  tlbs:\n    l1d: {entires: 64}\n");
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
  std::string d = tmpdir("help");
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
  std::string trace = write(d, "t.txt", "R 0x1000\n");
  r = run("run -q --set mmu.tlbs.l1d.entries=128 -t " + trace + " -o " + d + "/a", d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run -q -c " + d + "/a/config.yaml -t " + trace + " -o " + d + "/b", d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(d + "/a/config.yaml"), slurp(d + "/b/config.yaml"));
  EXPECT_NE(slurp(d + "/a/config.yaml").find("entries: 128"), std::string::npos);
}

TEST(EndToEnd, SeveralTracesRunAsProcessesRoundRobin) {
  std::string d = tmpdir("multi");
  std::string a = write(d, "a.txt", "R 0x1000\nW 0x2000\nR 0x1000\nR 0x3000\n");
  std::string b = write(d, "b.txt", "R 0x1000\nR 0x1000\nR 0x5000\n");
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
  std::string d = tmpdir("formats");
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
