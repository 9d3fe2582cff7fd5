#include "sim/stats_writer.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "sim/output_file.h"

namespace mmusim {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<std::int64_t>(v);
  return v;
}

Json to_json(const StatValue& v) { return v.integer ? Json(v.count) : number(v.real); }

std::string fmt_double(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
    return std::to_string(static_cast<std::int64_t>(v));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string to_text(const StatValue& v) { return v.integer ? std::to_string(v.count) : fmt_double(v.real); }

// The snapshot nested by path: "a.b.c" is j["a"]["b"]["c"]. Keys keep the
// snapshot's order; a group without any statistic has no key.
Json nested(const std::vector<StatValue>& values) {
  Json j = Json::object();
  for (const auto& v : values) {
    Json* at = &j;
    std::size_t from = 0;
    for (std::size_t dot = v.path.find('.'); dot != std::string::npos; dot = v.path.find('.', from)) {
      at = &(*at)[v.path.substr(from, dot - from)];
      from = dot + 1;
    }
    (*at)[v.path.substr(from)] = to_json(v);
  }
  return j;
}

std::uint64_t counter(const StatGroup& root, const std::string& path) {
  const StatGroup::Entry* e = root.find(path);
  if (!e) return 0;
  if (e->kind == StatGroup::Kind::Counter) return e->counter->value();
  if (e->kind == StatGroup::Kind::Formula) return static_cast<std::uint64_t>(e->formula());
  return 0;
}

std::string grouped(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

std::string stats_csv(const StatGroup& root, const std::vector<MarkSnapshot>& marks) {
  std::ostringstream os;
  os << "path,value\n";
  for (const auto& v : root.snapshot()) os << v.path << ',' << to_text(v) << '\n';
  for (const auto& m : marks)
    for (const auto& v : m.values) os << "marks." << m.name << '.' << v.path << ',' << to_text(v) << '\n';
  return os.str();
}

std::string stats_json(const StatGroup& root, const std::vector<MarkSnapshot>& marks, const RunMetadata& meta) {
  Json j = Json::object();
  Json m = Json::object();
  m["version"] = meta.version;
  m["git_commit"] = meta.git_commit;
  m["config_hash"] = meta.config_hash;
  m["config"] = meta.config_source;
  m["traces"] = meta.traces;
  m["trace_format"] = meta.trace_format;
  m["max_accesses"] = meta.max_accesses;
  m["truncated"] = meta.truncated;
  m["complete"] = true;
  m["wall_seconds"] = meta.wall_seconds;
  m["accesses_per_second"] = meta.accesses_per_second;
  j["meta"] = m;
  Json stats = nested(root.snapshot());
  for (auto it = stats.begin(); it != stats.end(); ++it) j[it.key()] = it.value();
  if (!marks.empty()) {
    Json mk = Json::object();
    for (const auto& s : marks) {
      Json one = Json::object();
      for (const auto& v : s.values) one[v.path] = to_json(v);
      mk[s.name] = one;
    }
    j["marks"] = mk;
  }
  return j.dump(2) + "\n";
}

std::string write_stats(const std::string& outdir, const std::string& config_yaml, const StatGroup& root,
                        const std::vector<MarkSnapshot>& marks, const RunMetadata& meta,
                        const std::string& curves_csv) {
  // Everything goes to temporaries first: a full disk or a read-only
  // directory fails here, before any file is in place.
  std::vector<std::pair<std::string, std::string>> files = {
      {outdir + "/config.yaml", config_yaml},
      {outdir + "/stats.csv", stats_csv(root, marks)},
  };
  if (!curves_csv.empty()) files.emplace_back(outdir + "/curves.csv", curves_csv);
  files.emplace_back(outdir + "/stats.json", stats_json(root, marks, meta));
  std::vector<std::string> tmps;
  for (const auto& f : files) {
    std::string tmp;
    const std::string err = try_write_temp(f.first, f.second, &tmp);
    if (!err.empty()) {
      for (const auto& t : tmps) std::remove(t.c_str());
      return err;
    }
    tmps.push_back(tmp);
  }
  // Then renamed in order, stats.json last: it is the sign of a complete run.
  // A failed rename takes the files already renamed away with it.
  for (std::size_t i = 0; i < tmps.size(); ++i) {
    const std::string err = try_commit_temp(tmps[i], files[i].first);
    if (!err.empty()) {
      for (std::size_t k = 0; k < tmps.size(); ++k) std::remove((k < i ? files[k].first : tmps[k]).c_str());
      return err;
    }
  }
  return {};
}

std::string format_summary(const StatGroup& root, const RunMetadata& meta) {
  std::ostringstream os;
  char buf[256];
  const std::uint64_t accesses = counter(root, "replay.accesses");
  const std::uint64_t cycles = counter(root, "replay.cycles");
  std::string names;
  for (const auto& t : meta.traces) names += (names.empty() ? "" : " + ") + t;
  os << "mmusim " << meta.version << ": " << names << " (" << meta.trace_format << "), config " << meta.config_source
     << (meta.truncated ? ", stopped at --max-accesses" : "") << "\n";
  os << "  accesses   " << grouped(accesses) << "  (loads " << grouped(counter(root, "replay.loads")) << ", stores "
     << grouped(counter(root, "replay.stores")) << ", ifetches " << grouped(counter(root, "replay.ifetches"))
     << ", modifies " << grouped(counter(root, "replay.modifies")) << ")\n";
  std::snprintf(buf, sizeof buf, "  cycles     %s  (%.2f per access)\n", grouped(cycles).c_str(),
                accesses ? static_cast<double>(cycles) / static_cast<double>(accesses) : 0.0);
  os << buf;
  os << "  TLB          lookups         hits       misses   hit rate\n";
  for (const auto& g : root.groups()) {
    if (g->name() != "mmu") continue;
    for (const auto& t : g->groups()) {
      if (t->name() != "tlb") continue;
      for (const auto& one : t->groups()) {
        const std::string p = "mmu.tlb." + one->name() + ".";
        const std::uint64_t a = counter(root, p + "accesses"), h = counter(root, p + "hits");
        std::snprintf(buf, sizeof buf, "  %-8s %12s %12s %12s   %6.2f%%\n", one->name().c_str(), grouped(a).c_str(),
                      grouped(h).c_str(), grouped(counter(root, p + "misses")).c_str(),
                      a ? 100.0 * static_cast<double>(h) / static_cast<double>(a) : 0.0);
        os << buf;
      }
    }
  }
  const std::uint64_t walks = counter(root, "mmu.walker.walks");
  std::snprintf(buf, sizeof buf, "  walks      %s  (%.2f memory reads and %.1f cycles each; %s A/D writes)\n",
                grouped(walks).c_str(),
                walks ? static_cast<double>(counter(root, "mmu.walker.mem_reads")) / static_cast<double>(walks) : 0.0,
                walks ? static_cast<double>(counter(root, "mmu.walker.cycles")) / static_cast<double>(walks) : 0.0,
                grouped(counter(root, "mmu.walker.ad_writes")).c_str());
  os << buf;
  // memory.caches, when configured: demand hit rates split data / page walk.
  for (const auto& g : root.groups()) {
    if (g->name() != "memory") continue;
    for (const auto& c : g->groups()) {
      if (c->name() != "cache") continue;
      os << "  cache     data hits     misses   hit rate   walk hits     misses   hit rate\n";
      for (const auto& one : c->groups()) {
        const std::string p = "memory.cache." + one->name() + ".";
        const std::uint64_t dh = counter(root, p + "data_hits"), dm = counter(root, p + "data_misses");
        const std::uint64_t wh = counter(root, p + "walk_hits"), wm = counter(root, p + "walk_misses");
        std::snprintf(buf, sizeof buf, "  %-5s %13s %10s   %6.2f%% %11s %10s   %6.2f%%\n", one->name().c_str(),
                      grouped(dh).c_str(), grouped(dm).c_str(),
                      dh + dm ? 100.0 * static_cast<double>(dh) / static_cast<double>(dh + dm) : 0.0,
                      grouped(wh).c_str(), grouped(wm).c_str(),
                      wh + wm ? 100.0 * static_cast<double>(wh) / static_cast<double>(wh + wm) : 0.0);
        os << buf;
      }
    }
  }
  os << "  faults     minor " << grouped(counter(root, "os.faults.minor")) << ", segv "
     << grouped(counter(root, "os.faults.segv")) << ", oom kills " << grouped(counter(root, "os.oom_kills"))
     << "; retries " << grouped(counter(root, "replay.retries")) << "; 2M pages "
     << grouped(counter(root, "os.thp.alloc")) << "\n";
  std::snprintf(buf, sizeof buf, "  wall time  %.2f s  (%.1f M accesses/s)\n", meta.wall_seconds,
                meta.accesses_per_second / 1e6);
  os << buf;
  return os.str();
}

}  // namespace mmusim
