// Reader for the "text" trace format (traces/FORMAT.md): one access or event
// per line, e.g. "R 0x7ffd1000 8", "@mmap 0x400000 0x1000 r-x file".
//
// Models: the whole grammar of FORMAT.md, with every malformed line reported
// as TraceError "FILE:LINE: expected <what>, got '<token or line>'".
// Leaves out: any semantic check across records (an access outside every
// mapping, an @munmap of nothing): that is the OS model's business. Alignment
// of @mmap/@munmap ranges is not checked either, for the same reason.
//
// Notes: parsing is by hand over the line buffer (no iostreams, no strtoull)
// and allocates nothing per record except the name of an @mark. Plain access
// lines ("R 0x7ffd1000 8") take a fast path parsed in place in LineReader's
// buffer; everything else, and every error, goes through the general path.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sim/trace/line_reader.h"

namespace mmusim {

class TextReader : public LineTraceReader {
 public:
  static constexpr const char* kFormatName = "text";
  static constexpr std::uint32_t kMaxAccessBytes = 4096;

  explicit TextReader(const std::string& path);
  explicit TextReader(std::unique_ptr<ByteSource> source);

  bool next(TraceRecord& rec) override;
  const char* format_name() const override { return kFormatName; }

  // True when a (non-blank, non-comment) line has the shape of a text record:
  // "@..." or R/W/X/M, blanks, "0x". Used by format auto-detection.
  static bool looks_like_record(std::string_view line);

 private:
  void parse_event(std::string_view line, std::string_view event, const char* p, const char* end, TraceRecord& rec);
};

}  // namespace mmusim
