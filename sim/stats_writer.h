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
#include "sim/replay.h"

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

// Writes OUTDIR/stats.json and OUTDIR/stats.csv; throws std::runtime_error.
void write_stats(const std::string& outdir, const StatGroup& root, const std::vector<MarkSnapshot>& marks,
                 const RunMetadata& meta);
// Writes a file atomically (temporary + rename); throws std::runtime_error.
void write_file_atomic(const std::string& path, const std::string& content);
std::string stats_csv(const StatGroup& root, const std::vector<MarkSnapshot>& marks);
std::string format_summary(const StatGroup& root, const RunMetadata& meta);

}  // namespace mmusim
