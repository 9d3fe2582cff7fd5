// Swap space, after mm/swapfile.c and mm/swap_state.c: the swap device
// (swap.h) sized at swapon, and the swap entries of not-present PTEs.
//  - swapon -> read_swap_header(): a swap area larger than a swap entry can
//    address is cut to swapfile_maximum_size pages ("Truncating oversized
//    swap area"); slot 0 is the header, so os.swap.total is the usable pages
//    (total_swap_pages).
//  - The cap is Linux's generic_max_swapfile_size(): "swp_offset(
//    pte_to_swp_entry(swp_entry_to_pte(swp_entry(0, ~0UL)))) + 1",
//    computed here with the swap-entry macros of each format (linux_swp
//    below): arch/x86/include/asm/pgtable_64.h (x86_64: the offset stored
//    inverted in bits 58:9, 2^50 slots), pgtable-3level.h (PAE: the same
//    64-bit PTE layout, but a 32-bit swp_entry_t whose offset field has 26
//    bits, 2^26 slots) and pgtable-2level.h (ia32: offset in bits 31:9,
//    2^23 slots). arch_max_swapfile_size()'s L1TF limit is left out (a
//    processor without X86_BUG_L1TF).
//  - A swap entry written into a PTE keeps its slot in the model's own
//    layout (the software bits of page_tables.h mark it): bits 61:12 with
//    64-bit entries, enough for 2^50 slots; with 4-byte entries (ia32)
//    bits 31:12 hold the slot's high bits and bits 3:1 its low three, 2^23
//    slots.
// Swap-in is the fault handler's (do_swap_page); swap-out is reclaim's.
#pragma once

#include <cstdint>
#include <memory>

#include "models/os/mm_types.h"
#include "models/os/os_params.h"
#include "models/os/swap.h"

namespace mmusim {

class PageTables;

// Linux 6.1's swap-entry macros, as they compute: swp_entry_t values and
// PTE values of each x86 format, for generic_max_swapfile_size().
namespace linux_swp {
enum class Format { X86_64, Pae, TwoLevel };
// include/linux/swapops.h: swp_entry(type, offset) with SWP_TYPE_SHIFT =
// BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT (BITS_PER_LONG - 1 - 5).
std::uint64_t swp_entry(Format f, std::uint64_t type, std::uint64_t offset);
std::uint64_t swp_type(Format f, std::uint64_t entry);
std::uint64_t swp_offset(Format f, std::uint64_t entry);
// swp_entry_to_pte() and pte_to_swp_entry() through the arch macros.
std::uint64_t swp_entry_to_pte(Format f, std::uint64_t entry);
std::uint64_t pte_to_swp_entry(Format f, std::uint64_t pte);
// mm/swapfile.c generic_max_swapfile_size().
std::uint64_t generic_max_swapfile_size(Format f);
}  // namespace linux_swp

class SwapSpace {
 public:
  SwapSpace(const OsParams& p, const PageTables& pt);

  // swapon at boot: a device of os.swap.size (none below two slots).
  void swapon();
  // The device, nullptr without swap.
  SwapDevice* device() { return m_device.get(); }
  const SwapDevice* device() const { return m_device.get(); }

  // A swap entry for slot, and back.
  std::uint64_t entry(std::uint64_t slot) const;
  std::uint64_t slot(std::uint64_t e) const;
  // swapfile_maximum_size = arch_max_swapfile_size(): the slots a swap
  // entry of this mode can address.
  std::uint64_t max_slots() const;
  // Drops the swap slot of a swap entry of p being unmapped (swap_free).
  void release(Process& p, std::uint64_t e);

 private:
  const OsParams& m_p;
  const PageTables& m_pt;
  std::unique_ptr<SwapDevice> m_device;
};

}  // namespace mmusim
