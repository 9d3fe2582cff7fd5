// `mmusim run`: one simulation of one or more traces (README, Running).
#pragma once

namespace mmusim {

// The run subcommand's options after "run"; returns the exit code
// (sim/command_line.h) or throws UsageError, ConfigError, TraceError,
// OutputError.
int cmd_run(int argc, char** argv);

}  // namespace mmusim
