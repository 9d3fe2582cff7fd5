// The demultiplexing of a trace into tasks and the fence order
// (sim/scheduler.h), without a simulation: the tests play the cores, asking
// TraceDemux::state() and running records with done() in an order of their
// choosing. Every expected state follows from the rules in scheduler.h:
// a record runs only in the current epoch (the fences run so far), a fence
// only when every record of its epoch before it has run.

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/scheduler.h"

namespace mmusim {
namespace {

class VectorReader : public TraceReader {
 public:
  explicit VectorReader(std::vector<TraceRecord> recs) : m_recs(std::move(recs)) {}
  bool next(TraceRecord& rec) override {
    if (m_at == m_recs.size()) return false;
    rec = m_recs[m_at++];
    ++m_reads;
    return true;
  }
  double progress() const override { return 0; }
  const std::string& path() const override { return m_path; }
  const char* format_name() const override { return "vector"; }
  std::uint64_t position() const override { return m_at; }
  std::string location_at(std::uint64_t p) const override { return "v:" + std::to_string(p); }
  std::size_t reads() const { return m_reads; }

 private:
  std::vector<TraceRecord> m_recs;
  std::size_t m_at = 0, m_reads = 0;
  std::string m_path = "v";
};

TraceRecord access(std::uint64_t addr) {
  TraceRecord r;
  r.addr = addr;
  return r;
}
TraceRecord event(RecordKind k, std::uint32_t pid = 0) {
  TraceRecord r;
  r.kind = k;
  r.pid = pid;
  return r;
}

using State = TraceDemux::State;

// Runs t's next record, which must be ready; returns its address or kind.
void run_one(TraceDemux& d, Task& t) {
  ASSERT_EQ(d.state(t), State::Ready);
  d.done(t);
}

TEST(Scheduler, PlacesThreadsRoundRobinFromTheTracesCore) {
  // Trace 0 on core 0, trace 1 on core 1 (i mod 3 with 3 cores); trace 0's
  // threads 2 and 3 go to the cores 1 and 2 after core 0; trace 1's thread
  // 5 to core 2 (1 + 1).
  VectorReader a({event(RecordKind::Thread, 2), access(1), event(RecordKind::Thread, 3), access(2)});
  VectorReader b({event(RecordKind::Thread, 5), access(3)});
  Scheduler s({&a, &b}, 3, {}, 0);
  Task& a0 = *s.run_queue(0).at(0);
  Task& b0 = *s.run_queue(1).at(0);
  EXPECT_EQ(a0.demux->state(a0), State::Done);  // reads the whole trace: no record of its own
  EXPECT_EQ(b0.demux->state(b0), State::Done);
  ASSERT_EQ(s.run_queue(1).size(), 2u);
  ASSERT_EQ(s.run_queue(2).size(), 2u);
  EXPECT_EQ(s.run_queue(1)[1]->key, 2u);
  EXPECT_EQ(s.run_queue(2)[0]->key, 3u);
  EXPECT_EQ(s.run_queue(2)[1]->key, 5u);
  // With affinity every task of the trace stays on its core, pinned.
  VectorReader c({event(RecordKind::Thread, 2), access(1)});
  Scheduler p({&c}, 2, {1}, 0);
  Task& c0 = *p.run_queue(1).at(0);
  EXPECT_EQ(c0.demux->state(c0), State::Done);
  ASSERT_EQ(p.run_queue(1).size(), 2u);
  EXPECT_TRUE(p.run_queue(1)[1]->pinned);
  EXPECT_TRUE(p.run_queue(0).empty());
}

TEST(Scheduler, RefusesAffinityOfTheWrongLengthOrCore) {
  VectorReader a({}), b({});
  EXPECT_THROW(Scheduler({&a, &b}, 2, {0}, 0), std::invalid_argument);
  EXPECT_THROW(Scheduler({&a}, 2, {2}, 0), std::invalid_argument);
}

TEST(Scheduler, AFenceWaitsForEveryEarlierRecordAndHoldsBackTheLaterOnes) {
  // line: record (task, epoch)
  // 1 @clone 2 (t1 fence 0) | 2 @thread 2 (t2, 1) | 3 R (t2, 1) |
  // 4 @thread 1 (t1, 1) | 5 @munmap (t1 fence 1) | 6 @thread 2 (t2, 2) | 7 R (t2, 2)
  VectorReader r({event(RecordKind::Clone, 2), event(RecordKind::Thread, 2), access(0x1000),
                  event(RecordKind::Thread, 1), event(RecordKind::Munmap), event(RecordKind::Thread, 2),
                  access(0x2000)});
  Scheduler s({&r}, 2, {}, 0);
  TraceDemux& d = *s.run_queue(0)[0]->demux;
  Task& t1 = *s.run_queue(0)[0];
  run_one(d, t1);  // line 1: @clone, nothing before it
  // t1's next record is line 4: reading there creates t2 on core 1.
  ASSERT_EQ(d.state(t1), State::Ready);
  EXPECT_EQ(t1.buf.front().rec.kind, RecordKind::Thread);
  Task& t2 = *s.run_queue(1).at(0);
  d.done(t1);  // line 4
  // Line 5, the fence, waits for lines 2 and 3 (t2's, unrun).
  EXPECT_EQ(d.state(t1), State::Blocked);
  run_one(d, t2);  // line 2
  EXPECT_EQ(d.state(t1), State::Blocked);
  run_one(d, t2);  // line 3
  // t2's next record (line 6) comes after the fence: blocked until it runs.
  EXPECT_EQ(d.state(t2), State::Blocked);
  EXPECT_EQ(d.state(t1), State::Ready);
  // The fence's run wakes t2, found blocked.
  EXPECT_TRUE(d.done(t1));
  EXPECT_EQ(d.fences_applied(), 2u);
  run_one(d, t2);  // line 6
  run_one(d, t2);  // line 7
  EXPECT_EQ(d.state(t2), State::Done);
  EXPECT_EQ(d.state(t1), State::Done);
}

TEST(Scheduler, ThreadsRunFreelyBetweenFences) {
  // 1 @thread 2 (t2) | 2 R (t2) | 3 @thread 1 (t1) | 4 R (t1): one epoch, so
  // t1's line 4 may run before t2's lines 1-2.
  VectorReader r({event(RecordKind::Thread, 2), access(1), event(RecordKind::Thread, 1), access(2)});
  Scheduler s({&r}, 2, {}, 0);
  Task& t1 = *s.run_queue(0)[0];
  TraceDemux& d = *t1.demux;
  run_one(d, t1);  // line 3
  run_one(d, t1);  // line 4
  EXPECT_EQ(d.state(t1), State::Done);
  Task& t2 = *s.run_queue(1).at(0);
  run_one(d, t2);
  run_one(d, t2);
  EXPECT_EQ(d.state(t2), State::Done);
}

TEST(Scheduler, ReadAheadStopsAtTheBufferBound) {
  // t2's second record comes after 70000 of t1's: reading for it stops at
  // kMaxBuffered records buffered (t2's first and 65535 of t1's), and goes
  // on as t1's run frees the buffer.
  std::vector<TraceRecord> recs{event(RecordKind::Thread, 2), access(1), event(RecordKind::Thread, 1)};
  for (int i = 0; i < 70000; ++i) recs.push_back(access(2));
  recs.push_back(event(RecordKind::Thread, 2));
  recs.push_back(access(3));
  VectorReader r(recs);
  Scheduler s({&r}, 2, {}, 0);
  Task& t1 = *s.run_queue(0)[0];
  TraceDemux& d = *t1.demux;
  // Reads until t1 has kReadAhead records: lines 1-2 go to t2, line 3
  // (@thread 1) and the next kReadAhead - 1 reads to t1.
  ASSERT_EQ(d.state(t1), State::Ready);
  EXPECT_EQ(r.reads(), 2u + TraceDemux::kReadAhead);
  Task& t2 = *s.run_queue(1).at(0);
  run_one(d, t2);  // @thread 2
  run_one(d, t2);  // R 1
  EXPECT_EQ(d.state(t2), State::Blocked);
  EXPECT_EQ(t1.buf.size(), TraceDemux::kMaxBuffered);  // @thread 1 and 65535 reads
  EXPECT_EQ(r.reads(), 3u + TraceDemux::kMaxBuffered - 1);
  for (int i = 0; i < 70001; ++i) run_one(d, t1);
  EXPECT_EQ(d.state(t1), State::Done);
  run_one(d, t2);  // @thread 2
  run_one(d, t2);  // R 3
  EXPECT_EQ(d.state(t2), State::Done);
}

}  // namespace
}  // namespace mmusim
