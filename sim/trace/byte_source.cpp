#include "sim/trace/byte_source.h"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "sim/trace/trace_reader.h"

namespace mmusim {

struct ByteSource::Decoders {
  z_stream gz{};
  bool gz_ready = false;
  bool gz_member_end = false;  // a gzip member just ended; another may follow

  lzma_stream xz = LZMA_STREAM_INIT;
  bool xz_ready = false;

  ZSTD_DStream* zs = nullptr;
  // Last return of ZSTD_decompressStream: 0 means a frame ended and every
  // byte of it was flushed, so end of input there is a clean end.
  std::size_t zs_last = 1;

  ~Decoders() {
    if (gz_ready) inflateEnd(&gz);
    if (xz_ready) lzma_end(&xz);
    if (zs != nullptr) ZSTD_freeDStream(zs);
  }
};

namespace {

constexpr std::size_t kZstdSliceBytes = 64 * 1024;

constexpr unsigned char kGzipMagic[] = {0x1f, 0x8b};
constexpr unsigned char kXzMagic[] = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00};
// xz -9 needs 65 MiB to decode; a corrupt or hostile header may ask for far
// more. 1 GiB is generous for any real trace and bounds the damage.
constexpr std::uint64_t kXzMemLimit = std::uint64_t{1} << 30;
constexpr unsigned char kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};

template <std::size_t N>
bool has_magic(const char* data, std::size_t size, const unsigned char (&magic)[N]) {
  return size >= N && std::memcmp(data, magic, N) == 0;
}

const char* lzma_error_text(lzma_ret rc) {
  switch (rc) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "the stream needs more than 1 GiB of decoder memory (corrupt header?)";
    case LZMA_FORMAT_ERROR: return "not in xz format";
    case LZMA_OPTIONS_ERROR: return "unsupported compression options";
    case LZMA_DATA_ERROR: return "compressed data is corrupt";
    case LZMA_BUF_ERROR: return "unexpected end of file (truncated?)";
    default: return "decoder error";
  }
}

}  // namespace

ByteSource::ByteSource(const std::string& path)
    : m_path(path), m_name(path == "-" ? "<stdin>" : path), m_in(new char[kChunkBytes]), m_dec(new Decoders) {
  if (path == "-") {
    m_fd = STDIN_FILENO;
  } else {
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) throw TraceError(m_name + ": cannot open: " + std::strerror(errno));
    m_owns_fd = true;
  }
  struct stat st {};
  if (::fstat(m_fd, &st) == 0 && S_ISREG(st.st_mode)) {
    m_file_size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    if (m_owns_fd) ::close(m_fd);
    throw TraceError(m_name + ": is a directory; expected a trace file");
  }
#ifdef POSIX_FADV_SEQUENTIAL
  if (m_owns_fd) ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  try {
    detect_codec();
  } catch (...) {
    // The destructor does not run for a half-built object.
    if (m_owns_fd) ::close(m_fd);
    throw;
  }
}

ByteSource::ByteSource(std::string name, std::string_view data, std::size_t max_read)
    : m_path(std::move(name)),
      m_name(m_path),
      m_in_memory(true),
      m_mem(new char[data.size()]),
      m_mem_size(data.size()),
      m_mem_max_read(max_read),
      m_in(new char[kChunkBytes]),
      m_dec(new Decoders) {
  if (!data.empty()) std::memcpy(m_mem.get(), data.data(), data.size());
  m_file_size = m_mem_size;
  detect_codec();
}

void ByteSource::detect_codec() {
  // A pipe may hand over fewer bytes than the longest magic in one read.
  while (m_in_end < sizeof kXzMagic && !m_in_eof) fill_input();

  const char* head = m_in.get();
  if (has_magic(head, m_in_end, kGzipMagic)) {
    m_codec = Codec::Gzip;
    // 15 + 16: a full window, gzip wrapper only (the magic already told us).
    if (inflateInit2(&m_dec->gz, 15 + 16) != Z_OK) throw TraceError(m_name + ": cannot start the gzip decoder");
    m_dec->gz_ready = true;
  } else if (has_magic(head, m_in_end, kXzMagic)) {
    m_codec = Codec::Xz;
    if (lzma_stream_decoder(&m_dec->xz, kXzMemLimit, LZMA_CONCATENATED) != LZMA_OK) {
      throw TraceError(m_name + ": cannot start the xz decoder");
    }
    m_dec->xz_ready = true;
  } else if (has_magic(head, m_in_end, kZstdMagic)) {
    m_codec = Codec::Zstd;
    m_dec->zs = ZSTD_createDStream();
    if (m_dec->zs == nullptr || ZSTD_isError(ZSTD_initDStream(m_dec->zs))) {
      throw TraceError(m_name + ": cannot start the zstd decoder");
    }
  }
}

ByteSource::~ByteSource() {
  if (m_owns_fd) ::close(m_fd);
}

const char* ByteSource::compression() const {
  switch (m_codec) {
    case Codec::None: return "none";
    case Codec::Gzip: return "gzip";
    case Codec::Xz: return "xz";
    case Codec::Zstd: return "zstd";
  }
  return "none";
}

// Appends one read's worth of file bytes to the input buffer, compacting it
// first when fully consumed. False when nothing more could be read.
bool ByteSource::fill_input() {
  if (m_in_eof) return false;
  if (m_in_pos == m_in_end) m_in_pos = m_in_end = 0;
  if (m_in_end == kChunkBytes) return true;
  const std::size_t got = read_input(m_in.get() + m_in_end, kChunkBytes - m_in_end);
  if (got == 0) {
    m_in_eof = true;
    return false;
  }
  m_in_end += got;
  m_in_total += got;
  return true;
}

// One read of the file (or of the in-memory data): up to n bytes, 0 only at
// its end. Does not touch the input buffer's bookkeeping.
std::size_t ByteSource::read_input(char* buf, std::size_t n) {
  if (m_in_memory) {
    std::size_t k = std::min(n, m_mem_size - m_mem_pos);
    if (m_mem_max_read != 0) k = std::min(k, m_mem_max_read);
    if (k != 0) std::memcpy(buf, m_mem.get() + m_mem_pos, k);
    m_mem_pos += k;
    return k;
  }
  for (;;) {
    ssize_t got = ::read(m_fd, buf, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) throw TraceError(m_name + ": read error: " + std::strerror(errno));
  }
}

std::uint64_t ByteSource::input_offset() const { return m_in_total - (m_in_end - m_in_pos); }

std::uint64_t ByteSource::compressed_bytes() const { return input_offset(); }

double ByteSource::progress() const {
  if (m_file_size == 0) return -1.0;
  return std::min(1.0, static_cast<double>(compressed_bytes()) / static_cast<double>(m_file_size));
}

void ByteSource::fail_corrupt(const std::string& detail) const {
  throw TraceError(m_name + ": corrupt " + compression() + " data at compressed byte " +
                   std::to_string(input_offset()) + ": " + detail);
}

std::size_t ByteSource::read(char* buf, std::size_t n) {
  if (n == 0) return 0;
  if (m_peek_pos < m_peek.size()) {
    std::size_t k = std::min(n, m_peek.size() - m_peek_pos);
    std::memcpy(buf, m_peek.data() + m_peek_pos, k);
    m_peek_pos += k;
    if (m_peek_pos == m_peek.size()) {
      m_peek.clear();
      m_peek_pos = 0;
    }
    return k;
  }
  return read_decoded(buf, n);
}

std::string_view ByteSource::peek(std::size_t n) {
  m_peek.erase(0, m_peek_pos);
  m_peek_pos = 0;
  std::size_t have = m_peek.size();
  if (have < n) {
    m_peek.resize(n);
    while (have < n) {
      std::size_t got = read_decoded(m_peek.data() + have, n - have);
      if (got == 0) break;
      have += got;
    }
    m_peek.resize(have);
  }
  return std::string_view(m_peek.data(), std::min(n, m_peek.size()));
}

std::size_t ByteSource::read_decoded(char* buf, std::size_t n) {
  if (m_done) return 0;
  switch (m_codec) {
    case Codec::None: return read_raw(buf, n);
    case Codec::Gzip: return read_gzip(buf, n);
    case Codec::Xz: return read_xz(buf, n);
    case Codec::Zstd: return read_zstd(buf, n);
  }
  return 0;
}

std::size_t ByteSource::read_raw(char* buf, std::size_t n) {
  if (m_in_pos < m_in_end) {
    std::size_t k = std::min(n, m_in_end - m_in_pos);
    std::memcpy(buf, m_in.get() + m_in_pos, k);
    m_in_pos += k;
    return k;
  }
  // Nothing buffered: read straight into the caller's buffer, saving a copy.
  if (!m_in_eof) {
    const std::size_t got = read_input(buf, n);
    if (got > 0) {
      m_in_total += got;
      return got;
    }
    m_in_eof = true;
  }
  m_done = true;
  return 0;
}

std::size_t ByteSource::read_gzip(char* buf, std::size_t n) {
  z_stream& z = m_dec->gz;
  n = std::min<std::size_t>(n, UINT_MAX);
  z.next_out = reinterpret_cast<Bytef*>(buf);
  z.avail_out = static_cast<uInt>(n);
  while (z.avail_out == n) {
    if (m_dec->gz_member_end) {
      // Another member may follow (gzip -c a b > ab.gz); only a clean end
      // of file ends the stream here.
      if (m_in_pos == m_in_end && !fill_input()) {
        m_done = true;
        break;
      }
      inflateReset(&z);
      m_dec->gz_member_end = false;
    }
    if (m_in_pos == m_in_end) fill_input();
    z.next_in = reinterpret_cast<Bytef*>(m_in.get() + m_in_pos);
    z.avail_in = static_cast<uInt>(m_in_end - m_in_pos);
    const uInt out_before = z.avail_out;
    const uInt in_before = z.avail_in;
    int rc = inflate(&z, Z_NO_FLUSH);
    m_in_pos = m_in_end - z.avail_in;
    if (rc == Z_STREAM_END) {
      m_dec->gz_member_end = true;
    } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
      bool progressed = z.avail_out != out_before || z.avail_in != in_before;
      if (!progressed && m_in_eof && m_in_pos == m_in_end) fail_corrupt("unexpected end of file (truncated?)");
    } else {
      fail_corrupt(z.msg != nullptr ? z.msg : "decoder error");
    }
  }
  return n - z.avail_out;
}

std::size_t ByteSource::read_xz(char* buf, std::size_t n) {
  lzma_stream& x = m_dec->xz;
  x.next_out = reinterpret_cast<std::uint8_t*>(buf);
  x.avail_out = n;
  while (x.avail_out == n) {
    lzma_action action = LZMA_RUN;
    if (m_in_pos == m_in_end && !fill_input()) action = LZMA_FINISH;
    x.next_in = reinterpret_cast<const std::uint8_t*>(m_in.get() + m_in_pos);
    x.avail_in = m_in_end - m_in_pos;
    lzma_ret rc = lzma_code(&x, action);
    m_in_pos = m_in_end - x.avail_in;
    if (rc == LZMA_STREAM_END) {
      m_done = true;
      break;
    }
    if (rc != LZMA_OK) fail_corrupt(lzma_error_text(rc));
  }
  return n - x.avail_out;
}

std::size_t ByteSource::read_zstd(char* buf, std::size_t n) {
  ZSTD_outBuffer out{buf, n, 0};
  while (out.pos == 0) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    if (m_in_pos < m_in_end || fill_input()) {
      // zstd leaves in.pos untouched when it fails, so errors are placed at
      // the end of the slice: small slices keep that close to the damage.
      in = {m_in.get() + m_in_pos, std::min(m_in_end - m_in_pos, kZstdSliceBytes), 0};
    } else if (m_dec->zs_last == 0) {
      m_done = true;
      break;
    }
    // With no input left the call still flushes output the decoder held
    // back when the previous output buffer filled up.
    std::size_t rc = ZSTD_decompressStream(m_dec->zs, &out, &in);
    if (ZSTD_isError(rc)) {
      m_in_pos += in.size;
      // Not damage: a frame made with zstd --long=28 or more asks for a
      // window beyond the decoder's default limit (2^27 bytes), which bounds
      // what one trace can take of host memory.
      if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge)
        throw TraceError(m_name + ": the zstd frame at compressed byte " + std::to_string(input_offset()) +
                         " needs a decoding window larger than 128 MiB (compressed with zstd --long=28 or more);"
                         " mmusim decodes windows up to 128 MiB (zstd --long, --long=27): recompress it so, or"
                         " decompress it first, e.g. zstd -dc --long=31 FILE | mmusim run -t -");
      fail_corrupt(ZSTD_getErrorName(rc));
    }
    m_in_pos += in.pos;
    m_dec->zs_last = rc;
    if (in.size == 0 && out.pos == 0) {
      if (rc != 0) fail_corrupt("unexpected end of file (truncated?)");
      m_done = true;
      break;
    }
  }
  return out.pos;
}

}  // namespace mmusim
