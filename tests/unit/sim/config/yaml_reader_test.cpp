// Unit tests for the YAML reader (sim/config/yaml_reader.cpp): values over
// the defaults with their origins, and its error messages ("FILE:LINE:COL:
// KEY: ..." with a "did you mean").
//
// Line and column numbers in the expected messages are counted by hand in the
// YAML text of each test (1-based, as editors show them).
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/config_files.h"

namespace mmusim {
namespace {

using P = PageSize;

TEST(ConfigYaml, LoadsOverTheDefaultsAndRecordsOrigins) {
  const std::string path = write_yaml(
      "clock: 2400MHz\n"       // line 1
      "paging:\n"              // line 2
      "  mode: x86_64_la57\n"  // line 3: value at column 9
      "os:\n"                  // line 4
      "  memory: 4GiB\n"       // line 5: value at column 11
      "  thp: always\n"        // line 6
      "memory:\n"              // line 7
      "  dram: {banks: 8, policy: closed, row_bytes: 2K}\n"
      "replay:\n"
      "  quantum: 500ns\n");
  LoadedConfig lc = load_config(path, {});
  const Config& c = lc.config;
  EXPECT_EQ(c.clock_hz, 2400000000ull);
  EXPECT_EQ(c.paging.mode, PagingMode::X86_64_La57);
  EXPECT_EQ(c.os.memory_bytes, 4ull << 30);
  EXPECT_EQ(c.os.thp, ThpMode::Always);
  EXPECT_EQ(c.memory.timing.banks, 8u);
  EXPECT_FALSE(c.memory.timing.open_page);  // policy: closed
  EXPECT_EQ(c.memory.timing.row_bytes, 2048u);
  EXPECT_EQ(c.replay.quantum_ps, 500000u);
  // Untouched keys keep their defaults, TLBs included.
  EXPECT_EQ(c.memory.timing.channels, 1u);
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
  const TlbParams& t = lc.config.mmu.tlbs.at("l1d");
  EXPECT_EQ(t.entries, 64u);
  EXPECT_EQ(t.ways, 4u);
  EXPECT_EQ(t.latency, 9u);
  EXPECT_EQ(load_config(write_yaml("memory:\n  dram:\n    tCL: 010\n", "2"), {}).config.memory.timing.tCL, 10u);
  EXPECT_CONTAINS(yaml_error("seed: -1\n"), "seed: expected an unsigned integer, got '-1'");
  EXPECT_CONTAINS(yaml_error("seed: 18446744073709551616\n"), "seed: expected an unsigned integer");
  EXPECT_CONTAINS(yaml_error("mmu:\n  walker: {walkers: 4294967296}\n"),
                  "mmu.walker.walkers: expected an unsigned integer");
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
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {entries: 8}\n    a: {entries: 16}\n"),
                  ":4:5: key 'mmu.tlbs.a' given twice");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    a: {entries: 8, entries: 16}\n"),
                  "key 'mmu.tlbs.a.entries' given twice");
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

TEST(ConfigYaml, UnknownPageSize) {
  const std::string msg = yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: [4K, 8K]}\n");
  EXPECT_CONTAINS(msg, ":3:23: mmu.tlbs.l1d.page_sizes: expected a list of page sizes");
  EXPECT_CONTAINS(msg, "8K");
  // One size may be given as a scalar; the spellings the README gives (Configuration).
  LoadedConfig lc =
      load_config(write_yaml("mmu:\n  tlbs:\n    a: {page_sizes: 2MiB}\n    b: {page_sizes: [4k, 1g]}\n", "2"), {});
  EXPECT_EQ(lc.config.mmu.tlbs.at("a").page_sizes, (std::vector<P>{P::k2M}));
  EXPECT_EQ(lc.config.mmu.tlbs.at("b").page_sizes, (std::vector<P>{P::k4K, P::k1G}));
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: [4K, 4K]}\n"),
                  "mmu.tlbs.l1d.page_sizes lists a page size twice");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {page_sizes: []}\n"),
                  "mmu.tlbs.l1d.page_sizes must name at least one page size");
}

TEST(ConfigYaml, UnknownChoiceListsTheValidNames) {
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {replacement: mru}\n"),
                  ":3:24: mmu.tlbs.l1d.replacement: expected one of lru, plru, fifo, random, got 'mru'");
  EXPECT_CONTAINS(yaml_error("os:\n  thp: sometimes\n"),
                  "os.thp: expected one of never, always, madvise, got 'sometimes'");
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {serves: all}\n"), "expected one of data, inst, both, got 'all'");
  EXPECT_CONTAINS(yaml_error("memory:\n  controller: {model: ddr5}\n"), "expected one of fixed, dram, got 'ddr5'");
}

TEST(ConfigYaml, GivingTlbsReplacesTheWholeSet) {
  LoadedConfig lc = load_config(write_yaml("mmu:\n  tlbs:\n    only: {entries: 16, ways: 16}\n"), {});
  ASSERT_EQ(lc.config.mmu.tlbs.size(), 1u);
  const TlbParams& t = lc.config.mmu.tlbs.at("only");
  // The keys not given take a fresh TLB's defaults, not l1d's.
  EXPECT_EQ(t.level, 1u);
  EXPECT_EQ(t.serves, TlbServes::Both);
  EXPECT_EQ(t.page_sizes, (std::vector<P>{P::k4K}));
  EXPECT_EQ(t.entries, 16u);
  EXPECT_EQ(t.ways, 16u);
  EXPECT_EQ(t.latency, 1u);
  EXPECT_EQ(t.replacement, ReplacementPolicy::Lru);
  // An empty map: no TLBs at all (every access walks).
  EXPECT_TRUE(load_config(write_yaml("mmu:\n  tlbs: {}\n", "2"), {}).config.mmu.tlbs.empty());
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1.d: {entries: 16}\n"),
                  "expected a TLB name of 1 to 64 letters, digits, '_' or '-'");
}

TEST(ConfigYaml, SyntaxErrorsAndMissingFiles) {
  const std::string path = write_yaml("mmu:\n  tlbs: {l1d: {entries: 64\n");
  const std::string msg = load_error(path);
  EXPECT_CONTAINS(msg, path + ":");
  EXPECT_CONTAINS(msg, "YAML syntax error");
  const std::string missing = ::testing::TempDir() + "mmusim_config_test_no_such_file.yaml";
  EXPECT_EQ(load_error(missing), missing + ": cannot open the config file: No such file or directory");
}

TEST(ConfigCaches, YamlMapWithPerCacheDefaultsAndRoundTrip) {
  LoadedConfig lc = load_config(write_yaml("memory:\n  caches:\n    l1d: {size: 48KiB, ways: 12, latency: 5}\n"
                                           "    l2: {level: 2, size: 2MiB, ways: 16, latency: 16}\n"),
                                {});
  const auto& c = lc.config.memory.caches;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.at("l1d").level, 1u);  // per-cache default
  EXPECT_EQ(c.at("l1d").size_bytes, 48u * 1024);
  EXPECT_EQ(c.at("l1d").line_bytes, 64u);
  EXPECT_EQ(c.at("l2").ways, 16u);
  EXPECT_EQ(to_yaml(load_config(write_yaml(to_yaml(lc.config), "rt"), {}).config), to_yaml(lc.config));
  // The list form: levels in order, named l1, l2, ...
  LoadedConfig l = load_config(write_yaml("memory:\n  caches:\n    - {size: 16KiB, ways: 4}\n"
                                          "    - {size: 256KiB, ways: 8, latency: 11}\n",
                                          "list"),
                               {"memory.caches.l2.ways=16"});
  ASSERT_EQ(l.config.memory.caches.size(), 2u);
  EXPECT_EQ(l.config.memory.caches.at("l1").level, 1u);
  EXPECT_EQ(l.config.memory.caches.at("l1").size_bytes, 16u * 1024);
  EXPECT_EQ(l.config.memory.caches.at("l2").level, 2u);
  EXPECT_EQ(l.config.memory.caches.at("l2").latency, 11u);
  EXPECT_EQ(l.config.memory.caches.at("l2").ways, 16u);
  // --set edits one cache or adds one.
  LoadedConfig s = load_config("", {"memory.caches.llc.size=8MiB", "memory.caches.llc.ways=16"});
  EXPECT_EQ(s.config.memory.caches.at("llc").size_bytes, 8u << 20);
  EXPECT_EQ(s.config.memory.caches.at("llc").latency, 4u);
}

TEST(ConfigLimits, ADirectoryIsNotAConfigFile) {
  const std::string dir = ::testing::TempDir();
  EXPECT_CONTAINS(load_error(dir), ": is a directory; expected a YAML config file");
}

}  // namespace
}  // namespace mmusim
