// Page reclaim and compaction, after mm/vmscan.c and mm/compaction.c:
//  - LRU lists: inactive/active x anon/file. A newly faulted page goes to the
//    head of its inactive list (as since Linux 5.9 for anon pages). Anon
//    pages are those of anonymous VMAs and of writable file VMAs (private
//    file pages that may be dirty); file pages are those of read-only file
//    VMAs, which stay clean.
//  - Aging (shrink_active_list / shrink_inactive_list): when an inactive
//    list is smaller than its active list, the active tail is deactivated
//    and its PTE's accessed bit cleared; the inactive tail is then examined
//    (folio_check_references): a young page is marked PG_referenced and kept,
//    activated if it was marked already or is an executable file page; else
//    it is reclaimed. As on x86, clearing A flushes no TLB entry.
//  - Anon vs file (get_scan_count): successive scans alternate in the ratio
//    swappiness : 200 - swappiness; anon lists are not scanned without free
//    swap space.
//  - Reclaiming an anon page writes it to a swap slot (pswpout) and leaves a
//    swap PTE that keeps the slot; a clean file page is dropped, its PTE
//    keeping a marker so that the refault is a major fault (the file content
//    is zeros in this model, as the page was when first faulted). The TLB
//    entry is shot down as try_to_unmap does.
//  - kswapd (woken by the page allocator below the low watermark, run here
//    at once, its cost not charged to the faulting process) reclaims until
//    every zone is at its high watermark; direct reclaim is charged to the
//    fault at os.swap.latency per page written.
//  - shrink_slab: the huge zero page's shrinker frees it when unused.
//  - Direct compaction for a madvised order-9 fault (compaction.cpp).
//  - vmstat: the counters of /proc/vmstat this model keeps.
// Left out: frames shared copy-on-write are not reclaimed (no reverse map
// walk over several mappers), nor 2 MiB pages (Linux splits them first),
// nor page-table pages; no workingset refault detection, no per-memcg or
// per-node LRUs (one set of lists for all nodes), no writeback throttling.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class PageAllocator;
class Rmap;
class SwapSpace;
class Tasks;
class AsidManager;
class KernelSpace;
class Thp;
class PageCache;

class Reclaim {
 public:
  enum LruList : unsigned { kInactiveAnon, kActiveAnon, kInactiveFile, kActiveFile };
  struct LruPage {
    std::uint64_t pfn;
    std::uint32_t pid;
    VAddr va;
    bool referenced = false;  // PG_referenced (folio_check_references)
  };
  struct VmStat {
    std::uint64_t pswpin = 0, pswpout = 0, pgscan_kswapd = 0, pgscan_direct = 0, pgsteal_kswapd = 0, pgsteal_direct = 0,
                  allocstall = 0, kswapd_wakeups = 0, pgactivate = 0, pgdeactivate = 0, pgrefault_file = 0,
                  compact_stall = 0, compact_success = 0, compact_fail = 0, pgmigrate_success = 0;
  };
  // Counters of other parts that /proc/vmstat shows too.
  struct VmEvents {
    const Counter* pgfault;
    const Counter* pgmajfault;
    const Counter* thp_fault_alloc;
    const Counter* thp_fault_fallback;
    const Counter* oom_kill;
  };

  Reclaim(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, Rmap& rmap, SwapSpace& swap,
          Tasks& tasks, AsidManager& asids, KernelSpace& kspace, Thp& thp);

  // os.swap.*, os.lru.*, os.vmstat.*.
  void register_stats(StatGroup& os, const VmEvents& ev);

  // The LRU lists.
  void lru_add(std::uint64_t pfn, const Process& p, VAddr va, const Vma& v);
  void lru_del(std::uint64_t pfn);
  void lru_set_owner(std::uint64_t pfn, const Process& p, VAddr va);
  // A page-cache page (models/os/mm/filemap.h): the inactive file list, no
  // owner; reclaim asks the page cache for its mappings.
  void set_page_cache(PageCache* cache) { m_cache = cache; }
  void lru_add_file(std::uint64_t pfn);
  // The list holding pfn, -1 if none.
  int lru_of(std::uint64_t pfn) const {
    auto it = m_index.find(pfn);
    return it == m_index.end() ? -1 : static_cast<int>(it->second.first);
  }
  std::uint64_t lru_size(LruList l) const { return m_lru[l].size(); }
  bool on_lru(std::uint64_t pfn) const { return m_index.count(pfn) != 0; }
  template <class F>
  void for_each_lru_pfn(F f) const {
    for (const auto& kv : m_index) f(kv.first);
  }

  // The page allocator's calls: reclaim runs (its own allocations then use
  // the reserves); wake kswapd; an allocation entering direct reclaim.
  bool in_reclaim() const { return m_in_reclaim; }
  void wake_kswapd();
  void count_allocstall() { ++m_vm.allocstall; }
  // Reclaims up to nr pages (shrink_node); returns how many were freed.
  std::uint64_t reclaim(std::uint64_t nr, bool direct);
  // Direct compaction for an order-9 request: true when a free 2 MiB block was made.
  bool compact_for_order9();

  // Direct reclaim's swap-write cycles during the current fault.
  void reset_cost() { m_cost = 0; }
  Cycles take_cost() {
    const Cycles c = m_cost;
    m_cost = 0;
    return c;
  }
  VmStat& vm() { return m_vm; }

 private:
  bool reclaim_page(const LruPage& pg, bool anon, bool direct);
  bool reclaim_cached_page(const LruPage& pg, bool direct);

  const OsParams& m_p;
  PhysicalMemory& m_mem;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  Rmap& m_rmap;
  SwapSpace& m_swap;
  Tasks& m_tasks;
  AsidManager& m_asids;
  KernelSpace& m_kspace;
  Thp& m_thp;
  PageCache* m_cache = nullptr;
  std::array<std::list<LruPage>, 4> m_lru;
  std::unordered_map<std::uint64_t, std::pair<unsigned, std::list<LruPage>::iterator>> m_index;
  std::uint64_t m_anon_credit = 0, m_file_credit = 0;
  Cycles m_cost = 0;
  bool m_in_reclaim = false;
  VmStat m_vm;
};

}  // namespace mmusim
