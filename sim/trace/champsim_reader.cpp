#include "sim/trace/champsim_reader.h"

#include <algorithm>
#include <cstring>

namespace mmusim {

namespace {

using champsim_detail::ChampsimLayout;
using champsim_detail::expand_operands;
using champsim_detail::load_le64;

// Field offsets of the cloudsuite layout (traces/FORMAT.md, "The champsim
// format"; the champsim layout's are in the header).
struct CloudsuiteLayout {
  static constexpr std::size_t kBytes = 96;
  static constexpr std::size_t kDst = 24, kNumDst = 4;
  static constexpr std::size_t kSrc = 56, kNumSrc = 4;
  static constexpr std::size_t kAsid = 88;
};
constexpr std::size_t kIsBranch = 8;
constexpr std::size_t kBranchTaken = 9;

// True when every complete stride-byte record in head has a non-zero ip (and,
// when check_flags, branch bytes of 0 or 1), there is at least one, and - when
// head is the whole data - nothing is left over.
bool consistent(std::string_view head, bool whole, std::size_t stride, bool check_flags) {
  if (whole && head.size() % stride != 0) return false;
  const std::size_t n = head.size() / stride;
  if (n == 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  for (std::size_t i = 0; i < n; ++i, p += stride) {
    if (load_le64(p) == 0) return false;
    if (check_flags && (p[kIsBranch] > 1 || p[kBranchTaken] > 1)) return false;
  }
  return true;
}

}  // namespace

ChampSimReader::ChampSimReader(const std::string& path, Layout layout)
    : ChampSimReader(std::make_unique<ByteSource>(path), layout) {}

ChampSimReader::ChampSimReader(std::unique_ptr<ByteSource> source, Layout layout)
    : m_source(std::move(source)),
      m_layout(layout),
      m_record_bytes(layout == Layout::Champsim ? ChampsimLayout::kBytes : CloudsuiteLayout::kBytes),
      m_buf(new char[kBufBytes]) {
  static_assert(ChampsimLayout::kBytes == kRecordBytes && CloudsuiteLayout::kBytes == kCloudsuiteRecordBytes);
  static_assert(1 + ChampsimLayout::kNumSrc + ChampsimLayout::kNumDst <= kMaxPending);
  static_assert(1 + CloudsuiteLayout::kNumSrc + CloudsuiteLayout::kNumDst <= kMaxPending);
}

double ChampSimReader::progress() const { return m_source->progress(); }

std::string ChampSimReader::location() const { return location_at(position()); }

std::string ChampSimReader::location_at(std::uint64_t position) const {
  if (position == 0) return m_source->name();
  return m_source->name() + ": byte " + std::to_string(position - 1);
}

void ChampSimReader::fail(const std::string& what, const std::string& got) const {
  throw TraceError(m_source->name() + ": byte " + std::to_string(m_rec_offset) + ": expected " + what + ", got " + got);
}

const char* ChampSimReader::detect(std::string_view head, bool whole) {
  if (consistent(head, whole, kRecordBytes, false)) return kFormatName;
  if (consistent(head, whole, kCloudsuiteRecordBytes, true)) return kCloudsuiteFormatName;
  return nullptr;
}

// Makes at least one whole record available at m_buf + m_pos; false at the
// clean end of the data. A partial record at the end is an error.
bool ChampSimReader::refill() {
  const std::size_t left = m_end - m_pos;
  if (left != 0) std::memmove(m_buf.get(), m_buf.get() + m_pos, left);
  m_buf_offset += m_pos;
  m_pos = 0;
  m_end = left;
  while (m_end < m_record_bytes && !m_eof) {
    const std::size_t got = m_source->read(m_buf.get() + m_end, kBufBytes - m_end);
    if (got == 0) m_eof = true;
    m_end += got;
  }
  if (m_end >= m_record_bytes) return true;
  if (m_end == 0) return false;
  m_rec_offset = m_buf_offset;
  m_have_record = true;
  fail("a complete " + std::to_string(m_record_bytes) + "-byte " + format_name() + " record",
       std::to_string(m_end) + (m_end == 1 ? " byte" : " bytes"));
}

void ChampSimReader::fail_ip0() const { fail("a record with a non-zero ip", "ip 0"); }

bool ChampSimReader::decode_cloudsuite(const unsigned char* p) {
  const std::uint64_t ip = load_le64(p);
  if (ip == 0) fail_ip0();
  m_queue[0] = {ip, AccessKind::IFetch};
  m_qlen = expand_operands<CloudsuiteLayout>(p, m_queue.data(), 1);
  const auto asid = static_cast<std::uint16_t>(p[CloudsuiteLayout::kAsid] | (p[CloudsuiteLayout::kAsid + 1] << 8));
  if (!m_have_asid || asid != m_asid) {
    m_have_asid = true;
    m_asid = asid;
    m_pid = std::uint32_t{asid} + 1;
    m_proc_pending = true;
  }
  m_qhead = 0;
  return true;
}

}  // namespace mmusim
