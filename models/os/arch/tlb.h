// ASIDs and TLB flushes, after arch/x86/mm/tlb.c:
//  - address-space switches (switch_mm_irqs_off): a MOV to CR3. With PCIDs
//    (OsParams::pcid, choose_new_asid): a few per-CPU ASID slots
//    (TLB_NR_DYN_ASIDS = kPcidSlots), PCID = slot + 1, each remembering which
//    mm it holds and that mm's TLB generation; switching to an mm that still
//    owns a slot whose generation is current sets the no-flush bit (CR3 bit
//    63, SDM 4.10.4.1), else the next slot round-robin is taken and loaded
//    without it (the MMU flushes that PCID);
//  - flush_tlb_mm_range(): a new TLB generation of the mm (inc_mm_tlb_gen)
//    and, on the CPU that has it loaded, INVLPG per page or, for
//    TLB_FLUSH_ALL, a CR3 write without the no-flush bit; a range of more
//    than tlb_single_page_flush_ceiling (33) pages becomes TLB_FLUSH_ALL.
//    A PCID slot holding an older generation is flushed at the next switch.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "models/common/types.h"
#include "models/mmu/mmu_control.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class Tasks;

class AsidManager {
 public:
  // Linux's TLB_NR_DYN_ASIDS: PCIDs 1..6 in use with OsParams::pcid.
  static constexpr unsigned kPcidSlots = 6;

  AsidManager(const OsParams& p, MmuControl& mmu, const Tasks& tasks);

  // switch_mm_irqs_off(): loads p's CR3, with a PCID slot when enabled.
  void load_cr3(const Process& p);
  // The PCID the process last ran with (0 without PCIDs or when it owns no slot).
  std::uint16_t pcid_of(std::uint32_t pid) const;
  // True when the TLB entries tagged with pcid belong to a live mm whose TLB
  // generation has moved past the one the PCID was last flushed at: a flush
  // that flush_tlb_mm_range() leaves to the next switch.
  bool tlb_flush_deferred(std::uint16_t pcid) const;
  // The same for the slots of CPU cpu.
  bool tlb_flush_deferred(std::uint16_t pcid, unsigned cpu) const;
  // The CPU the kernel runs on (OsModel::set_cpu): the PCID slots are per
  // CPU (cpu_tlbstate); this saves the slots of the CPU left and loads cpu's.
  void set_cpu(unsigned cpu);
  // flush_tlb_mm() and flush_tlb_mm_range() (all: the whole PCID).
  void flush_tlb_mm(Process& p);
  void flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all);
  // The flush after an unmap, mprotect or reclaim of [start, end) of p.
  void shootdown(Process& p, VAddr start, VAddr end);
  // The mm of pid is gone: its slot is free.
  void release(std::uint32_t pid);

 private:
  // Linux's cpu_tlbstate.ctxs[TLB_NR_DYN_ASIDS].
  struct PcidSlot {
    std::uint32_t pid = 0;
    bool used = false;
    std::uint64_t tlb_gen = 0;
  };
  const OsParams& m_p;
  MmuControl& m_mmu;
  const Tasks& m_tasks;
  using Slots = std::array<PcidSlot, kPcidSlots>;
  bool deferred(const Slots& slots, std::uint16_t pcid) const;
  Slots m_slots{};
  unsigned m_next_slot = 0;
  struct CpuSlots {
    Slots slots{};
    unsigned next_slot = 0;
  };
  std::vector<CpuSlots> m_cpu_slots{1};  // the other CPUs' slots (set_cpu)
  unsigned m_cpu = 0;
};

}  // namespace mmusim
