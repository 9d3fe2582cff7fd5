// `mmusim check`: golden-statistics regression cases, for CI.
//
// A case is a directory holding case.yaml and expected.csv:
//
//   description: 4-level paging, default config, the ls-small trace
//   config: ../../../configs/x86_64.yaml   # optional; paths relative to the case directory
//   traces: [../../../traces/ls-small.lackey.zst]
//   set: {os.thp: always}                  # optional
//   max_accesses: 0                        # optional
//   tolerance: {replay.cycles: 0.01}       # optional: relative tolerance per statistic
//                                          # (a key ending in * matches a prefix)
//
// expected.csv is the stats.csv of a reviewed run (scripts/update-golden
// writes it). Every expected statistic must come out equal (or within its
// tolerance); a missing one is a difference; a new statistic is listed but
// not a difference, so adding statistics does not break the check.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace mmusim {

struct CheckOptions {
  std::vector<std::string> paths;  // case directories, or directories of cases
  std::string exe;                 // the mmusim binary the cases run
  std::string workdir;             // where runs write (kept); empty: a temporary directory, removed
  bool update = false;             // rewrite expected.csv instead of comparing
  bool check_invariants = false;   // run each case with --check-invariants
};

// Returns 0 when every case matches, 1 on any difference or failed run.
// Throws ExperimentError for a malformed case (exit code 2).
int run_check(const CheckOptions& o, std::ostream& out);

}  // namespace mmusim
