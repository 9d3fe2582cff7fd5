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

#include <memory>
#include <string>
#include <string_view>

#include "sim/trace/line_reader.h"

namespace mmusim {

class LackeyReader : public LineTraceReader {
 public:
  static constexpr const char* kFormatName = "lackey";
  static constexpr std::uint32_t kMaxAccessBytes = 4096;

  explicit LackeyReader(const std::string& path);
  explicit LackeyReader(std::unique_ptr<ByteSource> source);

  bool next(TraceRecord& rec) override;
  const char* format_name() const override { return kFormatName; }

  // True when line is exactly a lackey record line. Used by format
  // auto-detection; does not need the byte after the view to be a sentinel.
  static bool looks_like_record(std::string_view line);

 private:
};

}  // namespace mmusim
