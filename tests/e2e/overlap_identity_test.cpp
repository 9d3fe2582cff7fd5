// replay.outstanding = 1 is the in-order model, through the replay's glue
// too: this SystemC test builds the topology in-process, gives the replay a
// WalkScheduler with a window of one (the overlapped code path, which the
// simulator uses only for outstanding > 1) and checks that the totals equal
// those of the mmusim binary's in-order run on the same trace and config -
// with caches, DRAM, faults, page crossings and a gap, so every timed part
// is on the path. One SystemC kernel per process: one test in this binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <systemc>
#include <vector>

#include "sim/config/config.h"
#include "sim/topology.h"
#include "sim/trace/open_trace.h"
#include "tests/support/temp_file.h"

namespace mmusim {
namespace {

const std::vector<std::string> kSets = {
    "memory.caches.l1.size=4KiB",  "memory.caches.l1.ways=4", "memory.caches.l2.level=2", "memory.caches.l2.size=64KiB",
    "memory.caches.l2.latency=12", "mmu.tlbs.l1d.entries=8",  "mmu.tlbs.l1d.ways=2",      "mmu.tlbs.l2.entries=32",
    "mmu.tlbs.l2.ways=4",          "replay.gap_cycles=2",     "mmu.walker.walkers=1"};
const std::string kTrace = MMUSIM_SOURCE_DIR "/traces/ls-small.lackey.zst";
constexpr std::uint64_t kMax = 120000;  // of its 150000

TEST(OverlapIdentity, SchedulerWithOneOutstandingEqualsTheInOrderRun) {
  // The in-order reference: the mmusim binary, outstanding 1 (no scheduler).
  const std::string dir = temp_dir("overlap", "in-order");
  std::string cmd =
      std::string(MMUSIM_BIN) + " run -q -t " + kTrace + " --max-accesses " + std::to_string(kMax) + " -o " + dir;
  for (const auto& s : kSets) cmd += " --set " + s;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  nlohmann::json ref;
  std::ifstream(dir + "/stats.json") >> ref;

  // The same run in-process through the overlapped path with a window of one.
  LoadedConfig lc = load_config("", kSets);
  std::unique_ptr<TraceReader> reader = open_trace(kTrace, "auto");
  ReplayParams rp;
  rp.gap_cycles = lc.config.replay.gap_cycles;
  rp.max_accesses = kMax;
  tlm::tlm_global_quantum::instance().set(sc_core::sc_time(1, sc_core::SC_US));
  Topology top(lc.config, {reader.get()}, rp);
  StatGroup sched_stats("walker");
  top.replay().set_scheduler(
      std::make_unique<WalkScheduler>(1, lc.config.mmu.walker.walkers, lc.config.replay.gap_cycles, sched_stats));
  sc_core::sc_start();
  ASSERT_FALSE(top.replay().error());
  ASSERT_TRUE(top.replay().complete());

  auto value = [&](const char* path) { return top.stats().find(path)->counter->value(); };
  EXPECT_EQ(value("replay.accesses"), kMax);
  EXPECT_GT(value("replay.retries"), 0u);         // faults were on the path
  EXPECT_GT(value("replay.page_crossings"), 0u);  // and page crossings
  EXPECT_GT(value("mmu.walker.walks"), 300u);
  EXPECT_EQ(value("replay.cycles"), ref["replay"]["cycles"].get<std::uint64_t>());
  EXPECT_EQ(value("mmu.walker.walks"), ref["mmu"]["walker"]["walks"].get<std::uint64_t>());
  EXPECT_EQ(value("mmu.walker.cycles"), ref["mmu"]["walker"]["cycles"].get<std::uint64_t>());
  EXPECT_EQ(value("memory.row_hits"), ref["memory"]["row_hits"].get<std::uint64_t>());
  EXPECT_EQ(value("memory.cache.l2.walk_hits"), ref["memory"]["cache"]["l2"]["walk_hits"].get<std::uint64_t>());
  EXPECT_EQ(sched_stats.find("merged")->counter->value(), 0u);
}

}  // namespace
}  // namespace mmusim

int sc_main(int argc, char** argv) {
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
