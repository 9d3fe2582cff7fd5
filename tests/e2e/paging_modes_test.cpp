// End-to-end: the four paging modes - walk lengths, large pages, addresses a
// mode cannot hold, the 32-bit trace, the presets, CR3 and PCID flushes,
// INVPCID, paging-structure caches, fork, CR4.PGE, 1 GiB pages in the
// instruction TLBs, page-table freeing, ENOMEM and the ia32 swap area.
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

// PAE and 64-bit swap areas: swapon's read_swap_header() caps them at
// arch_max_swapfile_size() = generic_max_swapfile_size() of the format's
// swap-entry macros (derived in swap_space_test.cpp: PAE 2^26 slots, from
// the 26-bit offset of a 32-bit swp_entry_t; x86_64 2^50). With PAE, 128 GiB
// (2^25 pages) stays whole: 2^25 - 1 usable (slot 0 the header); 512 GiB is
// cut to 2^26 pages: 2^26 - 1. The slots beyond 2^24 need bits above the 36
// physical-address bits of the preset, which a swap entry may use (P is
// clear). Swapping works: 20 MiB written in 16 MiB, then read again.
TEST(EndToEnd, PaeSwapAreaIsCutAtGenericMaxSwapfileSize) {
  std::string d = temp_dir("e2e", "swappae");
  std::ostringstream t;
  t << "@mmap 0x10000000 0x1400000 rw- anon\n" << std::hex;
  for (int pass = 0; pass < 2; ++pass)
    for (std::uint64_t i = 0; i < 0x1400000; i += 4096) t << (pass ? "R 0x" : "W 0x") << 0x10000000 + i << "\n";
  std::string trace = write_file(d, "t.txt", t.str());
  const std::string pae = "run -q -c " + kSource + "/configs/pae.yaml --set os.memory=16MiB";
  Result r = run(pae + " --set os.swap.size=128GiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  json s = stats(d);
  EXPECT_EQ(u64(s, {"os", "swap", "total"}), (1u << 25) - 1);
  EXPECT_GT(u64(s, {"os", "vmstat", "pswpout"}), 0u);
  EXPECT_GT(u64(s, {"os", "faults", "major"}), 0u);
  EXPECT_EQ(u64(s, {"os", "oom_kills"}), 0u);
  r = run(pae + " --set os.swap.size=512GiB -t " + trace + " -o " + d, d);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(u64(stats(d), {"os", "swap", "total"}), (1u << 26) - 1);
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
