// Splits a ByteSource into lines without copying or allocating per line.
//
// Lines are handed out as views into a 1 MiB buffer that is refilled when the
// scan runs off its end (the unfinished tail is moved to the front first).
// "\n" ends a line; a "\r" just before it is dropped (CRLF files); a last
// line without a newline is still a line. Line numbers count from 1.
//
// Left out: lone "\r" line ends (old Mac), encodings (bytes are bytes).
//
// Notes: a line longer than kMaxLineBytes (not counting its "\n" or "\r\n")
// is a TraceError "FILE:LINE: line longer than 65536 bytes" so that a binary file fed by mistake cannot make
// the buffer grow. Parsers may read one byte past the end of a returned line:
// it is always '\r' or '\n' (a sentinel is written after a final unterminated
// line), which lets number scanners stop on a non-digit without a bounds test.
// The view stays valid until the next call to next().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "sim/trace/byte_source.h"

namespace mmusim {

class LineReader {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;

  explicit LineReader(std::unique_ptr<ByteSource> source);

  // Sets line to the next line (without its line end); false at end of data.
  bool next(std::string_view& line) {
    const char* p = m_buf.get() + m_pos;
    const void* nl = std::memchr(p, '\n', m_end - m_pos);
    if (nl == nullptr) return next_slow(line);
    std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - p);
    if (len >= kMaxLineBytes) return next_slow(line);  // the slow path decides
    m_pos += len + 1;
    ++m_line;
    if (len != 0 && p[len - 1] == '\r') --len;
    line = std::string_view(p, len);
    return true;
  }

  // Number of the line last returned by next() (0 before the first).
  std::uint64_t line_number() const { return m_line; }

  const ByteSource& source() const { return *m_source; }

 private:
  bool next_slow(std::string_view& line);
  [[noreturn]] void fail_too_long() const;

  std::unique_ptr<ByteSource> m_source;
  std::unique_ptr<char[]> m_buf;
  std::size_t m_pos = 0;  // start of the first unreturned byte
  std::size_t m_end = 0;  // end of valid data
  bool m_eof = false;
  std::uint64_t m_line = 0;
};

}  // namespace mmusim
