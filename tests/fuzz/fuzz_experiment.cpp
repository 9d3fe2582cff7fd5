// libFuzzer target for the experiment loader (sim/experiment/experiment.cpp):
// parse_experiment, then validate_points, which loads every point's
// configuration through the config loader and --set. scripts/fuzz builds and
// runs it as "experiment"; seeds are in tests/fuzz/corpus/experiment/.
//
// Relative paths resolve against a directory made at start-up holding the
// trace files t.txt, a.txt and b.txt and the config base.yaml, so inputs get
// past the traces: key. ExperimentError is the expected answer to bad input
// (and ConfigError from validate_points); any other exception escapes and
// libFuzzer reports it as a crash. Checked promises: at most kMaxSweepPoints
// points, expanded only after the count is known (a 10^16-point sweep must
// fail fast, not allocate); the name a safe path component; point ids unique;
// messages short and without NUL bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "sim/config/config.h"
#include "sim/experiment/experiment.h"
#include "tests/support/fuzz_support.h"

namespace {

const std::string& fixture_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/mmusim-fuzz-experiment-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    const std::string d = tmpl;
    for (const char* name : {"t.txt", "a.txt", "b.txt"}) mmusim::write_file_or_abort(d + "/" + name, "R 0x1000\n");
    mmusim::write_file_or_abort(d + "/base.yaml", "os: {thp: always}\n");
    return d;
  }();
  return dir;
}

constexpr std::size_t kMaxMessage = 8192;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string& dir = fixture_dir();
  mmusim::Experiment e;
  try {
    e = mmusim::parse_experiment(text, dir + "/e.yaml", dir);
  } catch (const mmusim::ExperimentError& err) {
    mmusim::check_message(err.what(), kMaxMessage);
    return 0;
  }
  if (e.points.empty() || e.points.size() > mmusim::kMaxSweepPoints || !mmusim::is_safe_name(e.name)) std::abort();
  std::set<std::string> ids;
  for (const auto& p : e.points)
    if (!ids.insert(p.id).second) std::abort();
  if (e.points.size() > 64) return 0;  // validating thousands of points is slow, not more interesting
  try {
    mmusim::validate_points(e);
  } catch (const mmusim::ExperimentError& err) {
    mmusim::check_message(err.what(), kMaxMessage);
  }
  return 0;
}
