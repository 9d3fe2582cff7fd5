#include "sim/replay.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace mmusim {
namespace {

// sc_time is a 64-bit count of picoseconds and wraps silently; a run stops
// with an error before its simulated time passes this (README, limits).
constexpr std::uint64_t kMaxSimPs = 1000000000000000000ull;  // 10^18 ps = 10^6 s

}  // namespace

OsArbiter::OsArbiter(const char* name, unsigned cores) : sc_core::sc_prim_channel(name) {
  for (unsigned i = 0; i < cores; ++i) m_grant.push_back(std::make_unique<sc_core::sc_event>());
}

void OsArbiter::enter(unsigned core) {
  m_new.push_back(core);
  request_update();
  sc_core::wait(*m_grant.at(core));
}

void OsArbiter::leave() {
  m_busy = false;
  if (!m_pending.empty()) request_update();
}

void OsArbiter::update() {
  m_pending.insert(m_new.begin(), m_new.end());
  m_new.clear();
  if (m_busy || m_pending.empty()) return;
  const unsigned core = *m_pending.begin();
  m_pending.erase(m_pending.begin());
  m_busy = true;
  m_grant[core]->notify(sc_core::SC_ZERO_TIME);
}

Replay::OsCall::OsCall(Replay& rp) : r(rp) {
  if (!r.m_arbiter || r.m_in_os) return;
  if (r.m_qk.get_local_time() != sc_core::SC_ZERO_TIME) r.sync();
  r.m_arbiter->enter(r.m_core);
  r.m_in_os = entered = true;
  r.m_os.set_cpu(r.m_core);
  // While this core waited, another core's call may have had the OOM killer
  // take this core's process: its records are skipped from now on.
  Stream* s = r.m_cur;
  if (s && s->has_pid && !s->skip && !r.m_os.alive(s->pid)) s->skip = true;
}

Replay::OsCall::~OsCall() {
  if (!entered) return;
  r.m_in_os = false;
  r.m_arbiter->leave();
}

Replay::Replay(sc_core::sc_module_name name, std::vector<TraceReader*> traces, OsModel& os, MmuControl& mmu,
               const ReplayParams& p, StatGroup& stats, const StatGroup& root_stats, sc_core::sc_time cycle)
    : Replay(name, std::move(traces), os, mmu, p, stats, root_stats, cycle, nullptr, nullptr, 0) {}

Replay::Replay(sc_core::sc_module_name name, std::vector<TraceReader*> traces, OsModel& os, MmuControl& mmu,
               const ReplayParams& p, StatGroup& stats, const StatGroup& root_stats, sc_core::sc_time cycle,
               ReplayShared* shared, OsArbiter* arbiter, unsigned core)
    : sc_core::sc_module(name),
      socket("socket"),
      data_socket("data_socket"),
      m_own_shared(shared ? nullptr : std::make_unique<ReplayShared>()),
      m_sh(shared ? shared : m_own_shared.get()),
      m_arbiter(arbiter),
      m_core(core),
      m_os(os),
      m_mmu(mmu),
      m_p(p),
      m_root_stats(root_stats),
      m_cycle(cycle),
      m_accesses(stats.counter("accesses", "trace accesses replayed (a page-crossing access counts once)")),
      m_loads(stats.counter("loads", "loads (R, lackey L)")),
      m_stores(stats.counter("stores", "stores (W, lackey S)")),
      m_ifetches(stats.counter("ifetches", "instruction fetches (X, lackey I)")),
      m_modifies(stats.counter("modifies", "read-modify-writes (M): one translation with write intent")),
      m_crossings(stats.counter("page_crossings", "accesses that crossed a 4 KiB boundary (two translations)")),
      m_retries(stats.counter("retries", "re-executions of an access after a page fault")),
      m_events(stats.counter("events", "trace events (@proc, @mmap, ...)")),
      m_skipped(stats.counter("skipped", "records of killed or exited processes, skipped")),
      m_cycles(stats.counter("cycles", "simulated cycles from the first to the last access")),
      m_switches(stats.counter("switches", "round-robin switches between traces (each a CR3 write)")),
      m_kernel_walks(stats.counter(
          "kernel_walks",
          "the fault handler's kernel accesses (os.fault_model: accesses) that missed every TLB and walked")) {
  if (traces.empty() && !arbiter) throw std::invalid_argument("replay: no trace");
  // Registered only when migration is on, so other runs keep their statistics.
  if (m_p.migrate_interval)
    m_migrations = &stats.counter("migrations", "tasks this core moved to the next core (replay.migrate_interval)");
  if (arbiter) {
    // Several cores: other cores' TLB shootdowns interrupt this one.
    m_shootdown_irqs = &stats.counter("shootdown_irqs", "TLB-flush IPIs this core handled (another core's shootdown)");
    m_shootdown_stall = &stats.counter(
        "shootdown_stall_cycles", "cycles this core spent in TLB-flush IPI handlers (os.tlb.*), delaying its accesses");
  }
  if (!shared) m_sh->map_pids = traces.size() > 1;
  for (TraceReader* t : traces) {
    Stream s;
    s.reader = t;
    s.prefetch = dynamic_cast<PrefetchReader*>(t);
    m_streams.push_back(s);
  }
  m_cur = m_streams.empty() ? nullptr : &m_streams[0];
  m_gap = sc_core::sc_time::from_value(m_cycle.value() * m_p.gap_cycles);
  if (m_p.max_accesses) m_access_limit = m_p.max_accesses;
  m_trans.set_data_length(0);
  m_trans.set_data_ptr(nullptr);
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_streaming_width(0);
  m_trans.set_extension(&m_ext);
  m_data_trans.set_data_ptr(nullptr);
  m_data_trans.set_byte_enable_ptr(nullptr);
  m_data_trans.set_streaming_width(0);
  m_ktrans.set_data_length(0);
  m_ktrans.set_data_ptr(nullptr);
  m_ktrans.set_byte_enable_ptr(nullptr);
  m_ktrans.set_streaming_width(0);
  m_ktrans.set_extension(&m_kext);
  SC_THREAD(thread);
}

Replay::~Replay() {
  m_trans.clear_extension(&m_ext);
  m_ktrans.clear_extension(&m_kext);
}

void Replay::thread() {
  m_start = std::chrono::steady_clock::now();
  m_qk.reset();
  m_quantum_left = tlm::tlm_global_quantum::instance().compute_local_quantum();
  try {
    if (m_sh->sched) {
      const bool all = (loop_sched(), m_sh->sched->finished());
      m_sh->sched->exit_core(!all);
    } else {
      loop();
    }
    if (m_sched) follow_issue_point(m_sched->drain());
    m_qk.sync();
    m_complete = true;
  } catch (const InvariantViolation& e) {
    // A bug of the model: still an internal error, but naming the record.
    m_error = std::make_exception_ptr(
        InvariantViolation((m_cur && m_cur->reader ? location() + ": " : std::string()) + e.what()));
  } catch (...) {
    m_error = std::current_exception();
  }
  if (m_direct) m_direct->core().settle_repeats();  // before anything reads the statistics
  // Several cores: a core that ran out of tasks waited, idle, for the
  // others; its cycles end when it went idle.
  m_cycles += (m_sh->sched && m_complete ? m_idle_since : sc_core::sc_time_stamp()).value() / m_cycle.value();
  if (m_complete && sc_core::sc_time_stamp().value() > kMaxSimPs) {
    m_complete = false;
    try {
      time_limit_error();
    } catch (...) {
      m_error = std::current_exception();
    }
  }
  m_wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  if (m_progress_shown) progress_line(true);
  m_trans.clear_extension(&m_ext);
  m_ktrans.clear_extension(&m_kext);
  // With several cores the last thread to finish stops the kernel (or the
  // first that fails: the run is lost anyway).
  if (m_sh->running > 0) --m_sh->running;
  if (m_sh->running == 0 || m_error) sc_core::sc_stop();
}

void Replay::time_limit_error() const {
  trace_error("the simulated time would pass the limit of 10^18 ps (1000000 s, " +
              std::to_string(kMaxSimPs / m_cycle.value()) +
              " cycles of this clock): the run stops here, "
              "as its cycle counts would be wrong (with replay.gap_cycles " +
              std::to_string(m_p.gap_cycles) + ")");
}

sc_core::sc_time Replay::cycles_time(Cycles c) const {
  std::uint64_t ps;
  if (__builtin_mul_overflow(m_cycle.value(), c, &ps) || ps > kMaxSimPs) time_limit_error();
  return sc_core::sc_time::from_value(ps);
}

void Replay::check_time(std::uint64_t more_ps) const {
  const std::uint64_t now = sc_core::sc_time_stamp().value() + m_qk.get_local_time().value();
  if (now > kMaxSimPs || more_ps > kMaxSimPs - now) time_limit_error();
}

void Replay::trace_error(const std::string& msg) const { throw TraceError(location() + ": " + msg); }

std::string Replay::location() const {
  if (!m_cur || !m_cur->reader) return std::string();
  // A task of a demultiplexed trace: its record's own line, not the
  // reader's, which may have read ahead.
  return m_cur->demux ? m_cur->reader->location_at(m_cur->pos) : m_cur->reader->location();
}

std::uint32_t Replay::global_pid(Stream& s, std::uint32_t trace_pid) {
  if (!m_sh->map_pids) return trace_pid;
  auto it = s.pids->find(trace_pid);
  if (it != s.pids->end()) return it->second;
  return (*s.pids)[trace_pid] = m_sh->next_pid++;
}

void Replay::select(Stream& s, std::uint32_t trace_pid) {
  OsCall call(*this);
  s.pid = global_pid(s, trace_pid);
  s.has_pid = true;
  s.skip = !m_os.alive(s.pid);
  if (!s.skip) {
    m_os.switch_to(s.pid);
    s.skip = !m_os.alive(s.pid);  // not created: out of memory (ENOMEM)
  }
}

void Replay::select_thread(Stream& s, std::uint32_t trace_tid) {
  OsCall call(*this);
  const std::uint32_t tid = global_pid(s, trace_tid);
  const std::uint32_t pid = m_os.thread_group(tid);
  if (pid == 0) m_os.switch_to_thread(tid);  // throws: no such task
  // The stream runs in the thread's process; a dead thread's records are
  // skipped, as a dead process's.
  s.pid = pid;
  s.has_pid = true;
  s.skip = !m_os.alive(tid);
  if (!s.skip) {
    m_os.switch_to_thread(tid);
    s.skip = !m_os.alive(pid);
  }
}

void Replay::ensure_process(Stream& s) {
  if (!s.has_pid) select(s, 1);
}

void Replay::loop() {
  const bool several = m_streams.size() > 1;
  const std::uint64_t budget = several ? m_p.switch_interval : UINT64_MAX;
  std::size_t cur = 0;
  for (std::size_t live = m_streams.size(); live > 0;) {
    m_cur = &m_streams[cur];
    if (!run_stream(*m_cur, budget)) return;
    if (m_cur->done) --live;
    if (live == 0) break;
    // Round robin to the next trace that has records left.
    std::size_t next = (cur + 1) % m_streams.size();
    while (m_streams[next].done) next = (next + 1) % m_streams.size();
    if (next != cur) {
      ++m_switches;
      serialise();
      Stream& n = m_streams[next];
      // Its process, if it has one and it lives, is loaded again (CR3 write).
      // (A process the OOM killer took meanwhile is skipped from now on.)
      if (n.has_pid && !n.skip && !m_os.alive(n.pid)) n.skip = true;
      if (n.has_pid && !n.skip) {
        OsCall call(*this);
        m_os.switch_to(n.pid);
      }
    }
    cur = next;
  }
}

bool Replay::run_stream(Stream& s, std::uint64_t budget) {
  TraceRecord own;
  std::uint64_t done = 0;
  std::uint64_t since_check = 0;
  while (done < budget) {
    const TraceRecord* next = s.prefetch ? s.prefetch->next_ref() : (s.reader->next(own) ? &own : nullptr);
    if (!next) {
      s.done = true;
      break;
    }
    const TraceRecord& rec = *next;
    if (rec.kind == RecordKind::Access) {
      // Checked even for a dead process's records: a trace the mode cannot
      // hold is an error wherever it shows.
      check_address(rec.addr, "address");
      ensure_process(s);
      if (s.skip) {
        ++m_skipped;
        continue;
      }
      if (m_accesses.value() >= m_access_limit) return false;
      // Several cores: another core's fault may have had the OOM killer take
      // this core's process; the kernel then runs here (idle root) and the
      // records are skipped.
      if (m_arbiter && m_os.kills().size() != m_kills_seen) {
        m_kills_seen = m_os.kills().size();
        OsCall call(*this);
        if (!m_os.alive(s.pid)) {
          s.skip = true;
          ++m_skipped;
          continue;
        }
      }
      if (m_pending_stall) take_stall();
      access(s, rec);
      ++done;
      if (++since_check == (1u << 16)) {
        since_check = 0;
        if (m_p.progress) progress_line(false);
      }
    } else {
      event(s, rec);
    }
  }
  return true;
}

void Replay::loop_sched() {
  Scheduler& sc = *m_sh->sched;
  std::vector<Task*>& q = sc.run_queue(m_core);
  std::size_t at = 0;  // the run queue's position to try first (round robin)
  for (;;) {
    // The first task from `at` whose next record can run; tasks with no
    // records left leave the queue (other cores only append to it).
    Task* t = nullptr;
    for (bool again = true; again && !t;) {
      again = false;
      const std::size_t n = q.size();
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = (at + i) % n;
        Task* c = q[k];
        const TraceDemux::State st = c->demux->state(*c);
        if (st == TraceDemux::State::Ready) {
          at = k;
          t = c;
          break;
        }
        if (st == TraceDemux::State::Done) {
          sc.end(*c);
          at = k;
          again = true;
          break;
        }
      }
    }
    if (!t) {
      // Waiting must follow the look at the queue with no wait() between
      // (a wake-up in between would be lost): a sync or an OS call first,
      // then the queue again.
      if (m_qk.get_local_time() != sc_core::SC_ZERO_TIME) {
        sync();
        continue;
      }
      if (q.empty() && m_running) {
        // Nothing to run: the CPU goes idle and keeps the last mm loaded
        // (context_switch() to the idle task: enter_lazy_tlb()).
        m_cur = m_running;
        OsCall call(*this);
        m_os.enter_lazy_tlb(m_core);
        m_running = nullptr;
        m_idle_since = sc_core::sc_time_stamp();
        continue;
      }
      if (q.empty() && sc.finished()) return;
      if (sc.others_stuck()) {
        // Another core stopped at --max-accesses with records left: what
        // is left here waits on it for ever.
        if (sc.truncated()) {
          if (!q.empty()) m_idle_since = sc_core::sc_time_stamp();
          return;
        }
        throw std::logic_error("core " + std::to_string(m_core) +
                               ": every core waits and none can run (scheduler deadlock)");
      }
      // Blocked (its tasks wait for a fence or another core's records) or
      // idle: wait until something changes.
      sc.wait();
      m_quantum_left = tlm::tlm_global_quantum::instance().compute_local_quantum();
      continue;
    }
    if (t != m_running) {
      // A context switch on this core (from another task; none from idle).
      if (m_running) ++m_switches;
      m_cur = t;
      if (t->has_pid && !t->skip && !m_os.alive(t->pid)) t->skip = true;
      if (t->has_pid && !t->skip) {
        OsCall call(*this);
        m_os.switch_to(t->pid);  // the same mm (a thread of it): no CR3 load
      }
      m_running = t;
    }
    m_cur = t;
    const std::uint64_t mig = t->pinned ? 0 : sc.migrate_interval();
    std::uint64_t budget = m_p.switch_interval;
    if (mig) budget = std::min(budget, mig - std::min(mig - 1, t->since_migrate));
    if (!run_task(*t, budget)) {
      m_qk.sync();  // --max-accesses: this core ends here
      m_idle_since = sc_core::sc_time_stamp();
      return;
    }
    const std::size_t k = at;
    if (!t->ended && mig && t->since_migrate >= mig && sc.cores() > 1) {
      sync();  // the task continues on the next core from this core's time
      sc.move(*t, (m_core + 1) % sc.cores());
      ++*m_migrations;
    }
    at = k < q.size() && q[k] == t ? k + 1 : k;
  }
}

bool Replay::run_task(Task& t, std::uint64_t budget) {
  TraceDemux& d = *t.demux;
  std::uint64_t done = 0;
  std::uint64_t since_check = 0;
  // Runs one record of t; false when --max-accesses stops the replay.
  const auto run = [&](const TraceRecord& rec) __attribute__((always_inline)) {
    // A fence since it last looked (another thread's @exit, a kill): its
    // process may be gone.
    if (t.fences_seen != d.fences_applied()) {
      t.fences_seen = d.fences_applied();
      if (t.has_pid && !t.skip && !m_os.alive(t.pid)) t.skip = true;
    }
    if (rec.kind == RecordKind::Access) {
      check_address(rec.addr, "address");
      ensure_process(t);
      // As run_stream: skipped, --max-accesses, then a kill from another core.
      bool skip = t.skip;
      if (!skip) {
        if (m_accesses.value() >= m_access_limit) return false;
        if (m_os.kills().size() != m_kills_seen) {
          m_kills_seen = m_os.kills().size();
          OsCall call(*this);
          if (!m_os.alive(t.pid)) skip = t.skip = true;
        }
      }
      if (skip) {
        ++m_skipped;
      } else {
        if (m_pending_stall) take_stall();  // another core's shootdown IPIs (Replay::stall)
        access(t, rec);
        ++done;
        ++t.since_migrate;
        if (++since_check == (1u << 16)) {
          since_check = 0;
          if (m_p.progress) progress_line(false);
        }
      }
    } else {
      event(t, rec);
    }
    return true;
  };
  while (done < budget) {
    if (d.direct(t)) {
      // The trace's only task with nothing buffered: its next record is
      // read and run here, without the buffers (TraceDemux::read_direct).
      const TraceDemux::Direct got = d.read_direct(t, m_direct_rec);
      if (got != TraceDemux::Direct::Record) continue;  // the end, or a @thread now buffered
      t.pos = d.reader()->position();
      if (!run(m_direct_rec)) return false;
      continue;
    }
    const TraceDemux::State st = d.state(t);
    if (st == TraceDemux::State::Blocked) return true;
    if (st == TraceDemux::State::Done) {
      m_sh->sched->end(t);
      return true;
    }
    const BufferedRecord& b = d.front(t);
    if (b.error) std::rethrow_exception(b.error);
    t.pos = b.pos;
    if (!run(b.rec)) return false;
    if (d.done(t)) {
      // Another core waits for this record (a fence, or the last record
      // before one): it continues from this core's time.
      sync();
      m_sh->sched->notify();
    }
  }
  return true;
}

void Replay::stall(Cycles c) {
  // Called in the initiating core's thread, inside its OS call: the
  // handler's cycles delay this core's next access (take_stall, in this
  // core's own thread), as the interrupt stops it wherever it is.
  ++*m_shootdown_irqs;
  *m_shootdown_stall += c;
  m_pending_stall += c;
}

void Replay::take_stall() {
  const Cycles c = m_pending_stall;
  m_pending_stall = 0;
  advance(cycles_time(c));
}

void Replay::sync() {
  check_time(0);
  m_qk.sync();
  m_quantum_left = tlm::tlm_global_quantum::instance().compute_local_quantum();
}

void Replay::advance(sc_core::sc_time t) {
  // sync() checks the time once a quantum (at most 1 s, validated); a
  // longer step, or a wait() now, is checked here.
  if (m_p.sync_each_access || t.value() > 1000000000000000ull) check_time(t.value());
  if (m_p.sync_each_access) {
    wait(t);
  } else {
    m_qk.inc(t);
    if (need_sync()) sync();
  }
}

void Replay::access(Stream& s, const TraceRecord& rec) {
  const VAddr va = rec.addr;  // check_address() done by run_stream
  const VAddr last = va + rec.size - 1;
  // A wrap, a 32-bit mode's access beyond 4 GiB, or a non-canonical last
  // byte (access_span_error says which).
  if (last < va || (m_p.va_bits == 32 && (last >> 32) != 0) || (((va ^ last) >> kPageShift) != 0 && !address_ok(last)))
    access_span_error(va, last, rec.size);

  ++m_accesses;
  switch (rec.access) {
    case AccessKind::Load: ++m_loads; break;
    case AccessKind::Store: ++m_stores; break;
    case AccessKind::IFetch: ++m_ifetches; break;
    case AccessKind::Modify: ++m_modifies; break;
  }
  (void)s;
  if (m_sched) {
    access_overlapped(va, last, rec.access, rec.size);
    return;
  }
  if (!translate(va, rec.access)) return;
  const bool crosses = (last >> kPageShift) != (va >> kPageShift);
  if (m_p.time_data) {
    const std::uint64_t first_bytes = crosses ? kPageBytes - (va & (kPageBytes - 1)) : rec.size;
    data_access(m_ext.result.pa, first_bytes, rec.access);
  }
  if (crosses) {
    ++m_crossings;
    const VAddr second = last & ~(kPageBytes - 1);
    if (translate(second, rec.access) && m_p.time_data) data_access(m_ext.result.pa, last - second + 1, rec.access);
  }
  if (m_p.gap_cycles) advance(m_gap);
}

void Replay::access_span_error(VAddr va, VAddr last, std::uint32_t size) const {
  if (last < va) trace_error("access at " + hex_string(va) + " of " + std::to_string(size) + " bytes wraps around");
  if (m_p.va_bits == 32 && (last >> 32) != 0)
    trace_error("access at " + hex_string(va) + " of " + std::to_string(size) +
                " bytes goes beyond 4 GiB, the linear-address space of paging.mode " + m_p.mode_name);
  // Every byte of an access must be canonical (SDM Vol. 1 3.3.7.1: a
  // reference to a non-canonical address raises #GP, not #PF); an access
  // whose last byte crosses the top of the lower half is never walked. The
  // first byte is checked already, and the canonical boundaries are page
  // boundaries: only an access that crosses a page can fail here.
  address_error(last,
                ("last byte of the access at " + hex_string(va) + " of " + std::to_string(size) + " bytes,").c_str());
}

void Replay::address_error(VAddr va, const char* what) const {
  // 32-bit paging and PAE paging translate 32-bit linear addresses (SDM 4.3,
  // 4.4): a larger one cannot come from such a program; never truncate it.
  if (m_p.va_bits == 32)
    trace_error(std::string(what) + " " + hex_string(va) +
                " does not fit in the 32-bit linear addresses of paging.mode " + m_p.mode_name);
  trace_error(std::string(what) + " " + hex_string(va) + " is not canonical with " + std::to_string(m_p.va_bits) +
              "-bit linear addresses");
}

void Replay::transport_in_order(tlm_utils::simple_initiator_socket<Replay>& s, tlm::tlm_generic_payload& trans) {
  if (m_p.sync_each_access) {
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    s->b_transport(trans, delay);
    check_time(delay.value());
    wait(delay);
  } else {
    sc_core::sc_time delay = m_qk.get_local_time();
    s->b_transport(trans, delay);
    m_qk.set(delay);
    if (need_sync()) sync();
  }
}

template <class Issue, class ChargeFault>
bool Replay::translate_retrying(VAddr va, AccessKind kind, Issue issue, ChargeFault charge_fault) {
  m_trans.set_address(va);
  m_trans.set_command(is_write(kind) ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_ext.kind = kind;
  m_ext.user = true;
  for (unsigned attempt = 0;; ++attempt) {
    m_ext.demand = attempt == 0;
    m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    issue();
    const Translation& t = m_ext.result;
    if (!t.fault) return true;
    if (attempt >= 3)
      throw std::logic_error("the access at " + hex_string(va) + " still faults after the OS handled it (error code " +
                             std::to_string(t.page_fault.error_code) + ")");
    FaultOutcome o;
    {
      OsCall call(*this);
      if (m_cur->skip) return false;  // killed from another core meanwhile
      o = m_os.handle_fault(t.page_fault.cr2, t.page_fault.error_code);
      // Every kill is reported where it happened: the faulting process's own
      // (SIGSEGV, OOM) and other processes taken by the OOM killer.
      report_kills();
    }
    charge_fault(o.cost_cycles);
    if (o.result == FaultResult::Killed) {
      m_cur->skip = true;
      return false;
    }
    ++m_retries;
  }
}

bool Replay::translate(VAddr va, AccessKind kind) {
  if (m_direct_repeat) {
    // The MMU's same-page path, without the request's set-up: a repeat
    // cannot fault, and only m_ext.result is read after a translation.
    sc_core::sc_time delay = m_qk.get_local_time();
    if (m_direct->translate_repeat(m_ext.result, va, kind, true, delay)) {
      m_qk.set(delay);
      if (need_sync()) sync();
      return true;
    }
  }
  return translate_walk(va, kind);
}

bool Replay::translate_walk(VAddr va, AccessKind kind) {
  return translate_retrying(
      va, kind,
      [this] {
        if (m_direct && !m_p.sync_each_access) {
          // transport_in_order without the socket (set_direct_mmu).
          sc_core::sc_time delay = m_qk.get_local_time();
          m_direct->translate(m_ext, m_trans.get_address(), delay);
          m_qk.set(delay);
          if (need_sync()) sync();
          return;
        }
        transport_in_order(socket, m_trans);
        if (!m_trans.is_response_ok()) throw std::runtime_error("MMU returned " + m_trans.get_response_string());
      },
      [this](Cycles cost_cycles) { advance(cycles_time(cost_cycles)); });
}

void Replay::report_kills() {
  for (; m_sh->kills_reported < m_os.kills().size(); ++m_sh->kills_reported)
    std::fprintf(stderr, "mmusim: %s: %s\n", location().c_str(), m_os.kills()[m_sh->kills_reported].c_str());
}

void Replay::event(Stream& s, const TraceRecord& rec) {
  serialise();
  OsCall call(*this);
  ++m_events;
  struct Report {
    Replay* r;
    ~Report() { r->report_kills(); }
  } report{this};
  if (rec.kind == RecordKind::Proc || rec.kind == RecordKind::Thread) {
    try {
      if (rec.kind == RecordKind::Proc) select(s, rec.pid);
      else select_thread(s, rec.pid);
    } catch (const OsError& e) {
      trace_error(e.what());
    }
    return;
  }
  if (rec.kind == RecordKind::Mark) {
    // A name twice would give one statistic two values (stats.csv) or keep
    // only the last (stats.json); each snapshot costs memory: both refused.
    const std::string where = location();
    auto seen = m_sh->mark_where.emplace(rec.name, where);
    if (!seen.second)
      trace_error("@mark " + rec.name + " given twice (first at " + seen.first->second +
                  "): mark names name statistics (marks.NAME.*) and must be unique");
    if (m_sh->marks.size() >= kMaxMarks)
      trace_error("more than " + std::to_string(kMaxMarks) +
                  " @mark records: each keeps a snapshot of every statistic");
    if (m_direct) m_direct->core().settle_repeats();
    for (Mmu* m : m_sh->mmus) m->settle_repeats();  // the other cores' (several cores)
    m_sh->marks.push_back(MarkSnapshot{rec.name, m_root_stats.snapshot()});
    return;
  }
  if (rec.kind != RecordKind::Invlpg && rec.kind != RecordKind::Invpcid) ensure_process(s);
  if (s.skip) {
    ++m_skipped;
    return;
  }
  // Ranges the paging mode cannot hold are trace errors of their own kind.
  if (rec.kind == RecordKind::Mmap || rec.kind == RecordKind::Munmap || rec.kind == RecordKind::Mprotect) {
    check_address(rec.addr, "range start");
    if (rec.len) check_address(rec.addr + (rec.len - 1), "range end");
  } else if (rec.kind == RecordKind::Brk) {
    check_address(rec.addr, "@brk address");
  }
  try {
    switch (rec.kind) {
      case RecordKind::Mmap:
        if (!rec.file_id.empty())
          m_os.mmap_file(rec.addr, rec.len, rec.prot, rec.file_id, rec.file_offset, rec.shared, rec.huge);
        else m_os.mmap(rec.addr, rec.len, rec.prot, rec.file, rec.huge, rec.hugetlb);
        break;
      case RecordKind::Munmap: m_os.munmap(rec.addr, rec.len); break;
      case RecordKind::Mprotect: m_os.mprotect(rec.addr, rec.len, rec.prot); break;
      case RecordKind::Brk: m_os.brk(rec.addr); break;
      case RecordKind::Exit:
        m_os.exit_current();
        s.skip = true;
        break;
      case RecordKind::Invlpg:
        check_address(rec.addr, "@invlpg address");
        m_mmu.invlpg(rec.addr);
        break;
      case RecordKind::Invpcid:
        if (rec.invpcid_type == 0) check_address(rec.addr, "@invpcid address");
        try {
          m_mmu.invpcid(rec.invpcid_type, rec.pcid, rec.addr);
        } catch (const InvalidOperand& e) {
          trace_error(e.what());
        }
        break;
      case RecordKind::Fork: m_os.fork(global_pid(s, rec.pid)); break;
      case RecordKind::Clone: m_os.clone(global_pid(s, rec.pid)); break;
      case RecordKind::OomScoreAdj: m_os.set_oom_score_adj(rec.value); break;
      case RecordKind::Cr4Pge: try { m_mmu.write_cr4_pge(rec.value != 0);
        } catch (const GeneralProtectionFault& e) {
          trace_error(e.what());
        }
        break;
      default: break;
    }
  } catch (const OsError& e) {
    trace_error(e.what());
  }
  if (rec.kind != RecordKind::Invlpg && rec.kind != RecordKind::Invpcid && rec.kind != RecordKind::Cr4Pge)
    m_os.verify_invariants("@", record_kind_name(rec.kind));
  // The wait for the acknowledgements of the event's TLB shootdowns
  // (several cores; 0 with one): added to the time without a sync, as the
  // arbiter is still held.
  if (const Cycles wait = m_os.take_event_cycles()) m_qk.inc(cycles_time(wait));
  // The event's allocations (a fork's page tables, a split) may have made the
  // OOM killer take the stream's own process: its records are skipped from
  // now on, as after a fault that killed it.
  if (s.has_pid && !m_os.alive(s.pid)) s.skip = true;
}

void Replay::progress_line(bool final) {
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  if (!final && (now < 2.0 || now - m_last_progress < 0.5)) return;
  m_last_progress = now;
  m_progress_shown = true;
  const double n = static_cast<double>(m_accesses.value());
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  double frac = 0;
  for (const Stream& st : m_streams) {
    double f = st.done ? 1.0 : st.reader->progress();
    if (f < 0) {
      frac = -1;
      break;
    }
    frac += f / static_cast<double>(m_streams.size());
  }
  os << "\r"
     << (m_streams.empty()       ? "core " + std::to_string(m_core)
         : m_streams.size() == 1 ? m_streams[0].reader->path()
                                 : std::to_string(m_streams.size()) + " traces")
     << ": " << n / 1e6 << " M accesses, " << (now > 0 ? n / now / 1e6 : 0.0) << " M/s";
  if (frac > 0 && frac <= 1) {
    os << ", " << frac * 100 << "%";
    if (!final && frac > 0.001) os << ", ETA " << static_cast<long>(now / frac - now) << " s";
  }
  os << (final ? "\n" : "   ");
  std::fputs(os.str().c_str(), stderr);
  std::fflush(stderr);
}

// ---------------------------------------------------------------- data accesses, overlap

void Replay::data_access(PAddr pa, std::uint64_t bytes, AccessKind kind) {
  m_data_trans.set_address(pa);
  m_data_trans.set_data_length(static_cast<unsigned>(bytes));
  m_data_trans.set_command(is_write(kind) ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_data_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  transport_in_order(data_socket, m_data_trans);
  if (!m_data_trans.is_response_ok())
    throw std::runtime_error("data access at physical address " + hex_string(pa) + ": " +
                             m_data_trans.get_response_string());
}

void Replay::serialise() {
  if (m_sched) follow_issue_point(m_sched->drain());
}

void Replay::follow_issue_point(Cycles t) {
  const sc_core::sc_time target = cycles_time(t);
  const sc_core::sc_time now = sc_core::sc_time_stamp() + m_qk.get_local_time();
  if (target <= now) return;
  advance(target - now);
}

Cycles Replay::data_cycles(PAddr pa, std::uint64_t bytes, AccessKind kind) {
  m_data_trans.set_address(pa);
  m_data_trans.set_data_length(static_cast<unsigned>(bytes));
  m_data_trans.set_command(is_write(kind) ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_data_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time d = sc_core::SC_ZERO_TIME;
  data_socket->b_transport(m_data_trans, d);
  if (!m_data_trans.is_response_ok())
    throw std::runtime_error("data access at physical address " + hex_string(pa) + ": " +
                             m_data_trans.get_response_string());
  return d.value() / m_cycle.value();
}

Cycles Replay::kernel_access(VAddr va, std::uint32_t bytes, bool write) {
  const AccessKind kind = write ? AccessKind::Store : AccessKind::Load;
  m_ktrans.set_address(va);
  m_ktrans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_ktrans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  m_kext.kind = kind;
  m_kext.user = false;
  m_kext.demand = true;
  sc_core::sc_time unused = sc_core::SC_ZERO_TIME;  // the cycles come back in the result
  socket->b_transport(m_ktrans, unused);
  if (!m_ktrans.is_response_ok()) throw std::runtime_error("MMU returned " + m_ktrans.get_response_string());
  const Translation& r = m_kext.result;
  if (r.fault)
    throw std::logic_error("the OS model's kernel access at " + hex_string(va) + " faulted (error code " +
                           std::to_string(r.page_fault.error_code) + "): its kernel half does not map it");
  if (r.walked) ++m_kernel_walks;
  Cycles c = r.cycles;
  if (m_p.time_data) {
    constexpr std::uint64_t kLine = 64;
    for (std::uint64_t off = 0; off < bytes;) {
      const std::uint64_t n = std::min<std::uint64_t>(bytes - off, kLine - ((r.pa + off) & (kLine - 1)));
      c += data_cycles(r.pa + off, n, kind);
      off += n;
    }
  }
  return c;
}

bool Replay::translate_overlapped(VAddr va, AccessKind kind, Cycles& t) {
  return translate_retrying(
      va, kind,
      [this, va, &t] {
        sc_core::sc_time unused = sc_core::SC_ZERO_TIME;  // the scheduler times it
        socket->b_transport(m_trans, unused);
        if (!m_trans.is_response_ok()) throw std::runtime_error("MMU returned " + m_trans.get_response_string());
        const Translation& r = m_ext.result;
        // The address space, the page size and the page.
        const std::uint64_t key = (m_mmu.cr3() * 0x9E3779B97F4A7C15ull) ^
                                  ((va >> page_shift(r.size)) << 2 | static_cast<std::uint64_t>(r.size));
        t = m_sched->translate(t, r.cycles - r.walk_cycles, r.walked, r.walk_cycles, key);
      },
      [this, &t](Cycles cost_cycles) {
        // The fault is taken when everything older has completed; the handler runs alone.
        t = std::max(m_sched->drain(), t) + cost_cycles;
        m_sched->advance_to(t);
      });
}

void Replay::access_overlapped(VAddr va, VAddr last, AccessKind kind, std::uint32_t size) {
  Cycles t = m_sched->start();
  follow_issue_point(t);
  const bool crosses = (last >> kPageShift) != (va >> kPageShift);
  if (translate_overlapped(va, kind, t)) {
    if (m_p.time_data) t += data_cycles(m_ext.result.pa, crosses ? kPageBytes - (va & (kPageBytes - 1)) : size, kind);
    if (crosses) {
      ++m_crossings;
      const VAddr second = last & ~(kPageBytes - 1);
      if (translate_overlapped(second, kind, t) && m_p.time_data)
        t += data_cycles(m_ext.result.pa, last - second + 1, kind);
    }
  }
  m_sched->complete(t);
}

}  // namespace mmusim
