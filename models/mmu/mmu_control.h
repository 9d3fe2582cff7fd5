// The MMU's control interface as software sees it: the privileged
// instructions an OS uses to switch address spaces and invalidate
// translations. The OS model reaches the hardware only through this and
// through physical memory (README, "Layout and development"), so either
// side can be replaced. These are zero-time operations; their cost, if
// any, is charged by the caller.
#pragma once

#include <cstdint>
#include <stdexcept>

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
  // INVPCID type (0 individual address, 1 single context, 2 all contexts
  // with globals, 3 all contexts except globals), SDM 4.10.4.1 and the
  // INVPCID instruction. Throws InvalidOperand where the instruction
  // raises #GP(0). The default refuses: a control implementation that
  // serves an OS without INVPCID need not provide it.
  virtual void invpcid(unsigned type, std::uint16_t pcid, VAddr va) {
    (void)type;
    (void)pcid;
    (void)va;
    throw std::logic_error("MmuControl: INVPCID not supported");
  }
  // MOV to CR4 setting CR4.PGE to pge: a change flushes every TLB entry,
  // global ones too, and the paging-structure caches (SDM 4.10.4.1).
  virtual void write_cr4_pge(bool pge) {
    (void)pge;
    throw std::logic_error("MmuControl: CR4.PGE writes not supported");
  }
};

// An operand the processor refuses with #GP(0) (INVPCID with a bad type or
// PCID, a non-canonical address).
class InvalidOperand : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mmusim
