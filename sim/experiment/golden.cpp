#include "sim/experiment/golden.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>

#include "sim/config/config.h"
#include "sim/experiment/child_process.h"
#include "sim/experiment/csv.h"
#include "sim/experiment/experiment.h"
#include "sim/output_file.h"

namespace fs = std::filesystem;

namespace mmusim {

namespace {

struct GoldenCase {
  std::string dir, name;
  std::string config;
  std::vector<std::string> traces, set;
  std::uint64_t max_accesses = 0;
  std::vector<std::pair<std::string, double>> tolerance;
};

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string case_path(const std::string& file, const std::string& dir, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) throw ExperimentError(where(file, n) + ": " + key + ": expected a file name");
  fs::path p = fs::path(n.Scalar()).is_absolute() ? fs::path(n.Scalar()) : fs::path(dir) / n.Scalar();
  std::error_code ec;
  if (!fs::exists(p, ec)) throw ExperimentError(where(file, n) + ": " + key + ": no such file '" + n.Scalar() + "'");
  return fs::absolute(p).lexically_normal().string();
}

GoldenCase load_case(const std::string& dir) {
  const std::string file = dir + "/case.yaml";
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::ParserException& e) {
    throw ExperimentError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                          ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ExperimentError(file + ": cannot read: " + e.what());
  }
  if (!root.IsMap()) throw ExperimentError(file + ": expected a map with config, traces, ...");
  GoldenCase c;
  c.dir = dir;
  c.name = fs::path(dir).filename().string();
  static const std::vector<std::string> keys = {"description", "config", "traces", "set", "max_accesses", "tolerance"};
  for (const auto& kv : root)
    if (std::find(keys.begin(), keys.end(), kv.first.Scalar()) == keys.end())
      throw ExperimentError(where(file, kv.first) + ": unknown key '" + kv.first.Scalar() +
                            "' (keys: description, config, traces, set, max_accesses, tolerance)");
  if (root["config"]) c.config = case_path(file, dir, root["config"], "config");
  const YAML::Node& tr = root["traces"];
  if (!tr || !tr.IsSequence() || tr.size() == 0)
    throw ExperimentError(where(file, tr ? tr : root) + ": traces: expected a non-empty list of trace files");
  for (const auto& t : tr) c.traces.push_back(case_path(file, dir, t, "traces"));
  if (root["set"]) {
    if (!root["set"].IsMap()) throw ExperimentError(where(file, root["set"]) + ": set: expected a map of KEY: value");
    for (const auto& kv : root["set"]) {
      std::string v;
      if (kv.second.IsScalar()) {
        v = kv.second.Scalar();
      } else {
        YAML::Emitter e;
        e << YAML::Flow << kv.second;
        v = e.c_str();
      }
      c.set.push_back(kv.first.Scalar() + "=" + v);
    }
  }
  if (root["max_accesses"]) {
    try {
      c.max_accesses = root["max_accesses"].as<std::uint64_t>();
    } catch (const YAML::Exception&) {
      throw ExperimentError(where(file, root["max_accesses"]) + ": max_accesses: expected a whole number");
    }
  }
  if (root["tolerance"]) {
    const YAML::Node& t = root["tolerance"];
    if (!t.IsMap())
      throw ExperimentError(where(file, t) + ": tolerance: expected a map of STATISTIC: relative tolerance");
    for (const auto& kv : t) {
      double v = -1;
      try {
        v = kv.second.as<double>();
      } catch (const YAML::Exception&) {
      }
      if (!(v >= 0 && v < 1))
        throw ExperimentError(where(file, kv.second) + ": tolerance." + kv.first.Scalar() +
                              ": expected a relative tolerance in [0, 1), e.g. 0.01 for 1%");
      c.tolerance.emplace_back(kv.first.Scalar(), v);
    }
  }
  return c;
}

std::vector<std::string> find_cases(const std::vector<std::string>& paths) {
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& p : paths) {
    if (fs::exists(p + "/case.yaml", ec)) {
      cases.push_back(p);
      continue;
    }
    if (!fs::is_directory(p, ec))
      throw ExperimentError(p + ": not a golden case (no case.yaml) nor a directory of cases");
    std::vector<std::string> sub;
    for (const auto& d : fs::directory_iterator(p))
      if (fs::exists(d.path() / "case.yaml", ec)) sub.push_back(d.path().string());
    if (sub.empty()) throw ExperimentError(p + ": holds no golden case (a directory with case.yaml)");
    std::sort(sub.begin(), sub.end());
    cases.insert(cases.end(), sub.begin(), sub.end());
  }
  return cases;
}

// The relative tolerance declared for a statistic, or -1 (exact).
double tolerance_of(const GoldenCase& c, const std::string& stat) {
  for (const auto& t : c.tolerance) {
    const std::string& k = t.first;
    if (k == stat) return t.second;
    if (!k.empty() && k.back() == '*' && stat.compare(0, k.size() - 1, k, 0, k.size() - 1) == 0) return t.second;
  }
  return -1;
}

// A truncated or garbled expected.csv must not pass for an empty expectation
// (nothing to compare, so "ok"): it is a malformed case, exit code 2.
void check_expected(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return;  // a missing file is reported as a failed case
  std::string line;
  std::size_t n = 0, rows = 0;
  std::set<std::string> seen;
  auto bad = [&](const std::string& what) {
    throw ExperimentError(
        path + ":" + std::to_string(n) + ": " + what +
        " (expected.csv is a run's stats.csv: the header path,value, then one STATISTIC,NUMBER a line;"
        " scripts/update-golden rewrites it)");
  };
  while (std::getline(f, line)) {
    ++n;
    if (n == 1) {
      if (line != "path,value") bad("expected the header 'path,value', got '" + shown_value(line) + "'");
      continue;
    }
    const std::size_t comma = line.find(',');
    if (comma == std::string::npos || comma == 0) bad("expected STATISTIC,NUMBER, got '" + shown_value(line) + "'");
    const std::string key = line.substr(0, comma), value = line.substr(comma + 1);
    for (char c : key)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
        bad("expected a statistic name of letters, digits, '_', '.' and '-', got '" + shown_value(key) + "'");
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || value.find('\0') != std::string::npos)
      bad(key + ": expected a number, got '" + shown_value(value) + "'");
    if (!seen.insert(key).second) bad(key + ": given twice");
    ++rows;
  }
  if (n == 0) throw ExperimentError(path + ": is empty; expected a run's stats.csv (scripts/update-golden writes it)");
  if (rows == 0) throw ExperimentError(path + ": has no statistic after its header; expected a run's stats.csv");
}

std::string make_tmpdir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mmusim-check-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("cannot create a temporary directory from " + tmpl);
  return buf.data();
}

}  // namespace

int run_check(const CheckOptions& o, std::ostream& out) {
  std::vector<std::string> dirs = find_cases(o.paths);
  std::vector<GoldenCase> cases;
  for (const auto& d : dirs) cases.push_back(load_case(d));
  if (!o.update)
    for (const GoldenCase& c : cases) check_expected(c.dir + "/expected.csv");
  const bool keep = !o.workdir.empty();
  const std::string work = keep ? o.workdir : make_tmpdir();
  size_t bad = 0;
  for (const GoldenCase& c : cases) {
    const std::string rundir = work + "/" + c.name;
    std::error_code ec;
    fs::create_directories(rundir, ec);
    std::vector<std::string> argv{o.exe, "run"};
    if (!c.config.empty()) argv.insert(argv.end(), {"-c", c.config});
    for (const auto& s : c.set) argv.insert(argv.end(), {"--set", s});
    for (const auto& t : c.traces) argv.insert(argv.end(), {"-t", t});
    argv.insert(argv.end(), {"-o", rundir, "--quiet"});
    if (o.check_invariants) argv.push_back("--check-invariants");
    if (c.max_accesses) argv.insert(argv.end(), {"--max-accesses", std::to_string(c.max_accesses)});
    int code = wait_exit(spawn(argv, rundir + "/log"));
    if (code != 0 || !fs::exists(rundir + "/stats.csv", ec)) {
      out << "check: " << c.name << ": FAILED: the run exited with " << code << ": " << last_line(rundir + "/log")
          << "\n";
      ++bad;
      continue;
    }
    if (o.update) {
      write_file_atomic(c.dir + "/expected.csv", read_text(rundir + "/stats.csv"));
      out << "check: " << c.name << ": expected.csv updated\n";
      continue;
    }
    if (!fs::exists(c.dir + "/expected.csv", ec)) {
      out << "check: " << c.name << ": FAILED: no expected.csv (scripts/update-golden writes it)\n";
      ++bad;
      continue;
    }
    std::vector<std::string> order, actual_order;
    auto expected = read_stats_csv(c.dir + "/expected.csv", &order);
    auto actual = read_stats_csv(rundir + "/stats.csv", &actual_order);
    std::vector<std::string> diffs, added;
    for (const auto& k : order) {
      auto it = actual.find(k);
      const std::string& e = expected[k];
      if (it == actual.end()) {
        diffs.push_back("  - " + k + ": expected " + e + ", missing");
        continue;
      }
      if (it->second == e) continue;
      const double tol = tolerance_of(c, k);
      char* end1 = nullptr;
      char* end2 = nullptr;
      double ev = std::strtod(e.c_str(), &end1), av = std::strtod(it->second.c_str(), &end2);
      const bool numeric = end1 && *end1 == '\0' && end2 && *end2 == '\0' && !e.empty();
      double rel = numeric ? (ev == 0 ? (av == 0 ? 0 : INFINITY) : std::fabs(av - ev) / std::fabs(ev)) : INFINITY;
      if (tol >= 0 && rel <= tol) continue;
      char change[128] = "";
      if (numeric && tol >= 0)
        std::snprintf(change, sizeof change, " (%+g, %+.3g%%, tolerance %g%%)", av - ev,
                      ev == 0 ? 0.0 : 100.0 * (av - ev) / ev, tol * 100);
      else if (numeric)
        std::snprintf(change, sizeof change, " (%+g, %+.3g%%)", av - ev, ev == 0 ? 0.0 : 100.0 * (av - ev) / ev);
      diffs.push_back("  ~ " + k + ": expected " + e + ", got " + it->second + change);
    }
    for (const auto& k : actual_order)
      if (!expected.count(k)) added.push_back(k);
    if (diffs.empty()) {
      out << "check: " << c.name << ": ok (" << order.size() << " statistics";
      if (!added.empty())
        out << "; " << added.size() << " new, not compared: " << added.front() << (added.size() > 1 ? ", ..." : "");
      out << ")\n";
    } else {
      ++bad;
      out << "check: " << c.name << ": FAILED: " << diffs.size() << " of " << order.size()
          << " statistics differ (expected " << c.dir << "/expected.csv, got " << rundir << "/stats.csv)\n";
      for (const auto& d : diffs) out << d << "\n";
    }
  }
  if (!keep && bad == 0) fs::remove_all(work);
  else if (bad) out << "check: the runs are kept in " << work << "\n";
  out << "check: " << cases.size() - bad << " of " << cases.size() << " cases " << (o.update ? "updated" : "passed")
      << "\n";
  return bad ? 1 : 0;
}

}  // namespace mmusim
