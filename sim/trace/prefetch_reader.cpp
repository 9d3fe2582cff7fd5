#include "sim/trace/prefetch_reader.h"

#include "sim/trace/bin_reader.h"
#include "sim/trace/champsim_reader.h"
#include "sim/trace/lackey_reader.h"
#include "sim/trace/text_reader.h"

#include <chrono>
#include <type_traits>
#include <typeinfo>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mmusim {

PrefetchReader::PrefetchReader(TraceReader& inner)
    : m_inner(inner),
      m_batches(kStartupBatches + kBatches),
      m_words(new std::uint64_t[(kStartupBatches + kBatches) * kBatchRecords * 2]) {  // not value-initialized
  std::uint64_t* w = m_words.get();
  for (Batch& b : m_batches) {
    b.packed = w;
    b.positions = w + kBatchRecords;
    w += 2 * kBatchRecords;
  }
  m_pos = inner.position();
  m_progress = inner.progress();
  m_thread = std::thread([this] { decode(); });
}

PrefetchReader::~PrefetchReader() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

std::uint64_t PrefetchReader::position() const {
  if (m_index == 0) return m_pos;
  // m_index only grows within a batch, and both restart with it.
  for (; m_scanned < m_index; ++m_scanned) {
    if (m_packed[m_scanned] & kNewPosition) m_scanned_pos = m_batch->positions[m_scanned_new++];
    else m_scanned_pos += m_batch->position_step;
  }
  return m_scanned_pos;
}

// Waits up to kSpin for ready() without sleeping: on its own core, a
// thread that spins sees the other's batch at once, where a sleep costs a
// futex wake on the other thread and a wake-up on this one per batch, more
// than the batch's records cost to simulate or decode. 1 ms rather than
// 100 us: one read of the decompressor (64 KiB of xz-compressed lackey text)
// takes some 200 us, in which a shorter spin ended in a sleep and a wake-up
// per read (about 7 ms of 0.2 s on python-dict as lackey.xz).
template <class Ready>
static bool spin_until(Ready ready) {
  constexpr auto kSpin = std::chrono::microseconds(1000);
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= until) return ready();
  }
}

bool PrefetchReader::take_batch() {
  if (m_finished) return false;
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_batch) {
    // The batch just used up ended the trace or carried an error.
    Batch& done = *m_batch;
    if (done.count) m_pos = done.last_position;
    m_index = 0;
    if (done.error || done.end) {
      m_finished = true;
      std::exception_ptr e = done.error;
      lock.unlock();
      if (e) std::rethrow_exception(e);
      return false;
    }
    ++m_consumed;
    m_batch = nullptr;
    // The decoder, once the ring is full, sleeps until half of it is free:
    // one wake-up per kBatches / 2 batches, not one per batch.
    if (m_decoder_waiting && m_filled - m_consumed <= kBatches / 2) m_cv.notify_all();
  }
  if (m_filled == m_consumed) {
    lock.unlock();
    const std::uint64_t consumed = m_consumed.load(std::memory_order_relaxed);  // only this thread changes it
    spin_until([&] { return m_filled.load(std::memory_order_acquire) > consumed; });
    lock.lock();
  }
  if (m_filled == m_consumed) {
    m_reader_waiting = true;
    m_cv.wait(lock, [this] { return m_filled > m_consumed; });
    m_reader_waiting = false;
  }
  m_batch = &batch(m_consumed);
  lock.unlock();
  m_index = 0;
  m_whole = 0;
  m_scanned = 0;
  m_scanned_new = 0;
  m_scanned_pos = 0;
  m_packed = m_batch->packed;
  m_count = m_batch->count;
  m_progress = m_batch->progress;
  if (m_count == 0) return take_batch();  // an end or an error with no record before it
  return true;
}

// The batch's records from r; R is r's exact type, so that next() and
// position() are called directly (position() inline), not through the
// vtable, once per record.
template <class R>
static void fill_from(R& r, PrefetchReader::Batch& b, TraceRecord& rec) {
  using P = PrefetchReader;
  constexpr bool kAny = std::is_same_v<R, TraceReader>;  // another reader: through the vtable
  // A line format's position is its line number: the next record's is most
  // often the last one's plus 1, and not stored.
  constexpr std::uint64_t kStep = std::is_same_v<R, LackeyReader> || std::is_same_v<R, TextReader> ? 1 : 0;
  b.position_step = kStep;
  std::uint64_t* const packed = b.packed;
  std::uint64_t* const positions = b.positions;
  std::size_t n_positions = 0;
  std::uint64_t last = 0;
  std::size_t count = 0;
  // count and last in registers; written to b at the end, or before an
  // exception of the inner reader leaves (the records before it stand).
  try {
    while (count < P::kBatchRecords) {
      bool got;
      if constexpr (kAny) got = r.next(rec);
      else got = r.R::next(rec);
      if (!got) {
        b.end = true;
        break;
      }
      std::uint64_t w = rec.kind == RecordKind::Access ? P::pack(rec.addr, rec.size, rec.access) : P::kWhole;
      if (w == P::kWhole) {
        if (b.n_whole == b.whole.size()) b.whole.emplace_back();
        b.whole[b.n_whole++] = rec;  // reuses the strings' buffers
      }
      std::uint64_t pos;
      if constexpr (kAny) pos = r.position();
      else pos = r.R::position();
      if (count == 0 || pos != last + kStep) {
        positions[n_positions++] = pos;
        w |= P::kNewPosition;
      }
      last = pos;
      packed[count++] = w;
    }
  } catch (...) {
    b.count = count;
    b.last_position = last;
    throw;
  }
  b.count = count;
  b.last_position = last;
}

void PrefetchReader::fill(Batch& b, TraceRecord& rec) {
  TraceReader& r = m_inner;
  const std::type_info& type = typeid(r);
  if (type == typeid(BinReader)) fill_from(static_cast<BinReader&>(r), b, rec);
  else if (type == typeid(ChampSimReader)) fill_from(static_cast<ChampSimReader&>(r), b, rec);
  else if (type == typeid(LackeyReader)) fill_from(static_cast<LackeyReader&>(r), b, rec);
  else if (type == typeid(TextReader)) fill_from(static_cast<TextReader&>(r), b, rec);
  else fill_from(r, b, rec);
}

void PrefetchReader::decode() {
  TraceRecord rec;
  for (std::uint64_t n = 0;; ++n) {
    if (!may_fill(n, m_consumed.load(std::memory_order_acquire)))
      spin_until([&] { return may_fill(n, m_consumed.load(std::memory_order_acquire)); });
    {
      std::unique_lock<std::mutex> lock(m_mutex);
      if (!m_stop && !may_fill(n, m_consumed)) {
        m_decoder_waiting = true;
        m_cv.wait(lock, [this, n] { return m_stop || n - m_consumed <= kBatches / 2; });
        m_decoder_waiting = false;
      }
      if (m_stop) return;
    }
    Batch& b = batch(n);
    b.count = 0;
    b.n_whole = 0;
    b.end = false;
    b.error = nullptr;
    try {
      fill(b, rec);
    } catch (...) {
      b.error = std::current_exception();
    }
    b.progress = m_inner.progress();
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_filled = n + 1;
      if (m_reader_waiting) m_cv.notify_all();
    }
    if (b.end || b.error) return;
  }
}

}  // namespace mmusim
