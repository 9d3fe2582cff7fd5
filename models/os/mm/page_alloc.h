// The page allocator, after mm/page_alloc.c: physical memory of os.memory
// bytes handed at boot to the zoned buddy allocators (zone.h), minus the
// first 1 MiB, which x86 Linux reserves (arch/x86/kernel/setup.c, "reserve
// low 1MB"); with ia32 only the first 4 GiB, as a non-PAE kernel (4-byte
// entries hold no frame above 4 GiB; PSE-36 is not used).
//  - __alloc_pages(): the low watermark first; failing that kswapd is woken
//    (Reclaim, run at once) and the allocation may go down to min; failing
//    that, direct reclaim of SWAP_CLUSTER_MAX pages, up to
//    MAX_RECLAIM_RETRIES rounds while they make progress; a GFP_KERNEL or
//    GFP_HIGHUSER allocation never goes below min. Allocations made by
//    reclaim itself run with PF_MEMALLOC (ALLOC_NO_WATERMARKS).
//  - alloc_frame(): then __alloc_pages_may_oom: the OOM killer (OomKiller)
//    frees a victim's memory and the allocation is retried.
//  - os.fragmentation: at boot, one frame pinned in randomly chosen free
//    2 MiB blocks until the target share of free memory lies outside
//    order-9 blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "models/common/stats.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"
#include "models/os/zone.h"

namespace mmusim {

class OomKiller;
class Reclaim;

class PageAllocator {
 public:
  static constexpr std::uint64_t kReservedLowPages = 256;  // x86 reserves the low 1 MiB

  PageAllocator(const OsParams& p, OomKiller& oom, Reclaim& reclaim);

  // Boot: the zones over the managed frames, and their statistics.
  void boot(StatGroup& os);
  // os.buddy.free_pages and os.buddy.free_blocks.*; os.fragmentation.*.
  void register_buddy_stats(StatGroup& os);
  void register_fragmentation_stats(StatGroup& os);
  // os.fragmentation at boot.
  void fragment_memory();

  // A block of 2^order frames; OOM-kills processes other than `asking`
  // (nullptr: any) as needed. `highest` is the gfp zone modifier: HighMem
  // for user pages (GFP_HIGHUSER) and HIGHPTE PTE pages, Normal for
  // GFP_KERNEL. False when out of memory.
  bool alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking, ZoneType highest = ZoneType::HighMem);
  // The watermark path of __alloc_pages; nullopt means out of memory.
  std::optional<std::uint64_t> page_alloc(unsigned order, ZoneType highest);

  ZonedPageAllocator& buddy() { return *m_buddy; }
  const ZonedPageAllocator& buddy() const { return *m_buddy; }
  // Frames pinned by os.fragmentation.
  const std::vector<std::uint64_t>& pinned() const { return m_pinned; }

 private:
  const OsParams& m_p;
  OomKiller& m_oom;
  Reclaim& m_reclaim;
  std::unique_ptr<ZonedPageAllocator> m_buddy;
  std::vector<std::uint64_t> m_pinned;
};

}  // namespace mmusim
