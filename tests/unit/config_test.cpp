// Unit tests for the configuration system (sim/config/config.h): the built-in
// defaults against DESIGN.md section 6, the YAML reader and its error
// messages ("FILE:LINE:COL: KEY: ..." with a "did you mean"), --set
// overrides, validation rules, the resolved-config writer (round trip),
// `mmusim params`, the value parsers, and every preset in configs/.
//
// Line and column numbers in the expected messages are counted by hand in the
// YAML text of each test (1-based, as editors show them).
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#ifndef MMUSIM_SOURCE_DIR
#error "config_test needs MMUSIM_SOURCE_DIR (set by CMake)"
#endif

namespace mmusim {
namespace {

using P = PageSize;

// Writes text to a file named after the running test; returns its path.
std::string write_yaml(const std::string& text, const std::string& tag = "") {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name() + tag + ".yaml";
  std::replace(name.begin(), name.end(), '/', '_');
  const std::string path = ::testing::TempDir() + "mmusim_config_test_" + name;
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  return path;
}

// The ConfigError message of a load, or "" if it loaded.
std::string load_error(const std::string& path, const std::vector<std::string>& sets = {}) {
  try {
    load_config(path, sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The error of loading text as a YAML file ("" if it loads).
std::string yaml_error(const std::string& text) { return load_error(write_yaml(text)); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#define EXPECT_CONTAINS(s, part) EXPECT_TRUE(contains((s), (part))) << "message: " << (s) << "\nexpected to contain: " << (part)

// ---------------------------------------------------------------- defaults

TEST(ConfigDefaults, MatchTheDesign) {
  const Config c = default_config();
  EXPECT_EQ(c.clock.hz, 3000000000ull);
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.paging.mode, "x86_64");
  EXPECT_TRUE(c.paging.pse);
  EXPECT_TRUE(c.paging.pge);
  EXPECT_FALSE(c.paging.pcid);
  EXPECT_TRUE(c.paging.nx);
  EXPECT_TRUE(c.paging.update_ad);
  EXPECT_TRUE(c.paging.wp);
  EXPECT_EQ(c.paging.phys_addr_bits, 46u);

  ASSERT_EQ(c.mmu.tlbs.size(), 5u);
  struct Want {
    const char* name;
    unsigned level;
    const char* serves;
    std::vector<P> sizes;
    unsigned entries, ways;
    Cycles latency;
  };
  const Want want[] = {
      {"l1d", 1, "data", {P::k4K}, 64, 4, 1},
      {"l1d_2m", 1, "data", {P::k2M, P::k4M}, 32, 4, 1},
      {"l1d_1g", 1, "data", {P::k1G}, 4, 4, 1},
      {"l1i", 1, "inst", {P::k4K, P::k2M, P::k4M}, 128, 8, 1},
      {"l2", 2, "both", {P::k4K, P::k2M}, 1536, 12, 9},
  };
  for (const Want& w : want) {
    auto it = c.mmu.tlbs.find(w.name);
    ASSERT_NE(it, c.mmu.tlbs.end()) << w.name;
    const TlbConfig& t = it->second;
    EXPECT_EQ(t.level, w.level) << w.name;
    EXPECT_EQ(t.serves, w.serves) << w.name;
    EXPECT_EQ(t.page_sizes, w.sizes) << w.name;
    EXPECT_EQ(t.entries, w.entries) << w.name;
    EXPECT_EQ(t.ways, w.ways) << w.name;
    EXPECT_EQ(t.latency, w.latency) << w.name;
    EXPECT_EQ(t.replacement, "lru") << w.name;
  }

  EXPECT_EQ(c.mmu.pwc.pml5.entries, 0u);
  EXPECT_EQ(c.mmu.pwc.pml4.entries, 2u);
  EXPECT_EQ(c.mmu.pwc.pml4.ways, 2u);
  EXPECT_EQ(c.mmu.pwc.pdpt.entries, 4u);
  EXPECT_EQ(c.mmu.pwc.pdpt.ways, 4u);
  EXPECT_EQ(c.mmu.pwc.pd.entries, 32u);
  EXPECT_EQ(c.mmu.pwc.pd.ways, 4u);
  EXPECT_EQ(c.mmu.pwc.latency, 1u);
  EXPECT_EQ(c.mmu.walker.walkers, 2u);

  EXPECT_EQ(c.memory.controller.model, "dram");
  EXPECT_EQ(c.memory.controller.fixed_latency, 80u);
  EXPECT_EQ(c.memory.dram.channels, 1u);
  EXPECT_EQ(c.memory.dram.banks, 16u);
  EXPECT_EQ(c.memory.dram.row_bytes.bytes, 8192u);
  EXPECT_EQ(c.memory.dram.tRCD, 16u);
  EXPECT_EQ(c.memory.dram.tCL, 16u);
  EXPECT_EQ(c.memory.dram.tRP, 16u);
  EXPECT_EQ(c.memory.dram.tBURST, 4u);
  EXPECT_EQ(c.memory.dram.policy, "open");

  EXPECT_EQ(c.os.memory.bytes, 8ull << 30);
  EXPECT_EQ(c.os.thp, "never");
  EXPECT_EQ(c.os.max_order, 10u);
  EXPECT_EQ(c.os.fault_cost.minor, 700u);
  EXPECT_EQ(c.os.fault_cost.zero_page_per_4k, 300u);

  EXPECT_TRUE(c.replay.implicit_vmas);
  EXPECT_EQ(c.replay.gap_cycles, 0u);
  EXPECT_EQ(c.replay.quantum.ps, 1000000u);  // 1 us
  EXPECT_EQ(c.replay.sync, "quantum");
}

TEST(ConfigDefaults, AreValidAndLoadWithoutAFile) {
  EXPECT_NO_THROW(validate(default_config(), {}));
  LoadedConfig lc = load_config("", {});
  EXPECT_EQ(to_yaml(lc.config), to_yaml(default_config()));
  EXPECT_TRUE(lc.origins.empty());
}

TEST(ConfigDefaults, AllKeysInDeclarationOrder) {
  const std::vector<std::string> keys = all_keys(default_config());
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.front(), "clock");
  EXPECT_EQ(keys[1], "seed");
  EXPECT_EQ(keys[2], "paging.mode");
  EXPECT_EQ(keys.back(), "replay.outstanding");
  // 2 top-level + 8 paging + 5 TLBs x 11 + 4 PWCs x 2 + latency + walkers
  // + 2 controller + 8 DRAM + 7 os (memory, max_order, thp, numa_nodes,
  // swappiness, fragmentation, fault_model, hugetlb_1g) + 4 fault costs
  // + 2 swap + 1 oom + 6 replay (no caches by default).
  EXPECT_EQ(keys.size(), 2u + 8 + 55 + 8 + 1 + 1 + 2 + 8 + 8 + 4 + 2 + 1 + 6);
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
  for (const char* k : {"mmu.tlbs.l2.entries", "mmu.tlbs.l1d_2m.page_sizes", "mmu.pwc.pml5.entries",
                        "memory.dram.tRCD", "os.fault_cost.zero_page_per_4k", "replay.implicit_vmas"})
    EXPECT_EQ(unique.count(k), 1u) << k;
}

// ---------------------------------------------------------------- YAML files

TEST(ConfigYaml, LoadsOverTheDefaultsAndRecordsOrigins) {
  const std::string path = write_yaml(
      "clock: 2400MHz\n"           // line 1
      "paging:\n"                  // line 2
      "  mode: x86_64_la57\n"      // line 3: value at column 9
      "os:\n"                      // line 4
      "  memory: 4GiB\n"           // line 5: value at column 11
      "  thp: always\n"            // line 6
      "memory:\n"                  // line 7
      "  dram: {banks: 8, policy: closed, row_bytes: 2K}\n"
      "replay:\n"
      "  quantum: 500ns\n");
  LoadedConfig lc = load_config(path, {});
  const Config& c = lc.config;
  EXPECT_EQ(c.clock.hz, 2400000000ull);
  EXPECT_EQ(c.paging.mode, "x86_64_la57");
  EXPECT_EQ(c.os.memory.bytes, 4ull << 30);
  EXPECT_EQ(c.os.thp, "always");
  EXPECT_EQ(c.memory.dram.banks, 8u);
  EXPECT_EQ(c.memory.dram.policy, "closed");
  EXPECT_EQ(c.memory.dram.row_bytes.bytes, 2048u);
  EXPECT_EQ(c.replay.quantum.ps, 500000u);
  // Untouched keys keep their defaults, TLBs included.
  EXPECT_EQ(c.memory.dram.channels, 1u);
  EXPECT_EQ(c.mmu.tlbs.size(), 5u);
  EXPECT_EQ(c.paging.phys_addr_bits, 46u);
  // Origins: file:line:column of each value given.
  EXPECT_EQ(lc.origins.at("paging.mode"), path + ":3:9");
  EXPECT_EQ(lc.origins.at("os.memory"), path + ":5:11");
  EXPECT_EQ(lc.origins.at("clock"), path + ":1:8");
  EXPECT_EQ(lc.origins.count("seed"), 0u);
  EXPECT_EQ(lc.origins.count("memory.dram.channels"), 0u);
}

TEST(ConfigYaml, EmptyFileIsTheDefault) {
  LoadedConfig lc = load_config(write_yaml(""), {});
  EXPECT_EQ(to_yaml(lc.config), to_yaml(default_config()));
  LoadedConfig lc2 = load_config(write_yaml("# only a comment\n", "2"), {});
  EXPECT_EQ(to_yaml(lc2.config), to_yaml(default_config()));
}

TEST(ConfigYaml, IntegersAreDecimalOrHex) {
  // YAML 1.2 core schema: a leading zero does not make a number octal.
  LoadedConfig lc = load_config(write_yaml("mmu:\n  tlbs:\n    l1d: {entries: 0x40, ways: 04, latency: 09}\n"), {});
  const TlbConfig& t = lc.config.mmu.tlbs.at("l1d");
  EXPECT_EQ(t.entries, 64u);
  EXPECT_EQ(t.ways, 4u);
  EXPECT_EQ(t.latency, 9u);
  EXPECT_EQ(load_config(write_yaml("memory:\n  dram:\n    tCL: 010\n", "2"), {}).config.memory.dram.tCL, 10u);
  EXPECT_CONTAINS(yaml_error("seed: -1\n"), "seed: expected an unsigned integer, got '-1'");
  EXPECT_CONTAINS(yaml_error("seed: 18446744073709551616\n"), "seed: expected an unsigned integer");
  EXPECT_CONTAINS(yaml_error("mmu:\n  walker: {walkers: 4294967296}\n"), "mmu.walker.walkers: expected an unsigned integer");
  EXPECT_EQ(load_config(write_yaml("seed: 18446744073709551615\n", "3"), {}).config.seed, UINT64_MAX);
}

TEST(ConfigYaml, UnknownKeyGivesLocationAndSuggestion) {
  const std::string path = write_yaml(
      "mmu:\n"
      "  tlbs:\n"
      "    l1d:\n"
      "      entires: 32\n");  // the key starts at line 4, column 7
  const std::string msg = load_error(path);
  EXPECT_EQ(msg, path + ":4:7: unknown key 'mmu.tlbs.l1d.entires'; did you mean 'entries'?");
}

TEST(ConfigYaml, UnknownKeysAtEveryLevel) {
  EXPECT_CONTAINS(yaml_error("clok: 3GHz\n"), ":1:1: unknown key 'clok'; did you mean 'clock'?");
  EXPECT_CONTAINS(yaml_error("paging:\n  nxe: true\n"), ":2:3: unknown key 'paging.nxe'; did you mean 'nx'?");
  EXPECT_CONTAINS(yaml_error("mmu:\n  pwc:\n    pd: {entries: 8, wayz: 2}\n"),
                  ":3:22: unknown key 'mmu.pwc.pd.wayz'; did you mean 'ways'?");
  // Nothing plausible: no suggestion.
  const std::string far = yaml_error("os:\n  qqqqqqqqq: 60\n");
  EXPECT_CONTAINS(far, ":2:3: unknown key 'os.qqqqqqqqq'");
  EXPECT_FALSE(contains(far, "did you mean")) << far;
}

TEST(ConfigYaml, DuplicateKeysAreErrors) {
  // YAML forbids them; silently keeping one of the two values would hide a mistake.
  const std::string path = write_yaml("clock: 1GHz\nclock: 2GHz\n");
  EXPECT_EQ(load_error(path), path + ":2:1: key 'clock' given twice (first at " + path + ":1:1)");
  EXPECT_CONTAINS(yaml_error("os: {memory: 1GiB, memory: 2GiB}\n"), ":1:20: key 'os.memory' given twice");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {entries: 8}\n    a: {entries: 16}\n"), ":4:5: key 'mmu.tlbs.a' given twice");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {entries: 8, entries: 16}\n"), "key 'mmu.tlbs.a.entries' given twice");
}

TEST(ConfigYaml, WrongTypeNamesTheKeyAndLine) {
  const std::string path = write_yaml(
      "mmu:\n"
      "  tlbs:\n"
      "    l1d: {level: 1, ways: four}\n");  // "four" at line 3, column 27
  EXPECT_EQ(load_error(path), path + ":3:27: mmu.tlbs.l1d.ways: expected an unsigned integer, got 'four'");
  EXPECT_CONTAINS(yaml_error("paging:\n  nx: maybe\n"), ":2:7: paging.nx: expected true or false, got 'maybe'");
  EXPECT_CONTAINS(yaml_error("clock: fast\n"), ":1:8: clock: expected a frequency");
  EXPECT_CONTAINS(yaml_error("os:\n  memory: lots\n"), ":2:11: os.memory: expected a size in bytes");
  EXPECT_CONTAINS(yaml_error("replay:\n  quantum: 5\n"), ":2:12: replay.quantum: expected a duration");
  EXPECT_CONTAINS(yaml_error("paging: x86_64\n"), ":1:9: paging: expected a map, got 'x86_64'");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs: [l1d, l2]\n"), "mmu.tlbs: expected a map of TLB name -> TLB");
  EXPECT_CONTAINS(yaml_error("- clock\n"), "expected a map of keys at the top level");
}

TEST(ConfigYaml, WaysMustDivideEntries) {
  const std::string path = write_yaml(
      "mmu:\n"
      "  tlbs:\n"
      "    l1d:\n"
      "      level: 1\n"
      "      entries: 64\n"
      "      ways: 6\n");  // "6" at line 6, column 13
  EXPECT_EQ(load_error(path), path + ":6:13: mmu.tlbs.l1d.ways must divide entries (64), got 6");
}

TEST(ConfigYaml, SetsMustBeAPowerOfTwo) {
  // 48 entries / 4 ways = 12 sets.
  const std::string msg = yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 48, ways: 4}\n");
  EXPECT_CONTAINS(msg, "mmu.tlbs.l1d.ways must leave a power-of-two number of sets");
  EXPECT_CONTAINS(msg, "12 sets");
  // Fully associative TLBs: ways 0 or ways = entries, any entry count.
  EXPECT_EQ(yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 48, ways: 0}\n"), "");
  EXPECT_EQ(yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 48, ways: 48}\n"), "");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 8, ways: 16}\n"),
                  "mmu.tlbs.l1d.ways must not exceed entries (8), got 16");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 0}\n"), "mmu.tlbs.l1d.entries must be at least 1, got 0");
  // PLRU needs a power-of-two associativity: the default L2 has 12 ways.
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l2: {entries: 1536, ways: 12, replacement: plru}\n"),
                  "mmu.tlbs.l2.ways must be a power of two with replacement: plru, got 12");
  // Paging-structure caches follow the same rules; 0 entries disables one.
  EXPECT_CONTAINS(yaml_error("mmu:\n  pwc:\n    pd: {entries: 24, ways: 4}\n"), "mmu.pwc.pd.ways must leave a power-of-two");
  EXPECT_EQ(yaml_error("mmu:\n  pwc:\n    pd: {entries: 0, ways: 4}\n"), "");
}

TEST(ConfigYaml, UnknownPageSize) {
  const std::string msg = yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: [4K, 8K]}\n");
  EXPECT_CONTAINS(msg, ":3:23: mmu.tlbs.l1d.page_sizes: expected a list of page sizes");
  EXPECT_CONTAINS(msg, "8K");
  // One size may be given as a scalar; spellings of DESIGN.md section 6.
  LoadedConfig lc = load_config(write_yaml("mmu:\n  tlbs:\n    a: {page_sizes: 2MiB}\n    b: {page_sizes: [4k, 1g]}\n", "2"), {});
  EXPECT_EQ(lc.config.mmu.tlbs.at("a").page_sizes, (std::vector<P>{P::k2M}));
  EXPECT_EQ(lc.config.mmu.tlbs.at("b").page_sizes, (std::vector<P>{P::k4K, P::k1G}));
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: [4K, 4K]}\n"), "mmu.tlbs.l1d.page_sizes lists a page size twice");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: []}\n"), "mmu.tlbs.l1d.page_sizes must name at least one page size");
}

TEST(ConfigYaml, UnknownChoiceListsTheValidNames) {
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {replacement: mru}\n"),
                  ":3:24: mmu.tlbs.l1d.replacement: expected one of lru, plru, fifo, random, got 'mru'");
  EXPECT_CONTAINS(yaml_error("os:\n  thp: sometimes\n"), "os.thp: expected one of never, always, madvise, got 'sometimes'");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {serves: all}\n"), "expected one of data, inst, both, got 'all'");
  EXPECT_CONTAINS(yaml_error("memory:\n  controller: {model: ddr5}\n"), "expected one of fixed, dram, got 'ddr5'");
}

TEST(ConfigYaml, GivingTlbsReplacesTheWholeSet) {
  LoadedConfig lc = load_config(write_yaml("mmu:\n  tlbs:\n    only: {entries: 16, ways: 16}\n"), {});
  ASSERT_EQ(lc.config.mmu.tlbs.size(), 1u);
  const TlbConfig& t = lc.config.mmu.tlbs.at("only");
  // The keys not given take a fresh TLB's defaults, not l1d's.
  EXPECT_EQ(t.level, 1u);
  EXPECT_EQ(t.serves, "both");
  EXPECT_EQ(t.page_sizes, (std::vector<P>{P::k4K}));
  EXPECT_EQ(t.entries, 16u);
  EXPECT_EQ(t.ways, 16u);
  EXPECT_EQ(t.latency, 1u);
  EXPECT_EQ(t.replacement, "lru");
  // An empty map: no TLBs at all (every access walks).
  EXPECT_TRUE(load_config(write_yaml("mmu:\n  tlbs: {}\n", "2"), {}).config.mmu.tlbs.empty());
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1.d: {entries: 16}\n"), "expected a TLB name of 1 to 64 letters, digits, '_' or '-'");
}

TEST(ConfigYaml, TlbLevelsWithoutGaps) {
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {level: 1}\n    b: {level: 3}\n"),
                  "mmu.tlbs levels must be numbered 1, 2, ... without gaps; level 2 is missing");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {level: 0}\n"), "mmu.tlbs.a.level must be at least 1, got 0");
}

TEST(ConfigYaml, CrossFieldRules) {
  EXPECT_CONTAINS(yaml_error("paging: {mode: pae, pcid: true}\n"), "paging.pcid");
  EXPECT_CONTAINS(yaml_error("paging: {mode: ia32, pcid: true}\n"), "IA-32e");
  EXPECT_CONTAINS(yaml_error("paging: {phys_addr_bits: 31}\n"), "paging.phys_addr_bits must be in 32..52, got 31");
  EXPECT_CONTAINS(yaml_error("paging: {phys_addr_bits: 53}\n"), "paging.phys_addr_bits must be in 32..52, got 53");
  EXPECT_CONTAINS(yaml_error("os: {memory: 17000000}\n"), "os.memory must be a multiple of 4 KiB");
  EXPECT_CONTAINS(yaml_error("os: {memory: 8MiB}\n"), "os.memory must be at least 16MiB, got 8MiB");
  EXPECT_CONTAINS(yaml_error("paging: {phys_addr_bits: 32}\nos: {memory: 8GiB}\n"), "os.memory exceeds what paging.phys_addr_bits (32)");
  EXPECT_EQ(yaml_error("paging: {phys_addr_bits: 32}\nos: {memory: 4GiB}\n"), "");
  EXPECT_CONTAINS(yaml_error("os: {thp: always, max_order: 8}\n"), "os.max_order must be at least 9 for 2 MiB pages with os.thp: always");
  EXPECT_CONTAINS(yaml_error("os: {max_order: 21}\n"), "os.max_order must be at most 20");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {banks: 12}}\n"), "memory.dram.banks must be a power of two in 1..1024, got 12");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {channels: 0}}\n"), "memory.dram.channels must be a power of two in 1..64, got 0");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {row_bytes: 32}}\n"), "memory.dram.row_bytes must be a power of two in 64..1MiB, got 32");
  EXPECT_CONTAINS(yaml_error("mmu: {walker: {walkers: 0}}\n"), "mmu.walker.walkers must be in 1..1024, got 0");
  EXPECT_CONTAINS(yaml_error("clock: 2THz\n"), "clock: expected a frequency");
}

TEST(ConfigYaml, SyntaxErrorsAndMissingFiles) {
  const std::string path = write_yaml("mmu:\n  tlbs: {l1d: {entries: 64\n");
  const std::string msg = load_error(path);
  EXPECT_CONTAINS(msg, path + ":");
  EXPECT_CONTAINS(msg, "YAML syntax error");
  const std::string missing = ::testing::TempDir() + "mmusim_config_test_no_such_file.yaml";
  EXPECT_EQ(load_error(missing), missing + ": cannot open the config file: No such file or directory");
}

// ---------------------------------------------------------------- --set

TEST(ConfigSet, OverridesKeys) {
  LoadedConfig lc = load_config("", {"mmu.tlbs.l1d.entries=128", "paging.mode=x86_64_la57", "os.memory=4GiB",
                                     "mmu.tlbs.l1d_2m.page_sizes=[2M]", "clock=2.5GHz", "replay.quantum=10ns"});
  const Config& c = lc.config;
  EXPECT_EQ(c.mmu.tlbs.at("l1d").entries, 128u);
  EXPECT_EQ(c.mmu.tlbs.at("l1d").ways, 4u);  // the rest of l1d is unchanged
  EXPECT_EQ(c.paging.mode, "x86_64_la57");
  EXPECT_EQ(c.os.memory.bytes, 4ull << 30);
  EXPECT_EQ(c.mmu.tlbs.at("l1d_2m").page_sizes, (std::vector<P>{P::k2M}));
  EXPECT_EQ(c.clock.hz, 2500000000ull);
  EXPECT_EQ(c.replay.quantum.ps, 10000u);
  EXPECT_EQ(c.mmu.tlbs.size(), 5u);
  EXPECT_EQ(lc.origins.at("mmu.tlbs.l1d.entries"), "--set mmu.tlbs.l1d.entries=128");
  EXPECT_EQ(lc.origins.at("os.memory"), "--set os.memory=4GiB");
}

TEST(ConfigSet, AddsANewTlbFromDefaults) {
  LoadedConfig lc = load_config("", {"mmu.tlbs.l3.level=3", "mmu.tlbs.l3.entries=4096", "mmu.tlbs.l3.ways=16"});
  ASSERT_EQ(lc.config.mmu.tlbs.size(), 6u);
  const TlbConfig& t = lc.config.mmu.tlbs.at("l3");
  EXPECT_EQ(t.level, 3u);
  EXPECT_EQ(t.entries, 4096u);
  EXPECT_EQ(t.ways, 16u);
  EXPECT_EQ(t.serves, "both");
  EXPECT_EQ(t.page_sizes, (std::vector<P>{P::k4K}));
  // A new TLB at level 4 alone leaves level 3 missing.
  EXPECT_CONTAINS(load_error("", {"mmu.tlbs.l4.level=4"}), "level 3 is missing");
}

TEST(ConfigSet, AppliesAfterTheFileInOrder) {
  const std::string path = write_yaml("mmu:\n  tlbs:\n    l1d: {entries: 32, ways: 4}\n");
  LoadedConfig lc = load_config(path, {"mmu.tlbs.l1d.entries=16", "mmu.tlbs.l1d.entries=8"});
  EXPECT_EQ(lc.config.mmu.tlbs.size(), 1u);
  EXPECT_EQ(lc.config.mmu.tlbs.at("l1d").entries, 8u);
  EXPECT_EQ(lc.origins.at("mmu.tlbs.l1d.entries"), "--set mmu.tlbs.l1d.entries=8");
  EXPECT_EQ(lc.origins.at("mmu.tlbs.l1d.ways"), path + ":3:30");
}

TEST(ConfigSet, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(load_error("", {"mmu.tlbs.l1d.entires=5"}),
            "--set mmu.tlbs.l1d.entires=5: unknown key 'mmu.tlbs.l1d.entires'; did you mean 'mmu.tlbs.l1d.entries'?");
  EXPECT_CONTAINS(load_error("", {"paging.mdoe=x86_64"}), "did you mean 'paging.mode'?");
  EXPECT_CONTAINS(load_error("", {"os.thpp=always"}), "did you mean 'os.thp'?");
  EXPECT_CONTAINS(load_error("", {"paging=x86_64"}), "unknown key 'paging'");
  EXPECT_CONTAINS(load_error("", {"mmu.tlbs.l1d=5"}), "expected a key of the form mmu.tlbs.NAME.KEY");
}

TEST(ConfigSet, MalformedOverrides) {
  EXPECT_EQ(load_error("", {"clock"}), "--set clock: expected KEY=VALUE");
  EXPECT_EQ(load_error("", {"=3GHz"}), "--set =3GHz: expected KEY=VALUE");
  EXPECT_CONTAINS(load_error("", {"clock="}), "--set clock=: clock: expected a value after '='");
  EXPECT_CONTAINS(load_error("", {"paging..mode=x86_64"}), "empty component");
  EXPECT_EQ(load_error("", {"mmu.tlbs.l1d.ways=four"}),
            "--set mmu.tlbs.l1d.ways=four: mmu.tlbs.l1d.ways: expected an unsigned integer, got 'four'");
  EXPECT_CONTAINS(load_error("", {"os.thp=sometimes"}), "expected one of never, always, madvise");
}

TEST(ConfigSet, ValidationNamesTheOverrideOrTheDefault) {
  EXPECT_EQ(load_error("", {"mmu.tlbs.l1d.ways=6"}),
            "--set mmu.tlbs.l1d.ways=6: mmu.tlbs.l1d.ways must divide entries (64), got 6");
  // 48 entries with the default 4 ways: the ways value came from nowhere.
  const std::string msg = load_error("", {"mmu.tlbs.l1d.entries=48"});
  EXPECT_CONTAINS(msg, "mmu.tlbs.l1d.ways must leave a power-of-two number of sets");
  EXPECT_CONTAINS(msg, "(default value)");
}

TEST(ConfigSet, Hugetlb1gOnlyIn64BitModes) {
  EXPECT_EQ(load_error("", {"os.hugetlb_1g=2"}), "");
  EXPECT_EQ(load_error("", {"paging.mode=x86_64_la57", "os.hugetlb_1g=1"}), "");
  for (const char* mode : {"ia32", "pae"}) {
    const std::string msg = load_error("", {std::string("paging.mode=") + mode, "os.hugetlb_1g=1"});
    EXPECT_CONTAINS(msg, "os.hugetlb_1g needs a 64-bit paging.mode");
    EXPECT_CONTAINS(msg, mode);
  }
  EXPECT_EQ(load_error("", {"paging.mode=pae", "os.hugetlb_1g=0"}), "");
  // A 1 GiB page is 256 blocks of order 10; above order 18 it is not whole blocks.
  EXPECT_CONTAINS(load_error("", {"os.max_order=19", "os.hugetlb_1g=1"}), "os.max_order must be at most 18");
  EXPECT_EQ(load_error("", {"os.max_order=18", "os.hugetlb_1g=1"}), "");
}

// ---------------------------------------------------------------- writer and params

TEST(ConfigWriter, RoundTrip) {
  const std::string y = to_yaml(default_config());
  LoadedConfig back = load_config(write_yaml(y), {});
  EXPECT_EQ(to_yaml(back.config), y);

  // A config far from the defaults comes back the same too.
  LoadedConfig lc = load_config("", {"clock=2400MHz", "seed=42", "paging.mode=x86_64_la57", "paging.nx=false",
                                     "mmu.tlbs.l1d.page_sizes=[4K, 2M, 1G]", "mmu.tlbs.l1d.replacement=random",
                                     "mmu.tlbs.l3.level=3", "mmu.pwc.pml5.entries=2", "mmu.pwc.pml5.ways=2",
                                     "memory.controller.model=fixed", "memory.dram.row_bytes=512KiB",
                                     "os.memory=1536MiB", "os.thp=madvise", "replay.quantum=1500ps",
                                     "replay.gap_cycles=3", "replay.implicit_vmas=false", "replay.sync=access"});
  const std::string y2 = to_yaml(lc.config);
  EXPECT_NE(y2, y);
  LoadedConfig back2 = load_config(write_yaml(y2, "2"), {});
  EXPECT_EQ(to_yaml(back2.config), y2);
  EXPECT_EQ(back2.config.clock.hz, 2400000000ull);
  EXPECT_EQ(back2.config.os.memory.bytes, 1536ull << 20);
  EXPECT_EQ(back2.config.replay.quantum.ps, 1500u);
  EXPECT_EQ(back2.config.mmu.tlbs.size(), 6u);
}

TEST(ConfigWriter, WritesReadableUnits) {
  const std::string y = to_yaml(default_config());
  EXPECT_CONTAINS(y, "clock: 3GHz\n");
  EXPECT_CONTAINS(y, "  memory: 8GiB\n");
  EXPECT_CONTAINS(y, "row_bytes: 8KiB\n");
  EXPECT_CONTAINS(y, "quantum: 1us\n");
  EXPECT_CONTAINS(y, "l2: {level: 2, serves: both, page_sizes: [4K, 2M], entries: 1536, ways: 12, latency: 9, replacement: lru, fracture: true, curves: 0, curves_sample_rate: 0, curves_opt: false}");
}

TEST(ConfigParams, DescribesEveryKey) {
  const Config c = load_config("", {"mmu.tlbs.l3.level=3"}).config;
  const std::string text = describe_params(c);
  for (const std::string& k : all_keys(c)) EXPECT_CONTAINS(text, "  " + k + " ");
  // Current value and default side by side.
  EXPECT_CONTAINS(text, "mmu.tlbs.l2.entries");
  EXPECT_CONTAINS(text, "default 64 entries.");
  EXPECT_CONTAINS(text, "{never|always|madvise}");
  // And the template of a new TLB.
  EXPECT_CONTAINS(text, "mmu.tlbs.NAME.entries");
}

// ---------------------------------------------------------------- value parsers

TEST(ConfigParsers, ByteSize) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 12345;
    EXPECT_TRUE(parse_byte_size(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("4096", 4096);
  ok("0", 0);
  ok("4K", 4096);
  ok("4k", 4096);
  ok("4KB", 4096);  // binary multiples throughout
  ok("4KiB", 4096);
  ok("2M", 2ull << 20);
  ok("2MiB", 2ull << 20);
  ok("8GiB", 8ull << 30);
  ok("8G", 8ull << 30);
  ok("1T", 1ull << 40);
  ok("1TiB", 1ull << 40);
  ok("1.5K", 1536);
  ok("0.5MiB", 512ull << 10);
  ok(" 2M ", 2ull << 20);
  ok("2 MiB", 2ull << 20);
  ok("64B", 64);
  ok("1e3", 1000);
  ok("9007199254740993", 9007199254740993ull);  // above 2^53: exact
  ok("18446744073709551615", UINT64_MAX);
  ok("16777215TiB", 16777215ull << 40);
  for (const char* bad : {"", " ", "-1", "+1", "K", "4X", "4 K B", "0.1", "1.0001K", "16777216TiB",
                          "18446744073709551616", "4PiB", "inf", "nan", "4K4"})
    EXPECT_FALSE(parse_byte_size(bad, &v)) << bad;
}

TEST(ConfigParsers, Frequency) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 1;
    EXPECT_TRUE(parse_frequency(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("3GHz", 3000000000ull);
  ok("3ghz", 3000000000ull);
  ok("2400MHz", 2400000000ull);
  ok("2.4GHz", 2400000000ull);
  ok("3e9", 3000000000ull);
  ok("100", 100);
  ok("100Hz", 100);
  ok("1kHz", 1000);
  ok("1.5 GHz", 1500000000ull);
  for (const char* bad : {"", "0", "0GHz", "-3GHz", "GHz", "3THz", "3 G", "3GHzz", "fast", "11000GHz"})
    EXPECT_FALSE(parse_frequency(bad, &v)) << bad;
}

TEST(ConfigParsers, Duration) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 1;
    EXPECT_TRUE(parse_duration(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("0", 0);
  ok("0ns", 0);
  ok("10ps", 10);
  ok("500ns", 500000);
  ok("1.5ns", 1500);
  ok("1us", 1000000);
  ok("2ms", 2000000000ull);
  ok("1s", 1000000000000ull);
  for (const char* bad : {"", "5", "1.5", "-1us", "1 minute", "us", "1h", "2000000s"})
    EXPECT_FALSE(parse_duration(bad, &v)) << bad;
}

TEST(ConfigParsers, NearestKey) {
  const std::vector<std::string> keys = {"level", "serves", "page_sizes", "entries", "ways", "latency", "replacement"};
  EXPECT_EQ(nearest_key("entires", keys), "entries");
  EXPECT_EQ(nearest_key("ENTRIES", keys), "entries");
  EXPECT_EQ(nearest_key("way", keys), "ways");
  EXPECT_EQ(nearest_key("latncy", keys), "latency");
  EXPECT_EQ(nearest_key("page_size", keys), "page_sizes");
  EXPECT_EQ(nearest_key("colour", keys), "");
  EXPECT_EQ(nearest_key("entries", {}), "");
}

// ---------------------------------------------------------------- memory.caches

TEST(ConfigCaches, NoneByDefault) { EXPECT_TRUE(default_config().memory.caches.empty()); }

TEST(ConfigCaches, YamlMapWithPerCacheDefaultsAndRoundTrip) {
  LoadedConfig lc = load_config(write_yaml("memory:\n  caches:\n    l1d: {size: 48KiB, ways: 12, latency: 5}\n"
                                           "    l2: {level: 2, size: 2MiB, ways: 16, latency: 16}\n"),
                                {});
  const auto& c = lc.config.memory.caches;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.at("l1d").level, 1u);  // per-cache default
  EXPECT_EQ(c.at("l1d").size.bytes, 48u * 1024);
  EXPECT_EQ(c.at("l1d").line_bytes, 64u);
  EXPECT_EQ(c.at("l2").ways, 16u);
  EXPECT_EQ(to_yaml(load_config(write_yaml(to_yaml(lc.config), "rt"), {}).config), to_yaml(lc.config));
  // The list form: levels in order, named l1, l2, ...
  LoadedConfig l = load_config(write_yaml("memory:\n  caches:\n    - {size: 16KiB, ways: 4}\n"
                                          "    - {size: 256KiB, ways: 8, latency: 11}\n", "list"),
                               {"memory.caches.l2.ways=16"});
  ASSERT_EQ(l.config.memory.caches.size(), 2u);
  EXPECT_EQ(l.config.memory.caches.at("l1").level, 1u);
  EXPECT_EQ(l.config.memory.caches.at("l1").size.bytes, 16u * 1024);
  EXPECT_EQ(l.config.memory.caches.at("l2").level, 2u);
  EXPECT_EQ(l.config.memory.caches.at("l2").latency, 11u);
  EXPECT_EQ(l.config.memory.caches.at("l2").ways, 16u);
  // --set edits one cache or adds one.
  LoadedConfig s = load_config("", {"memory.caches.llc.size=8MiB", "memory.caches.llc.ways=16"});
  EXPECT_EQ(s.config.memory.caches.at("llc").size.bytes, 8u << 20);
  EXPECT_EQ(s.config.memory.caches.at("llc").latency, 4u);
}

TEST(ConfigCaches, BadValuesNameTheKeyAndTheRule) {
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.ways=3"}), "memory.caches.l1.ways must leave a power-of-two number of sets");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.size=1000"}), "memory.caches.l1.size must be a non-zero multiple of line_bytes");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.line_bytes=48"}), "memory.caches.l1.line_bytes must be a power of two");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.level=2"}), "memory.caches.l1.level must continue the levels 1, 2, ... without gaps: level 1 is missing");
  EXPECT_CONTAINS(load_error("", {"memory.caches.a.size=1K", "memory.caches.b.size=2K"}), "memory.caches.b.level must differ");
  EXPECT_CONTAINS(load_error("", {"memory.caches.a.line_bytes=128", "memory.caches.b.level=2"}),
                  "memory.caches.b.line_bytes must equal every level's line size (128)");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.sise=1K"}), "did you mean 'memory.caches.l1.size'");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches:\n    l1: {size: 32KiB, wayz: 4}\n"), "unknown key 'memory.caches.l1.wayz'");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches: 3\n"), "memory.caches: expected a map of cache name -> cache");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches: [1, 2]\n"), "memory.caches[0]: expected a map of cache keys");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches: [{size: 1K, wayz: 2}]\n"), "unknown key 'memory.caches.l1.wayz'");
  EXPECT_EQ(load_error("", {"memory.caches.l1.ways=0"}), "");  // fully associative
}

TEST(ConfigReplay, OutstandingDefaultsToOneAndMustBePositive) {
  EXPECT_EQ(default_config().replay.outstanding, 1u);
  EXPECT_CONTAINS(load_error("", {"replay.outstanding=0"}), "replay.outstanding must be in 1..1024, got 0");
  EXPECT_EQ(load_config("", {"replay.outstanding=8"}).config.replay.outstanding, 8u);
}

// ---------------------------------------------------------------- presets in configs/

std::vector<std::string> yaml_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (name == "experiments") continue;  // sweep files, not configs: tests/unit/experiment_test.cpp
      for (const std::string& p : yaml_files(path)) out.push_back(p);
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0) {
      out.push_back(path);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConfigPresets, EveryFileInConfigsLoads) {
  const std::vector<std::string> files = yaml_files(MMUSIM_SOURCE_DIR "/configs");
  ASSERT_GE(files.size(), 3u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    LoadedConfig lc;
    ASSERT_NO_THROW(lc = load_config(f, {})) << load_error(f);
    // And what it resolves to survives a round trip.
    const std::string y = to_yaml(lc.config);
    EXPECT_EQ(to_yaml(load_config(write_yaml(y, "_" + std::to_string(std::hash<std::string>()(f))), {}).config), y);
  }
}

TEST(ConfigPresets, X86_64IsTheBuiltInDefault) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/x86_64.yaml", {});
  EXPECT_EQ(to_yaml(lc.config), to_yaml(default_config()));
  // It spells out every key.
  for (const std::string& k : all_keys(default_config())) {
    if (k.rfind("mmu.tlbs.", 0) == 0) continue;  // TLBs: origins are kept per TLB and per key
    EXPECT_EQ(lc.origins.count(k), 1u) << k << " is not given in configs/x86_64.yaml";
  }
  for (const auto& kv : default_config().mmu.tlbs)
    for (const char* key : {"level", "serves", "page_sizes", "entries", "ways", "latency", "replacement"})
      EXPECT_EQ(lc.origins.count("mmu.tlbs." + kv.first + "." + key), 1u) << kv.first << "." << key;
}

TEST(ConfigPresets, La57) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/x86_64_la57.yaml", {});
  EXPECT_EQ(lc.config.paging.mode, "x86_64_la57");
  EXPECT_GT(lc.config.mmu.pwc.pml5.entries, 0u);
  EXPECT_EQ(lc.config.mmu.tlbs.size(), 5u);
}

TEST(ConfigPresets, SmallTlbHasFullyAssociativeL1) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/small-tlb.yaml", {});
  unsigned l1 = 0;
  for (const auto& kv : lc.config.mmu.tlbs) {
    const TlbConfig& t = kv.second;
    if (t.level != 1) continue;
    ++l1;
    EXPECT_TRUE(t.ways == 0 || t.ways == t.entries) << kv.first;
    EXPECT_LT(t.entries, 64u) << kv.first;
  }
  EXPECT_GE(l1, 2u);
}


// ---------------------------------------------------------------- limits (issue 16)

TEST(ConfigLimits, EveryKeyInCyclesIsBoundedAtItsLimitNotBeyond) {
  // The limit itself loads; one more is refused, naming the key and the limit.
  EXPECT_EQ(load_error("", {"replay.gap_cycles=1000000000"}), "");
  EXPECT_CONTAINS(load_error("", {"replay.gap_cycles=1000000001"}),
                  "replay.gap_cycles must be at most 1000000000 cycles, got 1000000001");
  EXPECT_CONTAINS(load_error("", {"os.swap.latency=18446744073709551615"}), "os.swap.latency must be at most 1000000000 cycles");
  EXPECT_CONTAINS(load_error("", {"memory.dram.tCL=2000000000"}), "memory.dram.tCL must be at most");
  EXPECT_CONTAINS(load_error("", {"mmu.pwc.latency=2000000000"}), "mmu.pwc.latency must be at most");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.latency=2000000000"}), "memory.caches.l1.latency must be at most");
  // seed and switch_interval are counts, not cycles: not bounded.
  EXPECT_EQ(load_error("", {"seed=18446744073709551615"}), "");
}

TEST(ConfigLimits, LargestTlbAndCache) {
  EXPECT_EQ(load_error("", {"mmu.tlbs.l1d.entries=1048576", "mmu.tlbs.l1d.ways=4"}), "");
  EXPECT_CONTAINS(load_error("", {"mmu.tlbs.l1d.entries=2097152"}),
                  "mmu.tlbs.l1d.entries must be at most 1048576 entries, got 2097152");
  EXPECT_CONTAINS(load_error("", {"mmu.pwc.pd.entries=2097152"}), "mmu.pwc.pd.entries must be at most 1048576");
  // 2^24 lines of 64 bytes is 1 GiB: loads; 2 GiB does not.
  EXPECT_EQ(load_error("", {"memory.caches.l1.size=1GiB", "memory.caches.l1.ways=16"}), "");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.size=2GiB", "memory.caches.l1.ways=16"}),
                  "memory.caches.l1.size must hold at most 16777216 lines");
}

TEST(ConfigLimits, ClockNeedsAPlausibleFrequency) {
  EXPECT_CONTAINS(yaml_error("clock: 3\n"), ":1:8: clock must be in 1MHz..1THz, got 3Hz");
  EXPECT_CONTAINS(yaml_error("clock: 999999Hz\n"), "clock must be in 1MHz..1THz");
  EXPECT_EQ(yaml_error("clock: 1MHz\n"), "");
  EXPECT_EQ(yaml_error("clock: 3e9\n"), "");  // a bare number is Hz: 3 GHz
  EXPECT_CONTAINS(yaml_error("clock: 2THz\n"), "clock: expected a frequency");
  EXPECT_CONTAINS(load_error("", {"replay.quantum=2s"}), "replay.quantum must be at most 1s");
}

TEST(ConfigLimits, NamesAreSafeStatisticComponents) {
  EXPECT_TRUE(is_safe_name("l1d_2m-x"));
  EXPECT_FALSE(is_safe_name(""));
  EXPECT_FALSE(is_safe_name(std::string(65, 'a')));
  EXPECT_TRUE(is_safe_name(std::string(64, 'a')));
  for (const char* bad : {"a,b", "a\"b", "a\nb", "a.b", "../x", "a b", "a/b"}) EXPECT_FALSE(is_safe_name(bad)) << bad;
  EXPECT_CONTAINS(load_error("", {"mmu.tlbs.a,b.entries=64"}), "mmu.tlbs.a,b: not a valid TLB name");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches:\n    \"l,1\": {size: 32KiB}\n"), ":3:5: memory.caches: expected a cache name of 1 to 64");
}

TEST(ConfigLimits, MessagesQuoteAtMost100BytesAndEscapeControlBytes) {
  EXPECT_EQ(shown_value("abc"), "abc");
  EXPECT_EQ(shown_value(std::string("a\0b\n", 4)), "a\\x00b\\x0a");
  const std::string big(1000, 'x');
  EXPECT_EQ(shown_value(big), std::string(100, 'x') + "... (1000 bytes)");
  const std::string msg = yaml_error("clock: " + std::string(100000, '9') + "\n");
  EXPECT_LT(msg.size(), 400u) << msg;
  EXPECT_CONTAINS(msg, "... (100000 bytes)");
}

TEST(ConfigLimits, ADirectoryIsNotAConfigFile) {
  const std::string dir = ::testing::TempDir();
  EXPECT_CONTAINS(load_error(dir), ": is a directory; expected a YAML config file");
}

}  // namespace
}  // namespace mmusim
