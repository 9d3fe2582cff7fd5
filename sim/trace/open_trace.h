// Opening a trace by path and format name.
//
// Formats: "text" (TextReader), "lackey" (LackeyReader) and "auto", which
// looks at the first non-blank, non-comment decompressed lines (within the
// first 64 KiB): "==" or a lackey record line means lackey; R/W/X/M followed
// by blanks and "0x", or "@", means text. Compression (gzip, xz, zstd) is
// detected separately by ByteSource, whatever the format.
// "champsim" and "champsim-cloudsuite" (ChampSimReader) are binary and have
// no magic: "auto" considers them only when those 64 KiB contain a NUL byte,
// and then picks by ChampSimReader::detect() (champsim when every 64-byte
// record there has a non-zero ip, else cloudsuite when every 96-byte one does
// and has branch bytes of 0 or 1).
// "bin" (BinReader, sim/trace/bin_format.h) starts with the magic "MMUSIMTR",
// which "auto" checks before anything else.
//
// Left out: other binary formats (add them to trace_format_names() and the switch in
// trace_reader.cpp), guessing from the file name.
//
// Errors: an unknown format name is std::invalid_argument (a usage error, not
// bad input); an undetectable file is TraceError "FILE: cannot detect the
// trace format; pass --format"; opening errors are ByteSource's TraceErrors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/trace/trace_reader.h"

namespace mmusim {

// "text", "lackey", "bin", "champsim", "champsim-cloudsuite", "auto", in that order.
const std::vector<std::string>& trace_format_names();

// path may be "-" for standard input; auto-detection then peeks without
// losing any input.
std::unique_ptr<TraceReader> open_trace(const std::string& path, const std::string& format);

// "text", "lackey", "bin", "champsim" or "champsim-cloudsuite" for the file at path (opens and closes it).
std::string detect_trace_format(const std::string& path);

}  // namespace mmusim
