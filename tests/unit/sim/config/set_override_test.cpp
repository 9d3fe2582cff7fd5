// Unit tests for --set KEY=VALUE (sim/config/set_override.cpp).
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/config_files.h"

namespace mmusim {
namespace {

using P = PageSize;

TEST(ConfigSet, OverridesKeys) {
  LoadedConfig lc = load_config("", {"mmu.tlbs.l1d.entries=128", "paging.mode=x86_64_la57", "os.memory=4GiB",
                                     "mmu.tlbs.l1d_2m.page_sizes=[2M]", "clock=2.5GHz", "replay.quantum=10ns"});
  const Config& c = lc.config;
  EXPECT_EQ(c.mmu.tlbs.at("l1d").entries, 128u);
  EXPECT_EQ(c.mmu.tlbs.at("l1d").ways, 4u);  // the rest of l1d is unchanged
  EXPECT_EQ(c.paging.mode, PagingMode::X86_64_La57);
  EXPECT_EQ(c.os.memory_bytes, 4ull << 30);
  EXPECT_EQ(c.mmu.tlbs.at("l1d_2m").page_sizes, (std::vector<P>{P::k2M}));
  EXPECT_EQ(c.clock_hz, 2500000000ull);
  EXPECT_EQ(c.replay.quantum_ps, 10000u);
  EXPECT_EQ(c.mmu.tlbs.size(), 5u);
  EXPECT_EQ(lc.origins.at("mmu.tlbs.l1d.entries"), "--set mmu.tlbs.l1d.entries=128");
  EXPECT_EQ(lc.origins.at("os.memory"), "--set os.memory=4GiB");
}

TEST(ConfigSet, AddsANewTlbFromDefaults) {
  LoadedConfig lc = load_config("", {"mmu.tlbs.l3.level=3", "mmu.tlbs.l3.entries=4096", "mmu.tlbs.l3.ways=16"});
  ASSERT_EQ(lc.config.mmu.tlbs.size(), 6u);
  const TlbParams& t = lc.config.mmu.tlbs.at("l3");
  EXPECT_EQ(t.level, 3u);
  EXPECT_EQ(t.entries, 4096u);
  EXPECT_EQ(t.ways, 16u);
  EXPECT_EQ(t.serves, TlbServes::Both);
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

}  // namespace
}  // namespace mmusim
