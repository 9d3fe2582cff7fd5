#include "sim/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mmusim {

namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw OutputError(path + ": " + what + ": " + std::strerror(err));
}

}  // namespace

std::string try_write_temp(const std::string& path, const std::string& content, std::string* tmp_out) {
  const std::string tmp = path + ".tmp";
  *tmp_out = tmp;
  auto error = [&](const char* what, int err) { return tmp + ": " + what + ": " + std::strerror(err); };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return error("cannot create", errno);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      return error("cannot write", err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // close() reports errors that delayed writes meet (NFS, quotas).
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return error("cannot write (at close)", err);
  }
  return {};
}

std::string try_commit_temp(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) == 0) return {};
  const int err = errno;
  ::unlink(tmp.c_str());
  return path + ": cannot rename into place: " + std::strerror(err);
}

std::string write_temp(const std::string& path, const std::string& content) {
  std::string tmp;
  const std::string err = try_write_temp(path, content, &tmp);
  if (!err.empty()) throw OutputError(err);
  return tmp;
}

void commit_temp(const std::string& tmp, const std::string& path) {
  const std::string err = try_commit_temp(tmp, path);
  if (!err.empty()) throw OutputError(err);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  commit_temp(write_temp(path, content), path);
}

void create_output_dir(const std::string& dir) {
  if (dir.empty()) throw OutputError("the output directory name is empty");
  // Each component in turn, so the message names the one that failed.
  std::string partial;
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    std::size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    pos = slash + 1;
    if (partial.empty() || partial == "." || partial == "..") continue;
    struct stat st {};
    if (::stat(partial.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        throw OutputError(partial + ": cannot create the output directory: it exists and is not a directory");
      continue;
    }
    if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
      fail(partial, "cannot create the output directory", errno);
  }
}

void remove_stale(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return;
  const int err = errno;
  struct stat st {};
  // A read-only file system says EROFS even for a file that is not there.
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return;
  fail(path, "cannot remove the stale file", err);
}

}  // namespace mmusim
