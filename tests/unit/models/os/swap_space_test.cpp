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

// ---------------------------------------------------------------- SwapSpace

// Linux 6.1's swap-entry macros, by hand:
//  - x86_64 (arch/x86/include/asm/pgtable_64.h, SWP_TYPE_BITS 5,
//    SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1 + 5 = 14): "__swp_entry(type,
//    offset) = (~(unsigned long)(offset) << SWP_OFFSET_SHIFT >>
//    SWP_TYPE_BITS) | ((unsigned long)(type) << (64-SWP_TYPE_BITS))":
//    offset 1, type 0: ~1 << 14 >> 5 = 0x07fffffffffffc00 (bits 58:10 set,
//    bit 9 - the inverted offset's bit 0 - clear); offset 5, type 3:
//    0x07fffffffffff400 | 3 << 59 = 0x1ffffffffffff400.
//  - PAE (pgtable-3level.h): the same 64-bit PTE value
//    (__swp_pteval_entry), from a 32-bit swp_entry_t "(type) | (offset) <<
//    SWP_TYPE_BITS".
//  - 2-level (pgtable-2level.h): "((type) << (_PAGE_BIT_PRESENT + 1)) |
//    ((offset) << SWP_OFFSET_SHIFT)", shift 9: offset 5, type 3: 5 << 9 | 3
//    << 1 = 0xa06.
// generic_max_swapfile_size() = "swp_offset(pte_to_swp_entry(
// swp_entry_to_pte(swp_entry(0, ~0UL)))) + 1" (include/linux/swapops.h:
// SWP_TYPE_SHIFT = BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT = 63 - 5 = 58 on
// 64-bit, 31 - 5 = 26 on 32-bit, so swp_entry(0, ~0UL) has offset 2^58 - 1,
// resp. 2^26 - 1):
//  - x86_64: ~(2^58 - 1) << 14 is 0 (its six set bits 63:58 shift out);
//    __swp_offset(0) = ~0 << 5 >> 14 = 2^50 - 1: 2^50 slots;
//  - PAE: ~(2^26 - 1) << 14 >> 5 sets bits 58:35; __pteval_swp_offset =
//    ~pte << 5 >> 14 = 2^26 - 1: 2^26 slots (256 GiB);
//  - 2-level: (2^26 - 1) << 9 in 32 bits keeps 23 offset bits: 2^23.
TEST(LinuxSwp, MacrosAndGenericMaxSwapfileSize) {
  using namespace linux_swp;
  EXPECT_EQ(swp_entry_to_pte(Format::X86_64, swp_entry(Format::X86_64, 0, 1)), 0x07fffffffffffc00ull);
  EXPECT_EQ(swp_entry_to_pte(Format::X86_64, swp_entry(Format::X86_64, 3, 5)), 0x1ffffffffffff400ull);
  EXPECT_EQ(swp_entry_to_pte(Format::Pae, swp_entry(Format::Pae, 0, 1)), 0x07fffffffffffc00ull);
  EXPECT_EQ(swp_entry_to_pte(Format::Pae, swp_entry(Format::Pae, 3, 5)), 0x1ffffffffffff400ull);
  EXPECT_EQ(swp_entry_to_pte(Format::TwoLevel, swp_entry(Format::TwoLevel, 3, 5)), 0xa06u);
  for (Format f : {Format::X86_64, Format::Pae, Format::TwoLevel}) {
    const std::uint64_t e = pte_to_swp_entry(f, swp_entry_to_pte(f, swp_entry(f, 3, 5)));
    EXPECT_EQ(swp_type(f, e), 3u);
    EXPECT_EQ(swp_offset(f, e), 5u);
  }
  EXPECT_EQ(generic_max_swapfile_size(Format::X86_64), 1ull << 50);
  EXPECT_EQ(generic_max_swapfile_size(Format::Pae), 1ull << 26);
  EXPECT_EQ(generic_max_swapfile_size(Format::TwoLevel), 1ull << 23);
}

// A swap entry is a not-present PTE (P clear, SDM 4.5.4: the other bits are
// ignored by the processor) that keeps its slot, for every slot below
// generic_max_swapfile_size() of the mode (above): 2^23 with 32-bit paging,
// 2^26 with PAE, 2^50 with 64-bit paging.
TEST(SwapSpace, EntriesAreNotPresentAndRoundTrip) {
  for (PagingMode mode : {PagingMode::X86_64, PagingMode::Pae, PagingMode::Ia32}) {
    OsParams p = machine_params(16 * kMiB);
    p.mode = mode;
    if (mode != PagingMode::X86_64) {
      p.levels = mode == PagingMode::Ia32 ? 2 : 3;
      p.phys_addr_bits = mode == PagingMode::Ia32 ? 32 : 36;
    }
    OsFixture t(p);
    const SwapSpace& s = t.os.swap_space();
    const bool ia32 = mode == PagingMode::Ia32;
    EXPECT_EQ(s.max_slots(), ia32 ? 1ull << 23 : mode == PagingMode::Pae ? 1ull << 26 : 1ull << 50);
    for (std::uint64_t slot :
         {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{8}, std::uint64_t{12345}, s.max_slots() - 1}) {
      const std::uint64_t e = s.entry(slot);
      EXPECT_FALSE(e & pte::kP) << slot;
      EXPECT_TRUE(e & OsModel::kSwapEntry) << slot;
      EXPECT_EQ(s.slot(e), slot);
      if (ia32) {
        EXPECT_LT(e, 1ull << 32) << slot;
      }
    }
  }
}

// swap_free() when a swap PTE goes away: the slot's count drops and the
// process's MM_SWAPENTS with it; a dropped file page holds no slot.
TEST(SwapSpace, ReleaseFreesTheSlotOfASwapEntryOnly) {
  Os t(64 * kMiB, ThpMode::Never, 1 * kMiB);
  t.os.switch_to(1);
  SwapSpace& s = t.os.swap_space();
  ASSERT_NE(s.device(), nullptr);
  EXPECT_EQ(s.device()->usable_slots(), 255u);  // 256 slots less the header
  const auto slot = s.device()->alloc();
  ASSERT_TRUE(slot);
  EXPECT_EQ(*slot, 1u);  // slot 0 is the header
  Process& p = *t.os.tasks().find(1);
  p.swap_pages = 1;
  s.release(p, OsModel::kFileEvicted);
  EXPECT_EQ(p.swap_pages, 1u);
  s.release(p, s.entry(*slot));
  EXPECT_EQ(p.swap_pages, 0u);
  EXPECT_EQ(s.device()->used(), 0u);
}

}  // namespace
}  // namespace mmusim
