#include "sim/experiment/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "sim/config/config.h"
#include "sim/experiment/child_process.h"
#include "sim/experiment/csv.h"
#include "sim/experiment/one_pass.h"
#include "sim/output_file.h"

namespace fs = std::filesystem;

namespace mmusim {

namespace {

struct Run {
  size_t point = 0, trace = 0;
  std::string dir;
  std::vector<std::string> argv;  // without the binary
  std::string cmd;                // argv joined, the identity of the run
  std::string config_yaml;        // the resolved config the run must write
  bool done = false, failed = false;
};

using Clock = std::chrono::steady_clock;

// The running children, for a signal handler that stops them with the sweep
// (SIGINT from a terminal reaches them anyway; SIGTERM from a job manager does not).
constexpr size_t kMaxJobs = 1024;
std::array<volatile pid_t, kMaxJobs> g_children{};

extern "C" void forward_signal(int sig) {
  for (auto& pid : g_children)
    if (pid > 0) ::kill(pid, SIGTERM);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void track(pid_t pid, bool add) {
  for (auto& slot : g_children)
    if (add ? slot == 0 : slot == pid) {
      slot = add ? pid : 0;
      return;
    }
}

// Every output file of the sweep: checked writes, OutputError (exit 4).
void write_text(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

// One mmusim run of the experiment: trace t with these --set overrides,
// writing into dir.
Run make_run(const Experiment& e, size_t point, size_t t, const std::string& dir,
             const std::vector<std::string>& overrides, const std::string& yaml) {
  Run r;
  r.point = point;
  r.trace = t;
  r.dir = dir;
  r.argv = {"run"};
  if (!e.base.empty()) r.argv.insert(r.argv.end(), {"-c", e.base});
  for (const auto& s : overrides) r.argv.insert(r.argv.end(), {"--set", s});
  for (const auto& tf : e.traces[t]) r.argv.insert(r.argv.end(), {"-t", tf});
  r.argv.insert(r.argv.end(), {"-o", r.dir, "--quiet"});
  if (e.max_accesses) r.argv.insert(r.argv.end(), {"--max-accesses", std::to_string(e.max_accesses)});
  for (const auto& a : r.argv) r.cmd += shell_quote(a) + " ";
  r.cmd += "\n";
  r.config_yaml = yaml;
  return r;
}

std::vector<Run> plan(const Experiment& e, const std::string& outdir) {
  std::vector<Run> runs;
  for (size_t p = 0; p < e.points.size(); ++p) {
    const std::vector<std::string> overrides = e.overrides(e.points[p]);
    const std::string yaml = to_yaml(load_config(e.base, overrides).config);
    for (size_t t = 0; t < e.traces.size(); ++t)
      runs.push_back(make_run(e, p, t, outdir + "/runs/" + e.points[p].id + "/" + e.trace_names[t], overrides, yaml));
  }
  return runs;
}

bool finished(const Run& r) {
  std::error_code ec;
  return fs::exists(r.dir + "/stats.json", ec) && read_text(r.dir + "/cmd") == r.cmd &&
         read_text(r.dir + "/config.yaml") == r.config_yaml;
}

void prepare(const Run& r) {
  create_output_dir(r.dir);
  remove_stale(r.dir + "/stats.json");
  remove_stale(r.dir + "/stats.csv");
  write_text(r.dir + "/cmd", r.cmd);
}

class Progress {
 public:
  Progress(size_t total, bool tty) : m_total(total), m_tty(tty), m_start(Clock::now()) {}
  void update(size_t done, size_t failed, size_t running, const std::string& event) {
    double s = std::chrono::duration<double>(Clock::now() - m_start).count();
    char line[200];
    std::snprintf(line, sizeof line, "sweep: %zu/%zu runs done, %zu failed, %zu running, %.1f s", done, m_total, failed,
                  running, s);
    if (m_tty) {
      if (!event.empty()) std::cerr << "\r\033[K" << event << "\n";
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      // Not a terminal (a log): a line whenever a run finishes.
      if (!event.empty()) std::cerr << event << "\n";
      if (done + failed != m_finished || m_last.empty()) std::cerr << line << "\n";
    }
    m_finished = done + failed;
    m_last = line;
  }
  void finish() {
    if (m_tty) std::cerr << "\n";
  }

 private:
  size_t m_total;
  bool m_tty;
  Clock::time_point m_start;
  std::string m_last;
  size_t m_finished = 0;
};

// The error a failed run printed: its last "mmusim: " line other than the
// closing "no statistics written" (reports of killed processes come before
// the error), else its last line.
std::string run_error(const std::string& log) {
  std::istringstream in(read_text(log));
  std::string found;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("mmusim: ", 0) == 0 && line.rfind("mmusim: no statistics written", 0) != 0) found = line;
  return found.empty() ? last_line(log) : found;
}

std::string failure_text(const Run& r, const Experiment& e, int code) {
  std::string err = run_error(r.dir + "/log");
  return "sweep: FAILED point " + e.points[r.point].id + " (" + e.points[r.point].label() + "), trace " +
         e.trace_names[r.trace] + ": exit " + std::to_string(code) + (err.empty() ? "" : ": " + err) +
         "\n       log: " + r.dir + "/log";
}

// Checks the metrics against the statistics of a one-access run of the first
// point, so a misspelt metric fails before the sweep runs.
void probe_metrics(const Experiment& e, const std::vector<Run>& runs, const SweepOptions& o) {
  const std::string dir = o.outdir + "/probe";
  std::error_code ec;
  fs::remove_all(dir, ec);
  create_output_dir(dir);
  std::vector<std::string> argv{o.exe};
  for (size_t i = 0; i < runs[0].argv.size(); ++i) {
    if (runs[0].argv[i] == "-o") {
      argv.insert(argv.end(), {"-o", dir});
      ++i;
    } else if (runs[0].argv[i] == "--max-accesses") {
      ++i;
    } else {
      argv.push_back(runs[0].argv[i]);
    }
  }
  argv.insert(argv.end(), {"--max-accesses", "1"});
  int code = wait_exit(spawn(argv, dir + "/log"));
  if (code != 0) {
    std::string err = run_error(dir + "/log");
    throw ExperimentError(e.file + ": the first run (point " + e.points[0].id + ", trace " + e.trace_names[0] +
                          ") fails at once: " + err + " (log: " + dir + "/log)");
  }
  std::vector<std::string> names;
  auto stats = read_stats_csv(dir + "/stats.csv", &names);
  for (const auto& m : e.metrics)
    if (!stats.count(m)) {
      std::string near;
      for (const auto& n : names)
        if (near.empty() && n.rfind(m, 0) == 0) near = n;  // a truncated name
      if (near.empty()) near = nearest_key(m, names);
      throw ExperimentError(e.file + ": metrics: '" + m + "' is not a statistic of this configuration" +
                            (near.empty() ? "" : "; did you mean '" + near + "'?") +
                            " (the statistics are the paths in a run's stats.csv)");
    }
  fs::remove_all(dir, ec);
}

int run_local(const Experiment& e, std::vector<Run>& runs, const std::vector<size_t>& todo, const SweepOptions& o,
              Progress& progress, size_t& done, size_t& failed) {
  std::map<pid_t, size_t> running;
  size_t next = 0;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, forward_signal);
  progress.update(done, failed, 0, "");
  auto refill = [&] {
    while (running.size() < o.jobs && next < todo.size()) {
      Run& r = runs[todo[next++]];
      prepare(r);
      std::vector<std::string> argv{o.exe};
      argv.insert(argv.end(), r.argv.begin(), r.argv.end());
      const pid_t pid = spawn(argv, r.dir + "/log");
      track(pid, true);
      running[pid] = static_cast<size_t>(&r - runs.data());
    }
  };
  refill();
  while (!running.empty()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("waitpid failed");
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    Run& r = runs[it->second];
    running.erase(it);
    track(pid, false);
    int code = exit_code_of(status);
    std::error_code ec;
    std::string event;
    if (code == 0 && fs::exists(r.dir + "/stats.json", ec)) {
      r.done = true;
      ++done;
    } else {
      r.failed = true;
      ++failed;
      event = failure_text(r, e, code);
    }
    refill();
    progress.update(done, failed, running.size(), event);
  }
  return 0;
}

std::string capture(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    *code = 127;
    return out;
  }
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  *code = exit_code_of(::pclose(p));
  return out;
}

void run_slurm(const Experiment& e, std::vector<Run>& runs, const std::vector<size_t>& todo, const SweepOptions& o,
               Progress& progress, size_t& done, size_t& failed) {
  int code = 0;
  capture("command -v sbatch squeue >/dev/null 2>&1", &code);
  if (code != 0)
    throw ExperimentError("--backend slurm: sbatch and squeue not found (scripts/slurm up starts a one-node cluster)");
  const std::string sdir = fs::absolute(o.outdir + "/slurm").lexically_normal().string();
  std::error_code ec;
  fs::create_directories(sdir + "/logs", ec);
  std::ostringstream js;
  js << "#!/bin/bash\n"
     << "# Written by mmusim sweep " << e.file << ": one array task per (point, trace) run.\n"
     << "#SBATCH --job-name=" << shell_quote("mmusim-" + e.name) << "\n"
     << "#SBATCH --output=" << sdir << "/logs/%A_%a.out\n"
     << "#SBATCH --cpus-per-task=" << o.cpus_per_task << "\n";
  if (!o.partition.empty()) js << "#SBATCH --partition=" << o.partition << "\n";
  if (!o.time_limit.empty()) js << "#SBATCH --time=" << o.time_limit << "\n";
  js << "set -u\ncase \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (size_t k = 0; k < todo.size(); ++k) {
    Run& r = runs[todo[k]];
    prepare(r);
    std::string line = shell_quote(o.exe);
    for (const auto& a : r.argv) line += " " + shell_quote(a);
    js << "  " << k << ") exec " << line << " >" << shell_quote(r.dir + "/log") << " 2>&1 ;;\n";
  }
  js << "  *) echo \"unknown task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n";
  write_text(sdir + "/job.sh", js.str());

  std::string cmd = "sbatch --parsable --array=0-" + std::to_string(todo.size() - 1);
  for (const auto& a : o.sbatch_args) cmd += " " + shell_quote(a);
  cmd += " " + shell_quote(sdir + "/job.sh") + " 2>&1";
  std::string out = capture(cmd, &code);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (code != 0) throw std::runtime_error("sbatch failed (exit " + std::to_string(code) + "): " + out);
  const std::string job = out.substr(0, out.find(';'));
  std::cerr << "sweep: submitted Slurm job array " << job << " (" << todo.size() << " tasks, script " << sdir
            << "/job.sh)\n";

  int squeue_failures = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.poll_seconds));
    std::string q = capture("squeue -h -r -j " + job + " -o %T 2>/dev/null", &code);
    if (code != 0) {
      // squeue forgets a finished job after a while and then fails; a few
      // failures in a row with nothing running mean the job is gone.
      if (++squeue_failures < 5) continue;
      q.clear();
    } else {
      squeue_failures = 0;
    }
    size_t active = 0;
    std::istringstream lines(q);
    for (std::string s; std::getline(lines, s);)
      if (!s.empty()) ++active;
    size_t have = 0;
    for (size_t k : todo)
      if (fs::exists(runs[k].dir + "/stats.json", ec)) ++have;
    progress.update(done + have, failed, active, "");
    if (active == 0) break;
  }
  for (size_t k = 0; k < todo.size(); ++k) {
    Run& r = runs[todo[k]];
    if (fs::exists(r.dir + "/stats.json", ec)) {
      r.done = true;
      ++done;
    } else {
      r.failed = true;
      ++failed;
      std::string err = run_error(r.dir + "/log");
      std::cerr << "sweep: FAILED task " << k << ": point " << e.points[r.point].id << " (" << e.points[r.point].label()
                << "), trace " << e.trace_names[r.trace] << (err.empty() ? "" : ": " + err) << "\n       log: " << r.dir
                << "/log, Slurm log: " << sdir << "/logs/" << job << "_" << k << ".out\n";
    }
  }
  progress.update(done, failed, 0, "");
}

// ---------------------------------------------------------------- one pass

// One run per (group, trace), recording the curves of the swept TLB.
std::vector<Run> plan_passes(const Experiment& e, const OnePass& op, const std::string& outdir) {
  std::vector<Run> runs;
  for (const OnePassGroup& g : op.groups) {
    std::vector<std::string> overrides = e.overrides(e.points[g.points.front()]);
    overrides.push_back("mmu.tlbs." + op.plan.tlb + ".curves=" + std::to_string(g.bound));
    overrides.push_back("mmu.tlbs." + op.plan.tlb + ".curves_sample_rate=0");  // sweeps need the exact curves
    const std::string yaml = to_yaml(load_config(e.base, overrides).config);
    for (size_t t = 0; t < e.traces.size(); ++t)
      runs.push_back(
          make_run(e, g.points.front(), t, outdir + "/passes/" + g.id + "/" + e.trace_names[t], overrides, yaml));
  }
  return runs;
}

// The header line of results.csv, the same for exact and one-pass sweeps.
std::string results_header(const Experiment& e) {
  std::string h = "point";
  for (const auto& k : e.keys) h += "," + csv_field(k);
  h += ",trace,status";
  for (const auto& m : e.metrics) h += "," + csv_field(m);
  return h + "\n";
}

void write_one_pass_results(const Experiment& e, const OnePass& op, const std::vector<Run>& passes,
                            const std::string& outdir) {
  std::ostringstream os;
  os << results_header(e);
  const std::string mpre = "mmu.tlb." + op.plan.tlb + ".";
  std::map<size_t, std::map<std::string, std::map<std::string, std::string>>> cache;  // pass -> curves
  for (size_t p = 0; p < e.points.size(); ++p) {
    for (size_t t = 0; t < e.traces.size(); ++t) {
      const size_t pass = op.group_of[p] * e.traces.size() + t;
      const Run& r = passes[pass];
      const Point& pt = e.points[p];
      os << pt.id;
      for (const auto& kv : pt.values) os << "," << csv_field(kv.second);
      os << "," << csv_field(e.trace_names[t]);
      const std::map<std::string, std::string>* row = nullptr;
      if (r.done) {
        auto it = cache.find(pass);
        if (it == cache.end()) it = cache.emplace(pass, read_curves_csv(r.dir + "/curves.csv", op.plan.tlb)).first;
        const SweptGeometry& g = op.geometry[p];
        auto rit = it->second.find(std::to_string(g.sets) + "," + std::to_string(g.ways));
        if (rit != it->second.end()) row = &rit->second;
      }
      if (!row) {
        os << ",failed";
        for (size_t i = 0; i < e.metrics.size(); ++i) os << ",";
        os << "\n";
        continue;
      }
      os << ",ok";
      for (const auto& m : e.metrics)
        os << "," << csv_field(row->at(m == "mmu.walker.walks" ? std::string("walks") : m.substr(mpre.size())));
      os << "\n";
    }
  }
  write_file_atomic(outdir + "/results.csv", os.str());
}

void write_results(const Experiment& e, const std::vector<Run>& runs, const std::string& outdir) {
  std::ostringstream os;
  os << results_header(e);
  for (const Run& r : runs) {
    const Point& p = e.points[r.point];
    os << p.id;
    for (const auto& kv : p.values) os << "," << csv_field(kv.second);
    os << "," << csv_field(e.trace_names[r.trace]);
    if (!r.done) {
      os << ",failed";
      for (size_t i = 0; i < e.metrics.size(); ++i) os << ",";
      os << "\n";
      continue;
    }
    auto stats = read_stats_csv(r.dir + "/stats.csv");
    os << ",ok";
    for (const auto& m : e.metrics) {
      auto it = stats.find(m);
      os << "," << (it == stats.end() ? "" : csv_field(it->second));
    }
    os << "\n";
  }
  write_file_atomic(outdir + "/results.csv", os.str());
}

}  // namespace

namespace {

int run_one_pass(const Experiment& e, const OnePass& op, const SweepOptions& o) {
  std::vector<Run> passes = plan_passes(e, op, o.outdir);
  std::vector<size_t> todo;
  size_t done = 0, failed = 0;
  for (size_t i = 0; i < passes.size(); ++i) {
    if (o.resume && finished(passes[i]) && fs::exists(passes[i].dir + "/curves.csv")) {
      passes[i].done = true;
      ++done;
    } else {
      todo.push_back(i);
    }
  }
  const size_t separate = e.points.size() * e.traces.size();
  std::cerr << "sweep: " << e.name << ": one pass: " << e.points.size() << " points x " << e.traces.size()
            << (e.traces.size() == 1 ? " trace" : " traces") << " from the miss curves of TLB " << op.plan.tlb << ", "
            << passes.size() << (passes.size() == 1 ? " run" : " runs") << " instead of " << separate;
  if (o.resume) std::cerr << ", " << done << " already finished (--resume), " << todo.size() << " to run";
  std::cerr << "; backend " << o.backend << (o.backend == "local" ? ", -j " + std::to_string(o.jobs) : "")
            << "; output " << o.outdir << "\n";
  write_text(o.outdir + "/experiment.yaml", read_text(e.file));
  if (!todo.empty()) {
    Progress progress(passes.size(), o.progress);
    if (o.backend == "local") run_local(e, passes, todo, o, progress, done, failed);
    else run_slurm(e, passes, todo, o, progress, done, failed);
    progress.finish();
  }
  write_one_pass_results(e, op, passes, o.outdir);
  std::cerr << "sweep: " << done << " of " << passes.size() << " runs finished" << (failed ? ", " : "")
            << (failed ? std::to_string(failed) + " failed" : "") << "; results in " << o.outdir << "/results.csv\n";
  return failed ? 1 : 0;
}

}  // namespace

OnePassPlan one_pass_plan(const Experiment& e) { return analyse_one_pass(e).plan; }

int run_sweep(const Experiment& e, const SweepOptions& o) {
  if (o.jobs == 0 || o.jobs > kMaxJobs) throw ExperimentError("-j: expected 1.." + std::to_string(kMaxJobs));
  if (o.backend != "local" && o.backend != "slurm")
    throw ExperimentError("--backend: expected local or slurm, got '" + o.backend + "'");
  if (o.method != "exact" && o.method != "one-pass" && o.method != "auto")
    throw ExperimentError("--method: expected exact, one-pass or auto, got '" + o.method + "'");
  create_output_dir(o.outdir);
  if (o.method != "exact") {
    OnePass op = analyse_one_pass(e);
    if (op.plan.ok) return run_one_pass(e, op, o);
    if (o.method == "one-pass") throw ExperimentError("--method one-pass: " + e.file + ": " + op.plan.reason);
    std::cerr << "sweep: separate runs: " << op.plan.reason << "\n";
  }
  std::vector<Run> runs = plan(e, o.outdir);

  std::vector<size_t> todo;
  size_t done = 0, failed = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (o.resume && finished(runs[i])) {
      runs[i].done = true;
      ++done;
    } else {
      todo.push_back(i);
    }
  }
  std::cerr << "sweep: " << e.name << ": " << e.points.size() << " points x " << e.traces.size()
            << (e.traces.size() == 1 ? " trace = " : " traces = ") << runs.size() << " runs";
  if (o.resume) std::cerr << ", " << done << " already finished (--resume), " << todo.size() << " to run";
  std::cerr << "; backend " << o.backend << (o.backend == "local" ? ", -j " + std::to_string(o.jobs) : "")
            << "; output " << o.outdir << "\n";
  write_text(o.outdir + "/experiment.yaml", read_text(e.file));

  if (!todo.empty()) {
    probe_metrics(e, runs, o);
    Progress progress(runs.size(), o.progress);
    if (o.backend == "local") run_local(e, runs, todo, o, progress, done, failed);
    else run_slurm(e, runs, todo, o, progress, done, failed);
    progress.finish();
  }
  write_results(e, runs, o.outdir);
  std::cerr << "sweep: " << done << " of " << runs.size() << " runs finished" << (failed ? ", " : "")
            << (failed ? std::to_string(failed) + " failed" : "") << "; results in " << o.outdir << "/results.csv\n";
  return failed ? 1 : 0;
}

}  // namespace mmusim
