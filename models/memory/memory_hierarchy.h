// The physical memory path: the cache levels of memory.caches (level 1
// first), then the memory controller. Both the trace's data accesses and the
// page walker's references come through here, so page-table entries compete
// with data for cache space, as on real cores (the paging-structure entries
// are cached in the ordinary data caches: Intel SDM Vol. 3A 4.10.3 and 11.1).
//
// An access probes level 1, 2, ... until one hits, paying each probed level's
// latency (serial lookup); a miss in every level adds the controller's
// latency for the line fill. Every level that missed allocates the line
// (fill on the way back; the hierarchy is neither inclusive nor exclusive -
// no back-invalidation). A write marks the level-1 line dirty (write-back,
// write-allocate; a store pays the same latency as a load: no store buffer).
// A dirty victim of level k is written into level k+1 (a write that
// allocates there if absent, and may evict in turn; victims go down after the
// demand's lookups, level 1's first) or, from the last level,
// queued at the controller together with the demand fill, where FR-FCFS may
// serve it first (memory_controller.h). Write-backs cost the access no
// latency of their own.
//
// An access that straddles a line boundary touches each line it covers;
// the lines are looked up in parallel, so the access takes the longest
// latency (replay side; see Replay). With no levels, every access goes
// straight to the controller - exactly the behaviour without caches.
//
// NUMA (set_numa, with os.numa_nodes > 1): physical memory is split among
// the nodes as the OS model splits it (node i from node_start[i]); an
// access made by a core of node n that reaches DRAM (the demand fill) at
// another node's address pays memory.controller.remote_latency on top
// (write-backs stay posted, without latency).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/memory/cache.h"
#include "models/memory/memory_controller.h"

namespace mmusim {

struct CacheLevelSpec {
  std::string name;  // statistics group memory.cache.<name>
  CacheGeometry geometry;
  Cycles latency = 4;
  bool shared = true;  // with several cores: one instance for all (memory.caches.<name>.shared)
};

class MemoryHierarchy {
 public:
  // cache_stats: the group the levels register under (memory.cache).
  MemoryHierarchy(const std::vector<CacheLevelSpec>& levels, MemoryController& ctrl, StatGroup& cache_stats);
  // One core's path when some level is private (shared false): the shared
  // levels are those of `first` (nullptr: this is the first core's path and
  // creates them under cache_stats), the private ones are this path's own,
  // registered under private_stats.<name>.
  MemoryHierarchy(const std::vector<CacheLevelSpec>& levels, MemoryController& ctrl, StatGroup& cache_stats,
                  const MemoryHierarchy* first, StatGroup& private_stats);

  // Latency of one access of at most a line at pa, by a core of NUMA node
  // `node`.
  Cycles access(PAddr pa, bool is_write, MemSource src, unsigned node = 0);
  // Node i's memory starts at node_start[i] (node_start[0] = 0, ascending);
  // local and remote count the DRAM demand fills by locality (one pair for
  // every core's path: register_numa_stats makes them, memory.numa.*).
  static void register_numa_stats(StatGroup& stats, Counter** local, Counter** remote);
  void set_numa(const std::vector<PAddr>& node_start, Cycles remote_latency, Counter& local, Counter& remote);
  unsigned node_of(PAddr pa) const;

  bool has_caches() const { return !m_levels.empty(); }
  unsigned line_bytes() const { return m_line_bytes; }
  std::size_t num_levels() const { return m_levels.size(); }
  const Cache& cache(std::size_t i) const { return *m_levels[i].cache; }

 private:
  struct Level {
    std::shared_ptr<Cache> cache;  // shared by the cores' paths with shared: true
    Cycles latency;
  };
  // Writes a dirty victim into level k (k == levels: queue it at memory).
  void write_back(std::size_t k, PAddr pa);

  // The demand fill's NUMA surcharge.
  Cycles remote(PAddr pa, unsigned node);

  std::vector<Level> m_levels;
  MemoryController& m_ctrl;
  std::vector<PAddr> m_node_start;  // empty: one node
  Cycles m_remote_latency = 0;
  Counter* m_local = nullptr;
  Counter* m_remote = nullptr;
  unsigned m_line_bytes = 64;
  std::vector<MemRequest> m_queue;                       // the demand fill, then write-backs to memory
  std::vector<std::pair<std::size_t, PAddr>> m_victims;  // (level to write into, line)
};

}  // namespace mmusim
