// End-to-end: the OS model through the replay - SIGSEGV, fork and
// copy-on-write, @mark snapshots, os.fault_model: accesses, the hugetlb pool,
// oom_score_adj and memory pressure with swap.
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

// A transparent huge page across @fork, with os.thp=always, by hand from
// Linux 6.1 mm/huge_memory.c:
//   W 0x40000000      do_huge_pmd_anonymous_page: a 2 MiB page (fault 1)
//   @fork 2           copy_huge_pmd: the PMD shared, write-protected in both,
//                     nothing split ("pmdp_set_wrprotect", "pmd_mkold(
//                     pmd_wrprotect(pmd))")
//   @proc 2, 512 R    one per 4 KiB page: all mapped by the child's huge PMD,
//                     no fault; one 2 MiB translation serves them all
//   W 0x40005000      do_huge_pmd_wp_page: not exclusive (the parent maps
//                     it) - __split_huge_pmd (thp_split_pmd 1) and
//                     VM_FAULT_FALLBACK, then do_wp_page -> wp_page_copy of
//                     one 4 KiB page (fault 2, cow 1, cow_copy 1)
//   @exit             the child's PTEs go; the parent's PMD is the only
//                     mapping left (folio_ref_count 1)
//   @proc 1, W 0x40007000  do_huge_pmd_wp_page: "if (folio_ref_count(folio)
//                     == 1) ... reuse": the PMD made writable in place, no
//                     split, no copy (fault 3, cow still 1).
// With os.thp=never the child's reads touch 512 distinct 4 KiB pages, each
// needing its own translation: at least 512 walks; with the shared huge PMD
// far fewer.
TEST(EndToEnd, AHugePageIsSharedAtForkAndSplitByTheFirstWrite) {
  std::string d = temp_dir("e2e", "thpfork");
  std::string text =
      "@proc 1\n"
      "@mmap 0x40000000 0x200000 rw anon\n"
      "W 0x40000000\n"
      "@fork 2\n"
      "@proc 2\n";
  for (unsigned i = 0; i < 512; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "R 0x%x\n", 0x40000000u + i * 4096u);
    text += line;
  }
  text +=
      "W 0x40005000\n"
      "@exit\n"
      "@proc 1\n"
      "W 0x40007000\n";
  std::string trace = write_file(d, "t.txt", text);
  Result r = run("run -q --check-invariants --set os.memory=64MiB --set os.thp=always -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(s["os"]["thp"]["alloc"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["thp"]["split_pmd"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["pgfault"].get<std::uint64_t>(), 3u);
  EXPECT_EQ(s["os"]["faults"]["cow"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["faults"]["cow_copy"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(s["os"]["faults"]["cow_reuse"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(s["os"]["forks"].get<std::uint64_t>(), 1u);
  const std::uint64_t huge_walks = s["mmu"]["walker"]["walks"].get<std::uint64_t>();
  EXPECT_LT(huge_walks, 32u);
  r = run("run -q --check-invariants --set os.memory=64MiB --set os.thp=never -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GE(stats(d)["mmu"]["walker"]["walks"].get<std::uint64_t>(), 512u);
}

// kswapd through the replay, by hand from Linux 6.1 mm/vmscan.c. 16 MiB
// (one zone, DMA: high watermark 183, low 153) and 64 MiB of swap; one
// process writes page after page of a 16 MiB anonymous mapping. The
// 3661st page's allocation is the first to find the zone at its low
// watermark (153 free, the kernel's own pages and the page tables
// included): wakeup_kswapd -> balance_pgdat with 3660 pages on the inactive
// anon list, each young from its fault and not PG_referenced.
// prepare_scan_count's file_is_tiny ("file + free <= total_high_wmark &&
// ... anon >> sc->priority": no file pages, 153 <= 183) makes
// get_scan_count SCAN_ANON whenever 3660 >> priority > 0, i.e. from
// priority 11; at 12, SCAN_FRACT scans 0. Every page scanned is young and
// unmarked: folio_check_references marks and keeps it (to the list head),
// nothing is freed, so each pass lowers the priority ("if (raise_priority
// || !nr_reclaimed) sc.priority--") down to 1: 3660 >> 11 .. >> 1 = 1 + 3 +
// 7 + 14 + 28 + 57 + 114 + 228 + 457 + 915 + 1830 = 3654 pages scanned,
// none stolen; the allocation then succeeds at the min watermark (152
// free).
// The 3662nd page wakes kswapd again (3661 pages listed): the tail holds
// the 6 pages never examined, then the 3654 marked ones, oldest first.
// Priority 11: 1 page (unmarked, kept); 10: 3 (kept); 9: 7 - 2 kept, then 5
// old marked pages reclaimed (FOLIOREF_RECLAIM, swapped): 157 free; 8:
// 3656 >> 8 = 14 reclaimed: 171; 7: still tiny, 3642 >> 7 = 28: 199 free >
// 183: balanced at the top of the next pass. Scanned 1 + 3 + 7 + 14 + 28 =
// 53 (3707 in all), stolen 47, 47 swapped out; the allocation leaves 198
// free.
TEST(EndToEnd, KswapdBalancesTheZoneAsBalancePgdatDoes) {
  std::string d = temp_dir("e2e", "kswapd");
  auto trace = [&](unsigned pages) {
    std::string text = "@proc 1\n@mmap 0x10000000 0x1000000 rw anon\n";
    for (unsigned i = 0; i < pages; ++i) {
      char line[32];
      std::snprintf(line, sizeof line, "W 0x%x\n", 0x10000000u + i * 4096u);
      text += line;
    }
    return write_file(d, "t" + std::to_string(pages) + ".txt", text);
  };
  const std::string args = "run -q --set os.memory=16MiB --set os.swap.size=64MiB -o " + d;
  Result r = run(args + " -t " + trace(3660), d);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(stats(d)["os"]["vmstat"]["kswapd_wakeups"].get<double>(), 0.0);
  ASSERT_EQ(stats(d)["os"]["buddy"]["free_pages"].get<double>(), 153.0);
  r = run(args + " -t " + trace(3661), d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(s["os"]["vmstat"]["kswapd_wakeups"].get<double>(), 1.0);
  EXPECT_EQ(s["os"]["vmstat"]["pgscan_kswapd"].get<double>(), 3654.0);
  EXPECT_EQ(s["os"]["vmstat"]["pgsteal_kswapd"].get<double>(), 0.0);
  EXPECT_EQ(s["os"]["buddy"]["free_pages"].get<double>(), 152.0);
  r = run(args + " --check-invariants -t " + trace(3662), d);
  ASSERT_EQ(r.code, 0) << r.err;
  s = stats(d);
  EXPECT_EQ(s["os"]["vmstat"]["kswapd_wakeups"].get<double>(), 2.0);
  EXPECT_EQ(s["os"]["vmstat"]["pgscan_kswapd"].get<double>(), 3707.0);
  EXPECT_EQ(s["os"]["vmstat"]["pgsteal_kswapd"].get<double>(), 47.0);
  EXPECT_EQ(s["os"]["swap"]["out"].get<double>(), 47.0);
  EXPECT_EQ(s["os"]["vmstat"]["allocstall"].get<double>(), 0.0);
  EXPECT_EQ(s["os"]["buddy"]["free_pages"].get<double>(), 198.0);
  EXPECT_EQ(s["os"]["lru"]["inactive_anon"].get<double>(), 3615.0);
}

// The page cache through the replay, in text and (after mmusim convert) in
// bin. Counts by hand from Linux 6.1 (mm/memory.c do_read_fault /
// do_fault_around / do_shared_fault, mm/filemap.c filemap_fault,
// filemap_map_pages):
//   pid 1: X 0x400000: libfoo page 0 not cached: major 1.
//          X 0x403000: window [0, 15]; page 0's PTE is not none, page 3 not
//          cached: major 2.
//          W 0x600000: do_shared_fault of db page 4 (off=0x4000): major 3,
//          the page dirtied.
//   pid 2: X 0x7f0000000000: window [0, 15] holds pages 0 (the faulting
//          one: a hit, minor 1) and 3 (fault-around 1).
//          X 0x7f0000003000: mapped by fault-around: no fault.
//          R 0x7f0000100000: db page 4, window [4, 5] (a 2-page VMA): a hit,
//          minor 2, read-only (write-notify).
//          W 0x7f0000100000: wp_page_shared: minor 3, no copy.
//          R 0x7f0000101000: db page 5 not cached: major 4.
//   pid 1: R 0x600000: mapped since its write fault: no fault.
// So pgfault 7, major 4, minor 3, hits 2, misses 4, fault_around 1,
// dirtied 1, pages 4 (libfoo 0 and 3, db 4 and 5), dirty 1, no copy.
TEST(EndToEnd, PageCacheSharesFilesBetweenProcesses) {
  std::string d = temp_dir("e2e", "page_cache");
  std::string trace = write_file(d, "t.txt",
                                 "@proc 1\n"
                                 "@mmap 0x400000 0x10000 r-x file=/usr/lib/libfoo.so\n"
                                 "@mmap 0x600000 0x2000 rw- file=/data/db off=0x4000 shared\n"
                                 "X 0x400000\n"
                                 "X 0x403000\n"
                                 "W 0x600000\n"
                                 "@proc 2\n"
                                 "@mmap 0x7f0000000000 0x10000 r-x file=/usr/lib/libfoo.so\n"
                                 "@mmap 0x7f0000100000 0x2000 rw- file=/data/db off=0x4000 shared\n"
                                 "X 0x7f0000000000\n"
                                 "X 0x7f0000003000\n"
                                 "R 0x7f0000100000\n"
                                 "W 0x7f0000100000\n"
                                 "R 0x7f0000101000\n"
                                 "@exit\n"
                                 "@proc 1\n"
                                 "R 0x600000\n");
  Result c = run("convert " + trace + " " + d + "/t.bin", d);
  ASSERT_EQ(c.code, 0) << c.err;
  // --threads 2: the records cross the decoder thread's batches (PrefetchReader) with their file identity.
  for (const std::string t : {"t.txt", "t.bin", "t.bin --threads 2"}) {
    const std::string out = d + "/" + t.substr(0, 5) + (t.size() > 5 ? "-threads" : "") + ".out";
    Result r = run("run -q --check-invariants --set os.memory=64MiB -t " + d + "/" + t + " -o " + out, d);
    ASSERT_EQ(r.code, 0) << r.err;
    json s = stats(out);
    EXPECT_EQ(s["os"]["pgfault"].get<std::uint64_t>(), 7u) << t;
    EXPECT_EQ(s["os"]["faults"]["major"].get<std::uint64_t>(), 4u) << t;
    EXPECT_EQ(s["os"]["faults"]["minor"].get<std::uint64_t>(), 3u) << t;
    EXPECT_EQ(s["os"]["faults"]["cow"].get<std::uint64_t>(), 0u) << t;
    const json& pc = s["os"]["page_cache"];
    EXPECT_EQ(pc["hits"].get<std::uint64_t>(), 2u) << t;
    EXPECT_EQ(pc["misses"].get<std::uint64_t>(), 4u) << t;
    EXPECT_EQ(pc["fault_around"].get<std::uint64_t>(), 1u) << t;
    EXPECT_EQ(pc["dirtied"].get<std::uint64_t>(), 1u) << t;
    EXPECT_EQ(pc["private_copies"].get<std::uint64_t>(), 0u) << t;
    EXPECT_EQ(pc["pages"].get<double>(), 4.0) << t;
    EXPECT_EQ(pc["dirty"].get<double>(), 1.0) << t;
    EXPECT_EQ(pc["files"].get<double>(), 2.0) << t;
  }
  // A malformed file field is bad input: exit 3 with file and line.
  std::string bad = write_file(d, "bad.txt", "@proc 1\n@mmap 0x400000 0x1000 r-- file=/a off=0x10\n");
  Result r = run("run -q -t " + bad, d);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.txt:2: expected a file offset that is a multiple of 4096"), std::string::npos) << r.err;
}
