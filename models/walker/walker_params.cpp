#include "models/walker/walker_params.h"

#include <string>

namespace mmusim {

void PwcParams::check(const ParamCheck& c) const {
  check_set_geometry(c.at("pml5."), pml5.entries, pml5.ways, true, false);
  check_set_geometry(c.at("pml4."), pml4.entries, pml4.ways, true, false);
  check_set_geometry(c.at("pdpt."), pdpt.entries, pdpt.ways, true, false);
  check_set_geometry(c.at("pd."), pd.entries, pd.ways, true, false);
}

void PwcParams::apply(WalkerParams& w) const {
  w.pwc_entries = {0, 0, pd.entries, pdpt.entries, pml4.entries, pml5.entries};
  w.pwc_ways = {0, 0, pd.ways, pdpt.ways, pml4.ways, pml5.ways};
  w.pwc_latency = latency;
}

void WalkerPoolParams::check(const ParamCheck& c) const {
  if (walkers == 0 || walkers > 1024) c.fail("walkers", "must be in 1..1024, got " + std::to_string(walkers));
}

}  // namespace mmusim
