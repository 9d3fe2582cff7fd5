#include "sim/experiment/experiment.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "sim/config/config.h"

namespace fs = std::filesystem;

namespace mmusim {

namespace {

const std::vector<std::string> kTopKeys = {"name",  "description", "base",    "traces",      "set",
                                           "sweep", "zip",         "metrics", "max_accesses"};
const std::vector<std::string> kDefaultMetrics = {"replay.accesses", "replay.cycles", "mmu.walker.walks",
                                                  "os.faults.minor"};

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& msg) {
  throw ExperimentError(where(file, n) + ": " + msg);
}

// A value as --set would take it: scalars as written, sequences in flow style.
std::string value_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << n;
  return out.c_str();
}

std::string resolve_path(const std::string& p, const std::string& dir, const std::string& fallback) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  std::error_code ec;
  if (fs::exists(p, ec)) return fs::absolute(p).lexically_normal().string();
  for (const std::string& d : {dir, fallback}) {
    if (d.empty()) continue;
    fs::path alt = fs::path(d) / p;
    if (fs::exists(alt, ec)) return fs::absolute(alt).lexically_normal().string();
  }
  return "";
}

// A map of key -> list of values; keeps file order.
std::vector<std::pair<std::string, std::vector<YAML::Node>>> read_axes(const std::string& file, const YAML::Node& n,
                                                                       const std::string& section) {
  std::vector<std::pair<std::string, std::vector<YAML::Node>>> axes;
  if (!n.IsMap()) fail(file, n, section + ": expected a map of KEY: [values...]");
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& vals = kv.second;
    if (!vals.IsSequence()) fail(file, vals, section + "." + key + ": expected a list of values, e.g. [32, 64]");
    if (vals.size() == 0) fail(file, vals, section + "." + key + ": the list of values is empty");
    std::vector<YAML::Node> v;
    std::set<std::string> seen;
    for (const auto& x : vals) {
      if (x.IsNull() || x.IsMap())
        fail(file, x, section + "." + key + ": expected a value, got " + (x.IsNull() ? "nothing" : "a map"));
      if (!seen.insert(value_text(x)).second)
        fail(file, x,
             section + "." + shown_value(key) + ": the value '" + shown_value(value_text(x)) + "' appears twice");
      v.push_back(x);
    }
    axes.emplace_back(key, std::move(v));
  }
  return axes;
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace

std::string fnv1a64_hex(const std::string& s) {
  std::uint64_t h = 14695981039346656037ull;  // the FNV-1a 64 offset basis
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string point_id(const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<std::string> lines;
  std::string prefix;
  bool full = false;
  for (const auto& kv : values) {
    lines.push_back(kv.first + "=" + kv.second + "\n");
    // The readable part: the key's last two components and the value.
    size_t dot = kv.first.rfind('.');
    if (dot != std::string::npos && dot > 0) dot = kv.first.rfind('.', dot - 1);
    std::string last = dot == std::string::npos ? kv.first : kv.first.substr(dot + 1);
    // Whole key-value parts only, up to 48 characters (the hash tells points apart).
    std::string part = slug(last) + "-" + slug(kv.second);
    if (!full && (prefix.empty() || prefix.size() + 1 + part.size() <= 48))
      prefix += (prefix.empty() ? "" : "_") + part;
    else full = true;
  }
  std::sort(lines.begin(), lines.end());
  std::string joined;
  for (const auto& l : lines) joined += l;
  if (prefix.empty()) prefix = "base";
  if (prefix.size() > 48) prefix.resize(48);
  return prefix + "-" + fnv1a64_hex(joined).substr(0, 10);
}

std::string trace_short_name(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  const char* const exts[] = {".zst", ".gz", ".xz", ".bin", ".lackey", ".txt", ".trace", ".champsim", ".champsimtrace"};
  for (bool again = true; again;) {
    again = false;
    for (const char* e : exts) {
      std::string ext = e;
      if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
        name.resize(name.size() - ext.size());
        again = true;
      }
    }
  }
  return slug(name);
}

std::string Point::label() const {
  if (values.empty()) return "base";
  std::string s;
  for (const auto& kv : values) s += (s.empty() ? "" : ", ") + kv.first + "=" + kv.second;
  return s;
}

std::vector<std::string> Experiment::overrides(const Point& p) const {
  std::vector<std::string> o = set;
  for (const auto& kv : p.values) o.push_back(kv.first + "=" + kv.second);
  return o;
}

Experiment parse_experiment(const std::string& text, const std::string& file, const std::string& dir,
                            const std::string& fallback_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ExperimentError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                          ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) throw ExperimentError(file + ": expected a map with traces, sweep, ... (see README, Experiments)");
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    if (std::find(kTopKeys.begin(), kTopKeys.end(), k) == kTopKeys.end()) {
      std::string near = nearest_key(k, kTopKeys);
      fail(file, kv.first,
           "unknown key '" + shown_value(k) + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
               " (keys: name, description, base, traces, set, sweep, zip, metrics, max_accesses)");
    }
  }

  Experiment e;
  e.file = file;
  if (root["name"]) {
    const YAML::Node& n = root["name"];
    if (!n.IsScalar() || !is_safe_name(n.Scalar()))
      fail(file, n,
           "name: expected 1 to 64 letters, digits, '_' or '-' (it names the output directory out/sweeps/NAME), got '" +
               (n.IsScalar() ? shown_value(n.Scalar()) : std::string("a ") + (n.IsMap() ? "map" : "list")) + "'");
    e.name = n.Scalar();
  } else {
    e.name = fs::path(file).stem().string();
    if (!is_safe_name(e.name))
      throw ExperimentError(
          file + ": the file name '" + shown_value(e.name) +
          "' is not a valid experiment name (1 to 64 letters, digits, '_' or '-'); give one with name:");
  }

  if (root["base"]) {
    const YAML::Node& b = root["base"];
    if (!b.IsScalar()) fail(file, b, "base: expected a config file name");
    e.base = resolve_path(b.Scalar(), dir, fallback_dir);
    if (e.base.empty()) fail(file, b, "base: no such config file '" + shown_value(b.Scalar()) + "'");
    std::error_code ec;
    if (fs::is_directory(e.base, ec))
      fail(file, b, "base: '" + shown_value(b.Scalar()) + "' is a directory; expected a config file");
  }

  const YAML::Node& tr = root["traces"];
  if (!tr)
    throw ExperimentError(file +
                          ": traces: missing; list at least one trace, e.g. traces: [traces/ls-small.lackey.zst]");
  if (!tr.IsSequence() || tr.size() == 0) fail(file, tr, "traces: expected a non-empty list of trace files");
  for (const auto& t : tr) {
    // A file, or a list of files run together as processes (mmusim run -t A -t B).
    if (t.IsSequence() && t.size() == 0) fail(file, t, "traces: an empty list; give the traces to run together");
    if (!t.IsScalar() && !t.IsSequence())
      fail(file, t, "traces: expected a file name or a list of file names (run together as processes)");
    std::vector<std::string> paths;
    std::string name;
    auto add = [&](const YAML::Node& n) {
      if (!n.IsScalar()) fail(file, n, "traces: expected a file name");
      std::string p = resolve_path(n.Scalar(), dir, fallback_dir);
      if (p.empty()) fail(file, n, "traces: no such trace file '" + shown_value(n.Scalar()) + "'");
      std::error_code ec;
      if (fs::is_directory(p, ec))
        fail(file, n, "traces: '" + shown_value(n.Scalar()) + "' is a directory; expected a trace file");
      paths.push_back(p);
      name += (name.empty() ? "" : "+") + trace_short_name(p);
    };
    if (t.IsSequence()) {
      if (t.size() > kMaxTracesPerRun)
        fail(file, t,
             "traces: at most " + std::to_string(kMaxTracesPerRun) + " traces run together, got " +
                 std::to_string(t.size()));
      for (const auto& n : t) add(n);
    } else {
      add(t);
    }
    if (std::find(e.trace_names.begin(), e.trace_names.end(), name) != e.trace_names.end())
      fail(file, t, "traces: two entries share the name '" + name + "' (results name traces by file name)");
    e.traces.push_back(paths);
    e.trace_names.push_back(name);
  }

  if (root["set"]) {
    const YAML::Node& s = root["set"];
    if (!s.IsMap()) fail(file, s, "set: expected a map of KEY: value");
    for (const auto& kv : s) {
      if (kv.second.IsNull() || kv.second.IsMap())
        fail(file, kv.second, "set." + kv.first.Scalar() + ": expected a value");
      e.set.push_back(kv.first.Scalar() + "=" + value_text(kv.second));
    }
  }

  std::vector<std::pair<std::string, std::vector<YAML::Node>>> sweep, zip;
  if (root["sweep"]) sweep = read_axes(file, root["sweep"], "sweep");
  if (root["zip"]) {
    zip = read_axes(file, root["zip"], "zip");
    for (const auto& z : zip)
      if (z.second.size() != zip.front().second.size())
        fail(file, root["zip"][z.first],
             "zip." + z.first + ": has " + std::to_string(z.second.size()) + " values but zip." + zip.front().first +
                 " has " + std::to_string(zip.front().second.size()) + "; zipped lists advance together");
  }
  std::set<std::string> seen_keys;
  for (const auto* axes : {&sweep, &zip})
    for (const auto& a : *axes) {
      if (!seen_keys.insert(a.first).second)
        throw ExperimentError(file + ": key '" + a.first + "' is both in sweep and zip");
      e.keys.push_back(a.first);
    }
  for (const auto& s : e.set) {
    std::string k = s.substr(0, s.find('='));
    if (seen_keys.count(k)) throw ExperimentError(file + ": key '" + k + "' is both in set and swept");
  }

  if (root["metrics"]) {
    const YAML::Node& m = root["metrics"];
    if (!m.IsSequence() || m.size() == 0) fail(file, m, "metrics: expected a non-empty list of statistics names");
    for (const auto& x : m) {
      if (!x.IsScalar()) fail(file, x, "metrics: expected a statistics name such as replay.cycles");
      e.metrics.push_back(x.Scalar());
    }
  } else {
    e.metrics = kDefaultMetrics;
  }

  if (root["max_accesses"]) {
    const YAML::Node& m = root["max_accesses"];
    try {
      long long v = m.as<long long>();
      if (v < 0) throw YAML::Exception(m.Mark(), "negative");
      e.max_accesses = static_cast<std::uint64_t>(v);
    } catch (const YAML::Exception&) {
      fail(file, m,
           "max_accesses: expected a whole number of accesses (0: the whole trace), got '" + value_text(m) + "'");
    }
  }

  // The number of points, before anything is expanded (10^16 would not fit in memory).
  std::uint64_t count = 1;
  bool overflow = false;
  std::string factors;
  auto multiply = [&](std::uint64_t n, const std::string& what) {
    factors += (factors.empty() ? "" : " x ") + std::to_string(n) + " (" + what + ")";
    overflow = overflow || __builtin_mul_overflow(count, n, &count);
  };
  for (const auto& a : sweep) multiply(a.second.size(), "sweep." + shown_value(a.first));
  if (!zip.empty()) multiply(zip.front().second.size(), "zip");
  if (overflow || count > kMaxSweepPoints)
    throw ExperimentError(file + ": the sweep has " +
                          (overflow ? std::string("more than 2^64") : std::to_string(count)) + " points (" + factors +
                          "); at most " + std::to_string(kMaxSweepPoints) + " points in one experiment: split it");

  // Cartesian product of sweep (first key slowest), each crossed with the zip rows.
  std::vector<std::vector<std::pair<std::string, std::string>>> combos{{}};
  for (const auto& a : sweep) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& c : combos)
      for (const auto& v : a.second) {
        auto n = c;
        n.emplace_back(a.first, value_text(v));
        next.push_back(std::move(n));
      }
    combos = std::move(next);
  }
  if (!zip.empty()) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& c : combos)
      for (size_t i = 0; i < zip.front().second.size(); ++i) {
        auto n = c;
        for (const auto& z : zip) n.emplace_back(z.first, value_text(z.second[i]));
        next.push_back(std::move(n));
      }
    combos = std::move(next);
  }
  std::set<std::string> ids;
  for (auto& c : combos) {
    Point p;
    p.values = std::move(c);
    p.id = point_id(p.values);
    if (!ids.insert(p.id).second) throw ExperimentError(file + ": two points share the id " + p.id);
    e.points.push_back(std::move(p));
  }
  return e;
}

Experiment load_experiment(const std::string& path, const std::string& fallback_dir) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ExperimentError(path + ": is a directory; expected an experiment file (YAML)");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ExperimentError(path + ": cannot open the experiment file: " + std::strerror(errno));
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
    text.append(buf, n);
    if (text.size() > kMaxExperimentBytes) {
      std::fclose(f);
      throw ExperimentError(path + ": larger than " + std::to_string(kMaxExperimentBytes >> 20) +
                            " MiB; not an experiment file?");
    }
  }
  const bool bad = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (bad) throw ExperimentError(path + ": cannot read the experiment file: " + std::strerror(err));
  return parse_experiment(text, path, fs::path(path).parent_path().string(), fallback_dir);
}

void validate_points(const Experiment& e) {
  for (size_t i = 0; i < e.points.size(); ++i) {
    const Point& p = e.points[i];
    try {
      load_config(e.base, e.overrides(p));
    } catch (const ConfigError& err) {
      throw ExperimentError(e.file + ": point " + std::to_string(i + 1) + " of " + std::to_string(e.points.size()) +
                            " (" + p.label() + "): " + err.what());
    }
  }
}

}  // namespace mmusim
