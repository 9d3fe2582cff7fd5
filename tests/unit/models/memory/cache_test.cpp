// Unit tests for the physical caches (Cache) and the memory path
// (MemoryHierarchy), without SystemC.
//
// Expectations come from two independent sources: sequences worked out by
// hand from the rules in cache.h / memory_hierarchy.h (LRU, write-back,
// write-allocate, victims written into the next level), and a brute-force
// reference model written here - one MRU-ordered list per set - that a long
// pseudo-random sequence is checked against access by access.
#include <gtest/gtest.h>

#include <cstdint>
#include <list>
#include <stdexcept>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/cache.h"
#include "models/memory/memory_controller.h"
#include "models/memory/memory_hierarchy.h"
#include "tests/support/stat_values.h"

namespace mmusim {
namespace {

CacheGeometry geom(std::uint64_t size, unsigned ways, unsigned line = 64) {
  CacheGeometry g;
  g.size_bytes = size;
  g.ways = ways;
  g.line_bytes = line;
  return g;
}

// ---------------------------------------------------------------- by hand

TEST(Cache, HandSequenceLruWriteBackWriteAllocate) {
  // 2 sets x 2 ways of 64-byte lines: line L lives in set L % 2.
  StatGroup s("c");
  Cache c(geom(256, 2), s);
  auto line = [](std::uint64_t l) { return l * 64; };
  Cache::Result r;
  r = c.access(line(0), false, MemSource::Data);  // set 0: [0]
  EXPECT_FALSE(r.hit);
  EXPECT_FALSE(r.victim_dirty);
  r = c.access(line(2) + 8, true, MemSource::Data);  // write-allocate: [2*, 0]
  EXPECT_FALSE(r.hit);
  EXPECT_TRUE(c.is_dirty(line(2)));
  r = c.access(line(0) + 63, false, MemSource::Data);  // same line: hit, [0, 2*]
  EXPECT_TRUE(r.hit);
  r = c.access(line(4), false, MemSource::Data);  // LRU is 2 (dirty): written back; [4, 0]
  EXPECT_FALSE(r.hit);
  EXPECT_TRUE(r.victim_dirty);
  EXPECT_EQ(r.victim_addr, line(2));
  EXPECT_FALSE(c.contains(line(2)));
  r = c.access(line(0), true, MemSource::Walk);  // hit, now dirty: [0*, 4]
  EXPECT_TRUE(r.hit);
  r = c.access(line(6), false, MemSource::Data);  // evicts 4, clean: no write-back; [6, 0*]
  EXPECT_FALSE(r.hit);
  EXPECT_FALSE(r.victim_dirty);
  r = c.access(line(1), false, MemSource::Walk);  // set 1 is separate
  EXPECT_FALSE(r.hit);
  EXPECT_TRUE(c.contains(line(6)));
  EXPECT_TRUE(c.contains(line(0)));
  r = c.access(line(8), false, MemSource::Data);  // evicts 0 (dirty)
  EXPECT_TRUE(r.victim_dirty);
  EXPECT_EQ(r.victim_addr, line(0));

  EXPECT_EQ(stat_value(s, "data_hits"), 1u);
  EXPECT_EQ(stat_value(s, "data_misses"), 5u);
  EXPECT_EQ(stat_value(s, "walk_hits"), 1u);
  EXPECT_EQ(stat_value(s, "walk_misses"), 1u);
  EXPECT_EQ(stat_value(s, "hits"), 2u);
  EXPECT_EQ(stat_value(s, "misses"), 6u);
  EXPECT_EQ(stat_value(s, "writebacks"), 2u);
}

TEST(Cache, InvalidWaysFillBeforeAnyEviction) {
  StatGroup s("c");
  Cache c(geom(4 * 64, 4), s);  // one set, 4 ways
  for (std::uint64_t l = 0; l < 4; ++l) EXPECT_FALSE(c.access(l * 64, true, MemSource::Data).victim_dirty);
  for (std::uint64_t l = 0; l < 4; ++l) EXPECT_TRUE(c.contains(l * 64));
  EXPECT_EQ(stat_value(s, "writebacks"), 0u);
}

TEST(Cache, BadGeometryThrows) {
  StatGroup s("c");
  StatGroup s2("c2"), s3("c3");
  EXPECT_THROW(Cache c(geom(256, 2, 48), s), std::invalid_argument);  // line not a power of two
  EXPECT_THROW(Cache c(geom(3 * 64, 1), s2), std::invalid_argument);  // 3 sets
  EXPECT_THROW(Cache c(geom(256, 0), s3), std::invalid_argument);
}

// ---------------------------------------------------------------- brute force

// The reference: per set, a list of (line, dirty), most recently used first.
class ReferenceCache {
 public:
  ReferenceCache(std::uint64_t sets, unsigned ways, unsigned line)
      : m_sets(sets), m_ways(ways), m_line(line), m_lru(sets) {}
  Cache::Result access(std::uint64_t pa, bool write) {
    const std::uint64_t l = pa / m_line;
    auto& set = m_lru[l % m_sets];
    for (auto it = set.begin(); it != set.end(); ++it) {
      if (it->first == l) {
        std::pair<std::uint64_t, bool> e{l, it->second || write};
        set.erase(it);
        set.push_front(e);
        return Cache::Result{true, false, 0};
      }
    }
    Cache::Result r;
    if (set.size() == m_ways) {
      if (set.back().second) {
        r.victim_dirty = true;
        r.victim_addr = set.back().first * m_line;
      }
      set.pop_back();
    }
    set.push_front({l, write});
    return r;
  }

 private:
  std::uint64_t m_sets;
  unsigned m_ways, m_line;
  std::vector<std::list<std::pair<std::uint64_t, bool>>> m_lru;
};

struct Geo {
  std::uint64_t size;
  unsigned ways, line;
};

class CacheVsReference : public ::testing::TestWithParam<Geo> {};

TEST_P(CacheVsReference, EveryAccessAgrees) {
  const Geo g = GetParam();
  StatGroup s("c");
  Cache c(geom(g.size, g.ways, g.line), s);
  const std::uint64_t lines = g.size / g.line;
  ReferenceCache ref(lines / g.ways, g.ways, g.line);
  std::uint64_t x = 12345;
  std::uint64_t hits = 0, misses = 0, wbs = 0;
  for (int i = 0; i < 200000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    // Addresses over 4x the capacity, with a hot region a quarter of it.
    const std::uint64_t span = (x >> 60) < 8 ? g.size / 4 : g.size * 4;
    const std::uint64_t pa = (x >> 17) % span;
    const bool write = ((x >> 13) & 3) == 0;
    const Cache::Result want = ref.access(pa, write);
    const Cache::Result got = c.access(pa, write, MemSource::Data);
    ASSERT_EQ(got.hit, want.hit) << "access " << i;
    ASSERT_EQ(got.victim_dirty, want.victim_dirty) << "access " << i;
    if (want.victim_dirty) {
      ASSERT_EQ(got.victim_addr, want.victim_addr) << "access " << i;
    }
    (want.hit ? hits : misses)++;
    wbs += want.victim_dirty;
  }
  EXPECT_EQ(stat_value(s, "data_hits"), hits);
  EXPECT_EQ(stat_value(s, "data_misses"), misses);
  EXPECT_EQ(stat_value(s, "writebacks"), wbs);
  EXPECT_GT(hits, 0u);
  EXPECT_GT(wbs, 0u);
}

INSTANTIATE_TEST_SUITE_P(Geometries, CacheVsReference,
                         ::testing::Values(Geo{256, 2, 64}, Geo{4096, 4, 64}, Geo{8192, 8, 32}, Geo{2048, 32, 64},
                                           Geo{1024, 1, 64}, Geo{32768, 16, 128}));

// ---------------------------------------------------------------- hierarchy

struct Path {
  StatGroup root;
  MemoryController ctrl;
  MemoryHierarchy hier;
  static MemoryTiming fixed(Cycles lat) {
    MemoryTiming t;
    t.model = MemoryTiming::Model::Fixed;
    t.fixed_latency = lat;
    return t;
  }
  Path(std::vector<CacheLevelSpec> levels, Cycles mem)
      : ctrl(fixed(mem), root.group("memory")), hier(levels, ctrl, root.group("memory").group("cache")) {}
  std::uint64_t operator()(const char* p) const { return stat_value(root, p); }
};

CacheLevelSpec level(const char* name, std::uint64_t size, unsigned ways, Cycles lat) {
  CacheLevelSpec l;
  l.name = name;
  l.geometry = geom(size, ways);
  l.latency = lat;
  return l;
}

// Two cores' paths with a private L1 (4 cycles) and a shared L2 (10): the
// second core misses its own L1 but hits the line the first core brought
// into the shared L2; the first core hits its own L1. Statistics: each
// core's L1 under its private group, the L2 once under memory.cache.
TEST(MemoryHierarchy, PrivateLevelPerCoreSharedLevelOnce) {
  StatGroup root;
  MemoryController ctrl(Path::fixed(100), root.group("memory"));
  CacheLevelSpec l1 = level("l1", 64, 1, 4), l2 = level("l2", 128, 2, 10);
  l1.shared = false;
  StatGroup& shared = root.group("memory").group("cache");
  MemoryHierarchy c0({l1, l2}, ctrl, shared, nullptr, root.group("core0").group("memory").group("cache"));
  MemoryHierarchy c1({l1, l2}, ctrl, shared, &c0, root.group("core1").group("memory").group("cache"));
  EXPECT_EQ(&c0.cache(1), &c1.cache(1));
  EXPECT_NE(&c0.cache(0), &c1.cache(0));
  EXPECT_EQ(c0.access(0, false, MemSource::Data), 4u + 10u + 100u);
  EXPECT_EQ(c1.access(0, false, MemSource::Data), 4u + 10u);  // L2 hit
  EXPECT_EQ(c0.access(0, false, MemSource::Data), 4u);        // own L1 hit
  EXPECT_EQ(stat_value(root, "core0.memory.cache.l1.data_misses"), 1u);
  EXPECT_EQ(stat_value(root, "core0.memory.cache.l1.data_hits"), 1u);
  EXPECT_EQ(stat_value(root, "core1.memory.cache.l1.data_misses"), 1u);
  EXPECT_EQ(stat_value(root, "core1.memory.cache.l1.data_hits"), 0u);
  EXPECT_EQ(stat_value(root, "memory.cache.l2.data_misses"), 1u);
  EXPECT_EQ(stat_value(root, "memory.cache.l2.data_hits"), 1u);
  EXPECT_EQ(root.find("memory.cache.l1.data_hits"), nullptr);
  EXPECT_EQ(stat_value(root, "memory.reads"), 1u);
}

// Both levels shared: the second core's path is the first's caches, so it
// hits the L1 line the first core brought in.
TEST(MemoryHierarchy, SharedLevelsAreOneInstance) {
  StatGroup root;
  MemoryController ctrl(Path::fixed(100), root.group("memory"));
  const std::vector<CacheLevelSpec> levels{level("l1", 64, 1, 4), level("l2", 128, 2, 10)};
  StatGroup& shared = root.group("memory").group("cache");
  MemoryHierarchy c0(levels, ctrl, shared, nullptr, root.group("core0"));
  MemoryHierarchy c1(levels, ctrl, shared, &c0, root.group("core1"));
  EXPECT_EQ(c0.access(0, false, MemSource::Data), 114u);
  EXPECT_EQ(c1.access(0, false, MemSource::Data), 4u);
  EXPECT_EQ(stat_value(root, "memory.cache.l1.data_hits"), 1u);
}

// NUMA: two nodes, node 1's memory from 1 MiB. A demand fill from DRAM at
// another node's address adds remote_latency (50) to the fixed 100; hits and
// write-backs add nothing.
TEST(MemoryHierarchy, RemoteNodeFillPaysTheRemoteLatency) {
  Path p({level("l1", 64, 1, 4)}, 100);
  Counter *local = nullptr, *remote = nullptr;
  MemoryHierarchy::register_numa_stats(p.root.group("memory").group("numa"), &local, &remote);
  p.hier.set_numa({0, 1u << 20}, 50, *local, *remote);
  EXPECT_EQ(p.hier.node_of(0xFFFFF), 0u);
  EXPECT_EQ(p.hier.node_of(1u << 20), 1u);
  EXPECT_EQ(p.hier.access(0, false, MemSource::Data, 0), 4u + 100u);              // local fill
  EXPECT_EQ(p.hier.access(1u << 20, true, MemSource::Data, 0), 4u + 100u + 50u);  // remote fill, L1 [R*]
  EXPECT_EQ(p.hier.access(1u << 20, false, MemSource::Walk, 0), 4u);              // L1 hit
  // Node 1's core: its own memory is local; the dirty victim R* goes to
  // memory posted, without latency.
  EXPECT_EQ(p.hier.access((1u << 20) + 64, false, MemSource::Data, 1), 4u + 100u);
  EXPECT_EQ(p("memory.numa.local_accesses"), 2u);
  EXPECT_EQ(p("memory.numa.remote_accesses"), 1u);
  EXPECT_EQ(p("memory.writes"), 1u);
}

// Without caches every access is a fill.
TEST(MemoryHierarchy, RemoteLatencyWithoutCaches) {
  Path p({}, 80);
  Counter *local = nullptr, *remote = nullptr;
  MemoryHierarchy::register_numa_stats(p.root.group("memory").group("numa"), &local, &remote);
  p.hier.set_numa({0, 4096, 8192}, 80, *local, *remote);
  EXPECT_EQ(p.hier.access(100, false, MemSource::Data, 0), 80u);
  EXPECT_EQ(p.hier.access(5000, false, MemSource::Data, 0), 160u);  // node 1 from node 0
  EXPECT_EQ(p.hier.access(9000, false, MemSource::Walk, 2), 80u);   // node 2, its own
  EXPECT_EQ(p.hier.access(100, false, MemSource::Walk, 2), 160u);
  EXPECT_EQ(p("memory.numa.remote_accesses"), 2u);
}

TEST(MemoryHierarchy, HandSequenceTwoLevels) {
  // L1: one line (latency 4). L2: one set of two lines (latency 10). Memory: 100.
  Path p({level("l1", 64, 1, 4), level("l2", 128, 2, 10)}, 100);
  const PAddr A = 0, B = 64, C = 128, D = 192;
  EXPECT_EQ(p.hier.access(A + 8, true, MemSource::Data), 114u);  // L1 [A*], L2 [A]
  EXPECT_EQ(p.hier.access(B, false, MemSource::Data), 114u);     // L1 [B]; L2 [B, A] then A* written in: [A*, B]
  EXPECT_EQ(p("memory.cache.l1.writebacks"), 1u);
  EXPECT_EQ(p("memory.cache.l2.wb_in_hits"), 1u);
  EXPECT_TRUE(p.hier.cache(1).is_dirty(A));
  EXPECT_EQ(p.hier.access(C, false, MemSource::Data), 114u);  // L2 evicts B (clean): [C, A*]
  EXPECT_EQ(p("memory.writes"), 0u);
  EXPECT_EQ(p.hier.access(D, false, MemSource::Data), 114u);  // L2 evicts A*: a write to memory
  EXPECT_EQ(p("memory.writes"), 1u);
  EXPECT_EQ(p("memory.reads"), 4u);
  EXPECT_EQ(p("memory.cache.l2.writebacks"), 1u);
  EXPECT_EQ(p.hier.access(C, false, MemSource::Walk), 14u);  // L1 miss, L2 hit
  EXPECT_EQ(p.hier.access(C, false, MemSource::Walk), 4u);   // L1 hit
  EXPECT_EQ(p("memory.cache.l1.walk_misses"), 1u);
  EXPECT_EQ(p("memory.cache.l1.walk_hits"), 1u);
  EXPECT_EQ(p("memory.cache.l2.walk_hits"), 1u);
  EXPECT_EQ(p("memory.cache.l1.data_misses"), 4u);
  EXPECT_EQ(p("memory.cache.l2.data_misses"), 4u);
  EXPECT_EQ(p("memory.cache.l2.data_hits"), 0u);
  EXPECT_EQ(p("memory.reads"), 4u);
}

TEST(MemoryHierarchy, NoLevelsGoesStraightToTheController) {
  Path p({}, 100);
  EXPECT_FALSE(p.hier.has_caches());
  EXPECT_EQ(p.hier.access(8, true, MemSource::Walk), 100u);
  EXPECT_EQ(p.hier.access(8, false, MemSource::Walk), 100u);
  EXPECT_EQ(p("memory.reads"), 1u);
  EXPECT_EQ(p("memory.writes"), 1u);
}

TEST(MemoryHierarchy, PageTableEntriesCompeteWithData) {
  // One-line L1: a walk reference evicts the data line, and the data access misses again.
  Path p({level("l1", 64, 1, 2)}, 50);
  EXPECT_EQ(p.hier.access(0x1000, false, MemSource::Data), 52u);
  EXPECT_EQ(p.hier.access(0x1000, false, MemSource::Data), 2u);
  EXPECT_EQ(p.hier.access(0x9008, false, MemSource::Walk), 52u);
  EXPECT_EQ(p.hier.access(0x1000, false, MemSource::Data), 52u);
}

TEST(MemoryHierarchy, DirtyVictimQueuedWithTheFillFrFcfs) {
  // One-line cache (latency 1) over DRAM: 1 channel, 4 banks, 1 KiB rows,
  // tRCD 11, tCL 13, tRP 17, tBURST 3; address = row * 4096 + bank * 1024.
  StatGroup root;
  MemoryTiming t;
  t.model = MemoryTiming::Model::Dram;
  t.channels = 1;
  t.banks = 4;
  t.row_bytes = 1024;
  t.tRCD = 11;
  t.tCL = 13;
  t.tRP = 17;
  t.tBURST = 3;
  MemoryController ctrl(t, root.group("memory"));
  MemoryHierarchy h({level("l1", 64, 1, 1)}, ctrl, root.group("memory").group("cache"));
  // A store to row 5 of bank 0: miss, the fill opens the row: 1 + tRCD + tCL + tBURST.
  EXPECT_EQ(h.access(5 * 4096, true, MemSource::Data), 1u + 11 + 13 + 3);
  // A load from row 7 of bank 0 evicts the dirty line of row 5. Queue: the
  // fill (row 7, a conflict) and the write-back (row 5, open: a hit). FR-FCFS
  // serves the write-back first (tCL + tBURST = 16), then the fill
  // (tRP + tRCD + tCL + tBURST = 44): 1 + 60.
  EXPECT_EQ(h.access(7 * 4096, false, MemSource::Walk), 1u + 16 + 44);
  EXPECT_EQ(ctrl.last_order(), (std::vector<std::size_t>{1, 0}));
  EXPECT_EQ(stat_value(root, "memory.writes"), 1u);
  EXPECT_EQ(stat_value(root, "memory.reads"), 2u);
  EXPECT_EQ(stat_value(root, "memory.row_hits"), 1u);
  EXPECT_EQ(stat_value(root, "memory.row_conflicts"), 1u);
}

TEST(MemoryHierarchy, DifferentLineSizesRejected) {
  CacheLevelSpec a = level("l1", 1024, 2, 1);
  CacheLevelSpec b = level("l2", 4096, 4, 5);
  b.geometry.line_bytes = 128;
  StatGroup root;
  MemoryController ctrl(Path::fixed(1), root.group("memory"));
  EXPECT_THROW(MemoryHierarchy({a, b}, ctrl, root.group("c")), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim
