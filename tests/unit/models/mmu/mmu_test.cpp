// Tests of the MMU: TLB lookup order and fills, rights checks on TLB hits,
// the dirty-flag rule, and the invalidation operations, against Intel SDM
// Vol. 3A 4.8 and 4.10 and the lookup order documented in mmu.h.
//
// The hierarchy used throughout (latencies chosen so that every path has a
// distinct cost):
//   l1d: level 1, data only, 4 entries fully associative, 4K, LRU, 1 cycle
//   l1i: level 1, fetches only, 4 entries fully associative, 4K, 1 cycle
//   l2 : level 2, data and fetches, 16 entries 4-way, 4K and 2M, 7 cycles
// Every paging-structure reference costs 100 cycles; paging-structure
// caches are off unless a test turns the PDE cache on. Page tables are built
// by hand (pt_builder.h) with A = 1 (and D = 1 unless a test wants D = 0),
// so a walk makes no flag updates unless stated.
//
// Error-code bits (SDM 4.7): P = 1, W/R = 2, U/S = 4, RSVD = 8, I/D = 16.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu.h"
#include "models/mmu/translation_checker.h"
#include "models/tlb/tlb.h"
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

constexpr Cycles kMemLat = 100;
constexpr Cycles kL1Lat = 1;
constexpr Cycles kL2Lat = 7;
constexpr unsigned kI5 = 2;
using testing_sdm::kEcI;
using testing_sdm::kEcP;
using testing_sdm::kEcU;
using testing_sdm::kEcW;

constexpr std::uint64_t kLeafRWUAD = pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD;
constexpr PAddr kFrame = 0x12345000;
constexpr PAddr kFrame2M = 0x40000000;

class MmuTest : public ::testing::TestWithParam<unsigned> {
 protected:
  MmuTest() : pm(64ull << 20), pt(pm, GetParam()), mem(pm, kMemLat) {}

  unsigned levels() const { return GetParam(); }
  VAddr V(unsigned i4, unsigned i3, unsigned i2, unsigned i1, std::uint64_t offset) const {
    return make_va(levels() == 5 ? kI5 : 0, i4, i3, i2, i1, offset);
  }

  static TlbSpec spec(const std::string& name, unsigned level, bool data, bool inst, unsigned entries, unsigned ways,
                      std::vector<PageSize> sizes, Cycles latency) {
    TlbSpec s;
    s.name = name;
    s.level = level;
    s.serves_data = data;
    s.serves_inst = inst;
    s.geometry.entries = entries;
    s.geometry.ways = ways;
    s.geometry.page_sizes = std::move(sizes);
    s.geometry.policy = ReplacementPolicy::Lru;
    s.latency = latency;
    return s;
  }

  MmuParams params() const {
    MmuParams p;
    p.tlbs.push_back(spec("l1d", 1, true, false, 4, 4, {PageSize::k4K}, kL1Lat));
    p.tlbs.push_back(spec("l1i", 1, false, true, 4, 4, {PageSize::k4K}, kL1Lat));
    p.tlbs.push_back(spec("l2", 2, true, true, 16, 4, {PageSize::k4K, PageSize::k2M}, kL2Lat));
    p.walker.levels = levels();
    p.walker.phys_addr_bits = 46;
    p.walker.nxe = true;
    p.walker.wp = true;
    p.walker.update_ad = true;
    p.walker.pwc_entries = {0, 0, 0, 0, 0, 0};
    p.walker.pwc_ways = {0, 0, 0, 0, 0, 0};
    p.walker.pwc_latency = 3;
    p.pge = true;
    return p;
  }
  MmuParams params_with_pde_cache() const {
    MmuParams p = params();
    p.walker.pwc_entries[2] = 8;
    p.walker.pwc_ways[2] = 2;
    return p;
  }

  Mmu& make(const MmuParams& p) {
    mmu = std::make_unique<Mmu>(p, mem, root.group("mmu"));
    mmu->write_cr3(pt.root());
    return *mmu;
  }

  Tlb& tlb(const std::string& name) const {
    for (const auto& t : mmu->tlbs())
      if (t->name() == name) return *t;
    throw std::logic_error("no tlb " + name);
  }
  bool cached(const std::string& name, VAddr va) const { return tlb(name).probe(va, 0) != nullptr; }

  std::uint64_t stat(const std::string& path) const {
    const StatGroup::Entry* e = root.find(path);
    if (!e || !e->counter) {
      ADD_FAILURE() << "no counter " << path;
      return ~0ull;
    }
    return e->counter->value();
  }

  Translation load(VAddr va, bool user = true, bool demand = true) {
    return mmu->translate(va, AccessKind::Load, user, demand);
  }
  Translation store(VAddr va, bool user = true, bool demand = true) {
    return mmu->translate(va, AccessKind::Store, user, demand);
  }
  Translation fetch(VAddr va, bool user = true, bool demand = true) {
    return mmu->translate(va, AccessKind::IFetch, user, demand);
  }

  Cycles walk_4k() const { return levels() * kMemLat; }  // one reference per level, no A/D update

  PhysicalMemory pm;
  PageTableBuilder pt;
  RecordingMemory mem;
  StatGroup root{""};
  std::unique_ptr<Mmu> mmu;
};

// ===========================================================================
// Lookup order and fills (mmu.h).

TEST_P(MmuTest, MissInEveryLevelWalksAndFillsBothLevels) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0x123);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  Translation tr = load(a);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_EQ(tr.pa, kFrame | 0x123);
  EXPECT_EQ(tr.size, PageSize::k4K);
  // L1 probed (miss), L2 probed (miss), then the walk.
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat + walk_4k());
  EXPECT_EQ(stat("mmu.tlb.l1d.accesses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l1d.misses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l2.accesses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l2.misses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l1i.accesses"), 0u);
  EXPECT_EQ(stat("mmu.walker.walks"), 1u);
  EXPECT_EQ(stat("mmu.walker.mem_reads"), levels());
  // A load fills the data-side TLBs of both levels, not l1i.
  EXPECT_TRUE(cached("l1d", a));
  EXPECT_TRUE(cached("l2", a));
  EXPECT_FALSE(cached("l1i", a));
}

TEST_P(MmuTest, L1HitCostsL1LatencyOnly) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(a).fault);
  Translation tr = load(a + 0x444);
  ASSERT_FALSE(tr.fault);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat);
  EXPECT_EQ(tr.pa, kFrame | 0x444);
  EXPECT_EQ(stat("mmu.tlb.l1d.hits"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l2.accesses"), 1u);  // L2 is not probed on an L1 hit
  EXPECT_EQ(stat("mmu.walker.walks"), 1u);
}

TEST_P(MmuTest, L1MissL2HitCostsBothLatenciesAndFillsL1) {
  make(params());
  // Five consecutive pages: the fifth evicts the first from the 4-entry LRU
  // l1d; in l2 (4 sets, set = page number mod 4) they take at most 2 ways of
  // a set, so l2 keeps all five.
  std::vector<VAddr> pages;
  for (unsigned i = 0; i < 5; ++i) {
    pages.push_back(V(3, 5, 7, 8 + i, 0));
    pt.map(pages.back(), kFrame + i * 0x1000ull, PageSize::k4K, kLeafRWUAD);
  }
  for (VAddr va : pages) ASSERT_FALSE(load(va).fault);
  ASSERT_FALSE(cached("l1d", pages[0]));
  ASSERT_TRUE(cached("l2", pages[0]));
  Translation tr = load(pages[0] + 8);
  ASSERT_FALSE(tr.fault);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat);
  EXPECT_EQ(tr.pa, kFrame + 8);
  EXPECT_EQ(stat("mmu.tlb.l2.hits"), 1u);
  EXPECT_TRUE(cached("l1d", pages[0]));
  tr = load(pages[0]);
  EXPECT_EQ(tr.cycles, kL1Lat);
  EXPECT_EQ(stat("mmu.walker.walks"), 5u);
}

TEST_P(MmuTest, FetchesUseL1iNotL1d) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(a).fault);  // l1d and l2 now hold the page
  Translation tr = fetch(a + 0x10);
  ASSERT_FALSE(tr.fault);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat);  // l1i miss, l2 hit
  EXPECT_EQ(stat("mmu.tlb.l1i.accesses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l1i.misses"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l1d.accesses"), 1u);  // only the load
  EXPECT_TRUE(cached("l1i", a));
  tr = fetch(a);
  EXPECT_EQ(tr.cycles, kL1Lat);
  EXPECT_EQ(stat("mmu.tlb.l1i.hits"), 1u);

  // A fetch that misses everywhere fills l1i and l2, not l1d.
  const VAddr b = V(3, 5, 7, 10, 0);
  pt.map(b, kFrame + 0x1000, PageSize::k4K, kLeafRWUAD);
  tr = fetch(b);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_TRUE(cached("l1i", b));
  EXPECT_TRUE(cached("l2", b));
  EXPECT_FALSE(cached("l1d", b));
}

TEST_P(MmuTest, TwoMegPageGoesOnlyIntoTlbsHoldingTwoMeg) {
  MmuParams p = params();
  p.tlbs[0].fracture = false;  // l1d: no pieces of larger pages
  make(p);
  const VAddr a = V(3, 5, 8, 0, 0);
  pt.map(a, kFrame2M, PageSize::k2M, kLeafRWUAD);
  Translation tr = load(a + 0x12345);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_EQ(tr.size, PageSize::k2M);
  EXPECT_EQ(tr.pa, kFrame2M + 0x12345);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat + (levels() - 1) * kMemLat);
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);  // l1d holds 4K only
  const TlbEntry* e = tlb("l2").probe(a, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size, PageSize::k2M);
  // Another address of the same 2 MiB page: l1d misses, l2 hits, no walk,
  // and l1d still cannot take the entry.
  tr = load(a + 0x1ff000);
  ASSERT_FALSE(tr.fault);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat);
  EXPECT_EQ(tr.pa, kFrame2M + 0x1ff000);
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
}

// SDM 4.10.2.3: "If the paging structures specify a translation using a
// page larger than 4 KBytes, some processors may cache multiple smaller-page
// TLB entries for that translation. Each such TLB entry would be associated
// with a page number corresponding to the smaller page size". l1d holds 4K
// only, so a 2 MiB page is cached there as the 4 KiB piece around each
// address used; l2 holds 2M and takes the whole page.
TEST_P(MmuTest, TwoMegPageIsFracturedIntoAFourKTlb) {
  make(params());
  const VAddr a = V(3, 5, 8, 0, 0);
  pt.map(a, kFrame2M, PageSize::k2M, kLeafRWUAD);
  ASSERT_FALSE(load(a + 0x12345).fault);
  const TlbEntry* piece = tlb("l1d").probe(a + 0x12000, 0);
  ASSERT_NE(piece, nullptr);
  EXPECT_EQ(piece->size, PageSize::k4K);
  EXPECT_EQ(piece->page_size, PageSize::k2M);
  EXPECT_EQ(piece->translate(a + 0x12345), kFrame2M + 0x12345);
  EXPECT_EQ(stat("mmu.tlb.l1d.fractured_fills"), 1u);
  EXPECT_EQ(stat("mmu.tlb.l2.fractured_fills"), 0u);
  // The same 4 KiB piece: an l1d hit, no walk.
  Translation tr = load(a + 0x12ff8);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat);
  // Another 4 KiB of the page: l1d misses, l2 hits and fills a second piece.
  tr = load(a + 0x1ff000);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat);
  EXPECT_EQ(tr.pa, kFrame2M + 0x1ff000);
  EXPECT_EQ(tlb("l1d").valid_entries(), 2u);
  EXPECT_EQ(stat("mmu.tlb.l1d.fractured_fills"), 2u);
  // INVLPG of any address of the page removes every piece (SDM 4.10.4.1:
  // INVLPG invalidates "all TLB entries corresponding to the translation
  // specified by the paging structures") and the l2 entry: 3 entries.
  mmu->invlpg(a + 0x100000);
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
  EXPECT_EQ(tlb("l2").valid_entries(), 0u);
  EXPECT_EQ(stat("mmu.tlb.l1d.flushed_entries"), 2u);
}

// A page fault anywhere in a fractured page drops its pieces too (SDM
// 4.10.4.1: page faults give the same assurance as INVLPG).
TEST_P(MmuTest, PageFaultDropsEveryPieceOfThePage) {
  make(params());
  const VAddr a = V(3, 5, 8, 0, 0);
  const Path path = pt.map(a, kFrame2M, PageSize::k2M, kLeafRWUAD & ~pte::kRW);
  ASSERT_FALSE(load(a).fault);
  ASSERT_FALSE(load(a + 0x5000).fault);
  ASSERT_EQ(tlb("l1d").valid_entries(), 2u);
  // A store to a third 4 KiB of the read-only page: the walk faults (P = 1,
  // W = 1, U = 1) and both pieces go, though neither is for that address.
  Translation tr = mmu->translate(a + 0x9000, AccessKind::Store, true, true);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcW | kEcU);
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
  (void)path;
}

// With 4-level and 5-level paging a 1 GiB page in front of a level that has
// no 1G TLB is cached as 2 MiB pieces where 2M is held (l2), 4 KiB where only
// 4K is (l1i), so instruction fetches from a 1 GiB page need not walk again.
TEST_P(MmuTest, OneGigPageFetchesAreCachedAsPieces) {
  make(params());
  const VAddr a = V(3, 6, 0, 0, 0);
  pt.map(a, 0x80000000, PageSize::k1G, kLeafRWUAD);
  Translation tr = mmu->translate(a + 0x12345678, AccessKind::IFetch, true, true);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_EQ(tr.size, PageSize::k1G);
  const TlbEntry* l2 = tlb("l2").probe(a + 0x12345678, 0);
  ASSERT_NE(l2, nullptr);
  EXPECT_EQ(l2->size, PageSize::k2M);
  EXPECT_EQ(l2->translate(a + 0x12345678), 0x80000000u + 0x12345678);
  EXPECT_EQ(tlb("l1i").probe(a + 0x12345678, 0)->size, PageSize::k4K);
  // The same 4 KiB: an l1i hit; elsewhere in the same 2 MiB: an l2 hit.
  EXPECT_FALSE(mmu->translate(a + 0x12345000, AccessKind::IFetch, true, true).walked);
  tr = mmu->translate(a + 0x12300000, AccessKind::IFetch, true, true);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat);
  EXPECT_EQ(stat("mmu.walker.walks"), 1u);
  // Without fracturing no TLB takes it: every fetch walks (3 walks).
  MmuParams p = params();
  for (auto& s : p.tlbs) s.fracture = false;
  StatGroup other;
  Mmu plain(p, mem, other.group("mmu"));
  plain.write_cr3(pt.root());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(plain.translate(a + 0x12345678, AccessKind::IFetch, true, true).walked);
}

// The same-page path (Mmu::Repeat): a repeat counts as the probes would and
// leaves the LRU order as the touches would. l1d is fully associative (one
// set), so every remembered page's hit shares the set.
TEST_P(MmuTest, SamePageRepeatsCountAndKeepTheLruOrder) {
  make(params());
  std::vector<VAddr> p;
  for (unsigned i = 0; i < 5; ++i) {
    p.push_back(V(3, 5, 7, 8 + i, 0));
    pt.map(p.back(), kFrame + i * 0x1000ull, PageSize::k4K, kLeafRWUAD);
  }
  // A, B walk; A hits (remembered), then repeats; C, D fill l1d; E evicts B,
  // the least recently used (A was touched by its first hit).
  for (VAddr va : {p[0], p[1], p[0], p[0] + 8, p[0] + 16, p[2], p[3], p[4]}) ASSERT_FALSE(load(va).fault);
  EXPECT_EQ(stat("mmu.tlb.l1d.accesses"), 8u);
  EXPECT_EQ(stat("mmu.tlb.l1d.hits"), 3u);
  EXPECT_EQ(stat("mmu.tlb.l1d.misses"), 5u);
  EXPECT_TRUE(cached("l1d", p[0]));
  EXPECT_FALSE(cached("l1d", p[1]));
  Translation tr = load(p[0] + 0x20);
  EXPECT_EQ(tr.pa, kFrame | 0x20);
  EXPECT_EQ(tr.cycles, kL1Lat);
}

TEST_P(MmuTest, AlternatingPagesInOneSetKeepTheLruOrder) {
  make(params());
  std::vector<VAddr> p;
  for (unsigned i = 0; i < 5; ++i) {
    p.push_back(V(3, 5, 7, 8 + i, 0));
    pt.map(p.back(), kFrame + i * 0x1000ull, PageSize::k4K, kLeafRWUAD);
  }
  for (unsigned i = 0; i < 4; ++i) ASSERT_FALSE(load(p[i]).fault);
  // Hits on B, A, B: the second B must touch again (A's hit made it non-MRU
  // in the shared set), so after C and D hit the order is A, B, C, D and E
  // evicts A. (Repeating B without its touch would leave B the oldest.)
  for (VAddr va : {p[1], p[0], p[1] + 8, p[2], p[3]}) ASSERT_FALSE(load(va).fault);
  ASSERT_FALSE(load(p[4]).fault);
  EXPECT_FALSE(cached("l1d", p[0]));
  EXPECT_TRUE(cached("l1d", p[1]));
  EXPECT_TRUE(cached("l1d", p[2]));
  EXPECT_TRUE(cached("l1d", p[3]));
  EXPECT_EQ(stat("mmu.tlb.l1d.hits"), 5u);
  EXPECT_EQ(stat("mmu.tlb.l1d.accesses"), 10u);
}

// The same-page path against an MMU that never takes it (one with a
// TranslationChecker remembers nothing: Mmu::set_checker), access by
// access: small set-associative TLBs whose sets the pages share, 4 KiB and
// 2 MiB pages, read-only and supervisor pages (refused hits, faults),
// loads, stores and fetches drawn from a drifting working set. Every
// translation, every TLB counter and every TLB's contents must agree; a
// remembered page whose entry stopped being its set's most recently used
// (or one kept past a fill) would change a victim and show here.
TEST_P(MmuTest, SamePagePathAgreesWithNoSamePagePathOnRandomAccesses) {
  MmuParams p = params();
  p.tlbs.clear();
  p.tlbs.push_back(spec("l1d", 1, true, false, 16, 4, {PageSize::k4K}, kL1Lat));  // 4 sets
  p.tlbs.push_back(spec("l1d_2m", 1, true, false, 4, 2, {PageSize::k2M}, kL1Lat));
  p.tlbs.push_back(spec("l1i", 1, false, true, 8, 2, {PageSize::k4K, PageSize::k2M}, kL1Lat));
  p.tlbs.push_back(spec("l2", 2, true, true, 32, 4, {PageSize::k4K, PageSize::k2M}, kL2Lat));
  make(p);
  RecordingMemory ref_mem(pm, kMemLat);
  StatGroup ref_root{""};
  Mmu ref(p, ref_mem, ref_root.group("mmu"));
  TranslationChecker checker(ref.walker().params(), true,
                             [this](PAddr pa, unsigned bytes) { return pm.read(pa, bytes); });
  ref.set_checker(&checker);
  ref.write_cr3(pt.root());

  std::vector<VAddr> pages;
  for (unsigned i = 0; i < 40; ++i) {
    // Page numbers 8..47 of one table: every l1d set and every slot of the
    // same-page table taken by several pages.
    const VAddr va = V(3, 5, 7, 8 + i, 0);
    std::uint64_t flags = kLeafRWUAD;
    if (i % 7 == 3) flags &= ~pte::kRW;   // stores fault
    if (i % 11 == 5) flags &= ~pte::kUS;  // every user access faults
    pt.map(va, kFrame + i * 0x1000ull, PageSize::k4K, flags);
    pages.push_back(va);
  }
  for (unsigned i = 0; i < 3; ++i) {
    const VAddr va = V(3, 5, 8 + i, 0, 0);
    pt.map(va, kFrame2M + i * 0x200000ull, PageSize::k2M, kLeafRWUAD);
    for (unsigned k = 0; k < 4; ++k) pages.push_back(va + k * 0x81000ull);  // 4 KiB pieces of one 2 MiB page
  }
  std::uint64_t x = 0x9E3779B97F4A7C15ull;  // xorshift64: the same sequence on every run
  auto rnd = [&x](std::uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  std::size_t base = 0;
  for (unsigned n = 0; n < 200000; ++n) {
    if (rnd(500) == 0) base = rnd(pages.size());
    const VAddr va = pages[(base + rnd(6)) % pages.size()] + rnd(4096);
    const std::uint64_t r = rnd(10);
    const AccessKind kind = r < 6 ? AccessKind::Load : r < 8 ? AccessKind::Store : AccessKind::IFetch;
    const Translation a = mmu->translate(va, kind, true, true);
    const Translation b = ref.translate(va, kind, true, true);
    ASSERT_EQ(a.fault, b.fault) << "access " << n;
    ASSERT_EQ(a.walked, b.walked) << "access " << n;
    ASSERT_EQ(a.cycles, b.cycles) << "access " << n;
    if (!a.fault) {
      ASSERT_EQ(a.pa, b.pa) << "access " << n;
    }
  }
  for (const char* t : {"l1d", "l1d_2m", "l1i", "l2"}) {
    for (const char* c : {"accesses", "hits", "misses"}) {
      const std::string path = std::string("mmu.tlb.") + t + "." + c;
      EXPECT_EQ(stat(path), counter_value(ref_root, path)) << path;
    }
    for (const auto& tl : ref.tlbs()) {
      if (tl->name() != t) continue;
      for (VAddr va : pages) EXPECT_EQ(cached(t, va), tl->probe(va, 0) != nullptr) << t << " " << std::hex << va;
    }
  }
  EXPECT_EQ(stat("mmu.walker.walks"), counter_value(ref_root, "mmu.walker.walks"));
  EXPECT_GT(stat("mmu.tlb.l1d.hits"), 100000u);  // the same-page path was taken
}

TEST_P(MmuTest, RetryLeavesTlbStatisticsUnchanged) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  // demand = false: the re-execution of an access already counted.
  Translation tr = load(a, true, /*demand=*/false);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  tr = load(a, true, false);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat);
  for (const char* name : {"l1d", "l1i", "l2"}) {
    for (const char* c : {"accesses", "hits", "misses"}) {
      EXPECT_EQ(stat(std::string("mmu.tlb.") + name + "." + c), 0u) << name << "." << c;
    }
  }
}

TEST_P(MmuTest, FaultOnMissFillsNothing) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0x10);
  Path p = pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  pt.clear_bits(p.entry[1], pte::kP);
  Translation tr = store(a);
  ASSERT_TRUE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_EQ(tr.page_fault.cr2, a);
  EXPECT_EQ(tr.page_fault.error_code, kEcW | kEcU);  // P = 0: not present
  EXPECT_EQ(tr.cycles, kL1Lat + kL2Lat + walk_4k());
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
  EXPECT_EQ(tlb("l2").valid_entries(), 0u);
  EXPECT_EQ(stat("mmu.walker.faults"), 1u);
  // P 0 -> 1 needs no invalidation (4.10.4.3): the retry walks and succeeds.
  pt.set_bits(p.entry[1], pte::kP);
  tr = store(a, true, false);
  ASSERT_FALSE(tr.fault);
  EXPECT_EQ(tr.pa, kFrame | 0x10);
}

// ===========================================================================
// Rights checks on TLB hits and the dirty flag (SDM 4.6, 4.8, 4.10.4.1).

TEST_P(MmuTest, StoreToCleanCachedPageWalksAndSetsDirty) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  Path p = pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kRW | pte::kUS | pte::kA);  // D = 0
  ASSERT_FALSE(load(a).fault);
  ASSERT_EQ(pt.get(p.entry[1]) & pte::kD, 0u);  // a read does not set D
  // The cached translation has D = 0: the store must not complete from the
  // TLB, since D in memory must be set on the first write (4.8).
  Translation tr = store(a + 4);
  ASSERT_FALSE(tr.fault);
  EXPECT_TRUE(tr.walked);
  EXPECT_EQ(tr.pa, kFrame | 4);
  EXPECT_EQ(pt.get(p.entry[1]) & pte::kD, pte::kD);
  EXPECT_EQ(stat("mmu.walker.ad_writes"), 1u);
  EXPECT_EQ(stat("mmu.rights_walks"), 1u);
  // The refreshed entry is dirty: the next store completes from l1d.
  const TlbEntry* e = tlb("l1d").probe(a, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->dirty);
  tr = store(a);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat);
  EXPECT_EQ(stat("mmu.walker.walks"), 2u);
  // One page, one entry in each TLB that holds it.
  EXPECT_EQ(tlb("l1d").valid_entries(), 1u);
  EXPECT_EQ(tlb("l2").valid_entries(), 1u);
}

TEST_P(MmuTest, StoreToCleanCachedPageHitsWhenUpdateAdIsOff) {
  // With A/D updating off a clean entry needs no walk: the store hits.
  MmuParams mp = params();
  mp.walker.update_ad = false;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kRW | pte::kUS | pte::kA);  // D = 0
  ASSERT_FALSE(load(a).fault);
  const Translation t = store(a);
  EXPECT_FALSE(t.fault);
  EXPECT_FALSE(t.walked);
  EXPECT_EQ(t.cycles, kL1Lat);
  EXPECT_EQ(stat("mmu.rights_walks"), 0u);
  EXPECT_EQ(stat("mmu.walker.ad_writes"), 0u);
}

TEST_P(MmuTest, ModifyIsAWriteForTheDirtyFlag) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  Path p = pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kRW | pte::kUS | pte::kA);
  ASSERT_FALSE(mmu->translate(a, AccessKind::Modify, true, true).fault);
  EXPECT_EQ(pt.get(p.entry[1]) & pte::kD, pte::kD);
}

TEST_P(MmuTest, StoreToReadOnlyCachedPageFaultsAndDropsTheEntry) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0x20);
  Path p = pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kUS | pte::kA | pte::kD);  // R/W = 0
  ASSERT_FALSE(load(a).fault);
  ASSERT_TRUE(cached("l1d", a));
  Translation tr = store(a);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.cr2, a);
  // User write to a read-only page: P = 1, W/R = 1, U/S = 1.
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcW | kEcU);
  // 4.10.4.1: the page fault invalidates the TLB entries for the page.
  EXPECT_FALSE(cached("l1d", a));
  EXPECT_FALSE(cached("l2", a));
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
  EXPECT_EQ(tlb("l2").valid_entries(), 0u);
  // So after software makes the page writable without INVLPG the retried
  // store succeeds (at most one spurious fault, 4.10.4.3).
  pt.set_bits(p.entry[1], pte::kRW);
  tr = store(a, true, false);
  ASSERT_FALSE(tr.fault);
  EXPECT_EQ(tr.pa, kFrame | 0x20);
}

TEST_P(MmuTest, PageFaultInvalidatesThePageInEveryTlb) {
  // SDM 4.10.4.1: a page fault invalidates any TLB entry for the faulting
  // address's page number - here the l1d entry whose rights denied the
  // write, and the copies in l2 and l1i.
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kUS | pte::kA | pte::kD);  // R/W = 0
  ASSERT_FALSE(fetch(a).fault);                                              // fills l1i and l2
  ASSERT_FALSE(load(a).fault);                                               // l2 hit fills l1d
  ASSERT_TRUE(cached("l1d", a));
  ASSERT_TRUE(cached("l1i", a));
  ASSERT_TRUE(cached("l2", a));
  Translation tr = store(a);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcW | kEcU);
  for (const auto& t : mmu->tlbs()) EXPECT_EQ(t->valid_entries(), 0u) << t->name();
}

TEST_P(MmuTest, SupervisorEntryCachedBySupervisorAccessDeniesUser) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kRW | pte::kA | pte::kD);  // U/S = 0
  ASSERT_FALSE(load(a, /*user=*/false).fault);
  Translation tr = load(a, true);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcU);
  EXPECT_FALSE(cached("l1d", a));
}

TEST_P(MmuTest, FetchFromExecuteDisabledPageCachedByALoadFaults) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD | pte::kXD);
  ASSERT_FALSE(load(a).fault);
  ASSERT_TRUE(cached("l2", a));
  Translation tr = fetch(a);  // l1i misses, l2 hits an entry with XD = 1
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcU | kEcI);
  EXPECT_FALSE(cached("l2", a));
  EXPECT_FALSE(cached("l1i", a));
}

TEST_P(MmuTest, SupervisorWriteToReadOnlyPageHitsWhenWpIsOff) {
  MmuParams mp = params();
  mp.walker.wp = false;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kUS | pte::kA | pte::kD);
  ASSERT_FALSE(load(a, false).fault);
  Translation tr = store(a, false);
  ASSERT_FALSE(tr.fault);
  EXPECT_FALSE(tr.walked);
  EXPECT_EQ(tr.cycles, kL1Lat);
  tr = store(a, true);  // user writes still need R/W = 1
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcW | kEcU);
}

TEST_P(MmuTest, SupervisorWriteToReadOnlyPageFaultsWhenWpIsOn) {
  make(params());
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, pte::kP | pte::kUS | pte::kA | pte::kD);
  ASSERT_FALSE(load(a, false).fault);
  Translation tr = store(a, false);
  ASSERT_TRUE(tr.fault);
  EXPECT_EQ(tr.page_fault.error_code, kEcP | kEcW);
}

// ===========================================================================
// Invalidation (SDM 4.10.4.1).

TEST_P(MmuTest, Cr3WriteKeepsGlobalEntriesWhenPgeIsOn) {
  make(params());
  const VAddr g = V(3, 5, 7, 9, 0), n = V(3, 5, 7, 10, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  pt.map(n, kFrame + 0x1000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(g).fault);
  ASSERT_FALSE(load(n).fault);
  mmu->write_cr3(pt.root());
  EXPECT_EQ(mmu->cr3(), pt.root());
  EXPECT_EQ(stat("mmu.cr3_writes"), 2u);  // one in make(), one here
  // MOV to CR3 invalidates every non-global entry; with CR4.PGE = 1 entries
  // made from a leaf with G = 1 survive.
  EXPECT_TRUE(cached("l1d", g));
  EXPECT_TRUE(cached("l2", g));
  EXPECT_FALSE(cached("l1d", n));
  EXPECT_FALSE(cached("l2", n));
  EXPECT_EQ(load(g).cycles, kL1Lat);
  EXPECT_TRUE(load(n).walked);
}

TEST_P(MmuTest, Cr3WriteFlushesEverythingWhenPgeIsOff) {
  MmuParams mp = params();
  mp.pge = false;
  make(mp);
  const VAddr g = V(3, 5, 7, 9, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  ASSERT_FALSE(load(g).fault);
  // With CR4.PGE = 0, G is ignored: the translation is not global.
  const TlbEntry* e = tlb("l1d").probe(g, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->global);
  mmu->write_cr3(pt.root());
  EXPECT_FALSE(cached("l1d", g));
  EXPECT_FALSE(cached("l2", g));
  EXPECT_TRUE(load(g).walked);
}

TEST_P(MmuTest, Cr3WriteEmptiesThePagingStructureCaches) {
  make(params_with_pde_cache());
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0), c = V(3, 5, 7, 11, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame, PageSize::k4K, kLeafRWUAD);
  pt.map(c, kFrame, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(a).fault);
  std::uint64_t reads = stat("mmu.walker.mem_reads");
  ASSERT_FALSE(load(b).fault);  // PDE-cache hit: the PTE only
  EXPECT_EQ(stat("mmu.walker.mem_reads") - reads, 1u);
  EXPECT_EQ(stat("mmu.pwc.pd.hits"), 1u);
  mmu->write_cr3(pt.root());
  reads = stat("mmu.walker.mem_reads");
  ASSERT_FALSE(load(c).fault);
  EXPECT_EQ(stat("mmu.walker.mem_reads") - reads, levels());
}

TEST_P(MmuTest, InvlpgRemovesThePageEvenIfGlobalAndEmptiesPagingStructureCaches) {
  make(params_with_pde_cache());
  const VAddr g = V(3, 5, 7, 9, 0), n = V(3, 5, 7, 10, 0), c = V(3, 5, 7, 11, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  pt.map(n, kFrame + 0x1000, PageSize::k4K, kLeafRWUAD);
  pt.map(c, kFrame + 0x2000, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(g).fault);
  ASSERT_FALSE(load(n).fault);
  mmu->invlpg(g + 0x123);  // any address in the page
  EXPECT_EQ(stat("mmu.invlpgs"), 1u);
  // INVLPG invalidates the page's TLB entries, global ones included ...
  EXPECT_FALSE(cached("l1d", g));
  EXPECT_FALSE(cached("l2", g));
  // ... but not other pages' ...
  EXPECT_TRUE(cached("l1d", n));
  EXPECT_EQ(load(n).cycles, kL1Lat);
  // ... and every paging-structure-cache entry: c, under the same PDE as g
  // and n, is walked from the root.
  const std::uint64_t reads = stat("mmu.walker.mem_reads");
  Translation tr = load(c);
  ASSERT_FALSE(tr.fault);
  EXPECT_EQ(stat("mmu.walker.mem_reads") - reads, levels());
  EXPECT_TRUE(load(g).walked);
}

TEST_P(MmuTest, InvlpgRemovesATwoMegPageByAnyAddressInIt) {
  make(params());
  const VAddr a = V(3, 5, 8, 0, 0);
  pt.map(a, kFrame2M, PageSize::k2M, kLeafRWUAD);
  ASSERT_FALSE(load(a).fault);
  ASSERT_TRUE(cached("l2", a));
  mmu->invlpg(a + 0x1abcde);
  EXPECT_FALSE(cached("l2", a));
}

TEST_P(MmuTest, FlushAllRemovesGlobalEntriesToo) {
  make(params_with_pde_cache());
  const VAddr g = V(3, 5, 7, 9, 0), c = V(3, 5, 7, 10, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  pt.map(c, kFrame, PageSize::k4K, kLeafRWUAD);
  ASSERT_FALSE(load(g).fault);
  ASSERT_FALSE(fetch(g).fault);
  mmu->flush_all();
  for (const auto& t : mmu->tlbs()) EXPECT_EQ(t->valid_entries(), 0u) << t->name();
  const std::uint64_t reads = stat("mmu.walker.mem_reads");
  ASSERT_FALSE(load(c).fault);
  EXPECT_EQ(stat("mmu.walker.mem_reads") - reads, levels());
}

// ===========================================================================
// Statistics names.

TEST_P(MmuTest, StatisticsAreRegisteredUnderTheirNames) {
  MmuParams mp = params_with_pde_cache();
  mp.walker.pwc_entries = {0, 0, 8, 4, 2, 2};
  mp.walker.pwc_ways = {0, 0, 2, 4, 2, 2};
  make(mp);
  for (const char* name : {"l1d", "l1i", "l2"}) {
    for (const char* c : {"accesses", "hits", "misses", "evictions", "flushes", "flushed_entries"}) {
      const std::string path = std::string("mmu.tlb.") + name + "." + c;
      EXPECT_NE(root.find(path), nullptr) << path;
    }
  }
  for (const char* c : {"walks", "mem_reads", "ad_writes", "cycles", "faults"}) {
    const std::string path = std::string("mmu.walker.") + c;
    EXPECT_NE(root.find(path), nullptr) << path;
  }
  std::vector<std::string> pwc_levels = {"pd", "pdpt", "pml4"};
  if (levels() == 5) pwc_levels.push_back("pml5");
  for (const std::string& l : pwc_levels) {
    EXPECT_NE(root.find("mmu.pwc." + l + ".hits"), nullptr) << l;
    EXPECT_NE(root.find("mmu.pwc." + l + ".misses"), nullptr) << l;
  }
  for (const char* c : {"cr3_writes", "invlpgs", "rights_walks"}) {
    EXPECT_NE(root.find(std::string("mmu.") + c), nullptr) << c;
  }
}

// ===========================================================================
// PCIDs, INVPCID and CR4.PGE (SDM 4.10.1, 4.10.2.4, 4.10.4.1).

constexpr std::uint64_t kNoFlush = 1ull << 63;

TEST_P(MmuTest, PcidCr3WriteFlushesOnlyTheNewPcidAndNothingWithTheNoFlushBit) {
  MmuParams mp = params();
  mp.pcid = true;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  mmu->write_cr3(pt.root() | 1);
  EXPECT_EQ(mmu->pcid(), 1u);
  ASSERT_FALSE(load(a).fault);
  mmu->write_cr3(pt.root() | 2);
  // 4.10.1: entries of PCID 1 stay cached but are not used under PCID 2.
  EXPECT_NE(tlb("l1d").probe(a, 1), nullptr);
  EXPECT_EQ(tlb("l1d").probe(a, 2), nullptr);
  EXPECT_TRUE(load(a).walked);
  // Back to PCID 1 with bit 63 set: nothing invalidated, the entry hits.
  mmu->write_cr3(pt.root() | 1 | kNoFlush);
  EXPECT_EQ(mmu->cr3() >> 63, 0u);  // bit 63 is not part of CR3
  EXPECT_EQ(stat("mmu.cr3_noflush"), 1u);
  const Translation t = load(a);
  EXPECT_FALSE(t.walked);
  EXPECT_EQ(t.cycles, kL1Lat);
  // Bit 63 clear: PCID 1's entries go, PCID 2's stay.
  mmu->write_cr3(pt.root() | 1);
  EXPECT_EQ(tlb("l1d").probe(a, 1), nullptr);
  EXPECT_EQ(tlb("l2").probe(a, 1), nullptr);
  EXPECT_NE(tlb("l2").probe(a, 2), nullptr);
}

TEST_P(MmuTest, GlobalEntriesMatchEveryPcidAndSurviveCr3Writes) {
  MmuParams mp = params();
  mp.pcid = true;
  make(mp);
  const VAddr g = V(3, 5, 7, 9, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  mmu->write_cr3(pt.root() | 1);
  ASSERT_FALSE(load(g).fault);
  mmu->write_cr3(pt.root() | 2);  // flushes PCID 2, non-global only
  const Translation t = load(g);  // 4.10.2.4: a global entry is used whatever the PCID
  EXPECT_FALSE(t.walked);
  EXPECT_EQ(t.cycles, kL1Lat);
}

TEST_P(MmuTest, PagingStructureCacheEntriesAreTaggedWithThePcid) {
  MmuParams mp = params_with_pde_cache();
  mp.pcid = true;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0), c = V(3, 5, 7, 11, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame + 0x1000, PageSize::k4K, kLeafRWUAD);
  pt.map(c, kFrame + 0x2000, PageSize::k4K, kLeafRWUAD);
  mmu->write_cr3(pt.root() | 1);
  ASSERT_FALSE(load(a).fault);  // fills the PDE cache for PCID 1
  const std::uint64_t r0 = stat("mmu.walker.mem_reads");
  ASSERT_FALSE(load(b).fault);  // PDE-cache hit: the PTE only (4.10.3.2)
  EXPECT_EQ(stat("mmu.walker.mem_reads") - r0, 1u);
  mmu->write_cr3(pt.root() | 2);
  const std::uint64_t r1 = stat("mmu.walker.mem_reads");
  ASSERT_FALSE(load(c).fault);  // PCID 2 may not use PCID 1's PDE-cache entry
  EXPECT_EQ(stat("mmu.walker.mem_reads") - r1, levels());
}

TEST_P(MmuTest, InvlpgWithPcidsRemovesTheCurrentPcidsAndGlobalEntriesOnly) {
  MmuParams mp = params();
  mp.pcid = true;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  mmu->write_cr3(pt.root() | 1);
  ASSERT_FALSE(load(a).fault);
  mmu->write_cr3(pt.root() | 2);
  ASSERT_FALSE(load(a).fault);
  mmu->invlpg(a);
  EXPECT_EQ(tlb("l1d").probe(a, 2), nullptr);
  EXPECT_EQ(tlb("l2").probe(a, 2), nullptr);
  // Implementation choice (4.10.4.1 allows more): other PCIDs are kept.
  EXPECT_NE(tlb("l2").probe(a, 1), nullptr);
}

TEST_P(MmuTest, InvpcidTypesInvalidateWhatTheSdmSays) {
  MmuParams mp = params();
  mp.pcid = true;
  make(mp);
  const VAddr a = V(3, 5, 7, 9, 0), b = V(3, 5, 7, 10, 0), g = V(3, 5, 7, 11, 0);
  pt.map(a, kFrame, PageSize::k4K, kLeafRWUAD);
  pt.map(b, kFrame + 0x1000, PageSize::k4K, kLeafRWUAD);
  pt.map(g, kFrame + 0x2000, PageSize::k4K, kLeafRWUAD | pte::kG);
  auto fill = [&](std::uint16_t pcid) {
    mmu->write_cr3(pt.root() | pcid | kNoFlush);
    for (VAddr v : {a, b, g}) ASSERT_FALSE(load(v).fault);
  };
  fill(1);
  fill(2);
  Tlb& l2 = tlb("l2");
  // Type 0: one page, one PCID, global translations excepted.
  mmu->invpcid(0, 1, a);
  EXPECT_EQ(l2.probe(a, 1), nullptr);
  EXPECT_NE(l2.probe(a, 2), nullptr);
  EXPECT_NE(l2.probe(b, 1), nullptr);
  mmu->invpcid(0, 1, g);
  EXPECT_NE(l2.probe(g, 1), nullptr);  // global: kept by type 0
  // Type 1: every non-global entry of one PCID.
  mmu->invpcid(1, 2, 0);
  EXPECT_EQ(l2.probe(a, 2), nullptr);
  EXPECT_EQ(l2.probe(b, 2), nullptr);
  EXPECT_NE(l2.probe(b, 1), nullptr);
  EXPECT_NE(l2.probe(g, 2), nullptr);  // the global entry matches PCID 2 still
  // Type 3: every non-global entry of every PCID; globals stay.
  mmu->invpcid(3, 0, 0);
  EXPECT_EQ(l2.probe(b, 1), nullptr);
  EXPECT_NE(l2.probe(g, 1), nullptr);
  // Type 2: everything, globals too.
  mmu->invpcid(2, 0, 0);
  EXPECT_EQ(l2.probe(g, 1), nullptr);
  EXPECT_EQ(l2.valid_entries(), 0u);
  EXPECT_EQ(tlb("l1d").valid_entries(), 0u);
  EXPECT_EQ(stat("mmu.invpcids"), 5u);
  EXPECT_EQ(stat("mmu.full_flushes"), 1u);
}

TEST_P(MmuTest, InvpcidOperandsTheProcessorRefuses) {
  make(params());  // CR4.PCIDE = 0
  EXPECT_THROW(mmu->invpcid(4, 0, 0), InvalidOperand);
  EXPECT_THROW(mmu->invpcid(1, 1, 0), InvalidOperand);  // PCID != 0 with PCIDE = 0
  EXPECT_THROW(mmu->invpcid(0, 1, 0), InvalidOperand);
  EXPECT_THROW(mmu->invpcid(0, 0, levels() == 5 ? 0x0100000000000000ull : 0x0000900000000000ull), InvalidOperand);
  EXPECT_THROW(mmu->invpcid(1, 4096, 0), InvalidOperand);
  EXPECT_NO_THROW(mmu->invpcid(2, 7, 0));  // types 2 and 3 ignore the PCID
  EXPECT_NO_THROW(mmu->invpcid(3, 7, 0));
  EXPECT_NO_THROW(mmu->invpcid(1, 0, 0));
  EXPECT_EQ(stat("mmu.invpcids"), 3u);
}

TEST_P(MmuTest, TogglingPgeFlushesEverythingAndCountsOneFlushPerTlb) {
  make(params());
  const VAddr g = V(3, 5, 7, 9, 0);
  pt.map(g, kFrame, PageSize::k4K, kLeafRWUAD | pte::kG);
  ASSERT_FALSE(load(g).fault);
  const std::uint64_t f0 = stat("mmu.tlb.l1d.flushes"), f2 = stat("mmu.tlb.l2.flushes");
  mmu->write_cr4_pge(true);  // no change: not a toggle
  EXPECT_TRUE(cached("l1d", g));
  EXPECT_EQ(stat("mmu.tlb.l1d.flushes"), f0);
  mmu->write_cr4_pge(false);
  EXPECT_FALSE(cached("l1d", g));
  EXPECT_FALSE(cached("l2", g));
  EXPECT_EQ(stat("mmu.tlb.l1d.flushes"), f0 + 1);
  EXPECT_EQ(stat("mmu.tlb.l2.flushes"), f2 + 1);
  EXPECT_EQ(stat("mmu.tlb.l1d.flushed_entries"), 1u);
  // With PGE now 0, a new fill of the G = 1 page is not global (4.10.2.4).
  ASSERT_FALSE(load(g).fault);
  EXPECT_FALSE(tlb("l1d").probe(g, 0)->global);
}

TEST_P(MmuTest, ControlRegistersStartFromTheParamsAndTakeTheWrites) {
  MmuParams mp = params();
  mp.pcid = true;
  mp.walker.wp = false;
  mp.walker.nxe = false;
  make(mp);
  const ControlRegisters& cr = mmu->control_registers();
  // Table 4-1: 4-level paging is CR4.PAE = 1, EFER.LME = 1, CR4.LA57 = 0;
  // 5-level paging sets LA57.
  EXPECT_EQ(cr.mode(), levels() == 5 ? PagingMode::X86_64_La57 : PagingMode::X86_64);
  EXPECT_TRUE(cr.cr4_pae);
  EXPECT_TRUE(cr.efer_lme);
  EXPECT_EQ(cr.cr4_la57, levels() == 5);
  EXPECT_FALSE(cr.cr0_wp);
  EXPECT_FALSE(cr.efer_nxe);
  EXPECT_TRUE(cr.cr4_pcide);
  EXPECT_TRUE(cr.cr4_pge);
  // MOV to CR3 with the no-flush bit: CR3 without bit 63, PCID = bits 11:0.
  mmu->write_cr3(pt.root() | 5 | kNoFlush);
  EXPECT_EQ(cr.cr3, pt.root() | 5);
  EXPECT_EQ(cr.pcid(), 5u);
  EXPECT_EQ(mmu->pcid(), 5u);
  // MOV to CR4 clearing PGE changes the register, not the parameters.
  mmu->write_cr4_pge(false);
  EXPECT_FALSE(cr.cr4_pge);
  EXPECT_TRUE(mmu->params().pge);
}

INSTANTIATE_TEST_SUITE_P(Levels, MmuTest, ::testing::Values(4u, 5u), levels_name);

}  // namespace
}  // namespace mmusim
