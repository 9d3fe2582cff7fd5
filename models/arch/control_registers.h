// The control-register state that governs paging (Intel SDM Vol. 3A 2.5,
// 4.1): CR0.WP, CR3, CR4.PSE/PAE/PGE/PCIDE/LA57 and IA32_EFER.LME/NXE, as
// one object the MMU owns. CR0.PG is 1 throughout (paging is on).
//
// The paging mode follows from CR4.PAE, EFER.LME and CR4.LA57 (4.1.1,
// table 4-1). The MMU changes CR3 (MOV to CR3) and CR4.PGE (MOV to CR4) at
// run time; the other bits are fixed for a run (a change of mode, CR4.PCIDE,
// CR0.WP or EFER.NXE while paging is not modelled).
#pragma once

#include <cstdint>

#include "models/arch/paging_mode.h"

namespace mmusim {

struct ControlRegisters {
  bool cr0_wp = true;      // CR0.WP (bit 16): supervisor writes obey R/W
  std::uint64_t cr3 = 0;   // as last loaded (bit 63, the no-flush hint, is never stored)
  bool cr4_pse = true;     // CR4.PSE (bit 4): 4 MiB pages with 32-bit paging
  bool cr4_pae = false;    // CR4.PAE (bit 5)
  bool cr4_pge = true;     // CR4.PGE (bit 7): global pages
  bool cr4_la57 = false;   // CR4.LA57 (bit 12): 5-level paging
  bool cr4_pcide = false;  // CR4.PCIDE (bit 17): CR3 bits 11:0 are the PCID
  bool efer_lme = false;   // IA32_EFER.LME (bit 8): IA-32e mode
  bool efer_nxe = true;    // IA32_EFER.NXE (bit 11): execute-disable

  // The registers that select paging mode m (table 4-1); the other bits
  // keep their defaults.
  static ControlRegisters for_mode(PagingMode m) {
    ControlRegisters c;
    c.cr4_pae = m != PagingMode::Ia32;
    c.efer_lme = m == PagingMode::X86_64 || m == PagingMode::X86_64_La57;
    c.cr4_la57 = m == PagingMode::X86_64_La57;
    return c;
  }
  PagingMode mode() const {
    if (!cr4_pae) return PagingMode::Ia32;
    if (!efer_lme) return PagingMode::Pae;
    return cr4_la57 ? PagingMode::X86_64_La57 : PagingMode::X86_64;
  }
  // The current PCID: CR3 bits 11:0 with CR4.PCIDE = 1, else 0 (4.10.1).
  std::uint16_t pcid() const { return cr4_pcide ? static_cast<std::uint16_t>(cr3 & 0xfff) : 0; }
};

}  // namespace mmusim
