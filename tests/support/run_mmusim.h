// Runs the mmusim binary (MMUSIM_BIN, defined for every test executable) as
// a child process through the shell, its stdout and stderr into files read
// back afterwards.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "tests/support/temp_file.h"

namespace mmusim {

struct RunResult {
  int code = -1;  // the exit status; -1 when killed by a signal
  std::string out, err;
};

// `mmusim ARGS >out_path 2>err_path`; ARGS as the shell splits them.
inline RunResult run_mmusim(const std::string& args, const std::string& out_path, const std::string& err_path) {
  const std::string cmd = std::string(MMUSIM_BIN) + " " + args + " >'" + out_path + "' 2>'" + err_path + "'";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

}  // namespace mmusim
