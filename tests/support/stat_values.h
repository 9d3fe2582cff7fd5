// Reading statistics in tests: a counter's value, a counter's or formula's
// value, and the GoogleTest parameter names of the suites run with 4-level
// and 5-level paging.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "models/common/stats.h"

namespace mmusim {

// The counter at `path` in g; a test failure and ~0 when there is none.
inline std::uint64_t counter_value(const StatGroup& g, const std::string& path) {
  const StatGroup::Entry* e = g.find(path);
  if (!e || !e->counter) {
    ADD_FAILURE() << "no counter " << path;
    return ~0ull;
  }
  return e->counter->value();
}

// The counter or formula (truncated) at `path` in g; a test failure and ~0
// when there is none.
inline std::uint64_t stat_value(const StatGroup& g, const std::string& path) {
  const StatGroup::Entry* e = g.find(path);
  if (!e || (!e->counter && !e->formula)) {
    ADD_FAILURE() << "no statistic " << path;
    return ~0ull;
  }
  return e->counter ? e->counter->value() : static_cast<std::uint64_t>(e->formula());
}

// "FourLevel", "FiveLevel" for a suite parametrized by the paging levels.
inline std::string levels_name(const ::testing::TestParamInfo<unsigned>& info) {
  return info.param == 5 ? "FiveLevel" : "FourLevel";
}

}  // namespace mmusim
