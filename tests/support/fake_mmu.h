// A fake MMU for the OS model's tests: it records every CR3 write, INVLPG
// and full flush the OS issues through MmuControl, and translates nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/types.h"
#include "models/mmu/mmu_control.h"

namespace mmusim {

class FakeMmu : public MmuControl {
 public:
  void write_cr3(std::uint64_t value) override {
    cr3_writes.push_back(value);
    m_cr3 = value;
  }
  std::uint64_t cr3() const override { return m_cr3; }
  void invlpg(VAddr va) override { invlpgs.push_back(va); }
  void flush_all() override { ++flushes; }
  void clear() {
    cr3_writes.clear();
    invlpgs.clear();
    flushes = 0;
  }

  std::vector<std::uint64_t> cr3_writes;
  std::vector<VAddr> invlpgs;
  unsigned flushes = 0;

 private:
  std::uint64_t m_cr3 = 0;
};

}  // namespace mmusim
