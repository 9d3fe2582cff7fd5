// The paging.* keys: the paging mode and the control-register features
// (Intel SDM 4.1.1 paging modes; CR0.WP, CR4.PSE/PGE/PCIDE, EFER.NXE; 4.1.4
// MAXPHYADDR). The MMU's walker and the OS model both read them.
#pragma once

#include "models/arch/paging_mode.h"
#include "models/common/params.h"

namespace mmusim {

struct WalkerParams;  // models/walker/walker.h

inline constexpr NamedValue<PagingMode> kPagingModeNames[] = {
    {PagingMode::Ia32, "ia32"},
    {PagingMode::Pae, "pae"},
    {PagingMode::X86_64, "x86_64"},
    {PagingMode::X86_64_La57, "x86_64_la57"},
};

struct PagingParams {
  PagingMode mode;
  bool pse, pge, pcid, nx, wp, update_ad;
  unsigned phys_addr_bits;

  PagingParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.choice("mode", mode, PagingMode::X86_64, kPagingModeNames, "paging mode (Intel SDM 4.1.1)");
    v.param("pse", pse, true, "", "CR4.PSE: 4 MiB pages in ia32 mode");
    v.param("pge", pge, true, "",
            "CR4.PGE: global pages survive CR3 writes; the OS model maps the kernel half (its linear map) global");
    v.param("pcid", pcid, false, "",
            "CR4.PCIDE: process-context identifiers, x86_64 modes only; the OS model assigns them as Linux does");
    v.param("nx", nx, true, "", "EFER.NXE: execute-disable bit");
    v.param("wp", wp, true, "", "CR0.WP: supervisor writes honour read-only pages");
    v.param("update_ad", update_ad, true, "",
            "the walker sets accessed and dirty flags with locked read-modify-writes");
    v.param("phys_addr_bits", phys_addr_bits, 46u, "bits", "MAXPHYADDR: physical-address width");
  }
  // Rules on these keys alone; c is at "paging.".
  void check(const ParamCheck& c) const;

  const char* mode_name() const { return name_of(kPagingModeNames, mode); }
  // ia32 and pae: 32-bit linear addresses.
  bool is_32bit() const { return mode == PagingMode::Ia32 || mode == PagingMode::Pae; }
  // WalkerParams::levels: 5 with x86_64_la57, else 4.
  unsigned levels() const { return mode == PagingMode::X86_64_La57 ? 5 : 4; }
  // Linear-address width: 32 (ia32, pae: addresses must be below 4 GiB),
  // 48 or 57 (canonical form).
  unsigned va_bits() const { return mode == PagingMode::X86_64_La57 ? 57 : is_32bit() ? 32 : 48; }
  // The walker's mode, levels and control-register bits.
  void apply(WalkerParams& w) const;
};

}  // namespace mmusim
