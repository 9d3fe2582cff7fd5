// End-to-end: the command line - exit codes of bad inputs, help and
// params, several traces as processes, every trace format and compression.
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
