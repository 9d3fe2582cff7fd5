#include "sim/replay_config.h"

#include "sim/replay.h"

namespace mmusim {

void ReplayConfig::apply(ReplayParams& p) const {
  p.gap_cycles = gap_cycles;
  p.sync_each_access = sync == ReplaySync::Access;
  p.switch_interval = switch_interval;
  p.outstanding = outstanding;
  p.migrate_interval = migrate_interval;
}

}  // namespace mmusim
