// Helpers of the configuration tests: YAML text written to a file named
// after the running test, and the ConfigError message of a load.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "sim/config/config.h"

namespace mmusim {

// Writes text to a file named after the running test; returns its path.
inline std::string write_yaml(const std::string& text, const std::string& tag = "") {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name() + tag + ".yaml";
  std::replace(name.begin(), name.end(), '/', '_');
  const std::string path = ::testing::TempDir() + "mmusim_config_test_" + name;
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  return path;
}

// The ConfigError message of a load, or "" if it loaded.
inline std::string load_error(const std::string& path, const std::vector<std::string>& sets = {}) {
  try {
    load_config(path, sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The error of loading text as a YAML file ("" if it loads).
inline std::string yaml_error(const std::string& text) { return load_error(write_yaml(text)); }

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace mmusim

#define EXPECT_CONTAINS(s, part) \
  EXPECT_TRUE(::mmusim::contains((s), (part))) << "message: " << (s) << "\nexpected to contain: " << (part)
