// Child processes for `mmusim sweep` and `mmusim check`: each run is its own
// `mmusim run` process (one SystemC kernel per process), its stdout and
// stderr going to a log file, read back here. The CSV side of the runs'
// outputs is sim/experiment/csv.h.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mmusim {

// The running executable (/proc/self/exe), so children run the same build.
std::string self_exe();
// Starts argv[0] with argv, output to log_path (truncated); returns the pid.
// Throws std::runtime_error if fork fails; an exec failure exits the child with 127.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path);
// Waits for pid; returns its exit code, or 128 + signal.
int wait_exit(pid_t pid);
// Decodes a waitpid status the same way.
int exit_code_of(int status);
// The last non-empty line of a file (a failed run's error), or "".
std::string last_line(const std::string& path);
// A word quoted for a POSIX shell.
std::string shell_quote(const std::string& s);
// The whole file (a log, a run's cmd or config.yaml); "" if it is missing.
std::string read_text(const std::string& path);

}  // namespace mmusim
