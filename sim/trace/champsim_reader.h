// Reader for ChampSim's binary instruction traces (traces/FORMAT.md, "The champsim format").
//
// Models: two fixed-size, little-endian record layouts, one instruction each.
//
//   champsim (ChampSim's input_instr), 64 bytes:
//     ip u64 @0, is_branch u8 @8, branch_taken u8 @9,
//     destination_registers u8[2] @10, source_registers u8[4] @12,
//     destination_memory u64[2] @16, source_memory u64[4] @32
//   champsim-cloudsuite (ChampSim's cloudsuite_instr), 96 bytes:
//     ip u64 @0, is_branch u8 @8, branch_taken u8 @9,
//     destination_registers u8[4] @10, source_registers u8[4] @14,
//     destination_memory u64[4] @24, source_memory u64[4] @56,
//     asid u8[2] @88; bytes 18..23 and 90..95 are padding (ignored)
//
// Each record becomes, in this order:
//   1. (cloudsuite only) a Proc record with pid = asid[0] + 256 * asid[1] + 1,
//      before the first record and whenever the asid differs from the previous
//      record's. The +1 keeps pid 0 unused and maps asid 0 to pid 1, the
//      process the OS model runs when a trace names none.
//   2. an IFetch of ip, size 1;
//   3. a Load of each non-zero source_memory operand, in array order, size 1;
//   4. a Store of each non-zero destination_memory operand, in array order,
//      size 1.
// ChampSim records neither instruction lengths nor operand sizes, so every
// access is 1 byte: no access crosses a page, none is invented. A zero
// operand means "unused" (as in ChampSim) and is skipped. Operands are not
// deduplicated: the same address twice is two accesses. Branch flags and
// registers are read by no one.
//
// Leaves out: events other than Proc (the OS model maps on first touch), the
// x86 instruction length, operand sizes, ChampSim's branch information.
//
// Errors (TraceError, "FILE: byte OFFSET: expected ..., got ..."; OFFSET is
// the decompressed byte offset of the record):
//   * a record with ip 0 - ChampSim's front end treats every record as an
//     instruction, and an ip of 0 only appears in corrupt or zero-filled data:
//       "FILE: byte 640: expected a record with a non-zero ip, got ip 0"
//   * a last record cut short (length not a multiple of the record size):
//       "FILE: byte 6400: expected a complete 64-byte champsim record, got 37 bytes"
// Non-canonical addresses are the replay's business, not the reader's.
//
// location() is "FILE: byte OFFSET" of the record the last returned
// TraceRecord came from (just "FILE" before the first one).
//
// Notes: reads ByteSource in 64 KiB blocks into its own buffer and decodes
// each record straight from it into a fixed queue of at most 9 pending
// accesses (plus a pending Proc flag), so nothing is allocated per record.
// The block is small enough to stay in the core's L2 between the
// decompressor's copy into it and the decoding, with the decompressor's own
// window and, on a decoder thread, the hand-over ring beside it: 1 MiB blocks
// made an xz-compressed trace's decoding some 8% slower (python-dict, 10 M
// accesses), and 64 KiB was as fast as 16 or 32 KiB on a plain file. About
// 60 M ChampSim records (95 M accesses) per second from a cached plain file;
// xz and gzip input is bound by the decompressor. next() and the champsim
// layout's decoding are inline, so that a caller that knows the type
// (PrefetchReader's decoder thread) gets them without a call per access or
// per record.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "sim/trace/byte_source.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

namespace champsim_detail {
inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

// Field offsets of the champsim layout (above; the cloudsuite layout's are
// in the .cpp): decoded inline, in ChampSimReader::decode_next.
struct ChampsimLayout {
  static constexpr std::size_t kBytes = 64;
  static constexpr std::size_t kDst = 16, kNumDst = 2;
  static constexpr std::size_t kSrc = 32, kNumSrc = 4;
};

// Appends the loads, then the stores, of the record at p to q[n...]: each
// slot is written unconditionally and kept only when the operand is non-zero,
// so there is no branch per operand. Returns the new n.
template <class L, class Pending>
inline std::size_t expand_operands(const unsigned char* p, Pending* q, std::size_t n) {
  for (std::size_t i = 0; i < L::kNumSrc; ++i) {
    const std::uint64_t a = load_le64(p + L::kSrc + 8 * i);
    q[n] = {a, AccessKind::Load};
    n += a != 0;
  }
  for (std::size_t i = 0; i < L::kNumDst; ++i) {
    const std::uint64_t a = load_le64(p + L::kDst + 8 * i);
    q[n] = {a, AccessKind::Store};
    n += a != 0;
  }
  return n;
}
}  // namespace champsim_detail

class ChampSimReader : public TraceReader {
 public:
  enum class Layout : std::uint8_t { Champsim, Cloudsuite };

  static constexpr const char* kFormatName = "champsim";
  static constexpr const char* kCloudsuiteFormatName = "champsim-cloudsuite";
  static constexpr std::size_t kRecordBytes = 64;
  static constexpr std::size_t kCloudsuiteRecordBytes = 96;
  static constexpr std::uint32_t kAccessBytes = 1;

  ChampSimReader(const std::string& path, Layout layout);
  ChampSimReader(std::unique_ptr<ByteSource> source, Layout layout);

  bool next(TraceRecord& rec) override {
    if (m_qhead == m_qlen && !decode_next()) return false;
    if (m_proc_pending) {
      m_proc_pending = false;
      rec.kind = RecordKind::Proc;
      rec.pid = m_pid;
      return true;
    }
    const Pending& e = m_queue[m_qhead++];
    rec.kind = RecordKind::Access;
    rec.access = e.access;
    rec.addr = e.addr;
    rec.size = kAccessBytes;
    return true;
  }
  double progress() const override;
  const std::string& path() const override { return m_source->path(); }
  const char* format_name() const override {
    return m_layout == Layout::Champsim ? kFormatName : kCloudsuiteFormatName;
  }
  std::string location() const override;
  // 0 before the first record, else its offset + 1.
  std::uint64_t position() const override { return m_have_record ? m_rec_offset + 1 : 0; }
  std::string location_at(std::uint64_t position) const override;

  // Format auto-detection for data that is not text (the caller has seen a
  // NUL byte). head is the first decompressed bytes; whole says they are the
  // whole data. Returns kFormatName when every complete 64-byte record in head
  // has a non-zero ip (and, when whole, the length is a multiple of 64) - that
  // is, whenever the champsim reader would accept the head; otherwise
  // kCloudsuiteFormatName when the same holds for 96-byte records and their
  // is_branch and branch_taken bytes are 0 or 1; otherwise nullptr.
  static const char* detect(std::string_view head, bool whole);

 private:
  struct Pending {
    std::uint64_t addr;
    AccessKind access;
  };
  static constexpr std::size_t kBufBytes = std::size_t{64} << 10;
  static constexpr std::size_t kMaxPending = 1 + 4 + 4;  // fetch, loads, stores

  // The next record's accesses into m_queue; false at the clean end. Inline
  // with next(), once per record; the cloudsuite layout and refills are out
  // of line.
  bool decode_next() {
    if (m_end - m_pos < m_record_bytes && !refill()) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(m_buf.get() + m_pos);
    m_rec_offset = m_buf_offset + m_pos;
    m_have_record = true;
    m_pos += m_record_bytes;
    if (m_layout != Layout::Champsim) return decode_cloudsuite(p);
    const std::uint64_t ip = champsim_detail::load_le64(p);
    if (ip == 0) fail_ip0();
    m_queue[0] = {ip, AccessKind::IFetch};
    m_qlen = champsim_detail::expand_operands<champsim_detail::ChampsimLayout>(p, m_queue.data(), 1);
    m_qhead = 0;
    return true;
  }
  bool decode_cloudsuite(const unsigned char* p);  // decode_next() of the cloudsuite layout
  [[noreturn]] void fail_ip0() const;
  bool refill();
  [[noreturn]] void fail(const std::string& what, const std::string& got) const;

  std::unique_ptr<ByteSource> m_source;
  Layout m_layout;
  std::size_t m_record_bytes;

  std::unique_ptr<char[]> m_buf;
  std::size_t m_pos = 0;           // next undecoded byte in m_buf
  std::size_t m_end = 0;           // end of valid bytes in m_buf
  std::uint64_t m_buf_offset = 0;  // stream offset of m_buf[0]
  std::uint64_t m_rec_offset = 0;  // stream offset of the current record
  bool m_have_record = false;      // m_rec_offset is meaningful
  bool m_eof = false;

  std::array<Pending, kMaxPending> m_queue{};
  std::size_t m_qhead = 0;
  std::size_t m_qlen = 0;

  bool m_proc_pending = false;
  std::uint32_t m_pid = 0;
  bool m_have_asid = false;
  std::uint16_t m_asid = 0;
};

}  // namespace mmusim
