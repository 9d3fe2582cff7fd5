// The mmusim command line: the usage text, the subcommands params, convert,
// sweep, check and stats, and the mapping of errors to exit codes
// (sim/command_line.h). `mmusim run` is sim/run_command.cpp.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <systemc>
#include <vector>

#include "sim/command_line.h"
#include "sim/config/config.h"
#include "sim/convert.h"
#include "sim/experiment/child_process.h"
#include "sim/experiment/experiment.h"
#include "sim/experiment/golden.h"
#include "sim/experiment/sweep.h"
#include "sim/output_file.h"
#include "sim/run_command.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/trace_summary.h"

#ifndef MMUSIM_VERSION
#define MMUSIM_VERSION "0.1.0"
#endif
#ifndef MMUSIM_GIT_COMMIT
#define MMUSIM_GIT_COMMIT "unknown"
#endif
#ifndef MMUSIM_SOURCE_DIR
#define MMUSIM_SOURCE_DIR "."
#endif

using namespace mmusim;

namespace {

const char* const kUsage =
    "mmusim " MMUSIM_VERSION
    " - a cycle-level x86 MMU/TLB simulator on SystemC\n"
    "\n"
    "usage:\n"
    "  mmusim run     [-c CONFIG.yaml] [-t TRACE]... [--format FMT] [--set KEY=VALUE]...\n"
    "                 [-o OUTDIR] [--max-accesses N] [--progress|--quiet] [--check-invariants]\n"
    "                 [--curves TLB[,TLB...]] [--curves-sample R] [--curves-opt] [--threads auto|1|2]\n"
    "  mmusim params  [-c CONFIG.yaml] [--set KEY=VALUE]...\n"
    "  mmusim convert IN OUT [--from FMT] [--to FMT]\n"
    "  mmusim sweep   EXPERIMENT.yaml [-j N] [--backend local|slurm] [-o OUTDIR] [--resume]\n"
    "                 [--method exact|one-pass|auto]\n"
    "                 [--partition P] [--time LIMIT] [--cpus-per-task N] [--sbatch-arg ARG]...\n"
    "  mmusim check   [CASE_DIR|GOLDEN_DIR]... [--update] [--keep DIR] [--check-invariants]\n"
    "  mmusim stats   TRACE... [--format FMT]\n"
    "  mmusim --help | --version\n"
    "\n"
    "  run     replays a trace through the MMU, TLBs, page walker, memory and the OS\n"
    "          model; prints a summary and, with -o, writes OUTDIR/stats.json,\n"
    "          OUTDIR/stats.csv and the resolved OUTDIR/config.yaml.\n"
    "          No -c: the built-in default config (configs/x86_64.yaml has the same).\n"
    "          No -t: the bundled sample trace. Several -t (at most 64): one process\n"
    "          each, switched round-robin every replay.switch_interval accesses.\n"
    "          With cores: N (--set cores=N), trace i runs on core i, all at once\n"
    "          (at most N -t); each core has its own MMU; statistics per core under\n"
    "          core<i>.mmu.* and core<i>.replay.*, totals under mmu.* and replay.*.\n"
    "          -t - reads the trace from standard input (once per run).\n"
    "  params  lists every configuration key with its value, default, unit and meaning.\n"
    "  convert rewrites a trace in another format (text, bin, lackey), losslessly;\n"
    "          OUT's name chooses the format and compression (t.bin.zst) unless --to.\n"
    "  sweep   runs an experiment (README, Experiments): every (point, trace) as its own\n"
    "          run process, locally or as one Slurm job array; OUTDIR/results.csv.\n"
    "  check   runs golden cases (default: tests/golden) and compares their statistics\n"
    "          with expected.csv; exit 1 on any difference. --update rewrites them.\n"
    "  stats   reads traces (any format run reads) and prints their records, accesses\n"
    "          and events by kind, and footprint (distinct 4 KiB pages, 2 MiB regions).\n"
    "\n"
    "exit codes: 0 success, 1 internal error, 2 usage or configuration error, 3 bad trace\n"
    "(or a run-time limit reached), 4 output not writable (disk full, read-only OUTDIR),\n"
    "5 beyond the host-memory budget (replay.host_memory_limit) or out of host memory;\n"
    "sweep: 1 when some run failed; check: 1 on any difference.\n"
    "`mmusim run --help` lists the options of run.\n";

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
  std::cout << describe_params(load_config_options(vm).config);
  return kExitOk;
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
      "backend", po::value<std::string>()->default_value("local"),
      "local (child processes) or slurm (one sbatch --array)")(
      "outdir,o", po::value<std::string>(), "output directory (default: out/sweeps/<experiment name>)")(
      "resume", "skip runs whose stats are complete; rerun failed and interrupted ones")(
      "dry-run", "validate every point and list the runs, run nothing")(
      "method", po::value<std::string>()->default_value("auto"),
      "exact (a run per point and trace), one-pass (one run per trace from a TLB's miss curves) or auto (one-pass when "
      "it applies)")("progress", "rewrite one progress line even when stderr is not a terminal")(
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
  o.cpus_per_task =
      static_cast<unsigned>(parse_count("--cpus-per-task", vm["cpus-per-task"].as<std::string>(), 1, 4096));
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
    std::cout << e.name << ": " << e.points.size() << " points x " << e.traces.size()
              << (e.traces.size() == 1 ? " trace\n" : " traces\n");
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

int cmd_stats(int argc, char** argv) {
  po::options_description desc("mmusim stats");
  desc.add_options()("format", po::value<std::string>()->default_value("auto"),
                     "trace format: auto, text, lackey, bin, champsim, champsim-cloudsuite")("help,h", "this help");
  po::options_description files;
  files.add_options()("trace", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("trace", -1);
  const po::variables_map vm = parse_subcommand(argc, argv, desc, files, positional);
  if (vm.count("help")) {
    std::cout << "usage: mmusim stats TRACE... [--format FMT]\n"
                 "\n"
                 "Reads each trace (- is standard input) and prints its file, format and size,\n"
                 "its records, accesses by kind (R load, W store, X fetch, M modify), events by\n"
                 "kind, and its footprint: the distinct 4 KiB pages and 2 MiB regions the accesses\n"
                 "touch (virtual, all processes together; an access touches the pages of its first\n"
                 "and last byte). A malformed trace is an error (exit 3), as for run.\n"
                 "\n"
              << desc;
    return kExitOk;
  }
  if (!vm.count("trace")) throw UsageError("stats needs a trace: mmusim stats TRACE...");
  const std::string format = vm["format"].as<std::string>();
  const auto& traces = vm["trace"].as<std::vector<std::string>>();
  for (std::size_t i = 0; i < traces.size(); ++i) {
    std::unique_ptr<TraceReader> reader;
    try {
      reader = open_trace(traces[i], format);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--format: ") + e.what());
    }
    TraceSummary summary;
    try {
      summary.add_all(*reader);
    } catch (const TraceError& e) {
      std::cerr << "mmusim: " << e.what() << "\n";  // no "no statistics written": stats writes none
      return kExitTrace;
    }
    std::cout << (i ? "\n" : "") << "file:           " << traces[i] << "\nformat:         " << reader->format_name()
              << "\n";
    std::error_code ec;
    const auto bytes = traces[i] == "-" ? 0 : std::filesystem::file_size(traces[i], ec);
    if (traces[i] != "-" && !ec) std::cout << "bytes:          " << bytes << "\n";
    std::cout << summary.report();
  }
  return kExitOk;
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
  if (cmd == "stats") return cmd_stats(argc - 1, argv + 1);
  throw UsageError("unknown command '" + cmd +
                   "'; the commands are run, params, convert, sweep, check and stats (see `mmusim --help`)");
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
    std::cerr << "mmusim: out of host memory (std::bad_alloc): the run needs more memory than this machine gives it\n"
                 "mmusim: no statistics written: the run did not complete\n";
    return kExitHostMemory;
  } catch (const std::exception& e) {
    std::cerr << "mmusim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
