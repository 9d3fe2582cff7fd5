#include "models/os/arch/tlb.h"

#include "models/os/kernel/tasks.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kFlushCeilingPages = 33;   // tlb_single_page_flush_ceiling
constexpr std::uint64_t kCr3NoFlush = 1ull << 63;  // SDM 4.10.4.1, MOV to CR3 with CR4.PCIDE = 1

}  // namespace

AsidManager::AsidManager(const OsParams& p, MmuControl& mmu, const Tasks& tasks) : m_p(p), m_mmu(mmu), m_tasks(tasks) {}

std::uint16_t AsidManager::pcid_of(std::uint32_t pid) const {
  if (!m_p.pcid) return 0;
  for (unsigned i = 0; i < kPcidSlots; ++i)
    if (m_slots[i].used && m_slots[i].pid == pid) return static_cast<std::uint16_t>(i + 1);
  return 0;
}

bool AsidManager::tlb_flush_deferred(std::uint16_t pcid) const { return deferred(m_slots, pcid); }

bool AsidManager::tlb_flush_deferred(std::uint16_t pcid, unsigned cpu) const {
  if (cpu == m_cpu) return deferred(m_slots, pcid);
  return cpu < m_cpu_slots.size() && deferred(m_cpu_slots[cpu].slots, pcid);
}

void AsidManager::set_cpu(unsigned cpu) {
  if (cpu >= m_cpu_slots.size()) m_cpu_slots.resize(cpu + 1);
  m_cpu_slots[m_cpu] = CpuSlots{m_slots, m_next_slot};
  m_cpu = cpu;
  m_slots = m_cpu_slots[cpu].slots;
  m_next_slot = m_cpu_slots[cpu].next_slot;
}

bool AsidManager::deferred(const Slots& slots, std::uint16_t pcid) const {
  if (!m_p.pcid || pcid == 0 || pcid > kPcidSlots) return false;  // every CR3 load flushes
  const PcidSlot& s = slots[pcid - 1];
  if (!s.used) return false;
  const Process* p = m_tasks.process(s.pid);
  return p && p->alive && p->tlb_gen != s.tlb_gen;
}

void AsidManager::load_cr3(const Process& p) {
  if (!m_p.pcid) {
    m_mmu.write_cr3(p.root);
    return;
  }
  // Linux's choose_new_asid(): reuse the slot that still holds this mm,
  // without a flush when no shootdown happened since (generation current).
  for (unsigned i = 0; i < kPcidSlots; ++i) {
    PcidSlot& s = m_slots[i];
    if (s.used && s.pid == p.pid) {
      const bool valid = s.tlb_gen == p.tlb_gen;
      s.tlb_gen = p.tlb_gen;
      m_mmu.write_cr3(p.root | (i + 1) | (valid ? kCr3NoFlush : 0));
      return;
    }
  }
  const unsigned i = m_next_slot;
  m_next_slot = (m_next_slot + 1) % kPcidSlots;
  m_slots[i] = PcidSlot{p.pid, true, p.tlb_gen};
  m_mmu.write_cr3(p.root | (i + 1));
}

void AsidManager::shootdown(Process& p, VAddr start, VAddr end) {
  flush_tlb_mm_range(p, start, end, (end - start) / kPageBytes > kFlushCeilingPages);
}

void AsidManager::flush_tlb_mm(Process& p) { flush_tlb_mm_range(p, 0, 0, true); }

void AsidManager::flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all) {
  // inc_mm_tlb_gen(): a new generation. A PCID slot holding an older one is
  // flushed when the process is switched to again (choose_new_asid; without
  // PCIDs every switch flushes anyway).
  ++p.tlb_gen;
  if (!m_tasks.is_current(p.pid)) return;
  // flush_tlb_func() on the CPU that has the mm loaded: INVLPG per page
  // (flush_tlb_one_user), or for TLB_FLUSH_ALL flush_tlb_local(), a CR3
  // write without the no-flush bit that invalidates the current PCID.
  if (!all) {
    for (VAddr va = start; va < end; va += kPageBytes) m_mmu.invlpg(va);
  } else {
    m_mmu.write_cr3(p.root | pcid_of(p.pid));
  }
  for (auto& s : m_slots)
    if (s.used && s.pid == p.pid) s.tlb_gen = p.tlb_gen;
}

void AsidManager::release(std::uint32_t pid) {
  for (auto& s : m_slots)
    if (s.used && s.pid == pid) s = PcidSlot{};
  for (std::size_t c = 0; c < m_cpu_slots.size(); ++c)
    if (c != m_cpu)
      for (auto& s : m_cpu_slots[c].slots)
        if (s.used && s.pid == pid) s = PcidSlot{};
}

}  // namespace mmusim
