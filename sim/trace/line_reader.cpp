#include "sim/trace/line_reader.h"

#include <string>

#include "sim/shown_value.h"

namespace mmusim {

namespace {

// 64 KiB of fresh data, room for an unfinished line (with its '\r') carried
// over from the previous read, and one byte for the '\n' sentinel.
// kReadPadding more bytes follow for the fast paths' word-wide loads. The
// reads are small enough for the buffer to stay in the core's L2 between
// the decompressor's copy into it and the parsing (as ChampSimReader's).
constexpr std::size_t kReadBytes = std::size_t{64} << 10;
constexpr std::size_t kBufferBytes = kReadBytes + LineReader::kMaxLineBytes + 2;

// Length of a line of len raw bytes at p once a trailing '\r' is dropped.
std::size_t content_length(const char* p, std::size_t len) { return len != 0 && p[len - 1] == '\r' ? len - 1 : len; }

}  // namespace

LineReader::LineReader(std::unique_ptr<ByteSource> source)
    // Zeroed so that the padding read by fast paths is never indeterminate.
    : m_source(std::move(source)), m_buf(new char[kBufferBytes + kReadPadding]()) {
  m_buf[0] = '\n';
}

void LineReader::fail_too_long() const {
  throw TraceError(m_source->name() + ":" + std::to_string(m_line + 1) + ": line longer than " +
                   std::to_string(kMaxLineBytes) + " bytes");
}

bool LineReader::next_slow(std::string_view& line) {
  for (;;) {
    char* p = m_buf.get() + m_pos;
    std::size_t avail = m_end - m_pos;
    const void* nl = std::memchr(p, '\n', avail);
    if (nl != nullptr) {
      std::size_t raw = static_cast<std::size_t>(static_cast<const char*>(nl) - p);
      std::size_t len = content_length(p, raw);
      if (len > kMaxLineBytes) fail_too_long();
      m_pos += raw + 1;
      ++m_line;
      line = std::string_view(p, len);
      return true;
    }
    // The tail may still end in '\r' waiting for its '\n', hence the + 1.
    if (avail > kMaxLineBytes + 1 || (m_eof && content_length(p, avail) > kMaxLineBytes)) fail_too_long();
    if (m_eof) {
      if (avail == 0) return false;
      // Final line without a newline: the sentinel after it stands in.
      m_pos = m_end;
      ++m_line;
      line = std::string_view(p, content_length(p, avail));
      return true;
    }
    if (m_pos != 0) {
      std::memmove(m_buf.get(), p, avail);
      m_pos = 0;
      m_end = avail;
    }
    // The carried-over tail is at most kMaxLineBytes + 1, so a full chunk fits.
    std::size_t got = m_source->read(m_buf.get() + m_end, kBufferBytes - 1 - m_end);
    if (got == 0) m_eof = true;
    m_end += got;
    m_buf[m_end] = '\n';
  }
}

void LineTraceReader::fail(const char* what, std::string_view got) const {
  throw TraceError(m_lines.source().name() + ":" + std::to_string(m_lines.line_number()) + ": expected " + what +
                   ", got '" + shown_value(got) + "'");
}

}  // namespace mmusim
