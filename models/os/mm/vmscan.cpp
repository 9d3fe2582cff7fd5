#include "models/os/mm/vmscan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"

namespace mmusim {

Reclaim::Reclaim(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, Rmap& rmap,
                 SwapSpace& swap, Tasks& tasks, AsidManager& asids, KernelSpace& kspace, Thp& thp)
    : m_p(p),
      m_mem(mem),
      m_pt(pt),
      m_alloc(alloc),
      m_rmap(rmap),
      m_swap(swap),
      m_tasks(tasks),
      m_asids(asids),
      m_kspace(kspace),
      m_thp(thp) {}

void Reclaim::register_stats(StatGroup& os, const VmEvents& ev) {
  StatGroup& sw = os.group("swap");
  sw.formula("total",
             "usable swap pages (total_swap_pages): os.swap.size less the header, cut to what a swap entry "
             "of the paging mode can address (read_swap_header)",
             [this] { return m_swap.device() ? static_cast<double>(m_swap.device()->usable_slots()) : 0.0; });
  sw.formula("out", "pages written to swap (pswpout)", [this] { return static_cast<double>(m_vm.pswpout); });
  sw.formula("in", "pages read back from swap (pswpin)", [this] { return static_cast<double>(m_vm.pswpin); });
  sw.formula("used_slots", "swap slots in use",
             [this] { return m_swap.device() ? static_cast<double>(m_swap.device()->used()) : 0.0; });
  StatGroup& lru = os.group("lru");
  const char* names[] = {"inactive_anon", "active_anon", "inactive_file", "active_file"};
  for (unsigned l = 0; l < 4; ++l)
    lru.formula(names[l], std::string("pages on the ") + names[l] + " LRU list",
                [this, l] { return static_cast<double>(m_lru[l].size()); });
  StatGroup& vm = os.group("vmstat");
  auto f = [&vm](const char* name, const char* what, const std::uint64_t* v) {
    vm.formula(name, what, [v] { return static_cast<double>(*v); });
  };
  auto c = [&vm](const char* name, const char* what, const Counter* v) {
    vm.formula(name, what, [v] { return static_cast<double>(v->value()); });
  };
  c("pgfault", "page faults", ev.pgfault);
  c("pgmajfault", "major faults (swap-in, file refault)", ev.pgmajfault);
  f("pswpin", "pages swapped in", &m_vm.pswpin);
  f("pswpout", "pages swapped out", &m_vm.pswpout);
  c("thp_fault_alloc", "2 MiB pages allocated at fault time", ev.thp_fault_alloc);
  c("thp_fault_fallback", "2 MiB faults that fell back to 4 KiB", ev.thp_fault_fallback);
  c("oom_kill", "processes killed by the OOM killer", ev.oom_kill);
  f("pgscan_kswapd", "LRU pages scanned by kswapd", &m_vm.pgscan_kswapd);
  f("pgscan_direct", "LRU pages scanned by direct reclaim", &m_vm.pgscan_direct);
  f("pgsteal_kswapd", "pages reclaimed by kswapd", &m_vm.pgsteal_kswapd);
  f("pgsteal_direct", "pages reclaimed by direct reclaim", &m_vm.pgsteal_direct);
  f("allocstall", "allocations that entered direct reclaim", &m_vm.allocstall);
  f("kswapd_wakeups", "allocations that found every zone below its low watermark and woke kswapd",
    &m_vm.kswapd_wakeups);
  f("pgactivate", "pages moved to an active list", &m_vm.pgactivate);
  f("pgdeactivate", "pages moved to an inactive list", &m_vm.pgdeactivate);
  f("pgrefault_file", "faults that re-read a dropped file page", &m_vm.pgrefault_file);
  f("compact_stall", "order-9 requests that entered direct compaction", &m_vm.compact_stall);
  f("compact_success", "compactions that produced a free 2 MiB block", &m_vm.compact_success);
  f("compact_fail", "compactions that found no movable 2 MiB range", &m_vm.compact_fail);
  f("pgmigrate_success", "pages moved by compaction", &m_vm.pgmigrate_success);
}

// ---------------------------------------------------------------- LRU lists

void Reclaim::lru_add(std::uint64_t pfn, const Process& p, VAddr va, const Vma& v) {
  // In a VMA of a file with an identity every page given here is an
  // anonymous copy (the cache pages go through lru_add_file).
  const unsigned l = v.file && !v.ino && !(v.prot & kProtWrite) ? kInactiveFile : kInactiveAnon;
  m_lru[l].push_front(LruPage{pfn, p.pid, va & ~(kPageBytes - 1), false});
  m_index[pfn] = {l, m_lru[l].begin()};
}

void Reclaim::lru_del(std::uint64_t pfn) {
  auto it = m_index.find(pfn);
  if (it == m_index.end()) return;
  m_lru[it->second.first].erase(it->second.second);
  m_index.erase(it);
}

void Reclaim::lru_set_owner(std::uint64_t pfn, const Process& p, VAddr va) {
  auto it = m_index.find(pfn);
  if (it == m_index.end()) return;
  it->second.second->pid = p.pid;
  it->second.second->va = va & ~(kPageBytes - 1);
}

// ---------------------------------------------------------------- reclaim

// wake_kswapd(), reclaim() and the scan loops: vmscan_shrink.cpp.

bool Reclaim::reclaim_page(const LruPage& pg, bool anon, bool direct) {
  const unsigned inactive_l = anon ? kInactiveAnon : kInactiveFile;
  const unsigned active_l = anon ? kActiveAnon : kActiveFile;
  if (m_cache && m_cache->cached(pg.pfn)) return reclaim_cached_page(pg, direct);
  auto activate = [&] {
    auto it = m_index.find(pg.pfn);
    const LruPage moved = *it->second.second;
    m_lru[inactive_l].erase(it->second.second);
    m_lru[active_l].push_front(moved);
    it->second = {active_l, m_lru[active_l].begin()};
    ++m_vm.pgactivate;
  };
  Process* owner = m_tasks.find(pg.pid);
  PAddr epa = 0;
  std::uint64_t e = 0;
  if (owner && owner->alive) e = m_pt.entry_at(*owner, pg.va, 1, &epa);
  if (!epa || !swpte::has_frame(e) || ((e & m_pt.addr_mask()) >> kPageShift) != pg.pfn) {
    // The recorded mapper no longer maps the frame (it was left to the
    // other side of a fork): without a reverse map it cannot be unmapped.
    lru_del(pg.pfn);
    return false;
  }
  Process& p = *owner;
  const PAddr table = epa & ~(kPageBytes - 1);
  m_pt.pte_map(table);  // folio_check_references -> folio_referenced maps the table
  // folio_check_references() (mm/vmscan.c): folio_referenced() counts and
  // clears the young PTEs, folio_test_clear_referenced() takes PG_referenced.
  // "All mapped folios start out with page table references from the
  // instantiating fault, so we need to look twice": a young page is marked
  // PG_referenced and kept on the inactive list (back to its head); it is
  // activated if it was marked already, or is a file page of an executable
  // mapping. (A frame shared after fork, whose other mappers the model
  // cannot see without a reverse map, is activated as before.)
  auto lit = m_index.find(pg.pfn);
  const bool was_referenced = lit->second.second->referenced;
  lit->second.second->referenced = false;
  if (m_rmap.mapcount(pg.pfn) > 1) {
    if (e & pte::kA) m_pt.wr(epa, e & ~pte::kA);
    activate();
    return false;
  }
  if (e & pte::kA) {
    m_pt.wr(epa, e & ~pte::kA);
    const Vma* v = find_vma(p, pg.va);
    if (was_referenced || (!anon && v && (v->prot & kProtExec))) {
      m_index.find(pg.pfn)->second.second->referenced = true;  // "the mark is set for activated folios as well"
      activate();
    } else {
      LruPage keep = pg;
      keep.referenced = true;
      m_lru[inactive_l].erase(lit->second.second);
      m_lru[inactive_l].push_front(keep);
      lit->second = {inactive_l, m_lru[inactive_l].begin()};
    }
    return false;
  }
  if (!anon && (e & pte::kD)) {  // a dirty file page: writeback is not modelled
    activate();
    return false;
  }
  if (anon) {
    SwapDevice* dev = m_swap.device();
    auto slot = dev ? dev->alloc() : std::nullopt;
    if (!slot) {
      activate();
      return false;
    }
    m_kspace.kmap_atomic(pg.pfn);
    m_pt.pte_map(table);  // try_to_unmap maps the table again to write the swap entry
    std::vector<std::uint64_t> words(SwapDevice::kWordsPerPage);
    for (unsigned i = 0; i < SwapDevice::kWordsPerPage; ++i) words[i] = m_mem.read64((pg.pfn << kPageShift) + i * 8ull);
    dev->write(*slot, words);
    m_pt.wr(epa, m_swap.entry(*slot));
    ++p.swap_pages;
    ++m_vm.pswpout;
    if (direct) m_cost += m_p.swap_latency_cycles;
  } else {
    m_pt.pte_map(table);  // try_to_unmap
    m_pt.wr(epa, swpte::kFileEvicted);
  }
  m_asids.shootdown(p, pg.va, pg.va + kPageBytes);
  --p.rss_pages;
  lru_del(pg.pfn);
  m_alloc.buddy().free(pg.pfn, 0);
  return true;
}

// ---------------------------------------------------------------- page cache

void Reclaim::lru_add_file(std::uint64_t pfn) {
  // filemap_add_folio -> folio_add_lru: the head of the inactive file list.
  m_lru[kInactiveFile].push_front(LruPage{pfn, 0, 0, false});
  m_index[pfn] = {kInactiveFile, m_lru[kInactiveFile].begin()};
}

bool Reclaim::reclaim_cached_page(const LruPage& pg, bool direct) {
  // shrink_folio_list() on a page-cache folio: folio_trylock (a folio being
  // faulted in is locked: kept), folio_check_references() over every
  // mapping, then try_to_unmap, pageout() if dirty, __remove_mapping.
  auto it = m_index.find(pg.pfn);
  auto to_head = [&](unsigned l, bool referenced) {
    LruPage moved = *it->second.second;
    moved.referenced = referenced;
    m_lru[it->second.first].erase(it->second.second);
    m_lru[l].push_front(moved);
    it->second = {l, m_lru[l].begin()};
  };
  if (m_cache->locked(pg.pfn)) {
    to_head(kInactiveFile, it->second.second->referenced);
    return false;
  }
  const bool referenced_folio = it->second.second->referenced;  // folio_test_clear_referenced
  const PageCache::Refs refs = m_cache->referenced(pg.pfn);
  if (refs.young) {
    // "folio_set_referenced(folio); if (referenced_folio || referenced_ptes
    // > 1) return FOLIOREF_ACTIVATE; if ((vm_flags & VM_EXEC) &&
    // folio_is_file_lru(folio)) return FOLIOREF_ACTIVATE; return
    // FOLIOREF_KEEP;"
    if (referenced_folio || refs.young > 1 || refs.exec) {
      to_head(kActiveFile, true);
      ++m_vm.pgactivate;
    } else {
      to_head(kInactiveFile, true);
    }
    return false;
  }
  // "Reclaim if clean, defer dirty folios to writeback": FOLIOREF_RECLAIM_CLEAN
  // (PG_referenced, now cleared) keeps a dirty page (keep_locked); else
  // FOLIOREF_RECLAIM: dropped, a dirty page written back first (pageout) at
  // the cost of a swap-out write when direct.
  if (referenced_folio && m_cache->page_of(pg.pfn)->dirty) {
    to_head(kInactiveFile, false);
    return false;
  }
  lru_del(pg.pfn);
  if (m_cache->evict(pg.pfn) && direct) m_cost += m_p.swap_latency_cycles;
  return true;
}

}  // namespace mmusim
