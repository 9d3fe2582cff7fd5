// The four x86 paging modes (Intel SDM Vol. 3A 4.1.1, table 4-1), selected
// by CR4.PAE, IA32_EFER.LME and CR4.LA57 with CR0.PG = 1:
//   Ia32        32-bit paging   CR4.PAE = 0
//   Pae         PAE paging      CR4.PAE = 1, EFER.LME = 0
//   X86_64      4-level paging  CR4.PAE = 1, EFER.LME = 1, CR4.LA57 = 0
//   X86_64_La57 5-level paging  CR4.PAE = 1, EFER.LME = 1, CR4.LA57 = 1
#pragma once

#include <cstdint>

namespace mmusim {

enum class PagingMode : std::uint8_t { Ia32, Pae, X86_64, X86_64_La57 };

// "ia32", "pae", "x86_64", "x86_64_la57" (the configuration's names).
const char* paging_mode_name(PagingMode m);

}  // namespace mmusim
