// Tests of the page-table walker in the two 32-bit paging modes against
// Intel SDM Vol. 3A chapter 4: 32-bit paging (4.3) and PAE paging (4.4).
//
// As in walker_test.cpp, every expectation is worked out by hand from the
// SDM rule named next to it. Tables are built at known physical addresses
// (pt_builder.h: Ia32TableBuilder, PaeTableBuilder) and the expected
// references - address, width and value - are written out as literals.
//
// Layouts used throughout:
//  - 32-bit paging: page directory at 0x100000, the first page table at
//    0x101000. A linear address splits into PD index (bits 31:22), PT index
//    (21:12) and offset (11:0); entries are 4 bytes, so the PDE for PD
//    index i is at 0x100000 + 4i (SDM 4.3, figure 4-2).
//  - PAE paging: PDPT at 0x100fe0 (32-byte aligned, CR3 = 0x100fe0), the
//    first page directory at 0x101000, the first page table at 0x102000.
//    A linear address splits into PDPTE index (31:30), PD index (29:21), PT
//    index (20:12) and offset; entries are 8 bytes (SDM 4.4.2, figure 4-5).
//
// Error-code bits (SDM 4.7, figure 4-12): P = 1, W/R = 2, U/S = 4, RSVD = 8,
// I/D = 16.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu.h"
#include "models/walker/walker.h"
#include "tests/support/pt_builder.h"
#include "tests/support/sdm_reader.h"
#include "tests/support/stat_values.h"

namespace mmusim {
namespace {

using testing_pt::Ia32TableBuilder;
using testing_pt::PaeTableBuilder;
using testing_pt::RecordingMemory;
using Ref = RecordingMemory::Ref;

constexpr Cycles kMemLat = 7;
using testing_sdm::kEcI;
using testing_sdm::kEcP;
using testing_sdm::kEcRsvd;
using testing_sdm::kEcU;
using testing_sdm::kEcW;

constexpr std::uint64_t kP = pte::kP, kRW = pte::kRW, kUS = pte::kUS, kA = pte::kA, kD = pte::kD, kPS = pte::kPS,
                        kG = pte::kG, kXD = pte::kXD;
constexpr std::uint64_t kLeafRWUAD = kP | kRW | kUS | kA | kD;  // 0x67

Ref R4(PAddr pa, std::uint64_t v) { return Ref{false, pa, v, 4}; }
Ref W4(PAddr pa, std::uint64_t v) { return Ref{true, pa, v, 4}; }
Ref R8(PAddr pa, std::uint64_t v) { return Ref{false, pa, v, 8}; }
Ref W8(PAddr pa, std::uint64_t v) { return Ref{true, pa, v, 8}; }

using testing_sdm::AccessCase;

// SDM 4.7: W/R = 1 for writes (read-modify-writes too), U/S = 1 for user
// accesses. I/D = 1 for fetches only if CR4.SMEP = 1 or (CR4.PAE = 1 and
// EFER.NXE = 1): never with 32-bit paging (SMEP not modelled) ...
const AccessCase kAccessesIa32[] = {
    {AccessKind::Load, false, 0},           {AccessKind::Load, true, kEcU},          {AccessKind::Store, false, kEcW},
    {AccessKind::Store, true, kEcW | kEcU}, {AccessKind::Modify, true, kEcW | kEcU}, {AccessKind::IFetch, false, 0},
    {AccessKind::IFetch, true, kEcU},
};
// ... and with PAE paging when NXE = 1.
const AccessCase kAccessesPae[] = {
    {AccessKind::Load, false, 0},
    {AccessKind::Load, true, kEcU},
    {AccessKind::Store, false, kEcW},
    {AccessKind::Store, true, kEcW | kEcU},
    {AccessKind::Modify, true, kEcW | kEcU},
    {AccessKind::IFetch, false, kEcI},
    {AccessKind::IFetch, true, kEcI | kEcU},
};

std::string trace(const AccessCase& a) {
  return std::string(access_kind_name(a.kind)) + (a.user ? " user" : " supervisor");
}

// What the 32-bit paging and PAE fixtures share: 64 MiB of physical memory
// with the mode's table builder, the recording PageTableMemory, and a
// walker remade with fresh statistics by make().
template <class Builder>
class WalkerFixture : public ::testing::Test {
 protected:
  WalkerFixture() : pm(64ull << 20), pt(pm), mem(pm, kMemLat) {}

  // pt_builder.h's uncached_walker_params in the fixture's mode.
  static WalkerParams common_params(PagingMode mode, unsigned phys_addr_bits) {
    WalkerParams p = testing_pt::uncached_walker_params(phys_addr_bits);
    p.mode = mode;
    return p;
  }
  // A fresh walker with fresh statistics.
  Walker& make(const WalkerParams& p) {
    walker.reset();
    wstats = std::make_unique<StatGroup>("walker");
    pwcstats = std::make_unique<StatGroup>("pwc");
    walker = std::make_unique<Walker>(p, mem, *wstats, *pwcstats);
    return *walker;
  }
  WalkResult walk_from(PAddr cr3, VAddr va, AccessKind kind, bool user) {
    mem.clear();
    return walker->walk(cr3, va, kind, user, 0);
  }

  PhysicalMemory pm;
  Builder pt;
  RecordingMemory mem;
  std::unique_ptr<StatGroup> wstats, pwcstats;
  std::unique_ptr<Walker> walker;
};

// ===========================================================================
// 32-bit paging (SDM 4.3).

class Ia32WalkerTest : public WalkerFixture<Ia32TableBuilder> {
 protected:
  // MAXPHYADDR = 40 unless a test says otherwise: with PSE-36, M = min(40,
  // MAXPHYADDR) = 40 (table 4-4 note 2). NXE = 1 to show it has no effect.
  WalkerParams params() const {
    WalkerParams p = common_params(PagingMode::Ia32, 40);
    p.pse = true;
    return p;
  }
  WalkResult walk(VAddr va, AccessKind kind, bool user) { return walk_from(pt.root(), va, kind, user); }
};

// va 0x48F45678: PD index 0x123 (bits 31:22), PT index 0x345 (21:12),
// offset 0x678. PDE at 0x100000 + 0x123 * 4 = 0x10048c; the page table is
// the builder's second frame, 0x101000, so the PTE is at 0x101000 + 0x345 *
// 4 = 0x101d14.
constexpr VAddr kVa32 = 0x48F45678;
constexpr PAddr kPde32 = 0x10048c, kPt32 = 0x101000, kPte32 = 0x101d14;

TEST_F(Ia32WalkerTest, ModeNormalisesLevels) {
  WalkerParams p = params();
  p.levels = 7;  // ignored outside X86_64
  make(p);
  EXPECT_EQ(walker->params().mode, PagingMode::Ia32);
  EXPECT_EQ(walker->params().levels, 2u);
  // No PDPTE registers outside PAE paging.
  EXPECT_THROW(walker->load_pae_pdptes(0x1000), std::logic_error);
}

TEST_F(Ia32WalkerTest, Translates4KPageWithTwoFourByteReferences) {
  make(params());
  Ia32TableBuilder::Path path = pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_EQ(path.pde, kPde32);
  ASSERT_EQ(path.pt, kPt32);
  ASSERT_EQ(path.pte, kPte32);
  WalkResult r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  // Table 4-6: PTE bits 31:12 are the frame; PA = frame | va bits 11:0.
  EXPECT_EQ(r.size, PageSize::k4K);
  EXPECT_EQ(r.frame, 0x12345000u);
  EXPECT_EQ(r.frame | (kVa32 & 0xfff), 0x12345678u);
  // PDE = page table 0x101000 | P | R/W | U/S | A = 0x101027; PTE =
  // 0x12345000 | 0x67. Both read as 4-byte entries (4.3: "PDE ... 4 bytes").
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x101027), R4(kPte32, 0x12345067)}));
  EXPECT_EQ(r.mem_reads, 2u);
  EXPECT_EQ(r.start_level, 2u);
  EXPECT_EQ(r.cycles, 2 * kMemLat);
  EXPECT_TRUE(r.writable);
  EXPECT_TRUE(r.user);
  EXPECT_FALSE(r.nx);
  EXPECT_TRUE(r.dirty);
  EXPECT_EQ(counter_value(*wstats, "mem_reads"), 2u);
  // No PDPTE statistics outside PAE paging.
  EXPECT_EQ(wstats->find("pdpte_loads"), nullptr);
}

TEST_F(Ia32WalkerTest, IndicesUseAllTenBits) {
  // PD index 1023 and PT index 1023 (va 0xfffff000..): the entries are the
  // last ones of their tables, base + 1023 * 4 = base + 0xffc.
  make(params());
  const VAddr va = 0xfffffabc;
  pt.map(va, 0x00abc000, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(va, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x100ffc, 0x101ffc}));
  EXPECT_EQ(r.frame | (va & 0xfff), 0x00abcabcu);
}

TEST_F(Ia32WalkerTest, Cr3UsesBits31To12Only) {
  // Table 4-3: CR3 bits 31:12 locate the page directory; bits 3 (PWT) and
  // 4 (PCD) are cache controls, the other low bits and 63:32 are ignored.
  make(params());
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mem.clear();
  WalkResult r = walker->walk(pt.root() | 0xfff | (1ull << 32), kVa32, AccessKind::Load, false, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{kPde32, kPte32}));
}

TEST_F(Ia32WalkerTest, LinearAddressIsMaskedTo32Bits) {
  // 32-bit paging translates 32-bit linear addresses; the walker uses bits
  // 31:0 (walker.h) and reports CR2 as those bits.
  make(params());
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(kVa32 | (0xabcdull << 32), AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x12345000u);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{kPde32, kPte32}));
  pt.clear_bits(kPte32, kP);
  r = walk(kVa32 | (1ull << 40), AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.cr2, kVa32);
}

TEST_F(Ia32WalkerTest, Translates4MPageWithOneReference) {
  // SDM 4.3 / table 4-4: CR4.PSE = 1 and PDE.PS = 1 -> 4 MiB page,
  // PA bits 31:22 from the PDE, bits 21:0 from va.
  make(params());
  pt.map(kVa32, 0x40000000, PageSize::k4M, kLeafRWUAD);
  WalkResult r = walk(kVa32, AccessKind::Load, true);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k4M);
  EXPECT_EQ(r.frame, 0x40000000u);
  EXPECT_EQ(r.frame | (kVa32 & 0x3fffff), 0x40345678u);
  // PDE = 0x40000000 | PS (0x80) | 0x67 = 0x400000e7.
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x400000e7)}));
  EXPECT_EQ(r.cycles, kMemLat);
}

TEST_F(Ia32WalkerTest, Pse36SuppliesPhysicalBits39To32) {
  // Table 4-4 with MAXPHYADDR = 40: PA bits 39:32 = PDE bits 20:13.
  // PDE bits 20:13 = 0xab -> frame 0xab_4000_0000.
  make(params());
  pt.set(kPde32, 0x40000000u | (0xabu << 13) | 0xe7u);  // 0x401560e7
  ASSERT_EQ(pt.get(kPde32), 0x401560e7u);
  WalkResult r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0xab40000000ull);
  EXPECT_EQ(r.frame | (kVa32 & 0x3fffff), 0xab40345678ull);
  // The builder encodes the same way.
  pt.map(0x00400000, 0xff00400000ull, PageSize::k4M, kLeafRWUAD);
  EXPECT_EQ(pt.get(0x100004), 0x005fe0e7u);  // 0x00400000 | 0xff << 13 | 0xe7
  r = walk(0x00400000, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0xff00400000ull);
}

TEST_F(Ia32WalkerTest, Pse36WidthFollowsMaxPhyAddr) {
  // M = min(40, MAXPHYADDR). MAXPHYADDR = 46 -> M = 40: bits 20:13 are
  // address bits, bit 21 is reserved.
  WalkerParams p = params();
  p.phys_addr_bits = 46;
  make(p);
  pt.set(kPde32, 0x40000000u | (0xabu << 13) | 0xe7u);
  WalkResult r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0xab40000000ull);

  // MAXPHYADDR = 36 -> M = 36: PA bits 35:32 = PDE bits 16:13, PDE bits
  // 21:17 reserved. 0xab << 13 sets bits 20, 18 (0xa in 20:17): reserved.
  p.phys_addr_bits = 36;
  make(p);
  r = walk(kVa32, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
  pt.set(kPde32, 0x40000000u | (0xbu << 13) | 0xe7u);  // bits 16:13 = 0xb
  r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0xb40000000ull);
  for (unsigned bit = 17; bit <= 21; ++bit) {
    SCOPED_TRACE(bit);
    pt.set(kPde32, 0x40000000u | (1u << bit) | 0xe7u);
    r = walk(kVa32, AccessKind::Load, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
  }

  // MAXPHYADDR = 32 -> no PSE-36 bits (the row does not apply): PDE bits
  // 21:13 are all reserved, the frame is PDE bits 31:22.
  p.phys_addr_bits = 32;
  make(p);
  pt.set(kPde32, 0x40000000u | 0xe7u);
  r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x40000000u);
  for (unsigned bit = 13; bit <= 21; ++bit) {
    SCOPED_TRACE(bit);
    pt.set(kPde32, 0x40000000u | (1u << bit) | 0xe7u);
    r = walk(kVa32, AccessKind::Store, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcW | kEcU);
  }
}

TEST_F(Ia32WalkerTest, Bit21OfA4MPdeIsReserved) {
  // Table 4-4, M = 40: bits 21:21 reserved. Fault P = 1, RSVD = 1, and for
  // a fetch no I/D (4.7). Nothing after the PDE is read.
  make(params());
  pt.set(kPde32, 0x40000000u | (1u << 21) | 0xe7u);
  for (const AccessCase& a : kAccessesIa32) {
    SCOPED_TRACE(trace(a));
    WalkResult r = walk(kVa32, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.cr2, kVa32);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | a.bits);
    EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x402000e7)}));
  }
}

TEST_F(Ia32WalkerTest, FourKEntriesHaveNoReservedBits) {
  // Tables 4-5 and 4-6: a PDE that references a page table and a PTE have
  // no reserved bits - bit 7 of a PTE is PAT, bit 8 G, bits 11:9 ignored;
  // bits 6, 8, 11:9 of a PDE ignored (bit 7 = PS must be 0 for this format).
  make(params());
  pt.map(kVa32, 0xfffff000, PageSize::k4K, kLeafRWUAD | 0x80 | kG | 0xe00);  // PAT, G, 11:9
  pt.set_bits(kPde32, 0xf40);                                                // 6, 8, 11:9
  WalkResult r = walk(kVa32, AccessKind::Store, true);
  ASSERT_FALSE(r.fault) << r.page_fault.error_code;
  EXPECT_EQ(r.frame, 0xfffff000u);
  EXPECT_TRUE(r.global);
  // A page table at an address with bits 21:13 set is fine (they are
  // address bits of a PDE that references a page table).
  Ia32TableBuilder high(pm, 0x3fe000);  // PD 0x3fe000, PT 0x3ff000
  high.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mem.clear();
  r = walker->walk(high.root(), kVa32, AccessKind::Load, false, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x3fe48c, 0x3ffd14}));
}

TEST_F(Ia32WalkerTest, PsIsIgnoredWhenPseIsOff) {
  // Table 4-5: with CR4.PSE = 0 bit 7 of a PDE is ignored - the PDE always
  // references a page table (bits 31:12). A PDE at 0x3fe000 + 0x48c
  // pointing to a page table at 0x3ff000 with PS = 1: with PSE = 1 this is
  // a 4 MiB PDE whose bit 21 (reserved) is set; with PSE = 0 a plain PDE.
  Ia32TableBuilder high(pm, 0x3fe000);
  high.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  high.set_bits(0x3fe48c, static_cast<std::uint32_t>(kPS));
  ASSERT_EQ(high.get(0x3fe48c), 0x3ff0a7u);  // 0x3ff000 | PS | A | U/S | R/W | P

  WalkerParams p = params();
  p.pse = false;
  make(p);
  mem.clear();
  WalkResult r = walker->walk(high.root(), kVa32, AccessKind::Load, false, 0);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k4K);
  EXPECT_EQ(r.frame, 0x12345000u);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(0x3fe48c, 0x3ff0a7), R4(0x3ffd14, 0x12345067)}));

  make(params());  // PSE = 1
  mem.clear();
  r = walker->walk(high.root(), kVa32, AccessKind::Load, false, 0);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{0x3fe48c});

  // And a valid 4 MiB PDE read with PSE = 0 references a page table at
  // its bits 31:12 (here 0x00400000, whose entry 0x345 is 0: not present).
  pt.set(kPde32, 0x00400000u | 0xe7u);
  p.pse = false;
  make(p);
  r = walk(kVa32, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, 0u);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{kPde32, 0x00400000 + 0x345 * 4}));
}

TEST_F(Ia32WalkerTest, NotPresentAtEachLevel) {
  // SDM 4.7: P = 0 in the error code, CR2 = the linear address.
  make(params());
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(kPte32, kP);
  for (const AccessCase& a : kAccessesIa32) {
    SCOPED_TRACE("PTE " + trace(a));
    WalkResult r = walk(kVa32, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.cr2, kVa32);
    EXPECT_EQ(r.page_fault.error_code, a.bits);
    EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x101027), R4(kPte32, 0x12345066)}));
  }
  // A not-present PDE: its other bits are ignored (bit 21 and PS would
  // make a present 4 MiB PDE reserved), one reference.
  pt.set(kPde32, 0xfffffffe);
  for (const AccessCase& a : kAccessesIa32) {
    SCOPED_TRACE("PDE " + trace(a));
    WalkResult r = walk(kVa32, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.cr2, kVa32);
    EXPECT_EQ(r.page_fault.error_code, a.bits);
    EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0xfffffffe)}));
  }
  EXPECT_EQ(counter_value(*wstats, "faults"), 2 * std::size(kAccessesIa32));
}

TEST_F(Ia32WalkerTest, RightsAreTheAndOfPdeAndPte) {
  // SDM 4.6.1: R/W and U/S of the translation are the AND of the PDE's and
  // the PTE's. CR0.WP = 1: supervisor writes need R/W = 1 too.
  make(params());
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  for (PAddr e : {kPde32, kPte32}) {
    SCOPED_TRACE(e == kPde32 ? "PDE" : "PTE");
    pt.clear_bits(e, static_cast<std::uint32_t>(kUS));
    WalkResult r = walk(kVa32, AccessKind::Load, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU);
    r = walk(kVa32, AccessKind::IFetch, true);  // no I/D
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU);
    r = walk(kVa32, AccessKind::Load, false);
    ASSERT_FALSE(r.fault);
    EXPECT_FALSE(r.user);
    pt.set_bits(e, static_cast<std::uint32_t>(kUS));

    pt.clear_bits(e, static_cast<std::uint32_t>(kRW));
    r = walk(kVa32, AccessKind::Store, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
    r = walk(kVa32, AccessKind::Modify, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW);
    r = walk(kVa32, AccessKind::Load, true);
    ASSERT_FALSE(r.fault);
    EXPECT_FALSE(r.writable);
    pt.set_bits(e, static_cast<std::uint32_t>(kRW));
  }
  // CR0.WP = 0: supervisor writes to read-only pages are allowed.
  WalkerParams p = params();
  p.wp = false;
  make(p);
  pt.clear_bits(kPde32, static_cast<std::uint32_t>(kRW));
  EXPECT_FALSE(walk(kVa32, AccessKind::Store, false).fault);
  WalkResult r = walk(kVa32, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
}

TEST_F(Ia32WalkerTest, PdeRightsApplyTo4MPages) {
  make(params());
  pt.map(kVa32, 0x40000000, PageSize::k4M, kP | kUS | kA | kD);  // read-only 4 MiB page
  WalkResult r = walk(kVa32, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
  r = walk(kVa32, AccessKind::Load, true);
  ASSERT_FALSE(r.fault);
  EXPECT_FALSE(r.writable);
  EXPECT_TRUE(r.user);
}

TEST_F(Ia32WalkerTest, NoExecuteDisable) {
  // 32-bit paging has no XD bit (tables 4-4 .. 4-6 are 32 bits wide): any
  // page that may be read may be executed, whatever WalkerParams::nxe says.
  make(params());  // nxe = true
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  WalkResult r = walk(kVa32, AccessKind::IFetch, true);
  ASSERT_FALSE(r.fault);
  EXPECT_FALSE(r.nx);
}

TEST_F(Ia32WalkerTest, AccessedFlagsAreFourByteLockedUpdates) {
  // SDM 4.8: A is set in the PDE and the PTE used; each update is a locked
  // read-modify-write of the 4-byte entry (walker.h). The neighbouring PDE
  // (0x100490, PD index 0x124) must not be touched by the 4-byte write.
  make(params());
  const std::uint64_t no_a = kP | kRW | kUS;
  pt.map(kVa32, 0x12345000, PageSize::k4K, no_a, static_cast<std::uint32_t>(no_a));
  pt.set(0x100490, 0xdeadb000);
  WalkResult r = walk(kVa32, AccessKind::Load, true);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 2u);
  // PDE 0x101007 -> 0x101027, PTE 0x12345007 -> 0x12345027 (D stays 0 on a read).
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x101007), R4(kPte32, 0x12345007), R4(kPde32, 0x101007),
                                        W4(kPde32, 0x101027), R4(kPte32, 0x12345007), W4(kPte32, 0x12345027)}));
  EXPECT_EQ(r.cycles, 6 * kMemLat);
  EXPECT_FALSE(r.dirty);
  EXPECT_EQ(pt.get(0x100490), 0xdeadb000u);
  // The aligned 8 bytes at 0x100488 hold PDE 0x122 (0) and PDE 0x123.
  EXPECT_EQ(pm.read64(0x100488), 0x0010102700000000ull);

  // A store sets D in the PTE only (bit 6 of a PDE that references a page
  // table is ignored): one update, the PTE, 0x12345027 -> 0x12345067.
  r = walk(kVa32, AccessKind::Store, true);
  ASSERT_FALSE(r.fault);
  EXPECT_TRUE(r.dirty);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x101027), R4(kPte32, 0x12345027), R4(kPte32, 0x12345027),
                                        W4(kPte32, 0x12345067)}));
  EXPECT_EQ(pt.get(kPde32) & (kA | kD), kA);
}

TEST_F(Ia32WalkerTest, DirtyGoesInto4MPde) {
  make(params());
  pt.map(kVa32, 0x40000000, PageSize::k4M, kP | kRW | kUS);
  WalkResult r = walk(kVa32, AccessKind::Modify, true);
  ASSERT_FALSE(r.fault);
  // 0x40000087 -> 0x400000e7 (A and D), one 4-byte locked update.
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(kPde32, 0x40000087), R4(kPde32, 0x40000087), W4(kPde32, 0x400000e7)}));
}

TEST_F(Ia32WalkerTest, OnlyThePdeCacheExists) {
  // SDM 4.10.3.1: with 32-bit paging the PDE cache is the only paging-
  // structure cache; its entries are for va bits 31:22. PDPTE/PML4 cache
  // sizes are ignored.
  WalkerParams p = params();
  p.pwc_entries = {0, 0, 8, 8, 8, 8};
  p.pwc_ways = {0, 0, 2, 2, 2, 2};
  make(p);
  EXPECT_EQ(pwcstats->find("pdpt.hits"), nullptr);
  EXPECT_EQ(pwcstats->find("pml4.hits"), nullptr);
  pt.map(kVa32, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.map(kVa32 + 0x1000, 0x12346000, PageSize::k4K, kLeafRWUAD);    // PT index 0x346
  pt.map(kVa32 + 0x400000, 0x12347000, PageSize::k4K, kLeafRWUAD);  // PD index 0x124
  WalkResult r = walk(kVa32, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.cycles, 3 + 2 * kMemLat);
  // Same 4 MiB region: the PDE cache supplies the page table; one 4-byte
  // reference, PTE 0x346 at 0x101000 + 0x346 * 4 = 0x101d18.
  r = walk(kVa32 + 0x1000, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x12346000u);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(0x101d18, 0x12346067)}));
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.cycles, 3 + kMemLat);
  // Next 4 MiB region: a miss, PDE 0x124 at 0x100490 and its own table.
  r = walk(kVa32 + 0x400000, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.mem_reads, 2u);
  EXPECT_EQ(mem.reads.front(), 0x100490u);
  EXPECT_EQ(counter_value(*pwcstats, "pd.hits"), 1u);
  EXPECT_EQ(counter_value(*pwcstats, "pd.misses"), 2u);
}

TEST_F(Ia32WalkerTest, FourMegPdeIsNotCached) {
  // SDM 4.10.3.1: a PDE that maps a page is not a PDE-cache entry.
  WalkerParams p = params();
  p.pwc_entries[2] = 8;
  p.pwc_ways[2] = 2;
  make(p);
  pt.map(kVa32, 0x40000000, PageSize::k4M, kLeafRWUAD);
  ASSERT_FALSE(walk(kVa32, AccessKind::Load, false).fault);
  WalkResult r = walk(kVa32 + 0x1000, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{kPde32});
  EXPECT_EQ(counter_value(*pwcstats, "pd.hits"), 0u);
}

// ===========================================================================
// PAE paging (SDM 4.4).

class PaeWalkerTest : public WalkerFixture<PaeTableBuilder> {
 protected:
  // MAXPHYADDR = 46: PDE/PTE bits 62:46 reserved (tables 4-9 .. 4-11),
  // PDPTE bits 63:46 reserved (table 4-8).
  WalkerParams params() const { return common_params(PagingMode::Pae, 46); }
  bool load() {
    mem.clear();
    return walker->load_pae_pdptes(pt.pdpt());
  }
  // CR3 is not used by PAE walks (walker.h); pass something else to show it.
  WalkResult walk(VAddr va, AccessKind kind, bool user) { return walk_from(0xdead0000, va, kind, user); }
};

// va 0x82BAB678: PDPTE index 2 (bits 31:30), PD index 0x15 (29:21), PT
// index 0x1ab (20:12), offset 0x678. PDPTE 2 at 0x100fe0 + 2 * 8 =
// 0x100ff0; page directory 0x101000, PDE at 0x101000 + 0x15 * 8 = 0x1010a8;
// page table 0x102000, PTE at 0x102000 + 0x1ab * 8 = 0x102d58.
constexpr VAddr kVaPae = 0x82BAB678;
constexpr PAddr kPdpt = 0x100fe0, kPdpte = 0x100ff0, kPdePae = 0x1010a8, kPtPae = 0x102000, kPtePae = 0x102d58;

TEST_F(PaeWalkerTest, ModeNormalisesLevels) {
  make(params());
  EXPECT_EQ(walker->params().mode, PagingMode::Pae);
  EXPECT_EQ(walker->params().levels, 3u);
  // Before any load the PDPTE registers are 0: every walk faults, P = 0.
  EXPECT_EQ(walker->pdpte_registers(), (std::array<std::uint64_t, 4>{0, 0, 0, 0}));
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, 0u);
  EXPECT_EQ(r.mem_reads, 0u);
}

TEST_F(PaeWalkerTest, LoadReadsTheFourPdptesAsTimedEightByteReferences) {
  // SDM 4.4.1: MOV to CR3 loads PDPTE0..3 from the 32-byte table at CR3
  // bits 31:5 (table 4-7).
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  // Only PDPTE 2 was made: page directory 0x101000 | P = 0x101001.
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(0x100fe0, 0), R8(0x100fe8, 0), R8(0x100ff0, 0x101001), R8(0x100ff8, 0)}));
  EXPECT_EQ(walker->pdpte_registers(), (std::array<std::uint64_t, 4>{0, 0, 0x101001, 0}));
  EXPECT_EQ(walker->last_pdpte_load_cycles(), 4 * kMemLat);
  EXPECT_EQ(counter_value(*wstats, "pdpte_loads"), 1u);
  EXPECT_EQ(counter_value(*wstats, "pdpte_reads"), 4u);
  EXPECT_EQ(counter_value(*wstats, "pdpte_cycles"), 4 * kMemLat);
  // Not walks: no walk, memory read or walk cycle counted.
  EXPECT_EQ(counter_value(*wstats, "walks"), 0u);
  EXPECT_EQ(counter_value(*wstats, "mem_reads"), 0u);
  EXPECT_EQ(counter_value(*wstats, "cycles"), 0u);
}

TEST_F(PaeWalkerTest, Cr3UsesBits31To5Only) {
  // Table 4-7: bits 4:0 and 63:32 of CR3 are ignored.
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mem.clear();
  ASSERT_TRUE(walker->load_pae_pdptes(kPdpt | 0x1f | (1ull << 32)));
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x100fe0, 0x100fe8, 0x100ff0, 0x100ff8}));
}

TEST_F(PaeWalkerTest, Translates4KPageFromThePdpteRegister) {
  // SDM 4.4.2: PDPTE register (va 31:30) -> PDE (29:21) -> PTE (20:12).
  // The PDPTE is not read from memory: two 8-byte references.
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k4K);
  EXPECT_EQ(r.frame | (kVaPae & 0xfff), 0x12345678u);
  // PDE = 0x102000 | 0x27, PTE = 0x12345000 | 0x67.
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(kPdePae, 0x102027), R8(kPtePae, 0x12345067)}));
  EXPECT_EQ(r.mem_reads, 2u);
  EXPECT_EQ(r.start_level, 3u);
  EXPECT_EQ(r.cycles, 2 * kMemLat);
  EXPECT_EQ(wstats->find("pdpte_loads")->counter->value(), 1u);
}

TEST_F(PaeWalkerTest, Translates2MPage) {
  // Table 4-9: PDE with PS = 1 maps a 2 MiB page, frame = bits (M-1):21.
  make(params());
  pt.map(kVaPae, 0x40000000, PageSize::k2M, kLeafRWUAD);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k2M);
  EXPECT_EQ(r.frame, 0x40000000u);
  EXPECT_EQ(r.frame | (kVaPae & 0x1fffff), 0x401ab678u);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(kPdePae, 0x400000e7)}));
  EXPECT_EQ(r.cycles, kMemLat);
}

TEST_F(PaeWalkerTest, FramesAbove4GiB) {
  // PAE paging maps 32-bit linear addresses to physical addresses of up to
  // MAXPHYADDR bits (4.4): frame 0x3f_1234_5000 needs bits 45:12.
  make(params());
  pt.map(kVaPae, 0x3f12345000ull, PageSize::k4K, kLeafRWUAD);
  pt.map(0x00200000, 0x3fffe00000ull, PageSize::k2M, kLeafRWUAD);  // PDPTE 0, PD index 1
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x3f12345000ull);
  r = walk(0x00201234, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame | 0x1234, 0x3fffe01234ull);
}

TEST_F(PaeWalkerTest, LinearAddressIsMaskedTo32Bits) {
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae | (1ull << 32), AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{kPdePae, kPtePae}));
  pt.clear_bits(kPtePae, kP);
  r = walk(kVaPae | (3ull << 32), AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.cr2, kVaPae);
}

TEST_F(PaeWalkerTest, PdpteChangedInMemoryIsNotSeenUntilTheNextLoad) {
  // SDM 4.4.1: translation uses the PDPTE registers; the PDPTEs in memory
  // are read only when the registers are loaded (MOV to CR3).
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  pt.clear_bits(kPdpte, kP);  // not present in memory ...
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);  // ... but the register still holds 0x101001
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{kPdePae, kPtePae}));
  ASSERT_TRUE(load());  // now the register is 0x101000: P = 0
  r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, 0u);

  // Pointing the PDPTE at another page directory works the same way.
  PAddr other_pd = pt.alloc_table();  // 0x103000
  ASSERT_EQ(other_pd, 0x103000u);
  pt.set(other_pd + 0x15 * 8, 0x40000000 | kPS | kLeafRWUAD);  // a 2 MiB PDE there
  pt.set(kPdpte, other_pd | kP);
  r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);  // registers not reloaded yet
  ASSERT_TRUE(load());
  r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.size, PageSize::k2M);
  EXPECT_EQ(mem.reads, std::vector<PAddr>{0x1030a8});
}

TEST_F(PaeWalkerTest, NotPresentPdpteFaultsWithoutAMemoryReference) {
  // SDM 4.4.2: PDPTEi.P = 0 -> page fault, P = 0 in the error code; I/D for
  // fetches since NXE = 1 (4.7).
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.set(kPdpte, 0);
  ASSERT_TRUE(load());
  for (const AccessCase& a : kAccessesPae) {
    SCOPED_TRACE(trace(a));
    WalkResult r = walk(kVaPae, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.cr2, kVaPae);
    EXPECT_EQ(r.page_fault.error_code, a.bits);
    EXPECT_TRUE(mem.refs.empty());
    EXPECT_EQ(r.mem_reads, 0u);
    EXPECT_EQ(r.cycles, 0u);
  }
}

TEST_F(PaeWalkerTest, NotPresentPdeAndPte) {
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  pt.clear_bits(kPtePae, kP);
  for (const AccessCase& a : kAccessesPae) {
    SCOPED_TRACE("PTE " + trace(a));
    WalkResult r = walk(kVaPae, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.cr2, kVaPae);
    EXPECT_EQ(r.page_fault.error_code, a.bits);
    EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(kPdePae, 0x102027), R8(kPtePae, 0x12345066)}));
  }
  pt.set(kPdePae, ~kP);  // not present: every other bit ignored
  for (const AccessCase& a : kAccessesPae) {
    SCOPED_TRACE("PDE " + trace(a));
    WalkResult r = walk(kVaPae, a.kind, a.user);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, a.bits);
    EXPECT_EQ(mem.reads, std::vector<PAddr>{kPdePae});
  }
}

TEST_F(PaeWalkerTest, FetchFaultHasNoIdBitWhenNxeIsOff) {
  WalkerParams p = params();
  p.nxe = false;
  make(p);
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(kPtePae, kP);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::IFetch, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcU);
}

TEST_F(PaeWalkerTest, PdpteWithReservedBitRefusesTheLoad) {
  // SDM 4.4.1 / table 4-8: a PDPTE with P = 1 and any of bits 2:1, 8:5,
  // 63:M set makes the MOV to CR3 fault (#GP(0)) and the registers are not
  // loaded. The walker reports it by returning false.
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  const std::array<std::uint64_t, 4> good{0, 0, 0x101001, 0};
  unsigned refused = 0;
  for (unsigned bit : {1u, 2u, 5u, 6u, 7u, 8u, 46u, 51u, 52u, 62u, 63u}) {
    SCOPED_TRACE(bit);
    pt.set(kPdpte, 0x101001 | (1ull << bit));
    EXPECT_FALSE(load());
    ++refused;
    EXPECT_EQ(mem.reads.size(), 4u);  // the four PDPTEs were read
    EXPECT_EQ(walker->pdpte_registers(), good);
    // The old registers still translate.
    EXPECT_FALSE(walk(kVaPae, AccessKind::Load, false).fault);
  }
  EXPECT_EQ(counter_value(*wstats, "pdpte_load_faults"), refused);
  EXPECT_EQ(counter_value(*wstats, "pdpte_loads"), 1u + refused);
  // Bits 3 (PWT), 4 (PCD) and 11:9 (ignored) are not reserved.
  pt.set(kPdpte, 0x101001 | 0x18 | 0xe00);
  EXPECT_TRUE(load());
  EXPECT_FALSE(walk(kVaPae, AccessKind::Load, false).fault);
  // A not-present PDPTE's other bits are not checked (4.4.1 note: some
  // processors do; this model does not).
  pt.set(kPdpte + 8, 0xfffffffffffffffeull);
  EXPECT_TRUE(load());
  EXPECT_EQ(walker->pdpte_registers()[3], 0xfffffffffffffffeull);
  WalkResult r = walk(0xc0000000, AccessKind::Store, true);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcW | kEcU);
}

TEST_F(PaeWalkerTest, ReservedBitsOfPdeAndPte) {
  // Tables 4-9 .. 4-11: bits 62:M reserved (M = 46) - bits 52 and 62 too,
  // which 4-level paging ignores -, bit 63 reserved when NXE = 0. Fault with
  // P = 1, RSVD = 1 (and I/D for fetches, NXE = 1); nothing after the entry
  // is read.
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  for (PAddr e : {kPdePae, kPtePae}) {
    for (unsigned bit : {46u, 51u, 52u, 62u}) {
      SCOPED_TRACE(std::string(e == kPdePae ? "PDE" : "PTE") + " bit " + std::to_string(bit));
      const std::uint64_t saved = pt.get(e);
      pt.set_bits(e, 1ull << bit);
      for (const AccessCase& a : kAccessesPae) {
        WalkResult r = walk(kVaPae, a.kind, a.user);
        ASSERT_TRUE(r.fault);
        EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | a.bits);
        EXPECT_EQ(mem.reads.back(), e);
        EXPECT_EQ(r.mem_reads, e == kPdePae ? 1u : 2u);
      }
      pt.set(e, saved);
    }
  }
  // XD is reserved with NXE = 0 (no I/D then).
  WalkerParams p = params();
  p.nxe = false;
  make(p);
  ASSERT_TRUE(load());
  for (PAddr e : {kPdePae, kPtePae}) {
    pt.set_bits(e, kXD);
    WalkResult r = walk(kVaPae, AccessKind::IFetch, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
    pt.clear_bits(e, kXD);
  }
  EXPECT_FALSE(walk(kVaPae, AccessKind::IFetch, false).fault);
}

TEST_F(PaeWalkerTest, MaxPhyAddrMovesTheReservedBoundary) {
  // MAXPHYADDR = 52: bits 62:52 still reserved, 51:12 are address bits.
  WalkerParams p = params();
  p.phys_addr_bits = 52;
  make(p);
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.set_bits(kPtePae, 1ull << 51);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, (1ull << 51) | 0x12345000);
  pt.set_bits(kPtePae, 1ull << 52);
  r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd);
}

TEST_F(PaeWalkerTest, Bits20To13OfA2MPdeAreReserved) {
  // Table 4-9: reserved in a 2 MiB PDE; table 4-10: address bits in a PDE
  // that references a page table (the page table at 0x102000 has bit 13
  // set, and the 4K walks above succeed).
  make(params());
  pt.map(kVaPae, 0x40000000, PageSize::k2M, kLeafRWUAD);
  ASSERT_TRUE(load());
  for (unsigned bit = 13; bit <= 20; ++bit) {
    SCOPED_TRACE(bit);
    pt.set_bits(kPdePae, 1ull << bit);
    WalkResult r = walk(kVaPae, AccessKind::Store, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcRsvd | kEcW | kEcU);
    pt.clear_bits(kPdePae, 1ull << bit);
  }
  // Bit 12 is PAT, bit 21 the lowest frame bit.
  pt.set_bits(kPdePae, (1ull << 12) | (1ull << 21));
  WalkResult r = walk(kVaPae, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x40200000u);
  ASSERT_NE(kPtPae & 0x1fe000, 0u);
}

TEST_F(PaeWalkerTest, PdpteHasNoRightsBits) {
  // Table 4-8: PDPTE bits 2:1 (R/W, U/S elsewhere) are reserved and bit 63
  // is not XD; rights come from the PDE and the PTE only (4.6.1). The
  // builder's PDPTE is 0x101001 (P only), yet user writes and fetches are
  // allowed.
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  ASSERT_EQ(walker->pdpte_registers()[2], 0x101001u);
  WalkResult r = walk(kVaPae, AccessKind::Store, true);
  ASSERT_FALSE(r.fault);
  EXPECT_TRUE(r.writable);
  EXPECT_TRUE(r.user);
  EXPECT_FALSE(r.nx);
  EXPECT_FALSE(walk(kVaPae, AccessKind::IFetch, true).fault);
}

TEST_F(PaeWalkerTest, RightsAreTheAndOfPdeAndPteAndXdTheOr) {
  make(params());
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  ASSERT_TRUE(load());
  for (PAddr e : {kPdePae, kPtePae}) {
    SCOPED_TRACE(e == kPdePae ? "PDE" : "PTE");
    pt.clear_bits(e, kUS);
    WalkResult r = walk(kVaPae, AccessKind::Load, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU);
    EXPECT_FALSE(walk(kVaPae, AccessKind::Load, false).fault);
    pt.set_bits(e, kUS);

    pt.clear_bits(e, kRW);
    r = walk(kVaPae, AccessKind::Store, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW | kEcU);
    r = walk(kVaPae, AccessKind::Store, false);  // WP = 1
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcW);
    pt.set_bits(e, kRW);

    pt.set_bits(e, kXD);  // NXE = 1: execute-disable
    r = walk(kVaPae, AccessKind::IFetch, true);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcU | kEcI);
    r = walk(kVaPae, AccessKind::IFetch, false);
    ASSERT_TRUE(r.fault);
    EXPECT_EQ(r.page_fault.error_code, kEcP | kEcI);
    r = walk(kVaPae, AccessKind::Load, true);
    ASSERT_FALSE(r.fault);
    EXPECT_TRUE(r.nx);
    pt.clear_bits(e, kXD);
  }
  WalkerParams p = params();
  p.wp = false;
  make(p);
  ASSERT_TRUE(load());
  pt.clear_bits(kPdePae, kRW);
  EXPECT_FALSE(walk(kVaPae, AccessKind::Store, false).fault);
}

TEST_F(PaeWalkerTest, AccessedFlagsAreEightByteUpdatesAndNeverTouchThePdpte) {
  // SDM 4.8: A in the PDE and the PTE used, D in the PTE on a write; each a
  // locked 8-byte read-modify-write. The PDPTEs are not used during
  // translation (footnote to 4.8) and bit 5 of a PDPTE is reserved (table
  // 4-8): the walker never writes the PDPT.
  make(params());
  const std::uint64_t no_a = kP | kRW | kUS;
  pt.map(kVaPae, 0x12345000, PageSize::k4K, no_a | kXD, no_a);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Store, true);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.ad_writes, 2u);
  // PDE 0x102007 -> 0x102027; PTE 0x8000000012345007 -> ...067 (A and D).
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(kPdePae, 0x102007), R8(kPtePae, 0x8000000012345007ull),
                                        R8(kPdePae, 0x102007), W8(kPdePae, 0x102027),
                                        R8(kPtePae, 0x8000000012345007ull), W8(kPtePae, 0x8000000012345067ull)}));
  EXPECT_EQ(r.cycles, 6 * kMemLat);
  EXPECT_TRUE(r.dirty);
  EXPECT_EQ(pt.get(kPdpte), 0x101001u);  // A (bit 5) not set
}

TEST_F(PaeWalkerTest, DirtyGoesInto2MPde) {
  make(params());
  pt.map(kVaPae, 0x40000000, PageSize::k2M, kP | kRW | kUS);
  ASSERT_TRUE(load());
  WalkResult r = walk(kVaPae, AccessKind::Modify, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(kPdePae, 0x40000087), R8(kPdePae, 0x40000087), W8(kPdePae, 0x400000e7)}));
}

TEST_F(PaeWalkerTest, OnlyThePdeCacheExistsTaggedWithBits31To21) {
  // SDM 4.10.3.1: with PAE paging only PDE-cache entries, for va bits
  // 31:21 (the PDPTE index is part of the tag).
  WalkerParams p = params();
  p.pwc_entries = {0, 0, 8, 8, 8, 8};
  p.pwc_ways = {0, 0, 2, 2, 2, 2};
  make(p);
  EXPECT_EQ(pwcstats->find("pdpt.hits"), nullptr);
  const VAddr b = kVaPae + 0x1000;      // PT index 0x1ac
  const VAddr c = kVaPae + 0x40000000;  // PDPTE 3, same PD and PT indices
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  pt.map(b, 0x12346000, PageSize::k4K, kLeafRWUAD);
  pt.map(c, 0x12347000, PageSize::k4K, kLeafRWUAD);  // PD 0x103000, PT 0x104000
  ASSERT_TRUE(load());
  ASSERT_FALSE(walk(kVaPae, AccessKind::Load, false).fault);
  WalkResult r = walk(b, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R8(0x102d60, 0x12346067)}));  // 0x102000 + 0x1ac * 8
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.cycles, 3 + kMemLat);
  r = walk(c, AccessKind::Load, false);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.frame, 0x12347000u);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x1030a8, 0x104d58}));
  EXPECT_EQ(counter_value(*pwcstats, "pd.hits"), 1u);
  EXPECT_EQ(counter_value(*pwcstats, "pd.misses"), 2u);
}

TEST(WalkerModeTest, LevelsStillSelectFourOrFiveLevelPaging) {
  // Compatibility: mode X86_64 with levels = 5 is 5-level paging; levels
  // other than 4 or 5 are still rejected there.
  PhysicalMemory pm(1 << 20);
  RecordingMemory mem(pm, 1);
  StatGroup ws("walker"), ps("pwc");
  WalkerParams p;
  p.levels = 5;
  Walker w(p, mem, ws, ps);
  EXPECT_EQ(w.params().mode, PagingMode::X86_64_La57);
  EXPECT_EQ(w.params().levels, 5u);
  EXPECT_EQ(ws.find("pdpte_loads"), nullptr);
  StatGroup ws2("walker"), ps2("pwc");
  p.mode = PagingMode::X86_64_La57;
  p.levels = 4;
  EXPECT_EQ(Walker(p, mem, ws2, ps2).params().levels, 5u);
  StatGroup ws3("walker"), ps3("pwc");
  p.mode = PagingMode::X86_64;
  p.levels = 2;
  EXPECT_THROW({ Walker w3(p, mem, ws3, ps3); }, std::invalid_argument);
  EXPECT_STREQ(paging_mode_name(PagingMode::Pae), "pae");
}

// ===========================================================================
// The MMU's part: MOV to CR3 loads the PDPTE registers with PAE paging.

class Mmu32Test : public ::testing::Test {
 protected:
  Mmu32Test() : pm(64ull << 20), pt(pm), mem(pm, kMemLat) {}
  // No TLBs: every translation walks.
  MmuParams params(PagingMode mode) const {
    MmuParams p;
    p.walker.mode = mode;
    p.walker.phys_addr_bits = 40;
    p.walker.pwc_entries = {0, 0, 0, 0, 0, 0};
    p.walker.pwc_ways = {0, 0, 0, 0, 0, 0};
    return p;
  }
  std::uint64_t stat(const std::string& path) const { return counter_value(root, path); }

  PhysicalMemory pm;
  PaeTableBuilder pt;
  RecordingMemory mem;
  StatGroup root{"root"};
};

TEST_F(Mmu32Test, PaeCr3WriteLoadsThePdpteRegisters) {
  Mmu mmu(params(PagingMode::Pae), mem, root.group("mmu"));
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mem.clear();
  mmu.write_cr3(kPdpt);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x100fe0, 0x100fe8, 0x100ff0, 0x100ff8}));
  EXPECT_EQ(stat("mmu.walker.pdpte_loads"), 1u);
  EXPECT_EQ(stat("mmu.cr3_writes"), 1u);
  Translation tr = mmu.translate(kVaPae, AccessKind::Load, true, true);
  ASSERT_FALSE(tr.fault);
  EXPECT_EQ(tr.pa, 0x12345678u);
  EXPECT_EQ(tr.cycles, 2 * kMemLat);  // PDE + PTE; the PDPTE load is not charged here

  // A PDPTE made not present in memory is seen only after the next MOV to CR3.
  pt.clear_bits(kPdpte, kP);
  EXPECT_FALSE(mmu.translate(kVaPae, AccessKind::Load, true, true).fault);
  mmu.write_cr3(kPdpt);
  tr = mmu.translate(kVaPae, AccessKind::Load, true, true);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcU);
  EXPECT_EQ(stat("mmu.walker.pdpte_loads"), 2u);
}

TEST_F(Mmu32Test, PaeCr3WriteWithReservedPdpteBitIsAGeneralProtectionFault) {
  Mmu mmu(params(PagingMode::Pae), mem, root.group("mmu"));
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mmu.write_cr3(kPdpt);
  // A second PDPT at 0x100fc0 whose PDPTE 0 has bit 1 (reserved) set.
  pm.write64(0x100fc0, 0x101003);
  EXPECT_THROW(mmu.write_cr3(0x100fc0), GeneralProtectionFault);
  // Nothing changed: CR3, the registers (translation still works), the count.
  EXPECT_EQ(mmu.cr3(), kPdpt);
  EXPECT_EQ(stat("mmu.cr3_writes"), 1u);
  EXPECT_EQ(stat("mmu.walker.pdpte_load_faults"), 1u);
  EXPECT_FALSE(mmu.translate(kVaPae, AccessKind::Load, true, true).fault);
}

// SDM 4.4.1: "If PAE paging would be in use following an execution of MOV
// to CR0 or MOV to CR4 ... and the instruction is modifying any of CR0.CD,
// CR0.NW, CR0.PG, CR4.PAE, CR4.PGE, CR4.PSE, or CR4.SMEP; then the PDPTEs
// are loaded from the address in CR3", with the #GP(0) check of a CR3 load.
TEST_F(Mmu32Test, PaeCr4PgeToggleReloadsThePdpteRegisters) {
  Mmu mmu(params(PagingMode::Pae), mem, root.group("mmu"));
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mmu.write_cr3(kPdpt);
  ASSERT_FALSE(mmu.translate(kVaPae, AccessKind::Load, true, true).fault);
  // The PDPTE made not present in memory: the registers still hold it ...
  pt.clear_bits(kPdpte, kP);
  mmu.write_cr4_pge(true);  // PGE is already 1: not a modification, no load
  EXPECT_EQ(stat("mmu.walker.pdpte_loads"), 1u);
  EXPECT_FALSE(mmu.translate(kVaPae, AccessKind::Load, true, true).fault);
  // ... until a MOV to CR4 that clears PGE loads them again: four reads of
  // the PDPT at CR3, and the walk now faults (P = 0 in the PDPTE register).
  mem.clear();
  mmu.write_cr4_pge(false);
  EXPECT_EQ(mem.reads, (std::vector<PAddr>{0x100fe0, 0x100fe8, 0x100ff0, 0x100ff8}));
  EXPECT_EQ(stat("mmu.walker.pdpte_loads"), 2u);
  EXPECT_FALSE(mmu.control_registers().cr4_pge);
  EXPECT_TRUE(mmu.params().pge);  // the construction parameters are not state
  const Translation tr = mmu.translate(kVaPae, AccessKind::Load, true, true);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcU);
}

TEST_F(Mmu32Test, PaeCr4PgeToggleWithReservedPdpteBitIsAGeneralProtectionFault) {
  Mmu mmu(params(PagingMode::Pae), mem, root.group("mmu"));
  pt.map(kVaPae, 0x12345000, PageSize::k4K, kLeafRWUAD);
  mmu.write_cr3(kPdpt);
  pt.set_bits(kPdpte, 1ull << 1);  // bit 1 of a present PDPTE is reserved (table 4-8)
  EXPECT_THROW(mmu.write_cr4_pge(false), GeneralProtectionFault);
  // Nothing changed: PGE, the registers (the walk still works), no flush.
  EXPECT_TRUE(mmu.control_registers().cr4_pge);
  EXPECT_EQ(stat("mmu.full_flushes"), 0u);
  EXPECT_EQ(stat("mmu.walker.pdpte_load_faults"), 1u);
  EXPECT_FALSE(mmu.translate(kVaPae, AccessKind::Load, true, true).fault);
}

TEST_F(Mmu32Test, Ia32Cr4PgeToggleLoadsNoPdptes) {
  Mmu mmu(params(PagingMode::Ia32), mem, root.group("mmu"));
  Ia32TableBuilder t(pm, 0x200000);
  t.map(kVa32, 0x40000000, PageSize::k4M, kLeafRWUAD);
  mmu.write_cr3(t.root());
  mem.clear();
  mmu.write_cr4_pge(false);
  EXPECT_TRUE(mem.refs.empty());
  EXPECT_EQ(stat("mmu.full_flushes"), 1u);
}

TEST_F(Mmu32Test, Ia32TranslatesThroughTheMmu) {
  Mmu mmu(params(PagingMode::Ia32), mem, root.group("mmu"));
  Ia32TableBuilder t(pm, 0x200000);
  t.map(kVa32, 0x40000000, PageSize::k4M, kLeafRWUAD);
  mem.clear();
  mmu.write_cr3(t.root());
  EXPECT_TRUE(mem.refs.empty());  // no PDPTE registers with 32-bit paging
  Translation tr = mmu.translate(kVa32, AccessKind::Load, false, true);
  ASSERT_FALSE(tr.fault);
  EXPECT_EQ(tr.size, PageSize::k4M);
  EXPECT_EQ(tr.pa, 0x40345678u);
  EXPECT_EQ(mem.refs, (std::vector<Ref>{R4(0x200000 + 0x123 * 4, 0x400000e7)}));
}

}  // namespace
}  // namespace mmusim
