// The MMU of the CPU the kernel runs on. The OS model's parts reach the
// hardware through one MmuControl (CR3 loads, INVLPG, INVPCID, CR4.PGE);
// with several cores (cores: N) each core has its own MMU, and the kernel's
// writes go to the MMU of the CPU that entered the kernel, as smp_processor_id()
// selects a CPU's own registers in Linux. OsModel::set_cpu() switches it.
// With one core it forwards to that core's MMU and nothing else changes.
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/types.h"
#include "models/mmu/mmu_control.h"

namespace mmusim {

class CpuMmuControl : public MmuControl {
 public:
  explicit CpuMmuControl(MmuControl& cpu0) : m_cpus{&cpu0}, m_cur(&cpu0) {}

  // Adds a CPU; returns its number (CPU 0 is the constructor's).
  unsigned add(MmuControl& mmu) {
    m_cpus.push_back(&mmu);
    return static_cast<unsigned>(m_cpus.size() - 1);
  }
  void select(unsigned cpu) {
    m_cur = m_cpus.at(cpu);
    m_cpu = cpu;
  }
  unsigned cpu() const { return m_cpu; }
  unsigned cpus() const { return static_cast<unsigned>(m_cpus.size()); }

  void write_cr3(std::uint64_t value) override { m_cur->write_cr3(value); }
  std::uint64_t cr3() const override { return m_cur->cr3(); }
  void invlpg(VAddr va) override { m_cur->invlpg(va); }
  void flush_all() override { m_cur->flush_all(); }
  void invpcid(unsigned type, std::uint16_t pcid, VAddr va) override { m_cur->invpcid(type, pcid, va); }
  void write_cr4_pge(bool pge) override { m_cur->write_cr4_pge(pge); }

 private:
  std::vector<MmuControl*> m_cpus;
  MmuControl* m_cur;
  unsigned m_cpu = 0;
};

}  // namespace mmusim
