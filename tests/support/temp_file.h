// Files of tests. slurp(): a whole file as a string. write_file(): text into
// DIR/NAME. temp_dir(): a fresh named directory under ::testing::TempDir()
// that outlives the test (the end-to-end tests leave their outputs there).
// TempDirTest: a GoogleTest fixture with a temporary directory of its own
// (m_dir, under ::testing::TempDir()), removed after each test, and the file
// helpers the trace tests share: write text or bytes, read a file back,
// compress one with a command-line tool.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mmusim {

// The whole file; "" if it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

// Writes DIR/name; returns its path.
inline std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

// The empty directory TempDir()/mmusim-PREFIX-NAME-PID (removed first if it
// exists); kept after the test.
inline std::string temp_dir(const std::string& prefix, const std::string& name) {
  const std::string d = ::testing::TempDir() + "/mmusim-" + prefix + "-" + name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "mmusim_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  std::string path(const std::string& name) const { return m_dir + "/" + name; }
  // Writes DIR/name; returns its path.
  std::string write(const std::string& name, const std::string& text) const { return write_file(m_dir, name, text); }
  std::string write_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
    std::ofstream(path(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }
  static std::string slurp(const std::string& p) { return ::mmusim::slurp(p); }
  // Runs a shell command on paths inside the directory; fails the test if
  // the tool is missing or fails.
  void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }
  // `tool -c plain > plain+ext` (gzip, xz, zstd); returns plain+ext.
  std::string compress(const std::string& tool, const std::string& plain, const std::string& ext) {
    std::string out = plain + ext;
    run(tool + " -c '" + plain + "' > '" + out + "'");
    return out;
  }

  std::string m_dir;
};

}  // namespace mmusim
