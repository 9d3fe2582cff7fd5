// Experiment files: point expansion (cartesian, zip, set), stable point ids,
// and the errors of bad files. No SystemC, no processes.
#include "sim/experiment/experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "sim/config/config.h"

using namespace mmusim;

namespace {

const std::string kDir = MMUSIM_SOURCE_DIR;

Experiment parse(const std::string& text) { return parse_experiment(text, "exp.yaml", kDir); }

std::string error_of(const std::string& text, bool validate = false) {
  try {
    Experiment e = parse(text);
    if (validate) validate_points(e);
  } catch (const ExperimentError& err) {
    return err.what();
  }
  return "";
}

std::string value(const Point& p, const std::string& key) {
  for (const auto& kv : p.values)
    if (kv.first == key) return kv.second;
  return "<absent>";
}

const char* const kTraces = "traces: [traces/ls-small.lackey.zst]\n";

}  // namespace

TEST(Experiment, CartesianProductHasEveryCombinationOnceFirstKeySlowest) {
  Experiment e = parse(std::string(kTraces) +
                       "sweep:\n"
                       "  mmu.tlbs.l1d.entries: [32, 64, 128]\n"
                       "  paging.mode: [x86_64, x86_64_la57]\n");
  ASSERT_EQ(e.points.size(), 6u);
  EXPECT_EQ(e.keys, (std::vector<std::string>{"mmu.tlbs.l1d.entries", "paging.mode"}));
  // Brute force: the nested loops a user would write, in the same order.
  size_t i = 0;
  for (const char* entries : {"32", "64", "128"})
    for (const char* mode : {"x86_64", "x86_64_la57"}) {
      EXPECT_EQ(value(e.points[i], "mmu.tlbs.l1d.entries"), entries) << i;
      EXPECT_EQ(value(e.points[i], "paging.mode"), mode) << i;
      ++i;
    }
}

TEST(Experiment, ZipAdvancesTogetherThenCrossesWithSweep) {
  Experiment e = parse(std::string(kTraces) +
                       "sweep: {mmu.tlbs.l1d.entries: [32, 64]}\n"
                       "zip:\n"
                       "  mmu.tlbs.l2.entries: [1024, 2048]\n"
                       "  mmu.tlbs.l2.ways: [8, 16]\n");
  ASSERT_EQ(e.points.size(), 4u);  // 2 sweep values x 2 zip rows, not 2 x 2 x 2
  std::set<std::string> seen;
  for (const auto& p : e.points) {
    const std::string l2 = value(p, "mmu.tlbs.l2.entries"), ways = value(p, "mmu.tlbs.l2.ways");
    EXPECT_TRUE((l2 == "1024" && ways == "8") || (l2 == "2048" && ways == "16")) << p.label();
    seen.insert(value(p, "mmu.tlbs.l1d.entries") + "/" + l2);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(e.keys.back(), "mmu.tlbs.l2.ways");
}

TEST(Experiment, ZipAloneAndNoSweepAtAll) {
  Experiment z = parse(std::string(kTraces) + "zip: {mmu.tlbs.l2.entries: [1024, 2048], mmu.tlbs.l2.ways: [8, 16]}\n");
  EXPECT_EQ(z.points.size(), 2u);
  Experiment none = parse(kTraces);
  ASSERT_EQ(none.points.size(), 1u);
  EXPECT_TRUE(none.points[0].values.empty());
  EXPECT_EQ(none.points[0].label(), "base");
}

TEST(Experiment, SetAppliesToEveryPointBeforeThePointsValues) {
  Experiment e = parse(std::string(kTraces) +
                       "set: {os.thp: always, mmu.tlbs.l1d.page_sizes: [4K, 2M]}\n"
                       "sweep: {mmu.tlbs.l1d.entries: [32, 64]}\n");
  ASSERT_EQ(e.points.size(), 2u);
  for (const auto& p : e.points) {
    auto o = e.overrides(p);
    ASSERT_EQ(o.size(), 3u);
    EXPECT_EQ(o[0], "os.thp=always");
    EXPECT_EQ(o[1], "mmu.tlbs.l1d.page_sizes=[4K, 2M]");
    Config c = load_config(e.base, o).config;
    EXPECT_EQ(c.os.thp, ThpMode::Always);
    EXPECT_EQ(c.mmu.tlbs.at("l1d").page_sizes.size(), 2u);
    EXPECT_EQ(std::to_string(c.mmu.tlbs.at("l1d").entries), value(p, "mmu.tlbs.l1d.entries"));
  }
  EXPECT_NO_THROW(validate_points(e));
}

TEST(Experiment, BaseAndTracesResolveAgainstTheExperimentDirectory) {
  Experiment e = parse("base: configs/small-tlb.yaml\n" + std::string(kTraces));
  EXPECT_EQ(e.base, kDir + "/configs/small-tlb.yaml");
  EXPECT_EQ(e.traces[0], std::vector<std::string>{kDir + "/traces/ls-small.lackey.zst"});
  EXPECT_EQ(e.trace_names[0], "ls-small");
  EXPECT_EQ(load_config(e.base, e.overrides(e.points[0])).config.mmu.tlbs.at("l1d").entries, 16u);
}

TEST(Experiment, AListEntryRunsItsTracesAsProcessesOfOneRun) {
  Experiment e =
      parse("traces: [traces/ls-small.lackey.zst, [traces/ls-small.lackey.zst, traces/sort-words.bin.zst]]\n");
  ASSERT_EQ(e.traces.size(), 2u);
  EXPECT_EQ(e.traces[1],
            (std::vector<std::string>{kDir + "/traces/ls-small.lackey.zst", kDir + "/traces/sort-words.bin.zst"}));
  EXPECT_EQ(e.trace_names[1], "ls-small+sort-words");
  // An empty list, a map, or a missing file inside a list are errors naming the place.
  EXPECT_NE(error_of("traces: [[]]\n").find("exp.yaml:1:10: traces: an empty list"), std::string::npos)
      << error_of("traces: [[]]\n");
  EXPECT_NE(error_of("traces: [[traces/ls-small.lackey.zst, nope.bin]]\n").find("no such trace file 'nope.bin'"),
            std::string::npos);
  EXPECT_NE(error_of("traces: [{a: b}]\n").find("expected a file name or a list"), std::string::npos);
  // The same combination twice would write the same directory.
  EXPECT_NE(error_of("traces: [[traces/ls-small.lackey.zst], traces/ls-small.lackey.zst]\n").find("share the name"),
            std::string::npos);
}

TEST(PointId, Fnv1aMatchesPublishedTestVectors) {
  // FNV-1a 64 reference values (Fowler, Noll, Vo: offset basis; "a"; "foobar").
  EXPECT_EQ(fnv1a64_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a64_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv1a64_hex("foobar"), "85944171f73967e8");
}

TEST(PointId, DependsOnlyOnThePointsValues) {
  Experiment a = parse(std::string(kTraces) + "sweep: {mmu.tlbs.l1d.entries: [32, 64], os.thp: [never, always]}\n");
  // The same points, listed in another order and with one more value: the ids stay.
  Experiment b = parse(std::string(kTraces) + "sweep: {mmu.tlbs.l1d.entries: [16, 64, 32], os.thp: [always, never]}\n");
  std::set<std::string> ids_b;
  for (const auto& p : b.points) ids_b.insert(p.id);
  std::set<std::string> ids_a;
  for (const auto& p : a.points) {
    EXPECT_TRUE(ids_b.count(p.id)) << p.id;
    ids_a.insert(p.id);
  }
  EXPECT_EQ(ids_a.size(), 4u);  // distinct values, distinct ids
  EXPECT_EQ(ids_b.size(), 6u);
  // The hash part is FNV-1a of the sorted "key=value\n" lines, readable prefix first.
  const std::string id = point_id({{"os.thp", "always"}, {"mmu.tlbs.l1d.entries", "32"}});
  EXPECT_EQ(id,
            "os.thp-always_l1d.entries-32-" + fnv1a64_hex("mmu.tlbs.l1d.entries=32\nos.thp=always\n").substr(0, 10));
  EXPECT_EQ(point_id({}).substr(0, 5), "base-");
  // A long point keeps whole key-value parts in its readable prefix, never half a value.
  const std::vector<std::pair<std::string, std::string>> v = {{"mmu.tlbs.l1d.entries", "16"},
                                                              {"paging.mode", "x86_64"},
                                                              {"mmu.tlbs.l2.entries", "1024"},
                                                              {"mmu.tlbs.l2.ways", "8"}};
  EXPECT_EQ(point_id(v), "l1d.entries-16_paging.mode-x86_64-" +
                             fnv1a64_hex("mmu.tlbs.l1d.entries=16\nmmu.tlbs.l2.entries=1024\nmmu.tlbs.l2.ways=8\n"
                                         "paging.mode=x86_64\n")
                                 .substr(0, 10));
}

TEST(ExperimentErrors, UnknownTopLevelKeySuggestsTheNearest) {
  std::string err = error_of(std::string(kTraces) + "sweeps: {os.thp: [never]}\n");
  EXPECT_NE(err.find("exp.yaml:2:1: unknown key 'sweeps'"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'sweep'"), std::string::npos) << err;
}

TEST(ExperimentErrors, ClearMessagesNamingLineAndKey) {
  EXPECT_NE(error_of("sweep: {os.thp: [never]}\n").find("traces: missing"), std::string::npos);
  EXPECT_NE(error_of("traces: [nope.bin]\n").find("exp.yaml:1:10: traces: no such trace file 'nope.bin'"),
            std::string::npos)
      << error_of("traces: [nope.bin]\n");
  std::string err =
      error_of(std::string(kTraces) + "zip:\n  mmu.tlbs.l2.entries: [1024, 2048]\n  mmu.tlbs.l2.ways: [8]\n");
  EXPECT_NE(err.find("exp.yaml:4:21: zip.mmu.tlbs.l2.ways: has 1 values but zip.mmu.tlbs.l2.entries has 2"),
            std::string::npos)
      << err;
  err = error_of(std::string(kTraces) + "sweep:\n  os.thp: always\n");
  EXPECT_NE(err.find("exp.yaml:3:11: sweep.os.thp: expected a list of values"), std::string::npos) << err;
  err = error_of(std::string(kTraces) + "sweep: {os.thp: [never, never]}\n");
  EXPECT_NE(err.find("appears twice"), std::string::npos) << err;
  err = error_of(std::string(kTraces) + "set: {os.thp: always}\nsweep: {os.thp: [never]}\n");
  EXPECT_NE(err.find("'os.thp' is both in set and swept"), std::string::npos) << err;
  err = error_of(std::string(kTraces) + "max_accesses: lots\n");
  EXPECT_NE(err.find("exp.yaml:2:15: max_accesses: expected a whole number"), std::string::npos) << err;
  err = error_of("traces: [a\n");
  EXPECT_NE(err.find("exp.yaml:"), std::string::npos) << err;
  EXPECT_NE(err.find("YAML syntax error"), std::string::npos) << err;
}

TEST(ExperimentErrors, ABadValueInALatePointFailsValidationNamingThePointAndKey) {
  // Point 5 of 6 (entries 48, ways 4 -> 12 sets) breaks the power-of-two-sets rule.
  std::string err = error_of(std::string(kTraces) +
                                 "sweep:\n"
                                 "  mmu.tlbs.l1d.entries: [32, 64, 48]\n"
                                 "  os.thp: [never, always]\n",
                             true);
  EXPECT_NE(err.find("exp.yaml: point 5 of 6 (mmu.tlbs.l1d.entries=48, os.thp=never)"), std::string::npos) << err;
  EXPECT_NE(err.find("mmu.tlbs.l1d.ways"), std::string::npos) << err;
  err = error_of(std::string(kTraces) + "sweep: {mmu.tlbs.l1d.entrys: [32]}\n", true);
  EXPECT_NE(err.find("point 1 of 1"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'mmu.tlbs.l1d.entrys'"), std::string::npos) << err;
  err = error_of(std::string(kTraces) + "set: {paging.mode: sv39}\n", true);
  EXPECT_NE(err.find("paging.mode"), std::string::npos) << err;
}

TEST(ShippedExperiments, EveryFileInConfigsExperimentsLoadsAndEveryPointValidates) {
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(kDir + "/configs/experiments")) {
    if (f.path().extension() != ".yaml") continue;
    SCOPED_TRACE(f.path().string());
    Experiment e;
    ASSERT_NO_THROW(e = load_experiment(f.path().string(), kDir));
    EXPECT_NO_THROW(validate_points(e));
    EXPECT_GE(e.points.size(), 1u);
    ++n;
  }
  EXPECT_GE(n, 2u);
}

TEST(ExperimentErrors, TheNameIsOneSafePathComponent) {
  for (const char* bad : {"../../../x", "a/b", "a b", ".."}) {
    const std::string err = error_of(std::string("name: \"") + bad + "\"\n" + kTraces);
    EXPECT_NE(err.find("exp.yaml:1:7: name: expected 1 to 64 letters, digits, '_' or '-'"), std::string::npos) << err;
  }
  EXPECT_EQ(parse(std::string("name: good_name-2\n") + kTraces).name, "good_name-2");
}

TEST(ExperimentErrors, ThePointCountIsCheckedBeforeExpansion) {
  // 8 keys x 100 values: 10^16 points, refused at once with the product.
  std::string text = kTraces + std::string("sweep:\n");
  for (int k = 0; k < 8; ++k) {
    text += "  k" + std::to_string(k) + ": [";
    for (int v = 0; v < 100; ++v) text += (v ? ", " : "") + std::to_string(v);
    text += "]\n";
  }
  const std::string err = error_of(text);
  EXPECT_NE(err.find("the sweep has 10000000000000000 points"), std::string::npos) << err;
  EXPECT_NE(err.find("at most 10000 points"), std::string::npos) << err;
  // 100 x 100 = 10000 is the limit itself and expands.
  EXPECT_EQ(parse(
                kTraces + std::string("sweep:\n  seed: [") +
                [] {
                  std::string s;
                  for (int v = 0; v < 100; ++v) s += (v ? ", " : "") + std::to_string(v);
                  return s;
                }() +
                "]\nzip:\n  os.swappiness: [" +
                [] {
                  std::string s;
                  for (int v = 0; v < 100; ++v) s += (v ? ", " : "") + std::to_string(v);
                  return s;
                }() +
                "]\n")
                .points.size(),
            10000u);
}
