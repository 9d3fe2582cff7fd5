// Unit tests of the page cache (models/os/mm/filemap.h): files with an
// identity share page-cache frames between mappings and processes, a
// private write copies, a shared write dirties, fault-around maps the
// cached neighbours, reclaim drops clean pages (writes dirty ones back) and
// a refault is major. Expected values are derived in the comments from the
// Linux 6.1 source (mm/memory.c, mm/filemap.c, mm/vmscan.c).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "models/os/os_model.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = MachineOs;
using Window = PageCache::Window;

constexpr VAddr kFile = 0x20000000, kFile2 = 0x30000000;

// ---------------------------------------------------------------- do_fault_around

// do_fault_around() (mm/memory.c, 6.1) with fault_around_bytes 65536:
//   nr_pages = 65536 >> 12 = 16; mask = ~(16 * 4096 - 1) & PAGE_MASK = ~0xffff
//   address = max(address & mask, vm_start)
//   off = ((vmf->address - address) >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
//   start_pgoff = vmf->pgoff - off
//   end_pgoff = start_pgoff - ((address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)) + PTRS_PER_PTE - 1
//   end_pgoff = min3(end_pgoff, vma_pages + vm_pgoff - 1, start_pgoff + nr_pages - 1)
TEST(FaultAround, AlignedWindowInsideTheVma) {
  // VMA 0x400000 + 256 pages, vm_pgoff 0; fault at 0x405000 (pgoff 5):
  // address = 0x400000, off = 5, start = 0; end = 0 - (0x400 & 511 = 0) +
  // 511 = 511, min3(511, 255, 15) = 15: pages 0..15.
  const Window w = PageCache::fault_around_window(0x405000, 5, 0x400000, 0, 256, 512);
  EXPECT_EQ(w.start_pgoff, 0u);
  EXPECT_EQ(w.end_pgoff, 15u);
}

TEST(FaultAround, StartClippedToTheVmaAndTheWindowSlides) {
  // VMA 0x401000 + 256 pages from file page 10; fault at 0x402000 (pgoff 11):
  // address = max(0x400000, 0x401000) = 0x401000, off = 1, start = 10;
  // end = 10 - (0x401 & 511 = 1) + 511 = 520, min3(520, 256 + 10 - 1 = 265,
  // 10 + 15 = 25) = 25: 16 pages 0x401000..0x410fff, one past the aligned
  // 64 KiB block (the nr_pages clip counts from the clipped start).
  const Window w = PageCache::fault_around_window(0x402000, 11, 0x401000, 10, 256, 512);
  EXPECT_EQ(w.start_pgoff, 10u);
  EXPECT_EQ(w.end_pgoff, 25u);
}

TEST(FaultAround, EndClippedToThePageTable) {
  // VMA 0x1f8000 + 64 pages, vm_pgoff 0; fault at 0x1f9000 (pgoff 1):
  // address = max(0x1f0000, 0x1f8000) = 0x1f8000, off = 1, start = 0;
  // end = 0 - (0x1f8 & 511 = 504) + 511 = 7 (the last PTE of the table, at
  // 0x1ff000), min3(7, 63, 15) = 7.
  const Window w = PageCache::fault_around_window(0x1f9000, 1, 0x1f8000, 0, 64, 512);
  EXPECT_EQ(w.start_pgoff, 0u);
  EXPECT_EQ(w.end_pgoff, 7u);
  // 2-level paging (PTRS_PER_PTE 1024, 4 MiB per table): at 0x3f9000 in a
  // VMA from 0x3f8000: end = 0 - (0x3f8 & 1023 = 1016) + 1023 = 7.
  const Window w32 = PageCache::fault_around_window(0x3f9000, 1, 0x3f8000, 0, 64, 1024);
  EXPECT_EQ(w32.end_pgoff, 7u);
}

TEST(FaultAround, EndClippedToTheVma) {
  // VMA 0x600000 + 4 pages from file page 3; fault at 0x600000 (pgoff 3):
  // start = 3; end = min3(3 - 0 + 511, 4 + 3 - 1 = 6, 18) = 6.
  const Window w = PageCache::fault_around_window(0x600000, 3, 0x600000, 3, 4, 512);
  EXPECT_EQ(w.start_pgoff, 3u);
  EXPECT_EQ(w.end_pgoff, 6u);
}

// ---------------------------------------------------------------- sharing

// filemap_fault(): a page not in the cache is read ("No page in the page
// cache at all": count_vm_event(PGMAJFAULT), ret = VM_FAULT_MAJOR); the
// second process's read finds it in do_fault_around -> filemap_map_pages,
// which maps it (do_set_pte: page_add_file_rmap) and returns
// VM_FAULT_NOPAGE: a minor fault, the same frame, map count 2.
TEST(PageCache, TwoProcessesShareTheCachedFrame) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R, "/lib/libc.so.6", 0, false);
  ASSERT_EQ(t.os.handle_fault(kFile, kReadFault).result, FaultResult::Handled);
  t.os.switch_to(2);
  t.os.mmap_file(kFile2, 4 * k4K, R | X, "/lib/libc.so.6", 0, false);
  ASSERT_EQ(t.os.handle_fault(kFile2, kReadFault).result, FaultResult::Handled);
  EXPECT_EQ(t.frame(1, kFile), t.frame(2, kFile2));
  EXPECT_EQ(t.os.mapcount(t.frame(1, kFile)), 2u);
  EXPECT_EQ(t.stat("os.faults.major"), 1.0);
  EXPECT_EQ(t.stat("os.faults.minor"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.misses"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.hits"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.files"), 1.0);
  EXPECT_EQ(t.stat("os.vmstat.pgmajfault"), 1.0);
  // do_set_pte(): mk_pte(page, vma->vm_page_prot), read-only, clean.
  EXPECT_FALSE(t.pte(1, kFile) & (pte::kRW | pte::kD));
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_EQ(t.os.process(2)->rss_pages, 1u);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveFile), 1u);  // filemap_add_folio -> folio_add_lru
  EXPECT_EQ(t.os.check_invariants(), "");
}

// Two mappings in one process: A = file pages 0..15 at kFile, B = pages 3..6
// at kFile2 (off=0x3000). A read of A+3: major. A read of A+5: window
// [0, 15] (FaultAround.AlignedWindowInsideTheVma) holds page 3, but its PTE
// is not none (skipped); page 5 is not cached: major. A read of B+0 (page
// 3): window [3, 6] (FaultAround.EndClippedToTheVma): page 3 is the
// faulting page (a hit), page 5 is mapped at B+0x2000 without a fault.
TEST(PageCache, TwoMappingsOfOneFileAtDifferentOffsetsShareFrames) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 16 * k4K, R, "/data/f", 0, false);
  t.os.mmap_file(kFile2, 4 * k4K, R, "/data/f", 0x3000, false);
  t.os.handle_fault(kFile + 3 * k4K, kReadFault);
  t.os.handle_fault(kFile + 5 * k4K, kReadFault);
  EXPECT_EQ(t.stat("os.page_cache.fault_around"), 0.0);
  t.os.handle_fault(kFile2, kReadFault);
  EXPECT_EQ(t.stat("os.page_cache.fault_around"), 1.0);
  EXPECT_EQ(t.frame(1, kFile2), t.frame(1, kFile + 3 * k4K));
  EXPECT_EQ(t.frame(1, kFile2 + 2 * k4K), t.frame(1, kFile + 5 * k4K));
  EXPECT_FALSE(t.pte(1, kFile2 + k4K) & pte::kP);  // page 4: not cached
  EXPECT_EQ(t.stat("os.faults.major"), 2.0);
  EXPECT_EQ(t.stat("os.faults.minor"), 1.0);
  EXPECT_EQ(t.os.mapcount(t.frame(1, kFile2 + 2 * k4K)), 2u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 4u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// A page stays in the cache after its last mapping goes (page_remove_rmap
// does not free a page-cache folio): a new mapping of the file hits.
TEST(PageCache, UnmappedPagesStayCached) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  const std::uint64_t pfn = t.frame(1, kFile);
  t.os.munmap(kFile, 4 * k4K);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 1.0);
  EXPECT_EQ(t.os.mapcount(pfn), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.mmap_file(kFile2, 4 * k4K, R, "/data/f", 0, false);
  t.os.handle_fault(kFile2, kReadFault);
  EXPECT_EQ(t.frame(1, kFile2), pfn);
  EXPECT_EQ(t.stat("os.page_cache.hits"), 1.0);
  EXPECT_EQ(t.stat("os.faults.major"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- writes

// A private mapping: the read maps the cache page read-only; the write is
// a write-protect fault, do_wp_page() -> not PageAnon -> wp_page_copy(): a
// new page with the copy, writable and dirty; the cache page loses the
// mapping but stays cached (os.faults.cow 1, cow_copy 1, private_copies 1).
// Another process's read still gets the cache page, not the copy.
TEST(PageCache, PrivateWriteCopiesThePage) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  const std::uint64_t cached = t.frame(1, kFile);
  EXPECT_FALSE(t.pte(1, kFile) & (pte::kRW | pte::kD));
  t.os.handle_fault(kFile, kWriteProtFault);
  const std::uint64_t copy = t.frame(1, kFile);
  EXPECT_NE(copy, cached);
  EXPECT_TRUE(has(t.pte(1, kFile), pte::kRW | pte::kD));
  EXPECT_EQ(t.os.mapcount(cached), 0u);
  EXPECT_EQ(t.stat("os.faults.cow"), 1.0);
  EXPECT_EQ(t.stat("os.faults.cow_copy"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.private_copies"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.dirty"), 0.0);
  EXPECT_EQ(t.os.lru_size(OsModel::kInactiveAnon), 1u);  // the copy is anonymous
  t.os.switch_to(2);
  t.os.mmap_file(kFile, 4 * k4K, R, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  EXPECT_EQ(t.frame(2, kFile), cached);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// do_fault(): a write fault in a private mapping is do_cow_fault(): the
// page is read into the cache (major: filemap_fault missed) and copied; the
// copy is mapped writable and dirty, the cache page not at all.
TEST(PageCache, WriteFaultInAPrivateMappingIsDoCowFault) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, false);
  t.os.handle_fault(kFile, kWriteFault);
  EXPECT_EQ(t.stat("os.faults.major"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.private_copies"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 1.0);
  EXPECT_TRUE(has(t.pte(1, kFile), pte::kRW | pte::kD));
  EXPECT_EQ(t.os.mapcount(t.frame(1, kFile)), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_TRUE(t.os.process(1)->vmas.begin()->second.anon_vma);  // anon_vma_prepare
  EXPECT_EQ(t.os.check_invariants(), "");
}

// MAP_SHARED: do_shared_fault() maps the cache page writable and dirty and
// marks it dirty (fault_dirty_shared_page); the other process's read maps
// the same frame read-only (vm_page_prot of a shared mapping with
// write-notify); its write is do_wp_page() -> wp_page_shared(): writable in
// place, no copy.
TEST(PageCache, SharedWritesGoToTheCachedFrame) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, true);
  t.os.handle_fault(kFile, kWriteFault);
  const std::uint64_t pfn = t.frame(1, kFile);
  EXPECT_TRUE(has(t.pte(1, kFile), pte::kRW | pte::kD));
  EXPECT_EQ(t.stat("os.page_cache.dirtied"), 1.0);
  t.os.switch_to(2);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, true);
  t.os.handle_fault(kFile, kReadFault);
  EXPECT_EQ(t.frame(2, kFile), pfn);
  EXPECT_FALSE(t.pte(2, kFile) & pte::kRW);
  t.os.handle_fault(kFile, kWriteProtFault);
  EXPECT_EQ(t.frame(2, kFile), pfn);
  EXPECT_TRUE(has(t.pte(2, kFile), pte::kRW | pte::kD));
  EXPECT_EQ(t.stat("os.faults.cow"), 0.0);
  EXPECT_EQ(t.stat("os.page_cache.private_copies"), 0.0);
  EXPECT_EQ(t.stat("os.page_cache.dirtied"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.dirty"), 1.0);
  EXPECT_EQ(t.os.mapcount(pfn), 2u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- fork

// dup_mmap(): a read-only file VMA has no anon_vma, so vma_needs_copy()
// skips it and the child faults: a hit. A private writable VMA with a
// copied page has one: copy_present_pte() maps the cache page in the child
// too (page_dup_file_rmap: map count 2).
TEST(PageCache, ForkSharesOrRefaultsCachePages) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R, "/data/text", 0, false);
  t.os.mmap_file(kFile2, 4 * k4K, R | W, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  t.os.handle_fault(kFile2, kReadFault);
  t.os.handle_fault(kFile2 + k4K, kWriteFault);  // do_cow_fault: anon_vma
  t.os.fork(2);
  EXPECT_FALSE(t.pte(2, kFile) & pte::kP);
  EXPECT_EQ(t.frame(2, kFile2), t.frame(1, kFile2));
  EXPECT_EQ(t.os.mapcount(t.frame(1, kFile2)), 2u);
  t.os.switch_to(2);
  t.os.handle_fault(kFile, kReadFault);
  EXPECT_EQ(t.frame(2, kFile), t.frame(1, kFile));
  EXPECT_EQ(t.stat("os.page_cache.hits"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.exit_current();
  EXPECT_EQ(t.os.mapcount(t.frame(1, kFile2)), 1u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- reclaim

// One clean cache page, young from its fault, alone on the inactive file
// list (no swap: anon lists are not scanned). folio_check_references():
// scan 1: referenced_ptes 1, not PG_referenced -> folio_set_referenced,
// FOLIOREF_KEEP (A cleared by folio_referenced); scan 2: referenced_ptes 0,
// PG_referenced and a file folio -> FOLIOREF_RECLAIM_CLEAN, clean: unmapped
// and freed without swap. Then the read refaults: filemap_fault misses
// (major), and the slot held a shadow entry (workingset_refault_file).
// Each reclaim() scans the page once: get_scan_count() gives a 1-page list
// "scan = lruvec_size >> sc->priority", 0 at every priority of the loop
// from DEF_PRIORITY (12) down but the last, 0, where it is 1.
TEST(PageCache, ReclaimDropsACleanPageAndTheRefaultIsMajor) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  const std::uint64_t free_before = t.os.buddy().free_pages();
  EXPECT_EQ(t.os.reclaim(1, false), 0u);  // scan 1: FOLIOREF_KEEP
  EXPECT_EQ(t.os.reclaim(1, false), 1u);  // scan 2: FOLIOREF_RECLAIM_CLEAN
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 2.0);
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 0.0);
  EXPECT_EQ(t.stat("os.page_cache.evicted"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.writeback"), 0.0);
  EXPECT_EQ(t.stat("os.swap.out"), 0.0);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 0.0);
  EXPECT_EQ(t.pte(1, kFile), 0u);  // try_to_unmap: pte_none, no swap entry
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.buddy().free_pages(), free_before + 1);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.handle_fault(kFile, kReadFault);
  EXPECT_EQ(t.stat("os.faults.major"), 2.0);
  EXPECT_EQ(t.stat("os.page_cache.refaults"), 1.0);
  EXPECT_EQ(t.stat("os.vmstat.pgrefault_file"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 1.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// A page two processes map, both PTEs young. reclaim(1): scan 1:
// folio_referenced() counts 2 (and clears both A bits), "referenced_ptes >
// 1" -> folio_set_referenced, FOLIOREF_ACTIVATE (pgactivate 1); scan 2: the
// inactive list is empty, shrink_active_list() deactivates it (pgdeactivate
// 1; PG_referenced stays, only folio_clear_active); scan 3: no young PTE,
// PG_referenced -> FOLIOREF_RECLAIM_CLEAN, clean: evicted from both
// mappings. Each step is one reclaim() (one list page is scanned only at
// priority 0, see above); step 2 runs because prepare_scan_count() finds
// the inactive file list low (inactive_is_low: 0 * ratio < 1 active), so
// may_deactivate allows shrink_active_list(); the inactive list, empty when
// get_scan_count() ran, is not scanned in that call. pgscan counts the
// inactive scans only (shrink_inactive_list's __count_vm_events(PGSCAN_*)).
TEST(PageCache, APageYoungInTwoMappingsIsActivated) {
  Os t;
  for (std::uint32_t pid : {1u, 2u}) {
    t.os.switch_to(pid);
    t.os.mmap_file(kFile, 4 * k4K, R, "/data/f", 0, false);
    t.os.handle_fault(kFile, kReadFault);
  }
  EXPECT_EQ(t.os.reclaim(1, false), 0u);  // scan 1: FOLIOREF_ACTIVATE
  EXPECT_EQ(t.os.reclaim(1, false), 0u);  // shrink_active_list: deactivated
  EXPECT_EQ(t.os.reclaim(1, false), 1u);  // scan 2: FOLIOREF_RECLAIM_CLEAN
  EXPECT_EQ(t.stat("os.vmstat.pgactivate"), 1.0);
  EXPECT_EQ(t.stat("os.vmstat.pgdeactivate"), 1.0);
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 2.0);
  EXPECT_EQ(t.pte(1, kFile), 0u);
  EXPECT_EQ(t.pte(2, kFile), 0u);
  EXPECT_EQ(t.os.process(2)->rss_pages, 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// A dirty shared page, young from its write fault. reclaim(1): scan 1:
// young, not PG_referenced -> folio_set_referenced, FOLIOREF_KEEP; scan 2:
// not young, PG_referenced (test-and-cleared) -> FOLIOREF_RECLAIM_CLEAN,
// and the folio is dirty: "Reclaim if clean, defer dirty folios to
// writeback", kept; scan 3: FOLIOREF_RECLAIM: written back (pageout(),
// os.page_cache.writeback) and dropped; the mapping loses its PTE.
// One scan per reclaim(), as above.
TEST(PageCache, ReclaimWritesADirtySharedPageBack) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, true);
  t.os.handle_fault(kFile, kWriteFault);
  EXPECT_EQ(t.os.reclaim(1, false), 0u);  // scan 1: FOLIOREF_KEEP
  EXPECT_EQ(t.os.reclaim(1, false), 0u);  // scan 2: clean would go, dirty is kept
  EXPECT_EQ(t.os.reclaim(1, false), 1u);  // scan 3: written back and dropped
  EXPECT_EQ(t.stat("os.vmstat.pgscan_kswapd"), 3.0);
  EXPECT_EQ(t.stat("os.page_cache.writeback"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.evicted"), 1.0);
  EXPECT_EQ(t.stat("os.page_cache.dirty"), 0.0);
  EXPECT_EQ(t.pte(1, kFile), 0u);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- invariants

// The checker catches a writable or dirty PTE of a cache page in a private
// mapping, and a cache frame that is also free.
TEST(PageCache, InvariantsCatchBrokenCachePages) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R | W, "/data/f", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  PAddr where = 0;
  const std::uint64_t e = t.pte(1, kFile, &where);
  t.mem.write64(where, e | pte::kRW);
  EXPECT_NE(t.os.check_invariants().find("writable mapping of the page-cache frame"), std::string::npos)
      << t.os.check_invariants();
  t.mem.write64(where, e | pte::kD);
  EXPECT_NE(t.os.check_invariants().find("dirty PTE of the clean page-cache frame"), std::string::npos)
      << t.os.check_invariants();
  t.mem.write64(where, e);
  EXPECT_EQ(t.os.check_invariants(), "");
  t.os.munmap(kFile, 4 * k4K);
  const std::uint64_t pfn = (e & kAddrBits) >> 12;
  t.os.page_allocator().buddy().free(pfn, 0);
  EXPECT_NE(t.os.check_invariants().find("is free in the buddy allocator"), std::string::npos)
      << t.os.check_invariants();
}

// Files are told apart by their identity: the same offset of another file
// is another page.
TEST(PageCache, DifferentFilesDoNotShare) {
  Os t;
  t.os.switch_to(1);
  t.os.mmap_file(kFile, 4 * k4K, R, "/data/a", 0, false);
  t.os.mmap_file(kFile2, 4 * k4K, R, "/data/b", 0, false);
  t.os.handle_fault(kFile, kReadFault);
  t.os.handle_fault(kFile2, kReadFault);
  EXPECT_NE(t.frame(1, kFile), t.frame(1, kFile2));
  EXPECT_EQ(t.stat("os.page_cache.misses"), 2.0);
  EXPECT_EQ(t.stat("os.page_cache.files"), 2.0);
  // A file mapping without identity is its own file: no page cache.
  t.os.mmap(0x40000000, 4 * k4K, R, true, false);
  t.os.handle_fault(0x40000000, kReadFault);
  EXPECT_EQ(t.stat("os.page_cache.pages"), 2.0);
  EXPECT_EQ(t.stat("os.faults.major"), 2.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// ---------------------------------------------------------------- random

// Random mappings of three files (private and shared, at several offsets),
// reads, writes, munmap, fork and exit in 8 MiB with 4 MiB of swap, so
// that kswapd and direct reclaim evict cache pages and swap copies: the
// whole-system invariants (page-cache frames included) hold after every
// step, and every cache page's frame is the one each mapping of it maps.
TEST(PageCache, RandomSharingUnderPressureKeepsTheInvariants) {
  Os t(8 * kMiB, ThpMode::Never, 4 * kMiB);
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  auto rnd = [&](std::uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  const char* files[] = {"/a", "/b", "/c"};
  std::vector<std::uint32_t> live = {1};
  std::uint32_t next_pid = 2;
  t.os.switch_to(1);
  for (int step = 0; step < 10000; ++step) {
    const std::uint32_t pid = live[rnd(live.size())];
    t.os.switch_to(pid);
    const VAddr slot = 0x10000000 + rnd(8) * 0x1000000;  // 8 slots of 16 MiB
    const unsigned op = static_cast<unsigned>(rnd(100));
    if (op < 8) {
      const std::uint64_t pages = 1 + rnd(600);
      t.os.mmap_file(slot, pages * k4K, static_cast<std::uint8_t>(R | (rnd(2) ? W : 0)), files[rnd(3)], rnd(64) * k4K,
                     rnd(2) != 0);
    } else if (op < 10) {
      t.os.munmap(slot, (1 + rnd(600)) * k4K);
    } else if (op < 11 && live.size() < 6) {
      t.os.fork(next_pid);
      if (t.os.alive(next_pid)) live.push_back(next_pid);
      ++next_pid;
    } else if (op < 12 && live.size() > 1) {
      t.os.exit_current();
      live.erase(std::find(live.begin(), live.end(), pid));
    } else {
      const Process* p = t.os.process(pid);
      auto it = p->vmas.upper_bound(slot + rnd(0x1000000));
      if (it == p->vmas.begin()) continue;
      const Vma& v = std::prev(it)->second;
      const VAddr va = v.start + rnd((v.end - v.start) >> 12) * k4K;
      const bool write = (v.prot & W) && rnd(3) == 0;
      const std::uint64_t e = t.pte(pid, va);
      std::uint32_t ec = write ? kWriteFault : kReadFault;
      if (e & pte::kP) {
        if (!write || (e & pte::kRW)) continue;  // no fault
        ec = kWriteProtFault;
      }
      const FaultOutcome o = t.os.handle_fault(va, ec);
      if (o.result == FaultResult::Killed) live.erase(std::find(live.begin(), live.end(), pid));
      if (live.empty()) break;
    }
    const std::string err = t.os.check_invariants();
    ASSERT_EQ(err, "") << "step " << step;
  }
  EXPECT_GT(t.stat("os.vmstat.kswapd_wakeups"), 0.0);
  EXPECT_GT(t.stat("os.page_cache.evicted"), 0.0);
  EXPECT_GT(t.stat("os.page_cache.refaults"), 0.0);
  EXPECT_GT(t.stat("os.page_cache.fault_around"), 0.0);
  EXPECT_GT(t.stat("os.page_cache.hits"), 0.0);
}

}  // namespace
}  // namespace mmusim
