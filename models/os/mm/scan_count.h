// The arithmetic of reclaim's scan balance, after mm/vmscan.c of Linux 6.1,
// as plain functions of list sizes (no pages): inactive_is_low(),
// prepare_scan_count() (which lists may be deactivated, cache_trim_mode,
// file_is_tiny) and get_scan_count() (how many pages of each LRU list one
// shrink_lruvec() pass scans). Reclaim (vmscan.h) drives them.
// Left out: memory cgroups (one root lruvec: no protection, no cgroup
// swappiness), refault tracking (workingset: the refault counters never
// change, so only inactive_is_low decides may_deactivate), MGLRU.
#pragma once

#include <array>
#include <cstdint>

namespace mmusim {
namespace vmscan {

constexpr int kDefPriority = 12;               // DEF_PRIORITY (include/linux/mmzone.h)
constexpr std::uint64_t kSwapClusterMax = 32;  // SWAP_CLUSTER_MAX (include/linux/swap.h)
constexpr unsigned kMaxReclaimRetries = 16;    // MAX_RECLAIM_RETRIES (mm/internal.h)

// Pages per list, in enum lru_list order: inactive anon, active anon,
// inactive file, active file.
using LruCounts = std::array<std::uint64_t, 4>;
enum : unsigned { kInactiveAnon, kActiveAnon, kInactiveFile, kActiveFile };
constexpr unsigned kDeactivateAnon = 1, kDeactivateFile = 2;  // DEACTIVATE_ANON, DEACTIVATE_FILE

// lib/math/int_sqrt.c: floor(sqrt(x)).
std::uint64_t int_sqrt(std::uint64_t x);

// inactive_is_low(): with gb = (inactive + active) >> (30 - PAGE_SHIFT),
// inactive_ratio = gb ? int_sqrt(10 * gb) : 1; low when inactive *
// inactive_ratio < active.
bool inactive_is_low(std::uint64_t inactive, std::uint64_t active);

// The scan_control fields that get_scan_count() reads.
struct ScanBalance {
  int priority = kDefPriority;
  unsigned swappiness = 60;
  bool can_reclaim_anon = false;               // may_swap && can_reclaim_anon_pages(): free swap space
  std::uint64_t anon_cost = 0, file_cost = 0;  // lruvec->anon_cost, file_cost (lru_note_cost)
  unsigned may_deactivate = 0;                 // kDeactivateAnon | kDeactivateFile
  bool force_deactivate = false;
  bool cache_trim_mode = false, file_is_tiny = false;
};

// prepare_scan_count(): may_deactivate (unless force_deactivate),
// cache_trim_mode and file_is_tiny, from the lists, the node's free pages
// and the sum of its zones' high watermarks.
void prepare_scan_count(const LruCounts& lru, std::uint64_t free_pages, std::uint64_t total_high_wmark,
                        ScanBalance& sc);

// get_scan_count(): the pages of each list to scan in one shrink_lruvec().
LruCounts get_scan_count(const LruCounts& lru, const ScanBalance& sc);

}  // namespace vmscan
}  // namespace mmusim
