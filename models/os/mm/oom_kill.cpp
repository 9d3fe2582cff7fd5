#include "models/os/mm/oom_kill.h"

#include <climits>

#include "models/arch/entry_bits.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/swap_space.h"

namespace mmusim {

OomKiller::OomKiller(const OsParams& p, Tasks& tasks, const PageAllocator& alloc, const SwapSpace& swap,
                     const PageTables& pt)
    : m_p(p), m_tasks(tasks), m_alloc(alloc), m_swap(swap), m_pt(pt) {}

void OomKiller::register_stats(StatGroup& os) {
  m_kills = &os.counter("oom_kills", "processes killed by the OOM killer");
}

std::uint64_t OomKiller::mm_pgtables_pages(const Process& p) const {
  if (p.pgtable_pages == 0) return 0;
  std::uint64_t p4d = 0;  // 5-level paging: one P4D page per present user PML5E
  if (m_pt.levels() == 5)
    for (unsigned i = 0; i < m_pt.kernel_root_index(); ++i)
      p4d += (m_pt.rd(p.root + i * m_pt.entry_bytes()) & pte::kP) != 0;
  return p.pgtable_pages - 1 - p4d;  // the PGD (the PDPT with PAE) is not accounted
}

std::int64_t OomKiller::badness(const Process& p) const {
  if (!p.alive || p.oom_score_adj == -1000) return INT64_MIN;
  // out_of_memory() -> constrained_alloc(): totalram_pages() (the managed
  // pages of every zone) + total_swap_pages (the usable slots).
  std::uint64_t managed = 0;
  for (const Zone& z : m_alloc.buddy().zones()) managed += z.managed_pages;
  const SwapDevice* dev = m_swap.device();
  const auto total = static_cast<std::int64_t>(managed + (dev ? dev->usable_slots() : 0));
  std::int64_t points = static_cast<std::int64_t>(p.rss_pages + p.swap_pages + mm_pgtables_pages(p));
  // "adj *= totalpages / 1000": the division first, in integers.
  points += p.oom_score_adj * (total / 1000);
  return points;
}

Process* OomKiller::select_victim() {
  Process* victim = nullptr;
  std::int64_t best = INT64_MIN;
  for (auto& kv : m_tasks.all()) {
    if (kv.second.get() == m_tasks.forked_child()) continue;  // not on the task list yet
    const std::int64_t b = badness(*kv.second);
    if (b == INT64_MIN || b < best) continue;
    best = b;
    victim = kv.second.get();
  }
  return victim;
}

bool OomKiller::kill_other(const Process* asking) {
  // Out of memory: kill the process with the highest badness (rss + page
  // tables), unless that is the one asking, which the caller then kills. A
  // process being created is not in the process table yet, so the one
  // switched away from may be chosen.
  if (!m_p.oom_enabled) return false;  // os.oom.enabled: false, the faulting process dies
  Process* victim = select_victim();
  if (!victim || victim == asking || victim == m_tasks.forking() ||
      victim->rss_pages + victim->swap_pages + victim->pgtable_pages == 0)
    return false;
  ++*m_kills;
  m_tasks.kill(*victim, "out of memory (OOM killer)");
  return true;
}

FaultOutcome OomKiller::kill_faulting(Process& p, const std::string& why) {
  ++*m_kills;
  m_tasks.kill(p, why);
  FaultOutcome o;
  o.result = FaultResult::Killed;
  o.reason = m_tasks.kills().back();
  o.cost_cycles = m_p.fault_minor_cycles;
  return o;
}

void OomKiller::set_oom_score_adj(int adj) {
  if (adj < -1000 || adj > 1000) throw OsError("@oom_score_adj: " + std::to_string(adj) + " is outside -1000..1000");
  m_tasks.cur().oom_score_adj = adj;
}

}  // namespace mmusim
