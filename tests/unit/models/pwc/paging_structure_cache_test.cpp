// Tests of one paging-structure cache (models/pwc/paging_structure_cache.h,
// Intel SDM Vol. 3A 4.10.3): the tag is the linear-address bits that select
// the cached entry and those above it, per mode; entries are tagged with the
// PCID; LRU replacement within a set; a page fault's invalidation of one
// address, and the flushes of 4.10.4.1. The walker tests cover its use in
// walks.
#include "models/pwc/paging_structure_cache.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "models/common/stats.h"

namespace mmusim {
namespace {

std::uint64_t counter(const StatGroup& g, const char* path) { return g.find(path)->counter->value(); }

PscEntry entry_to(PAddr next, std::uint16_t pcid = 0) {
  PscEntry e;
  e.next_table = next;
  e.pcid = pcid;
  e.writable = true;
  e.user = true;
  return e;
}

TEST(PagingStructureCache, TagIsEveryTranslatedBitFromTheLevelsIndexUp) {
  StatGroup g("pwc");
  // PDE cache: bits 47:21 (4-level), 56:21 (5-level), 31:21 (PAE), 31:22
  // (32-bit paging).
  PagingStructureCache pd4(paging_format(PagingMode::X86_64), 2, 4, 4, g.group("a"));
  PagingStructureCache pd5(paging_format(PagingMode::X86_64_La57), 2, 4, 4, g.group("b"));
  PagingStructureCache pae(paging_format(PagingMode::Pae), 2, 4, 4, g.group("c"));
  PagingStructureCache ia32(paging_format(PagingMode::Ia32), 2, 4, 4, g.group("d"));
  const VAddr va = 0xff83'1234'5678'9abcull;
  EXPECT_EQ(pd4.tag(va), (va & 0x0000ffffffffffffull) >> 21);
  EXPECT_EQ(pd5.tag(va), (va & 0x01ffffffffffffffull) >> 21);
  EXPECT_EQ(pae.tag(va), (va & 0xffffffffull) >> 21);
  EXPECT_EQ(ia32.tag(va), (va & 0xffffffffull) >> 22);
  // PML4E cache with 4-level paging: bits 47:39.
  PagingStructureCache pml4(paging_format(PagingMode::X86_64), 4, 2, 2, g.group("e"));
  EXPECT_EQ(pml4.tag(va), (va >> 39) & 511);
}

TEST(PagingStructureCache, HitsOnlyTheSameTagAndPcid) {
  StatGroup g("pwc");
  PagingStructureCache c(paging_format(PagingMode::X86_64), 2, 4, 4, g);
  const VAddr va = 0x40200000;  // PD tag 0x201
  EXPECT_EQ(c.lookup(va, 0), nullptr);
  c.insert(va, entry_to(0x5000, 1));
  EXPECT_EQ(c.lookup(va, 0), nullptr);             // another PCID
  const PscEntry* e = c.lookup(va + 0x1fffff, 1);  // the same 2 MiB region
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->next_table, 0x5000u);
  EXPECT_EQ(e->tag, 0x201u);
  EXPECT_EQ(c.lookup(va + 0x200000, 1), nullptr);  // the next PDE
  EXPECT_EQ(counter(g, "hits"), 1u);
  EXPECT_EQ(counter(g, "misses"), 3u);
}

TEST(PagingStructureCache, ReplacesTheLeastRecentlyUsedWay) {
  StatGroup g("pwc");
  PagingStructureCache c(paging_format(PagingMode::X86_64), 2, 2, 2, g);  // one set of two ways
  const VAddr a = 1ull << 21, b = 2ull << 21, d = 3ull << 21;
  c.insert(a, entry_to(0xa000));
  c.insert(b, entry_to(0xb000));
  ASSERT_NE(c.lookup(a, 0), nullptr);  // b is now the least recently used
  c.insert(d, entry_to(0xd000));
  EXPECT_NE(c.lookup(a, 0), nullptr);
  EXPECT_EQ(c.lookup(b, 0), nullptr);
  EXPECT_NE(c.lookup(d, 0), nullptr);
}

TEST(PagingStructureCache, InvalidateAndFlushes) {
  StatGroup g("pwc");
  PagingStructureCache c(paging_format(PagingMode::X86_64), 3, 8, 8, g);
  const VAddr a = 1ull << 30, b = 2ull << 30;
  c.insert(a, entry_to(0xa000, 1));
  c.insert(b, entry_to(0xb000, 1));
  c.insert(a, entry_to(0xc000, 2));
  c.invalidate(a + 0x1234, 1);  // the page fault's address, PCID 1 only
  EXPECT_EQ(c.lookup(a, 1), nullptr);
  EXPECT_NE(c.lookup(a, 2), nullptr);
  EXPECT_NE(c.lookup(b, 1), nullptr);
  c.flush_pcid(1);
  EXPECT_EQ(c.lookup(b, 1), nullptr);
  EXPECT_NE(c.lookup(a, 2), nullptr);
  c.flush_all();
  EXPECT_EQ(c.lookup(a, 2), nullptr);
}

TEST(PagingStructureCache, ZeroEntriesDisablesAndBadGeometryIsRefused) {
  StatGroup g("pwc");
  PagingStructureCache off(paging_format(PagingMode::X86_64), 2, 0, 0, g.group("off"));
  EXPECT_FALSE(off.enabled());
  off.insert(0, entry_to(0x1000));
  EXPECT_EQ(off.lookup(0, 0), nullptr);
  EXPECT_THROW(PagingStructureCache(paging_format(PagingMode::X86_64), 2, 6, 4, g.group("x")), std::invalid_argument);
  EXPECT_THROW(PagingStructureCache(paging_format(PagingMode::X86_64), 2, 12, 4, g.group("y")), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim
