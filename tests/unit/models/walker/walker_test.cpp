// Tests of the page-table walker against Intel SDM Vol. 3A chapter 4.
//
// Every expectation is worked out by hand from the SDM rule named next to
// it; the page tables are built entry by entry (pt_builder.h) at known
// physical addresses, so the expected references are "table base + index * 8"
// with the indices written out literally. Tests run for 4-level and for
// 5-level paging (the parameter is the number of levels).
//
// Notation for linear addresses: V(i4, i3, i2, i1, offset) has PML4 index i4,
// PDPT index i3, PD index i2, PT index i1; with 5-level paging the PML5
// index is kI5 (2). Error-code bits (SDM 4.7, figure 4-12): P = 1, W/R = 2,
// U/S = 4, RSVD = 8, I/D = 16.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/walker/walker.h"
#include "tests/support/pt_builder.h"
#include "tests/support/sdm_reader.h"
#include "tests/support/stat_values.h"

namespace mmusim {
namespace {

using testing_pt::make_va;
using testing_pt::PageTableBuilder;
using testing_pt::RecordingMemory;
using Path = PageTableBuilder::Path;

constexpr Cycles kMemLat = 7;  // every paging-structure reference costs 7 cycles
constexpr unsigned kI5 = 2;    // PML5 index used by every address with 5-level paging

// Error-code bits written out (SDM 4.7).
using testing_sdm::kEcI;
using testing_sdm::kEcP;
using testing_sdm::kEcRsvd;
using testing_sdm::kEcU;
using testing_sdm::kEcW;

// Entry flags used by most mappings: present, writable, user, accessed,
// dirty - so that a walk needs no A/D update unless a test wants one.
constexpr std::uint64_t kLeafRWUAD = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;

constexpr PAddr kFrame4K = 0x12345000;    // 4 KiB aligned
constexpr PAddr kFrame2M = 0x40000000;    // 2 MiB aligned
constexpr PAddr kFrame1G = 0x8040000000;  // 1 GiB aligned (bits 39 and 30)

class WalkerTest : public ::testing::TestWithParam<unsigned> {
 protected:
  WalkerTest() : pm(64ull << 20), pt(pm, GetParam()), mem(pm, kMemLat) {}

  unsigned levels() const { return GetParam(); }

  VAddr V(unsigned i4, unsigned i3, unsigned i2, unsigned i1, std::uint64_t offset) const {
    return make_va(levels() == 5 ? kI5 : 0, i4, i3, i2, i1, offset);
  }

  // No paging-structure caches unless a test turns one on, so that every
  // walk starts at CR3 and reads one entry per level.
  WalkerParams params() const {
    WalkerParams p = testing_pt::uncached_walker_params(46);
    p.levels = levels();
    return p;
  }

  Walker& make(const WalkerParams& p) {
    walker = std::make_unique<Walker>(p, mem, wstats, pwcstats);
    return *walker;
  }

  WalkResult walk(VAddr va, AccessKind kind, bool user, std::uint16_t pcid = 0) {
    mem.clear();
    return walker->walk(pt.root(), va, kind, user, pcid);
  }

  // Entry addresses of a walk from the root down, given the indices from the
  // PML4 downward ({i4, i3, i2, i1} for a 4K page, fewer for larger pages);
  // with 5-level paging the PML5 entry kI5 comes first. SDM 4.5.4: the
  // entry for level L is at (table base from the entry above, or CR3) +
  // index_L * 8.
  std::vector<PAddr> refs(const Path& p, std::vector<unsigned> idx_from_pml4) const {
    std::vector<PAddr> out;
    if (levels() == 5) out.push_back(p.table[5] + kI5 * 8ull);
    unsigned level = 4;
    for (unsigned i : idx_from_pml4) out.push_back(p.table[level--] + i * 8ull);
    return out;
  }

  PhysicalMemory pm;
  PageTableBuilder pt;
  RecordingMemory mem;
  StatGroup wstats{"walker"};
  StatGroup pwcstats{"pwc"};
  std::unique_ptr<Walker> walker;
};

// Accesses and the error-code bits SDM 4.7 adds for them (with NXE = 1):
// W/R = 1 for writes (a read-modify-write is a write), U/S = 1 for
// user-mode accesses, I/D = 1 for instruction fetches.
using testing_sdm::AccessCase;
const AccessCase kAccesses[] = {
    {AccessKind::Load, false, 0},
    {AccessKind::Load, true, kEcU},
    {AccessKind::Store, false, kEcW},
    {AccessKind::Store, true, kEcW | kEcU},
    {AccessKind::Modify, true, kEcW | kEcU},
    {AccessKind::IFetch, false, kEcI},
    {AccessKind::IFetch, true, kEcI | kEcU},
};

// ===========================================================================
// Translations (SDM 4.5.4, figures 4-8 .. 4-10).

TEST_P(WalkerTest, Translates4KPage) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0x123);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  // 4 KiB page: frame = PTE bits 51:12; PA = frame | va bits 11:0.
  EXPECT_EQ(r.frame, kFrame4K);
  EXPECT_EQ(r.frame | (va & 0xfff), 0x12345123u);
  EXPECT_EQ(r.size, PageSize::k4K);
  // One entry per level: PML5 (5-level only), PML4, PDPT, PD, PT.
  EXPECT_EQ(r.mem_reads, levels());
  EXPECT_EQ(mem.reads, refs(p, {3, 5, 7, 9}));
  EXPECT_TRUE(mem.writes.empty());  // every A and D already 1
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_EQ(r.start_level, levels());
  // No paging-structure cache enabled: only the memory latencies.
  EXPECT_EQ(r.cycles, levels() * kMemLat);
  EXPECT_TRUE(r.writable);
  EXPECT_TRUE(r.user);
  EXPECT_FALSE(r.nx);
  EXPECT_FALSE(r.global);
  EXPECT_TRUE(r.dirty);
}

TEST_P(WalkerTest, ReferenceAddressesFollowEachLevelsIndex) {
  // Indices that use all nine bits of every level (511) and the first entry
  // (0): the entry address is base + index * 8 whatever the index.
  make(params());
  const VAddr va = V(0, 511, 0, 511, 0xfff);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, refs(p, {0, 511, 0, 511}));
  EXPECT_EQ(r.frame | (va & 0xfff), kFrame4K + 0xfff);
}

TEST_P(WalkerTest, Cr3FlagBitsAreNotPartOfTheRootAddress) {
  // SDM 4.5 (table 4-12/4-13): CR3 bits 51:12 hold the root table's
  // address; bit 3 (PWT) and bit 4 (PCD) are cache controls.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  mem.clear();
  WalkResult r = walker->walk(pt.root() | 0x18, va, AccessKind::Load, false, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, refs(p, {3, 5, 7, 9}));
}

TEST_P(WalkerTest, Translates2MPage) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0x123);  // offset in the 2 MiB page: (9 << 12) | 0x123
  Path p = pt.map(va & ~0x1fffffull, kFrame2M, PageSize::k2M, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  // PDE with PS = 1 maps a 2 MiB page (table 4-18): frame = bits 51:21,
  // PA = frame | va bits 20:0.
  EXPECT_EQ(r.size, PageSize::k2M);
  EXPECT_EQ(r.frame, kFrame2M);
  EXPECT_EQ(r.frame | (va & 0x1fffff), 0x40009123u);
  // The walk ends at the PD: 3 references with 4-level paging, 4 with 5.
  EXPECT_EQ(r.mem_reads, levels() - 1);
  EXPECT_EQ(mem.reads, refs(p, {3, 5, 7}));
  EXPECT_EQ(r.cycles, (levels() - 1) * kMemLat);
}

TEST_P(WalkerTest, Translates1GPage) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0x123);  // offset in the 1 GiB page: (7 << 21) | (9 << 12) | 0x123
  Path p = pt.map(va & ~0x3fffffffull, kFrame1G, PageSize::k1G, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  // PDPTE with PS = 1 maps a 1 GiB page (table 4-16): frame = bits 51:30.
  EXPECT_EQ(r.size, PageSize::k1G);
  EXPECT_EQ(r.frame, kFrame1G);
  EXPECT_EQ(r.frame | (va & 0x3fffffff), 0x8040E09123u);
  // 2 references with 4-level paging (PML4E, PDPTE), 3 with 5.
  EXPECT_EQ(r.mem_reads, levels() - 2);
  EXPECT_EQ(mem.reads, refs(p, {3, 5}));
}

TEST_P(WalkerTest, PatBitOfLargePagesIsNotAnAddressBit) {
  // Tables 4-16 and 4-18: bit 12 of a 1 GiB PDPTE or a 2 MiB PDE is PAT,
  // not part of the frame (bits 51:30 / 51:21) and not reserved.
  make(params());
  const VAddr va2m = V(3, 5, 7, 0, 0x1234);
  Path p2 = pt.map(va2m, kFrame2M, PageSize::k2M, kLeafRWUAD);
  pt.set_bits(p2.entry[2], 1ull << 12);
  WalkResult r = walk(va2m, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame2M);

  const VAddr va1g = V(4, 1, 0, 0, 0);
  Path p1 = pt.map(va1g, kFrame1G, PageSize::k1G, kLeafRWUAD);
  pt.set_bits(p1.entry[3], 1ull << 12);
  r = walk(va1g, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame1G);
}

TEST_P(WalkerTest, IgnoredBitsChangeNothing) {
  // Tables 4-14 .. 4-20: bits 11:9 (and bit 6 of non-leaf entries, bit 8 of
  // non-leaf entries) and bits 62:52 are ignored (62:59 are protection keys
  // only with CR4.PKE = 1, not modelled). Setting them all must leave the
  // translation and its references as they were.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0x10);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  const std::uint64_t ignored = 0x7ff0000000000e00ull;  // 62:52 and 11:9
  for (unsigned l = 1; l <= levels(); ++l) pt.set_bits(p.entry[l], ignored);
  for (unsigned l = 2; l <= levels(); ++l) pt.set_bits(p.entry[l], pte::kD | pte::kG);
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_FALSE(r.fault) << std::hex << r.page_fault.error_code;
  EXPECT_EQ(r.frame, kFrame4K);
  EXPECT_EQ(mem.reads, refs(p, {3, 5, 7, 9}));
}

TEST_P(WalkerTest, GlobalAndDirtyComeFromTheLeaf) {
  // G (bit 8) and D (bit 6) are defined only in the entry that maps the page.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD | pte::kG);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_TRUE(r.global);
  EXPECT_TRUE(r.dirty);

  const VAddr va2 = V(3, 5, 8, 0, 0);
  pt.map(va2, kFrame2M, PageSize::k2M, pte::kP | pte::kRW | pte::kA | pte::kG);
  r = walk(va2, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_TRUE(r.global);
  EXPECT_FALSE(r.dirty);
}

TEST_P(WalkerTest, UpperHalfCanonicalAddressUsesItsTopLevelIndex) {
  // SDM 4.5.1: 4-level paging translates linear-address bits 47:0 (bits
  // 63:48 are copies of bit 47), 5-level paging bits 56:0 (63:57 copies of
  // bit 56). An upper-half address such as 0xffff800000201000 (4-level) or
  // 0xff00000000201000 (5-level) therefore uses top-level index 256, and
  // the sign-extension bits select nothing.
  make(params());
  const VAddr va = levels() == 5 ? 0xff00000000201abcull : 0xffff800000201abcull;
  // Indices below the top: all 0 except PD index 1 and PT index 1.
  ASSERT_EQ(testing_pt::index_at(va, levels()), 256u);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame | (va & 0xfff), kFrame4K | 0xabc);
  std::vector<PAddr> want;
  for (unsigned l = levels(); l >= 1; --l) {
    const unsigned idx = l == levels() ? 256 : (l == 2 || l == 1) ? 1 : 0;
    want.push_back(p.table[l] + idx * 8ull);
  }
  EXPECT_EQ(mem.reads, want);
}

// ===========================================================================
// Not-present entries (SDM 4.7: P = 0 in the error code when the fault was
// caused by a non-present page; CR2 holds the linear address).

TEST_P(WalkerTest, NotPresentAtEachLevelFaultsWithPZero) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0xabc);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (unsigned level = 1; level <= levels(); ++level) {
    const std::uint64_t saved = pt.get(p.entry[level]);
    pt.clear_bits(p.entry[level], pte::kP);
    for (const AccessCase& a : kAccesses) {
      SCOPED_TRACE("level " + std::to_string(level) + " kind " + access_kind_name(a.kind) +
                   (a.user ? " user" : " supervisor"));
      WalkResult r = walk(va, a.kind, a.user);
      ASSERT_TRUE(r.fault);
      EXPECT_EQ(r.page_fault.cr2, va);
      EXPECT_EQ(r.page_fault.error_code, a.bits);  // P = 0, RSVD = 0
      // The walk stops at the non-present entry: the levels above it and
      // the entry itself were read.
      EXPECT_EQ(r.mem_reads, levels() - level + 1);
      std::vector<PAddr> want = refs(p, {3, 5, 7, 9});
      want.resize(levels() - level + 1);
      EXPECT_EQ(mem.reads, want);
      EXPECT_TRUE(mem.writes.empty());
    }
    pt.set(p.entry[level], saved);
  }
  EXPECT_EQ(counter_value(wstats, "faults"), levels() * std::size(kAccesses));
}

TEST_P(WalkerTest, NotPresentEntryIgnoresEveryOtherBit) {
  // Table 4-20 (format of a non-present entry): bits 63:1 are ignored, so
  // bits that would be reserved in a present entry do not make RSVD = 1.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.set(p.entry[2], ~pte::kP);
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcW | kEcU);
}

TEST_P(WalkerTest, FetchFaultHasNoIdBitWhenNxeIsOff) {
  // SDM 4.7: I/D = 1 only for fetches when (PAE paging modes and) NXE = 1
  // (SMEP is not modelled).
  WalkerParams wp = params();
  wp.nxe = false;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(p.entry[1], pte::kP);
  WalkResult r = walk(va, AccessKind::IFetch, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcU);
  r = walk(va, AccessKind::IFetch, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, 0u);
}

// ===========================================================================
// Reserved bits (SDM 4.5.4 tables 4-14 .. 4-19, 4.7: P = 1 and RSVD = 1).

TEST_P(WalkerTest, AddressBitAboveMaxPhyAddrIsReservedAtEveryLevel) {
  make(params());  // MAXPHYADDR = 46: bits 51:46 reserved
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (unsigned bit : {46u, 51u}) {
    for (unsigned level = 1; level <= levels(); ++level) {
      SCOPED_TRACE("bit " + std::to_string(bit) + " level " + std::to_string(level));
      const std::uint64_t saved = pt.get(p.entry[level]);
      pt.set_bits(p.entry[level], 1ull << bit);
      for (const AccessCase& a : kAccesses) {
        WalkResult r = walk(va, a.kind, a.user);
        ASSERT_TRUE(r.fault);
        EXPECT_EQ(r.page_fault.cr2, va);
        EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | a.bits);
        // The check is made on the entry with the bad bit: nothing below it
        // is read.
        EXPECT_EQ(r.mem_reads, levels() - level + 1);
      }
      pt.set(p.entry[level], saved);
    }
  }
}

TEST_P(WalkerTest, MaxPhyAddrParameterMovesTheReservedBoundary) {
  // MAXPHYADDR = 36: bits 35:12 are address bits, 51:36 reserved.
  WalkerParams wp = params();
  wp.phys_addr_bits = 36;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0x42);
  Path p = pt.map(va, 0x800000000ull | kFrame4K, PageSize::k4K, kLeafRWUAD);  // bit 35 set
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x800000000ull | kFrame4K);
  pt.set_bits(p.entry[1], 1ull << 36);
  r = walk(va, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
}

TEST_P(WalkerTest, PsInPml4eOrPml5eIsReserved) {
  // Table 4-15 (PML4E) and 4-14 (PML5E): bit 7 is reserved (must be 0).
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (unsigned level = 4; level <= levels(); ++level) {
    SCOPED_TRACE(level);
    pt.set_bits(p.entry[level], pte::kPS);
    WalkResult r = walk(va, AccessKind::Load, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcU);
    EXPECT_EQ(r.mem_reads, levels() - level + 1);
    pt.clear_bits(p.entry[level], pte::kPS);
  }
}

TEST_P(WalkerTest, Bits20To13OfA2MPdeAreReserved) {
  // Table 4-18: bits 20:13 of a PDE that maps a 2 MiB page are reserved.
  make(params());
  const VAddr va = V(3, 5, 7, 0, 0x5000);
  Path p = pt.map(va, kFrame2M, PageSize::k2M, kLeafRWUAD);
  for (unsigned bit = 13; bit <= 20; ++bit) {
    SCOPED_TRACE(bit);
    pt.set_bits(p.entry[2], 1ull << bit);
    WalkResult r = walk(va, AccessKind::Store, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcW);
    EXPECT_EQ(r.mem_reads, levels() - 1);
    pt.clear_bits(p.entry[2], 1ull << bit);
  }
  // Bit 21 is the lowest frame bit: a valid 2 MiB frame.
  pt.set_bits(p.entry[2], 1ull << 21);
  WalkResult r = walk(va, AccessKind::Store, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame2M | (1ull << 21));
}

TEST_P(WalkerTest, Bits20To13OfANonLeafPdeAreAddressBits) {
  // Table 4-19: a PDE with PS = 0 holds the page table's address in bits
  // 51:12, so bits 20:13 are address bits there, not reserved.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  ASSERT_NE(p.table[1] & 0x1fe000, 0u);  // the page table sits at 0x103000 (4-level) or 0x104000 (5-level)
  WalkResult r = walk(va, AccessKind::Load, false);
  EXPECT_FALSE(r.fault);
}

TEST_P(WalkerTest, Bits29To13OfA1GPdpteAreReserved) {
  // Table 4-16: bits 29:13 of a PDPTE that maps a 1 GiB page are reserved.
  make(params());
  const VAddr va = V(3, 5, 0, 0, 0x77);
  Path p = pt.map(va, kFrame1G, PageSize::k1G, kLeafRWUAD);
  for (unsigned bit : {13u, 20u, 21u, 29u}) {
    SCOPED_TRACE(bit);
    pt.set_bits(p.entry[3], 1ull << bit);
    WalkResult r = walk(va, AccessKind::Load, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcU);
    EXPECT_EQ(r.mem_reads, levels() - 2);
    pt.clear_bits(p.entry[3], 1ull << bit);
  }
}

TEST_P(WalkerTest, XdIsReservedWhenNxeIsOff) {
  // Tables 4-14 .. 4-19: bit 63 is XD if IA32_EFER.NXE = 1, otherwise
  // reserved - for any access, including loads.
  WalkerParams wp = params();
  wp.nxe = false;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (unsigned level = 1; level <= levels(); ++level) {
    SCOPED_TRACE(level);
    pt.set_bits(p.entry[level], pte::kXD);
    WalkResult r = walk(va, AccessKind::Load, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
    EXPECT_EQ(r.mem_reads, levels() - level + 1);
    // A fetch: RSVD, and no I/D since NXE = 0.
    r = walk(va, AccessKind::IFetch, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcU);
    pt.clear_bits(p.entry[level], pte::kXD);
  }
}

TEST_P(WalkerTest, XdIsNotReservedWhenNxeIsOn) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (unsigned level = 1; level <= levels(); ++level) pt.set_bits(p.entry[level], pte::kXD);
  WalkResult r = walk(va, AccessKind::Load, true);
  EXPECT_FALSE(r.fault);
  r = walk(va, AccessKind::Store, true);
  EXPECT_FALSE(r.fault);
}

TEST_P(WalkerTest, ReservedFetchFaultWithNxeHasIdBit) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.set_bits(p.entry[3], 1ull << 50);
  WalkResult r = walk(va, AccessKind::IFetch, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcI);
}

// ===========================================================================
// Access rights (SDM 4.6.1). R/W and U/S of the translation are the logical
// AND over every entry used, XD the logical OR. A fault here has P = 1.

// One right taken away at one level at a time (U/S or R/W cleared, XD set),
// then accesses of each kind in each mode. The expected outcome of each row
// is SDM 4.6.1's rule for the mode's CR0.WP and IA32_EFER.NXE, and its
// error code SDM 4.7's: P = 1 (a rights fault), W for a write, U for a
// user-mode access, I for a fetch with NXE = 1.
struct RightsAccess {
  AccessKind kind;
  bool user;
  bool faults;
  std::uint32_t error_code;  // when it faults
};
struct RightsCase {
  const char* what;
  std::uint64_t bit;  // cleared at the level (U/S, R/W) or, for XD, set
  bool wp, nxe;
  std::vector<RightsAccess> accesses;
};

TEST_P(WalkerTest, OneEntryDenyingARightAtAnyLevelDeniesItForTheTranslation) {
  const std::vector<RightsCase> cases = {
      {"U/S = 0: user accesses of every kind fault; supervisor ones are allowed",
       pte::kUS,
       true,
       true,
       {{AccessKind::Load, true, true, kEcP | kEcU},
        {AccessKind::Store, true, true, kEcP | kEcW | kEcU},
        {AccessKind::IFetch, true, true, kEcP | kEcU | kEcI},
        {AccessKind::Load, false, false, 0},
        {AccessKind::Store, false, false, 0},
        {AccessKind::IFetch, false, false, 0}}},
      {"R/W = 0 with WP = 1: every write faults, supervisor ones too; reads are allowed",
       pte::kRW,
       true,
       true,
       {{AccessKind::Store, true, true, kEcP | kEcW | kEcU},
        {AccessKind::Modify, true, true, kEcP | kEcW | kEcU},
        {AccessKind::Store, false, true, kEcP | kEcW},
        {AccessKind::Load, true, false, 0},
        {AccessKind::Load, false, false, 0}}},
      {"R/W = 0 with WP = 0: supervisor writes are allowed, user writes still fault",
       pte::kRW,
       false,
       true,
       {{AccessKind::Store, false, false, 0}, {AccessKind::Store, true, true, kEcP | kEcW | kEcU}}},
      {"XD = 1 with NXE = 1: fetches fault in both modes; reads and writes are allowed",
       pte::kXD,
       true,
       true,
       {{AccessKind::IFetch, true, true, kEcP | kEcU | kEcI},
        {AccessKind::IFetch, false, true, kEcP | kEcI},
        {AccessKind::Load, true, false, 0},
        {AccessKind::Store, true, false, 0}}},
  };
  const VAddr va = V(3, 5, 7, 9, 0x80);
  const Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  for (const RightsCase& c : cases) {
    SCOPED_TRACE(c.what);
    WalkerParams wp = params();
    wp.wp = c.wp;
    wp.nxe = c.nxe;
    StatGroup case_wstats{"walker"}, case_pwcstats{"pwc"};
    Walker w(wp, mem, case_wstats, case_pwcstats);
    for (unsigned level = 1; level <= levels(); ++level) {
      SCOPED_TRACE(level);
      if (c.bit == pte::kXD) pt.set_bits(p.entry[level], c.bit);
      else pt.clear_bits(p.entry[level], c.bit);
      for (const RightsAccess& a : c.accesses) {
        SCOPED_TRACE(std::string(a.user ? "user " : "supervisor ") + std::to_string(static_cast<int>(a.kind)));
        mem.clear();
        const WalkResult r = w.walk(pt.root(), va, a.kind, a.user, 0);
        ASSERT_EQ(r.fault, a.faults);
        if (r.fault) {
          EXPECT_EQ(r.page_fault.cr2, va);
          EXPECT_EQ(r.page_fault.error_code, a.error_code);
        } else {
          // The translation's rights: U/S and R/W ANDed, XD ORed over the levels.
          EXPECT_EQ(r.user, c.bit != pte::kUS);
          EXPECT_EQ(r.writable, c.bit != pte::kRW);
          EXPECT_EQ(r.nx, c.bit == pte::kXD);
        }
      }
      if (c.bit == pte::kXD) pt.clear_bits(p.entry[level], c.bit);
      else pt.set_bits(p.entry[level], c.bit);
    }
  }
}

TEST_P(WalkerTest, WithoutNxeEveryReadablePageIsExecutable) {
  // SDM 4.6.1: with IA32_EFER.NXE = 0 instructions may be fetched from any
  // address that may be read in that mode.
  WalkerParams wp = params();
  wp.nxe = false;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::IFetch, true);
  ASSERT_FALSE(r.fault);
  EXPECT_FALSE(r.nx);
  pt.clear_bits(p.entry[1], pte::kUS);  // supervisor page: user fetch denied by U/S, not XD
  r = walk(va, AccessKind::IFetch, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU);
}

TEST_P(WalkerTest, SupervisorMayReadAndFetchUserPages) {
  // SMEP and SMAP are not modelled (CR4.SMEP = CR4.SMAP = 0): supervisor
  // reads, writes (R/W = 1) and fetches of user-mode addresses are allowed.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  EXPECT_FALSE(walk(va, AccessKind::Load, false).fault);
  EXPECT_FALSE(walk(va, AccessKind::Store, false).fault);
  EXPECT_FALSE(walk(va, AccessKind::IFetch, false).fault);
}

TEST_P(WalkerTest, RightsAccumulateOverLevels) {
  // Only an upper-level entry restricts; the leaf is fully permissive.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(p.entry[4], pte::kRW);  // PML4E read-only
  pt.clear_bits(p.entry[3], pte::kUS);  // PDPTE supervisor
  pt.set_bits(p.entry[2], pte::kXD);    // PDE execute-disable
  // A supervisor read is allowed; the result carries the accumulated rights:
  // R/W = 0 AND 1 AND 1 AND 1 = 0, U/S = 1 AND 0 AND 1 AND 1 = 0,
  // XD = 0 OR 0 OR 1 OR 0 = 1.
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_FALSE(r.writable);
  EXPECT_FALSE(r.user);
  EXPECT_TRUE(r.nx);
  r = walk(va, AccessKind::Store, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW);
  r = walk(va, AccessKind::IFetch, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcI);
  r = walk(va, AccessKind::Load, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU);
}

TEST_P(WalkerTest, UpperLevelRightsApplyToLargePages) {
  make(params());
  const VAddr va = V(3, 5, 7, 0, 0x2000);
  Path p = pt.map(va, kFrame2M, PageSize::k2M, kLeafRWUAD);
  pt.clear_bits(p.entry[3], pte::kRW);  // PDPTE read-only above a writable 2 MiB PDE
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
  r = walk(va, AccessKind::Load, true);
  ASSERT_FALSE(r.fault);
  EXPECT_FALSE(r.writable);
}

// ===========================================================================
// Accessed and dirty flags (SDM 4.8): a walk sets A in every entry it uses
// and, for a write, D in the entry that maps the page.

TEST_P(WalkerTest, ReadWalkSetsAccessedInEveryEntryAndNotDirty) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, no_a);
  std::vector<std::uint64_t> before(levels() + 1);
  for (unsigned l = 1; l <= levels(); ++l) before[l] = pt.get(p.entry[l]);

  WalkResult r = walk(va, AccessKind::Load, true);
  ASSERT_FALSE(r.fault);
  // One flag update per entry used, at that entry's address.
  EXPECT_EQ(r.ad_writes, levels());
  std::vector<PAddr> written = mem.writes, used = refs(p, {3, 5, 7, 9});
  std::sort(written.begin(), written.end());
  std::sort(used.begin(), used.end());
  EXPECT_EQ(written, used);
  // Only A changes; D of the leaf stays 0 for a read.
  for (unsigned l = 1; l <= levels(); ++l) EXPECT_EQ(pt.get(p.entry[l]), before[l] | pte::kA) << "level " << l;
  EXPECT_FALSE(r.dirty);
  // Each update is a locked read-modify-write (walker.h): the reference
  // before every write is a read of the same entry, and the walk costs the
  // memory latency of all of them: levels reads + levels x (read + write).
  for (std::size_t i = 0; i < mem.refs.size(); ++i) {
    if (!mem.refs[i].write) continue;
    ASSERT_GT(i, 0u);
    EXPECT_FALSE(mem.refs[i - 1].write);
    EXPECT_EQ(mem.refs[i - 1].pa, mem.refs[i].pa);
  }
  EXPECT_EQ(r.mem_reads, levels());
  EXPECT_EQ(r.cycles, 3 * levels() * kMemLat);
  EXPECT_EQ(counter_value(wstats, "ad_writes"), levels());
}

TEST_P(WalkerTest, WriteWalkSetsDirtyInTheLeafOnly) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, no_a);
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_FALSE(r.fault);
  EXPECT_TRUE(r.dirty);
  EXPECT_EQ(r.ad_writes, levels());
  EXPECT_EQ(pt.get(p.entry[1]), kFrame4K | no_a | pte::kA | pte::kD);
  // Bit 6 of a non-leaf entry is ignored; the walker must not set it.
  for (unsigned l = 2; l <= levels(); ++l) {
    EXPECT_EQ(pt.get(p.entry[l]) & (pte::kA | pte::kD), pte::kA) << "level " << l;
  }
}

TEST_P(WalkerTest, SecondWalkNeedsNoFlagWrites) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, no_a);
  ASSERT_FALSE(walk(va, AccessKind::Load, false).fault);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_TRUE(mem.writes.empty());
  EXPECT_EQ(mem.reads, refs(p, {3, 5, 7, 9}));
  // A write after the read: only D in the PTE is missing -> one update.
  r = walk(va, AccessKind::Store, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 1u);
  EXPECT_EQ(mem.writes, std::vector<PAddr>{p.entry[1]});
  EXPECT_EQ(pt.get(p.entry[1]) & pte::kD, pte::kD);
  // And a second write needs none.
  r = walk(va, AccessKind::Store, false);
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_TRUE(mem.writes.empty());
}

TEST_P(WalkerTest, UpdateAdFalseWritesNoFlag) {
  // paging.update_ad: false: no locked read-modify-write at all; the walk
  // reads one entry per level and memory is left as it was.
  WalkerParams wp = params();
  wp.update_ad = false;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, no_a);
  for (AccessKind k : {AccessKind::Load, AccessKind::Store, AccessKind::Modify}) {
    WalkResult r = walk(va, k, true);
    ASSERT_FALSE(r.fault);
    EXPECT_EQ(r.ad_writes, 0u);
    EXPECT_TRUE(mem.writes.empty());
    EXPECT_EQ(r.mem_reads, levels());
    EXPECT_EQ(r.cycles, levels() * kMemLat);
    for (unsigned l = 1; l <= levels(); ++l) EXPECT_EQ(pt.get(p.entry[l]) & (pte::kA | pte::kD), 0u) << l;
  }
  EXPECT_EQ(counter_value(wstats, "ad_writes"), 0u);
}

TEST_P(WalkerTest, OnlyEntriesWithAccessedClearAreWritten) {
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  Path p = pt.map(va, kFrame4K, PageSize::k4K, pte::kP | pte::kRW | pte::kA);
  pt.clear_bits(p.entry[3], pte::kA);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 1u);
  EXPECT_EQ(mem.writes, std::vector<PAddr>{p.entry[3]});
}

TEST_P(WalkerTest, DirtyGoesIntoTheLargePageEntry) {
  make(params());
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  const VAddr va2m = V(3, 5, 7, 0, 0x3000);
  Path p2 = pt.map(va2m, kFrame2M, PageSize::k2M, no_a, no_a);
  WalkResult r = walk(va2m, AccessKind::Modify, true);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, levels() - 1);
  EXPECT_EQ(pt.get(p2.entry[2]) & (pte::kA | pte::kD), pte::kA | pte::kD);  // the 2 MiB PDE maps the page
  EXPECT_EQ(pt.get(p2.entry[3]) & (pte::kA | pte::kD), pte::kA);

  const VAddr va1g = V(4, 0, 0, 0, 0);
  Path p1 = pt.map(va1g, kFrame1G, PageSize::k1G, no_a, no_a);
  r = walk(va1g, AccessKind::Store, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(pt.get(p1.entry[3]) & (pte::kA | pte::kD), pte::kA | pte::kD);
  EXPECT_EQ(pt.get(p1.entry[4]) & (pte::kA | pte::kD), pte::kA);
}

TEST_P(WalkerTest, NoFlagUpdatesWhenDisabled) {
  WalkerParams wp = params();
  wp.update_ad = false;
  make(wp);
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, no_a);
  std::vector<std::uint64_t> before(levels() + 1);
  for (unsigned l = 1; l <= levels(); ++l) before[l] = pt.get(p.entry[l]);
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_TRUE(mem.writes.empty());
  EXPECT_FALSE(r.dirty);  // the leaf's D as found in memory
  EXPECT_EQ(r.cycles, levels() * kMemLat);
  for (unsigned l = 1; l <= levels(); ++l) EXPECT_EQ(pt.get(p.entry[l]), before[l]);
}

TEST_P(WalkerTest, FaultingWalkSetsNoFlags) {
  // Implementation choice (walker.h): a walk that faults updates nothing.
  make(params());
  const VAddr va = V(3, 5, 7, 9, 0);
  const std::uint64_t no_a = pte::kP | pte::kUS;  // read-only leaf
  Path p = pt.map(va, kFrame4K, PageSize::k4K, no_a, pte::kP | pte::kRW | pte::kUS);
  std::vector<std::uint64_t> before(levels() + 1);
  for (unsigned l = 1; l <= levels(); ++l) before[l] = pt.get(p.entry[l]);
  // Rights fault (user write to a read-only page).
  WalkResult r = walk(va, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_TRUE(mem.writes.empty());
  // Not-present fault in the PTE.
  pt.clear_bits(p.entry[1], pte::kP);
  before[1] = pt.get(p.entry[1]);
  r = walk(va, AccessKind::Load, true);
  ASSERT_TRUE(r.fault);
  EXPECT_TRUE(mem.writes.empty());
  for (unsigned l = 1; l <= levels(); ++l) EXPECT_EQ(pt.get(p.entry[l]), before[l]);
}

// ===========================================================================
// Paging-structure caches (SDM 4.10.3). Caches are indexed by level:
// 2 = PDE cache (tag: va bits 47:21, 56:21 with 5-level paging),
// 3 = PDPTE cache (47:30), 4 = PML4E cache (47:39), 5 = PML5E cache (56:48).

class WalkerPwcTest : public WalkerTest {
 protected:
  WalkerParams with_cache(std::initializer_list<unsigned> cached_levels) const {
    WalkerParams wp = params();
    for (unsigned l : cached_levels) {
      wp.pwc_entries[l] = 8;
      wp.pwc_ways[l] = 2;
    }
    return wp;
  }
};

TEST_P(WalkerPwcTest, PdeCacheHitReadsOnlyThePte) {
  make(with_cache({2}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0x10);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame4K + 0x1000, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(a, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, levels());
  EXPECT_EQ(r.cycles, 3 + levels() * kMemLat);  // PWC lookup + one latency per reference
  // b shares PML4E, PDPTE and PDE with a: the PDE cache supplies the page
  // table's address, so the only reference is PTE 10 of that table.
  r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame4K + 0x1000);
  EXPECT_EQ(r.mem_reads, 1u);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{pa.table[1] + 10 * 8});
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.cycles, 3 + kMemLat);
  EXPECT_EQ(counter_value(pwcstats, "pd.hits"), 1u);
  EXPECT_EQ(counter_value(pwcstats, "pd.misses"), 1u);
}

TEST_P(WalkerPwcTest, PdpteCacheHitReadsPdeAndPte) {
  make(with_cache({3}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 8, 9, 0);
  pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  Path pb = pt.map(b, kFrame4K + 0x1000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, 2u);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{pb.table[2] + 8 * 8, pb.table[1] + 9 * 8}));
  EXPECT_EQ(r.start_level, 2u);
  EXPECT_EQ(r.cycles, 3 + 2 * kMemLat);
  EXPECT_EQ(counter_value(pwcstats, "pdpt.hits"), 1u);
}

TEST_P(WalkerPwcTest, Pml4eCacheHitReadsThreeEntries) {
  make(with_cache({4}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 6, 7, 9, 0);
  pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  Path pb = pt.map(b, kFrame4K + 0x1000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, 3u);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{pb.table[3] + 6 * 8, pb.table[2] + 7 * 8, pb.table[1] + 9 * 8}));
  EXPECT_EQ(r.start_level, 3u);
  EXPECT_EQ(counter_value(pwcstats, "pml4.hits"), 1u);
}

TEST_P(WalkerPwcTest, Pml5eCacheHitReadsFourEntries) {
  if (levels() != 5) GTEST_SKIP() << "PML5 exists only with 5-level paging";
  make(with_cache({5}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(4, 5, 7, 9, 0);
  pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  Path pb = pt.map(b, kFrame4K + 0x1000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, 4u);
  EXPECT_EQ(mem.reads,
            (std::vector<PAddr>{pb.table[4] + 4 * 8, pb.table[3] + 5 * 8, pb.table[2] + 7 * 8, pb.table[1] + 9 * 8}));
  EXPECT_EQ(r.start_level, 4u);
  EXPECT_EQ(counter_value(pwcstats, "pml5.hits"), 1u);
}

TEST_P(WalkerPwcTest, DeepestHitIsUsed) {
  // SDM 4.10.3.2: with several caches the walk may skip every level a
  // cache covers; the deepest (PDE) hit leaves one reference.
  make(with_cache({2, 3, 4, 5}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 11, 0);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame4K, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{pa.table[1] + 11 * 8});
  EXPECT_EQ(r.cycles, 3 + kMemLat);
}

TEST_P(WalkerPwcTest, LargePageLeafIsNotCachedAsAPde) {
  // SDM 4.10.3.1: the PDE cache holds only PDEs that reference a page table
  // (PS = 0); a 2 MiB PDE is a translation (TLB), not a PDE-cache entry.
  make(with_cache({2, 3}));
  const VAddr a = V(3, 5, 7, 0, 0), b = V(3, 5, 8, 0, 0);
  Path pa = pt.map(a, kFrame2M, PageSize::k2M, kLeafRWUAD);
  pt.map(b, kFrame2M + 0x200000, PageSize::k2M, kLeafRWUAD);
  WalkResult r = walk(a, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, levels() - 1);
  // Another address in the same 2 MiB page: the PDE cache misses, the
  // PDPTE cache supplies the page directory, the PDE is read again.
  r = walk(a + 0x12345, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k2M);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{pa.table[2] + 7 * 8});
  // A different 2 MiB page under the same PDPTE: the same, one reference.
  r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame2M + 0x200000);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{pa.table[2] + 8 * 8});
  EXPECT_EQ(counter_value(pwcstats, "pd.hits"), 0u);
  EXPECT_EQ(counter_value(pwcstats, "pdpt.hits"), 2u);
}

TEST_P(WalkerPwcTest, OneGigPageLeafIsNotCachedAsAPdpte) {
  make(with_cache({3, 4}));
  const VAddr a = V(3, 5, 0, 0, 0);
  Path pa = pt.map(a, kFrame1G, PageSize::k1G, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(a + 0x1000, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{pa.table[3] + 5 * 8});
  EXPECT_EQ(counter_value(pwcstats, "pdpt.hits"), 0u);
  EXPECT_EQ(counter_value(pwcstats, "pml4.hits"), 1u);
}

TEST_P(WalkerPwcTest, FlushAllEmptiesEveryCache) {
  make(with_cache({2, 3, 4, 5}));
  const VAddr a = V(3, 5, 7, 9, 0);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  ASSERT_EQ(walk(a, AccessKind::Load, false).mem_reads, 1u);
  walker->flush_pwc_all();
  WalkResult r = walk(a, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, refs(pa, {3, 5, 7, 9}));
  EXPECT_EQ(r.start_level, levels());
}

TEST_P(WalkerPwcTest, EntriesAreTaggedWithThePcid) {
  // SDM 4.10.3.1: each paging-structure-cache entry is associated with the
  // PCID current when it was made, and used only with that PCID.
  make(with_cache({2}));
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false, /*pcid=*/0).fault);
  EXPECT_EQ(walk(a, AccessKind::Load, false, 1).mem_reads, levels());
  walker->flush_pwc_pcid(1);
  EXPECT_EQ(walk(a, AccessKind::Load, false, 0).mem_reads, 1u);
  walker->flush_pwc_pcid(0);
  EXPECT_EQ(walk(a, AccessKind::Load, false, 0).mem_reads, levels());
}

TEST_P(WalkerPwcTest, CachedEntryCarriesAccumulatedRights) {
  // SDM 4.10.3.1: a PDE-cache entry holds the AND of R/W and U/S and the OR
  // of XD over the PML4E, PDPTE and PDE; a walk that starts from it uses
  // those rights even though it reads only the PTE.
  make(with_cache({2}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(pa.entry[4], pte::kRW);
  pt.set_bits(pa.entry[3], pte::kXD);
  ASSERT_FALSE(walk(a, AccessKind::Load, true).fault);
  WalkResult r = walk(b, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.mem_reads, 1u);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
  r = walk(b, AccessKind::IFetch, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU | kEcI);
}

TEST_P(WalkerPwcTest, PageFaultInvalidatesTheCachedEntriesItUsed) {
  // SDM 4.10.4.1: a page fault invalidates the paging-structure-cache
  // entries that would be used for its linear address (current PCID), so
  // that a fault caused only by stale cached rights happens at most once
  // (4.10.4.3: R/W changed 0 -> 1 without invalidation gives at most one
  // spurious fault per address).
  make(with_cache({2, 3, 4, 5}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(pa.entry[4], pte::kRW);
  ASSERT_FALSE(walk(a, AccessKind::Load, true).fault);  // caches now hold R/W = 0
  WalkResult r = walk(b, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);  // the cached rights deny the write
  EXPECT_EQ(r.mem_reads, 1u);
  // Software makes the PML4E writable and does not invalidate.
  pt.set_bits(pa.entry[4], pte::kRW);
  r = walk(b, AccessKind::Store, true);
  ASSERT_FALSE(r.fault) << "spurious fault repeated: cached entries survived the page fault";
  EXPECT_EQ(r.mem_reads, levels());
  EXPECT_EQ(mem.reads, refs(pa, {3, 5, 7, 10}));
}

TEST_P(WalkerPwcTest, FaultingWalkFillsNoCache) {
  // Implementation choice (walker.h): only successful walks fill the caches.
  // (A non-present entry is never cached in any case, 4.10.3.1.)
  make(with_cache({2, 3, 4, 5}));
  const VAddr a = V(3, 5, 7, 9, 0);
  Path pa = pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(pa.entry[1], pte::kP);
  ASSERT_TRUE(walk(a, AccessKind::Load, false).fault);
  pt.set_bits(pa.entry[1], pte::kP);  // P 0 -> 1 needs no invalidation (4.10.4.3)
  WalkResult r = walk(a, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, refs(pa, {3, 5, 7, 9}));
}

TEST_P(WalkerPwcTest, PdeCacheTagIsEveryTranslatedBitAbove20) {
  // SDM 4.10.3.1: a PDE-cache entry is for linear-address bits 47:21 (56:21
  // with 5-level paging). Addresses with the same PD index but another PML4
  // (or PML5) index use a different PDE and must not hit it.
  make(with_cache({2}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(4, 5, 7, 9, 0);
  pt.map(a, kFrame4K, PageSize::k4K, kLeafRWUAD);
  Path pb = pt.map(b, kFrame4K + 0x1000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(walk(a, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, kFrame4K + 0x1000);
  EXPECT_EQ(mem.reads, refs(pb, {4, 5, 7, 9}));
  if (levels() == 5) {
    const VAddr c = make_va(kI5 + 1, 3, 5, 7, 9, 0);
    Path pc = pt.map(c, kFrame4K + 0x2000, PageSize::k4K, kLeafRWUAD);
    r = walk(c, AccessKind::Load, false);
    ASSERT_FALSE(r.fault);
    EXPECT_EQ(r.frame, kFrame4K + 0x2000);
    EXPECT_EQ(r.mem_reads, 5u);
    EXPECT_EQ(mem.reads.front(), pc.table[5] + (kI5 + 1) * 8ull);
  }
  EXPECT_EQ(counter_value(pwcstats, "pd.hits"), 0u);
}

TEST_P(WalkerPwcTest, CacheReplacesTheLeastRecentlyUsedEntry) {
  // Replacement is not architectural; paging_structure_cache.h documents
  // true LRU. One set of two ways: A, B, touch A, C -> B is the victim.
  WalkerParams wp = params();
  wp.pwc_entries[2] = 2;
  wp.pwc_ways[2] = 2;
  make(wp);
  const VAddr a = V(3, 5, 1, 9, 0), b = V(3, 5, 2, 9, 0), c = V(3, 5, 3, 9, 0);
  for (VAddr va : {a, b, c}) pt.map(va, kFrame4K, PageSize::k4K, kLeafRWUAD);
  ASSERT_EQ(walk(a, AccessKind::Load, false).mem_reads, levels());
  ASSERT_EQ(walk(b, AccessKind::Load, false).mem_reads, levels());
  ASSERT_EQ(walk(a + 0x10, AccessKind::Load, false).mem_reads, 1u);  // hit refreshes A
  ASSERT_EQ(walk(c, AccessKind::Load, false).mem_reads, levels());   // evicts B
  EXPECT_EQ(walk(a, AccessKind::Load, false).mem_reads, 1u);
  EXPECT_EQ(walk(b, AccessKind::Load, false).mem_reads, levels());
}

TEST_P(WalkerPwcTest, CyclesArePwcLatencyPlusEveryMemoryReference) {
  make(with_cache({2}));
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0);
  const std::uint64_t no_a = pte::kP | pte::kRW | pte::kUS;
  pt.map(a, kFrame4K, PageSize::k4K, no_a, no_a);
  pt.map(b, kFrame4K, PageSize::k4K, no_a, no_a);
  // a: levels reads, levels flag updates (read + write each).
  WalkResult r = walk(a, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.cycles, 3 + (levels() + 2 * levels()) * kMemLat);
  EXPECT_EQ(r.cycles, 3 + mem.refs.size() * kMemLat);
  // b: PDE-cache hit, one read, the PTE gets A and D (one update).
  r = walk(b, AccessKind::Store, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 1u);
  EXPECT_EQ(r.cycles, 3 + 3 * kMemLat);
  EXPECT_EQ(counter_value(wstats, "walks"), 2u);
  EXPECT_EQ(counter_value(wstats, "mem_reads"), levels() + 1);
  EXPECT_EQ(counter_value(wstats, "ad_writes"), levels() + 1);
  EXPECT_EQ(counter_value(wstats, "cycles"), 6 + (3 * levels() + 3) * kMemLat);
  EXPECT_EQ(counter_value(wstats, "faults"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Levels, WalkerTest, ::testing::Values(4u, 5u), levels_name);
INSTANTIATE_TEST_SUITE_P(Levels, WalkerPwcTest, ::testing::Values(4u, 5u), levels_name);

// ===========================================================================
// Construction.

TEST(WalkerParamsTest, RejectsUnsupportedModes) {
  PhysicalMemory pm(1 << 20);
  RecordingMemory mem(pm, 1);
  StatGroup ws("walker"), ps("pwc");
  WalkerParams p;
  p.levels = 3;
  EXPECT_THROW({ Walker w(p, mem, ws, ps); }, std::invalid_argument);
  StatGroup ws2("walker"), ps2("pwc");
  p.levels = 4;
  p.phys_addr_bits = 53;
  EXPECT_THROW({ Walker w(p, mem, ws2, ps2); }, std::invalid_argument);
}

}  // namespace
}  // namespace mmusim
