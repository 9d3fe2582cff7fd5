// Reclaim: the scan loops of mm/vmscan.c (Linux 6.1) - wakeup_kswapd,
// balance_pgdat, kswapd_age_node, kswapd_shrink_node, pgdat_balanced,
// do_try_to_free_pages, shrink_node, shrink_lruvec, shrink_list,
// shrink_active_list, shrink_inactive_list - and lru_note_cost (mm/swap.c).
// The balance arithmetic is in scan_count.cpp, the per-page decisions
// (folio_check_references, swap-out) in vmscan.cpp.
#include <algorithm>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/swap_space.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

using vmscan::kDefPriority;
using vmscan::kSwapClusterMax;

vmscan::LruCounts Reclaim::lru_counts() const {
  return {m_lru[kInactiveAnon].size(), m_lru[kActiveAnon].size(), m_lru[kInactiveFile].size(),
          m_lru[kActiveFile].size()};
}

bool Reclaim::pgdat_balanced(unsigned order, ZoneType highest) const {
  // pgdat_balanced(): a node is balanced when one of its managed zones up
  // to highest_zoneidx, bottom-up, meets its high watermark
  // (zone_watermark_ok_safe with lowmem_reserve[highest_zoneidx]); a node
  // without such a zone needs no balancing. One kswapd here balances every
  // node (one set of LRU lists).
  const auto& zones = m_alloc.buddy().zones();
  for (unsigned node = 0; node < m_alloc.buddy().nodes(); ++node) {
    bool any = false, ok = false;
    for (const Zone& z : zones) {
      if (z.node != node || !z.managed_pages || static_cast<unsigned>(z.type) > static_cast<unsigned>(highest))
        continue;
      any = true;
      if (z.watermark_ok(order, Watermark::High, highest)) {
        ok = true;
        break;
      }
    }
    if (any && !ok) return false;
  }
  return true;
}

void Reclaim::lru_note_cost(bool file, std::uint64_t nr_pages) {
  // lru_note_cost() (mm/swap.c): the cost, then "Decay previous events"
  // when it exceeds a quarter of the LRU pages.
  (file ? m_file_cost : m_anon_cost) += nr_pages;
  const vmscan::LruCounts n = lru_counts();
  const std::uint64_t lrusize = n[0] + n[1] + n[2] + n[3];
  if (m_file_cost + m_anon_cost > lrusize / 4) {
    m_file_cost /= 2;
    m_anon_cost /= 2;
  }
}

void Reclaim::shrink_active_list(std::uint64_t nr, unsigned l, ScanControl&) {
  const bool file = l == kActiveFile;
  const unsigned inactive_l = file ? kInactiveFile : kInactiveAnon;
  // isolate_lru_folios(): up to nr pages from the tail.
  std::vector<LruPage> taken;
  for (auto it = m_lru[l].rbegin(); it != m_lru[l].rend() && taken.size() < nr; ++it) taken.push_back(*it);
  for (const LruPage& pg : taken) {
    // folio_referenced(): count and clear the young bits of the mapping.
    bool referenced = false, exec = false;
    if (m_cache && m_cache->cached(pg.pfn)) {
      // A page-cache page: folio_referenced() walks every mapping of the file.
      const PageCache::Refs refs = m_cache->referenced(pg.pfn);
      referenced = refs.young > 0;
      exec = refs.exec;
    } else if (Process* owner = m_tasks.find(pg.pid); owner && owner->alive) {
      PAddr epa = 0;
      const std::uint64_t e = m_pt.entry_at(*owner, pg.va, 1, &epa);
      if (epa) m_pt.pte_map(epa & ~(kPageBytes - 1));  // folio_referenced's rmap walk maps the table
      if (epa && (e & pte::kA)) {
        m_pt.wr(epa, e & ~pte::kA);
        referenced = true;
      }
      const Vma* v = find_vma(*owner, pg.va);
      exec = v && (v->prot & kProtExec);
    }
    auto it = m_index.find(pg.pfn);
    const LruPage moved = *it->second.second;
    m_lru[l].erase(it->second.second);
    if (referenced && exec && file) {
      // "give them one more trip around the active list"
      m_lru[l].push_front(moved);
      it->second = {l, m_lru[l].begin()};
      continue;
    }
    m_lru[inactive_l].push_front(moved);
    it->second = {inactive_l, m_lru[inactive_l].begin()};
    ++m_vm.pgdeactivate;
  }
}

std::uint64_t Reclaim::shrink_inactive_list(std::uint64_t nr, unsigned l, ScanControl& sc) {
  const bool anon = l == kInactiveAnon;
  std::vector<LruPage> taken;
  for (auto it = m_lru[l].rbegin(); it != m_lru[l].rend() && taken.size() < nr; ++it) taken.push_back(*it);
  // shrink_folio_list(): each isolated page once.
  std::uint64_t reclaimed = 0;
  for (const LruPage& pg : taken) {
    if (!on_lru(pg.pfn)) continue;
    ++sc.nr_scanned;
    ++(sc.direct ? m_vm.pgscan_direct : m_vm.pgscan_kswapd);
    if (reclaim_page(pg, anon, sc.direct)) {
      ++reclaimed;
      ++(sc.direct ? m_vm.pgsteal_direct : m_vm.pgsteal_kswapd);
    }
  }
  // "lru_note_cost(lruvec, file, stat.nr_pageout)": an anon page reclaimed
  // was written to swap; a clean file page is dropped without a write.
  if (anon && reclaimed) lru_note_cost(false, reclaimed);
  return reclaimed;
}

void Reclaim::shrink_lruvec(ScanControl& sc) {
  vmscan::LruCounts nr = vmscan::get_scan_count(lru_counts(), sc);
  const vmscan::LruCounts targets = nr;
  const bool proportional_reclaim = sc.direct && sc.priority == kDefPriority;
  std::uint64_t nr_reclaimed = 0;
  while (nr[kInactiveAnon] || nr[kActiveFile] || nr[kInactiveFile]) {
    for (unsigned l = 0; l < 4; ++l) {
      if (!nr[l]) continue;
      const std::uint64_t nr_to_scan = std::min(nr[l], kSwapClusterMax);
      nr[l] -= nr_to_scan;
      // shrink_list()
      if (l == kActiveAnon || l == kActiveFile) {
        if (sc.may_deactivate & (l == kActiveFile ? vmscan::kDeactivateFile : vmscan::kDeactivateAnon))
          shrink_active_list(nr_to_scan, l, sc);
        else sc.skipped_deactivate = true;
      } else {
        nr_reclaimed += shrink_inactive_list(nr_to_scan, l, sc);
      }
    }
    if (nr_reclaimed < sc.nr_to_reclaim || proportional_reclaim) continue;
    // "Ensure that the anon and file LRUs are scanned proportionally what
    // was requested by get_scan_count()".
    const std::uint64_t nr_file = nr[kInactiveFile] + nr[kActiveFile];
    const std::uint64_t nr_anon = nr[kInactiveAnon] + nr[kActiveAnon];
    if (!nr_file || !nr_anon) break;
    unsigned lru;
    std::uint64_t percentage;
    if (nr_file > nr_anon) {
      const std::uint64_t scan_target = targets[kInactiveAnon] + targets[kActiveAnon] + 1;
      lru = kInactiveAnon;
      percentage = nr_anon * 100 / scan_target;
    } else {
      const std::uint64_t scan_target = targets[kInactiveFile] + targets[kActiveFile] + 1;
      lru = kInactiveFile;
      percentage = nr_file * 100 / scan_target;
    }
    nr[lru] = 0;
    nr[lru + 1] = 0;
    lru = lru == kInactiveFile ? kInactiveAnon : kInactiveFile;
    for (unsigned k = lru; k <= lru + 1; ++k) {
      const std::uint64_t nr_scanned = targets[k] - nr[k];
      nr[k] = targets[k] * (100 - percentage) / 100;
      nr[k] -= std::min(nr[k], nr_scanned);
    }
  }
  sc.nr_reclaimed += nr_reclaimed;
  // "Even if we did not try to evict anon pages at all, we want to
  // rebalance the anon lru active/inactive ratio" (can_age_anon_pages:
  // total_swap_pages > 0).
  const SwapDevice* dev = m_swap.device();
  if (dev && dev->usable_slots() && vmscan::inactive_is_low(m_lru[kInactiveAnon].size(), m_lru[kActiveAnon].size()))
    shrink_active_list(kSwapClusterMax, kActiveAnon, sc);
}

void Reclaim::shrink_node(ScanControl& sc) {
  // shrink_slab(): the huge zero page's shrinker frees it if unused (its
  // pages are not counted as reclaimed).
  m_thp.shrink_huge_zero_page();
  const SwapDevice* dev = m_swap.device();
  sc.swappiness = m_p.swappiness;
  sc.can_reclaim_anon = dev && dev->free_slots() > 0;  // get_nr_swap_pages() > 0
  sc.anon_cost = m_anon_cost;
  sc.file_cost = m_file_cost;
  std::uint64_t total_high_wmark = 0;
  for (const Zone& z : m_alloc.buddy().zones())
    if (z.managed_pages) total_high_wmark += z.wmark_high;
  vmscan::prepare_scan_count(lru_counts(), m_alloc.buddy().free_pages(), total_high_wmark, sc);
  const std::uint64_t before = sc.nr_reclaimed;
  shrink_lruvec(sc);
  if (sc.nr_reclaimed != before) m_kswapd_failures = 0;  // "if (reclaimable) pgdat->kswapd_failures = 0"
}

std::uint64_t Reclaim::reclaim(std::uint64_t nr, bool direct) {
  if (m_in_reclaim) return 0;
  m_in_reclaim = true;
  ScanControl sc;
  sc.nr_to_reclaim = nr;
  sc.direct = direct;
  // do_try_to_free_pages(): priorities DEF_PRIORITY down to 0 until enough
  // is freed; if nothing was and an active list was skipped, once more
  // with force_deactivate.
  for (;;) {
    sc.priority = kDefPriority;
    do {
      sc.nr_scanned = 0;
      shrink_node(sc);
      if (sc.nr_reclaimed >= sc.nr_to_reclaim) break;
    } while (--sc.priority >= 0);
    if (sc.nr_reclaimed || !sc.skipped_deactivate || sc.force_deactivate) break;
    sc.force_deactivate = true;
    sc.skipped_deactivate = false;
  }
  m_in_reclaim = false;
  return sc.nr_reclaimed;
}

void Reclaim::wake_kswapd(unsigned order, ZoneType highest) {
  ++m_vm.kswapd_wakeups;
  // wakeup_kswapd(): "Hopeless node, leave it to direct reclaim if
  // possible", or nothing to do.
  if (m_in_reclaim || m_kswapd_failures >= vmscan::kMaxReclaimRetries || pgdat_balanced(order, highest)) return;
  m_in_reclaim = true;
  ScanControl sc;
  sc.order = order;
  sc.priority = kDefPriority;
  bool balanced = false;
  // balance_pgdat(): set_reclaim_active() (ZONE_RECLAIM_ACTIVE: frees keep
  // fewer pages on the per-CPU lists, nr_pcp_high), cleared at the end.
  m_alloc.buddy().set_reclaim_active(highest, true);
  // balance_pgdat()
  do {
    if (pgdat_balanced(sc.order, highest)) {
      balanced = true;
      break;
    }
    // kswapd_age_node(): "if (!inactive_is_low(lruvec, LRU_INACTIVE_ANON))
    // return" after can_age_anon_pages (swap present).
    const SwapDevice* dev = m_swap.device();
    if (dev && dev->usable_slots() && vmscan::inactive_is_low(m_lru[kInactiveAnon].size(), m_lru[kActiveAnon].size()))
      shrink_active_list(kSwapClusterMax, kActiveAnon, sc);
    sc.nr_scanned = 0;
    const std::uint64_t nr_reclaimed = sc.nr_reclaimed;
    // kswapd_shrink_node(): nr_to_reclaim from the zones up to reclaim_idx.
    sc.nr_to_reclaim = 0;
    for (const Zone& z : m_alloc.buddy().zones())
      if (z.managed_pages && static_cast<unsigned>(z.type) <= static_cast<unsigned>(highest))
        sc.nr_to_reclaim += std::max(z.wmark_high, kSwapClusterMax);
    shrink_node(sc);
    if (sc.order && sc.nr_reclaimed >= (2ull << sc.order)) sc.order = 0;  // compact_gap(order)
    const bool raise_priority = sc.nr_scanned < sc.nr_to_reclaim;
    if (raise_priority || sc.nr_reclaimed == nr_reclaimed) --sc.priority;
  } while (sc.priority >= 1);
  if (!balanced && !sc.nr_reclaimed) ++m_kswapd_failures;
  m_alloc.buddy().set_reclaim_active(highest, false);
  m_in_reclaim = false;
}

}  // namespace mmusim
