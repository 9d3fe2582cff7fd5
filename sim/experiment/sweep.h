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
  bool progress = false;  // rewrite one progress line (a terminal) instead of a line per finished run
  std::string exe;        // the mmusim binary children run
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

}  // namespace mmusim
