// `mmusim sweep`: runs every (point, trace) of an experiment as its own
// `mmusim run` process, locally (-j N at a time) or as one Slurm job array,
// and collects OUTDIR/results.csv.
//
// Layout: OUTDIR/runs/<point-id>/<trace>/{config.yaml, stats.json, stats.csv,
// log, cmd}. A run is finished only when its stats.json exists (the simulator
// writes it atomically, last) and its cmd and config.yaml are those this
// sweep would use; --resume skips finished runs and reruns the others.
// results.csv has one row per (point, trace), in point order then trace
// order: point id, the swept keys, trace, status, every metric.
//
// One pass (--method one-pass, or auto when it applies): when the swept keys
// that change a TLB are only the entries and ways of one LRU TLB, and every
// metric is that TLB's hits, misses or accesses (or mmu.walker.walks, when
// every walk follows a lookup of that TLB: walks_follow_tlb in config.h),
// each group of points that agree on the other swept keys (they may change
// anything else) needs one run per trace: the run records the
// TLB's miss curves (mmu.tlbs.<T>.curves, models/tlb/miss_curves.h), which
// give those counters exactly for every geometry. The runs go to
// OUTDIR/passes/<group-id>/<trace>/ and results.csv is the same file the
// separate runs give. Otherwise auto falls back to separate runs, saying
// why in one line, and one-pass is an error.
#pragma once

#include <string>
#include <vector>

#include "sim/experiment/experiment.h"

namespace mmusim {

struct SweepOptions {
  std::string outdir;
  unsigned jobs = 1;
  std::string backend = "local";  // local | slurm
  bool resume = false;
  bool progress = false;        // rewrite one progress line (a terminal) instead of a line per finished run
  std::string exe;              // the mmusim binary children run
  std::string method = "auto";  // exact | one-pass | auto
  // Slurm backend.
  std::string partition;
  std::string time_limit;
  unsigned cpus_per_task = 1;
  std::vector<std::string> sbatch_args;
  double poll_seconds = 1.0;
};

// Runs the sweep; returns 0 when every run finished, 1 when some failed
// (results.csv is written either way, failed rows with status "failed").
// Throws ExperimentError for configuration problems (exit code 2).
int run_sweep(const Experiment& e, const SweepOptions& o);

// Whether the experiment can run in one pass per (group, trace); if not,
// why (one line). Loads every point's configuration.
struct OnePassPlan {
  bool ok = false;
  std::string reason;
  std::string tlb;  // the swept TLB
};
OnePassPlan one_pass_plan(const Experiment& e);

}  // namespace mmusim
