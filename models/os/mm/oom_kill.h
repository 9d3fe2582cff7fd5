// The OOM killer, after mm/oom_kill.c:
//  - oom_badness(): rss + swap entries + mm_pgtables_bytes / PAGE_SIZE (PTE,
//    PMD and PUD pages: not the PGD, nor the P4D pages of 5-level paging) +
//    oom_score_adj * (totalpages / 1000), with out_of_memory's totalpages =
//    totalram_pages() (the managed pages of every zone) + total_swap_pages;
//    oom_score_adj -1000 is never chosen;
//  - select_bad_process(): the highest badness, ties to the later pid (it
//    keeps the last of equal scores);
//  - a victim is killed and its memory freed at once; the process that
//    asked, the parent of a fork in progress, and a process that owns no
//    memory are not victims. With no killable process left the faulting one
//    dies (Linux would panic); os.oom.enabled: false makes it die at once.
#pragma once

#include <cstdint>
#include <string>

#include "models/common/stats.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class Tasks;
class PageAllocator;
class SwapSpace;
class PageTables;

class OomKiller {
 public:
  OomKiller(const OsParams& p, Tasks& tasks, const PageAllocator& alloc, const SwapSpace& swap, const PageTables& pt);

  // os.oom_kills.
  void register_stats(StatGroup& os);
  const Counter& kills() const { return *m_kills; }
  void count_kill() { ++*m_kills; }

  // mm/oom_kill.c oom_badness(); INT64_MIN when unkillable.
  std::int64_t badness(const Process& p) const;
  // mm_pgtables_bytes(mm) / PAGE_SIZE: the page tables Linux accounts to an
  // mm (mm_inc_nr_ptes/pmds/puds), which leaves out the PGD and, with
  // 5-level paging, the P4D pages.
  std::uint64_t mm_pgtables_pages(const Process& p) const;
  // select_bad_process(): the live process with the highest badness (the
  // later pid on a tie), nullptr if none is killable.
  Process* select_victim();
  // out_of_memory() for an allocation by `asking` (nullptr: the kernel):
  // kills a victim other than it and returns true, or returns false.
  bool kill_other(const Process* asking);
  // The faulting process p found no memory and no other victim: the OOM
  // killer takes p itself (reported in kills() with why).
  FaultOutcome kill_faulting(Process& p, const std::string& why);
  // @oom_score_adj VALUE for the current process (-1000..1000).
  void set_oom_score_adj(int adj);

 private:
  const OsParams& m_p;
  Tasks& m_tasks;
  const PageAllocator& m_alloc;
  const SwapSpace& m_swap;
  const PageTables& m_pt;
  Counter* m_kills = nullptr;
};

}  // namespace mmusim
