// A trace reader decoded on a thread of its own: reading, decompression and
// parsing run beside the simulation, which takes the records in batches.
//
// PrefetchReader wraps another TraceReader. A decoder thread fills a ring of
// kBatches pre-allocated batches of kBatchRecords records each (bounded, no
// allocation per record or per batch) and the caller's next() takes them in
// order; it blocks only when no decoded record is ready. Before the ring, the
// decoder fills kStartupBatches batches used once: the simulator's start-up
// after the reader is made (the OS model's memory map, SystemC's
// elaboration: some 5 ms, in which the decoder would otherwise fill the ring
// in under 1 ms and wait) overlaps with decoding. A larger ring would do the
// same but cost the whole run: the ring's batches are reused while still in
// the cores' caches (128 batches instead of 32 were no faster, 512 some 7%
// slower end to end on python-dict as xz-compressed ChampSim). Each record carries
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
// The hand-over is compact, since every byte of it crosses from the decoder's
// core to the simulation's: an access is one 8-byte word (pack()), not a
// whole TraceRecord (some 150 bytes with its strings). The rare records that
// do not fit a word - events, and accesses with an unusual size or an address
// outside the sign-extended 56 bits - go whole, in a side list of the batch,
// in their place. The reader rebuilds an access in one TraceRecord of its own
// (trace_record.h leaves the fields an access does not use unspecified).
// Positions are written beside, only where they do not follow from the
// record before (a ChampSim instruction's accesses share one; a line
// format's record is on the line after the last one's, unless lines were
// skipped), and looked up only when location() or position() asks. On
// python-dict's 10 M accesses as xz-compressed ChampSim, 24 bytes per access
// (16-byte access and 8-byte position each) made the decoder thread some 5%
// slower than these ~12.
#pragma once

#include <array>
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
  static constexpr std::size_t kStartupBatches = 256;
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
    const std::uint64_t w = m_packed[m_index++];
    if (w & kWhole) return &m_batch->whole[m_whole++];
    m_access.addr = unpack_addr(w);
    m_access.size = unpack_size(w);
    m_access.access = unpack_kind(w);
    return &m_access;
  }
  double progress() const override { return m_progress; }
  const std::string& path() const override { return m_inner.path(); }
  const char* format_name() const override { return m_inner.format_name(); }
  std::string location() const override { return m_inner.location_at(position()); }
  // That of the record last returned (its batch is held until the next one
  // is taken). Amortized O(1) when asked for record after record.
  std::uint64_t position() const override;
  std::string location_at(std::uint64_t position) const override { return m_inner.location_at(position); }

  // (The decoder's types: public for its helper in the .cpp.)
  //
  // An access as one word: bits 63..8 are its address's bits 55..0 (the
  // address is their sign extension: every canonical 4-level address, and
  // the 5-level ones but [2^55, 2^56) and its mirror below -2^55), bits 7..4 the
  // code of its size in kSizes, bits 3..2 its AccessKind, bit 1 kNewPosition,
  // bit 0 kWhole. A word with kWhole set stands for the batch's next record
  // in `whole` (its other bits, kNewPosition excepted, are 0).
  static constexpr std::uint64_t kWhole = 1;
  // The record's position() is the batch's next in `positions`; without it,
  // that of the record before it plus the batch's position_step (the first
  // of a batch always has one).
  static constexpr std::uint64_t kNewPosition = 2;
  static constexpr std::uint32_t kSizes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 32, 64};
  // The word of an access; kWhole when it does not fit one.
  static std::uint64_t pack(std::uint64_t addr, std::uint32_t size, AccessKind kind) {
    const std::uint64_t code = size < kSizeCodes.code.size() ? kSizeCodes.code[size] : kNoSizeCode;
    const bool fits = unpack_addr(addr << 8) == addr && code != kNoSizeCode;
    return fits ? addr << 8 | code << 4 | std::uint64_t{static_cast<std::uint8_t>(kind)} << 2 : kWhole;
  }
  static std::uint64_t unpack_addr(std::uint64_t w) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(w) >> 8);  // arithmetic: sign-extends bit 55
  }
  static std::uint32_t unpack_size(std::uint64_t w) { return kSizes[(w >> 4) & 15]; }
  static AccessKind unpack_kind(std::uint64_t w) { return static_cast<AccessKind>((w >> 2) & 3); }

  // Cache-line aligned, as are the decoder's and the reader's state below:
  // what one thread writes never shares a line with what the other reads
  // per record.
  static constexpr std::size_t kLine = 64;
  struct alignas(kLine) Batch {
    std::uint64_t* packed = nullptr;  // a word per record (kBatchRecords, in m_words)
    std::vector<TraceRecord> whole;   // the records of the kWhole words, in order (grown as needed, never shrunk)
    std::size_t n_whole = 0;
    std::uint64_t* positions = nullptr;  // one per kNewPosition word (kBatchRecords, in m_words)
    std::uint64_t last_position = 0;     // that of the last record (when count > 0)
    std::uint64_t position_step = 0;     // 1 for the line readers (a position is a line number), else 0
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
  void fill(Batch& b,
            TraceRecord& rec);  // the decoder's records for b (b.count is set also when the inner reader throws)
  // Batch n: the startup batches, then the ring's.
  Batch& batch(std::uint64_t n) {
    return m_batches[n < kStartupBatches ? n : kStartupBatches + (n - kStartupBatches) % kBatches];
  }
  // Whether the decoder may fill batch n: a startup batch or a ring slot
  // not used yet, or one whose last batch the reader has released.
  bool may_fill(std::uint64_t n, std::uint64_t consumed) const {
    return n < kStartupBatches + kBatches || n - consumed < kBatches;
  }

  // kSizes's index of each size up to 64, kNoSizeCode for the others.
  static constexpr std::uint8_t kNoSizeCode = 16;
  struct SizeCodes {
    std::array<std::uint8_t, 65> code;
  };
  static const SizeCodes kSizeCodes;

  TraceReader& m_inner;
  std::vector<Batch> m_batches;              // kStartupBatches, then the ring's kBatches
  std::unique_ptr<std::uint64_t[]> m_words;  // their packed words and positions (touched only when written)
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
  const std::uint64_t* m_packed = nullptr;  // m_batch->packed
  std::size_t m_index = 0;                  // of the next record in m_batch
  std::size_t m_whole = 0;                  // of the next record in m_batch->whole
  std::size_t m_count = 0;
  // position()'s scan: m_packed[0, m_scanned) has m_scanned_new kNewPosition
  // words, and record m_scanned - 1 position m_scanned_pos.
  mutable std::size_t m_scanned = 0;
  mutable std::size_t m_scanned_new = 0;
  mutable std::uint64_t m_scanned_pos = 0;
  TraceRecord m_access;  // the access last returned
  bool m_finished = false;
  std::uint64_t m_pos = 0;  // position() before the first record of m_batch
  double m_progress = 0;
  alignas(kLine) std::thread m_thread;
};

inline constexpr PrefetchReader::SizeCodes PrefetchReader::kSizeCodes = [] {
  SizeCodes t{};
  for (std::uint8_t& c : t.code) c = kNoSizeCode;
  for (std::uint8_t i = 0; i < 16; ++i) t.code[kSizes[i]] = i;
  return t;
}();

}  // namespace mmusim
