#include "models/os/mm/scan_count.h"

namespace mmusim {
namespace vmscan {

std::uint64_t int_sqrt(std::uint64_t x) {
  // The bit-by-bit method of lib/math/int_sqrt.c.
  if (x <= 1) return x;
  std::uint64_t m = 1ull << 62, y = 0;
  while (m > x) m >>= 2;
  while (m) {
    const std::uint64_t b = y + m;
    y >>= 1;
    if (x >= b) {
      x -= b;
      y += m;
    }
    m >>= 2;
  }
  return y;
}

bool inactive_is_low(std::uint64_t inactive, std::uint64_t active) {
  constexpr unsigned kPageShift = 12;
  const std::uint64_t gb = (inactive + active) >> (30 - kPageShift);
  const std::uint64_t inactive_ratio = gb ? int_sqrt(10 * gb) : 1;
  return inactive * inactive_ratio < active;
}

void prepare_scan_count(const LruCounts& lru, std::uint64_t free_pages, std::uint64_t total_high_wmark,
                        ScanBalance& sc) {
  // "When refaults are being observed ... Deactivate": no refaults here.
  if (!sc.force_deactivate) {
    sc.may_deactivate = 0;
    if (inactive_is_low(lru[kInactiveAnon], lru[kActiveAnon])) sc.may_deactivate |= kDeactivateAnon;
    if (inactive_is_low(lru[kInactiveFile], lru[kActiveFile])) sc.may_deactivate |= kDeactivateFile;
  } else {
    sc.may_deactivate = kDeactivateAnon | kDeactivateFile;
  }
  // "If we have plenty of inactive file pages that aren't thrashing, try to
  // reclaim those first before touching anonymous pages."
  sc.cache_trim_mode = (lru[kInactiveFile] >> sc.priority) && !(sc.may_deactivate & kDeactivateFile);
  // "Prevent the reclaimer from falling into the cache trap".
  const std::uint64_t file = lru[kActiveFile] + lru[kInactiveFile];
  sc.file_is_tiny = file + free_pages <= total_high_wmark && !(sc.may_deactivate & kDeactivateAnon) &&
                    (lru[kInactiveAnon] >> sc.priority);
}

LruCounts get_scan_count(const LruCounts& lru, const ScanBalance& sc) {
  enum { kEqual, kFract, kAnon, kFile } balance;
  std::uint64_t fraction[2] = {0, 0}, denominator = 1;
  if (!sc.can_reclaim_anon) {
    balance = kFile;  // "If we have no swap space, do not bother scanning anon folios."
  } else if (!sc.priority && sc.swappiness) {
    balance = kEqual;  // "close to OOM, scan both anon and file equally"
  } else if (sc.file_is_tiny) {
    balance = kAnon;
  } else if (sc.cache_trim_mode) {
    balance = kFile;
  } else {
    balance = kFract;
    std::uint64_t total_cost = sc.anon_cost + sc.file_cost;
    const std::uint64_t anon_cost = total_cost + sc.anon_cost;
    const std::uint64_t file_cost = total_cost + sc.file_cost;
    total_cost = anon_cost + file_cost;
    const std::uint64_t ap = sc.swappiness * (total_cost + 1) / (anon_cost + 1);
    const std::uint64_t fp = (200 - sc.swappiness) * (total_cost + 1) / (file_cost + 1);
    fraction[0] = ap;
    fraction[1] = fp;
    denominator = ap + fp;
  }
  LruCounts nr{};
  for (unsigned l = 0; l < 4; ++l) {
    const bool file = l >= kInactiveFile;
    std::uint64_t scan = lru[l] >> sc.priority;  // no memcg protection: scan = lruvec_size
    switch (balance) {
      case kEqual: break;
      case kFract:
        scan = scan * fraction[file] / denominator;  // div64_u64: the root memcg is online
        break;
      case kFile:
      case kAnon:
        if ((balance == kFile) != file) scan = 0;
        break;
    }
    nr[l] = scan;
  }
  return nr;
}

}  // namespace vmscan
}  // namespace mmusim
