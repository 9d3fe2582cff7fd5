// OsModel, the reserved 1 GiB hugetlb pool (os.hugetlb_1g), as Linux's
// mm/hugetlb.c runs it with "hugepagesz=1G hugepages=N" on the kernel command
// line and mmap(MAP_HUGETLB | MAP_HUGE_1GB).
//
// Models:
//  - Boot (hugetlb_hstate_alloc_pages -> alloc_bootmem_huge_page): up to N
//    1 GiB-aligned ranges that are entirely free are taken from the buddy
//    allocator, top-down as memblock allocates; if fewer fit, the pool holds
//    what fit and one warning line goes to stderr, as Linux prints
//    "HugeTLB: allocating N of page size 1.00 GiB failed".
//  - The pool's free list (hugepage_freelists): the last page reserved (the
//    lowest) or freed is taken first. Pool pages never return to the buddy
//    allocator, are not on an LRU list, are never reclaimed or swapped and
//    are not counted in rss (Linux counts them in neither RSS nor MemFree).
//  - A hugetlb VMA: 1 GiB-aligned start, length rounded up to 1 GiB;
//    munmap/mprotect/MAP_FIXED that would split one of its 1 GiB pages fail
//    with EINVAL (hugetlb_vm_op_split): an OsError here.
//  - A fault in it (hugetlb_fault -> hugetlb_no_page) maps a whole zeroed
//    1 GiB page with a PDPTE with PS = 1 (SDM 4.5, table 4-16 "Format of a
//    Page-Directory-Pointer-Table Entry (PDPTE) that Maps a 1-GByte Page"),
//    charged fault_cost.minor + 262144 * zero_page_per_4k like a THP fault
//    (with os.fault_model: accesses, the zeroing and copying are kernel
//    accesses instead, 4 KiB at a time).
//    An empty pool kills the process with SIGBUS (VM_FAULT_SIGBUS).
//  - fork shares a private hugetlb page copy-on-write (copy_hugetlb_page_range):
//    read-only in both, a map count as for 4 KiB COW frames; a write by one of
//    several sharers takes a new pool page and copies (hugetlb_wp), charged
//    fault_cost.minor + 262144 * cow_copy_per_4k, SIGBUS when the pool is
//    empty; the last sharer reuses the page.
//
// Leaves out: hugetlb reservations at mmap time (resv_map: the mapping
// behaves as with MAP_NORESERVE, so an empty pool shows at the fault),
// surplus pages and nr_overcommit_hugepages, hugetlbfs files and shared
// mappings, 2 MiB hugetlb pages, per-node pools, and the owner-steals-the-page
// rule of a failed COW (unmap_ref_private): the faulting process gets SIGBUS.
// The zone watermarks are computed before the reservation (Linux reserves from
// memblock, before the zones are sized); the difference is small.
#include <iostream>

#include "models/os/os_model.h"

namespace mmusim {
namespace {

constexpr std::uint64_t k1G = 1ull << 30;

}  // namespace

void OsModel::init_hugetlb(StatGroup& stats) {
  StatGroup& g = stats.group("hugetlb");
  g.formula("total", "1 GiB pages in the hugetlb pool (HugePages_Total)",
            [this] { return static_cast<double>(hugetlb_total()); });
  g.formula("free", "1 GiB pages of the pool not mapped (HugePages_Free)",
            [this] { return static_cast<double>(hugetlb_free()); });
  m_hugetlb_alloc = &g.counter("alloc", "faults that mapped a 1 GiB page from the hugetlb pool");
  m_hugetlb_sigbus = &g.counter("sigbus", "hugetlb faults that found the pool empty: the process got SIGBUS");
  const unsigned want = m_p.hugetlb_1g_pages;
  if (want == 0) return;
  if (m_large_top < 3)
    throw std::invalid_argument("OS model: os.hugetlb_1g needs 1 GiB pages, which only the 64-bit modes have");
  if (m_buddy->max_order() > kHugetlbOrder)
    throw std::invalid_argument("OS model: os.hugetlb_1g needs os.max_order of at most 18");
  const std::uint64_t top = m_buddy->num_pages() & ~(kHugetlbPages - 1);
  for (std::uint64_t head = top; head >= kHugetlbPages && m_hugetlb_pages.size() < want;) {
    head -= kHugetlbPages;
    if (!m_buddy->take_free_range(head, kHugetlbPages)) continue;
    m_hugetlb_pages.insert(head);
    m_hugetlb_free.push_back(head);  // top-down: the lowest ends at the back
  }
  if (m_hugetlb_pages.size() < want)
    std::cerr << "HugeTLB: allocating " << want << " of page size 1.00 GiB failed.  Only allocated "
              << m_hugetlb_pages.size() << " hugepages.\n";
}

std::uint64_t OsModel::hugetlb_head(std::uint64_t pfn) const {
  if (m_hugetlb_pages.empty()) return UINT64_MAX;
  const std::uint64_t head = pfn & ~(kHugetlbPages - 1);
  return m_hugetlb_pages.count(head) ? head : UINT64_MAX;
}

std::uint64_t OsModel::hugetlb_mmap_len(VAddr start, std::uint64_t len, bool file) const {
  if (file) throw OsError("@mmap: hugetlb with file: hugetlbfs files are out of scope");
  if (m_large_top < 3) throw OsError("@mmap: hugetlb needs 1 GiB pages, which only the 64-bit modes have");
  if (start % k1G) throw OsError("@mmap: a hugetlb mapping must start 1 GiB-aligned, got " + hex_string(start));
  // check_range() kept len within m_user_top - start, a multiple of 1 GiB here.
  return (len + k1G - 1) & ~(k1G - 1);
}

void OsModel::hugetlb_check_split(Process& p, VAddr start, VAddr end, const char* what) {
  for (VAddr a : {start, end}) {
    const Vma* v = find_vma(p, a);
    if (v && v->hugetlb && a % k1G)
      throw OsError(std::string(what) + " " + hex_string(start) + "-" + hex_string(end) + ": " + hex_string(a) +
                    " would split a 1 GiB page of the hugetlb mapping at " + hex_string(v->start) + " (EINVAL)");
  }
}

void OsModel::hugetlb_put(std::uint64_t pfn) {
  auto it = m_shared.find(pfn);
  if (it != m_shared.end()) {
    if (--it->second == 1) m_shared.erase(it);
    return;
  }
  if (hugetlb_head(pfn) != pfn)
    throw std::logic_error("OS model: a 1 GiB page outside the hugetlb pool at pfn " + hex_string(pfn));
  m_hugetlb_free.push_back(pfn);  // free_huge_folio -> enqueue_hugetlb_folio
}

bool OsModel::hugetlb_copy(Process& child, PAddr epa, std::uint64_t e, VAddr va) {
  const std::uint64_t pfn = (e & m_addr_mask) >> kPageShift;
  // copy_hugetlb_page_range(), a COW mapping: huge_ptep_set_wrprotect() in
  // the parent and the same write-protected entry in the child; A and D
  // stay as they were in both (no pte_mkold here, unlike copy_present_pte).
  const std::uint64_t shared = e & ~pte::kRW;
  if (shared != e) wr(epa, shared);
  if (!map(child, va, pfn, PageSize::k1G, shared & ~m_addr_mask)) return false;
  auto it = m_shared.find(pfn);
  if (it == m_shared.end()) m_shared[pfn] = 2;
  else ++it->second;
  return true;
}

FaultOutcome OsModel::hugetlb_fault(Process& p, const Vma& v, VAddr cr2, bool write, const std::string& access) {
  FaultOutcome out;
  out.cost_cycles = m_p.fault_minor_cycles;
  const VAddr base = cr2 & ~(k1G - 1);
  auto die = [&](const std::string& why, bool sigbus) {
    if (sigbus) ++*m_hugetlb_sigbus;
    else ++m_oom_kills;
    kill(p, why + ", " + access);
    out.result = FaultResult::Killed;
    out.reason = m_kills.back();
    return out;
  };
  PAddr epa = 0;
  const std::uint64_t e = entry_at(p, base, 3, &epa);
  const bool has_page = (e & pte::kP) || (e & (1ull << 9));  // present or PROT_NONE (see os_model.cpp)
  if (!has_page) {
    // hugetlb_no_page(): a zeroed page from the free list.
    if (m_hugetlb_free.empty()) return die("SIGBUS: no free 1 GiB page in the hugetlb pool", true);
    const std::uint64_t pfn = m_hugetlb_free.back();
    m_hugetlb_free.pop_back();
    for (std::uint64_t f = pfn; f < pfn + kHugetlbPages; ++f) m_mem.zero_frame(f);
    ktouch(pfn << kPageShift, k1G, true);  // clear_huge_page (os.fault_model: accesses)
    if (!map(p, base, pfn, PageSize::k1G, leaf_flags(v, PageSize::k1G))) {
      m_hugetlb_free.push_back(pfn);
      return die("out of memory for page tables (OOM killer)", false);
    }
    ++*m_hugetlb_alloc;
    ++m_minor;
    out.cost_cycles += zero_cycles(kHugetlbPages);
    return out;
  }
  const std::uint64_t pfn = (e & m_addr_mask) >> kPageShift;
  std::uint64_t flags = leaf_flags(v, PageSize::k1G);
  if (write && (e & pte::kP) && !(e & pte::kRW)) {
    // hugetlb_wp(): copy-on-write of a page shared since fork. A fault that
    // ends in SIGBUS is counted in os.hugetlb.sigbus only, not as minor or cow.
    if (mapcount(pfn) > 1 && m_hugetlb_free.empty())
      return die("SIGBUS: no free 1 GiB page in the hugetlb pool for copy-on-write", true);
    ++m_cow;
    ++m_minor;
    if (mapcount(pfn) == 1) {
      ++m_cow_reuses;
    } else {
      const std::uint64_t copy = m_hugetlb_free.back();
      m_hugetlb_free.pop_back();
      for (std::uint64_t i = 0; i < kHugetlbPages; ++i) m_mem.copy_frame(copy + i, pfn + i);
      for (std::uint64_t i = 0; i < kHugetlbPages; ++i) {  // copy_user_huge_page, page by page
        ktouch((pfn + i) << kPageShift, kPageBytes, false);
        ktouch((copy + i) << kPageShift, kPageBytes, true);
      }
      hugetlb_put(pfn);
      wr(epa, (copy << kPageShift) | flags);
      ktouch(epa, m_entry_bytes, true);
      ++m_cow_copies;
      ++*m_hugetlb_alloc;
      out.cost_cycles += copy_cycles(kHugetlbPages);
      m_mmu.invlpg(base);  // INVLPG of any address of a 1 GiB page invalidates it (SDM 4.10.4.1)
      return out;
    }
  } else {
    ++m_minor;
    if (mapcount(pfn) > 1) flags &= ~(pte::kRW | pte::kD);  // a spurious fault on a page still shared
  }
  wr(epa, (e & m_addr_mask) | flags);
  ktouch(epa, m_entry_bytes, true);
  m_mmu.invlpg(base);
  return out;
}

}  // namespace mmusim
