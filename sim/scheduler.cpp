#include "sim/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mmusim {

TraceDemux::TraceDemux(Scheduler& sched, TraceReader* reader, unsigned home, bool pinned)
    : m_sched(sched), m_reader(reader), m_home(home), m_pinned(pinned) {
  m_cur = &m_sched.create(*this, home, pinned, 1);
  m_pids = m_cur->pids;
  m_by_key[1] = m_cur;
  m_threads = 1;
  m_pending.push_back(0);
}

Task& TraceDemux::task_for_event(const TraceRecord& rec) {
  if (rec.kind == RecordKind::Thread) {
    auto it = m_by_key.find(rec.pid);
    if (it != m_by_key.end()) return *(m_cur = it->second);
    // A new thread: the next core round-robin from the trace's (or the
    // trace's own, pinned).
    const unsigned core = m_pinned ? m_home : (m_home + m_threads) % m_sched.cores();
    ++m_threads;
    Task& t = m_sched.create(*this, core, m_pinned, rec.pid);
    t.pids = m_pids;
    m_by_key[rec.pid] = &t;
    return *(m_cur = &t);
  }
  // @proc P: a process switch within the current task's stream; a later
  // `@thread P` comes back to this task.
  if (rec.kind == RecordKind::Proc) m_by_key.emplace(rec.pid, m_cur);
  return *m_cur;
}

void TraceDemux::read_for(Task& t) {
  // Up to kReadAhead records of t at a time (a call per record cost more
  // than the reading), fewer when another task's fence or the buffer
  // bound comes first.
  while (t.buf.size() < kReadAhead && !m_eof && m_buffered < kMaxBuffered) {
    // Read straight into a slot of the task the stream is with (it stays
    // there unless the record is a @thread); the slots' records are reused.
    Task* guess = m_cur;
    BufferedRecord* slot = &guess->buf.push_back();
    bool got = false;
    try {
      got = m_reader->next(slot->rec);
    } catch (const TraceError&) {
      slot->error = std::current_exception();
      slot->epoch = m_fences_read++;
      slot->fence = true;
      m_pending.push_back(0);
      ++m_buffered;
      m_eof = true;
      break;
    }
    if (!got) {
      guess->buf.pop_back();
      m_eof = true;
      break;
    }
    Task& to = task_for(slot->rec);
    if (&to != guess) {
      BufferedRecord& moved = to.buf.push_back();
      std::swap(moved.rec, slot->rec);
      guess->buf.pop_back();
      slot = &moved;
    }
    BufferedRecord& b = *slot;
    const bool fence = b.rec.kind != RecordKind::Access && b.rec.kind != RecordKind::Thread;
    b.pos = m_reader->position();
    b.epoch = m_fences_read;
    b.fence = fence;
    if (b.error) b.error = nullptr;
    if (fence) {
      ++m_fences_read;
      m_pending.push_back(0);
    } else {
      ++m_pending.back();  // the epoch being read, b.epoch, is the last
    }
    ++m_buffered;
    // Past another task's fence, t's next record cannot run before the
    // fence is applied: read no further for now.
    if (fence && &to != &t) break;
  }
}

TraceDemux::Direct TraceDemux::read_direct_event(Task& t, TraceRecord& rec) {
  if (rec.kind == RecordKind::Thread) {
    // As read_for: the record goes to its task's buffer (a new task, or
    // t's own when the @thread names t), in the epoch being read.
    Task& to = task_for_event(rec);
    BufferedRecord& b = to.buf.push_back();
    std::swap(b.rec, rec);
    b.pos = m_reader->position();
    b.epoch = m_fences_read;
    b.fence = false;
    if (b.error) b.error = nullptr;
    ++m_pending.back();
    ++m_buffered;
    (void)t;
    return Direct::Buffered;
  }
  task_for_event(rec);  // @proc: a later @thread of its pid comes back to t
  // Every other event is a fence: read and, with nothing else of the trace
  // to wait for, applied (m_pending stays one epoch with nothing pending).
  ++m_fences_read;
  ++m_fences_applied;
  return Direct::Record;
}

Scheduler::Scheduler(const std::vector<TraceReader*>& traces, unsigned cores, const std::vector<unsigned>& affinity,
                     std::uint64_t migrate_interval)
    : m_runq(cores), m_migrate_interval(migrate_interval) {
  if (!affinity.empty() && affinity.size() != traces.size())
    throw std::invalid_argument("replay.affinity gives " + std::to_string(affinity.size()) + " cores for " +
                                std::to_string(traces.size()) + " traces: give one core per -t trace, in order");
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const bool pinned = !affinity.empty();
    const unsigned home = pinned ? affinity[i] : static_cast<unsigned>(i % cores);
    if (home >= cores)
      throw std::invalid_argument("replay.affinity[" + std::to_string(i) + "] is core " + std::to_string(home) +
                                  ", but cores is " + std::to_string(cores) + " (cores 0.." +
                                  std::to_string(cores - 1) + ")");
    m_demux.push_back(std::make_unique<TraceDemux>(*this, traces[i], home, pinned));
  }
}

Task& Scheduler::create(TraceDemux& d, unsigned core, bool pinned, std::uint32_t key) {
  auto t = std::make_unique<Task>();
  t->id = static_cast<unsigned>(m_tasks.size());
  t->reader = d.reader();
  t->demux = &d;
  t->core = core;
  t->pinned = pinned;
  t->key = key;
  m_runq[core].push_back(t.get());
  m_tasks.push_back(std::move(t));
  ++m_live;
  notify();
  return *m_tasks.back();
}

void Scheduler::move(Task& t, unsigned core) {
  auto& from = m_runq[t.core];
  from.erase(std::find(from.begin(), from.end(), &t));
  t.core = core;
  t.since_migrate = 0;
  m_runq[core].push_back(&t);
  notify();
}

void Scheduler::end(Task& t) {
  auto& q = m_runq[t.core];
  q.erase(std::find(q.begin(), q.end(), &t));
  t.ended = true;
  t.done = true;
  --m_live;
  notify();
}

bool Scheduler::finished() const {
  if (m_live) return false;
  for (const auto& d : m_demux)
    if (!d->eof()) return false;
  return true;
}

void Scheduler::wait() {
  ++m_waiting;
  sc_core::wait(m_progress);
  --m_waiting;
  if (m_woken) --m_woken;
}

}  // namespace mmusim
