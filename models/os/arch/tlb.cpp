#include "models/os/arch/tlb.h"

#include <algorithm>

#include "models/os/arch/kernel_space.h"
#include "models/os/kernel/tasks.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kFlushCeilingPages = 33;   // tlb_single_page_flush_ceiling
constexpr std::uint64_t kCr3NoFlush = 1ull << 63;  // SDM 4.10.4.1, MOV to CR3 with CR4.PCIDE = 1

}  // namespace

AsidManager::AsidManager(const OsParams& p, CpuMmuControl& mmu, const Tasks& tasks, const KernelSpace& kspace)
    : m_p(p), m_mmu(mmu), m_tasks(tasks), m_kspace(kspace) {
  make_counters(m_unregistered);
}

void AsidManager::make_counters(StatGroup& g) {
  m_shootdowns = &g.counter("shootdowns", "flush_tlb_mm_range calls that sent at least one IPI (a TLB shootdown)");
  m_remote_flush =
      &g.counter("remote_flush", "nr_tlb_remote_flush: native_flush_tlb_multi calls (another CPU in the mm's cpumask)");
  m_remote_flush_received =
      &g.counter("remote_flush_received", "nr_tlb_remote_flush_received: flush_tlb_func runs on a CPU from an IPI");
  m_local_flush_all =
      &g.counter("local_flush_all", "nr_tlb_local_flush_all: full flushes (CR3 reload) by the initiating CPU");
  m_local_flush_one =
      &g.counter("local_flush_one", "nr_tlb_local_flush_one: pages flushed one by one (INVLPG) by the initiating CPU");
  m_ipis_sent = &g.counter("ipis_sent", "TLB-flush IPIs sent to other CPUs");
  m_lazy_skipped = &g.counter("lazy_skipped", "CPUs of an mm's cpumask skipped as lazy (should_flush_tlb)");
  m_remote_flush_one = &g.counter("remote_flush_one", "IPI handlers that flushed page by page (INVLPG)");
  m_remote_flush_all = &g.counter("remote_flush_all", "IPI handlers that flushed the whole PCID (CR3 reload)");
  m_lazy_switched =
      &g.counter("lazy_switched", "lazy CPUs that a flush moved to init_mm (flush_tlb_func -> switch_mm_irqs_off)");
}

void AsidManager::register_stats(StatGroup& tlb) {
  if (m_wait_hist) return;
  make_counters(tlb);
  m_wait_hist = &tlb.histogram("ipi_wait_cycles",
                               "cycles the initiator waited for a shootdown's acknowledgements (os.tlb.* costs)",
                               {1000, 2000, 4000, 8000, 16000, 32000, 64000});
}

Process* AsidManager::mm_of(std::uint32_t pid) const {
  // The tasks own the processes; the cpumask is mm state AsidManager edits.
  return const_cast<Tasks&>(m_tasks).find(pid);
}

std::uint16_t AsidManager::pcid_of(std::uint32_t pid) const {
  if (!m_p.pcid) return 0;
  const Slots& slots = cur().slots;
  for (unsigned i = 0; i < kPcidSlots; ++i)
    if (slots[i].used && slots[i].pid == pid) return static_cast<std::uint16_t>(i + 1);
  return 0;
}

bool AsidManager::tlb_flush_deferred(std::uint16_t pcid) const { return deferred(cur(), pcid); }

bool AsidManager::tlb_flush_deferred(std::uint16_t pcid, unsigned cpu) const {
  return cpu < m_cpus.size() && deferred(m_cpus[cpu], pcid);
}

void AsidManager::set_cpu(unsigned cpu) {
  if (cpu >= m_cpus.size()) m_cpus.resize(cpu + 1);
  m_cpu = cpu;
}

void AsidManager::add_cpu() { m_cpus.emplace_back(); }

bool AsidManager::deferred(const CpuTlbState& s, std::uint16_t pcid) const {
  if (!m_p.pcid || pcid == 0 || pcid > kPcidSlots) return false;  // every CR3 load flushes
  const PcidSlot& slot = s.slots[pcid - 1];
  if (!slot.used) return false;
  const Process* p = m_tasks.process(slot.pid);
  if (!p || !p->alive || p->tlb_gen == slot.tlb_gen) return false;
  // A CPU that runs the mm, not lazily, is flushed by every flush_tlb_mm_range
  // at once (flush_tlb_func): a stale entry there is no deferred flush.
  return !(s.loaded_mm == slot.pid && s.loaded_slot == pcid - 1u && !s.is_lazy);
}

void AsidManager::write_cr3(const Process& p, unsigned slot, bool no_flush) {
  if (!m_p.pcid) {
    m_mmu.write_cr3(p.root);
    return;
  }
  m_mmu.write_cr3(p.root | (slot + 1) | (no_flush ? kCr3NoFlush : 0));
}

void AsidManager::switch_mm(Process& p) {
  CpuTlbState& s = cur();
  const bool was_lazy = s.is_lazy;
  s.is_lazy = false;
  if (s.loaded_mm == p.pid) {
    // switch_mm_irqs_off(), real_prev == next: nothing, unless the CPU was
    // lazy and the mm's generation moved meanwhile ("Only flush if our
    // CPU's TLB is stale"): the same ASID, reloaded without the no-flush bit.
    mask_set(p, m_cpu);
    if (!was_lazy) return;
    PcidSlot& slot = s.slots[s.loaded_slot];
    if (slot.tlb_gen == p.tlb_gen) return;
    slot.tlb_gen = p.tlb_gen;
    write_cr3(p, s.loaded_slot, false);
    return;
  }
  // To another mm: the CPU leaves the previous mm's cpumask (a lazy CPU
  // kept its bit until now) and joins the next one's.
  if (s.loaded_mm)
    if (Process* prev = mm_of(s.loaded_mm)) mask_clear(*prev, m_cpu);
  mask_set(p, m_cpu);
  s.loaded_mm = p.pid;
  if (!m_p.pcid) {
    // choose_new_asid() without X86_FEATURE_PCID: ASID 0, always flushed.
    s.slots[0] = PcidSlot{p.pid, true, p.tlb_gen};
    s.loaded_slot = 0;
    write_cr3(p, 0, false);
    return;
  }
  // choose_new_asid(): reuse the slot that still holds this mm, without a
  // flush when no shootdown happened since (generation current).
  for (unsigned i = 0; i < kPcidSlots; ++i) {
    PcidSlot& slot = s.slots[i];
    if (slot.used && slot.pid == p.pid) {
      const bool valid = slot.tlb_gen == p.tlb_gen;
      slot.tlb_gen = p.tlb_gen;
      s.loaded_slot = i;
      write_cr3(p, i, valid);
      return;
    }
  }
  const unsigned i = s.next_slot;
  s.next_slot = (s.next_slot + 1) % kPcidSlots;
  s.slots[i] = PcidSlot{p.pid, true, p.tlb_gen};
  s.loaded_slot = i;
  write_cr3(p, i, false);
}

void AsidManager::leave_mm(unsigned cpu) {
  CpuTlbState& s = m_cpus[cpu];
  s.is_lazy = false;
  if (s.loaded_mm == 0) return;
  if (Process* prev = mm_of(s.loaded_mm)) mask_clear(*prev, cpu);
  s.loaded_mm = 0;
  m_mmu.write_cr3(m_kspace.idle_root());
}

void AsidManager::switch_to_init_mm() { leave_mm(m_cpu); }

void AsidManager::enter_lazy_tlb(unsigned cpu) {
  if (cpu >= m_cpus.size()) m_cpus.resize(cpu + 1);
  CpuTlbState& s = m_cpus[cpu];
  if (s.loaded_mm == 0) return;  // enter_lazy_tlb(): nothing on init_mm
  s.is_lazy = true;
}

void AsidManager::shootdown(Process& p, VAddr start, VAddr end, bool freed_tables) {
  flush_tlb_mm_range(p, start, end, false, freed_tables);
}

void AsidManager::flush_local_only(Process& p, VAddr start, VAddr end) {
  const CpuTlbState& s = cur();
  if (s.loaded_mm != p.pid) return;
  if ((end - start) / kPageBytes > kFlushCeilingPages) {
    m_mmu.write_cr3(p.root | (m_p.pcid ? s.loaded_slot + 1 : 0));
    return;
  }
  for (VAddr va = start; va < end; va += kPageBytes) m_mmu.invlpg(va);
}

void AsidManager::flush_tlb_mm(Process& p) { flush_tlb_mm_range(p, 0, 0, true); }

void AsidManager::exit_mmap_flush(Process& p) {
  // exit_mm() -> enter_lazy_tlb() on the CPU of the exiting task (and of
  // every other thread: each exits on its CPU) before mmput() ->
  // exit_mmap(); its tlb_finish_mmu() flushes the whole mm with
  // freed_tables, which reaches the lazy CPUs too and moves them to init_mm.
  for (CpuTlbState& s : m_cpus)
    if (s.loaded_mm == p.pid) s.is_lazy = true;
  flush_tlb_mm_range(p, 0, 0, true, true);
}

void AsidManager::flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all, bool freed_tables) {
  // "Should we flush just the requested range?"
  if (!all && (end - start) / kPageBytes > kFlushCeilingPages) all = true;
  // inc_mm_tlb_gen(): a new generation. A PCID slot holding an older one is
  // flushed when the mm is switched to again (choose_new_asid; without
  // PCIDs every switch to another mm flushes anyway).
  const std::uint64_t new_gen = ++p.tlb_gen;
  const unsigned me = m_cpu;
  const FlushInfo f{&p, start, end, all, freed_tables, new_gen, me};
  if ((p.cpumask & ~(1ull << me)) == 0 || m_no_ipis) {
    // Only this CPU can hold the mm: flush_tlb_func() here if it has it loaded.
    if (cur().loaded_mm == p.pid) flush_tlb_func(me, f);
    return;
  }
  // native_flush_tlb_multi(): counted once; with freed_tables every CPU of
  // the cpumask (on_each_cpu_mask), else those should_flush_tlb() accepts:
  // not lazy (and, the cpumask being exact here, having the mm loaded).
  ++*m_remote_flush;
  unsigned ipis = 0;
  Cycles slowest = 0;
  for (unsigned c = 0; c < m_cpus.size(); ++c) {
    if (!(p.cpumask & (1ull << c))) continue;
    const CpuTlbState& s = m_cpus[c];
    const bool run = freed_tables || (!s.is_lazy && s.loaded_mm == p.pid);
    if (c == me) {
      if (run) flush_tlb_func(me, f);  // smp_call_function_many_cond: run_local
      continue;
    }
    if (!run) {
      ++*m_lazy_skipped;
      continue;
    }
    // The IPI: flush_tlb_func() on CPU c, at its own MMU.
    ++ipis;
    ++*m_ipis_sent;
    m_mmu.select(c);
    const Cycles handler = m_p.tlb_ipi_handler_cycles + flush_tlb_func(c, f);
    m_mmu.select(me);
    if (m_stall) m_stall(c, handler);
    slowest = std::max(slowest, handler);
  }
  if (ipis == 0) return;
  ++*m_shootdowns;
  // The initiator sends each IPI, then waits until the slowest handler has
  // acknowledged (csd_lock_wait, the wait of smp_call_function_many_cond).
  const Cycles wait = ipis * m_p.tlb_ipi_send_cycles + m_p.tlb_ipi_delivery_cycles + slowest + m_p.tlb_ipi_ack_cycles;
  m_wait += wait;
  if (m_wait_hist) m_wait_hist->sample(wait);
}

Cycles AsidManager::flush_tlb_func(unsigned cpu, const FlushInfo& f) {
  CpuTlbState& s = m_cpus[cpu];
  const bool local = cpu == f.initiator;
  if (!local) {
    ++*m_remote_flush_received;
    if (s.loaded_mm != f.mm->pid) return 0;  // "Can only happen on remote CPUs"
  }
  if (s.loaded_mm == 0) return 0;  // init_mm
  if (s.is_lazy) {
    // A lazy CPU leaves the mm instead of flushing it.
    leave_mm(cpu);
    ++*m_lazy_switched;
    return m_p.tlb_full_flush_cycles;
  }
  std::uint64_t& local_gen = s.slots[s.loaded_slot].tlb_gen;
  if (f.new_tlb_gen <= local_gen) return 0;  // already flushed up to this generation
  const std::uint64_t mm_gen = f.mm->tlb_gen;
  if (local_gen == mm_gen) return 0;
  Cycles cycles = 0;
  if (!f.all && f.new_tlb_gen == local_gen + 1 && f.new_tlb_gen == mm_gen) {
    // Partial flush: flush_tlb_one_user() (INVLPG) per page.
    const std::uint64_t n = (f.end - f.start) / kPageBytes;
    for (VAddr va = f.start; va < f.end; va += kPageBytes) m_mmu.invlpg(va);
    if (local) *m_local_flush_one += n;
    else ++*m_remote_flush_one;
    cycles = n * m_p.tlb_invlpg_cycles;
  } else {
    // Full flush: flush_tlb_local(), a CR3 write without the no-flush bit
    // that invalidates the loaded PCID.
    m_mmu.write_cr3(f.mm->root | (m_p.pcid ? s.loaded_slot + 1 : 0));
    if (local) ++*m_local_flush_all;
    else ++*m_remote_flush_all;
    cycles = m_p.tlb_full_flush_cycles;
  }
  local_gen = mm_gen;
  return cycles;
}

std::string AsidManager::check_invariants() const {
  for (unsigned c = 0; c < m_cpus.size(); ++c) {
    const CpuTlbState& s = m_cpus[c];
    if (s.loaded_mm == 0) {
      if (s.is_lazy) return "CPU " + std::to_string(c) + " is lazy on init_mm";
      continue;
    }
    const Process* p = m_tasks.process(s.loaded_mm);
    if (!p || !p->alive)
      return "CPU " + std::to_string(c) + " has mm " + std::to_string(s.loaded_mm) + " loaded, which is gone";
    if (!(p->cpumask >> c & 1))
      return "CPU " + std::to_string(c) + " has mm " + std::to_string(p->pid) + " loaded but is not in its cpumask";
  }
  for (const auto& kv : m_tasks.all()) {
    const Process& p = *kv.second;
    for (unsigned c = 0; c < 64; ++c)
      if ((p.cpumask >> c & 1) && (c >= m_cpus.size() || m_cpus[c].loaded_mm != p.pid))
        return "mm " + std::to_string(p.pid) + "'s cpumask has CPU " + std::to_string(c) +
               ", which does not have it loaded";
  }
  return "";
}

void AsidManager::release(std::uint32_t pid) {
  for (CpuTlbState& c : m_cpus)
    for (auto& s : c.slots)
      if (s.used && s.pid == pid) s = PcidSlot{};
}

}  // namespace mmusim
