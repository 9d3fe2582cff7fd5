// Output files written so that nothing is lost or passed off as complete.
//
// Every write and every close is checked; a failure throws OutputError (exit
// code 4) naming the file and the operating system's reason (strerror), and
// removes the temporary file it was writing. A file is written under a
// temporary name (PATH.tmp) and renamed into place by commit_temp(), so a
// reader never sees a half-written file. No SystemC here: the sweep and the
// golden checks use it too.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim {

// An output file or directory could not be written (disk full, read-only
// directory, permissions): exit code 4, distinct from an internal error.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes content to PATH.tmp (created or truncated, mode 0666 & ~umask) and
// closes it, checking each call. Returns the temporary's path. On failure the
// temporary is removed and OutputError thrown.
std::string write_temp(const std::string& path, const std::string& content);
// Renames tmp to path. On failure tmp is removed and OutputError thrown.
void commit_temp(const std::string& tmp, const std::string& path);
// The same without exceptions: the error message ("" on success). Code that
// runs after sc_start() uses these: a C++ throw there, once SystemC's
// coroutines have switched stacks, makes AddressSanitizer report a false
// stack-use-after-scope (google/sanitizers issue 189).
std::string try_write_temp(const std::string& path, const std::string& content, std::string* tmp);
std::string try_commit_temp(const std::string& tmp, const std::string& path);
// write_temp + commit_temp.
void write_file_atomic(const std::string& path, const std::string& content);
// Creates a directory and its parents; OutputError naming it on failure
// (including when it exists as something else than a directory).
void create_output_dir(const std::string& dir);
// Removes a file if it exists. Only a file that exists but cannot be removed
// is an error (OutputError): stale results must not survive a run.
void remove_stale(const std::string& path);

}  // namespace mmusim
