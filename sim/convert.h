// `mmusim convert IN OUT [--from FMT] [--to FMT]`: one trace format to
// another (traces/FORMAT.md).
//
// Models: a streaming copy, record by record, from any reader open_trace()
// knows ("auto" by default, which says what it chose) to one of the writers of
// sim/trace/trace_writer.h, the output format taken from --to or else from
// OUT's name (*.bin, *.txt, *.trace, *.lackey, each optionally with .zst, .gz
// or .xz, which also chooses the output compression). Memory does not grow
// with the trace. OUT is written as OUT.tmp and renamed at the end, so a
// failed conversion leaves no partial OUT behind (an existing OUT is left as
// it was); IN and OUT may even be the same file.
//
// Leaves out: selecting or editing records (a range, a process), merging
// several inputs.
//
// Errors: ConvertUsageError for unknown format names, an OUT whose name does
// not tell the format without --to, or an OUT that cannot be created;
// TraceError for bad input, with the reader's message, and for a record the
// output format cannot express, "IN-LOCATION: lackey cannot express @mmap";
// OutputError when writing OUT fails midway (a full disk).
#pragma once

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>

namespace mmusim {

class ConvertUsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ConvertResult {
  std::uint64_t records = 0;  // records written
  std::string from;           // the input format read
  bool detected = false;      // from was auto-detected
  std::string to;             // the output format written
};

// Converts in to out. from is a trace_format_names() entry ("auto" detects,
// and then a line "mmusim: IN: format F (auto-detected)" goes to log); to is
// a trace_writer_format_names() entry or "" to go by out's name.
ConvertResult convert_trace(const std::string& in, const std::string& out, const std::string& from,
                            const std::string& to, std::ostream& log);

// convert_trace() with its messages on err and the exit code of the command:
// 0 done ("mmusim: converted N records from F to T: OUT"), 2 usage error,
// 3 bad input or a record the output format cannot express, 4 a write error
// (the exit code of output errors of every command, README).
int run_convert(const std::string& in, const std::string& out, const std::string& from, const std::string& to,
                std::ostream& err);

}  // namespace mmusim
