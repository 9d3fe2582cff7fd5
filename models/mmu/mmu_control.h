// The MMU's control interface as software sees it: the privileged
// instructions an OS uses to switch address spaces and invalidate
// translations. The OS model reaches the hardware only through this and
// through physical memory (DESIGN.md section 2), so either side can be
// replaced. These are zero-time operations; their cost, if any, is charged
// by the caller.
#pragma once

#include <cstdint>

#include "models/common/types.h"

namespace mmusim {

class MmuControl {
 public:
  virtual ~MmuControl() = default;
  // MOV to CR3 (SDM 4.10.4.1): loads the root of the paging structures.
  virtual void write_cr3(std::uint64_t value) = 0;
  virtual std::uint64_t cr3() const = 0;
  // INVLPG va.
  virtual void invlpg(VAddr va) = 0;
  // Invalidates every TLB and paging-structure cache entry, global ones too
  // (as toggling CR4.PGE does).
  virtual void flush_all() = 0;
};

}  // namespace mmusim
