#include "models/os/fault_cost.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/mm/page_tables.h"

namespace mmusim {

FaultCost::FaultCost(const OsParams& p, MmuControl& mmu, PageTables& pt, KernelSpace& kspace)
    : m_p(p), m_mmu(mmu), m_pt(pt), m_kspace(kspace) {}

void FaultCost::register_stats(StatGroup& os) {
  StatGroup& k = os.group("kernel");
  m_accesses = &k.counter("accesses", "supervisor accesses issued by the fault handler (os.fault_model: accesses)");
  m_access_cycles = &k.counter("access_cycles", "cycles of those accesses (translation and, with memory.caches, data)");
}

void FaultCost::begin_fault() {
  m_cycles = 0;
  m_active = m_port && m_p.fault_model == FaultModel::Accesses;
}

Cycles FaultCost::end_fault() {
  m_active = false;
  return m_cycles;
}

void FaultCost::ktouch(PAddr pa, std::uint64_t bytes, bool write) {
  if (!m_active) return;
  while (bytes) {
    const std::uint64_t in_page = std::min<std::uint64_t>(bytes, kPageBytes - (pa & (kPageBytes - 1)));
    ktouch_page(pa, static_cast<std::uint32_t>(in_page), write);
    pa += in_page;
    bytes -= in_page;
  }
}

void FaultCost::ktouch_page(PAddr pa, std::uint32_t bytes, bool write) {
  if (pa + bytes <= m_kspace.linear_map_bytes()) {
    const Cycles c = m_port->kernel_access(m_kspace.page_offset() + pa, bytes, write);
    m_cycles += c;
    ++*m_accesses;
    *m_access_cycles += c;
    return;
  }
  const PAddr kmap_pte = m_kspace.kmap_pte();
  if (!kmap_pte) throw std::logic_error("OS model: kernel access beyond the linear map at " + hex_string(pa));
  // kmap_atomic: slot 0's PTE (the handler's kmaps do not nest here), the
  // access through it, then kunmap_atomic's clear and INVLPG.
  m_pt.wr(kmap_pte, (pa & ~(kPageBytes - 1)) | m_kspace.kernel_leaf_flags());
  ktouch_page(kmap_pte, m_pt.entry_bytes(), true);
  const Cycles c = m_port->kernel_access(KernelSpace::kKmapBase + (pa & (kPageBytes - 1)), bytes, write);
  m_cycles += c;
  ++*m_accesses;
  *m_access_cycles += c;
  m_pt.wr(kmap_pte, 0);
  ktouch_page(kmap_pte, m_pt.entry_bytes(), true);
  m_mmu.invlpg(KernelSpace::kKmapBase);
}

void FaultCost::ktouch_vma_search(const Process& p, VAddr va) {
  if (!m_active) return;
  ktouch(p.task_obj, 8, false);  // current->mm
  ktouch(p.mm_obj, 64, false);   // mmap_lock and the root of the VMA tree
  // A binary search over the VMAs in address order, reading vm_start and
  // vm_end of each vm_area_struct it visits (the i-th VMA's object is
  // vma_objs[i]).
  std::vector<const Vma*> v;
  v.reserve(p.vmas.size());
  for (const auto& kv : p.vmas) v.push_back(&kv.second);
  std::size_t lo = 0, hi = v.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (mid < p.vma_objs.size()) ktouch(p.vma_objs[mid], 16, false);
    if (v[mid]->end <= va) lo = mid + 1;
    else if (v[mid]->start > va) hi = mid;
    else break;
  }
}

void FaultCost::ktouch_walk(const Process& p, VAddr va) {
  if (!m_active) return;
  PAddr table = p.root;
  for (unsigned l = m_pt.levels(); l >= 1; --l) {
    const PAddr epa = table + m_pt.index_at(va, l) * m_pt.entry_bytes();
    ktouch(epa, m_pt.entry_bytes(), false);
    const std::uint64_t e = m_pt.rd(epa);
    if (!(e & pte::kP) || m_pt.is_leaf(l, e)) return;
    table = e & m_pt.addr_mask();
  }
}

}  // namespace mmusim
