#include "models/os/mm/address_space.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/os/arch/tlb.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/hugetlb.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"
#include "models/os/slab.h"

namespace mmusim {
namespace {

constexpr VAddr k2M = 2ull << 20;
constexpr unsigned kVmAreaStructBytes = 200;  // /proc/slabinfo of a 6.x x86-64 kernel

// zap_page_range() and free_pgtables() as callbacks of the range walker.
class ZapOps : public RangeOps {
 public:
  ZapOps(Process& p, PageTables& pt, Rmap& rmap, SwapSpace& swap, Hugetlb& hugetlb, const Thp& thp,
         const AddressSpace& as)
      : m_p(p), m_pt(pt), m_rmap(rmap), m_swap(swap), m_hugetlb(hugetlb), m_thp(thp), m_as(as) {}

  bool split(unsigned level, std::uint64_t, bool covered) override {
    if (covered) return false;
    if (level == 3) throw std::logic_error("OS model: partial unmap of a 1 GiB page");
    return true;
  }
  void leaf(unsigned level, PAddr epa, std::uint64_t e, VAddr va) override {
    const std::uint64_t pfn = (e & m_pt.addr_mask()) >> kPageShift;
    if (level == 2) m_pt.zap_deposit(m_p, va);  // zap_huge_pmd -> zap_deposited_table
    if (swpte::swap_marker(e)) {
      m_swap.release(m_p, e);
    } else if (level == 3) {
      m_hugetlb.put(pfn);  // a hugetlb page: not in rss
    } else if (m_thp.is_zero_pfn(pfn)) {
      // present or PROT_NONE: zap_pte_range / zap_huge_pmd: the zero pages are nobody's
    } else {
      const unsigned order = m_pt.shift(level) - kPageShift;
      m_rmap.put_page(pfn, order);
      m_p.rss_pages -= 1ull << order;
    }
    m_pt.wr(epa, 0);
  }
  bool wants_empty() const override { return true; }
  void empty_table(unsigned level, PAddr epa, std::uint64_t e, VAddr lo, VAddr hi) override {
    // free_pgtables() -> free_pgd_range(floor, ceiling): a table goes only
    // if the whole range it maps lies between the VMAs left on either
    // side (floor: the previous VMA's end, ceiling: the next one's
    // start), not merely when it is empty: a neighbouring VMA that
    // reaches into its range keeps it. (PAE page directories stay until
    // the PDPT goes: the PDPTE registers.)
    if ((m_pt.pae() && level == 3) || m_as.vma_overlaps(m_p, lo, hi)) return;
    m_pt.free_table_page(m_p, e & m_pt.addr_mask());
    m_pt.wr(epa, 0);
    freed_tables = true;  // pte_free_tlb() and the like: tlb->freed_tables = 1
  }
  bool freed_tables = false;

 private:
  Process& m_p;
  PageTables& m_pt;
  Rmap& m_rmap;
  SwapSpace& m_swap;
  Hugetlb& m_hugetlb;
  const Thp& m_thp;
  const AddressSpace& m_as;
};

// change_protection() as callbacks of the range walker.
class ProtectOps : public RangeOps {
 public:
  ProtectOps(const Vma& v, PageTables& pt, const Rmap& rmap, const Thp& thp)
      : m_v(v), m_pt(pt), m_rmap(rmap), m_thp(thp) {}

  bool split(unsigned level, std::uint64_t, bool covered) override {
    if (covered) return false;
    if (level == 3) throw std::logic_error("OS model: partial mprotect of a 1 GiB page");
    return true;
  }
  void leaf(unsigned level, PAddr epa, std::uint64_t e, VAddr) override {
    if (swpte::swap_marker(e)) return;  // swapped out: the rights come from the VMA at swap-in
    // change_pte_range(): pte_modify() keeps A and D and takes the rest
    // from the new protection, which for a private mapping never has
    // R/W; can_change_pte_writable() then makes it writable only for a
    // dirty page this process alone maps (PageAnonExclusive), so a clean
    // page, a zero page or one still shared copy-on-write faults on its
    // next write. A PROT_NONE entry keeps A and D as _PAGE_PROTNONE does.
    const std::uint64_t pfn = (e & m_pt.addr_mask()) >> kPageShift;
    std::uint64_t flags = m_pt.leaf_flags(m_v, m_pt.size_at(level));
    const std::uint64_t ad = e & (pte::kA | pte::kD);
    // A huge PMD: its page is exclusive only if no other PMD or PTE maps any
    // of its frames. A VM_SHARED mapping: "Page can be mapped writable if
    // it's dirty and shared" (can_change_pte_writable), whatever its map count.
    const bool exclusive = level == 2 ? m_rmap.huge_exclusive(pfn) : m_rmap.mapcount(pfn) == 1 || m_v.shared;
    const bool writable = (flags & pte::kRW) && (e & pte::kD) && !m_thp.is_zero_pfn(pfn) && exclusive;
    flags = (flags & ~(pte::kRW | pte::kA | pte::kD)) | ad | (writable ? pte::kRW : 0);
    m_pt.wr(epa, (e & m_pt.addr_mask()) | flags);
  }

 private:
  const Vma& m_v;
  PageTables& m_pt;
  const Rmap& m_rmap;
  const Thp& m_thp;
};

}  // namespace

AddressSpace::AddressSpace(const OsParams& p, PageTables& pt, Tasks& tasks, Rmap& rmap, SwapSpace& swap,
                           Hugetlb& hugetlb, const Thp& thp, AsidManager& asids, SlabAllocator& slab)
    : m_p(p),
      m_pt(pt),
      m_tasks(tasks),
      m_rmap(rmap),
      m_swap(swap),
      m_hugetlb(hugetlb),
      m_thp(thp),
      m_asids(asids),
      m_slab(slab) {}

void AddressSpace::register_stats(StatGroup& os) {
  m_implicit_vmas = &os.counter("implicit_vmas", "VMAs created by a first touch (replay.implicit_vmas)");
}

void AddressSpace::create_cache() { m_vma_cache = m_slab.create("vm_area_struct", kVmAreaStructBytes, 8); }

void AddressSpace::sync_vma_objects(Process& p) {
  // The VMA tree changes by merges and splits; what the kernel holds is one
  // vm_area_struct per VMA, so the count is brought in line after each change.
  while (p.vma_objs.size() < p.vmas.size()) {
    auto obj = m_slab.alloc(m_vma_cache);
    if (!obj) break;  // out of memory for the object: the VMA is kept, uncounted
    p.vma_objs.push_back(*obj);
  }
  while (p.vma_objs.size() > p.vmas.size()) {
    m_slab.free(m_vma_cache, p.vma_objs.back());
    p.vma_objs.pop_back();
  }
}

void AddressSpace::free_vma_objects(Process& p) {
  while (!p.vma_objs.empty()) {
    m_slab.free(m_vma_cache, p.vma_objs.back());
    p.vma_objs.pop_back();
  }
}

void AddressSpace::insert_vma(Process& p, const Vma& v) {
  Vma n = v;
  auto mergeable = [&](const Vma& a) {
    return !a.file && !n.file && !a.hugetlb && !n.hugetlb && a.prot == n.prot && a.huge == n.huge &&
           a.implicit == n.implicit;
  };
  // (A merged VMA has an anon_vma if either part had one:
  // is_mergeable_anon_vma accepts a VMA without one.)
  auto next = p.vmas.lower_bound(n.start);
  if (next != p.vmas.end() && next->second.start == n.end && mergeable(next->second)) {
    n.end = next->second.end;
    n.anon_vma = n.anon_vma || next->second.anon_vma;
    p.vmas.erase(next);
  }
  auto it = p.vmas.lower_bound(n.start);
  if (it != p.vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end == n.start && mergeable(prev->second)) {
      prev->second.end = n.end;
      prev->second.anon_vma = prev->second.anon_vma || n.anon_vma;
      return;
    }
  }
  p.vmas[n.start] = n;
}

void AddressSpace::split_vma_at(Process& p, VAddr addr) {
  Vma* v = find_vma(p, addr);
  if (!v || v->start == addr) return;
  Vma upper = *v;
  upper.start = addr;
  if (upper.ino) upper.pgoff += (addr - v->start) >> kPageShift;  // __split_vma: new->vm_pgoff += pgoff
  v->end = addr;
  p.vmas[addr] = upper;
}

bool AddressSpace::zap(Process& p, VAddr start, VAddr end) {
  ZapOps ops(p, m_pt, m_rmap, m_swap, m_hugetlb, m_thp, *this);
  m_pt.walk_range(p, start, end, ops);
  return ops.freed_tables;
}

void AddressSpace::remove_range(Process& p, VAddr start, VAddr end) {
  m_hugetlb.check_split(p, start, end, "unmapping");
  split_vma_at(p, start);
  split_vma_at(p, end);
  const auto first = p.vmas.lower_bound(start);
  const bool had_vma = first != p.vmas.end() && first->first < end;
  for (auto it = first; it != p.vmas.end() && it->first < end;) it = p.vmas.erase(it);
  // Pages are mapped only inside VMAs: with none in the range (a fresh mmap,
  // a growing brk) Linux walks no page table, and neither does the model.
  if (!had_vma) {
    // Linux flushes nothing here (do_munmap finds no VMA). The model has
    // always flushed the range on the CPU that runs the call; kept, local
    // only, so that a one-core run's statistics stay what they were. No
    // other CPU can hold a translation of a range without a VMA.
    m_asids.flush_local_only(p, start, end);
    return;
  }
  const bool freed_tables = zap(p, start, end);
  // unmap_region() -> tlb_finish_mmu(): flush_tlb_mm_range() with
  // freed_tables when free_pgtables() freed a table (lazy CPUs too then).
  m_asids.shootdown(p, start, end, freed_tables);
}

void AddressSpace::protect(Process& p, const Vma& v) {
  ProtectOps ops(v, m_pt, m_rmap, m_thp);
  m_pt.walk_range(p, v.start, v.end, ops);
}

bool AddressSpace::vma_overlaps(const Process& p, VAddr lo, VAddr hi) const {
  auto it = p.vmas.lower_bound(lo);
  if (it != p.vmas.begin() && std::prev(it)->second.end > lo) return true;
  return it != p.vmas.end() && it->first < hi;
}

Vma* AddressSpace::create_implicit_vma(Process& p, VAddr va) {
  VAddr lo = va & ~(k2M - 1);
  VAddr hi = std::min(lo + k2M, m_pt.user_top());
  auto next = p.vmas.upper_bound(va);
  if (next != p.vmas.end()) hi = std::min(hi, next->second.start);
  if (next != p.vmas.begin()) lo = std::max(lo, std::prev(next)->second.end);
  Vma v;
  v.start = lo;
  v.end = hi;
  v.prot = kProtRead | kProtWrite | kProtExec;
  v.implicit = true;
  insert_vma(p, v);
  ++*m_implicit_vmas;
  sync_vma_objects(p);
  return find_vma(p, va);
}

void AddressSpace::check_range(VAddr start, std::uint64_t len, const char* what) const {
  const VAddr top = m_pt.user_top();
  if (len == 0) throw OsError(std::string(what) + ": length must not be zero");
  if (start % kPageBytes) throw OsError(std::string(what) + ": start " + hex_string(start) + " is not 4 KiB-aligned");
  if (start >= top || len > top - start)
    throw OsError(std::string(what) + ": range " + hex_string(start) + "+" + hex_string(len) +
                  " goes beyond user space (" + hex_string(top) + ")");
}

void AddressSpace::mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge, bool hugetlb,
                        const FileMapping& f) {
  check_range(start, len, "@mmap");
  if (hugetlb) len = m_hugetlb.mmap_len(start, len, file);
  Process& p = m_tasks.cur();
  VAddr end = start + ((len + kPageBytes - 1) & ~(kPageBytes - 1));
  remove_range(p, start, end);  // the address the kernel returned: MAP_FIXED semantics
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot & (kProtRead | kProtWrite | kProtExec);
  v.file = file;
  v.huge = huge;
  v.hugetlb = hugetlb;
  if (file) {
    v.ino = f.ino;
    v.pgoff = f.pgoff;
    v.shared = f.shared;
  }
  insert_vma(p, v);
  sync_vma_objects(p);
}

void AddressSpace::munmap(VAddr start, std::uint64_t len) {
  check_range(start, len, "@munmap");
  Process& p = m_tasks.cur();
  remove_range(p, start, start + ((len + kPageBytes - 1) & ~(kPageBytes - 1)));
  sync_vma_objects(p);
}

void AddressSpace::mprotect(VAddr start, std::uint64_t len, std::uint8_t prot) {
  check_range(start, len, "@mprotect");
  Process& p = m_tasks.cur();
  VAddr end = start + ((len + kPageBytes - 1) & ~(kPageBytes - 1));
  m_hugetlb.check_split(p, start, end, "@mprotect");
  split_vma_at(p, start);
  split_vma_at(p, end);
  std::vector<Vma> changed;
  for (auto it = p.vmas.lower_bound(start); it != p.vmas.end() && it->first < end;) {
    Vma v = it->second;
    v.prot = prot & (kProtRead | kProtWrite | kProtExec);
    changed.push_back(v);
    it = p.vmas.erase(it);
  }
  for (const Vma& v : changed) {
    insert_vma(p, v);
    protect(p, v);
  }
  m_asids.shootdown(p, start, end);
  sync_vma_objects(p);
}

void AddressSpace::brk(VAddr end) {
  Process& p = m_tasks.cur();
  VAddr new_end = (end + kPageBytes - 1) & ~(kPageBytes - 1);
  if (new_end >= m_pt.user_top()) throw OsError("@brk: " + hex_string(end) + " is beyond user space");
  if (!p.has_brk) {  // the first @brk names the initial break: the heap starts empty there
    p.has_brk = true;
    p.brk_start = p.brk_end = new_end;
    return;
  }
  if (new_end < p.brk_start)
    throw OsError("@brk: " + hex_string(end) + " is below the start of the heap (" + hex_string(p.brk_start) + ")");
  if (new_end > p.brk_end) {
    remove_range(p, p.brk_end, new_end);
    Vma v;
    v.start = p.brk_end;
    v.end = new_end;
    v.prot = kProtRead | kProtWrite;
    insert_vma(p, v);
  } else if (new_end < p.brk_end) {
    remove_range(p, new_end, p.brk_end);
  }
  p.brk_end = new_end;
  sync_vma_objects(p);
}

}  // namespace mmusim
