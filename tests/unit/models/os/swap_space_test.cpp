// Unit tests of swap space (models/os/mm/swap_space.h, mm/swapfile.c): the
// swap-entry encoding of each mode and swapon's size limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = MachineOs;

// Swap entries of 32-bit paging. arch/x86/include/asm/pgtable-2level.h:
// SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1 = 9, so a 4-byte swap PTE holds
// the offset in bits 31:9, 23 bits: 2^23 slots (32 GiB). swapon's
// read_swap_header() cuts a larger area to swapfile_maximum_size = 2^23
// pages, and slot 0 is the header: total_swap_pages = 2^23 - 1. 64-bit
// entries (46-bit MAXPHYADDR here) address far more: 64 GiB = 2^24 slots
// stay whole, 2^24 - 1 usable.
TEST(Swap32, AnAreaLargerThanASwapEntryAddressesIsCutAndEverySlotRoundTrips) {
  for (PagingMode mode : {PagingMode::Ia32, PagingMode::X86_64}) {
    PhysicalMemory mem(16 * kMiB);
    FakeMmu mmu;
    StatGroup root;
    OsParams p;
    p.memory_bytes = 16 * kMiB;
    p.mode = mode;
    p.levels = mode == PagingMode::Ia32 ? 2 : 4;
    p.highmem = mode == PagingMode::Ia32;
    p.swap_bytes = 64 * (1ull << 30);
    OsModel os(p, mem, mmu, root.group("os"));
    const double total = root.find("os.swap.total")->formula();
    EXPECT_EQ(total, mode == PagingMode::Ia32 ? (1u << 23) - 1.0 : (1u << 24) - 1.0) << paging_mode_name(mode);
    for (std::uint64_t slot : {1ull, 7ull, 8ull, 1ull << 20, (1ull << 20) + 5, (1ull << 23) - 1}) {
      const std::uint64_t e = os.swap_entry(slot);
      EXPECT_EQ(os.swap_slot(e), slot) << slot;
      EXPECT_FALSE(e & pte::kP) << slot;  // not present: every access faults
      if (mode == PagingMode::Ia32) {
        EXPECT_EQ(e >> 32, 0u) << slot;  // fits the 4-byte entry
      }
    }
  }
}

}  // namespace
}  // namespace mmusim
