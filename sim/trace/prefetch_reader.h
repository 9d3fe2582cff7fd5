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
// The hand-over is compact: an access crosses from the decoder's core to the
// simulation's as the 16 bytes of an Access (address, size, kind), not as a
// whole TraceRecord (some 150 bytes with its strings); the rare events go
// whole, in a side list of the batch, in their place. The reader rebuilds an
// access in one TraceRecord of its own (trace_record.h leaves the fields an
// access does not use unspecified). Positions are written beside, and read
// only when location() or position() asks.
#pragma once

#include <atomic>
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
  static constexpr std::size_t kBatches = 32;
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
    if (r == &m_access) {  // the fields of an access
      rec.kind = RecordKind::Access;
      rec.access = r->access;
      rec.size = r->size;
      rec.addr = r->addr;
    } else {
      copy(*r, rec);
    }
    return true;
  }
  // next() without the copy: the record in the ring, valid until the next
  // call; null at the clean end of the trace.
  const TraceRecord* next_ref() {
    if (m_index == m_count && !take_batch()) return nullptr;
    const Packed& p = m_packed[m_index++];
    if (p.event) return &m_batch->events[m_event++];
    m_access.addr = p.addr;
    m_access.size = p.size;
    m_access.access = p.access;
    return &m_access;
  }
  double progress() const override { return m_progress; }
  const std::string& path() const override { return m_inner.path(); }
  const char* format_name() const override { return m_inner.format_name(); }
  std::string location() const override { return m_inner.location_at(position()); }
  // That of the record last returned (its batch is held until the next one
  // is taken, which keeps the last position in m_pos).
  std::uint64_t position() const override { return m_index ? m_batch->positions[m_index - 1] : m_pos; }
  std::string location_at(std::uint64_t position) const override { return m_inner.location_at(position); }

  // (The decoder's types: public for its helper in the .cpp.)
  // An access, or the mark of the batch's next event.
  struct Packed {
    std::uint64_t addr;
    std::uint32_t size;
    AccessKind access;
    bool event;
  };
  static_assert(sizeof(Packed) == 16, "an access crosses the cores in 16 bytes");
  // Cache-line aligned, as are the decoder's and the reader's state below:
  // what one thread writes never shares a line with what the other reads
  // per record.
  static constexpr std::size_t kLine = 64;
  struct alignas(kLine) Batch {
    std::vector<Packed> packed;
    std::vector<TraceRecord> events;  // the events among packed, in order (grown as needed, never shrunk)
    std::size_t n_events = 0;
    std::vector<std::uint64_t> positions;
    std::size_t count = 0;
    bool end = false;          // the trace ends after these records
    std::exception_ptr error;  // thrown after these records
    double progress = 0;
  };

 private:
  // Every field, so that a field added to TraceRecord is never lost here
  // (the replay takes records with next_ref(), without a copy; a string
  // assignment reuses the destination's buffer).
  static void copy(const TraceRecord& from, TraceRecord& to) { to = from; }
  // Releases the current batch and waits for the next; false at the end of
  // the trace; rethrows the inner reader's exception where it occurred.
  bool take_batch();
  void decode();
  void fill(Batch& b, TraceRecord& rec);  // the decoder's records for b (b.count is kept up to date)

  TraceReader& m_inner;
  std::vector<Batch> m_ring;
  alignas(kLine) std::mutex m_mutex;
  std::condition_variable m_cv;
  // Changed under m_mutex; read without it while spinning.
  std::atomic<std::uint64_t> m_filled{0};    // batches published by the decoder
  std::atomic<std::uint64_t> m_consumed{0};  // batches released by the reader
  bool m_stop = false;                       // (under m_mutex)
  bool m_decoder_waiting = false;            // (under m_mutex)
  bool m_reader_waiting = false;             // (under m_mutex)
  // The reader's side only.
  alignas(kLine) Batch* m_batch = nullptr;
  const Packed* m_packed = nullptr;  // m_batch->packed
  std::size_t m_index = 0;           // of the next record in m_batch
  std::size_t m_event = 0;           // of the next event in m_batch
  std::size_t m_count = 0;
  TraceRecord m_access;  // the access last returned
  bool m_finished = false;
  std::uint64_t m_pos = 0;  // position() before the first record of m_batch
  double m_progress = 0;
  alignas(kLine) std::thread m_thread;
};

}  // namespace mmusim
