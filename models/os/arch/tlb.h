// ASIDs, TLB flushes and TLB shootdowns, after arch/x86/mm/tlb.c:
//  - per CPU, Linux's cpu_tlbstate: loaded_mm (the mm whose CR3 the CPU has
//    loaded; 0 stands for init_mm, the idle root), loaded_mm_asid, ctxs[]
//    (the PCID slots, each remembering which mm it holds and the TLB
//    generation it was last flushed at) and cpu_tlbstate_shared.is_lazy;
//    per mm, mm_cpumask (Process::cpumask) and context.tlb_gen
//    (Process::tlb_gen);
//  - address-space switches (switch_mm): switch_mm_irqs_off(). To another
//    mm: the CPU's bit leaves the previous mm's cpumask and joins the next
//    one's, and a MOV to CR3. With PCIDs (OsParams::pcid, choose_new_asid):
//    a few per-CPU ASID slots (TLB_NR_DYN_ASIDS = kPcidSlots), PCID =
//    slot + 1; switching to an mm that still owns a slot whose generation
//    is current sets the no-flush bit (CR3 bit 63, SDM 4.10.4.1), else the
//    next slot round-robin is taken and loaded without it (the MMU flushes
//    that PCID). Without PCIDs slot 0 tracks the loaded mm's generation
//    (ctxs[0]), and every switch to another mm flushes. To the same mm: no
//    CR3 write, unless the CPU was lazy and the mm's generation moved while
//    it was (then a CR3 write without the no-flush bit);
//  - lazy TLB (enter_lazy_tlb): a CPU that goes idle keeps the old mm
//    loaded and its bit in the cpumask, marked lazy;
//  - flush_tlb_mm_range(): a new TLB generation of the mm (inc_mm_tlb_gen);
//    a range of more than tlb_single_page_flush_ceiling (33) pages becomes
//    TLB_FLUSH_ALL. When a CPU other than the initiator is in the mm's
//    cpumask, native_flush_tlb_multi(): an IPI to each CPU of the cpumask
//    that is not lazy (should_flush_tlb), or to every one of them when page
//    tables were freed (freed_tables: on_each_cpu_mask), the initiator
//    running flush_tlb_func() itself when it is in the cpumask; else
//    flush_tlb_func() on the initiator if it has the mm loaded.
//    flush_tlb_func() on a CPU: nothing if the mm is not the one it has
//    loaded (a remote CPU) or it runs init_mm; a lazy CPU switches to
//    init_mm; nothing if its generation is current; INVLPG per page
//    (flush_tlb_one_user) when the flush is ranged and exactly one
//    generation behind (local gen + 1 == new gen == mm gen), else a CR3
//    write without the no-flush bit (flush_tlb_local). The remote CPU's work
//    goes to its own MMU (CpuMmuControl::select).
// Left out: init_mm taking a PCID slot (the idle root is loaded without a
// PCID, as before), the once-a-second cpumask trim (should_trim_cpumask:
// the cpumask is exact here, as switch_mm_irqs_off clears the bit of the mm
// left), and reclaim's batched flush (arch_tlbbatch_flush): reclaim flushes
// each page as ptep_clear_flush() does.
//
// Costs (os.tlb.*, only when an IPI is sent, so one core costs nothing):
// the initiator waits ipi_send per IPI, then ipi_delivery + the slowest
// handler + ipi_ack, each handler ipi_handler + its flush (invlpg per page,
// or full_flush); the wait goes to the initiator's OS call (take_wait_cycles)
// and each handler's cycles to the remote CPU (the stall sink).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/os/arch/cpu_mmu.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class KernelSpace;
class Tasks;

class AsidManager {
 public:
  // Linux's TLB_NR_DYN_ASIDS: PCIDs 1..6 in use with OsParams::pcid.
  static constexpr unsigned kPcidSlots = 6;
  // Cycles charged to a remote CPU for a shootdown's handler.
  using StallSink = std::function<void(unsigned cpu, Cycles cycles)>;

  AsidManager(const OsParams& p, CpuMmuControl& mmu, const Tasks& tasks, const KernelSpace& kspace);

  // switch_mm_irqs_off(loaded, p) on the current CPU.
  void switch_mm(Process& p);
  // switch_mm_irqs_off(loaded, &init_mm): the idle root, no PCID. Nothing
  // if the CPU runs init_mm already.
  void switch_to_init_mm();
  // enter_lazy_tlb() on CPU cpu.
  void enter_lazy_tlb(unsigned cpu);
  // The PCID the process last ran with (0 without PCIDs or when it owns no slot).
  std::uint16_t pcid_of(std::uint32_t pid) const;
  // True when the TLB entries tagged with pcid on the current CPU (or CPU
  // cpu) may be stale because Linux defers their flush: the slot holds a
  // live mm whose TLB generation has moved past the slot's, and the CPU does
  // not run that mm non-lazily (a CPU that does is flushed at once by
  // flush_tlb_func). The slot is flushed at the next switch to the mm.
  bool tlb_flush_deferred(std::uint16_t pcid) const;
  bool tlb_flush_deferred(std::uint16_t pcid, unsigned cpu) const;
  // The CPU the kernel runs on (OsModel::set_cpu).
  void set_cpu(unsigned cpu);
  // A CPU was added (OsModel::add_cpu).
  void add_cpu();
  // flush_tlb_mm() and flush_tlb_mm_range() (all: TLB_FLUSH_ALL).
  void flush_tlb_mm(Process& p);
  void flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all, bool freed_tables = false);
  // The flush after an unmap, mprotect or reclaim of [start, end) of p
  // (the ceiling applied); freed_tables when page tables were freed.
  void shootdown(Process& p, VAddr start, VAddr end, bool freed_tables = false);
  // The flush of a range that held no VMA (AddressSpace::remove_range):
  // INVLPG per page, or a full flush above the ceiling, on this CPU if it
  // has p loaded; no new generation, no IPI, not counted.
  void flush_local_only(Process& p, VAddr start, VAddr end);
  // exit_mmap() of p, after its tables are freed: the CPUs that ran it are
  // lazy now (exit_mm -> enter_lazy_tlb) and the fullmm flush with
  // freed_tables (tlb_finish_mmu) moves each of them to init_mm.
  void exit_mmap_flush(Process& p);
  // The mm of pid is gone: its slot is free.
  void release(std::uint32_t pid);
  // The cpumask against the CPUs' loaded mm: every CPU that has an mm
  // loaded is in its cpumask and no other is; a dead mm is loaded nowhere;
  // only a CPU with an mm loaded is lazy. Empty when they agree, else what
  // is wrong (OsModel::check_invariants).
  std::string check_invariants() const;
  // The per-CPU state, for tests and invariants.
  std::uint32_t loaded_mm(unsigned cpu) const { return m_cpus.at(cpu).loaded_mm; }
  bool is_lazy(unsigned cpu) const { return m_cpus.at(cpu).is_lazy; }

  // Cycles the initiator waited for acknowledgements since the last call.
  Cycles take_wait_cycles() {
    const Cycles c = m_wait;
    m_wait = 0;
    return c;
  }
  void set_stall_sink(StallSink s) { m_stall = std::move(s); }
  // Test-only (OsModel::TestHooks::flush_without_ipis): no IPI is sent, so a
  // test can show the TLB-transparency check catches the missed flush.
  void set_flush_without_ipis(bool on) { m_no_ipis = on; }
  // os.tlb.*: only with several CPUs (a one-core stats.csv is unchanged).
  void register_stats(StatGroup& tlb);

 private:
  // Linux's cpu_tlbstate.ctxs[TLB_NR_DYN_ASIDS].
  struct PcidSlot {
    std::uint32_t pid = 0;
    bool used = false;
    std::uint64_t tlb_gen = 0;
  };
  using Slots = std::array<PcidSlot, kPcidSlots>;
  // Linux's cpu_tlbstate and cpu_tlbstate_shared.is_lazy.
  struct CpuTlbState {
    Slots slots{};
    unsigned next_slot = 0;
    std::uint32_t loaded_mm = 0;  // pid; 0: init_mm
    unsigned loaded_slot = 0;     // loaded_mm_asid
    bool is_lazy = false;
  };
  // What flush_tlb_func() receives (struct flush_tlb_info).
  struct FlushInfo {
    Process* mm;
    VAddr start, end;
    bool all;
    bool freed_tables;
    std::uint64_t new_tlb_gen;
    unsigned initiator;
  };
  CpuTlbState& cur() { return m_cpus[m_cpu]; }
  const CpuTlbState& cur() const { return m_cpus[m_cpu]; }
  bool deferred(const CpuTlbState& s, std::uint16_t pcid) const;
  // switch_mm_irqs_off's CR3 write for p in slot i.
  void write_cr3(const Process& p, unsigned slot, bool no_flush);
  // flush_tlb_func() on CPU cpu (its MMU selected by the caller); returns
  // the cycles of its flush (0 when it did none).
  Cycles flush_tlb_func(unsigned cpu, const FlushInfo& f);
  // switch_mm_irqs_off(.., &init_mm) on CPU cpu (selected).
  void leave_mm(unsigned cpu);
  static void mask_set(Process& p, unsigned cpu) { p.cpumask |= 1ull << cpu; }
  static void mask_clear(Process& p, unsigned cpu) { p.cpumask &= ~(1ull << cpu); }
  Process* mm_of(std::uint32_t pid) const;

  const OsParams& m_p;
  CpuMmuControl& m_mmu;
  const Tasks& m_tasks;
  const KernelSpace& m_kspace;
  std::vector<CpuTlbState> m_cpus{1};
  unsigned m_cpu = 0;
  Cycles m_wait = 0;
  StallSink m_stall;
  bool m_no_ipis = false;

  // Statistics: counted always (into m_unregistered until register_stats),
  // registered only with several CPUs.
  StatGroup m_unregistered;
  Counter* m_shootdowns;
  Counter* m_remote_flush;
  Counter* m_remote_flush_received;
  Counter* m_local_flush_all;
  Counter* m_local_flush_one;
  Counter* m_ipis_sent;
  Counter* m_lazy_skipped;
  Counter* m_remote_flush_one;
  Counter* m_remote_flush_all;
  Counter* m_lazy_switched;
  Histogram* m_wait_hist = nullptr;
  void make_counters(StatGroup& g);
};

}  // namespace mmusim
