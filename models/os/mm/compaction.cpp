// Reclaim: direct compaction for one order-9 block, after mm/compaction.c
// but choosing the target directly: among the 2 MiB-aligned ranges inside one
// zone whose used frames are all movable (user 4 KiB pages on an LRU list,
// mapped once: not page tables, slabs, pinned frames, huge pages or shared
// COW frames), the one with the fewest used frames (the lowest on a tie).
// Its free frames are taken out first so that no page migrates into it;
// each used page is copied to a new frame (migrate_pages), its PTE pointed
// there and its TLB entry shot down; then the whole range is freed and
// merges into an order-9 block. compaction_suitable(): at least 512 free
// frames overall. Left out: the migrate and free scanners, pageblock skip
// bits, kcompactd, and proactive compaction.
#include <string>
#include <vector>

#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

bool Reclaim::compact_for_order9() {
  ZonedPageAllocator& buddy = m_alloc.buddy();
  if (m_in_reclaim || buddy.free_pages() < 512) return false;
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
    auto it = m_index.find(f);
    if (it == m_index.end() || m_rmap.mapcount(f) != 1) return false;
    if (m_cache && m_cache->cached(f)) return false;  // page-cache pages are not migrated here (filemap.h)
    const LruPage& pg = *it->second.second;
    const Process* owner = m_tasks.find(pg.pid);
    if (!owner || !owner->alive) return false;
    PAddr epa = 0;
    const std::uint64_t e = m_pt.entry_at(*owner, pg.va, 1, &epa);
    return epa && swpte::has_frame(e) && ((e & m_pt.addr_mask()) >> kPageShift) == f;
  };
  std::uint64_t best = UINT64_MAX, best_used = 513;
  for (std::uint64_t head = 0; head + 512 <= buddy.num_pages(); head += 512) {
    const Zone* z = buddy.zone_of(head);
    if (!z || z != buddy.zone_of(head + 511) || !suitable(*z)) continue;
    std::uint64_t used = 0;
    bool movable = true;
    for (std::uint64_t f = head; f < head + 512 && movable; ++f) {
      if (buddy.is_free(f)) continue;
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
    if (buddy.is_free(f)) {
      buddy.reserve(f, 1);
      held.push_back(f);
    }
  for (std::uint64_t f = best; f < best + 512; ++f) {
    auto it = m_index.find(f);
    if (it == m_index.end()) continue;
    LruPage& pg = *it->second.second;
    Process& p = *m_tasks.find(pg.pid);
    PAddr epa = 0;
    const std::uint64_t e = m_pt.entry_at(p, pg.va, 1, &epa);
    // The free scanner isolates free pages of the same zone, which
    // compaction_suitable found above its marks: the min mark holds.
    auto to = buddy.alloc(0, buddy.zone_of(best)->type, Watermark::Min);
    if (!to || !epa || ((e & m_pt.addr_mask()) >> kPageShift) != f)
      throw std::logic_error("compaction: cannot migrate pfn " + std::to_string(f));
    m_kspace.kmap_atomic(f);
    m_kspace.kmap_atomic(*to);
    // try_to_migrate writes a migration entry, remove_migration_ptes the
    // new frame: two visits of the table.
    m_pt.pte_map(epa & ~(kPageBytes - 1));
    m_pt.pte_map(epa & ~(kPageBytes - 1));
    for (unsigned off = 0; off < kPageBytes; off += 8)
      m_mem.write64((*to << kPageShift) + off, m_mem.read64((f << kPageShift) + off));
    m_pt.wr(epa, (*to << kPageShift) | (e & ~m_pt.addr_mask()));
    m_asids.shootdown(p, pg.va, pg.va + kPageBytes);
    pg.pfn = *to;
    m_index[*to] = it->second;
    m_index.erase(f);
    held.push_back(f);
    ++m_vm.pgmigrate_success;
  }
  for (std::uint64_t f : held) buddy.free(f, 0);
  // compact_zone(): the freed pages went to this CPU's lists;
  // lru_add_drain_cpu_zone() -> drain_local_pages(cc->zone) returns them so
  // that they merge.
  if (buddy.pcp_enabled()) buddy.drain_local_pages(buddy.zone_of(best));
  ++m_vm.compact_success;
  return true;
}

}  // namespace mmusim
