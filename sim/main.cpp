// mmusim command line (DESIGN.md section 5).
//
// Exit codes: 0 success, 1 internal error, 2 usage or configuration error,
// 3 bad trace input (or a trace that reaches a run-time limit), 4 an output
// file or directory that cannot be written.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <systemc>
#include <vector>

#include "sim/config/config.h"
#include "sim/convert.h"
#include "sim/curves_output.h"
#include "sim/experiment/experiment.h"
#include "sim/experiment/golden.h"
#include "sim/experiment/child_process.h"
#include "sim/experiment/sweep.h"
#include "sim/output_file.h"
#include "sim/stats_writer.h"
#include "sim/topology.h"
#include "sim/trace/open_trace.h"

#ifndef MMUSIM_VERSION
#define MMUSIM_VERSION "0.1.0"
#endif
#ifndef MMUSIM_GIT_COMMIT
#define MMUSIM_GIT_COMMIT "unknown"
#endif
#ifndef MMUSIM_SOURCE_DIR
#define MMUSIM_SOURCE_DIR "."
#endif

namespace po = boost::program_options;
using namespace mmusim;

namespace {

constexpr int kExitOk = 0, kExitInternal = 1, kExitUsage = 2, kExitTrace = 3, kExitOutput = 4;
// More -t traces than this in one run is refused: each holds decoder buffers
// (an xz -9 stream alone needs 65 MiB to decode).
constexpr std::size_t kMaxTraces = 64;
const char* const kDefaultTrace = "traces/xz-compress.lackey.zst";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const char* const kUsage =
    "mmusim " MMUSIM_VERSION " - a cycle-level x86 MMU/TLB simulator on SystemC\n"
    "\n"
    "usage:\n"
    "  mmusim run     [-c CONFIG.yaml] [-t TRACE]... [--format FMT] [--set KEY=VALUE]...\n"
    "                 [-o OUTDIR] [--max-accesses N] [--progress|--quiet] [--check-invariants]\n"
    "                 [--curves TLB[,TLB...]] [--curves-sample R] [--curves-opt]\n"
    "  mmusim params  [-c CONFIG.yaml] [--set KEY=VALUE]...\n"
    "  mmusim convert IN OUT [--from FMT] [--to FMT]\n"
    "  mmusim sweep   EXPERIMENT.yaml [-j N] [--backend local|slurm] [-o OUTDIR] [--resume]\n"
    "                 [--method exact|one-pass|auto]\n"
    "                 [--partition P] [--time LIMIT] [--cpus-per-task N] [--sbatch-arg ARG]...\n"
    "  mmusim check   [CASE_DIR|GOLDEN_DIR]... [--update] [--keep DIR] [--check-invariants]\n"
    "  mmusim --help | --version\n"
    "\n"
    "  run     replays a trace through the MMU, TLBs, page walker, memory and the OS\n"
    "          model; prints a summary and, with -o, writes OUTDIR/stats.json,\n"
    "          OUTDIR/stats.csv and the resolved OUTDIR/config.yaml.\n"
    "          No -c: the built-in default config (configs/x86_64.yaml has the same).\n"
    "          No -t: the bundled sample trace. Several -t (at most 64): one process\n"
    "          each, switched round-robin every replay.switch_interval accesses.\n"
    "          -t - reads the trace from standard input (once per run).\n"
    "  params  lists every configuration key with its value, default, unit and meaning.\n"
    "  convert rewrites a trace in another format (text, bin, lackey), losslessly;\n"
    "          OUT's name chooses the format and compression (t.bin.zst) unless --to.\n"
    "  sweep   runs an experiment (README, Experiments): every (point, trace) as its own\n"
    "          run process, locally or as one Slurm job array; OUTDIR/results.csv.\n"
    "  check   runs golden cases (default: tests/golden) and compares their statistics\n"
    "          with expected.csv; exit 1 on any difference. --update rewrites them.\n"
    "\n"
    "exit codes: 0 success, 1 internal error, 2 usage or configuration error, 3 bad trace\n"
    "(or a run-time limit reached), 4 output not writable (disk full, read-only OUTDIR);\n"
    "sweep: 1 when some run failed; check: 1 on any difference.\n"
    "`mmusim run --help` lists the options of run.\n";

std::string default_trace_path() {
  // Installed next to the sources; also try relative to the working directory.
  std::string p = std::string(MMUSIM_SOURCE_DIR) + "/" + kDefaultTrace;
  if (std::filesystem::exists(p)) return p;
  return kDefaultTrace;
}

po::options_description config_options() {
  po::options_description o("configuration");
  o.add_options()("config,c", po::value<std::string>(), "YAML configuration file (default: built-in default)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override one key, e.g. --set mmu.tlbs.l1d.entries=128 (repeatable)");
  return o;
}

bool quiet_flag(const po::variables_map& vm) { return vm.count("quiet") > 0; }

// A whole number given to an option: decimal digits only, in [min, max].
// Boost would read "-1" as 2^64-1 for an unsigned option.
std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      ok = false;
      break;
    }
    v = v * 10 + d;
  }
  if (!ok || v < min || v > max)
    throw UsageError(option + ": expected a whole number in " + std::to_string(min) + ".." + std::to_string(max) +
                     ", got '" + shown_value(text) + "'");
  return v;
}

// Parses options; words that are not options are collected under
// "positional" (refuse_positional() rejects them), never silently dropped.
po::variables_map parse(int argc, char** argv, const po::options_description& desc) {
  po::options_description all;
  all.add(desc);
  all.add_options()("positional", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("positional", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

void refuse_positional(const po::variables_map& vm, const std::string& cmd, const std::string& hint) {
  if (!vm.count("positional")) return;
  const auto& words = vm["positional"].as<std::vector<std::string>>();
  throw UsageError(cmd + " takes no positional argument, got '" + shown_value(words.front()) + "'" +
                   (words.size() > 1 ? " and " + std::to_string(words.size() - 1) + " more" : "") + "; " + hint);
}

LoadedConfig load(const po::variables_map& vm) {
  std::string path = vm.count("config") ? vm["config"].as<std::string>() : "";
  std::vector<std::string> sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  return load_config(path, sets);
}

int cmd_params(int argc, char** argv) {
  po::options_description desc("mmusim params");
  desc.add(config_options());
  desc.add_options()("help,h", "this help");
  po::variables_map vm = parse(argc, argv, desc);
  refuse_positional(vm, "params", "give the configuration file with -c");
  if (vm.count("help")) {
    std::cout << "usage: mmusim params [-c CONFIG.yaml] [--set KEY=VALUE]...\n\n" << desc;
    return kExitOk;
  }
  std::cout << describe_params(load(vm).config);
  return kExitOk;
}

int cmd_run(int argc, char** argv) {
  po::options_description desc("mmusim run");
  desc.add(config_options());
  desc.add_options()("trace,t", po::value<std::vector<std::string>>(), "trace file, repeatable (at most 64): several traces run as separate processes, round-robin; - is standard input, once (default: the bundled sample trace)")(
      "format", po::value<std::string>()->default_value("auto"),
          "trace format: auto, text, lackey, bin, champsim, champsim-cloudsuite")(
      "outdir,o", po::value<std::string>(), "write stats.json, stats.csv and config.yaml here")(
      "max-accesses", po::value<std::string>()->default_value("0"), "stop after N accesses (0: the whole trace)")(
      "curves", po::value<std::vector<std::string>>()->composing(),
      "TLB[,TLB...]: also write OUTDIR/curves.csv, the LRU misses of every geometry of these TLBs up to 4x their entries, from one pass (sets mmu.tlbs.<TLB>.curves unless given; needs -o)")(
      "curves-sample", po::value<std::string>(),
      "R: sample the curves of every TLB with curves on at rate R in (0, 1] as SHARDS does (sets mmu.tlbs.<TLB>.curves_sample_rate; 1: exact); curves.csv then gives estimates and a misses_bound column")(
      "curves-opt", "also the OPT (Belady MIN) misses of every fully associative size of the TLBs with curves on, a lower bound for any policy: column opt_misses of curves.csv (sets mmu.tlbs.<TLB>.curves_opt; not with --curves-sample)")(
      "progress", "show a progress line on stderr even when it is not a terminal")(
      "check-invariants", "check the OS model's invariants after every page fault (O(memory) each) and every TLB or paging-structure-cache hit against a fresh walk of the page tables (slow; exit 1 on a violation)")(
      "quiet,q", "no progress line and no summary")("help,h", "this help");
  po::variables_map vm = parse(argc, argv, desc);
  if (vm.count("help")) {
    std::cout << "usage: mmusim run [options]\n\n" << desc;
    return kExitOk;
  }
  // Stale results must not pass for this run's if it fails, whatever the
  // failure (a bad option, config or trace): they go first. The -c file is
  // spared when it is OUTDIR/config.yaml (it is read before the run).
  std::string outdir;
  if (vm.count("outdir")) {
    outdir = vm["outdir"].as<std::string>();
    create_output_dir(outdir);
    remove_stale(outdir + "/stats.json");
    remove_stale(outdir + "/stats.csv");
    remove_stale(outdir + "/curves.csv");
    for (const char* tmp : {"/stats.json.tmp", "/stats.csv.tmp", "/config.yaml.tmp", "/curves.csv.tmp"})
      remove_stale(outdir + tmp);
    std::error_code ec;
    const bool config_is_input =
        vm.count("config") && std::filesystem::equivalent(vm["config"].as<std::string>(), outdir + "/config.yaml", ec);
    if (!config_is_input) remove_stale(outdir + "/config.yaml");
  }
  refuse_positional(vm, "run", "give a trace with -t TRACE (-t - for standard input)");
  if (vm.count("progress") && vm.count("quiet")) throw UsageError("--progress and --quiet exclude each other");
  const std::uint64_t max_accesses = parse_count("--max-accesses", vm["max-accesses"].as<std::string>(), 0, UINT64_MAX);

  LoadedConfig lc = load(vm);
  if (vm.count("curves")) {
    for (const std::string& list : vm["curves"].as<std::vector<std::string>>()) {
      std::string::size_type start = 0;
      while (start <= list.size()) {
        const std::string::size_type comma = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, comma - start);
        auto it = lc.config.mmu.tlbs.find(name);
        if (it == lc.config.mmu.tlbs.end()) {
          std::string names;
          for (const auto& kv : lc.config.mmu.tlbs) names += (names.empty() ? "" : ", ") + kv.first;
          throw UsageError("--curves: no TLB named '" + name + "' in mmu.tlbs; the TLBs are " + names);
        }
        if (it->second.curves == 0) it->second.curves = 4 * it->second.entries;
        start = comma + 1;
      }
    }
    try {
      validate(lc.config, lc.origins);  // the bound of a TLB just switched on
    } catch (const ConfigError& e) {
      throw UsageError(std::string("--curves: ") + e.what());
    }
  }
  if (vm.count("curves-sample")) {
    const std::string text = vm["curves-sample"].as<std::string>();
    char* end = nullptr;
    const double rate = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(rate > 0.0 && rate <= 1.0))
      throw UsageError("--curves-sample: the rate must be a number in (0, 1], got '" + text + "'");
    bool any = false;
    for (auto& kv : lc.config.mmu.tlbs)
      if (kv.second.curves != 0) {
        kv.second.curves_sample_rate = rate;
        any = true;
      }
    if (!any) throw UsageError("--curves-sample needs --curves (or mmu.tlbs.<TLB>.curves) to name the TLBs to sample");
  }
  if (vm.count("curves-opt")) {
    bool any = false;
    for (auto& kv : lc.config.mmu.tlbs)
      if (kv.second.curves != 0) {
        kv.second.curves_opt = true;
        any = true;
      }
    if (!any) throw UsageError("--curves-opt needs --curves (or mmu.tlbs.<TLB>.curves) to name the TLBs");
  }
  if (vm.count("curves-sample") || vm.count("curves-opt")) {
    try {
      validate(lc.config, lc.origins);
    } catch (const ConfigError& e) {
      throw UsageError(std::string("--curves-sample/--curves-opt: ") + e.what());
    }
  }
  const Config& cfg = lc.config;
  bool curves_on = false;
  for (const auto& kv : cfg.mmu.tlbs) curves_on = curves_on || kv.second.curves != 0;
  if (curves_on && !vm.count("outdir"))
    throw UsageError("--curves (mmu.tlbs.<TLB>.curves) needs -o OUTDIR: the curves go to OUTDIR/curves.csv");
  std::vector<std::string> traces =
      vm.count("trace") ? vm["trace"].as<std::vector<std::string>>() : std::vector<std::string>{default_trace_path()};
  if (traces.size() > kMaxTraces)
    throw UsageError("-t: at most " + std::to_string(kMaxTraces) + " traces in one run, got " +
                     std::to_string(traces.size()));
  if (std::count(traces.begin(), traces.end(), "-") > 1)
    throw UsageError("-t -: standard input can be read only once; give -t - for one trace and files for the others");
  const std::string format = vm["format"].as<std::string>();
  std::vector<std::unique_ptr<TraceReader>> readers;
  std::vector<TraceReader*> raw;
  for (const auto& t : traces) {
    try {
      readers.push_back(open_trace(t, format));
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--format: ") + e.what());
    }
    raw.push_back(readers.back().get());
    if (format == "auto" && !quiet_flag(vm))
      std::cerr << "mmusim: " << t << ": format " << readers.back()->format_name() << " (auto-detected)\n";
  }

  if (!outdir.empty()) {
    // A directory that cannot be written fails now, not after the replay.
    std::remove(write_temp(outdir + "/config.yaml", to_yaml(cfg)).c_str());
  }

  const bool quiet = vm.count("quiet") > 0;
  ReplayParams rp;
  rp.gap_cycles = cfg.replay.gap_cycles;
  rp.sync_each_access = cfg.replay.sync == "access";
  rp.max_accesses = max_accesses;
  rp.check_invariants = vm.count("check-invariants") > 0;
  rp.progress = !quiet && (vm.count("progress") || isatty(STDERR_FILENO));

  tlm::tlm_global_quantum::instance().set(sc_core::sc_time(static_cast<double>(cfg.replay.quantum.ps), sc_core::SC_PS));
  Topology top(cfg, raw, rp);
  sc_core::sc_start();
  if (top.replay().error()) std::rethrow_exception(top.replay().error());
  if (!top.replay().complete()) throw std::runtime_error("the replay did not finish");

  RunMetadata meta;
  meta.version = MMUSIM_VERSION;
  meta.git_commit = MMUSIM_GIT_COMMIT;
  const std::string yaml = to_yaml(cfg);
  meta.config_hash = fnv1a64_hex(yaml);  // FNV-1a 64 of the resolved YAML
  meta.config_source = vm.count("config") ? vm["config"].as<std::string>() : "built-in default";
  if (vm.count("set")) meta.config_source += " with --set";
  meta.traces = traces;
  for (const auto& r : readers) meta.trace_format += (meta.trace_format.empty() ? "" : ",") + std::string(r->format_name());
  meta.max_accesses = rp.max_accesses;
  const StatGroup::Entry* acc = top.stats().find("replay.accesses");
  meta.truncated = rp.max_accesses && acc && acc->counter->value() >= rp.max_accesses;
  meta.wall_seconds = top.replay().wall_seconds();
  meta.accesses_per_second =
      meta.wall_seconds > 0 && acc ? static_cast<double>(acc->counter->value()) / meta.wall_seconds : 0;

  if (!top.curves().empty()) check_curves_against_stats(top.curves(), top.stats());
  if (!outdir.empty()) {
    const std::string curves = top.curves().empty() ? std::string() : curves_csv(top.curves(), top.stats());
    const std::string err = write_stats(outdir, yaml, top.stats(), top.replay().marks(), meta, curves);
    if (!err.empty()) {
      std::cerr << "mmusim: " << err << "\nmmusim: no statistics written: the output could not be written\n";
      return kExitOutput;
    }
  }
  if (!quiet) std::cout << format_summary(top.stats(), meta) << std::flush;
  return kExitOk;
}

// Parses a subcommand's options and its positional arguments (each declared
// in files, taken in order by positional); a bad option is a usage error.
po::variables_map parse_subcommand(int argc, char** argv, const po::options_description& desc,
                                   const po::options_description& files,
                                   const po::positional_options_description& positional) {
  po::options_description all;
  all.add(desc).add(files);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

int cmd_convert(int argc, char** argv) {
  po::options_description desc("mmusim convert");
  desc.add_options()("from", po::value<std::string>()->default_value("auto"),
                     "input format: auto (detect), text, lackey, bin, champsim, champsim-cloudsuite")(
      "to", po::value<std::string>(), "output format: text, bin or lackey (default: from OUT's name)")("help,h",
                                                                                                      "this help");
  po::options_description files;
  files.add_options()("in", po::value<std::string>())("out", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("in", 1).add("out", 1);
  const po::variables_map vm = parse_subcommand(argc, argv, desc, files, positional);
  if (vm.count("help")) {
    std::cout << "usage: mmusim convert IN OUT [--from FMT] [--to FMT]\n"
                 "\n"
                 "Rewrites the trace IN as OUT, record by record. IN's compression is detected;\n"
                 "OUT is compressed by its name (.zst, .gz, .xz) and its format, without --to,\n"
                 "comes from the name too: *.bin bin, *.txt or *.trace text, *.lackey lackey.\n"
                 "IN or OUT may be - (standard input or output). OUT appears only when the\n"
                 "whole conversion succeeded. text <-> bin is lossless; lackey has no events.\n"
                 "\n"
              << desc;
    return kExitOk;
  }
  if (!vm.count("in") || !vm.count("out"))
    throw UsageError("convert needs IN and OUT: mmusim convert IN OUT [--from FMT] [--to FMT]");
  return run_convert(vm["in"].as<std::string>(), vm["out"].as<std::string>(), vm["from"].as<std::string>(),
                     vm.count("to") ? vm["to"].as<std::string>() : "", std::cerr);
}

int cmd_sweep(int argc, char** argv) {
  po::options_description desc("mmusim sweep");
  desc.add_options()("jobs,j", po::value<std::string>()->default_value("1"), "local backend: runs at a time")(
      "backend", po::value<std::string>()->default_value("local"), "local (child processes) or slurm (one sbatch --array)")(
      "outdir,o", po::value<std::string>(), "output directory (default: out/sweeps/<experiment name>)")(
      "resume", "skip runs whose stats are complete; rerun failed and interrupted ones")(
      "dry-run", "validate every point and list the runs, run nothing")(
      "method", po::value<std::string>()->default_value("auto"),
          "exact (a run per point and trace), one-pass (one run per trace from a TLB's miss curves) or auto (one-pass when it applies)")(
      "progress", "rewrite one progress line even when stderr is not a terminal")(
      "partition", po::value<std::string>(), "slurm: sbatch --partition")(
      "time", po::value<std::string>(), "slurm: sbatch --time, the limit per task (e.g. 10:00)")(
      "cpus-per-task", po::value<std::string>()->default_value("1"), "slurm: sbatch --cpus-per-task")(
      "sbatch-arg", po::value<std::vector<std::string>>()->composing(), "slurm: one more sbatch argument (repeatable)")(
      "poll", po::value<double>()->default_value(1.0), "slurm: seconds between squeue polls")("help,h", "this help");
  po::options_description files;
  files.add_options()("experiment", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("experiment", 1);
  const po::variables_map vm = parse_subcommand(argc, argv, desc, files, positional);
  if (vm.count("help")) {
    std::cout << "usage: mmusim sweep EXPERIMENT.yaml [options]\n"
                 "\n"
                 "Runs every (point, trace) of the experiment as its own `mmusim run` process and\n"
                 "writes OUTDIR/runs/<point-id>/<trace>/ and OUTDIR/results.csv (README, Experiments).\n"
                 "Exit 0 when every run finished, 1 when some failed, 2 for a bad experiment.\n"
                 "\n"
              << desc;
    return kExitOk;
  }
  if (!vm.count("experiment")) throw UsageError("sweep needs an experiment file: mmusim sweep EXPERIMENT.yaml");
  Experiment e;
  try {
    e = load_experiment(vm["experiment"].as<std::string>(), MMUSIM_SOURCE_DIR);
    validate_points(e);
  } catch (const ExperimentError& err) {
    throw ConfigError(err.what());
  }
  SweepOptions o;
  o.outdir = vm.count("outdir") ? vm["outdir"].as<std::string>() : "out/sweeps/" + e.name;
  o.jobs = static_cast<unsigned>(parse_count("-j", vm["jobs"].as<std::string>(), 1, 1024));
  o.backend = vm["backend"].as<std::string>();
  o.resume = vm.count("resume") > 0;
  o.method = vm["method"].as<std::string>();
  o.progress = vm.count("progress") || isatty(STDERR_FILENO);
  o.exe = self_exe();
  if (vm.count("partition")) o.partition = vm["partition"].as<std::string>();
  if (vm.count("time")) o.time_limit = vm["time"].as<std::string>();
  o.cpus_per_task = static_cast<unsigned>(parse_count("--cpus-per-task", vm["cpus-per-task"].as<std::string>(), 1, 4096));
  if (vm.count("sbatch-arg")) o.sbatch_args = vm["sbatch-arg"].as<std::vector<std::string>>();
  o.poll_seconds = vm["poll"].as<double>();
  if (!(o.poll_seconds > 0 && o.poll_seconds <= 3600)) throw UsageError("--poll: expected seconds in (0, 3600]");
  if (vm.count("dry-run")) {
    if (o.method != "exact") {
      const OnePassPlan plan = one_pass_plan(e);
      std::cerr << (plan.ok ? "sweep: one pass from the miss curves of TLB " + plan.tlb
                            : "sweep: separate runs: " + plan.reason)
                << "\n";
    }
    std::cout << e.name << ": " << e.points.size() << " points x " << e.traces.size() << (e.traces.size() == 1 ? " trace\n" : " traces\n");
    for (const auto& p : e.points) std::cout << p.id << "  " << p.label() << "\n";
    return kExitOk;
  }
  try {
    return run_sweep(e, o);
  } catch (const ExperimentError& err) {
    throw ConfigError(err.what());
  }
}

int cmd_check(int argc, char** argv) {
  po::options_description desc("mmusim check");
  desc.add_options()("update", "rewrite each case's expected.csv from this build's run (scripts/update-golden)")(
      "keep", po::value<std::string>(), "write the runs under this directory and keep them")(
      "check-invariants", "run every case with mmusim run --check-invariants (slow)")("help,h", "this help");
  po::options_description files;
  files.add_options()("case", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("case", -1);
  const po::variables_map vm = parse_subcommand(argc, argv, desc, files, positional);
  if (vm.count("help")) {
    std::cout << "usage: mmusim check [CASE_DIR|GOLDEN_DIR]... [--update] [--keep DIR] [--check-invariants]\n"
                 "\n"
                 "Runs golden cases (a directory with case.yaml and expected.csv; default: every\n"
                 "case in the source tree's tests/golden) and compares the statistics: counters\n"
                 "exactly, or within a tolerance the case declares. Prints what changed; exit 1 on\n"
                 "any difference, 2 for a malformed case.\n"
                 "\n"
              << desc;
    return kExitOk;
  }
  CheckOptions o;
  o.paths = vm.count("case") ? vm["case"].as<std::vector<std::string>>()
                             : std::vector<std::string>{std::string(MMUSIM_SOURCE_DIR) + "/tests/golden"};
  o.exe = self_exe();
  o.update = vm.count("update") > 0;
  o.check_invariants = vm.count("check-invariants") > 0;
  if (vm.count("keep")) o.workdir = vm["keep"].as<std::string>();
  try {
    return run_check(o, std::cout);
  } catch (const ExperimentError& err) {
    throw ConfigError(err.what());
  }
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (cmd == "--version") {
    std::cout << "mmusim " << MMUSIM_VERSION << " (" << MMUSIM_GIT_COMMIT << ")\n";
    return kExitOk;
  }
  if (cmd == "run") return cmd_run(argc - 1, argv + 1);
  if (cmd == "params") return cmd_params(argc - 1, argv + 1);
  if (cmd == "convert") return cmd_convert(argc - 1, argv + 1);
  if (cmd == "sweep") return cmd_sweep(argc - 1, argv + 1);
  if (cmd == "check") return cmd_check(argc - 1, argv + 1);
  throw UsageError("unknown command '" + cmd + "'; the commands are run, params, convert, sweep and check (see `mmusim --help`)");
}

}  // namespace

// Our own main() (the executable's definition wins over libsystemc's): the
// SystemC banner, noise in a tool's output, is printed by sc_elab_and_sim
// unless this variable is set before it runs.
int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}

int sc_main(int argc, char** argv) {
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  try {
    return dispatch(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ConfigError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const TraceError& e) {
    std::cerr << "mmusim: " << e.what() << "\nmmusim: no statistics written: the run did not complete\n";
    return kExitTrace;
  } catch (const OutputError& e) {
    std::cerr << "mmusim: " << e.what() << "\nmmusim: no statistics written: the output could not be written\n";
    return kExitOutput;
  } catch (const std::bad_alloc&) {
    std::cerr << "mmusim: out of host memory (std::bad_alloc): the run needs more memory than this machine gives it\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "mmusim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
