#include "models/walker/walk_scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace mmusim {

WalkScheduler::WalkScheduler(unsigned outstanding, unsigned walkers, Cycles gap_cycles, StatGroup& walker_stats)
    : m_n(outstanding),
      m_gap(gap_cycles),
      m_done(outstanding, 0),
      m_walker_free(walkers, 0),
      m_merged(walker_stats.counter(
          "merged", "TLB hits on a page whose walk was still in flight: merged onto it (replay.outstanding > 1)")),
      m_wait_cycles(
          walker_stats.counter("wait_cycles", "cycles walks waited for a free walker (replay.outstanding > 1)")) {
  if (outstanding == 0 || walkers == 0)
    throw std::invalid_argument("walk scheduler: outstanding and walkers must be >= 1");
}

Cycles WalkScheduler::start() {
  // Slot m_next held the access N before this one; before any access
  // completed the ring holds no constraint.
  Cycles s = m_issue;
  if (m_any) s = std::max(s, m_done[m_next] + m_gap);
  m_start = s;
  return s;
}

Cycles WalkScheduler::translate(Cycles begin, Cycles lookup_cycles, bool walked, Cycles walk_cycles,
                                std::uint64_t page_key) {
  const Cycles looked = begin + lookup_cycles;
  if (walked) {
    auto w = std::min_element(m_walker_free.begin(), m_walker_free.end());
    const Cycles ws = std::max(looked, *w);
    m_wait_cycles += ws - looked;
    const Cycles done = ws + walk_cycles;
    *w = done;
    // Forget walks that completed before this access began, then record this one.
    m_inflight.erase(std::remove_if(m_inflight.begin(), m_inflight.end(),
                                    [&](const auto& e) { return e.second <= begin || e.first == page_key; }),
                     m_inflight.end());
    m_inflight.emplace_back(page_key, done);
    return done;
  }
  for (const auto& e : m_inflight) {
    if (e.first == page_key && e.second > looked) {
      ++m_merged;
      return e.second;
    }
  }
  return looked;
}

void WalkScheduler::complete(Cycles done) {
  m_done[m_next] = done;
  m_next = (m_next + 1) % m_n;
  m_any = true;
  // After a drain inside this access (a fault) the issue point is already later.
  m_issue = std::max(m_issue, m_start + m_gap);
}

Cycles WalkScheduler::drain() {
  Cycles t = m_issue;
  if (m_any)
    for (Cycles d : m_done) t = std::max(t, d + m_gap);
  for (Cycles w : m_walker_free) t = std::max(t, w);
  advance_to(t);
  return t;
}

void WalkScheduler::advance_to(Cycles t) {
  // Everything before t is over: the window and the walkers are free.
  m_issue = std::max(m_issue, t);
  std::fill(m_done.begin(), m_done.end(), 0);
  m_any = false;
  for (Cycles& w : m_walker_free) w = std::min(w, m_issue);
  m_inflight.clear();
}

}  // namespace mmusim
