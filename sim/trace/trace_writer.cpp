#include "sim/trace/trace_writer.h"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "sim/trace/bin_format.h"

namespace mmusim {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the bin writer stores integers as the host does");

namespace {

constexpr std::size_t kCompressedChunkBytes = std::size_t{1} << 17;
constexpr int kZstdLevel = 3;
constexpr int kGzipLevel = 6;
constexpr std::uint32_t kXzPreset = 6;

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// --- number formatting into the writer buffer -------------------------------

constexpr char kHexDigits[] = "0123456789abcdef";

// v in lowercase hex, at least min_digits digits (zero-padded).
char* put_hex(char* p, std::uint64_t v, int min_digits = 1) {
  int digits = (64 - __builtin_clzll(v | 1) + 3) / 4;
  if (digits < min_digits) digits = min_digits;
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = kHexDigits[v & 0xf];
    v >>= 4;
  }
  return p + digits;
}

char* put_dec(char* p, std::uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n != 0) *p++ = tmp[--n];
  return p;
}

char* put_str(char* p, const char* s) {
  const std::size_t n = std::strlen(s);
  std::memcpy(p, s, n);
  return p + n;
}

char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

bool is_mark_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// The event rules every reader enforces; a writer must not produce a file its
// reader rejects.
void check_event(const TraceRecord& rec, const char* format) {
  auto fail = [&](const std::string& what) {
    throw UnsupportedRecord(std::string(format) + " cannot express @" + record_kind_name(rec.kind) + " " + what);
  };
  switch (rec.kind) {
    case RecordKind::Mmap:
    case RecordKind::Munmap:
    case RecordKind::Mprotect:
      if (rec.len == 0) fail("with a length of 0");
      if (rec.len - 1 > std::numeric_limits<std::uint64_t>::max() - rec.addr)
        fail("with a range past the 64-bit address space");
      if (rec.prot > bin::kMmapProtMask && rec.kind != RecordKind::Munmap) fail("with protection bits over 7");
      if (rec.kind == RecordKind::Mmap && rec.hugetlb && rec.file) fail("with both file and hugetlb");
      if (rec.kind == RecordKind::Mmap && !rec.file_id.empty()) {
        if (!rec.file) fail("with a file identity on an anonymous mapping");
        if (rec.file_id.size() > bin::kMaxFileIdBytes)
          fail("with a file identity of " + std::to_string(rec.file_id.size()) + " bytes (1 to 4096 allowed)");
        for (char c : rec.file_id)
          if (!bin::is_file_id_char(static_cast<unsigned char>(c)))
            fail("with a file identity holding a blank, '#' or a control character");
        if (rec.file_offset % 4096 != 0) fail("with a file offset that is not a multiple of 4096");
        if (rec.len - 1 > std::numeric_limits<std::uint64_t>::max() - rec.file_offset)
          fail("with a file offset + length past 64 bits");
      }
      if (rec.kind == RecordKind::Mmap && rec.file_id.empty() && (rec.shared || rec.file_offset != 0))
        fail("shared or with a file offset but without a file identity");
      break;
    case RecordKind::Mark:
      if (rec.name.empty() || rec.name.size() > bin::kMaxMarkBytes)
        fail("with a name of " + std::to_string(rec.name.size()) + " bytes (1 to 65530 allowed)");
      for (char c : rec.name)
        if (!is_mark_char(c)) fail("with a name of other characters than letters, digits, '_', '.' and '-'");
      break;
    case RecordKind::Invpcid:
      if (rec.invpcid_type > 3) fail("of type " + std::to_string(rec.invpcid_type) + " (0 to 3 allowed)");
      if (rec.pcid > 4095) fail("with PCID " + std::to_string(rec.pcid) + " (0 to 4095 allowed)");
      if (rec.invpcid_type != 0 && rec.addr != 0)
        fail("of type " + std::to_string(rec.invpcid_type) + " with an address (type 0 only)");
      break;
    case RecordKind::OomScoreAdj:
      if (rec.value < -1000 || rec.value > 1000) fail("with a value outside -1000..1000");
      break;
    case RecordKind::Cr4Pge:
      if (rec.value != 0 && rec.value != 1) fail("with a value other than 0 or 1");
      break;
    default: break;
  }
}

void check_size(const TraceRecord& rec, const char* format) {
  if (rec.size == 0 || rec.size > bin::kMaxAccessBytes)
    throw UnsupportedRecord(std::string(format) + " cannot express an access of " + std::to_string(rec.size) +
                            " bytes (1 to 4096 allowed)");
}

// --- bin encoding tables ------------------------------------------------------

constexpr std::uint8_t kNoOp = 0xff;
struct OpTables {
  std::uint8_t by_size[4][65];  // [AccessKind][size] -> op, kNoOp: escape
  std::uint8_t escape[4];
};
constexpr OpTables make_op_tables() {
  OpTables t{};
  for (auto& row : t.by_size)
    for (auto& v : row) v = kNoOp;
  for (unsigned op = 0; op < bin::kNumAccessOps; ++op) {
    const unsigned k = static_cast<unsigned>(bin::kAccessOps[op].kind);
    if (bin::kAccessOps[op].size == 0) {
      t.escape[k] = static_cast<std::uint8_t>(op);
    } else {
      t.by_size[k][bin::kAccessOps[op].size] = static_cast<std::uint8_t>(op);
    }
  }
  return t;
}
constexpr OpTables kOps = make_op_tables();

// The smallest width class whose bytes, sign-extended, give delta back.
unsigned width_class(std::uint64_t delta) {
  if (delta == 0) return 0;
  const unsigned bits = 64 - static_cast<unsigned>(__builtin_clrsbll(static_cast<long long>(delta)));
  const unsigned bytes = (bits + 7) / 8;
  return bytes <= 6 ? bytes : 7;
}

}  // namespace

// --- ByteSink -----------------------------------------------------------------

struct ByteSink::Encoders {
  ZSTD_CCtx* zstd = nullptr;
  z_stream gzip{};
  bool gzip_open = false;
  lzma_stream xz = LZMA_STREAM_INIT;
  bool xz_open = false;

  ~Encoders() {
    if (zstd != nullptr) ZSTD_freeCCtx(zstd);
    if (gzip_open) deflateEnd(&gzip);
    if (xz_open) lzma_end(&xz);
  }
};

ByteSink::ByteSink(const std::string& path) : m_path(path), m_enc(std::make_unique<Encoders>()) {
  if (path == "-") {
    m_fd = STDOUT_FILENO;
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw OutputError(path + ": is a directory");
  if (ends_with(path, ".zst")) {
    m_codec = Codec::Zstd;
  } else if (ends_with(path, ".gz")) {
    m_codec = Codec::Gzip;
  } else if (ends_with(path, ".xz")) {
    m_codec = Codec::Xz;
  }
  switch (m_codec) {
    case Codec::None: break;
    case Codec::Zstd:
      m_enc->zstd = ZSTD_createCCtx();
      if (m_enc->zstd == nullptr ||
          ZSTD_isError(ZSTD_CCtx_setParameter(m_enc->zstd, ZSTD_c_compressionLevel, kZstdLevel)) ||
          ZSTD_isError(ZSTD_CCtx_setParameter(m_enc->zstd, ZSTD_c_checksumFlag, 1)))
        throw OutputError(path + ": cannot set up the zstd encoder");
      break;
    case Codec::Gzip:
      // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
      if (deflateInit2(&m_enc->gzip, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw OutputError(path + ": cannot set up the gzip encoder");
      m_enc->gzip_open = true;
      break;
    case Codec::Xz:
      if (lzma_easy_encoder(&m_enc->xz, kXzPreset, LZMA_CHECK_CRC64) != LZMA_OK)
        throw OutputError(path + ": cannot set up the xz encoder");
      m_enc->xz_open = true;
      break;
  }
  if (m_codec != Codec::None) m_out.reset(new char[kCompressedChunkBytes]);
  m_tmp = path + ".tmp";
  m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (m_fd < 0) throw OutputError(path + ": cannot create " + m_tmp + ": " + std::strerror(errno));
}

ByteSink::~ByteSink() {
  if (m_finished || m_tmp.empty()) return;
  close_fd();
  ::unlink(m_tmp.c_str());
}

const char* ByteSink::compression() const {
  switch (m_codec) {
    case Codec::None: return "none";
    case Codec::Gzip: return "gzip";
    case Codec::Xz: return "xz";
    case Codec::Zstd: return "zstd";
  }
  return "?";
}

void ByteSink::close_fd() {
  if (m_fd >= 0 && m_fd != STDOUT_FILENO) ::close(m_fd);
  m_fd = -1;
}

void ByteSink::write_raw(const char* data, std::size_t n) {
  while (n != 0) {
    const ssize_t k = ::write(m_fd, data, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      throw OutputError(m_path + ": write error: " + std::strerror(errno));
    }
    data += k;
    n -= static_cast<std::size_t>(k);
  }
}

void ByteSink::write(const char* data, std::size_t n) {
  if (m_codec == Codec::None) {
    write_raw(data, n);
  } else {
    compress(data, n, false);
  }
}

void ByteSink::compress(const char* data, std::size_t n, bool last) {
  switch (m_codec) {
    case Codec::None: break;
    case Codec::Zstd: {
      ZSTD_inBuffer in{data, n, 0};
      std::size_t left;
      do {
        ZSTD_outBuffer out{m_out.get(), kCompressedChunkBytes, 0};
        left = ZSTD_compressStream2(m_enc->zstd, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left)) throw OutputError(m_path + ": zstd error: " + ZSTD_getErrorName(left));
        write_raw(m_out.get(), out.pos);
      } while (last ? left != 0 : in.pos != in.size);
      break;
    }
    case Codec::Gzip: {
      z_stream& z = m_enc->gzip;
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
      z.avail_in = static_cast<uInt>(n);  // n is at most a writer buffer
      int ret;
      do {
        z.next_out = reinterpret_cast<Bytef*>(m_out.get());
        z.avail_out = static_cast<uInt>(kCompressedChunkBytes);
        ret = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
        if (ret == Z_STREAM_ERROR) throw OutputError(m_path + ": gzip error");
        write_raw(m_out.get(), kCompressedChunkBytes - z.avail_out);
      } while (last ? ret != Z_STREAM_END : z.avail_out == 0);
      break;
    }
    case Codec::Xz: {
      lzma_stream& s = m_enc->xz;
      s.next_in = reinterpret_cast<const std::uint8_t*>(data);
      s.avail_in = n;
      for (;;) {
        s.next_out = reinterpret_cast<std::uint8_t*>(m_out.get());
        s.avail_out = kCompressedChunkBytes;
        const lzma_ret ret = lzma_code(&s, last ? LZMA_FINISH : LZMA_RUN);
        if (ret != LZMA_OK && ret != LZMA_STREAM_END)
          throw OutputError(m_path + ": xz error " + std::to_string(static_cast<int>(ret)));
        write_raw(m_out.get(), kCompressedChunkBytes - s.avail_out);
        if (last ? ret == LZMA_STREAM_END : s.avail_in == 0 && s.avail_out != 0) break;
      }
      break;
    }
  }
}

void ByteSink::finish() {
  if (m_finished) return;
  compress(nullptr, 0, true);
  if (m_tmp.empty()) {
    m_finished = true;
    return;
  }
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) throw OutputError(m_path + ": write error: " + std::strerror(errno));
  if (::rename(m_tmp.c_str(), m_path.c_str()) != 0)
    throw OutputError(m_path + ": cannot rename " + m_tmp + " to it: " + std::strerror(errno));
  m_finished = true;
}

// --- TraceWriter --------------------------------------------------------------

TraceWriter::TraceWriter(const std::string& path) : m_buf(new char[kBufferBytes + kSlackBytes]), m_sink(path) {}

TraceWriter::~TraceWriter() = default;

void TraceWriter::flush() {
  m_sink.write(m_buf.get(), m_pos);
  m_pos = 0;
}

void TraceWriter::reserve(std::size_t n) {
  if (m_pos + n <= m_cap) return;
  flush();
  if (n > m_cap) {
    m_buf.reset(new char[n]);
    m_cap = n;
  }
}

void TraceWriter::finish() {
  end();
  flush();
  m_sink.finish();
}

// --- TextWriter ---------------------------------------------------------------

namespace {

char* put_prot(char* p, std::uint8_t prot) {
  *p++ = (prot & kProtRead) != 0 ? 'r' : '-';
  *p++ = (prot & kProtWrite) != 0 ? 'w' : '-';
  *p++ = (prot & kProtExec) != 0 ? 'x' : '-';
  return p;
}

char* put_range(char* p, const TraceRecord& rec) {
  p = put_str(p, " 0x");
  p = put_hex(p, rec.addr);
  p = put_str(p, " 0x");
  return put_hex(p, rec.len);
}

}  // namespace

void TextWriter::encode(const TraceRecord& rec) {
  static constexpr char kLetter[4] = {'R', 'W', 'X', 'M'};  // by AccessKind
  if (rec.kind == RecordKind::Access) {
    check_size(rec, kFormatName);
    char* p = m_buf.get() + m_pos;
    *p++ = kLetter[static_cast<unsigned>(rec.access) & 3];
    p = put_str(p, " 0x");
    p = put_hex(p, rec.addr);
    *p++ = ' ';
    p = put_dec(p, rec.size);
    *p++ = '\n';
    m_pos = static_cast<std::size_t>(p - m_buf.get());
    return;
  }
  check_event(rec, kFormatName);
  if (rec.kind == RecordKind::Mark) reserve(rec.name.size() + 8);
  if (rec.kind == RecordKind::Mmap) reserve(rec.file_id.size() + 128);
  char* p = m_buf.get() + m_pos;
  *p++ = '@';
  p = put_str(p, record_kind_name(rec.kind));
  switch (rec.kind) {
    case RecordKind::Access: break;
    case RecordKind::Proc:
    case RecordKind::Fork:
    case RecordKind::Clone:
    case RecordKind::Thread:
      *p++ = ' ';
      p = put_dec(p, rec.pid);
      break;
    case RecordKind::Mmap:
      p = put_range(p, rec);
      *p++ = ' ';
      p = put_prot(p, rec.prot);
      if (!rec.file_id.empty()) {
        p = put_str(p, " file=");
        std::memcpy(p, rec.file_id.data(), rec.file_id.size());
        p += rec.file_id.size();
        if (rec.file_offset != 0) {
          p = put_str(p, " off=0x");
          p = put_hex(p, rec.file_offset);
        }
        if (rec.shared) p = put_str(p, " shared");
      } else {
        p = put_str(p, rec.file ? " file" : " anon");
      }
      if (rec.huge) p = put_str(p, " huge");
      if (rec.hugetlb) p = put_str(p, " hugetlb");
      break;
    case RecordKind::Munmap: p = put_range(p, rec); break;
    case RecordKind::Mprotect:
      p = put_range(p, rec);
      *p++ = ' ';
      p = put_prot(p, rec.prot);
      break;
    case RecordKind::Brk:
    case RecordKind::Invlpg:
      p = put_str(p, " 0x");
      p = put_hex(p, rec.addr);
      break;
    case RecordKind::Exit: break;
    case RecordKind::Invpcid:
      *p++ = ' ';
      p = put_dec(p, rec.invpcid_type);
      *p++ = ' ';
      p = put_dec(p, rec.pcid);
      if (rec.invpcid_type == 0) {
        p = put_str(p, " 0x");
        p = put_hex(p, rec.addr);
      }
      break;
    case RecordKind::Cr4Pge: p = put_str(p, rec.value ? " 1" : " 0"); break;
    case RecordKind::OomScoreAdj: {
      const std::string v = " " + std::to_string(rec.value);
      p = put_str(p, v.c_str());
      break;
    }
    case RecordKind::Mark:
      *p++ = ' ';
      std::memcpy(p, rec.name.data(), rec.name.size());
      p += rec.name.size();
      break;
  }
  *p++ = '\n';
  m_pos = static_cast<std::size_t>(p - m_buf.get());
}

// --- BinWriter ----------------------------------------------------------------

BinWriter::BinWriter(const std::string& path) : TraceWriter(path) {
  char* p = m_buf.get();
  std::memcpy(p, bin::kMagic, sizeof bin::kMagic);
  p[8] = static_cast<char>(bin::kVersion & 0xff);
  p[9] = static_cast<char>(bin::kVersion >> 8);
  std::memset(p + 10, 0, bin::kHeaderBytes - 10);  // flags, reserved
  m_pos = bin::kHeaderBytes;
}

void BinWriter::encode(const TraceRecord& rec) {
  if (rec.kind == RecordKind::Access) {
    check_size(rec, kFormatName);
    const unsigned k = static_cast<unsigned>(rec.access) & 3;
    std::uint8_t op = rec.size <= 64 ? kOps.by_size[k][rec.size] : kNoOp;
    const bool escape = op == kNoOp;
    if (escape) op = kOps.escape[k];
    const std::uint64_t delta = rec.addr - m_predicted[k];
    const unsigned cls = width_class(delta);
    char* p = m_buf.get() + m_pos;
    *p++ = static_cast<char>(op << bin::kWidthBits | cls);
    if (escape) p = put_varint(p, rec.size);
    std::memcpy(p, &delta, 8);  // little-endian; only the first width bytes count
    p += bin::kWidthBytes[cls];
    m_predicted[k] = rec.addr + rec.size;
    m_pos = static_cast<std::size_t>(p - m_buf.get());
    return;
  }
  check_event(rec, kFormatName);
  if (rec.kind == RecordKind::Mark) reserve(rec.name.size() + 1 + bin::kMaxVarintBytes);
  if (rec.kind == RecordKind::Mmap) reserve(rec.file_id.size() + 2 + 5 * bin::kMaxVarintBytes);
  char* p = m_buf.get() + m_pos;
  switch (rec.kind) {
    case RecordKind::Access: break;
    case RecordKind::Proc:
      *p++ = static_cast<char>(bin::kTagProc);
      p = put_varint(p, rec.pid);
      break;
    case RecordKind::Mmap:
      *p++ = static_cast<char>(bin::kTagMmap);
      *p++ = static_cast<char>((rec.prot & bin::kMmapProtMask) | (rec.file ? bin::kMmapFile : 0) |
                               (rec.huge ? bin::kMmapHuge : 0) | (rec.hugetlb ? bin::kMmapHugetlb : 0) |
                               (rec.file_id.empty() ? 0 : bin::kMmapFileId) | (rec.shared ? bin::kMmapShared : 0));
      p = put_varint(p, rec.addr);
      p = put_varint(p, rec.len);
      if (!rec.file_id.empty()) {
        p = put_varint(p, rec.file_offset);
        p = put_varint(p, rec.file_id.size());
        std::memcpy(p, rec.file_id.data(), rec.file_id.size());
        p += rec.file_id.size();
      }
      break;
    case RecordKind::Munmap:
      *p++ = static_cast<char>(bin::kTagMunmap);
      p = put_varint(p, rec.addr);
      p = put_varint(p, rec.len);
      break;
    case RecordKind::Mprotect:
      *p++ = static_cast<char>(bin::kTagMprotect);
      *p++ = static_cast<char>(rec.prot);
      p = put_varint(p, rec.addr);
      p = put_varint(p, rec.len);
      break;
    case RecordKind::Brk:
      *p++ = static_cast<char>(bin::kTagBrk);
      p = put_varint(p, rec.addr);
      break;
    case RecordKind::Fork:
      *p++ = static_cast<char>(bin::kTagFork);
      p = put_varint(p, rec.pid);
      break;
    case RecordKind::Clone:
      *p++ = static_cast<char>(bin::kTagClone);
      p = put_varint(p, rec.pid);
      break;
    case RecordKind::Thread:
      *p++ = static_cast<char>(bin::kTagThread);
      p = put_varint(p, rec.pid);
      break;
    case RecordKind::Exit: *p++ = static_cast<char>(bin::kTagExit); break;
    case RecordKind::Invlpg:
      *p++ = static_cast<char>(bin::kTagInvlpg);
      p = put_varint(p, rec.addr);
      break;
    case RecordKind::Invpcid:
      *p++ = static_cast<char>(bin::kTagInvpcid);
      *p++ = static_cast<char>(rec.invpcid_type);
      p = put_varint(p, rec.pcid);
      if (rec.invpcid_type == 0) p = put_varint(p, rec.addr);
      break;
    case RecordKind::Mark:
      *p++ = static_cast<char>(bin::kTagMark);
      p = put_varint(p, rec.name.size());
      std::memcpy(p, rec.name.data(), rec.name.size());
      p += rec.name.size();
      break;
    case RecordKind::Cr4Pge:
      *p++ = static_cast<char>(bin::kTagCr4Pge);
      *p++ = static_cast<char>(rec.value ? 1 : 0);
      break;
    case RecordKind::OomScoreAdj:
      *p++ = static_cast<char>(bin::kTagOomScoreAdj);
      p = put_varint(p, static_cast<std::uint64_t>(rec.value + 1000));
      break;
  }
  m_pos = static_cast<std::size_t>(p - m_buf.get());
}

void BinWriter::end() { m_buf[m_pos++] = static_cast<char>(bin::kTagEnd); }

// --- LackeyWriter -------------------------------------------------------------

void LackeyWriter::encode(const TraceRecord& rec) {
  if (rec.kind != RecordKind::Access)
    throw UnsupportedRecord(std::string("lackey cannot express @") + record_kind_name(rec.kind));
  check_size(rec, kFormatName);
  static constexpr char kPrefix[4][4] = {" L ", " S ", "I  ", " M "};  // by AccessKind
  char* p = m_buf.get() + m_pos;
  std::memcpy(p, kPrefix[static_cast<unsigned>(rec.access) & 3], 3);
  p = put_hex(p + 3, rec.addr, 8);
  *p++ = ',';
  p = put_dec(p, rec.size);
  *p++ = '\n';
  m_pos = static_cast<std::size_t>(p - m_buf.get());
}

// --- factory ------------------------------------------------------------------

const std::vector<std::string>& trace_writer_format_names() {
  static const std::vector<std::string> kNames = {TextWriter::kFormatName, BinWriter::kFormatName,
                                                  LackeyWriter::kFormatName};
  return kNames;
}

std::unique_ptr<TraceWriter> open_trace_writer(const std::string& path, const std::string& format) {
  if (format == TextWriter::kFormatName) return std::make_unique<TextWriter>(path);
  if (format == BinWriter::kFormatName) return std::make_unique<BinWriter>(path);
  if (format == LackeyWriter::kFormatName) return std::make_unique<LackeyWriter>(path);
  std::string valid;
  for (const std::string& name : trace_writer_format_names()) valid += (valid.empty() ? "" : ", ") + name;
  throw std::invalid_argument("unknown output format '" + format + "' (valid: " + valid + ")");
}

std::string trace_format_for_name(const std::string& path) {
  std::string name = path;
  for (const char* ext : {".zst", ".gz", ".xz"}) {
    if (ends_with(name, ext)) {
      name.resize(name.size() - std::strlen(ext));
      break;
    }
  }
  if (ends_with(name, ".bin")) return BinWriter::kFormatName;
  if (ends_with(name, ".txt") || ends_with(name, ".trace")) return TextWriter::kFormatName;
  if (ends_with(name, ".lackey")) return LackeyWriter::kFormatName;
  return "";
}

}  // namespace mmusim
