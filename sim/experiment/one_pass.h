// The one-pass analysis of a sweep (sim/experiment/sweep.h, "One pass"):
// whether the swept keys change only the geometry of one LRU TLB and the
// metrics are that TLB's counters, and if so the groups of points that one
// run per trace (recording the TLB's miss curves) answers.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sim/experiment/experiment.h"
#include "sim/experiment/sweep.h"

namespace mmusim {

// Points that agree on every swept key other than the TLB's geometry.
struct OnePassGroup {
  std::vector<size_t> points;
  unsigned bound = 0;  // the largest entries among its points
  std::string id;
};

struct SweptGeometry {
  unsigned sets = 0, ways = 0;
};

struct OnePass {
  OnePassPlan plan;
  std::vector<OnePassGroup> groups;
  std::vector<size_t> group_of;         // per point
  std::vector<SweptGeometry> geometry;  // per point: the swept TLB's
};

// Loads every point's configuration; op.plan says whether one pass applies and why not.
OnePass analyse_one_pass(const Experiment& e);

}  // namespace mmusim
