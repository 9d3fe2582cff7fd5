#include "models/mmu/paging_params.h"

#include <string>

#include "models/walker/walker.h"

namespace mmusim {

void PagingParams::check(const ParamCheck& c) const {
  // CR4.PCIDE can be set only in IA-32e mode (SDM 4.10.1).
  if (pcid && is_32bit())
    c.fail("pcid",
           std::string("true needs paging.mode x86_64 or x86_64_la57 (PCIDs exist only in IA-32e mode), got mode ") +
               mode_name());
  if (phys_addr_bits < 32 || phys_addr_bits > 52)
    c.fail("phys_addr_bits", "must be in 32..52, got " + std::to_string(phys_addr_bits));
}

void PagingParams::apply(WalkerParams& w) const {
  w.mode = mode;
  w.levels = levels();
  w.pse = pse;
  w.phys_addr_bits = phys_addr_bits;
  w.nxe = nx;
  w.wp = wp;
  w.update_ad = update_ad;
}

}  // namespace mmusim
