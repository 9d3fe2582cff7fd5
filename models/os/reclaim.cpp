// OsModel, page reclaim and swap (mm/vmscan.c, mm/swap_state.c,
// mm/memory.c do_swap_page), written from the kernel's documented behaviour:
//
//  - LRU lists: inactive/active x anon/file. A newly faulted page goes to the
//    head of its inactive list (as since Linux 5.9 for anon pages). Anon
//    pages are those of anonymous VMAs and of writable file VMAs (private
//    file pages that may be dirty); file pages are those of read-only file
//    VMAs, which stay clean.
//  - Aging (shrink_active_list / shrink_inactive_list): when an inactive
//    list is smaller than its active list, the active tail is deactivated
//    and its PTE's accessed bit cleared; the inactive tail is then examined:
//    accessed since the last look -> A cleared and the page activated
//    (page_check_references); else it is reclaimed. As on x86, clearing A
//    flushes no TLB entry.
//  - Anon vs file (get_scan_count): successive scans alternate in the ratio
//    swappiness : 200 - swappiness; anon lists are not scanned without free
//    swap space.
//  - Reclaiming an anon page writes it to a swap slot (pswpout) and leaves a
//    swap PTE that keeps the slot; a clean file page is dropped, its PTE
//    keeping a marker so that the refault is a major fault (the file content
//    is zeros in this model, as the page was when first faulted). The TLB
//    entry is shot down as try_to_unmap does.
//  - Watermarks (__alloc_pages): an allocation first needs every zone it
//    uses above low; failing that kswapd is woken (run here at once, its cost
//    not charged to the faulting process) and reclaims until every zone is at
//    its high watermark; then the allocation may go down to min; failing
//    that, direct reclaim of SWAP_CLUSTER_MAX (32) pages, charged to the
//    fault at os.swap.latency per page written, up to 16 rounds
//    (MAX_RECLAIM_RETRIES) while they make progress. A modelling choice:
//    before the OOM killer, user allocations may then use the reserves below
//    min (Linux keeps those for atomic and OOM-victim allocations), so that a
//    memory of N frames holds N frames of data.
//  - Swap-in (do_swap_page): a major fault reads the slot back into a new
//    frame, frees the slot (no swap cache) and maps the page with the VMA's
//    rights; cost os.fault_cost.major + os.swap.latency.
//
// Left out: frames shared copy-on-write are not reclaimed (no reverse map
// walk over several mappers), nor 2 MiB pages (Linux splits them first),
// nor page-table pages; no workingset refault detection, no per-memcg or
// per-node LRUs (one set of lists for all nodes), no writeback throttling.
#include <algorithm>
#include <cstdio>

#include "models/os/os_model.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kSwapClusterMax = 32;
constexpr unsigned kMaxReclaimRetries = 16;

}  // namespace

std::uint64_t OsModel::swap_entry(std::uint64_t slot) const {
  if (m_ia32) return ((slot >> 3) << kPageShift) | ((slot & 7) << 1) | kSwapEntry;
  return (slot << kPageShift) | kSwapEntry;
}

std::uint64_t OsModel::swap_slot(std::uint64_t e) const {
  if (m_ia32) return (((e & m_addr_mask) >> kPageShift) << 3) | ((e >> 1) & 7);
  return (e & m_addr_mask) >> kPageShift;
}

std::uint64_t OsModel::max_swap_slots() const {
  return m_ia32 ? 1ull << 23 : (m_addr_mask >> kPageShift) + 1;
}

void OsModel::init_reclaim(StatGroup& stats) {
  // swapon -> read_swap_header(): "if (last_page > maxpages) pr_warn(
  // "Truncating oversized swap area, only using %luk out of %luk\n", ...)":
  // a swap area larger than a swap entry can address is cut to
  // swapfile_maximum_size pages; slot 0 is the header (os.swap.total: the
  // usable pages, total_swap_pages).
  const std::uint64_t pages = std::min<std::uint64_t>(m_p.swap_bytes / kPageBytes, max_swap_slots());
  if (pages > 1) m_swap = std::make_unique<SwapDevice>(pages);
  StatGroup& sw = stats.group("swap");
  sw.formula("total", "usable swap pages (total_swap_pages): os.swap.size less the header, cut to what a swap entry "
                      "of the paging mode can address (read_swap_header)",
             [this] { return m_swap ? static_cast<double>(m_swap->usable_slots()) : 0.0; });
  sw.formula("out", "pages written to swap (pswpout)", [this] { return static_cast<double>(m_vm.pswpout); });
  sw.formula("in", "pages read back from swap (pswpin)", [this] { return static_cast<double>(m_vm.pswpin); });
  sw.formula("used_slots", "swap slots in use", [this] { return m_swap ? static_cast<double>(m_swap->used()) : 0.0; });
  StatGroup& lru = stats.group("lru");
  const char* names[] = {"inactive_anon", "active_anon", "inactive_file", "active_file"};
  for (unsigned l = 0; l < 4; ++l)
    lru.formula(names[l], std::string("pages on the ") + names[l] + " LRU list",
                [this, l] { return static_cast<double>(m_lru[l].size()); });
  StatGroup& vm = stats.group("vmstat");
  auto f = [&vm](const char* name, const char* what, const std::uint64_t* v) {
    vm.formula(name, what, [v] { return static_cast<double>(*v); });
  };
  vm.formula("pgfault", "page faults", [this] { return static_cast<double>(m_pgfault.value()); });
  vm.formula("pgmajfault", "major faults (swap-in, file refault)", [this] { return static_cast<double>(m_major.value()); });
  f("pswpin", "pages swapped in", &m_vm.pswpin);
  f("pswpout", "pages swapped out", &m_vm.pswpout);
  vm.formula("thp_fault_alloc", "2 MiB pages allocated at fault time", [this] { return static_cast<double>(m_thp_alloc.value()); });
  vm.formula("thp_fault_fallback", "2 MiB faults that fell back to 4 KiB", [this] { return static_cast<double>(m_thp_fallback.value()); });
  vm.formula("oom_kill", "processes killed by the OOM killer", [this] { return static_cast<double>(m_oom_kills.value()); });
  f("pgscan_kswapd", "LRU pages scanned by kswapd", &m_vm.pgscan_kswapd);
  f("pgscan_direct", "LRU pages scanned by direct reclaim", &m_vm.pgscan_direct);
  f("pgsteal_kswapd", "pages reclaimed by kswapd", &m_vm.pgsteal_kswapd);
  f("pgsteal_direct", "pages reclaimed by direct reclaim", &m_vm.pgsteal_direct);
  f("allocstall", "allocations that entered direct reclaim", &m_vm.allocstall);
  f("kswapd_wakeups", "allocations that found every zone below its low watermark and woke kswapd", &m_vm.kswapd_wakeups);
  f("pgactivate", "pages moved to an active list", &m_vm.pgactivate);
  f("pgdeactivate", "pages moved to an inactive list", &m_vm.pgdeactivate);
  f("pgrefault_file", "faults that re-read a dropped file page", &m_vm.pgrefault_file);
  f("compact_stall", "order-9 requests that entered direct compaction", &m_vm.compact_stall);
  f("compact_success", "compactions that produced a free 2 MiB block", &m_vm.compact_success);
  f("compact_fail", "compactions that found no movable 2 MiB range", &m_vm.compact_fail);
  f("pgmigrate_success", "pages moved by compaction", &m_vm.pgmigrate_success);
}

// ---------------------------------------------------------------- LRU lists

void OsModel::lru_add(std::uint64_t pfn, const Process& p, VAddr va, const Vma& v) {
  const unsigned l = v.file && !(v.prot & kWrite) ? kInactiveFile : kInactiveAnon;
  m_lru[l].push_front(LruPage{pfn, p.pid, va & ~(kPageBytes - 1), false});
  m_lru_index[pfn] = {l, m_lru[l].begin()};
}

void OsModel::lru_del(std::uint64_t pfn) {
  auto it = m_lru_index.find(pfn);
  if (it == m_lru_index.end()) return;
  m_lru[it->second.first].erase(it->second.second);
  m_lru_index.erase(it);
}

void OsModel::lru_set_owner(std::uint64_t pfn, const Process& p, VAddr va) {
  auto it = m_lru_index.find(pfn);
  if (it == m_lru_index.end()) return;
  it->second.second->pid = p.pid;
  it->second.second->va = va & ~(kPageBytes - 1);
}

// ---------------------------------------------------------------- allocation

std::optional<std::uint64_t> OsModel::page_alloc(unsigned order, ZoneType highest) {
  if (auto r = m_buddy->alloc(order, highest, Watermark::Low)) return r;
  if (!m_in_reclaim) {
    ++m_vm.kswapd_wakeups;
    const std::uint64_t goal = m_buddy->deficit(Watermark::High);
    if (goal) reclaim(goal, false);
  }
  if (auto r = m_buddy->alloc(order, highest, Watermark::Min)) return r;
  if (!m_in_reclaim) {
    ++m_vm.allocstall;
    for (unsigned round = 0; round < kMaxReclaimRetries; ++round) {
      const std::uint64_t got = reclaim(kSwapClusterMax, true);
      if (auto r = m_buddy->alloc(order, highest, Watermark::Min)) return r;
      if (!got) break;
    }
    // __alloc_pages_slowpath: a GFP_KERNEL or GFP_HIGHUSER allocation never
    // goes below the min watermark (no ALLOC_HARDER, ALLOC_HIGH or
    // ALLOC_NO_WATERMARKS for it); the caller's next step is the OOM killer.
    return std::nullopt;
  }
  // Allocations made by reclaim itself run with PF_MEMALLOC, which is
  // ALLOC_NO_WATERMARKS (__gfp_pfmemalloc_flags).
  return m_buddy->alloc(order, highest, Watermark::None);
}

// ---------------------------------------------------------------- reclaim

std::uint64_t OsModel::reclaim(std::uint64_t nr, bool direct) {
  if (m_in_reclaim) return 0;
  // shrink_node() -> shrink_slab(): the huge zero page's shrinker frees it
  // if unused (its pages are not counted as reclaimed).
  shrink_huge_zero_page();
  m_in_reclaim = true;
  std::uint64_t reclaimed = 0, scanned = 0;
  const std::uint64_t budget = 2 * m_lru_index.size() + 64;
  bool anon_ok = m_swap && m_swap->free_slots() > 0;
  while (reclaimed < nr && scanned < budget) {
    const bool have_anon = anon_ok && !(m_lru[kInactiveAnon].empty() && m_lru[kActiveAnon].empty());
    const bool have_file = !(m_lru[kInactiveFile].empty() && m_lru[kActiveFile].empty());
    if (!have_anon && !have_file) break;
    bool anon;
    if (!have_anon) {
      anon = false;
    } else if (!have_file) {
      anon = true;
    } else {
      m_anon_credit += m_p.swappiness;
      m_file_credit += 200 - m_p.swappiness;
      anon = m_anon_credit > m_file_credit;
      (anon ? m_anon_credit : m_file_credit) -= std::min<std::uint64_t>(200, anon ? m_anon_credit : m_file_credit);
    }
    auto& inactive = m_lru[anon ? kInactiveAnon : kInactiveFile];
    auto& active = m_lru[anon ? kActiveAnon : kActiveFile];
    ++scanned;
    ++(direct ? m_vm.pgscan_direct : m_vm.pgscan_kswapd);
    if (inactive.size() < active.size() || inactive.empty()) {
      // Deactivate the active tail, clearing its accessed bit.
      const LruPage pg = active.back();
      auto pit = m_procs.find(pg.pid);
      if (pit != m_procs.end() && pit->second->alive) {
        PAddr epa = 0;
        const std::uint64_t e = entry_at(*pit->second, pg.va, 1, &epa);
        if (epa) pte_map(epa & ~(kPageBytes - 1));  // folio_referenced's rmap walk maps the table
        if (epa && (e & pte::kA)) wr(epa, e & ~pte::kA);
      }
      active.pop_back();
      inactive.push_front(pg);
      m_lru_index[pg.pfn] = {anon ? kInactiveAnon : kInactiveFile, inactive.begin()};
      ++m_vm.pgdeactivate;
      continue;
    }
    const LruPage pg = inactive.back();
    if (reclaim_page(pg, anon, direct)) {
      ++reclaimed;
      ++(direct ? m_vm.pgsteal_direct : m_vm.pgsteal_kswapd);
    } else if (anon && (!m_swap || m_swap->free_slots() == 0)) {
      anon_ok = false;
    }
  }
  m_in_reclaim = false;
  return reclaimed;
}

bool OsModel::reclaim_page(const LruPage& pg, bool anon, bool direct) {
  const unsigned inactive_l = anon ? kInactiveAnon : kInactiveFile;
  const unsigned active_l = anon ? kActiveAnon : kActiveFile;
  auto activate = [&] {
    auto it = m_lru_index.find(pg.pfn);
    const LruPage moved = *it->second.second;
    m_lru[inactive_l].erase(it->second.second);
    m_lru[active_l].push_front(moved);
    it->second = {active_l, m_lru[active_l].begin()};
    ++m_vm.pgactivate;
  };
  auto pit = m_procs.find(pg.pid);
  PAddr epa = 0;
  std::uint64_t e = 0;
  if (pit != m_procs.end() && pit->second->alive) e = entry_at(*pit->second, pg.va, 1, &epa);
  if (!epa || !(e & (pte::kP | (1ull << 9))) || ((e & m_addr_mask) >> kPageShift) != pg.pfn) {
    // The recorded mapper no longer maps the frame (it was left to the
    // other side of a fork): without a reverse map it cannot be unmapped.
    lru_del(pg.pfn);
    return false;
  }
  Process& p = *pit->second;
  const PAddr table = epa & ~(kPageBytes - 1);
  pte_map(table);  // folio_check_references -> folio_referenced maps the table
  // folio_check_references() (mm/vmscan.c): folio_referenced() counts and
  // clears the young PTEs, folio_test_clear_referenced() takes PG_referenced.
  // "All mapped folios start out with page table references from the
  // instantiating fault, so we need to look twice": a young page is marked
  // PG_referenced and kept on the inactive list (back to its head); it is
  // activated if it was marked already, or is a file page of an executable
  // mapping. (A frame shared after fork, whose other mappers the model
  // cannot see without a reverse map, is activated as before.)
  auto lit = m_lru_index.find(pg.pfn);
  const bool was_referenced = lit->second.second->referenced;
  lit->second.second->referenced = false;
  if (mapcount(pg.pfn) > 1) {
    if (e & pte::kA) wr(epa, e & ~pte::kA);
    activate();
    return false;
  }
  if (e & pte::kA) {
    wr(epa, e & ~pte::kA);
    const Vma* v = find_vma(p, pg.va);
    if (was_referenced || (!anon && v && (v->prot & kExec))) {
      m_lru_index.find(pg.pfn)->second.second->referenced = true;  // "the mark is set for activated folios as well"
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
    auto slot = m_swap ? m_swap->alloc() : std::nullopt;
    if (!slot) {
      activate();
      return false;
    }
    kmap_atomic(pg.pfn);
    pte_map(table);  // try_to_unmap maps the table again to write the swap entry
    std::vector<std::uint64_t> words(SwapDevice::kWordsPerPage);
    for (unsigned i = 0; i < SwapDevice::kWordsPerPage; ++i) words[i] = m_mem.read64((pg.pfn << kPageShift) + i * 8ull);
    m_swap->write(*slot, words);
    wr(epa, swap_entry(*slot));
    ++p.swap_pages;
    ++m_vm.pswpout;
    if (direct) m_reclaim_cost += m_p.swap_latency_cycles;
  } else {
    pte_map(table);  // try_to_unmap
    wr(epa, kFileEvicted);
  }
  shootdown(p, pg.va, pg.va + kPageBytes);
  --p.rss_pages;
  lru_del(pg.pfn);
  m_buddy->free(pg.pfn, 0);
  return true;
}

// ---------------------------------------------------------------- swap-in

void OsModel::release_swap_entry(Process& p, std::uint64_t e) {
  if (e & kSwapEntry) {
    m_swap->free(swap_slot(e));
    --p.swap_pages;
  }
}

bool OsModel::swap_in(Process& p, const Vma& v, VAddr va, bool write, FaultOutcome* out) {
  PAddr epa = 0;
  const std::uint64_t e = entry_at(p, va, 1, &epa);
  if (!epa || (e & (pte::kP | (1ull << 9))) || !(e & (kSwapEntry | kFileEvicted))) return false;
  std::uint64_t pfn = 0;
  if (!alloc_frame(0, &pfn, &p)) {
    *out = oom_kill_faulting(p, "out of memory (OOM killer), swap-in at " + hex_string(va));
    return true;
  }
  // Reclaim during the allocation edits only leaf entries of present pages,
  // so this entry (and its table) is still the one read above.
  if (e & kSwapEntry) {
    const std::uint64_t slot = swap_slot(e);
    const std::vector<std::uint64_t> words = m_swap->read(slot);
    kmap_atomic(pfn);  // the read lands in a page the kernel maps to fill
    for (unsigned i = 0; i < SwapDevice::kWordsPerPage; ++i) m_mem.write64((pfn << kPageShift) + i * 8ull, words[i]);
    m_swap->free(slot);
    --p.swap_pages;
    ++m_vm.pswpin;
  } else {
    kmap_atomic(pfn);
    m_mem.zero_frame(pfn);
    ++m_vm.pgrefault_file;
  }
  pte_map(epa & ~(kPageBytes - 1));  // do_swap_page re-maps the table (pte_offset_map_lock)
  // do_swap_page(): "pte = mk_pte(page, vma->vm_page_prot)" - read-only and
  // clean for a private mapping -, and only for a write fault on a page it
  // owns alone "pte = maybe_mkwrite(pte_mkdirty(pte), vma)". (The page read
  // here is always this process's own: there is no swap cache to share.)
  std::uint64_t flags = leaf_flags(v, PageSize::k4K);
  if (!write) flags &= ~(pte::kRW | pte::kD);
  wr(epa, (pfn << kPageShift) | flags);
  ktouch(epa, m_entry_bytes, true);
  ++p.rss_pages;
  lru_add(pfn, p, va, v);
  ++m_major;
  out->cost_cycles = m_p.fault_major_cycles + m_p.swap_latency_cycles;
  return true;
}

// ---------------------------------------------------------------- compaction

// Direct compaction for one order-9 block, after mm/compaction.c but
// choosing the target directly: among the 2 MiB-aligned ranges inside one
// zone whose used frames are all movable (user 4 KiB pages on an LRU list,
// mapped once: not page tables, slabs, pinned frames, huge pages or shared
// COW frames), the one with the fewest used frames (the lowest on a tie).
// Its free frames are taken out first so that no page migrates into it;
// each used page is copied to a new frame (migrate_pages), its PTE pointed
// there and its TLB entry shot down; then the whole range is freed and
// merges into an order-9 block. compaction_suitable(): at least 512 free
// frames overall. Left out: the migrate and free scanners, pageblock skip
// bits, kcompactd, and proactive compaction.
bool OsModel::compact_for_order9() {
  if (m_in_reclaim || m_buddy->free_pages() < 512) return false;
  // compaction_suitable(): order 9 is above PAGE_ALLOC_COSTLY_ORDER, so the
  // zone needs its low watermark + compact_gap(9) = 2 << 9 free pages
  // (with the reserve kept from requests as high as the zone itself).
  auto suitable = [](const Zone& z) {
    return z.buddy->free_pages() > z.wmark_low + (2u << 9) + z.lowmem_reserve[static_cast<unsigned>(z.type)];
  };
  ++m_vm.compact_stall;
  // Movable: on an LRU list, mapped once, and by the mapper the list records
  // (after fork the survivor of a shared frame may be unknown: not movable).
  auto is_movable = [this](std::uint64_t f) {
    auto it = m_lru_index.find(f);
    if (it == m_lru_index.end() || mapcount(f) != 1) return false;
    const LruPage& pg = *it->second.second;
    auto pit = m_procs.find(pg.pid);
    if (pit == m_procs.end() || !pit->second->alive) return false;
    PAddr epa = 0;
    const std::uint64_t e = entry_at(*pit->second, pg.va, 1, &epa);
    return epa && (e & (pte::kP | (1ull << 9))) && ((e & m_addr_mask) >> kPageShift) == f;
  };
  std::uint64_t best = UINT64_MAX, best_used = 513;
  for (std::uint64_t head = 0; head + 512 <= m_buddy->num_pages(); head += 512) {
    const Zone* z = m_buddy->zone_of(head);
    if (!z || z != m_buddy->zone_of(head + 511) || !suitable(*z)) continue;
    std::uint64_t used = 0;
    bool movable = true;
    for (std::uint64_t f = head; f < head + 512 && movable; ++f) {
      if (m_buddy->is_free(f)) continue;
      ++used;
      movable = is_movable(f);
    }
    if (movable && used < best_used) {
      best = head;
      best_used = used;
    }
  }
  if (best == UINT64_MAX || best_used == 0) {
    ++m_vm.compact_fail;
    return false;
  }
  std::vector<std::uint64_t> held;
  for (std::uint64_t f = best; f < best + 512; ++f)
    if (m_buddy->is_free(f)) {
      m_buddy->reserve(f, 1);
      held.push_back(f);
    }
  for (std::uint64_t f = best; f < best + 512; ++f) {
    auto it = m_lru_index.find(f);
    if (it == m_lru_index.end()) continue;
    LruPage& pg = *it->second.second;
    Process& p = *m_procs.at(pg.pid);
    PAddr epa = 0;
    const std::uint64_t e = entry_at(p, pg.va, 1, &epa);
    // The free scanner isolates free pages of the same zone, which
    // compaction_suitable found above its marks: the min mark holds.
    auto to = m_buddy->alloc(0, m_buddy->zone_of(best)->type, Watermark::Min);
    if (!to || !epa || ((e & m_addr_mask) >> kPageShift) != f)
      throw std::logic_error("compaction: cannot migrate pfn " + std::to_string(f));
    kmap_atomic(f);
    kmap_atomic(*to);
    // try_to_migrate writes a migration entry, remove_migration_ptes the
    // new frame: two visits of the table.
    pte_map(epa & ~(kPageBytes - 1));
    pte_map(epa & ~(kPageBytes - 1));
    for (unsigned off = 0; off < kPageBytes; off += 8)
      m_mem.write64((*to << kPageShift) + off, m_mem.read64((f << kPageShift) + off));
    wr(epa, (*to << kPageShift) | (e & ~m_addr_mask));
    shootdown(p, pg.va, pg.va + kPageBytes);
    pg.pfn = *to;
    m_lru_index[*to] = it->second;
    m_lru_index.erase(f);
    held.push_back(f);
    ++m_vm.pgmigrate_success;
  }
  for (std::uint64_t f : held) m_buddy->free(f, 0);
  ++m_vm.compact_success;
  return true;
}

}  // namespace mmusim
