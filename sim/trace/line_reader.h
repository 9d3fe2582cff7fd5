// Splits a ByteSource into lines without copying or allocating per line.
//
// Lines are handed out as views into a 128 KiB buffer that is refilled, 64 KiB
// or more at a time, when the scan runs off its end (the unfinished tail is
// moved to the front first).
// "\n" ends a line; a "\r" just before it is dropped (CRLF files); a last
// line without a newline is still a line. Line numbers count from 1.
//
// Left out: lone "\r" line ends (old Mac), encodings (bytes are bytes).
//
// Notes: a line longer than kMaxLineBytes (not counting its "\n" or "\r\n")
// is a TraceError "FILE:LINE: line longer than 65536 bytes" so that a binary
// file fed by mistake cannot make the buffer grow. Parsers may read one byte
// past the end of a returned line: it is always '\r' or '\n', which lets
// number scanners stop on a non-digit without a bounds test. The view stays
// valid until the next call to next().
//
// Parsers of fixed-shape lines can skip the line search entirely:
// unread_begin()/unread_end() expose the buffered bytes, *unread_end() is
// always a '\n' sentinel (not data) and kReadPadding more bytes after it are
// readable, so a parser can run ahead with word-wide loads, accept the line
// only if its '\n' lies before unread_end(), consume_through() it, and fall
// back to next() for anything unusual. scan_hex() is such a word-wide scanner.
//
// LineTraceReader is the base of the readers of line formats (text, lackey):
// a LineReader over the trace, "FILE:LINE" locations, progress from the
// ByteSource, and the one error shape "FILE:LINE: expected WHAT, got 'TOKEN'".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "sim/trace/byte_source.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

class LineReader {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;
  static constexpr std::size_t kReadPadding = 64;

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

  const char* unread_begin() const { return m_buf.get() + m_pos; }
  const char* unread_end() const { return m_buf.get() + m_end; }
  // Consumes the line whose '\n' is at nl, nl < unread_end().
  void consume_through(const char* nl) {
    m_pos = static_cast<std::size_t>(nl - m_buf.get()) + 1;
    ++m_line;
  }

  // Counts the hex digits (0-9, a-f, A-F) at the start of q, up to 16, and
  // sets value to the number they spell. Reads exactly 16 bytes from q
  // whatever the count, so q + 16 must be readable (see kReadPadding).
  static unsigned scan_hex(const char* q, std::uint64_t& value) {
    std::uint64_t lo;
    std::uint64_t hi;
    std::memcpy(&lo, q, 8);  // little-endian: q[0] is the low byte
    std::memcpy(&hi, q + 8, 8);
    std::uint64_t nib_lo;
    std::uint64_t nib_hi;
    const std::uint64_t bad_lo = ~hex_bytes(lo, nib_lo) & kHighBits;
    const std::uint64_t bad_hi = ~hex_bytes(hi, nib_hi) & kHighBits;
    unsigned n;
    if (bad_lo != 0) {
      n = static_cast<unsigned>(__builtin_ctzll(bad_lo)) / 8;
    } else {
      n = bad_hi != 0 ? 8 + static_cast<unsigned>(__builtin_ctzll(bad_hi)) / 8 : 16;
    }
    // All 16 nibbles as one number; the bytes past the digits fall off the end.
    const std::uint64_t all = (pack_nibbles(nib_lo) << 32) | pack_nibbles(nib_hi);
    value = n == 0 ? 0 : all >> (64 - 4 * n);
    return n;
  }

  // Number of the line last returned by next() (0 before the first).
  std::uint64_t line_number() const { return m_line; }

  const ByteSource& source() const { return *m_source; }

 private:
  static constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  static constexpr std::uint64_t kHighBits = kOnes * 0x80;

  // Per byte of x: bit 7 of the result is set when the byte is a hex digit;
  // nibbles gets the digit values (garbage, but < 16, for other bytes). The
  // range tests add to every byte at once; a byte >= 0x80 can carry into the
  // next one, but it is not a digit itself, so only bytes after the first
  // non-digit are disturbed, and those are never used.
  static std::uint64_t hex_bytes(std::uint64_t x, std::uint64_t& nibbles) {
    const std::uint64_t digit = (x + kOnes * (0x80 - '0')) & ~(x + kOnes * (0x7f - '9'));
    const std::uint64_t y = x | (kOnes * 0x20);  // lower-case letters
    const std::uint64_t letter = (y + kOnes * (0x80 - 'a')) & ~(y + kOnes * (0x7f - 'f'));
    // '0'-'9' are 0x3N, letters 0x4N/0x6N with N = 1..6: low nibble, plus 9
    // when bit 6 says letter.
    nibbles = ((x & (kOnes * 0x0f)) + ((x >> 6) & kOnes) * 9) & (kOnes * 0x0f);
    return (digit | letter) & ~x & kHighBits;
  }
  // Eight nibble bytes, first byte most significant, as a 32-bit number.
  static std::uint64_t pack_nibbles(std::uint64_t v) {
    v = ((v & 0x00ff00ff00ff00ffull) << 4) | ((v >> 8) & 0x00ff00ff00ff00ffull);
    v = ((v & 0x0000ffff0000ffffull) << 8) | ((v >> 16) & 0x0000ffff0000ffffull);
    return ((v & 0xffffffffull) << 16) | (v >> 32);
  }

  bool next_slow(std::string_view& line);
  [[noreturn]] void fail_too_long() const;

  std::unique_ptr<ByteSource> m_source;
  std::unique_ptr<char[]> m_buf;
  std::size_t m_pos = 0;  // start of the first unreturned byte
  std::size_t m_end = 0;  // end of valid data
  bool m_eof = false;
  std::uint64_t m_line = 0;
};

class LineTraceReader : public TraceReader {
 public:
  double progress() const override { return m_lines.source().progress(); }
  const std::string& path() const override { return m_lines.source().path(); }
  std::string location() const override { return location_at(m_lines.line_number()); }
  std::uint64_t position() const override { return m_lines.line_number(); }
  std::string location_at(std::uint64_t line) const override {
    return m_lines.source().name() + ":" + std::to_string(line);
  }

 protected:
  explicit LineTraceReader(std::unique_ptr<ByteSource> source) : m_lines(std::move(source)) {}
  // Throws TraceError "FILE:LINE: expected WHAT, got 'GOT'" for the line last
  // returned, GOT shown with its control bytes escaped (sim/shown_value.h).
  [[noreturn]] void fail(const char* what, std::string_view got) const;

  LineReader m_lines;
};

}  // namespace mmusim
