// A trace file as a stream of decompressed bytes.
//
// Opens a path ("-" means standard input), reads it in 1 MiB chunks and
// decides from the first bytes whether it is gzip (1f 8b), xz (fd 37 7a 58 5a
// 00), zstd (28 b5 2f fd) or plain; compressed input is decoded on the fly, so
// memory stays constant whatever the file size. Concatenated gzip members, xz
// streams and zstd frames are all decoded in sequence, as the command-line
// tools do.
//
// Left out: bzip2/lz4, seeking, and any other magic. Trailing garbage after a
// compressed stream (including the zero padding some tools tolerate for gzip)
// is reported as corrupt data rather than silently ignored.
//
// A ByteSource can also read from a buffer in memory instead of a file (tests
// and fuzzing), through the same magic detection and decoders; it may cap the
// bytes each underlying read returns, to behave like a pipe.
//
// Errors are TraceError: "FILE: cannot open: <strerror>", "FILE: read error:
// <strerror>", and "FILE: corrupt <gzip|xz|zstd> data at compressed byte N:
// <detail>" for a damaged or truncated stream. N is how far into the file the
// decoder had read when it gave up, so it is approximate: checksum errors show
// at the end of a member/frame, and zstd errors at the end of the (at most
// 64 KiB) slice of input it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mmusim {

class ByteSource {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

  explicit ByteSource(const std::string& path);
  // Reads a copy of data as if it were the file's contents. name is both
  // path() and name(); file_size() is data.size(). When max_read is not 0,
  // each read of the underlying data returns at most max_read bytes, as a
  // pipe may (the decompressed reads above it are then short too).
  ByteSource(std::string name, std::string_view data, std::size_t max_read = 0);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Copies up to n decompressed bytes into buf; returns how many, 0 only at
  // the end of the data. May return fewer than n before the end.
  std::size_t read(char* buf, std::size_t n);

  // Returns up to n upcoming decompressed bytes without consuming them (fewer
  // only at the end of the data). The view is valid until the next call on
  // this object. Lets format detection look at standard input and then hand
  // the same source to a reader.
  std::string_view peek(std::size_t n);

  // Bytes of the underlying file the decoder has consumed so far.
  std::uint64_t compressed_bytes() const;
  // Size of the underlying file, 0 when unknown (stdin, a pipe, a device).
  std::uint64_t file_size() const { return m_file_size; }
  // compressed_bytes() / file_size() in [0, 1]; negative when the size is
  // unknown. Every reader's TraceReader::progress().
  double progress() const;
  // "none", "gzip", "xz" or "zstd".
  const char* compression() const;
  // The path as given.
  const std::string& path() const { return m_path; }
  // The path for messages: "<stdin>" for "-".
  const std::string& name() const { return m_name; }

 private:
  enum class Codec : std::uint8_t { None, Gzip, Xz, Zstd };
  struct Decoders;  // library state, kept out of this header

  void detect_codec();
  std::size_t read_input(char* buf, std::size_t n);
  bool fill_input();
  std::uint64_t input_offset() const;
  std::size_t read_decoded(char* buf, std::size_t n);
  std::size_t read_raw(char* buf, std::size_t n);
  std::size_t read_gzip(char* buf, std::size_t n);
  std::size_t read_xz(char* buf, std::size_t n);
  std::size_t read_zstd(char* buf, std::size_t n);
  [[noreturn]] void fail_corrupt(const std::string& detail) const;

  std::string m_path;
  std::string m_name;
  int m_fd = -1;
  bool m_owns_fd = false;
  bool m_in_memory = false;  // reading m_mem instead of m_fd
  std::unique_ptr<char[]> m_mem;
  std::size_t m_mem_size = 0;
  std::size_t m_mem_pos = 0;
  std::size_t m_mem_max_read = 0;  // 0: no cap
  std::uint64_t m_file_size = 0;
  Codec m_codec = Codec::None;

  std::unique_ptr<char[]> m_in;  // compressed input chunk
  std::size_t m_in_pos = 0;
  std::size_t m_in_end = 0;
  std::uint64_t m_in_total = 0;  // bytes read from the file so far
  bool m_in_eof = false;
  bool m_done = false;  // decoder has delivered everything

  std::unique_ptr<Decoders> m_dec;

  std::string m_peek;  // bytes decoded by peek() and not yet read()
  std::size_t m_peek_pos = 0;
};

}  // namespace mmusim
