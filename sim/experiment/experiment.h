// Experiment files (`mmusim sweep EXP.yaml`): a base configuration, traces,
// settings applied to every point, and the swept keys, expanded into points.
//
//   name: l1d-reach
//   base: configs/x86_64.yaml        # optional; the built-in default otherwise
//   traces: [traces/a.bin.zst, traces/b.bin.zst, [traces/c.bin.zst, traces/d.bin.zst]]
//                                    # a list entry: those traces as processes of one run
//   set: {os.thp: always}            # applied to every point
//   sweep:                           # cartesian product, first key slowest
//     mmu.tlbs.l1d.entries: [32, 64, 128]
//   zip:                             # advanced together, then crossed with sweep
//     mmu.tlbs.l2.entries: [1024, 2048]
//     mmu.tlbs.l2.ways: [8, 16]
//   metrics: [mmu.tlb.l1d.misses, replay.cycles]
//   max_accesses: 100000             # optional: each run stops after N accesses
//
// A point is the list of (key, value) pairs of the swept and zipped keys; its
// id is a readable prefix plus a hash of its sorted "key=value" lines, so it
// depends only on the point's values (not on its position in the sweep) and
// reruns land in the same directory. Every point is validated with the config
// loader before anything runs. This part has no SystemC and no processes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mmusim {

// Errors in an experiment file (exit code 2): "FILE:LINE:COL: KEY: ..." or
// "FILE: point N (k=v, ...): ...".
class ExperimentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Limits (README, Limits): checked before anything is expanded or run.
constexpr std::uint64_t kMaxSweepPoints = 10000;  // points of one experiment (sweep x zip)
constexpr std::size_t kMaxTracesPerRun = 64;      // traces of one list entry (as mmusim run's -t)
constexpr std::size_t kMaxExperimentBytes = 16u << 20;

struct Point {
  std::vector<std::pair<std::string, std::string>> values;  // sweep keys, then zip keys, in file order
  std::string id;
  std::string label() const;  // "k=v, k=v" (or "base" for an empty point)
};

struct Experiment {
  std::string file;
  std::string name;
  std::string base;  // absolute path, or empty: the built-in default
  // One entry per run: its trace files (absolute paths; several run as
  // processes of one run, mmusim run -t A -t B).
  std::vector<std::vector<std::string>> traces;
  // Unique short names (the file names without extensions, joined by '+').
  std::vector<std::string> trace_names;
  std::vector<std::string> set;   // "key=value", applied to every point before the point's values
  std::vector<std::string> keys;  // swept keys (sweep, then zip), the results.csv columns
  std::vector<std::string> metrics;
  std::uint64_t max_accesses = 0;
  std::vector<Point> points;

  // --set arguments of one point: the experiment's set, then the point's values.
  std::vector<std::string> overrides(const Point& p) const;
};

// Parses and expands EXP.yaml. Relative paths are tried against the current
// directory, then the experiment file's directory, then fallback_dir (the
// source tree, so the shipped examples run from anywhere). Throws ExperimentError.
Experiment load_experiment(const std::string& path, const std::string& fallback_dir = "");
// Same, from text (for tests); file names the source in errors, dir resolves paths.
Experiment parse_experiment(const std::string& text, const std::string& file, const std::string& dir,
                            const std::string& fallback_dir = "");
// Loads every point's configuration; the first failure throws ExperimentError
// naming the file, the point and the key.
void validate_points(const Experiment& e);

// The stable id of a point with these values.
std::string point_id(const std::vector<std::pair<std::string, std::string>>& values);
// The short name of a trace: file name without directories and extensions.
std::string trace_short_name(const std::string& path);
// 64-bit FNV-1a as 16 hex digits.
std::string fnv1a64_hex(const std::string& s);

}  // namespace mmusim
