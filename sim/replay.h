// The replay driver: an SC_THREAD that reads a trace and drives the MMU as
// a TLM-2.0 loosely-timed initiator.
//
// Several traces run as separate processes, switched round-robin every
// replay.switch_interval accesses (each switch a MOV to CR3 by the OS
// model). Process ids are per trace: with one trace they are the trace's own
// (@proc 5 is process 5); with several, each (trace, pid) pair gets a global
// pid in order of first appearance, and a trace without @proc runs as its
// pid 1.
//
// For every access record it translates the page of the first byte and,
// when the access crosses into the next page, that page too (one access in
// the statistics). A translation that faults goes to the OS model's handler;
// the handler's cost is added to the time, and the access is re-executed
// (counted in replay.retries, not again in the TLB statistics) until it
// translates or the process is killed. Events (@proc, @mmap, ...) go to the
// OS model, @invlpg to the MMU. @clone TID creates a thread of the current
// process; @thread TID switches the stream to it: the stream then runs in
// the thread's process (tids map to global ids as pids do).
//
// Timing: each access's delay (TLB latency, walk, fault cost, then
// replay.gap_cycles) accumulates in a tlm_quantumkeeper and the thread
// synchronises when the quantum is used up. With replay.sync: access it
// instead calls wait() after every access - the reference style; with a
// single initiator both give the same total (a test checks it).
//
// Data accesses: with memory.caches configured (ReplayParams::time_data),
// each access, once translated, goes out through data_socket to the memory
// hierarchy at its physical address, and its latency is added after the
// translation's; an access that crosses a page goes as two parts, each after
// its own translation. Without caches only translation is timed and the data
// access goes nowhere (the hot path is unchanged).
//
// Overlap (replay.outstanding > 1, a WalkScheduler set by the topology):
// accesses are still translated one after the other in trace order, but
// their timing comes from the scheduler - up to N in flight, walks bounded by
// mmu.walker.walkers, TLB hits on a page whose walk is in flight merged onto
// it (models/walker/walk_scheduler.h). A page fault, every trace event and a
// switch between traces serialise (the window drains first). The thread's
// time follows the issue point; at the end it moves to the last completion.
// With outstanding 1 (the default) no scheduler exists and the in-order code
// runs - the scheduler with N = 1 gives the same totals (tested).
//
// Several cores (cores: N, sim/topology.cpp): one Replay per core, each an
// SC_THREAD with its own quantum keeper, driving its core's MMU, running the
// tasks of its run queue (sim/scheduler.h: the traces' threads, placed on
// the cores; loop_sched) time-sliced, idle when it has none. They share a
// ReplayShared (the Scheduler, global pids, marks, reported kills) and an
// OsArbiter: before every call into the
// shared OS model (an event, a fault, a process switch) the core syncs its
// quantum keeper, so OS calls happen in simulated-time order, and the
// arbiter lets the cores that reach the OS at one time in one delta cycle
// in by core id, one per delta cycle; the OS model is then switched to that
// core's CPU (OsModel::set_cpu). Accesses between OS calls are loosely
// timed: the cores' accesses to the shared caches and DRAM interleave per
// quantum, in the SystemC scheduler's fixed order. Nothing depends on host
// timing. With one core none of this runs (no arbiter).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/mmu/mmu_control.h"
#include "models/mmu/mmu_module.h"
#include "models/os/os_model.h"
#include "models/walker/walk_scheduler.h"
#include "sim/scheduler.h"
#include "sim/trace/prefetch_reader.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

struct ReplayParams {
  Cycles gap_cycles = 0;
  bool time_data = false;    // data accesses go through data_socket (memory.caches given)
  unsigned outstanding = 1;  // replay.outstanding
  bool sync_each_access = false;
  std::uint64_t max_accesses = 0;          // 0: all
  std::uint64_t switch_interval = 100000;  // accesses per time slice with several traces
  std::uint64_t migrate_interval = 0;      // several cores: accesses of a task before it moves on; 0: never
  unsigned va_bits = 48;                   // canonical width; 32: no address at or above 4 GiB (32-bit modes)
  std::string mode_name = "x86_64";        // paging.mode, for messages
  bool progress = false;
  bool check_invariants = false;  // the OS model checks its invariants after every fault
};

// What the replay threads of the cores share (one per run).
struct ReplayShared {
  bool map_pids = false;           // several traces: (trace, pid) pairs get global pids
  std::uint32_t next_pid = 1;      // the next global pid
  unsigned running = 0;            // replay threads not finished; the last one stops the kernel
  std::size_t kills_reported = 0;  // OsModel::kills() already printed
  std::vector<MarkSnapshot> marks;
  std::map<std::string, std::string> mark_where;  // mark name -> where it was given
  Scheduler* sched = nullptr;                     // several cores: the tasks and run queues
  // Every core's MMU: their same-page repeats are counted lazily
  // (Mmu::settle_repeats), so a @mark on any core settles them all first.
  std::vector<Mmu*> mmus;
};

// Orders the cores' calls into the OS model that fall at one simulated time
// (see above). A primitive channel: the requests of a delta cycle are
// collected, and its update phase grants the lowest core id, so the order
// does not depend on the order the kernel runs the threads in one delta.
class OsArbiter : public sc_core::sc_prim_channel {
 public:
  OsArbiter(const char* name, unsigned cores);
  // In the core's thread: returns when the core may call the OS model.
  void enter(unsigned core);
  // The call is done (still in the core's thread, with no wait between).
  void leave();

 private:
  void update() override;
  std::vector<unsigned> m_new;
  std::set<unsigned> m_pending;
  bool m_busy = false;
  std::vector<std::unique_ptr<sc_core::sc_event>> m_grant;
};

class Replay : public sc_core::sc_module, public KernelAccessPort {
 public:
  // At most this many @mark records in a run, each with a unique name.
  static constexpr std::size_t kMaxMarks = 1000;
  tlm_utils::simple_initiator_socket<Replay> socket;
  tlm_utils::simple_initiator_socket<Replay> data_socket;  // to the memory hierarchy

  SC_HAS_PROCESS(Replay);
  Replay(sc_core::sc_module_name name, std::vector<TraceReader*> traces, OsModel& os, MmuControl& mmu,
         const ReplayParams& p, StatGroup& stats, const StatGroup& root_stats, sc_core::sc_time cycle);
  // Core core of several (cores: N): shared with the other cores' replays;
  // traces may be empty (an idle core).
  Replay(sc_core::sc_module_name name, std::vector<TraceReader*> traces, OsModel& os, MmuControl& mmu,
         const ReplayParams& p, StatGroup& stats, const StatGroup& root_stats, sc_core::sc_time cycle,
         ReplayShared& shared, OsArbiter& arbiter, unsigned core)
      : Replay(name, std::move(traces), os, mmu, p, stats, root_stats, cycle, &shared, &arbiter, core) {}

  // The payloads hold extensions that are members: released here too, as a
  // core stopped by another core's error never reaches the end of thread().
  ~Replay() override;
  // After sc_start returns: the exception that stopped the replay, if any.
  std::exception_ptr error() const { return m_error; }
  bool complete() const { return m_complete; }
  // Overlapped timing (replay.outstanding > 1); before sc_start.
  void set_scheduler(std::unique_ptr<WalkScheduler> s) { m_sched = std::move(s); }
  // The MMU module socket is bound to, for the in-order path's translations:
  // called directly (MmuModule::translate) instead of through the socket,
  // with the same delays and results. Null (the default): the socket.
  // `lazy`: same-page repeats are counted later (Mmu::settle_repeats: each
  // core at its end, every core's at a @mark, see ReplayShared::mmus).
  void set_direct_mmu(MmuModule* m, bool lazy = true) {
    m_direct = m;
    m_direct_repeat = m && lazy && !m_p.sync_each_access;
  }
  const std::vector<MarkSnapshot>& marks() const { return m_sh->marks; }
  double wall_seconds() const { return m_wall_seconds; }
  // KernelAccessPort (os.fault_model: accesses): called by the OS model
  // inside handle_fault, in this thread. The address is translated in
  // supervisor mode through the MMU like any access (TLBs, PWCs, walker);
  // with memory.caches the bytes then go to the hierarchy one 64-byte line
  // after the other, each waiting for the previous one (the handler's
  // clear_page and copy_page are modelled without memory-level
  // parallelism). Returns the cycles; the caller adds them to the fault.
  Cycles kernel_access(VAddr va, std::uint32_t bytes, bool write) override;
  // Several cores: cycles of a TLB-flush IPI handler another core's
  // shootdown ran on this core (OsModel::set_cpu_stall_sink); they delay
  // this core's next access, counted in shootdown_irqs and
  // shootdown_stall_cycles.
  void stall(Cycles c);

 private:
  using Stream = ReplayStream;

  Replay(sc_core::sc_module_name name, std::vector<TraceReader*> traces, OsModel& os, MmuControl& mmu,
         const ReplayParams& p, StatGroup& stats, const StatGroup& root_stats, sc_core::sc_time cycle,
         ReplayShared* shared, OsArbiter* arbiter, unsigned core);
  void thread();
  // Before a call into the OS model with several cores: sync, wait for the
  // arbiter, switch the OS model to this core's CPU. OsCall does it for a
  // scope (and leaves the arbiter at its end); nothing with one core.
  struct OsCall {
    explicit OsCall(Replay& r);
    ~OsCall();
    OsCall(const OsCall&) = delete;
    OsCall& operator=(const OsCall&) = delete;
    Replay& r;
    bool entered = false;
  };
  void loop();
  // Several cores: this core's run queue (sim/scheduler.h), time-sliced.
  void loop_sched();
  // Runs task t until budget accesses, its next record cannot run yet, or
  // its end; false when --max-accesses stops the replay.
  bool run_task(Task& t, std::uint64_t budget);
  // Where the current record is, for messages.
  std::string location() const;
  // Runs stream s until budget accesses are done or it ends; false when
  // --max-accesses stops the replay.
  bool run_stream(Stream& s, std::uint64_t budget);
  std::uint32_t global_pid(Stream& s, std::uint32_t trace_pid);
  void select(Stream& s, std::uint32_t trace_pid);         // @proc
  void select_thread(Stream& s, std::uint32_t trace_tid);  // @thread
  void ensure_process(Stream& s);
  // The per-access path, forced inline into run_stream (a call each cost
  // about a fifth of a same-page access's instructions); what is rare - an
  // access the trace cannot hold, a translation that is not a same-page
  // repeat - stays out of line.
  [[gnu::always_inline]] inline void access(Stream& s, const TraceRecord& rec);
  [[gnu::noinline, gnu::cold]] void access_span_error(VAddr va, VAddr last, std::uint32_t size) const;
  [[gnu::always_inline]] inline bool translate(VAddr va, AccessKind kind);
  [[gnu::noinline]] bool translate_walk(VAddr va, AccessKind kind);
  // The page-fault retry loop of translate() and translate_overlapped():
  // sends m_trans for va through the MMU until it translates (true) or the
  // fault handler kills the process (false, the stream skipped from then
  // on). Each timing path supplies only its timing: issue() sends m_trans
  // and accounts the translation's time (and checks the response);
  // charge_fault(cost_cycles) accounts the handler's cost. Lambdas, not
  // std::function, and forced inline (GCC otherwise keeps it out of line):
  // this is the in-order path's inner loop.
  template <class Issue, class ChargeFault>
  [[gnu::always_inline]] inline bool translate_retrying(VAddr va, AccessKind kind, Issue issue,
                                                        ChargeFault charge_fault);
  // Trace error (exit 3) for an address the paging mode cannot hold: at or
  // above 4 GiB in the 32-bit modes, non-canonical in the 64-bit ones
  // (SDM 3.3.7.1: bits 63..va_bits-1 all equal). Inline: once per access.
  bool address_ok(VAddr va) const {
    const std::uint64_t upper = va >> (m_p.va_bits - 1);
    return m_p.va_bits == 32 ? (va >> 32) == 0 : upper == 0 || upper == (~0ull >> (m_p.va_bits - 1));
  }
  void check_address(VAddr va, const char* what) const {
    if (!address_ok(va)) address_error(va, what);
  }
  [[noreturn]] void address_error(VAddr va, const char* what) const;
  void event(Stream& s, const TraceRecord& rec);
  void advance(sc_core::sc_time t);
  // tlm_quantumkeeper::need_sync() asks the kernel for the time on every
  // call; the time cannot change between syncs, so the quantum left is
  // computed once per sync and the test is a comparison. Same semantics.
  bool need_sync() const { return m_qk.get_local_time() >= m_quantum_left; }
  void sync();
  void take_stall();  // the stall() cycles, before the next access

  // b_transport on s with the in-order timing: the delay accumulates in the
  // quantum keeper (or, with replay.sync: access, is waited for at once).
  // Shared by translations and data accesses; forced inline like
  // translate_retrying, being on the same inner loop.
  [[gnu::always_inline]] inline void transport_in_order(tlm_utils::simple_initiator_socket<Replay>& s,
                                                        tlm::tlm_generic_payload& trans);
  void data_access(PAddr pa, std::uint64_t bytes, AccessKind kind);
  // The overlapped path (m_sched set).
  void access_overlapped(VAddr va, VAddr last, AccessKind kind, std::uint32_t size);
  bool translate_overlapped(VAddr va, AccessKind kind, Cycles& t);
  Cycles data_cycles(PAddr pa, std::uint64_t bytes, AccessKind kind);
  void serialise();                   // drain the window (overlapped mode)
  void follow_issue_point(Cycles t);  // the thread's time to cycle t
  void progress_line(bool final);
  [[noreturn]] void trace_error(const std::string& msg) const;
  // The simulated-time limit (10^18 ps): cycles as time, checked for
  // overflow; the time now plus more_ps checked against the limit.
  [[noreturn]] void time_limit_error() const;
  sc_core::sc_time cycles_time(Cycles c) const;
  void check_time(std::uint64_t more_ps) const;

  std::vector<Stream> m_streams;
  Stream* m_cur = nullptr;
  std::unique_ptr<ReplayShared> m_own_shared;  // one core: its own
  ReplayShared* m_sh;
  OsArbiter* m_arbiter = nullptr;  // several cores only
  unsigned m_core = 0;
  bool m_in_os = false;          // an OsCall holds the arbiter
  std::size_t m_kills_seen = 0;  // OsModel::kills() when this core last looked (several cores)
  void report_kills();
  Task* m_running = nullptr;        // several cores: the task this core ran last (null: idle)
  sc_core::sc_time m_idle_since;    // when it last went idle (OsModel::enter_lazy_tlb), or stopped
  Counter* m_migrations = nullptr;  // replay.migrate_interval > 0 only
  OsModel& m_os;
  MmuControl& m_mmu;
  ReplayParams m_p;
  const StatGroup& m_root_stats;
  sc_core::sc_time m_cycle;
  tlm_utils::tlm_quantumkeeper m_qk;
  sc_core::sc_time m_quantum_left;
  sc_core::sc_time m_gap;
  tlm::tlm_generic_payload m_trans;
  TranslationExtension m_ext;
  tlm::tlm_generic_payload m_data_trans;
  tlm::tlm_generic_payload m_ktrans;  // the OS model's kernel accesses
  TranslationExtension m_kext;
  std::unique_ptr<WalkScheduler> m_sched;
  MmuModule* m_direct = nullptr;
  bool m_direct_repeat = false;               // translate() tries MmuModule::translate_repeat first
  std::uint64_t m_access_limit = UINT64_MAX;  // --max-accesses (UINT64_MAX: all), one compare per access
  std::exception_ptr m_error;
  bool m_complete = false;
  std::chrono::steady_clock::time_point m_start;
  double m_wall_seconds = 0;
  double m_last_progress = 0;
  bool m_progress_shown = false;

  Counter& m_accesses;
  Counter& m_loads;
  Counter& m_stores;
  Counter& m_ifetches;
  Counter& m_modifies;
  Counter& m_crossings;
  Counter& m_retries;
  Counter& m_events;
  Counter& m_skipped;
  Counter& m_cycles;
  Counter& m_switches;
  Counter& m_kernel_walks;
  Counter* m_shootdown_irqs = nullptr;  // several cores only
  Counter* m_shootdown_stall = nullptr;
  Cycles m_pending_stall = 0;
  TraceRecord m_direct_rec;  // run_task: a record read without the buffers (TraceDemux::read_direct)
};

}  // namespace mmusim
