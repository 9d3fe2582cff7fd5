// The page cache, after mm/filemap.c, the file-fault paths of mm/memory.c
// and the file side of mm/rmap.c and mm/vmscan.c:
//  - files: each file identity of the trace (@mmap ... file=ID) gets an
//    inode number, in order of first appearance; the page cache maps
//    (inode, page offset) to a frame (the xarray of address_space->i_pages).
//    A mapping without identity (plain "file") never reaches the page cache:
//    it keeps the older model of a private file page per mapping.
//  - filemap_fault(): a page found in the cache is a hit (a minor fault);
//    a page not in it is read from the disk into a new frame, added to the
//    inactive file LRU (filemap_add_folio -> folio_add_lru) and is a major
//    fault (VM_FAULT_MAJOR, PGMAJFAULT) costing os.fault_major_cycles plus
//    os.swap.latency for the read. A page whose eviction left a shadow entry
//    counts as a refault (workingset_refault -> WORKINGSET_REFAULT_FILE).
//  - do_read_fault(): first do_fault_around() (fault_around_bytes 64 KiB):
//    filemap_map_pages() maps, read-only and clean, every page of the
//    window that is in the cache and whose PTE is none; the faulting page
//    found there makes the fault a hit (VM_FAULT_NOPAGE), else __do_fault.
//  - do_cow_fault() (a write fault, private mapping): the cache page is
//    copied into a new anonymous page; wp_page_copy() does the same for a
//    write to a cache page mapped read-only. do_shared_fault() (a write,
//    MAP_SHARED) maps the cache page writable and dirty and marks it dirty
//    (fault_dirty_shared_page); a write to it mapped read-only is
//    wp_page_shared().
//  - reclaim (Reclaim, mm/vmscan.c): cache pages are on the file LRU, with
//    no single owner; folio_referenced() walks the mappings of the file
//    (rmap_walk_file over i_mmap: every VMA of every process mapping the
//    inode over the page), and ages it as folio_check_references does (a
//    page young in two mappings, or referenced twice, or executable, is
//    activated; a dirty page that was referenced is kept once, "defer dirty
//    folios to writeback"). Eviction unmaps every PTE (try_to_unmap: the
//    PTE becomes none), writes a dirty page back (pageout(), charged like
//    a swap-out write) and frees the frame (__remove_mapping), leaving a
//    shadow entry (workingset_eviction).
//  - a page being faulted in is locked (folio_lock) so that reclaim run by
//    an allocation of the same fault skips it (folio_trylock fails).
// Left out: file sizes (the fault-around window is not cut at i_size and
// every offset of a mapping exists), readahead (do_sync_mmap_readahead: a
// miss reads one page), file contents (zeros), large folios and
// filemap_map_pmd, the flusher threads (dirty pages are written back only
// by reclaim, never activated for the flusher as shrink_folio_list does
// outside kswapd), workingset activation by refault distance (a refaulted
// page starts inactive), write-protect for dirty tracking after writeback,
// unmapped pages of a file no longer mapped anywhere are kept (as Linux
// keeps them) until reclaim drops them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class PageAllocator;
class Tasks;
class AsidManager;
class KernelSpace;
class Reclaim;
class OomKiller;
class FaultCost;

class PageCache {
 public:
  // mm/memory.c: "static unsigned long fault_around_bytes __read_mostly =
  // rounddown_pow_of_two(65536);"
  static constexpr std::uint64_t kFaultAroundBytes = 65536;

  struct Page {
    std::uint64_t pfn = 0;
    std::uint32_t mapcount = 0;  // PTEs mapping it (page_mapcount)
    bool dirty = false;          // PG_dirty
  };
  // The pages do_fault_around() hands to filemap_map_pages(): page offsets
  // [start_pgoff, end_pgoff] of the file.
  struct Window {
    std::uint64_t start_pgoff = 0, end_pgoff = 0;
  };
  // What folio_referenced() found over every mapping of a page.
  struct Refs {
    unsigned young = 0;  // PTEs with A set (cleared now)
    bool exec = false;   // a mapping VMA is executable (VM_EXEC)
  };

  PageCache(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, Tasks& tasks,
            AsidManager& asids, KernelSpace& kspace, Reclaim& reclaim, OomKiller& oom, FaultCost& cost,
            FaultStats& stats);

  // os.page_cache.*.
  void register_stats(StatGroup& os);

  // The inode of a file identity, 1.. in order of first use.
  std::uint32_t inode_of(const std::string& id);

  // do_fault_around()'s arithmetic (mm/memory.c), for a fault at address
  // (page offset pgoff) in a VMA [vm_start, vm_start + vma_pages pages) of
  // file offset vm_pgoff, with ptrs_per_pte entries in a page table.
  static Window fault_around_window(VAddr address, std::uint64_t pgoff, VAddr vm_start, std::uint64_t vm_pgoff,
                                    std::uint64_t vma_pages, unsigned ptrs_per_pte,
                                    std::uint64_t fault_around_bytes = kFaultAroundBytes);

  // A page fault on a not-present PTE of a VMA with an inode (do_fault):
  // do_read_fault, do_cow_fault or do_shared_fault.
  FaultOutcome fault(Process& p, Vma& v, VAddr va, bool write, const std::string& access);
  // A write to a present, read-only PTE mapping a cache page in a shared
  // VMA (do_wp_page -> wp_page_shared): writable, dirty.
  void wp_page_shared(Process& p, const Vma& v, VAddr va, PAddr epa, std::uint64_t e);

  // wp_page_copy() of a cache page (the fault handler's copy-on-write path).
  void count_private_copy() { ++*m_private_copies; }

  // Lookups.
  bool cached(std::uint64_t pfn) const { return m_by_pfn.count(pfn) != 0; }
  const Page* find(std::uint32_t ino, std::uint64_t pgoff) const;
  const Page* page_of(std::uint64_t pfn) const;
  // (inode, page offset) of a cached frame.
  std::pair<std::uint32_t, std::uint64_t> key_of(std::uint64_t pfn) const { return m_by_pfn.at(pfn); }
  std::uint64_t nr_pages() const { return m_by_pfn.size(); }
  bool has_shadow(std::uint32_t ino, std::uint64_t pgoff) const { return m_shadows.count({ino, pgoff}) != 0; }
  template <class F>
  void for_each_page(F f) const {  // f(ino, pgoff, page)
    for (const auto& kv : m_pages) f(kv.first.first, kv.first.second, kv.second);
  }

  // The rmap of cache pages (page_add_file_rmap / page_remove_rmap); the
  // frame stays in the cache when its last mapping goes.
  void map_one(std::uint64_t pfn);
  void unmap_one(std::uint64_t pfn);

  // Reclaim's side. folio_lock / folio_unlock: a locked page is not
  // reclaimed (the fault that holds it may allocate and reclaim).
  bool locked(std::uint64_t pfn) const { return m_locked.count(pfn) != 0; }
  void lock(std::uint64_t pfn) { m_locked.insert(pfn); }
  void unlock(std::uint64_t pfn) { m_locked.erase(pfn); }
  // folio_referenced(): counts and clears the young PTEs of every mapping.
  Refs referenced(std::uint64_t pfn);
  // Unmaps every mapping (try_to_unmap), writes a dirty page back
  // (pageout), frees the frame and leaves a shadow entry; true if it was
  // dirty (a write). The caller takes it off the LRU first.
  bool evict(std::uint64_t pfn);

 private:
  // filemap_fault(): the cache page for (ino, pgoff), read in on a miss;
  // nullptr without memory. *major: it was read.
  Page* get_page(Process& p, std::uint32_t ino, std::uint64_t pgoff, bool* major);
  // do_fault_around -> filemap_map_pages; true if it mapped va itself.
  bool fault_around(Process& p, const Vma& v, VAddr va, std::uint64_t pgoff, bool* oom);
  // rmap_walk_file(): f(process, va, epa, e) for every PTE mapping pfn.
  template <class F>
  void for_each_mapping(std::uint64_t pfn, F f);

  const OsParams& m_p;
  PhysicalMemory& m_mem;
  PageTables& m_pt;
  PageAllocator& m_alloc;
  Tasks& m_tasks;
  AsidManager& m_asids;
  KernelSpace& m_kspace;
  Reclaim& m_reclaim;
  OomKiller& m_oom;
  FaultCost& m_cost;
  FaultStats& m_stats;
  std::map<std::string, std::uint32_t> m_inodes;
  std::map<std::pair<std::uint32_t, std::uint64_t>, Page> m_pages;  // (inode, pgoff) -> page
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::uint64_t>> m_by_pfn;
  std::set<std::pair<std::uint32_t, std::uint64_t>> m_shadows;  // evicted (workingset shadow entries)
  std::set<std::uint64_t> m_locked;
  Counter* m_hits = nullptr;
  Counter* m_misses = nullptr;
  Counter* m_refaults = nullptr;
  Counter* m_fault_around = nullptr;
  Counter* m_private_copies = nullptr;
  Counter* m_dirtied = nullptr;
  Counter* m_evicted = nullptr;
  Counter* m_writeback = nullptr;
};

}  // namespace mmusim
