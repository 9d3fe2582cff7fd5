// Swap space, after mm/swapfile.c and mm/swap_state.c: the swap device
// (swap.h) sized at swapon, and the swap entries of not-present PTEs.
//  - swapon -> read_swap_header(): a swap area larger than a swap entry can
//    address is cut to swapfile_maximum_size pages ("Truncating oversized
//    swap area"); slot 0 is the header, so os.swap.total is the usable pages
//    (total_swap_pages).
//  - A swap entry keeps its slot in the address bits with swpte::kSwapEntry
//    set and P clear; with 4-byte entries (ia32) bits 31:12 hold the slot's
//    high bits and bits 3:1 its low three, so that an entry addresses 2^23
//    slots, as the offset field (bits 31:9) of Linux's 2-level format does
//    (arch/x86/include/asm/pgtable-2level.h, SWP_OFFSET_SHIFT 9).
// Swap-in is the fault handler's (do_swap_page); swap-out is reclaim's.
#pragma once

#include <cstdint>
#include <memory>

#include "models/os/mm_types.h"
#include "models/os/os_params.h"
#include "models/os/swap.h"

namespace mmusim {

class PageTables;

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
  // swapfile_maximum_size: the slots a swap entry of this mode can address.
  std::uint64_t max_slots() const;
  // Drops the swap slot of a swap entry of p being unmapped (swap_free).
  void release(Process& p, std::uint64_t e);

 private:
  const OsParams& m_p;
  const PageTables& m_pt;
  std::unique_ptr<SwapDevice> m_device;
};

}  // namespace mmusim
