// Bits of an x86 paging-structure entry and of the page-fault error code
// (Intel SDM Vol. 3A 4.3 tables 4-4 .. 4-6, 4.4 tables 4-8 .. 4-11, 4.5.4
// tables 4-14 .. 4-20; 4.7 figure 4-12). The low 12 bits have the same
// meaning in 4-byte (32-bit paging) and 8-byte entries; XD and the
// protection key exist in 8-byte entries only.
#pragma once

#include <cstdint>

namespace mmusim {

namespace pte {
constexpr std::uint64_t kP = 1ull << 0;    // present
constexpr std::uint64_t kRW = 1ull << 1;   // read/write
constexpr std::uint64_t kUS = 1ull << 2;   // user/supervisor
constexpr std::uint64_t kPWT = 1ull << 3;  // page-level write-through
constexpr std::uint64_t kPCD = 1ull << 4;  // page-level cache disable
constexpr std::uint64_t kA = 1ull << 5;    // accessed
constexpr std::uint64_t kD = 1ull << 6;    // dirty (entries that map a page)
constexpr std::uint64_t kPS = 1ull << 7;   // page size (PDE, PDPTE): the entry maps a page
constexpr std::uint64_t kG = 1ull << 8;    // global (entries that map a page)
// PAT: bit 7 of a PTE (where PDEs and PDPTEs have PS), bit 12 of an entry
// mapping a 2 MiB, 4 MiB or 1 GiB page (not an address bit there).
constexpr std::uint64_t kPat4K = 1ull << 7;
constexpr std::uint64_t kPatLarge = 1ull << 12;
// Protection key, bits 62:59 of an entry mapping a page with 4-level and
// 5-level paging; ignored while CR4.PKE = 0 (protection keys are not
// modelled).
constexpr std::uint64_t kPkMask = 0xfull << 59;
constexpr std::uint64_t kXD = 1ull << 63;  // execute-disable (with EFER.NXE = 1)
}  // namespace pte

// #PF error code (SDM 4.7).
namespace pf {
constexpr std::uint32_t kP = 1u << 0;     // 0: not present; 1: protection or reserved bit
constexpr std::uint32_t kW = 1u << 1;     // W/R: a write
constexpr std::uint32_t kU = 1u << 2;     // U/S: a user-mode access
constexpr std::uint32_t kRsvd = 1u << 3;  // a reserved bit set
constexpr std::uint32_t kI = 1u << 4;     // I/D: an instruction fetch (PAE and NXE, or SMEP)
constexpr std::uint32_t kPK = 1u << 5;    // protection key (not modelled)
}  // namespace pf

}  // namespace mmusim
