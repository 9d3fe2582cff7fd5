// Workloads on cores (cores: N > 1): the tasks of the traces, placed on the
// cores' run queues, and each trace demultiplexed into its tasks.
//
// A task is a thread of a trace's program: the records between one
// `@thread TID` and the next belong to thread TID (the records before the
// first `@thread` to the trace's first task, its main thread). Each task's
// records, in file order, are its program; the tasks of one trace run on
// different cores at once. @proc and @fork stay in the task that gives
// them (a process switch within the thread's stream, as on one core), so a
// trace without @thread is one task, run as before on its core.
//
// Ordering (TraceDemux): every event except @thread (an address-space
// change, @mark, @invlpg, ...) is a fence in file order: it runs only when
// every record before it in the file has run, on whatever core, and no
// record after it runs before it has. Between fences the tasks run freely
// in parallel, each on its core, in simulated time. @thread is not a fence:
// it only tells the OS model which thread its core runs.
//
// Read-ahead: a core whose task needs its next record reads the trace
// forward, buffering the records of the trace's other tasks, and stops at
// the task's record, at a fence of another task (the task cannot run past
// it before it is applied anyway), or when kMaxBuffered records of the
// trace are buffered (then it waits until other cores have consumed some).
// The memory bound is therefore kMaxBuffered records per trace at once;
// each task's ring keeps the capacity it reached (at most kMaxBuffered
// slots of 152 bytes: 10 MiB).
//
// Placement (Scheduler): trace i's first task runs on core
// replay.affinity[i] if given, else on core i mod N; its k-th thread (in
// the order the trace creates them, by their first `@thread`) on the core
// k after it (round-robin). With replay.affinity every task of the trace
// stays on that core (pinned: no migration). Each core time-slices its run
// queue every replay.switch_interval accesses (round-robin);
// replay.migrate_interval moves a task that is not pinned to the next core
// after that many of its accesses.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <systemc>
#include <vector>

#include "sim/trace/prefetch_reader.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

class TraceDemux;

// The state of one stream of records run by a replay: a whole trace (one
// core) or a task of one (several cores).
struct ReplayStream {
  TraceReader* reader = nullptr;
  PrefetchReader* prefetch = nullptr;  // reader, when decoded on its own thread: records taken without a copy
  bool done = false;
  bool has_pid = false;   // a process has been chosen (lazily: pid 1 unless @proc comes first)
  std::uint32_t pid = 0;  // global pid of the current process
  bool skip = false;      // that process is dead: its records are skipped
  // trace pid -> global pid (several traces); shared by a trace's tasks.
  std::shared_ptr<std::map<std::uint32_t, std::uint32_t>> pids =
      std::make_shared<std::map<std::uint32_t, std::uint32_t>>();
  // Several cores: the demultiplexed trace, and the file position of the
  // record being run (for messages).
  TraceDemux* demux = nullptr;
  std::uint64_t pos = 0;
};

struct BufferedRecord {
  TraceRecord rec;
  std::uint64_t pos = 0;    // reader position after it (TraceReader::location_at)
  std::uint64_t epoch = 0;  // fences read before it
  bool fence = false;
  // The reader failed here (a bad record): thrown when its turn comes, as a
  // fence, so that it is reported after every record before it has run.
  std::exception_ptr error;
};

// A task's buffered records: a ring over a vector that grows by doubling;
// its slots are reused (a record's strings keep their storage), so the
// steady state allocates nothing per record, where a std::deque of these
// large elements allocates a block every few. Each slot is allocated once
// and never moves: the front record a core is running stays valid while
// the core waits in the OS model (a fault, an event) and another core's
// read-ahead grows the ring.
class RecordRing {
 public:
  bool empty() const { return m_size == 0; }
  std::size_t size() const { return m_size; }
  BufferedRecord& front() { return *m_slots[m_head]; }
  const BufferedRecord& front() const { return *m_slots[m_head]; }
  void pop_front() {
    m_head = (m_head + 1) & m_mask;
    --m_size;
  }
  void pop_back() { --m_size; }
  // The slot for a new last record, to be filled by the caller.
  BufferedRecord& push_back() {
    if (m_size == m_slots.size()) grow();
    ++m_size;
    return *m_slots[(m_head + m_size - 1) & m_mask];
  }

 private:
  void grow() {
    std::vector<std::unique_ptr<BufferedRecord>> bigger(m_slots.empty() ? 4 : 2 * m_slots.size());
    for (std::size_t i = 0; i < m_slots.size(); ++i)
      bigger[i] = std::move(m_slots[(m_head + i) & (m_slots.size() - 1)]);
    for (std::size_t i = m_slots.size(); i < bigger.size(); ++i) bigger[i] = std::make_unique<BufferedRecord>();
    m_slots = std::move(bigger);
    m_mask = m_slots.size() - 1;
    m_head = 0;
  }
  std::vector<std::unique_ptr<BufferedRecord>> m_slots;  // a power of two in size
  std::size_t m_head = 0, m_size = 0;
  std::size_t m_mask = 0;  // m_slots.size() - 1
};

struct Task : ReplayStream {
  unsigned id = 0;    // creation order over the run
  unsigned core = 0;  // the core whose run queue holds it
  bool pinned = false;
  bool ended = false;
  std::uint32_t key = 0;            // the trace tid its records follow
  std::uint64_t since_migrate = 0;  // accesses since placed on its core
  std::uint64_t fences_seen = 0;    // the demux's fences when it last checked its process
  RecordRing buf;
};

class Scheduler;

class TraceDemux {
 public:
  // Records of one trace buffered ahead, at most (the memory bound).
  static constexpr std::size_t kReadAhead = 32;  // records of the asking task read per call, at most
  static constexpr std::size_t kMaxBuffered = 1u << 16;
  enum class State { Ready, Blocked, Done };
  TraceDemux(Scheduler& sched, TraceReader* reader, unsigned home, bool pinned);
  // Whether task t's next record can run now; reads ahead as needed.
  State state(Task& t);
  // t's next record, once state(t) is Ready; done(t) after running it.
  const BufferedRecord& front(Task& t) const { return t.buf.front(); }
  // Returns true when a task of this trace found blocked may run now (the
  // caller syncs its time, then Scheduler::notify()).
  bool done(Task& t);
  // The fast path of a trace that has had one task so far (no @thread
  // yet): with nothing buffered, its next record is read straight into the
  // caller's record and run at once, as the buffers would give it, with no
  // other task to order it against. read_direct returns Record (rec is it;
  // a fence counts as read and applied), End (the trace is done: state()
  // says Done), or Buffered (a @thread: it went to the buffers as
  // read_for would put it; the trace now has two tasks). A bad record
  // throws at once: every record before it has run.
  bool direct(const Task& t) const { return m_threads == 1 && m_buffered == 0 && !m_eof && t.buf.empty(); }
  enum class Direct { Record, End, Buffered };
  Direct read_direct(Task& t, TraceRecord& rec) {
    if (!m_reader->next(rec)) {
      m_eof = true;
      return Direct::End;
    }
    return rec.kind == RecordKind::Access ? Direct::Record : read_direct_event(t, rec);
  }
  std::uint64_t fences_applied() const { return m_fences_applied; }
  TraceReader* reader() const { return m_reader; }
  bool eof() const { return m_eof; }

 private:
  void read_for(Task& t);
  Direct read_direct_event(Task& t, TraceRecord& rec);  // read_direct of an event
  // The task a record read from the trace belongs to: an access stays with
  // the task the stream is with; @thread and @proc may change it.
  Task& task_for(const TraceRecord& rec) { return rec.kind == RecordKind::Access ? *m_cur : task_for_event(rec); }
  Task& task_for_event(const TraceRecord& rec);
  Scheduler& m_sched;
  TraceReader* m_reader;
  unsigned m_home;
  bool m_pinned;
  bool m_eof = false;
  unsigned m_threads = 0;  // tasks created so far
  std::map<std::uint32_t, Task*> m_by_key;
  Task* m_cur = nullptr;
  std::uint64_t m_fences_read = 0, m_fences_applied = 0;
  std::deque<std::uint64_t> m_pending;  // [e - m_fences_applied]: unrun records of epoch e (fences excluded)
  std::size_t m_buffered = 0;
  bool m_blocked = false;  // state() found a task blocked since the last wake-up
  std::shared_ptr<std::map<std::uint32_t, std::uint32_t>> m_pids;
};

class Scheduler {
 public:
  // affinity: one core per trace, or empty (default placement).
  Scheduler(const std::vector<TraceReader*>& traces, unsigned cores, const std::vector<unsigned>& affinity,
            std::uint64_t migrate_interval);
  unsigned cores() const { return static_cast<unsigned>(m_runq.size()); }
  std::vector<Task*>& run_queue(unsigned core) { return m_runq.at(core); }
  std::uint64_t migrate_interval() const { return m_migrate_interval; }
  // A new task of a trace, appended to core's run queue.
  Task& create(TraceDemux& d, unsigned core, bool pinned, std::uint32_t key);
  // Moves t to the end of core's run queue.
  void move(Task& t, unsigned core);
  // t has no records left: off its run queue.
  void end(Task& t);
  // Every trace read to its end and every task ended: the cores may stop.
  bool finished() const;
  // Something changed (a record or fence run, a task created or moved):
  // the waiting cores look again. wait() in a core's thread.
  // Every core waiting now is woken in the next delta cycle: from here on
  // it no longer counts as stuck, though it is still inside wait() until
  // the kernel runs it (counting it would let a core that runs first in
  // that delta see every other core waiting, a false deadlock).
  void notify() {
    if (!m_waiting) return;
    m_woken = m_waiting;
    m_progress.notify(sc_core::SC_ZERO_TIME);
  }
  void wait();
  // A core's replay ends (its tasks done, or --max-accesses): truncated
  // when it stopped with records left.
  void exit_core(bool truncated) {
    ++m_exited;
    m_truncated = m_truncated || truncated;
    notify();
  }
  // True when no other core can change anything: every other core waits
  // (with no notification on its way) or has ended.
  bool others_stuck() const { return m_waiting - m_woken + m_exited + 1 == cores(); }
  bool truncated() const { return m_truncated; }

 private:
  std::vector<std::unique_ptr<TraceDemux>> m_demux;
  std::vector<std::unique_ptr<Task>> m_tasks;
  std::vector<std::vector<Task*>> m_runq;
  std::uint64_t m_migrate_interval;
  unsigned m_live = 0;  // tasks not ended
  unsigned m_waiting = 0;
  unsigned m_exited = 0;
  unsigned m_woken = 0;  // of m_waiting, the cores a notify() has woken that have not run yet
  bool m_truncated = false;
  sc_core::sc_event m_progress;
};

// Per record: inline (run_task calls both for every record).
inline TraceDemux::State TraceDemux::state(Task& t) {
  if (t.buf.empty()) read_for(t);
  if (t.buf.empty()) {
    if (m_eof) return State::Done;
    m_blocked = true;
    return State::Blocked;
  }
  const BufferedRecord& b = t.buf.front();
  if (b.epoch != m_fences_applied || (b.fence && m_pending.front() != 0)) {
    m_blocked = true;
    return State::Blocked;
  }
  return State::Ready;
}

inline bool TraceDemux::done(Task& t) {
  const bool fence = t.buf.front().fence;
  t.buf.pop_front();
  const bool was_full = m_buffered-- == kMaxBuffered;
  bool wake;
  if (fence) {
    ++m_fences_applied;
    m_pending.pop_front();
    wake = true;
  } else {
    wake = --m_pending.front() == 0 || was_full;
  }
  if (!wake || !m_blocked) return false;
  m_blocked = false;
  return true;
}

}  // namespace mmusim
