// Writing traces: the TraceWriter interface and one writer per format that
// mmusim can produce ("text", "bin", "lackey"), used by `mmusim convert`.
//
// Models: streaming output, so memory does not grow with the trace; output
// compression chosen by the file name (".zst" zstd level 3 with a checksum,
// ".gz" gzip level 6, ".xz" xz preset 6, anything else plain); atomic
// results: a writer writes to "OUT.tmp" and finish() renames it to OUT, while
// a writer destroyed without finish() (an error, an exception) removes the
// temporary file, so a failed conversion never leaves a partial OUT behind.
// OUT "-" writes plain data to standard output (no compression, no rename).
//
// Canonical output: each writer produces exactly one byte sequence for a given
// record sequence, so text -> bin -> text and bin -> text -> bin conversions
// reproduce their input byte for byte when it was written by these writers.
//
//   text    one record per line, "\n" line ends, no comments or blank lines:
//             R 0x1a2b 8            kind letter, lowercase hex address without
//                                   leading zeros, the size always in decimal
//             @proc 42              @fork 43       @exit
//             @mmap 0x400000 0x2000 r-x file      (length hex; prot in three
//             @mmap 0x7f0000000000 0x200000 rw- anon huge   columns; anon or
//                                   file always written, then huge and
//                                   hugetlb if set)
//             @munmap 0x400000 0x2000     @mprotect 0x400000 0x1000 r--
//             @brk 0x602000         @invlpg 0xdead000      @mark NAME
//   bin     sim/trace/bin_format.h
//   lackey  valgrind's own form: "I  0040100c,4", " L 1ffefffd28,8",
//           " S ...", " M ...": the address in lowercase hex zero-padded to at
//           least 8 digits (valgrind's %08lx), the size in decimal. Lackey
//           has no events: writing one throws UnsupportedRecord.
//
// Errors: OutputError when OUT cannot be created, written or renamed;
// UnsupportedRecord when the format cannot express a record (its message,
// e.g. "lackey cannot express @mmap", is prefixed with the input location by
// the caller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/trace/trace_record.h"

#include "sim/output_file.h"

namespace mmusim {

// OutputError (sim/output_file.h): the output file could not be created,
// written, or renamed into place.

// A record the output format cannot express ("lackey cannot express @mmap").
class UnsupportedRecord : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a writer's bytes go: a file written as PATH.tmp and renamed on
// finish(), compressed by PATH's extension, or standard output for "-".
class ByteSink {
 public:
  explicit ByteSink(const std::string& path);
  ~ByteSink();  // without finish(): closes and removes the temporary file
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;

  void write(const char* data, std::size_t n);
  // Ends the compressed stream, closes the file and renames it to the path.
  void finish();

  const std::string& path() const { return m_path; }
  // "none", "gzip", "xz" or "zstd".
  const char* compression() const;

 private:
  enum class Codec : std::uint8_t { None, Gzip, Xz, Zstd };
  struct Encoders;

  void write_raw(const char* data, std::size_t n);
  void compress(const char* data, std::size_t n, bool last);
  void close_fd();

  std::string m_path;
  std::string m_tmp;  // empty for standard output
  int m_fd = -1;
  Codec m_codec = Codec::None;
  bool m_finished = false;
  std::unique_ptr<Encoders> m_enc;
  std::unique_ptr<char[]> m_out;  // compressed output chunk
};

class TraceWriter {
 public:
  virtual ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Appends one record. Throws UnsupportedRecord when the format cannot
  // express it (nothing of it is written then), OutputError on write errors.
  void write(const TraceRecord& rec) {
    if (m_pos > kBufferBytes) flush();
    encode(rec);
  }
  // Writes what is buffered, ends the file and puts it in place. No write()
  // after it.
  void finish();

  virtual const char* format_name() const = 0;
  const std::string& path() const { return m_sink.path(); }

 protected:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 18;
  // Room after kBufferBytes for one record of any format but a long @mark
  // name, which reserve() makes room for.
  static constexpr std::size_t kSlackBytes = 128;

  explicit TraceWriter(const std::string& path);

  virtual void encode(const TraceRecord& rec) = 0;
  // Ends the data (the bin end tag); called by finish().
  virtual void end() {}
  // Makes room for n more bytes (n may exceed the buffer: a long mark).
  void reserve(std::size_t n);
  void flush();

  std::unique_ptr<char[]> m_buf;  // kBufferBytes + kSlackBytes
  std::size_t m_pos = 0;
  std::size_t m_cap = kBufferBytes + kSlackBytes;

 private:
  ByteSink m_sink;
};

class TextWriter : public TraceWriter {
 public:
  static constexpr const char* kFormatName = "text";
  explicit TextWriter(const std::string& path) : TraceWriter(path) {}
  const char* format_name() const override { return kFormatName; }

 private:
  void encode(const TraceRecord& rec) override;
};

class BinWriter : public TraceWriter {
 public:
  static constexpr const char* kFormatName = "bin";
  // Writes the header at once.
  explicit BinWriter(const std::string& path);
  const char* format_name() const override { return kFormatName; }

 private:
  void encode(const TraceRecord& rec) override;
  void end() override;

  std::uint64_t m_predicted[4] = {0, 0, 0, 0};  // by AccessKind, as in BinReader
};

class LackeyWriter : public TraceWriter {
 public:
  static constexpr const char* kFormatName = "lackey";
  explicit LackeyWriter(const std::string& path) : TraceWriter(path) {}
  const char* format_name() const override { return kFormatName; }

 private:
  void encode(const TraceRecord& rec) override;
};

// "text", "bin", "lackey".
const std::vector<std::string>& trace_writer_format_names();

// A writer of format (one of trace_writer_format_names()) to path. An unknown
// name is std::invalid_argument; a file that cannot be created OutputError.
std::unique_ptr<TraceWriter> open_trace_writer(const std::string& path, const std::string& format);

// The format a file name asks for, after dropping .zst/.gz/.xz: "*.bin" bin;
// "*.txt", "*.trace" text; "*.lackey" lackey; "" for anything else.
std::string trace_format_for_name(const std::string& path);

}  // namespace mmusim
