#include "models/os/invariants.h"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/hugetlb.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"
#include "models/os/mm/vmscan.h"
#include "models/os/slab.h"

namespace mmusim {

std::string check_os_invariants(const OsParts& os) {
  const ZonedPageAllocator& buddy = os.alloc.buddy();
  const PageTables& pt = os.pt;
  if (std::string e = buddy.check_invariants(); !e.empty()) return "buddy: " + e;
  if (std::string e = os.slab.check_invariants(); !e.empty()) return "slab: " + e;
  const std::uint64_t n = buddy.num_pages();
  const std::uint64_t reserved = PageAllocator::kReservedLowPages;
  const std::uint64_t mask = pt.addr_mask();
  const unsigned levels = pt.levels();
  const std::uint64_t huge_zero = os.thp.huge_zero_pfn();
  enum : std::uint8_t { kNone, kKernel, kData };
  std::vector<std::uint8_t> kind(n, kNone);
  std::vector<std::uint32_t> refs(n, 0);
  std::map<std::uint64_t, std::uint32_t> swap_refs;  // slot -> swap entries
  std::map<std::uint64_t, std::uint32_t> thp_pmds;   // transparent huge page -> huge PMDs mapping it
  auto own_kernel = [&](std::uint64_t pfn, const std::string& what) {
    if (pfn >= n) return what + " frame " + hex_string(pfn) + " beyond memory";
    if (kind[pfn] != kNone) return what + " frame " + hex_string(pfn) + " is owned twice";
    kind[pfn] = kKernel;
    return std::string();
  };
  // With PAE the idle root is a pgd_cache slab object, owned by its slab.
  if (!pt.pae())
    if (std::string e = own_kernel(os.kspace.idle_root() >> kPageShift, "idle root"); !e.empty()) return e;
  for (std::uint64_t pfn : os.alloc.pinned())
    if (std::string e = own_kernel(pfn, "pinned (os.fragmentation)"); !e.empty()) return e;
  for (PAddr t : os.kspace.tables())
    if (std::string e = own_kernel(t >> kPageShift, "kernel-half page table"); !e.empty()) return e;
  if (huge_zero)
    for (std::uint64_t f = huge_zero; f < huge_zero + pt.huge_pages(); ++f)
      if (std::string e = own_kernel(f, "huge zero page"); !e.empty()) return e;
  // A free hugetlb page is owned by the pool, once; a mapped one by its mappings.
  std::set<std::uint64_t> pool_free;
  for (std::uint64_t head : os.hugetlb.free_list()) {
    if (!os.hugetlb.pool().count(head) || !pool_free.insert(head).second)
      return "hugetlb free list holds " + hex_string(head) + " twice or outside the pool";
    for (std::uint64_t f = head; f < head + Hugetlb::kPages; ++f)
      if (std::string e = own_kernel(f, "free hugetlb pool page"); !e.empty()) return e;
  }
  std::string slab_err;
  os.slab.for_each_page([&](std::uint64_t pfn) {
    if (slab_err.empty()) slab_err = own_kernel(pfn, "slab");
  });
  if (!slab_err.empty()) return slab_err;

  for (const auto& kv : os.tasks.all()) {
    const Process& p = *kv.second;
    if (!p.alive) {
      if (p.rss_pages || p.pgtable_pages || p.task_obj)
        return "dead pid " + std::to_string(p.pid) + " still owns memory";
      continue;
    }
    const std::string who = "pid " + std::to_string(p.pid) + ": ";
    std::uint64_t rss = 0, tables = 0, swaps = 0, huge_pmds = 0;
    if (p.vma_objs.size() != p.vmas.size())
      return who + std::to_string(p.vmas.size()) + " VMAs but " + std::to_string(p.vma_objs.size()) +
             " vm_area_struct objects";
    std::string e;
    std::function<void(PAddr, unsigned, VAddr)> walk = [&](PAddr table, unsigned level, VAddr base) {
      if (!e.empty()) return;
      ++tables;
      // A PAE PDPT is a pgd_cache slab object: the slab owns its frame.
      if (!(pt.pae() && level == 3)) e = own_kernel(table >> kPageShift, who + "page table");
      if (!e.empty()) return;
      const std::uint64_t span = pt.span_at(level);
      for (unsigned i = 0; i < pt.entries(level) && e.empty(); ++i) {
        const VAddr va = base + i * span;
        const std::uint64_t ent = pt.rd(table + i * pt.entry_bytes());
        if (level == levels && i >= pt.kernel_root_index()) {  // the shared kernel half
          if (ent != pt.rd(os.kspace.idle_root() + i * pt.entry_bytes()))
            e = who + "root entry " + std::to_string(i) + " differs from the kernel half of the idle root";
          continue;
        }
        if (!swpte::has_frame(ent) && level == 1 && (ent & (swpte::kSwapEntry | swpte::kFileEvicted))) {
          auto it = p.vmas.upper_bound(va);
          if (it == p.vmas.begin() || va >= std::prev(it)->second.end) {
            e = who + "swap entry at " + hex_string(va) + " lies outside every VMA";
            return;
          }
          if (ent & swpte::kSwapEntry) {
            ++swap_refs[os.swap.slot(ent)];
            ++swaps;
          }
          continue;
        }
        if (!swpte::has_frame(ent)) continue;
        if (level == levels && va >= pt.user_top()) {
          e = who + "entry above user space at " + hex_string(va);
          return;
        }
        const bool leaf = pt.is_leaf(level, ent);
        if (!leaf) {
          if (!(ent & pte::kP)) {
            e = who + "non-leaf entry not present at " + hex_string(va);
            return;
          }
          walk(ent & mask, level - 1, va);
          continue;
        }
        const std::uint64_t frames = span / kPageBytes;
        if (level == 2) {  // a huge PMD: one PTE page deposited with it
          ++huge_pmds;
          if (!p.deposited.count(va)) {
            e = who + "huge PMD at " + hex_string(va) + " without a deposited page table";
            return;
          }
        }
        auto it = p.vmas.upper_bound(va);
        const Vma* v = it == p.vmas.begin() ? nullptr : &std::prev(it)->second;
        if (!v || va < v->start || va + span > v->end) {
          e = who + "page at " + hex_string(va) + " lies outside every VMA";
          return;
        }
        const std::uint64_t pfn = (ent & mask) >> kPageShift;
        if (os.thp.is_zero_pfn(pfn)) {
          // A zero page: read-only, in no rss and no map count.
          if (ent & pte::kRW) e = who + "writable mapping of the zero page at " + hex_string(va);
          else if (v->file || v->hugetlb)
            e = who + "zero page mapped at " + hex_string(va) + " outside anonymous memory";
          else if (level == 2 && pfn != huge_zero)
            e = who + "huge mapping at " + hex_string(va) + " of part of the huge zero page";
          continue;
        }
        if (level == 2) ++thp_pmds[pfn];
        if ((level == 3) != v->hugetlb || (level == 3 && os.hugetlb.head(pfn) != pfn)) {
          e = who + "page at " + hex_string(va) +
              (v->hugetlb ? " in a hugetlb VMA is not a 1 GiB pool page" : " is a 1 GiB page outside a hugetlb VMA");
          return;
        }
        // A page-cache frame: mapped only where a VMA of its file covers its
        // offset; writable only in a shared VMA; a dirty PTE only of a page
        // marked dirty (do_shared_fault, wp_page_shared mark it first).
        const PageCache::Page* cached = os.cache.page_of(pfn);
        if (cached) {
          const auto key = os.cache.key_of(pfn);
          if (level != 1 || v->ino != key.first || v->pgoff + ((va - v->start) >> kPageShift) != key.second)
            e = who + "page-cache frame " + hex_string(pfn) + " (inode " + std::to_string(key.first) + ", page " +
                std::to_string(key.second) + ") mapped at " + hex_string(va) + " where its file is not";
          else if ((ent & pte::kRW) && !v->shared)
            e = who + "writable mapping of the page-cache frame " + hex_string(pfn) + " in a private VMA at " +
                hex_string(va);
          else if ((ent & pte::kD) && !cached->dirty)
            e = who + "dirty PTE of the clean page-cache frame " + hex_string(pfn) + " at " + hex_string(va);
          if (!e.empty()) return;
        }
        if (ent & pte::kP) {
          if (!(v->prot & (kProtRead | kProtWrite | kProtExec)))
            e = who + "present page at " + hex_string(va) + " in a PROT_NONE VMA";
          else if ((ent & pte::kRW) && !(v->prot & kProtWrite))
            e = who + "writable page at " + hex_string(va) + " in a read-only VMA";
          else if ((ent & pte::kRW) &&
                   (level == 2 ? !os.rmap.huge_exclusive(pfn) : os.rmap.mapcount(pfn) > 1 && !(cached && v->shared)))
            e = who + "writable mapping of the shared frame " + hex_string(pfn) + " at " + hex_string(va);
          if (!e.empty()) return;
        }
        for (std::uint64_t f = pfn; f < pfn + frames; ++f) {
          if (f >= n || kind[f] == kKernel) {
            e = who + "page at " + hex_string(va) + " maps frame " + hex_string(f) +
                " that is a kernel page or beyond memory";
            return;
          }
          kind[f] = kData;
          ++refs[f];
        }
        if (level != 3) rss += frames;  // hugetlb pages are not in rss
      }
    };
    walk(p.root, levels, 0);
    if (!e.empty()) return e;
    if (huge_pmds != p.deposited.size())
      return who + std::to_string(p.deposited.size()) + " deposited page tables for " + std::to_string(huge_pmds) +
             " huge PMDs";
    for (const auto& dep : p.deposited) {
      ++tables;
      if (std::string err = own_kernel(dep.second >> kPageShift, who + "deposited page table"); !err.empty())
        return err;
      for (unsigned i = 0; i < pt.entries(1); ++i)
        if (pt.rd(dep.second + i * pt.entry_bytes()))
          return who + "deposited page table of " + hex_string(dep.first) + " is not empty";
    }
    if (swaps != p.swap_pages)
      return who + "swap_pages " + std::to_string(p.swap_pages) + " but " + std::to_string(swaps) + " swap entries";
    if (rss != p.rss_pages) return who + "rss " + std::to_string(p.rss_pages) + " but maps " + std::to_string(rss);
    if (tables != p.pgtable_pages)
      return who + "pgtable_pages " + std::to_string(p.pgtable_pages) + " but has " + std::to_string(tables);
  }

  // The page cache owns its frames, mapped or not: never free, never a
  // kernel frame, on a file LRU list, counted by their PTEs, and not also
  // a shadow entry.
  std::string cache_err;
  os.cache.for_each_page([&](std::uint32_t ino, std::uint64_t pgoff, const PageCache::Page& pg) {
    if (!cache_err.empty()) return;
    const std::string what = "page-cache page (inode " + std::to_string(ino) + ", page " + std::to_string(pgoff) +
                             ") frame " + hex_string(pg.pfn);
    if (pg.pfn >= n || pg.pfn < reserved || kind[pg.pfn] == kKernel) {
      cache_err = what + " is reserved, a kernel frame or beyond memory";
      return;
    }
    if (buddy.is_free(pg.pfn)) cache_err = what + " is free in the buddy allocator";
    else if (buddy.on_pcp(pg.pfn)) cache_err = what + " is free on a per-CPU list";
    else if (refs[pg.pfn] != pg.mapcount)
      cache_err =
          what + " has map count " + std::to_string(pg.mapcount) + " but " + std::to_string(refs[pg.pfn]) + " mappings";
    else if (os.reclaim.lru_of(pg.pfn) != Reclaim::kInactiveFile && os.reclaim.lru_of(pg.pfn) != Reclaim::kActiveFile)
      cache_err = what + " is not on a file LRU list";
    else if (os.cache.has_shadow(ino, pgoff)) cache_err = what + " is also a shadow entry";
    kind[pg.pfn] = kData;
  });
  if (!cache_err.empty()) return cache_err;

  for (std::uint64_t pfn = 0; pfn < n; ++pfn) {
    // A page on a per-CPU list is free (not in use, not leaked), though the
    // buddy allocator counts it as allocated.
    const bool free = buddy.is_free(pfn) || buddy.on_pcp(pfn);
    if (pfn < reserved) {
      if (free || kind[pfn] != kNone) return "reserved frame " + hex_string(pfn) + " is free or in use";
      continue;
    }
    if (free && kind[pfn] != kNone)
      return "frame " + hex_string(pfn) + " is free in the " +
             (buddy.on_pcp(pfn) ? "per-CPU lists" : "buddy allocator") + " but in use";
    if (!free && kind[pfn] == kNone) return "frame " + hex_string(pfn) + " is allocated but owned by nobody (leak)";
    // The frames of a hugetlb page share the map count of its first frame.
    const std::uint64_t head = os.hugetlb.head(pfn);
    const std::uint32_t maps = os.rmap.mapcount(head == UINT64_MAX ? pfn : head);
    if (kind[pfn] == kData && refs[pfn] != maps)
      return "frame " + hex_string(pfn) + " is mapped " + std::to_string(refs[pfn]) + " times but its map count is " +
             std::to_string(maps) + (refs[pfn] > maps ? " (aliased)" : "");
    if (head != UINT64_MAX && kind[pfn] != (pool_free.count(head) ? kKernel : kData))
      return "hugetlb pool frame " + hex_string(pfn) + " is neither free in the pool nor mapped";
  }
  // A huge page shared by fork (copy_huge_pmd) counts its huge PMDs.
  for (const auto& kv : thp_pmds)
    if (os.rmap.huge_pmds(kv.first) != kv.second)
      return "huge page " + hex_string(kv.first) + " is mapped by " + std::to_string(kv.second) +
             " huge PMDs but its compound map count is " + std::to_string(os.rmap.huge_pmds(kv.first));
  const SwapDevice* dev = os.swap.device();
  std::uint64_t slots_used = 0;
  for (const auto& kv : swap_refs) {
    if (!dev || dev->count(kv.first) != kv.second)
      return "swap slot " + std::to_string(kv.first) + " is held by " + std::to_string(kv.second) +
             " entries but its count is " + std::to_string(dev ? dev->count(kv.first) : 0);
    ++slots_used;
  }
  if (dev && slots_used != dev->used())
    return std::to_string(dev->used()) + " swap slots in use but " + std::to_string(slots_used) + " referenced (leak)";
  std::string lru_err;
  os.reclaim.for_each_lru_pfn([&](std::uint64_t pfn) {
    if (lru_err.empty() && (pfn >= n || kind[pfn] != kData))
      lru_err = "LRU page " + hex_string(pfn) + " is not a mapped data frame";
  });
  if (!lru_err.empty()) return lru_err;
  for (const auto& kv : os.rmap.shared())
    if (kv.first >= n || refs[kv.first] != kv.second)
      return "shared frame " + hex_string(kv.first) + " has map count " + std::to_string(kv.second) + " but " +
             std::to_string(kv.first < n ? refs[kv.first] : 0) + " mappings";
  return "";
}

}  // namespace mmusim
