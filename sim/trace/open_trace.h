// Opening a trace by path and format name.
//
// Formats: "text" (TextReader), "lackey" (LackeyReader) and "auto", which
// looks at the first non-blank, non-comment decompressed lines (within the
// first 64 KiB): "==" or a lackey record line means lackey; R/W/X/M followed
// by blanks and "0x", or "@", means text. Compression (gzip, xz, zstd) is
// detected separately by ByteSource, whatever the format.
//
// Left out: binary formats (add them to trace_format_names() and the switch in
// trace_reader.cpp), guessing from the file name.
//
// Errors: an unknown format name is std::invalid_argument (a usage error, not
// bad input); an undetectable file is TraceError "FILE: cannot detect the
// trace format; pass --format"; opening errors are ByteSource's TraceErrors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/trace/trace_record.h"

namespace mmusim {

// "text", "lackey", "auto", in that order.
const std::vector<std::string>& trace_format_names();

// path may be "-" for standard input; auto-detection then peeks without
// losing any input.
std::unique_ptr<TraceReader> open_trace(const std::string& path, const std::string& format);

// "text" or "lackey" for the file at path (opens and closes it).
std::string detect_trace_format(const std::string& path);

}  // namespace mmusim
