// A trace reader decoded on a thread of its own: reading, decompression and
// parsing run beside the simulation, which takes the records in batches.
//
// PrefetchReader wraps another TraceReader. A decoder thread fills a ring of
// kBatches pre-allocated batches of kBatchRecords records each (bounded, no
// allocation per record or per batch) and the caller's next() takes them in
// order; it blocks only when no decoded record is ready. Each record carries
// the inner reader's position() (sim/trace/trace_reader.h), so location() is
// that of the record last returned, not the decoder's. An exception the inner
// reader throws (TraceError, a decompression error) is kept at its place in
// the sequence and rethrown by the next() that reaches it: every record
// before it is returned first, exactly as with the inner reader alone.
// progress() is the inner reader's, taken when the batch of the record last
// returned was filled. Nothing else is shared: the inner reader is used only
// by the decoder thread (location_at() excepted, which reads nothing next()
// changes).
//
// Records are copied out field by field; the name is copied only for @mark,
// the one kind that uses it (trace_record.h leaves unused fields unspecified).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sim/trace/trace_reader.h"

namespace mmusim {

class PrefetchReader : public TraceReader {
 public:
  static constexpr std::size_t kBatches = 8;
  static constexpr std::size_t kBatchRecords = 1024;

  // Starts the decoder thread; inner must outlive this reader.
  explicit PrefetchReader(TraceReader& inner);
  // Stops the decoder thread (after its current batch) and joins it.
  ~PrefetchReader() override;
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  bool next(TraceRecord& rec) override {
    const TraceRecord* r = next_ref();
    if (!r) return false;
    copy(*r, rec);
    return true;
  }
  // next() without the copy: the record in the ring, valid until the next
  // call; null at the clean end of the trace.
  const TraceRecord* next_ref() {
    if (m_index == m_count && !take_batch()) return nullptr;
    m_pos = m_batch->positions[m_index];
    return &m_batch->records[m_index++];
  }
  double progress() const override { return m_progress; }
  const std::string& path() const override { return m_inner.path(); }
  const char* format_name() const override { return m_inner.format_name(); }
  std::string location() const override { return m_inner.location_at(m_pos); }
  std::uint64_t position() const override { return m_pos; }
  std::string location_at(std::uint64_t position) const override { return m_inner.location_at(position); }

 private:
  struct Batch {
    std::vector<TraceRecord> records;
    std::vector<std::uint64_t> positions;
    std::size_t count = 0;
    bool end = false;          // the trace ends after these records
    std::exception_ptr error;  // thrown after these records
    double progress = 0;
  };

  // Every field, so that a field added to TraceRecord is never lost here
  // (the replay takes records with next_ref(), without a copy; a string
  // assignment reuses the destination's buffer).
  static void copy(const TraceRecord& from, TraceRecord& to) { to = from; }
  // Releases the current batch and waits for the next; false at the end of
  // the trace; rethrows the inner reader's exception where it occurred.
  bool take_batch();
  void decode();

  TraceReader& m_inner;
  std::vector<Batch> m_ring;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::uint64_t m_filled = 0;      // batches published by the decoder (under m_mutex)
  std::uint64_t m_consumed = 0;    // batches released by the reader (under m_mutex)
  bool m_stop = false;             // (under m_mutex)
  bool m_decoder_waiting = false;  // (under m_mutex)
  bool m_reader_waiting = false;   // (under m_mutex)
  // The reader's side only.
  Batch* m_batch = nullptr;
  std::size_t m_index = 0;
  std::size_t m_count = 0;
  bool m_finished = false;
  std::uint64_t m_pos = 0;
  double m_progress = 0;
  std::thread m_thread;
};

}  // namespace mmusim
