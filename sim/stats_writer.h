// The one writer of statistics: stats.json (nested by path, with run
// metadata), stats.csv (path,value) and the summary printed on stdout.
//
// Files are written to a temporary name and renamed into place, so a reader
// never sees a half-written file, and the caller writes them only for a run
// that completed. Values come out in declaration order; the statistics part
// of both files is byte-identical for identical inputs (the wall time and
// rate live only in the JSON's "meta" object).
#pragma once

#include <string>
#include <vector>

#include "models/common/stats.h"

namespace mmusim {

struct RunMetadata {
  std::string version;
  std::string git_commit;
  std::string config_hash;
  std::string config_source;
  std::vector<std::string> traces;
  std::string trace_format;
  std::uint64_t max_accesses = 0;
  bool truncated = false;  // stopped by --max-accesses
  double wall_seconds = 0;
  double accesses_per_second = 0;
};

// Writes OUTDIR/config.yaml, OUTDIR/stats.csv and OUTDIR/stats.json: all
// three to temporaries first, then renamed into place in that order, so
// stats.json appears last and only when the others are in place. Returns ""
// or the error, naming the file and the OS error (main() exits with 4); on
// failure no temporary and none of the three files is left. No exception:
// it runs after sc_start() (see try_write_temp in sim/output_file.h).
std::string write_stats(const std::string& outdir, const std::string& config_yaml, const StatGroup& root,
                        const std::vector<MarkSnapshot>& marks, const RunMetadata& meta,
                        const std::string& curves_csv = std::string());  // written before stats.json when not empty
std::string stats_json(const StatGroup& root, const std::vector<MarkSnapshot>& marks, const RunMetadata& meta);
std::string stats_csv(const StatGroup& root, const std::vector<MarkSnapshot>& marks);
std::string format_summary(const StatGroup& root, const RunMetadata& meta);

}  // namespace mmusim
