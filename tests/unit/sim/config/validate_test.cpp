// Unit tests for validate() (sim/config/validate.cpp) and the check() of
// every declared parameter struct: the rules, the limits per unit, and
// messages naming the key and where its value came from.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/config_files.h"

namespace mmusim {
namespace {

using P = PageSize;

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
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l1d: {entries: 0}\n"),
                  "mmu.tlbs.l1d.entries must be at least 1, got 0");
  // PLRU needs a power-of-two associativity: the default L2 has 12 ways.
  EXPECT_CONTAINS(yaml_error("mmu:\n  tlbs:\n    l2: {entries: 1536, ways: 12, replacement: plru}\n"),
                  "mmu.tlbs.l2.ways must be a power of two with replacement: plru, got 12");
  // Paging-structure caches follow the same rules; 0 entries disables one.
  EXPECT_CONTAINS(yaml_error("mmu:\n  pwc:\n    pd: {entries: 24, ways: 4}\n"),
                  "mmu.pwc.pd.ways must leave a power-of-two");
  EXPECT_EQ(yaml_error("mmu:\n  pwc:\n    pd: {entries: 0, ways: 4}\n"), "");
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
  EXPECT_CONTAINS(yaml_error("paging: {phys_addr_bits: 32}\nos: {memory: 8GiB}\n"),
                  "os.memory exceeds what paging.phys_addr_bits (32)");
  EXPECT_EQ(yaml_error("paging: {phys_addr_bits: 32}\nos: {memory: 4GiB}\n"), "");
  EXPECT_CONTAINS(yaml_error("os: {thp: always, max_order: 8}\n"),
                  "os.max_order must be at least 9 for 2 MiB pages with os.thp: always");
  EXPECT_CONTAINS(yaml_error("os: {max_order: 21}\n"), "os.max_order must be at most 20");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {banks: 12}}\n"),
                  "memory.dram.banks must be a power of two in 1..1024, got 12");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {channels: 0}}\n"),
                  "memory.dram.channels must be a power of two in 1..64, got 0");
  EXPECT_CONTAINS(yaml_error("memory: {dram: {row_bytes: 32}}\n"),
                  "memory.dram.row_bytes must be a power of two in 64..1MiB, got 32");
  EXPECT_CONTAINS(yaml_error("mmu: {walker: {walkers: 0}}\n"), "mmu.walker.walkers must be in 1..1024, got 0");
  EXPECT_CONTAINS(yaml_error("clock: 2THz\n"), "clock: expected a frequency");
}

TEST(ConfigSet, ValidationNamesTheOverrideOrTheDefault) {
  EXPECT_EQ(load_error("", {"mmu.tlbs.l1d.ways=6"}),
            "--set mmu.tlbs.l1d.ways=6: mmu.tlbs.l1d.ways must divide entries (64), got 6");
  // 48 entries with the default 4 ways: the ways value came from nowhere.
  const std::string msg = load_error("", {"mmu.tlbs.l1d.entries=48"});
  EXPECT_CONTAINS(msg, "mmu.tlbs.l1d.ways must leave a power-of-two number of sets");
  EXPECT_CONTAINS(msg, "(default value)");
}

TEST(ConfigSet, CoresFromOneTo64AndWhatSeveralCoresRefuse) {
  EXPECT_EQ(load_error("", {"cores=1"}), "");
  EXPECT_EQ(load_error("", {"cores=64"}), "");
  EXPECT_EQ(load_error("", {"cores=0"}), "--set cores=0: cores must be in 1..64, got 0");
  EXPECT_EQ(load_error("", {"cores=65"}), "--set cores=65: cores must be in 1..64, got 65");
  EXPECT_CONTAINS(load_error("", {"cores=2", "replay.outstanding=4"}), "replay.outstanding must be 1 with cores: 2");
  EXPECT_CONTAINS(load_error("", {"cores=2", "mmu.tlbs.l1d.curves=64"}),
                  "mmu.tlbs.l1d.curves must be 0 with cores: 2 (miss curves are for one core), got 64");
  const std::string path = write_yaml("cores: 0\n");  // "0" at line 1, column 8
  EXPECT_EQ(load_error(path), path + ":1:8: cores must be in 1..64, got 0");
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

TEST(ConfigCaches, BadValuesNameTheKeyAndTheRule) {
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.ways=3"}),
                  "memory.caches.l1.ways must leave a power-of-two number of sets");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.size=1000"}),
                  "memory.caches.l1.size must be a non-zero multiple of line_bytes");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.line_bytes=48"}),
                  "memory.caches.l1.line_bytes must be a power of two");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.level=2"}),
                  "memory.caches.l1.level must continue the levels 1, 2, ... without gaps: level 1 is missing");
  EXPECT_CONTAINS(load_error("", {"memory.caches.a.size=1K", "memory.caches.b.size=2K"}),
                  "memory.caches.b.level must differ");
  EXPECT_CONTAINS(load_error("", {"memory.caches.a.line_bytes=128", "memory.caches.b.level=2"}),
                  "memory.caches.b.line_bytes must equal every level's line size (128)");
  EXPECT_CONTAINS(load_error("", {"memory.caches.l1.sise=1K"}), "did you mean 'memory.caches.l1.size'");
  EXPECT_CONTAINS(yaml_error("memory:\n  caches:\n    l1: {size: 32KiB, wayz: 4}\n"),
                  "unknown key 'memory.caches.l1.wayz'");
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

TEST(ConfigLimits, EveryKeyInCyclesIsBoundedAtItsLimitNotBeyond) {
  // The limit itself loads; one more is refused, naming the key and the limit.
  EXPECT_EQ(load_error("", {"replay.gap_cycles=1000000000"}), "");
  EXPECT_CONTAINS(load_error("", {"replay.gap_cycles=1000000001"}),
                  "replay.gap_cycles must be at most 1000000000 cycles, got 1000000001");
  EXPECT_CONTAINS(load_error("", {"os.swap.latency=18446744073709551615"}),
                  "os.swap.latency must be at most 1000000000 cycles");
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
  EXPECT_CONTAINS(yaml_error("memory:\n  caches:\n    \"l,1\": {size: 32KiB}\n"),
                  ":3:5: memory.caches: expected a cache name of 1 to 64");
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

}  // namespace
}  // namespace mmusim
