// Reader for the "bin" trace format (sim/trace/bin_format.h, traces/FORMAT.md).
//
// Models: the whole of format version 1, through a ByteSource, so gzip, xz and
// zstd compression are recognised by their magic bytes like for every format.
// Every field is validated as the text reader validates its tokens (sizes
// 1..4096, pids of 32 bits, lengths > 0 that stay inside the address space,
// mark names), so whatever this reader accepts converts to valid text.
// Leaves out: other versions, flags and seeking.
//
// Notes: the hot path decodes a plain access (no size escape) with one table
// lookup and one unaligned 8-byte load from a 1 MiB buffer that has padding
// after its end; everything else, including the end of the buffer, goes
// through a bounds-checked slow path, which also produces the errors. Nothing
// is allocated per record except the name of an @mark.
//
// Errors are TraceError "FILE: byte OFFSET: expected <what>, got <what>",
// OFFSET counting decompressed bytes from the start of the file: bad magic,
// unsupported version, non-zero flags or reserved bytes, an unknown tag, a
// record cut off by the end of the file (OFFSET is where it starts), a missing
// end tag, data after the end tag, a size of 0 or over 4096, a varint longer
// than 10 bytes or over 64 bits, and invalid event fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sim/trace/byte_source.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

class BinReader : public TraceReader {
 public:
  static constexpr const char* kFormatName = "bin";
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  explicit BinReader(const std::string& path);
  // Reads and checks the header at once; throws TraceError when it is bad.
  explicit BinReader(std::unique_ptr<ByteSource> source);
  ~BinReader() override;

  bool next(TraceRecord& rec) override;
  double progress() const override;
  const std::string& path() const override { return m_source->path(); }
  const char* format_name() const override { return kFormatName; }
  // "FILE: byte OFFSET" of the start of the last record returned.
  std::string location() const override;
  std::uint64_t position() const override { return m_last; }
  std::string location_at(std::uint64_t offset) const override;

  // True when data starts with the bin magic. Used by format auto-detection.
  static bool has_magic(const char* data, std::size_t n);

 private:
  struct Cursor;

  bool next_slow(TraceRecord& rec);
  std::size_t fill(std::size_t want);
  void read_header();
  [[noreturn]] void fail(std::uint64_t offset, const std::string& what, const std::string& got) const;

  std::unique_ptr<ByteSource> m_source;
  std::unique_ptr<std::uint8_t[]> m_buf;        // kBufferBytes + padding
  std::size_t m_pos = 0;                        // next unread byte in m_buf
  std::size_t m_end = 0;                        // end of valid data in m_buf
  std::uint64_t m_base = 0;                     // stream offset of m_buf[0]
  std::uint64_t m_last = 0;                     // stream offset of the last record
  bool m_eof = false;                           // the source has no more data
  bool m_ended = false;                         // the end tag has been read
  std::uint64_t m_predicted[4] = {0, 0, 0, 0};  // by AccessKind
};

}  // namespace mmusim
