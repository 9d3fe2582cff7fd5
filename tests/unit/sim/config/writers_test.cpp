// Unit tests for the writers (sim/config/writers.cpp): the resolved config
// (round trip, readable units) and `mmusim params`.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/config_files.h"

namespace mmusim {
namespace {

using P = PageSize;

TEST(ConfigWriter, RoundTrip) {
  const std::string y = to_yaml(default_config());
  LoadedConfig back = load_config(write_yaml(y), {});
  EXPECT_EQ(to_yaml(back.config), y);

  // A config far from the defaults comes back the same too.
  LoadedConfig lc =
      load_config("", {"clock=2400MHz", "seed=42", "paging.mode=x86_64_la57", "paging.nx=false",
                       "mmu.tlbs.l1d.page_sizes=[4K, 2M, 1G]", "mmu.tlbs.l1d.replacement=random", "mmu.tlbs.l3.level=3",
                       "mmu.pwc.pml5.entries=2", "mmu.pwc.pml5.ways=2", "memory.controller.model=fixed",
                       "memory.dram.row_bytes=512KiB", "os.memory=1536MiB", "os.thp=madvise", "replay.quantum=1500ps",
                       "replay.gap_cycles=3", "replay.implicit_vmas=false", "replay.sync=access"});
  const std::string y2 = to_yaml(lc.config);
  EXPECT_NE(y2, y);
  LoadedConfig back2 = load_config(write_yaml(y2, "2"), {});
  EXPECT_EQ(to_yaml(back2.config), y2);
  EXPECT_EQ(back2.config.clock_hz, 2400000000ull);
  EXPECT_EQ(back2.config.os.memory_bytes, 1536ull << 20);
  EXPECT_EQ(back2.config.replay.quantum_ps, 1500u);
  EXPECT_EQ(back2.config.mmu.tlbs.size(), 6u);
}

TEST(ConfigWriter, WritesReadableUnits) {
  const std::string y = to_yaml(default_config());
  EXPECT_CONTAINS(y, "clock: 3GHz\n");
  EXPECT_CONTAINS(y, "  memory: 8GiB\n");
  EXPECT_CONTAINS(y, "row_bytes: 8KiB\n");
  EXPECT_CONTAINS(y, "quantum: 1us\n");
  EXPECT_CONTAINS(y,
                  "l2: {level: 2, serves: both, page_sizes: [4K, 2M], entries: 1536, ways: 12, latency: 9, "
                  "replacement: lru, fracture: true, curves: 0, curves_sample_rate: 0, curves_opt: false}");
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

}  // namespace
}  // namespace mmusim
