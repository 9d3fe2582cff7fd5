// The statistics files (sim/stats_writer.h): stats.csv and stats.json from
// StatGroup::snapshot(), with @mark snapshots, written out by hand.

#include "sim/stats_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mmusim {
namespace {

// replay.accesses 5, replay.half (formula 2.5), mmu.walker.latency (bounds
// 10, 20; samples 5 and 25), mmu.walker.walks 2.
struct Stats {
  StatGroup root;
  Stats() {
    StatGroup& replay = root.group("replay");
    Counter& a = replay.counter("accesses", "accesses");
    replay.formula("half", "half of the accesses", [&a] { return static_cast<double>(a.value()) / 2; });
    StatGroup& walker = root.group("mmu").group("walker");
    Histogram& h = walker.histogram("latency", "walk latency", {10, 20});
    Counter& w = walker.counter("walks", "walks");
    a += 5;
    h.sample(5);
    h.sample(25);
    w += 2;
  }
};

const char kCsvStats[] =
    "path,value\n"
    "replay.accesses,5\n"
    "replay.half,2.5\n"
    "mmu.walker.latency.count,2\n"
    "mmu.walker.latency.sum,30\n"
    "mmu.walker.latency.min,5\n"
    "mmu.walker.latency.max,25\n"
    "mmu.walker.latency.buckets.le_10,1\n"
    "mmu.walker.latency.buckets.le_20,0\n"
    "mmu.walker.latency.buckets.gt_20,1\n"
    "mmu.walker.walks,2\n";

TEST(StatsWriter, CsvIsEveryStatisticInDeclarationOrder) {
  Stats s;
  EXPECT_EQ(stats_csv(s.root, {}), kCsvStats);
}

TEST(StatsWriter, MarksRepeatEveryStatisticHistogramsIncluded) {
  Stats s;
  std::vector<MarkSnapshot> marks = {{"roi", s.root.snapshot()}};
  const std::string csv = stats_csv(s.root, marks);
  EXPECT_EQ(csv.substr(0, sizeof kCsvStats - 1), kCsvStats);
  EXPECT_EQ(csv.substr(sizeof kCsvStats - 1),
            "marks.roi.replay.accesses,5\n"
            "marks.roi.replay.half,2.5\n"
            "marks.roi.mmu.walker.latency.count,2\n"
            "marks.roi.mmu.walker.latency.sum,30\n"
            "marks.roi.mmu.walker.latency.min,5\n"
            "marks.roi.mmu.walker.latency.max,25\n"
            "marks.roi.mmu.walker.latency.buckets.le_10,1\n"
            "marks.roi.mmu.walker.latency.buckets.le_20,0\n"
            "marks.roi.mmu.walker.latency.buckets.gt_20,1\n"
            "marks.roi.mmu.walker.walks,2\n");
}

TEST(StatsWriter, JsonNestsByPathAndKeepsMarksFlat) {
  Stats s;
  RunMetadata meta;
  meta.version = "v";
  std::vector<MarkSnapshot> marks = {{"roi", s.root.snapshot()}};
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(stats_json(s.root, marks, meta));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"meta", "replay", "mmu", "marks"}));
  EXPECT_EQ(j["meta"]["version"], "v");
  EXPECT_EQ(j["replay"]["accesses"], 5);
  EXPECT_EQ(j["replay"]["half"], 2.5);
  const auto& h = j["mmu"]["walker"]["latency"];
  EXPECT_EQ(h["count"], 2);
  EXPECT_EQ(h["sum"], 30);
  EXPECT_EQ(h["min"], 5);
  EXPECT_EQ(h["max"], 25);
  EXPECT_EQ(h["buckets"]["le_10"], 1);
  EXPECT_EQ(h["buckets"]["le_20"], 0);
  EXPECT_EQ(h["buckets"]["gt_20"], 1);
  EXPECT_EQ(j["mmu"]["walker"]["walks"], 2);
  EXPECT_EQ(j["marks"]["roi"]["mmu.walker.latency.buckets.gt_20"], 1);
  EXPECT_EQ(j["marks"]["roi"]["replay.half"], 2.5);
  EXPECT_EQ(j["marks"]["roi"].size(), 10u);
}

}  // namespace
}  // namespace mmusim
