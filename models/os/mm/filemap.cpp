#include "models/os/mm/filemap.h"

#include <algorithm>
#include <stdexcept>

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/fault_cost.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/oom_kill.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/vmscan.h"

namespace mmusim {

PageCache::PageCache(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc, Tasks& tasks,
                     AsidManager& asids, KernelSpace& kspace, Reclaim& reclaim, OomKiller& oom, FaultCost& cost,
                     FaultStats& stats)
    : m_p(p),
      m_mem(mem),
      m_pt(pt),
      m_alloc(alloc),
      m_tasks(tasks),
      m_asids(asids),
      m_kspace(kspace),
      m_reclaim(reclaim),
      m_oom(oom),
      m_cost(cost),
      m_stats(stats) {}

void PageCache::register_stats(StatGroup& os) {
  StatGroup& g = os.group("page_cache");
  g.formula("pages", "pages in the page cache (nr_file_pages of the files with an identity)",
            [this] { return static_cast<double>(m_by_pfn.size()); });
  g.formula("dirty", "page-cache pages dirty (nr_dirty)", [this] {
    std::uint64_t n = 0;
    for (const auto& kv : m_pages) n += kv.second.dirty;
    return static_cast<double>(n);
  });
  g.formula("files", "files with an identity the trace mapped",
            [this] { return static_cast<double>(m_inodes.size()); });
  m_hits = &g.counter("hits", "file faults that found their page in the page cache (minor faults)");
  m_misses = &g.counter("misses",
                        "file faults that read their page from the disk (filemap_fault: VM_FAULT_MAJOR, in "
                        "os.faults.major)");
  m_refaults = &g.counter("refaults", "misses of pages evicted before (workingset_refault_file)");
  m_fault_around =
      &g.counter("fault_around", "pages other than the faulting one mapped by do_fault_around (filemap_map_pages)");
  m_private_copies =
      &g.counter("private_copies",
                 "writes to a private file mapping that copied the page-cache page (do_cow_fault, wp_page_copy)");
  m_dirtied = &g.counter("dirtied", "page-cache pages dirtied by a write through a shared mapping");
  m_evicted = &g.counter("evicted", "page-cache pages reclaimed (unmapped, dropped; a shadow entry left)");
  m_writeback = &g.counter("writeback", "dirty page-cache pages written back by reclaim (pageout)");
}

std::uint32_t PageCache::inode_of(const std::string& id) {
  auto it = m_inodes.find(id);
  if (it != m_inodes.end()) return it->second;
  const auto ino = static_cast<std::uint32_t>(m_inodes.size() + 1);
  m_inodes.emplace(id, ino);
  return ino;
}

PageCache::Window PageCache::fault_around_window(VAddr address, std::uint64_t pgoff, VAddr vm_start,
                                                 std::uint64_t vm_pgoff, std::uint64_t vma_pages, unsigned ptrs_per_pte,
                                                 std::uint64_t fault_around_bytes) {
  // do_fault_around(), mm/memory.c (6.1), line by line.
  const std::uint64_t nr_pages = fault_around_bytes >> kPageShift;
  const std::uint64_t mask = ~(nr_pages * kPageBytes - 1) & ~(kPageBytes - 1);
  const VAddr start = std::max<VAddr>(address & mask, vm_start);
  const std::uint64_t off = ((address - start) >> kPageShift) & (ptrs_per_pte - 1);
  Window w;
  w.start_pgoff = pgoff - off;
  // "end_pgoff is either the end of the page table, the end of the vma or
  // nr_pages from start_pgoff, depending what is nearest."
  const std::uint64_t table_end = w.start_pgoff - ((start >> kPageShift) & (ptrs_per_pte - 1)) + ptrs_per_pte - 1;
  w.end_pgoff = std::min({table_end, vma_pages + vm_pgoff - 1, w.start_pgoff + nr_pages - 1});
  return w;
}

const PageCache::Page* PageCache::find(std::uint32_t ino, std::uint64_t pgoff) const {
  auto it = m_pages.find({ino, pgoff});
  return it == m_pages.end() ? nullptr : &it->second;
}

const PageCache::Page* PageCache::page_of(std::uint64_t pfn) const {
  auto it = m_by_pfn.find(pfn);
  return it == m_by_pfn.end() ? nullptr : find(it->second.first, it->second.second);
}

void PageCache::map_one(std::uint64_t pfn) { ++m_pages.at(m_by_pfn.at(pfn)).mapcount; }

void PageCache::unmap_one(std::uint64_t pfn) {
  Page& pg = m_pages.at(m_by_pfn.at(pfn));
  if (pg.mapcount == 0) throw std::logic_error("OS model: unmapping the page-cache page " + hex_string(pfn) + " twice");
  --pg.mapcount;
}

PageCache::Page* PageCache::get_page(Process& p, std::uint32_t ino, std::uint64_t pgoff, bool* major) {
  const auto key = std::make_pair(ino, pgoff);
  auto it = m_pages.find(key);
  if (it != m_pages.end()) {
    *major = false;
    ++*m_hits;
    return &it->second;
  }
  // filemap_fault(): "No page in the page cache at all": PGMAJFAULT,
  // VM_FAULT_MAJOR; __filemap_get_folio(FGP_CREAT) allocates the folio and
  // filemap_add_folio() inserts it (workingset_refault() if the slot held a
  // shadow entry) and puts it on the inactive file LRU; filemap_read_folio
  // reads it (zeros: the model has no file contents).
  std::uint64_t pfn = 0;
  if (!m_alloc.alloc_frame(0, &pfn, &p)) return nullptr;
  m_kspace.kmap_atomic(pfn);  // the read lands in a page the kernel maps to fill
  m_mem.zero_frame(pfn);
  if (m_shadows.erase(key)) {
    ++*m_refaults;
    ++m_reclaim.vm().pgrefault_file;  // os.vmstat.pgrefault_file counts every re-read of a dropped file page
  }
  Page& pg = m_pages[key];
  pg.pfn = pfn;
  m_by_pfn[pfn] = key;
  m_reclaim.lru_add_file(pfn);
  *major = true;
  ++*m_misses;
  return &pg;
}

bool PageCache::fault_around(Process& p, const Vma& v, VAddr va, std::uint64_t pgoff, bool* oom) {
  const Window w = fault_around_window(va, pgoff, v.start, v.pgoff, (v.end - v.start) >> kPageShift, m_pt.entries(1));
  // filemap_map_pages() -> do_set_pte(): "entry = mk_pte(page,
  // vma->vm_page_prot)", which is read-only for a private mapping and, with
  // write-notify, for a shared one; young (x86 does not want old prefaulted
  // PTEs), clean. Only pages in the cache whose PTE is none.
  const std::uint64_t flags = m_pt.leaf_flags(v, PageSize::k4K) & ~(pte::kRW | pte::kD);
  bool self = false;
  for (auto it = m_pages.lower_bound({v.ino, w.start_pgoff});
       it != m_pages.end() && it->first.first == v.ino && it->first.second <= w.end_pgoff;) {
    const std::uint64_t off = it->first.second;
    const std::uint64_t pfn = it->second.pfn;
    const VAddr a = v.start + ((off - v.pgoff) << kPageShift);
    PAddr epa = 0;
    if (m_pt.entry_at(p, a, 1, &epa) != 0) {  // !pte_none(*vmf->pte)
      ++it;
      continue;
    }
    // A page-table allocation may reclaim: the page is locked, and the
    // iteration restarts from the next offset.
    m_locked.insert(pfn);
    const bool ok = m_pt.map(p, a, pfn, PageSize::k4K, flags);
    m_locked.erase(pfn);
    if (!ok) {
      *oom = true;
      return self;
    }
    map_one(pfn);
    ++p.rss_pages;
    if (a == va) self = true;  // "We're about to handle the fault": VM_FAULT_NOPAGE
    else ++*m_fault_around;
    it = m_pages.lower_bound({v.ino, off + 1});
  }
  return self;
}

FaultOutcome PageCache::fault(Process& p, Vma& v, VAddr va, bool write, const std::string& access) {
  FaultOutcome out;
  va &= ~(kPageBytes - 1);
  const std::uint64_t pgoff = v.pgoff + ((va - v.start) >> kPageShift);
  auto done = [&](bool major, Cycles extra) {
    if (major) {
      ++*m_stats.major;
      out.cost_cycles = m_p.fault_major_cycles + m_p.swap_latency_cycles + extra;
    } else {
      ++*m_stats.minor;
      out.cost_cycles = m_p.fault_minor_cycles + extra;
    }
    return out;
  };
  if (!write) {
    // do_read_fault(): do_fault_around() first ("fault_around_bytes >>
    // PAGE_SHIFT > 1"), then __do_fault() if it did not map the page.
    bool oom = false;
    if (fault_around(p, v, va, pgoff, &oom)) {
      ++*m_hits;
      return done(false, 0);
    }
    if (oom) return m_oom.kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
  }
  bool major = false;
  Page* pg = get_page(p, v.ino, pgoff, &major);
  if (!pg) return m_oom.kill_faulting(p, "out of memory (OOM killer), " + access);
  const std::uint64_t pfn = pg->pfn;
  m_locked.insert(pfn);  // __do_fault returns the folio locked
  const std::uint64_t flags = m_pt.leaf_flags(v, PageSize::k4K);
  if (write && !v.shared) {
    // do_cow_fault(): anon_vma_prepare, a new page (alloc_page_vma),
    // copy_user_highpage from the cache page, finish_fault maps the copy
    // (maybe_mkwrite(pte_mkdirty)); the cache page is unlocked and put.
    v.anon_vma = true;
    std::uint64_t copy = 0;
    if (!m_alloc.alloc_frame(0, &copy, &p)) {
      m_locked.erase(pfn);
      return m_oom.kill_faulting(p, "out of memory (OOM killer), " + access);
    }
    m_kspace.kmap_atomic(pfn);
    m_kspace.kmap_atomic(copy);
    for (unsigned o = 0; o < kPageBytes; o += 8)
      m_mem.write64((copy << kPageShift) + o, m_mem.read64((pfn << kPageShift) + o));
    m_cost.ktouch(pfn << kPageShift, kPageBytes, false);
    m_cost.ktouch(copy << kPageShift, kPageBytes, true);
    const bool ok = m_pt.map(p, va, copy, PageSize::k4K, flags);
    m_locked.erase(pfn);
    if (!ok) {
      m_alloc.buddy().free(copy, 0);
      return m_oom.kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
    }
    ++p.rss_pages;
    m_reclaim.lru_add(copy, p, va, v);
    ++*m_private_copies;
    return done(major, m_cost.copy_cycles(1));
  }
  // do_read_fault() -> finish_fault(): read-only and clean (vm_page_prot);
  // do_shared_fault(): writable and dirty, and fault_dirty_shared_page()
  // marks the page dirty.
  const bool ok = m_pt.map(p, va, pfn, PageSize::k4K, write ? flags : flags & ~(pte::kRW | pte::kD));
  m_locked.erase(pfn);
  if (!ok) return m_oom.kill_faulting(p, "out of memory for page tables (OOM killer), " + access);
  map_one(pfn);
  ++p.rss_pages;
  if (write && !pg->dirty) {
    pg->dirty = true;
    ++*m_dirtied;
  }
  return done(major, 0);
}

void PageCache::wp_page_shared(Process&, const Vma& v, VAddr, PAddr epa, std::uint64_t e) {
  // do_wp_page() on a shared mapping: wp_page_shared() -> fault_dirty_shared_page
  // and wp_page_reuse(): "entry = maybe_mkwrite(pte_mkdirty(entry), vma)".
  m_pt.pte_map(epa & ~(kPageBytes - 1));
  m_pt.wr(epa, (e & m_pt.addr_mask()) | m_pt.leaf_flags(v, PageSize::k4K));
  m_cost.ktouch(epa, m_pt.entry_bytes(), true);
  Page& pg = m_pages.at(m_by_pfn.at((e & m_pt.addr_mask()) >> kPageShift));
  if (!pg.dirty) {
    pg.dirty = true;
    ++*m_dirtied;
  }
}

template <class F>
void PageCache::for_each_mapping(std::uint64_t pfn, F f) {
  // rmap_walk_file(): the VMAs of mapping->i_mmap that cover the page's
  // offset, in every process (pid order); a private VMA may map a copy
  // there instead.
  const auto key = m_by_pfn.at(pfn);
  for (const auto& kv : m_tasks.all()) {
    Process& p = *kv.second;
    if (!p.alive) continue;
    for (const auto& vv : p.vmas) {
      const Vma& v = vv.second;
      if (v.ino != key.first || key.second < v.pgoff || key.second - v.pgoff >= (v.end - v.start) >> kPageShift)
        continue;
      const VAddr a = v.start + ((key.second - v.pgoff) << kPageShift);
      PAddr epa = 0;
      const std::uint64_t e = m_pt.entry_at(p, a, 1, &epa);
      if (!epa || !swpte::has_frame(e) || ((e & m_pt.addr_mask()) >> kPageShift) != pfn) continue;
      f(p, v, a, epa, e);
    }
  }
}

PageCache::Refs PageCache::referenced(std::uint64_t pfn) {
  // folio_referenced() -> folio_referenced_one(): ptep_clear_flush_young,
  // which on x86 clears A without a flush (ptep_clear_flush_young).
  Refs r;
  for_each_mapping(pfn, [&](Process&, const Vma& v, VAddr, PAddr epa, std::uint64_t e) {
    m_pt.pte_map(epa & ~(kPageBytes - 1));
    if (e & pte::kA) {
      ++r.young;
      m_pt.wr(epa, e & ~pte::kA);
    }
    if (v.prot & kProtExec) r.exec = true;
  });
  return r;
}

bool PageCache::evict(std::uint64_t pfn) {
  // shrink_folio_list(): try_to_unmap() (each PTE cleared, the TLB entry
  // shot down), pageout() for a dirty folio, __remove_mapping() ->
  // workingset_eviction() leaves the shadow entry, the frame is freed.
  for_each_mapping(pfn, [&](Process& p, const Vma&, VAddr a, PAddr epa, std::uint64_t) {
    m_pt.pte_map(epa & ~(kPageBytes - 1));
    m_pt.wr(epa, 0);
    m_asids.shootdown(p, a, a + kPageBytes);
    --p.rss_pages;
    unmap_one(pfn);
  });
  const auto key = m_by_pfn.at(pfn);
  const Page pg = m_pages.at(key);
  if (pg.mapcount != 0)
    throw std::logic_error("OS model: page-cache page " + hex_string(pfn) + " still mapped " +
                           std::to_string(pg.mapcount) + " times after try_to_unmap");
  if (pg.dirty) ++*m_writeback;
  ++*m_evicted;
  m_shadows.insert(key);
  m_pages.erase(key);
  m_by_pfn.erase(pfn);
  m_alloc.buddy().free(pfn, 0);
  return pg.dirty;
}

}  // namespace mmusim
