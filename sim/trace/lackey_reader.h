// Reader for the output of `valgrind --tool=lackey --trace-mem=yes`.
//
// Models: the four record lines lackey prints, "I  ADDR,SIZE" (instruction
// fetch, 'I' in column 0 then two blanks) and " L ADDR,SIZE", " S ADDR,SIZE",
// " M ADDR,SIZE" (load, store, modify, with one leading blank), ADDR in hex
// without "0x", SIZE in decimal. Each becomes one Access record. Valgrind's own
// "==PID== ..." lines and blank lines are skipped.
// Leaves out: events. Lackey knows nothing of mmap or processes, so the OS
// model has to map pages on first touch for such traces.
//
// Notes: this is the hot path for large traces (about 85 M lines/s on one
// core from a cached plain file). A well-formed record is parsed in place in
// LineReader's buffer, columns checked by table and the address read eight
// bytes at a time by LineReader::scan_hex, without searching for the line end
// first; every other line takes the general line-by-line path, which is also
// the one that reports errors. Sizes must be 1..4096 like the text format
// (lackey's largest, from fxsave/xsave helpers, fit).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sim/trace/line_reader.h"

namespace mmusim {

namespace lackey_detail {
// AccessKind of a record line by its second byte: "I  " has a blank there,
// " L ", " S ", " M " the letter. The first byte is checked separately.
inline constexpr std::uint8_t kNotAKind = 0xff;
constexpr std::array<std::uint8_t, 256> make_kind_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kNotAKind;
  t[' '] = static_cast<std::uint8_t>(AccessKind::IFetch);
  t['L'] = static_cast<std::uint8_t>(AccessKind::Load);
  t['S'] = static_cast<std::uint8_t>(AccessKind::Store);
  t['M'] = static_cast<std::uint8_t>(AccessKind::Modify);
  return t;
}
inline constexpr std::array<std::uint8_t, 256> kKindByColumn1 = make_kind_table();
}  // namespace lackey_detail

class LackeyReader : public LineTraceReader {
 public:
  static constexpr const char* kFormatName = "lackey";
  static constexpr std::uint32_t kMaxAccessBytes = 4096;

  explicit LackeyReader(const std::string& path);
  explicit LackeyReader(std::unique_ptr<ByteSource> source);

  // Inline, so that a caller that knows the type (PrefetchReader's decoder
  // thread) gets the fast path without a call per record.
  bool next(TraceRecord& rec) override {
    // Fast path: a well-formed record line straight from the line buffer,
    // with no line search and no bounds tests (LineReader's sentinel and
    // padding). Anything it does not accept, including a line cut by the
    // buffer end, goes through next_slow(), which also produces the errors.
    const char* p = m_lines.unread_begin();
    const std::uint8_t kind = lackey_detail::kKindByColumn1[static_cast<unsigned char>(p[1])];
    if (kind != lackey_detail::kNotAKind && p[0] == (p[1] == ' ' ? 'I' : ' ') && p[2] == ' ') {
      std::uint64_t addr;
      const unsigned digits = LineReader::scan_hex(p + 3, addr);
      const char* q = p + 3 + digits;
      if (digits != 0 && *q == ',') {
        ++q;
        std::uint32_t size = 0;
        const char* const size_start = q;
        for (unsigned d; q - size_start < 4 && (d = static_cast<unsigned>(*q) - '0') < 10; ++q) size = size * 10 + d;
        const char* nl = *q == '\r' ? q + 1 : q;
        if (*nl == '\n' && nl < m_lines.unread_end() && size - 1 < kMaxAccessBytes) {
          m_lines.consume_through(nl);
          rec.kind = RecordKind::Access;
          rec.access = static_cast<AccessKind>(kind);
          rec.addr = addr;
          rec.size = size;
          return true;
        }
      }
    }
    return next_slow(rec);
  }
  const char* format_name() const override { return kFormatName; }

  // True when line is exactly a lackey record line. Used by format
  // auto-detection; does not need the byte after the view to be a sentinel.
  static bool looks_like_record(std::string_view line);

 private:
  bool next_slow(TraceRecord& rec);  // every line the fast path does not take
};

}  // namespace mmusim
