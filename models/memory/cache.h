// One level of the physical cache hierarchy: set-associative, write-back,
// write-allocate, LRU replacement. Tags only - the bytes stay in
// PhysicalMemory (the trace carries no data values and page-table bytes are
// read from PhysicalMemory), so a cache decides hits, misses, dirtiness and
// victims, never contents.
//
// Organisation (as in Hennessy & Patterson, "Computer Architecture", 6th ed.,
// appendix B, and the physically indexed, physically tagged caches of Intel
// SDM Vol. 3A 11.1): line = pa / line_bytes, set = line mod sets, tag = the
// whole line number. A lookup that misses allocates the line (write-allocate
// for stores too), evicting the least recently used line of the set, invalid
// ways first (lowest way first); the victim is reported with its dirtiness so
// the hierarchy can write it back. A write marks the line dirty (write-back:
// nothing goes down until the line is evicted). Every access - hit or fill -
// makes the line the most recently used.
//
// Statistics (group memory.cache.<name>): demand hits and misses split by
// source - "data" (the trace's own loads, stores, fetches) and "walk" (the
// page walker's entry reads and accessed/dirty writes) - so the pressure of
// page-table entries on the caches shows; write-backs received from the
// level above are counted apart (wb_in_hits, wb_in_misses) and never as
// demand; writebacks counts dirty lines this cache evicted.
//
// Timing is not here: the hierarchy (MemoryHierarchy) adds each probed
// level's latency.
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

struct CacheGeometry {
  std::uint64_t size_bytes = 32768;
  unsigned ways = 8;
  unsigned line_bytes = 64;
};

// Who made a request: the trace's data access, the page walker, or a
// write-back from the level above.
enum class MemSource : std::uint8_t { Data = 0, Walk = 1, WriteBack = 2 };

class Cache {
 public:
  struct Result {
    bool hit = false;
    bool victim_dirty = false;  // a dirty line was evicted: write it back
    PAddr victim_addr = 0;      // its first byte (valid when victim_dirty)
  };

  // Throws std::invalid_argument unless sets and line_bytes are powers of
  // two and ways divides the lines (config validation catches it first).
  Cache(const CacheGeometry& g, StatGroup& stats);

  // Looks pa's line up; on a miss allocates it (write-allocate). write marks
  // it dirty. Counted under src.
  Result access(PAddr pa, bool write, MemSource src);

  // For tests: is pa's line present / dirty (no state change).
  bool contains(PAddr pa) const;
  bool is_dirty(PAddr pa) const;
  const CacheGeometry& geometry() const { return m_g; }

 private:
  static constexpr std::uint64_t kInvalid = ~std::uint64_t{0};
  CacheGeometry m_g;
  unsigned m_line_shift;
  std::uint64_t m_set_mask;
  unsigned m_ways;
  std::vector<std::uint64_t> m_tag;    // line number, kInvalid when empty; [set * ways + way]
  std::vector<std::uint64_t> m_stamp;  // last use (LRU)
  std::vector<std::uint8_t> m_dirty;
  std::uint64_t m_clock = 0;
  Counter* m_hits[3];
  Counter* m_misses[3];
  Counter& m_writebacks;
};

}  // namespace mmusim
