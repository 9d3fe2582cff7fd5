#include "sim/trace/bin_reader.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <limits>

#include "sim/trace/bin_format.h"

namespace mmusim {

namespace {

// Bytes readable after the end of the data in the buffer, so that the fast
// path may load 8 address bytes without a bounds test first.
constexpr std::size_t kPadding = 16;
// Longest record other than @mark: tag, flags, two 10-byte varints.
constexpr std::size_t kSlowWindow = 32;

enum class TagType : std::uint8_t { Access, Event, End, Unknown };

// Everything the decoder needs to know about a tag, one 16-byte entry each.
struct TagInfo {
  TagType type;
  std::uint8_t kind;   // AccessKind
  std::uint8_t width;  // address bytes
  std::uint8_t shift;  // 64 - 8 * width for sign extension (0 for widths 0, 8)
  std::uint32_t size;  // access size; 0 for escapes and non-accesses
  std::uint64_t mask;  // 0 for width 0, all ones otherwise
};

constexpr std::array<TagInfo, 256> make_tag_table() {
  std::array<TagInfo, 256> t{};
  for (unsigned tag = 0; tag < 256; ++tag) {
    TagInfo info{TagType::Unknown, 0, 0, 0, 0, 0};
    if (tag < bin::kFirstEventTag) {
      const bin::AccessOp op = bin::kAccessOps[tag >> bin::kWidthBits];
      const unsigned width = bin::kWidthBytes[tag & ((1u << bin::kWidthBits) - 1)];
      info.type = TagType::Access;
      info.kind = static_cast<std::uint8_t>(op.kind);
      info.width = static_cast<std::uint8_t>(width);
      info.shift = static_cast<std::uint8_t>(width == 0 || width == 8 ? 0 : 64 - 8 * width);
      info.size = op.size;
      info.mask = width == 0 ? 0 : ~std::uint64_t{0};
    } else if (tag <= bin::kLastEventTag) {
      info.type = TagType::Event;
    } else if (tag == bin::kTagEnd) {
      info.type = TagType::End;
    }
    t[tag] = info;
  }
  return t;
}
constexpr std::array<TagInfo, 256> kTags = make_tag_table();

const char* record_name(std::uint8_t tag) {
  static constexpr const char* kEvents[] = {"@proc",          "@mmap",    "@munmap", "@mprotect", "@brk",
                                            "@fork",          "@exit",    "@invlpg", "@mark",     "@invpcid",
                                            "@oom_score_adj", "@cr4_pge", "@clone",  "@thread"};
  if (tag >= bin::kFirstEventTag && tag <= bin::kLastEventTag) return kEvents[tag - bin::kFirstEventTag];
  if (tag < bin::kFirstEventTag) return access_kind_name(bin::kAccessOps[tag >> bin::kWidthBits].kind);
  return "?";
}

std::string hex(std::uint64_t v, int digits = 0) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

// Bytes as a quoted string, non-printable ones as \xNN.
std::string quoted(const std::uint8_t* p, std::size_t n) {
  std::string s = "'";
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '\\') {
      s += static_cast<char>(p[i]);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", p[i]);
      s += buf;
    }
  }
  return s + "'";
}

bool is_mark_char(std::uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

// Bounds-checked reading of one record in the slow path. The caller has
// filled the buffer so that running off m_end means the end of the file.
struct BinReader::Cursor {
  BinReader& r;
  std::size_t pos;      // index into r.m_buf
  std::uint64_t start;  // stream offset of the record
  std::uint8_t tag;

  std::uint64_t offset() const { return r.m_base + pos; }
  [[noreturn]] void truncated() const {
    r.fail(start, std::string("a complete ") + record_name(tag) + " record", "end of file");
  }
  std::uint8_t byte() {
    if (pos >= r.m_end) truncated();
    return r.m_buf[pos++];
  }
  std::uint64_t varint() {
    const std::uint64_t at = offset();
    std::uint64_t v = 0;
    for (unsigned i = 0;; ++i) {
      const std::uint8_t b = byte();
      if (i == bin::kMaxVarintBytes - 1) {  // the last byte holds bit 63 only
        if ((b & 0x80) != 0) r.fail(at, "a varint of at most 10 bytes", "a longer one");
        if (b > 1) r.fail(at, "a varint of at most 64 bits", "a larger value");
      }
      v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
  }
  std::uint32_t pid() {
    const std::uint64_t at = offset();
    const std::uint64_t v = varint();
    if (v > std::numeric_limits<std::uint32_t>::max())
      r.fail(at, "a process id of at most 4294967295", std::to_string(v));
    return static_cast<std::uint32_t>(v);
  }
  std::uint64_t length_after(std::uint64_t addr) {
    const std::uint64_t at = offset();
    const std::uint64_t v = varint();
    if (v == 0) r.fail(at, "a length greater than 0", "0");
    if (v - 1 > std::numeric_limits<std::uint64_t>::max() - addr)
      r.fail(at, "a length that keeps the range inside the 64-bit address space", hex(v));
    return v;
  }
};

BinReader::BinReader(const std::string& path) : BinReader(std::make_unique<ByteSource>(path)) {}

BinReader::BinReader(std::unique_ptr<ByteSource> source)
    : m_source(std::move(source)), m_buf(new std::uint8_t[kBufferBytes + kPadding]()) {
  read_header();
}

BinReader::~BinReader() = default;

bool BinReader::has_magic(const char* data, std::size_t n) {
  return n >= sizeof bin::kMagic && std::memcmp(data, bin::kMagic, sizeof bin::kMagic) == 0;
}

double BinReader::progress() const { return m_source->progress(); }

std::string BinReader::location() const { return location_at(m_last); }

std::string BinReader::location_at(std::uint64_t offset) const {
  return m_source->name() + ": byte " + std::to_string(offset);
}

void BinReader::fail(std::uint64_t offset, const std::string& what, const std::string& got) const {
  throw TraceError(m_source->name() + ": byte " + std::to_string(offset) + ": expected " + what + ", got " + got);
}

std::size_t BinReader::fill(std::size_t want) {
  std::size_t avail = m_end - m_pos;
  if (avail >= want || m_eof) return avail;
  std::memmove(m_buf.get(), m_buf.get() + m_pos, avail);
  m_base += m_pos;
  m_pos = 0;
  m_end = avail;
  // Fill the buffer at least half so that refills stay rare, whatever size
  // the source hands out per read.
  while (!m_eof && (m_end < want || m_end < kBufferBytes / 2)) {
    const std::size_t n = m_source->read(reinterpret_cast<char*>(m_buf.get()) + m_end, kBufferBytes - m_end);
    if (n == 0) {
      m_eof = true;
    } else {
      m_end += n;
    }
  }
  std::memset(m_buf.get() + m_end, 0, kPadding);
  return m_end;
}

void BinReader::read_header() {
  const std::size_t avail = fill(bin::kHeaderBytes);
  const std::uint8_t* h = m_buf.get();
  if (avail == 0) fail(0, "the bin trace magic 'MMUSIMTR'", "an empty file");
  if (!has_magic(reinterpret_cast<const char*>(h), avail))
    fail(0, "the bin trace magic 'MMUSIMTR'", quoted(h, std::min(avail, sizeof bin::kMagic)));
  if (avail < bin::kHeaderBytes) fail(avail, "the rest of the 16-byte bin header", "end of file");
  const unsigned version = h[8] | (h[9] << 8);
  if (version != bin::kVersion) fail(8, "bin format version 1", std::to_string(version));
  const unsigned flags = h[10] | (h[11] << 8);
  if (flags != 0) fail(10, "flags 0x0000 (version 1 defines none)", hex(flags, 4));
  std::uint32_t reserved;
  std::memcpy(&reserved, h + 12, 4);
  if (reserved != 0) fail(12, "reserved bytes 0", quoted(h + 12, 4));
  m_pos = bin::kHeaderBytes;
  m_last = bin::kHeaderBytes;
}

bool BinReader::next(TraceRecord& rec) {
  // A plain access: one lookup, one unaligned load. The padding after m_end
  // makes the load safe; the record is taken only if it lies before m_end.
  const std::uint8_t* p = m_buf.get() + m_pos;
  const TagInfo& t = kTags[*p];
  if (t.size != 0 && m_pos + 1 + t.width <= m_end) {
    std::uint64_t raw;
    std::memcpy(&raw, p + 1, 8);
    const std::uint64_t delta =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(raw << t.shift) >> t.shift) & t.mask;
    const std::uint64_t addr = m_predicted[t.kind] + delta;
    m_predicted[t.kind] = addr + t.size;
    m_last = m_base + m_pos;
    m_pos += 1 + t.width;
    rec.kind = RecordKind::Access;
    rec.access = static_cast<AccessKind>(t.kind);
    rec.addr = addr;
    rec.size = t.size;
    return true;
  }
  return next_slow(rec);
}

bool BinReader::next_slow(TraceRecord& rec) {
  if (m_ended) return false;
  if (fill(kSlowWindow) == 0)
    fail(m_base + m_pos, "a record or the end tag 0xff", "end of file (the trace was cut short)");
  Cursor c{*this, m_pos, m_base + m_pos, m_buf[m_pos]};
  ++c.pos;
  const TagInfo& t = kTags[c.tag];
  switch (t.type) {
    case TagType::Access: {
      std::uint32_t size = t.size;
      if (size == 0) {
        const std::uint64_t at = c.offset();
        const std::uint64_t v = c.varint();
        if (v == 0 || v > bin::kMaxAccessBytes) fail(at, "an access size of 1 to 4096 bytes", std::to_string(v));
        size = static_cast<std::uint32_t>(v);
      }
      if (c.pos + t.width > m_end) c.truncated();
      std::uint64_t raw;
      std::memcpy(&raw, m_buf.get() + c.pos, 8);  // padding makes this safe
      c.pos += t.width;
      const std::uint64_t delta =
          static_cast<std::uint64_t>(static_cast<std::int64_t>(raw << t.shift) >> t.shift) & t.mask;
      rec.kind = RecordKind::Access;
      rec.access = static_cast<AccessKind>(t.kind);
      rec.addr = m_predicted[t.kind] + delta;
      rec.size = size;
      m_predicted[t.kind] = rec.addr + size;
      break;
    }
    case TagType::Event:
      switch (c.tag) {
        case bin::kTagProc:
          rec.kind = RecordKind::Proc;
          rec.pid = c.pid();
          break;
        case bin::kTagMmap: {
          const std::uint64_t at = c.offset();
          const std::uint8_t flags = c.byte();
          if ((flags & bin::kMmapFile) && (flags & bin::kMmapHugetlb))
            fail(at, "@mmap flags without both file 0x08 and hugetlb 0x20 (hugetlbfs files are out of scope)",
                 hex(flags, 2));
          if ((flags & bin::kMmapFileId) && !(flags & bin::kMmapFile))
            fail(at, "@mmap flags with file 0x08 when file identity 0x40 is set", hex(flags, 2));
          if ((flags & bin::kMmapShared) && !(flags & bin::kMmapFileId))
            fail(at, "@mmap flags with file identity 0x40 when shared 0x80 is set", hex(flags, 2));
          rec.kind = RecordKind::Mmap;
          rec.prot = flags & bin::kMmapProtMask;
          rec.file = (flags & bin::kMmapFile) != 0;
          rec.huge = (flags & bin::kMmapHuge) != 0;
          rec.hugetlb = (flags & bin::kMmapHugetlb) != 0;
          rec.shared = (flags & bin::kMmapShared) != 0;
          rec.addr = c.varint();
          rec.len = c.length_after(rec.addr);
          rec.file_offset = 0;
          rec.file_id.clear();
          if (flags & bin::kMmapFileId) {
            const std::uint64_t off_at = c.offset();
            rec.file_offset = c.varint();
            if (rec.file_offset % 4096 != 0)
              fail(off_at, "a file offset that is a multiple of 4096", hex(rec.file_offset, 1));
            if (rec.len - 1 > ~std::uint64_t{0} - rec.file_offset)
              fail(off_at, "a file offset that keeps offset + length - 1 inside 64 bits", hex(rec.file_offset, 1));
            const std::uint64_t len_at = c.offset();
            const std::uint64_t n = c.varint();
            if (n == 0 || n > bin::kMaxFileIdBytes)
              fail(len_at, "a file identity of 1 to 4096 bytes", std::to_string(n));
            const std::size_t used = c.pos - m_pos;  // the identity may reach past the window: refill
            fill(used + n);
            c.pos = m_pos + used;
            if (c.pos + n > m_end) c.truncated();
            const std::uint8_t* id = m_buf.get() + c.pos;
            const std::uint8_t* bad = std::find_if_not(id, id + n, bin::is_file_id_char);
            if (bad != id + n)
              fail(c.offset() + static_cast<std::uint64_t>(bad - id),
                   "a file identity of printable bytes other than blank and '#'", quoted(bad, 1));
            rec.file_id.assign(reinterpret_cast<const char*>(id), n);
            c.pos += n;
          }
          break;
        }
        case bin::kTagMunmap:
          rec.kind = RecordKind::Munmap;
          rec.addr = c.varint();
          rec.len = c.length_after(rec.addr);
          break;
        case bin::kTagMprotect: {
          const std::uint64_t at = c.offset();
          const std::uint8_t prot = c.byte();
          if (prot > bin::kMmapProtMask) fail(at, "a protection of at most 0x07", hex(prot, 2));
          rec.kind = RecordKind::Mprotect;
          rec.prot = prot;
          rec.addr = c.varint();
          rec.len = c.length_after(rec.addr);
          break;
        }
        case bin::kTagBrk:
          rec.kind = RecordKind::Brk;
          rec.addr = c.varint();
          break;
        case bin::kTagFork:
          rec.kind = RecordKind::Fork;
          rec.pid = c.pid();
          break;
        case bin::kTagClone:
          rec.kind = RecordKind::Clone;
          rec.pid = c.pid();
          break;
        case bin::kTagThread:
          rec.kind = RecordKind::Thread;
          rec.pid = c.pid();
          break;
        case bin::kTagExit: rec.kind = RecordKind::Exit; break;
        case bin::kTagInvlpg:
          rec.kind = RecordKind::Invlpg;
          rec.addr = c.varint();
          break;
        case bin::kTagInvpcid: {
          std::uint64_t at = c.offset();
          const std::uint8_t type = c.byte();
          if (type > 3) fail(at, "an INVPCID type of 0 to 3", hex(type, 2));
          at = c.offset();
          const std::uint64_t pcid = c.varint();
          if (pcid > 4095) fail(at, "a PCID of at most 4095", std::to_string(pcid));
          rec.kind = RecordKind::Invpcid;
          rec.invpcid_type = type;
          rec.pcid = static_cast<std::uint16_t>(pcid);
          rec.addr = type == 0 ? c.varint() : 0;
          break;
        }
        case bin::kTagMark: {
          const std::uint64_t at = c.offset();
          const std::uint64_t n = c.varint();
          if (n == 0 || n > bin::kMaxMarkBytes) fail(at, "a mark name of 1 to 65530 bytes", std::to_string(n));
          // The name may reach past the window: refill (indices shift).
          const std::size_t used = c.pos - m_pos;
          fill(used + n);
          c.pos = m_pos + used;
          if (c.pos + n > m_end) c.truncated();
          const std::uint8_t* name = m_buf.get() + c.pos;
          const std::uint8_t* bad = std::find_if_not(name, name + n, is_mark_char);
          if (bad != name + n)
            fail(c.offset() + static_cast<std::uint64_t>(bad - name), "a mark name of letters, digits, '_', '.' or '-'",
                 quoted(bad, 1));
          rec.kind = RecordKind::Mark;
          rec.name.assign(reinterpret_cast<const char*>(name), n);
          c.pos += n;
          break;
        }
        case bin::kTagCr4Pge: {
          const std::uint64_t at = c.offset();
          const std::uint8_t v = c.byte();
          if (v > 1) fail(at, "a CR4.PGE value of 0 or 1", hex(v, 2));
          rec.kind = RecordKind::Cr4Pge;
          rec.value = v;
          break;
        }
        case bin::kTagOomScoreAdj: {
          const std::uint64_t at = c.offset();
          const std::uint64_t v = c.varint();
          if (v > 2000) fail(at, "an oom_score_adj + 1000 of at most 2000", std::to_string(v));
          rec.kind = RecordKind::OomScoreAdj;
          rec.value = static_cast<std::int32_t>(v) - 1000;
          break;
        }
      }
      break;
    case TagType::End:
      m_ended = true;
      m_last = c.start;
      m_pos = c.pos;
      if (fill(1) != 0) fail(m_base + m_pos, "end of file after the end tag", hex(m_buf[m_pos], 2));
      return false;
    case TagType::Unknown: fail(c.start, "a record tag (0x00-0xef access, 0xf0-0xfd event, 0xff end)", hex(c.tag, 2));
  }
  m_last = c.start;
  m_pos = c.pos;
  return true;
}

}  // namespace mmusim
