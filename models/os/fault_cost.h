// The cost of the fault handler's own work, os.fault_model:
//  - cycles: fixed costs per 4 KiB zeroed or copied (zero_cycles,
//    copy_cycles) on top of os.fault_cost.minor / major;
//  - accesses: the handler's memory work - reading current->mm, the mm and
//    the VMAs it searches, the page-table entries it walks, zeroing a new
//    table or page, copying a COW page, the entries it writes - is issued
//    through a KernelAccessPort as supervisor-mode accesses at the kernel
//    linear-map address of each physical byte (a kmap_atomic slot for a
//    HighMem frame: the slot's PTE is written, used, then cleared and
//    INVLPG'd as kunmap_atomic does, SDM 4.10.4.1). Those accesses go through
//    the simulated TLBs, walker and caches; their cycles replace the
//    per-4 KiB costs. The fixed os.fault_cost.minor / major remain (kernel
//    entry and exit, the rest of the handler, swap I/O).
// Left out: the kernel's instruction fetches and the allocators' own
// metadata accesses (struct page, free lists).
#pragma once

#include <cstdint>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/mmu/mmu_control.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class KernelSpace;

class FaultCost {
 public:
  FaultCost(const OsParams& p, MmuControl& mmu, PageTables& pt, KernelSpace& kspace);

  // os.kernel.accesses and os.kernel.access_cycles.
  void register_stats(StatGroup& os);
  // Where the handler's accesses go (the replay).
  void set_kernel_port(KernelAccessPort* port) { m_port = port; }

  // A fault starts: with the accesses model and a port, kernel accesses go
  // out until end_fault(), which returns their cycles.
  void begin_fault();
  Cycles end_fault();

  // A kernel access to physical bytes [pa, pa+bytes) (split per 4 KiB page;
  // a HighMem page through a kmap_atomic slot). No-op outside a fault or
  // with the cycles model.
  void ktouch(PAddr pa, std::uint64_t bytes, bool write);
  // find_vma(): the mm and the VMA objects a search for va reads.
  void ktouch_vma_search(const Process& p, VAddr va);
  // The handler's page-table walk for va: each entry read down to the first
  // not-present or leaf one.
  void ktouch_walk(const Process& p, VAddr va);

  // The fixed per-4 KiB zeroing / copying cycles, 0 with the accesses model.
  Cycles zero_cycles(std::uint64_t pages) const {
    return m_p.fault_model == FaultModel::Accesses ? 0 : pages * m_p.zero_page_per_4k_cycles;
  }
  Cycles copy_cycles(std::uint64_t pages) const {
    return m_p.fault_model == FaultModel::Accesses ? 0 : pages * m_p.cow_copy_per_4k_cycles;
  }

 private:
  void ktouch_page(PAddr pa, std::uint32_t bytes, bool write);

  const OsParams& m_p;
  MmuControl& m_mmu;
  PageTables& m_pt;
  KernelSpace& m_kspace;
  KernelAccessPort* m_port = nullptr;
  bool m_active = false;  // inside a fault with the accesses model
  Cycles m_cycles = 0;    // the current fault's kernel-access cycles
  Counter* m_accesses = nullptr;
  Counter* m_access_cycles = nullptr;
};

}  // namespace mmusim
