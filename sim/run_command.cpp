#include "sim/run_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <systemc>
#include <thread>
#include <vector>

#include "sim/command_line.h"
#include "sim/curves_output.h"
#include "sim/experiment/experiment.h"
#include "sim/host_memory.h"
#include "sim/output_file.h"
#include "sim/stats_writer.h"
#include "sim/topology.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/prefetch_reader.h"

#ifndef MMUSIM_VERSION
#define MMUSIM_VERSION "0.1.0"
#endif
#ifndef MMUSIM_GIT_COMMIT
#define MMUSIM_GIT_COMMIT "unknown"
#endif
#ifndef MMUSIM_SOURCE_DIR
#define MMUSIM_SOURCE_DIR "."
#endif

namespace mmusim {
namespace {

// More -t traces than this in one run is refused: each holds decoder buffers
// (an xz -9 stream alone needs 65 MiB to decode).
constexpr std::size_t kMaxTraces = 64;
const char* const kDefaultTrace = "traces/xz-compress.lackey.zst";

std::string default_trace_path() {
  // Installed next to the sources; also try relative to the working directory.
  std::string p = std::string(MMUSIM_SOURCE_DIR) + "/" + kDefaultTrace;
  if (std::filesystem::exists(p)) return p;
  return kDefaultTrace;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  po::options_description desc("mmusim run");
  desc.add(config_options());
  desc.add_options()("trace,t", po::value<std::vector<std::string>>(),
                     "trace file, repeatable (at most 64): several traces run as separate processes, round-robin; - is "
                     "standard input, once (default: the bundled sample trace)")(
      "format", po::value<std::string>()->default_value("auto"),
      "trace format: auto, text, lackey, bin, champsim, champsim-cloudsuite")(
      "outdir,o", po::value<std::string>(), "write stats.json, stats.csv and config.yaml here")(
      "max-accesses", po::value<std::string>()->default_value("0"), "stop after N accesses (0: the whole trace)")(
      "curves", po::value<std::vector<std::string>>()->composing(),
      "TLB[,TLB...]: also write OUTDIR/curves.csv, the LRU misses of every geometry of these TLBs up to 4x their "
      "entries, from one pass (sets mmu.tlbs.<TLB>.curves unless given; needs -o)")(
      "curves-sample", po::value<std::string>(),
      "R: sample the curves of every TLB with curves on at rate R in (0, 1] as SHARDS does (sets "
      "mmu.tlbs.<TLB>.curves_sample_rate; 1: exact); curves.csv then gives estimates and a misses_bound column")(
      "curves-opt",
      "also the OPT (Belady MIN) misses of every fully associative size of the TLBs with curves on, a lower bound for "
      "any policy: column opt_misses of curves.csv (sets mmu.tlbs.<TLB>.curves_opt; not with --curves-sample)")(
      "threads", po::value<std::string>(),
      "auto (the default), 1 or 2: 2 reads and decodes each trace on a thread of its own beside the simulation, 1 on "
      "the simulation thread; auto is 2 when the machine has a core for each trace's decoder besides the simulation's, "
      "else 1 (same results either way)")("progress", "show a progress line on stderr even when it is not a terminal")(
      "check-invariants",
      "check the OS model's invariants after every page fault (O(memory) each) and every TLB or paging-structure-cache "
      "hit against a fresh walk of the page tables (slow; exit 1 on a violation)")(
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
  // --threads 2: a decoder thread per trace beside the simulation; 1 (or a
  // machine with one core): none;
  // auto (the default): decoder threads when the machine has a core for
  // each besides the simulation's (a decoder that shares a core only takes
  // time from the simulation); every format gains (README, Speed: measured
  // on the 2-core machine), bin.zst the least.
  const std::string threads_arg = vm.count("threads") ? vm["threads"].as<std::string>() : "auto";
  if (threads_arg != "auto" && threads_arg != "1" && threads_arg != "2")
    throw UsageError("--threads: expected auto, 1 or 2, got '" + threads_arg + "'");

  LoadedConfig lc = load_config_options(vm);
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
    if (format == "auto" && !vm.count("quiet"))
      std::cerr << "mmusim: " << t << ": format " << readers.back()->format_name() << " (auto-detected)\n";
  }
  // Declared after the readers they wrap: destroyed (their threads joined) first.
  std::vector<std::unique_ptr<PrefetchReader>> prefetchers;
  const std::size_t cores = std::thread::hardware_concurrency();  // 0 if unknown: one thread
  const bool cores_for_decoders = cores > readers.size();
  for (const auto& r : readers) {
    if (cores > 1 && (threads_arg == "2" || (threads_arg == "auto" && cores_for_decoders))) {
      prefetchers.push_back(std::make_unique<PrefetchReader>(*r));
      raw.push_back(prefetchers.back().get());
    } else {
      raw.push_back(r.get());
    }
  }

  // The resolved config, emitted once (yaml-cpp's emitter is slow, and cfg
  // does not change during the run).
  const std::string yaml = to_yaml(cfg);
  if (!outdir.empty()) {
    // A directory that cannot be written fails now, not after the replay.
    std::remove(write_temp(outdir + "/config.yaml", yaml).c_str());
  }

  if (!cfg.replay.affinity.empty() && cfg.replay.affinity.size() != traces.size())
    throw UsageError("replay.affinity gives " + std::to_string(cfg.replay.affinity.size()) + " cores for " +
                     std::to_string(traces.size()) + " -t traces: give one core per trace, in the order of -t");
  const bool quiet = vm.count("quiet") > 0;
  ReplayParams rp;
  rp.max_accesses = max_accesses;
  rp.check_invariants = vm.count("check-invariants") > 0;
  rp.progress = !quiet && (vm.count("progress") || isatty(STDERR_FILENO));

  tlm::tlm_global_quantum::instance().set(sc_core::sc_time(static_cast<double>(cfg.replay.quantum_ps), sc_core::SC_PS));
  // The budget is watched while the model is built and run; the statistics
  // are written after the watch ends, so a stopped run writes nothing.
  auto watch = std::make_unique<HostMemoryWatch>(effective_host_memory_limit(cfg.replay.host_memory_limit));
  Topology top(cfg, raw, rp);
  sc_core::sc_start();
  watch.reset();
  if (top.error()) std::rethrow_exception(top.error());
  if (!top.complete()) throw std::runtime_error("the replay did not finish");

  RunMetadata meta;
  meta.version = MMUSIM_VERSION;
  meta.git_commit = MMUSIM_GIT_COMMIT;
  meta.config_hash = fnv1a64_hex(yaml);  // FNV-1a 64 of the resolved YAML
  meta.config_source = vm.count("config") ? vm["config"].as<std::string>() : "built-in default";
  if (vm.count("set")) meta.config_source += " with --set";
  meta.traces = traces;
  for (const auto& r : readers)
    meta.trace_format += (meta.trace_format.empty() ? "" : ",") + std::string(r->format_name());
  meta.max_accesses = rp.max_accesses;
  const StatGroup::Entry* acc = top.stats().find("replay.accesses");
  meta.truncated = rp.max_accesses && acc && acc->counter->value() >= rp.max_accesses;
  meta.wall_seconds = top.replay().wall_seconds();
  meta.accesses_per_second =
      meta.wall_seconds > 0 && acc ? static_cast<double>(acc->counter->value()) / meta.wall_seconds : 0;

  if (!top.curves().empty()) check_curves_against_stats(top.curves(), top.stats());
  if (!outdir.empty()) {
    const std::string curves = top.curves().empty() ? std::string() : curves_csv(top.curves(), top.stats());
    const std::string err = write_stats(outdir, yaml, top.stats(), top.marks(), meta, curves);
    if (!err.empty()) {
      std::cerr << "mmusim: " << err << "\nmmusim: no statistics written: the output could not be written\n";
      return kExitOutput;
    }
  }
  if (!quiet) std::cout << format_summary(top.stats(), meta) << std::flush;
  return kExitOk;
}

}  // namespace mmusim
