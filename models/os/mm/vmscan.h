// Page reclaim and compaction, after mm/vmscan.c and mm/compaction.c:
//  - LRU lists: inactive/active x anon/file. A newly faulted page goes to the
//    head of its inactive list (as since Linux 5.9 for anon pages). Anon
//    pages are those of anonymous VMAs and of writable file VMAs (private
//    file pages that may be dirty); file pages are those of read-only file
//    VMAs, which stay clean.
//  - Aging (shrink_active_list): the tail of an active list is moved to
//    the head of its inactive list, its PTE's accessed bit cleared
//    (folio_referenced); a referenced file page of an executable mapping
//    goes round the active list again. The inactive tail is examined
//    (shrink_inactive_list -> folio_check_references): a young page is
//    marked PG_referenced and kept, activated if it was marked already or
//    is an executable file page; else it is reclaimed. As on x86, clearing
//    A flushes no TLB entry.
//  - shrink_node (vmscan_shrink.cpp): prepare_scan_count and
//    get_scan_count (scan_count.h) decide, per priority, how many pages of
//    each list one shrink_lruvec() pass scans, in SWAP_CLUSTER_MAX batches;
//    an active list is aged only when inactive_is_low() (int_sqrt(10 * gb)
//    ratio) or with force_deactivate; anon lists are not scanned without
//    free swap space. lru_note_cost() counts pages written to swap as the
//    anon cost, with its decay.
//  - Reclaiming an anon page writes it to a swap slot (pswpout) and leaves a
//    swap PTE that keeps the slot; a clean file page is dropped, its PTE
//    keeping a marker so that the refault is a major fault (the file content
//    is zeros in this model, as the page was when first faulted). The TLB
//    entry is shot down as try_to_unmap does.
//  - Direct reclaim (do_try_to_free_pages): shrink_node at priorities 12
//    down to 0 until nr_to_reclaim (SWAP_CLUSTER_MAX) pages are freed,
//    once more with force_deactivate if nothing was freed and an active
//    list was skipped; charged to the fault at os.swap.latency per page
//    written.
//  - kswapd (wakeup_kswapd, balance_pgdat, kswapd_shrink_node,
//    pgdat_balanced): woken by the page allocator below the low watermark
//    and run at once (its cost not charged to the faulting process); it
//    runs only if some node is unbalanced (no zone up to the request's
//    highest meets its high watermark with lowmem_reserve) and it failed
//    fewer than MAX_RECLAIM_RETRIES times in a row; from priority 12 down
//    to 1 it ages the anon list, then reclaims nr_to_reclaim = the sum of
//    max(high watermark, SWAP_CLUSTER_MAX) over the zones, raising the
//    priority only when a pass scanned less than that or freed nothing,
//    until every node is balanced.
//  - shrink_slab: the huge zero page's shrinker frees it when unused.
//  - Direct compaction for a madvised order-9 fault (compaction.cpp).
//  - vmstat: the counters of /proc/vmstat this model keeps.
// Left out: frames shared copy-on-write are not reclaimed (no reverse map
// walk over several mappers), nor 2 MiB pages (Linux splits them first),
// nor page-table pages; no workingset refault detection (no refault cost in
// get_scan_count), no per-memcg or per-node LRUs (one set of lists for all
// nodes: one kswapd balances every node), no writeback throttling, no
// watermark boosting, no reclaim_idx limit on the pages scanned.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/mm/scan_count.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"
#include "models/os/zone.h"

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
  // wakeup_kswapd() for a request of 2^order pages whose highest zone is
  // `highest`, and kswapd's balance_pgdat(), run at once.
  void wake_kswapd(unsigned order = 0, ZoneType highest = ZoneType::HighMem);
  void count_allocstall() { ++m_vm.allocstall; }
  // do_try_to_free_pages() with nr_to_reclaim = nr: returns the pages
  // freed (a SWAP_CLUSTER_MAX batch may free more than nr). Counted as
  // kswapd's unless direct.
  std::uint64_t reclaim(std::uint64_t nr, bool direct);
  // kswapd_failures (balance_pgdat runs that freed nothing).
  unsigned kswapd_failures() const { return m_kswapd_failures; }
  // lruvec->anon_cost and file_cost.
  std::uint64_t anon_cost() const { return m_anon_cost; }
  std::uint64_t file_cost() const { return m_file_cost; }
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
  struct ScanControl : vmscan::ScanBalance {
    std::uint64_t nr_to_reclaim = 0, nr_reclaimed = 0, nr_scanned = 0;
    unsigned order = 0;
    bool direct = false;
    bool skipped_deactivate = false;
  };
  vmscan::LruCounts lru_counts() const;
  bool pgdat_balanced(unsigned order, ZoneType highest) const;
  void shrink_node(ScanControl& sc);
  void shrink_lruvec(ScanControl& sc);
  void shrink_active_list(std::uint64_t nr, unsigned lru, ScanControl& sc);
  std::uint64_t shrink_inactive_list(std::uint64_t nr, unsigned lru, ScanControl& sc);
  void lru_note_cost(bool file, std::uint64_t nr_pages);
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
  std::uint64_t m_anon_cost = 0, m_file_cost = 0;
  unsigned m_kswapd_failures = 0;
  Cycles m_cost = 0;
  bool m_in_reclaim = false;
  VmStat m_vm;
};

}  // namespace mmusim
