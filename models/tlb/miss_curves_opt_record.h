// The record MissCurves keeps for its OPT curve (miss_curves.h, "OPT"):
// private to miss_curves.cpp and miss_curves_opt.cpp.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/tlb/miss_curves.h"

namespace mmusim {

struct MissCurves::OptRecord {
  // One per reference: its instance and, packed, whether a demand lookup
  // made it (bit 31) and how many immediate repeats followed (low bits).
  std::vector<std::uint32_t> id;
  std::vector<std::uint32_t> flags;
  std::uint64_t miss_only = 0;  // demand lookups no fill followed
  std::uint32_t next_id = 0;
  bool pending_miss = false;  // a demand miss whose fill may follow
  // Live instances by vpn << 4 | size: (tag, instance).
  std::unordered_map<std::uint64_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> live;
  std::vector<std::uint64_t> misses;  // computed on demand, by entries - 1
  bool computed = false;
};

}  // namespace mmusim
