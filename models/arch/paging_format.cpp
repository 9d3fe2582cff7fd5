#include "models/arch/paging_format.h"

namespace mmusim {

const char* paging_mode_name(PagingMode m) {
  switch (m) {
    case PagingMode::Ia32: return "ia32";
    case PagingMode::Pae: return "pae";
    case PagingMode::X86_64: return "x86_64";
    case PagingMode::X86_64_La57: return "x86_64_la57";
  }
  return "?";
}

const char* paging_level_name(unsigned level) {
  switch (level) {
    case 5: return "pml5";
    case 4: return "pml4";
    case 3: return "pdpt";
    case 2: return "pd";
    case 1: return "pt";
  }
  return "?";
}

EntryMasks entry_masks(const PagingFormat& f, unsigned m, bool nxe, bool pse) {
  EntryMasks k;
  k.addr = f.addr_mask(m);
  k.root = f.root_mask(m);
  if (f.mode == PagingMode::Ia32) {
    // Table 4-4 (PSE-36): M' = min(40, MAXPHYADDR).
    const unsigned pm = m < 40 ? m : 40;
    k.pse36_bits = pm - 32;
    k.ps_leaf[2] = pse;
    k.page_rsvd[2] = bit_range(21, pm - 19);
    return k;
  }
  // Bits MAXPHYADDR and up to 51 (to 62 with PAE paging).
  const std::uint64_t above_m =
      f.mode == PagingMode::Pae ? (m < 63 ? bit_range(62, m) : 0) : bit_range(51, 12) & ~k.addr;
  const std::uint64_t xd_rsvd = nxe ? 0 : pte::kXD;
  k.xd = nxe ? pte::kXD : 0;
  for (unsigned l = 1; l <= f.levels; ++l) {
    k.ps_leaf[l] = f.ps_maps_page[l];
    k.table_rsvd[l] = above_m | xd_rsvd | (l >= 4 ? pte::kPS : 0);
    k.page_rsvd[l] = above_m | xd_rsvd;
    // The frame of a large page starts at its size: the address bits below
    // it, above the PAT bit (12), are reserved.
    if (l >= 2 && f.ps_maps_page[l]) k.page_rsvd[l] |= bit_range(page_shift(f.large_page[l]) - 1, 13);
  }
  if (f.mode == PagingMode::Pae) k.pdpte_rsvd = bit_range(63, m) | bit_range(8, 5) | bit_range(2, 1);
  return k;
}

}  // namespace mmusim
