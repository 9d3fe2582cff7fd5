// The interface every trace reader implements, and the error it throws.
//
// A reader turns one trace file (any compression, sim/trace/byte_source.h)
// into TraceRecords (sim/trace/trace_record.h). open_trace()
// (sim/trace/open_trace.h) picks the reader by format name or detection.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "sim/trace/trace_record.h"

namespace mmusim {

// Malformed trace input. what() reads "FILE:LINE: expected ..., got '...'"
// (or "FILE: byte OFFSET: ..." for binary formats). Maps to exit code 3.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // Fills rec with the next record; false at the clean end of the trace.
  // Throws TraceError on malformed input.
  virtual bool next(TraceRecord& rec) = 0;
  // Fraction of the input consumed so far in [0, 1], from compressed bytes
  // read vs file size; negative when the size is unknown (a pipe).
  virtual double progress() const = 0;
  virtual const std::string& path() const = 0;
  virtual const char* format_name() const = 0;
  // Where the last record came from, for error messages: "FILE:LINE" for
  // line formats, "FILE: byte OFFSET" for binary ones.
  virtual std::string location() const { return path(); }
  // A number standing for location() (a line number, a byte offset), cheap to
  // take after every record; location_at(position()) == location(). A reader
  // decoded on another thread (PrefetchReader) keeps it with each record.
  // location_at() reads nothing next() changes, so it may run while another
  // thread is in next().
  virtual std::uint64_t position() const = 0;
  virtual std::string location_at(std::uint64_t position) const = 0;
};

}  // namespace mmusim
