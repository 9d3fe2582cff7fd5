#include "sim/trace/text_reader.h"

#include "sim/trace/bin_format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mmusim {

namespace {

// The <what> of each "expected <what>, got '...'" message; FORMAT.md lists
// them, so change both together.
constexpr const char* kWhatKind = "an access kind R, W, X, M or an @event";
constexpr const char* kWhatAddr = "an address in hex with 0x prefix";
constexpr const char* kWhatSize = "an access size of 1 to 4096 bytes";
constexpr const char* kWhatEnd = "end of line";
constexpr const char* kWhatEvent =
    "an event @proc, @mmap, @munmap, @mprotect, @brk, @fork, @exit, @invlpg, @invpcid, @mark, "
    "@oom_score_adj, @cr4_pge, @clone or @thread";
constexpr const char* kWhatPge = "a CR4.PGE value 0 or 1";
constexpr const char* kWhatOomScoreAdj = "an oom_score_adj from -1000 to 1000 (decimal)";
constexpr const char* kWhatPid = "a decimal process id";
constexpr const char* kWhatTid = "a decimal thread id";
constexpr const char* kWhatLen = "a length greater than 0 (decimal or 0x hex)";
constexpr const char* kWhatRange = "a length that keeps the range inside the 64-bit address space";
constexpr const char* kWhatProt = "a protection like rw-, r-x, rwx, --- or rw, rx, r, none";
constexpr const char* kWhatMmapOption =
    "anon, file, file=ID, off=OFFSET, shared, huge or hugetlb (each at most once, one of anon, file and file=ID)";
constexpr const char* kWhatFileId = "a file identity of 1 to 4096 printable bytes other than '#' after file=";
constexpr const char* kWhatFileOffset = "a file offset that is a multiple of 4096 (decimal or 0x hex) after off=";
constexpr const char* kWhatFileOffsetRange = "a file offset that keeps OFFSET + LEN - 1 inside 64 bits";
constexpr const char* kWhatIdentityOption = "file=ID with off= and shared (a file without identity has neither)";
constexpr const char* kWhatHugetlbAnon = "anon with hugetlb (hugetlbfs files are out of scope)";
constexpr const char* kWhatInvpcidType = "an INVPCID type 0, 1, 2 or 3";
constexpr const char* kWhatPcid = "a decimal PCID of 0 to 4095";
constexpr const char* kWhatMark = "a mark name of letters, digits, '_', '.' or '-'";

// Quoted text in messages is cut here so a 64 KiB garbage line stays legible.

constexpr std::uint8_t kNotAKind = 0xff;
constexpr std::array<std::uint8_t, 256> make_kind_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kNotAKind;
  t['R'] = static_cast<std::uint8_t>(AccessKind::Load);
  t['W'] = static_cast<std::uint8_t>(AccessKind::Store);
  t['X'] = static_cast<std::uint8_t>(AccessKind::IFetch);
  t['M'] = static_cast<std::uint8_t>(AccessKind::Modify);
  return t;
}
constexpr std::array<std::uint8_t, 256> kKindByLetter = make_kind_table();

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Next blank-separated token in [p, end); empty at end of line.
std::string_view take_token(const char*& p, const char* end) {
  while (p != end && is_blank(*p)) ++p;
  const char* start = p;
  while (p != end && !is_blank(*p)) ++p;
  return std::string_view(start, static_cast<std::size_t>(p - start));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_hex_prefix(std::string_view t) { return t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X'); }

// "0x" followed by 1+ hex digits whose value fits in 64 bits.
bool parse_hex(std::string_view t, std::uint64_t& out) {
  if (!has_hex_prefix(t) || t.size() == 2) return false;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < t.size(); ++i) {
    int d = hex_digit(t[i]);
    if (d < 0 || (v >> 60) != 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

bool parse_decimal(std::string_view t, std::uint64_t& out) {
  if (t.empty()) return false;
  std::uint64_t v = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (kMax - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool parse_number(std::string_view t, std::uint64_t& out) {
  return has_hex_prefix(t) ? parse_hex(t, out) : parse_decimal(t, out);
}

// "none", the 3-column form "r-x", or the letters present in order ("rx").
bool parse_prot(std::string_view t, std::uint8_t& out) {
  if (t == "none") {
    out = 0;
    return true;
  }
  static constexpr char kLetters[] = {'r', 'w', 'x'};
  static constexpr std::uint8_t kBits[] = {kProtRead, kProtWrite, kProtExec};
  if (t.size() == 3) {
    std::uint8_t prot = 0;
    bool columns = true;
    for (int i = 0; i < 3; ++i) {
      if (t[i] == kLetters[i]) {
        prot |= kBits[i];
      } else if (t[i] != '-') {
        columns = false;
      }
    }
    if (columns) {
      out = prot;
      return true;
    }
  }
  if (t.empty()) return false;
  std::uint8_t prot = 0;
  int next = 0;  // letters must come in r, w, x order, each once
  for (char c : t) {
    while (next < 3 && kLetters[next] != c) ++next;
    if (next == 3) return false;
    prot |= kBits[next++];
  }
  out = prot;
  return true;
}

bool is_mark_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

TextReader::TextReader(const std::string& path) : TextReader(std::make_unique<ByteSource>(path)) {}

TextReader::TextReader(std::unique_ptr<ByteSource> source) : LineTraceReader(std::move(source)) {}

bool TextReader::looks_like_record(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i == line.size()) return false;
  if (line[i] == '@') return true;
  if (std::strchr("RWXM", line[i]) == nullptr) return false;
  std::size_t j = i + 1;
  while (j < line.size() && is_blank(line[j])) ++j;
  return j > i + 1 && has_hex_prefix(line.substr(j));
}

bool TextReader::next(TraceRecord& rec) {
  // Fast path for the common "K 0xADDR[ SIZE]" line, read straight from the
  // line buffer (LineReader's sentinel and padding make that safe). Anything
  // else - events, comments, tabs, hex sizes, a line cut by the buffer end -
  // goes through the general path below, which also produces the errors.
  const char* f = m_lines.unread_begin();
  const std::uint8_t kind = kKindByLetter[static_cast<unsigned char>(f[0])];
  if (kind != kNotAKind && f[1] == ' ' && f[2] == '0' && (f[3] | 0x20) == 'x') {
    std::uint64_t addr;
    const unsigned digits = LineReader::scan_hex(f + 4, addr);
    const char* q = f + 4 + digits;
    std::uint32_t size = 8;
    if (*q == ' ') {
      const char* const size_start = ++q;
      size = 0;
      for (unsigned d; q - size_start < 4 && (d = static_cast<unsigned>(*q) - '0') < 10; ++q) size = size * 10 + d;
    }
    const char* nl = *q == '\r' ? q + 1 : q;
    if (digits != 0 && *nl == '\n' && nl < m_lines.unread_end() && size - 1 < kMaxAccessBytes) {
      m_lines.consume_through(nl);
      rec.kind = RecordKind::Access;
      rec.access = static_cast<AccessKind>(kind);
      rec.addr = addr;
      rec.size = size;
      return true;
    }
  }

  std::string_view raw;
  while (m_lines.next(raw)) {
    const char* p = raw.data();
    const char* end = p + raw.size();
    if (const void* hash = std::memchr(p, '#', raw.size())) end = static_cast<const char*>(hash);
    while (p != end && is_blank(*p)) ++p;
    if (p == end) continue;
    const char* trimmed_end = end;
    while (is_blank(trimmed_end[-1])) --trimmed_end;
    // What a missing-token message quotes: the line without comment/blanks.
    const std::string_view line(p, static_cast<std::size_t>(trimmed_end - p));

    std::string_view first = take_token(p, end);
    if (first[0] == '@') {
      parse_event(line, first, p, end, rec);
      return true;
    }
    if (first.size() != 1) fail(kWhatKind, first);
    AccessKind kind;
    switch (first[0]) {
      case 'R': kind = AccessKind::Load; break;
      case 'W': kind = AccessKind::Store; break;
      case 'X': kind = AccessKind::IFetch; break;
      case 'M': kind = AccessKind::Modify; break;
      default: fail(kWhatKind, first);
    }
    std::string_view tok = take_token(p, end);
    if (tok.empty()) fail(kWhatAddr, line);
    std::uint64_t addr;
    if (!parse_hex(tok, addr)) fail(kWhatAddr, tok);
    std::uint64_t size = 8;
    tok = take_token(p, end);
    if (!tok.empty()) {
      if (!parse_number(tok, size) || size == 0 || size > kMaxAccessBytes) fail(kWhatSize, tok);
      tok = take_token(p, end);
      if (!tok.empty()) fail(kWhatEnd, tok);
    }
    rec.kind = RecordKind::Access;
    rec.access = kind;
    rec.addr = addr;
    rec.size = static_cast<std::uint32_t>(size);
    return true;
  }
  return false;
}

void TextReader::parse_event(std::string_view line, std::string_view event, const char* p, const char* end,
                             TraceRecord& rec) {
  // Each helper takes the next token and reports it, or the whole line when
  // it is missing.
  auto need = [&](const char* what) {
    std::string_view t = take_token(p, end);
    if (t.empty()) fail(what, line);
    return t;
  };
  auto address = [&]() {
    std::string_view t = need(kWhatAddr);
    std::uint64_t v;
    if (!parse_hex(t, v)) fail(kWhatAddr, t);
    return v;
  };
  auto pid = [&]() {
    std::string_view t = need(kWhatPid);
    std::uint64_t v;
    if (!parse_decimal(t, v) || v > std::numeric_limits<std::uint32_t>::max()) fail(kWhatPid, t);
    return static_cast<std::uint32_t>(v);
  };
  auto tid = [&]() {
    std::string_view t = need(kWhatTid);
    std::uint64_t v;
    if (!parse_decimal(t, v) || v > std::numeric_limits<std::uint32_t>::max()) fail(kWhatTid, t);
    return static_cast<std::uint32_t>(v);
  };
  auto length_after = [&](std::uint64_t start) {
    std::string_view t = need(kWhatLen);
    std::uint64_t v;
    if (!parse_number(t, v) || v == 0) fail(kWhatLen, t);
    if (v - 1 > std::numeric_limits<std::uint64_t>::max() - start) fail(kWhatRange, t);
    return v;
  };
  auto prot = [&]() {
    std::string_view t = need(kWhatProt);
    std::uint8_t v;
    if (!parse_prot(t, v)) fail(kWhatProt, t);
    return v;
  };
  auto no_more = [&]() {
    std::string_view t = take_token(p, end);
    if (!t.empty()) fail(kWhatEnd, t);
  };

  std::string_view name = event.substr(1);
  if (name == "proc") {
    rec.kind = RecordKind::Proc;
    rec.pid = pid();
  } else if (name == "mmap") {
    rec.kind = RecordKind::Mmap;
    rec.addr = address();
    rec.len = length_after(rec.addr);
    rec.prot = prot();
    rec.file = false;
    rec.huge = false;
    rec.hugetlb = false;
    rec.file_id.clear();
    rec.file_offset = 0;
    rec.shared = false;
    bool seen_backing = false;
    bool seen_huge = false;
    bool seen_off = false;
    std::string_view off_token;
    for (std::string_view t = take_token(p, end); !t.empty(); t = take_token(p, end)) {
      if ((t == "anon" || t == "file") && !seen_backing) {
        seen_backing = true;
        rec.file = t == "file";
      } else if (t.substr(0, 5) == "file=" && !seen_backing) {
        // The file's identity: opaque bytes compared as they are (a path,
        // or inode:DEV:INO), traces/FORMAT.md.
        seen_backing = true;
        if (t.size() == 5 || t.size() - 5 > bin::kMaxFileIdBytes || !std::all_of(t.begin() + 5, t.end(), [](char c) {
              return bin::is_file_id_char(static_cast<unsigned char>(c));
            }))
          fail(kWhatFileId, t);
        rec.file = true;
        rec.file_id.assign(t.data() + 5, t.size() - 5);
      } else if (t.substr(0, 4) == "off=" && !seen_off) {
        seen_off = true;
        off_token = t;
        if (!parse_number(t.substr(4), rec.file_offset) || rec.file_offset % 4096 != 0) fail(kWhatFileOffset, t);
        if (rec.len - 1 > std::numeric_limits<std::uint64_t>::max() - rec.file_offset) fail(kWhatFileOffsetRange, t);
      } else if (t == "shared" && !rec.shared) {
        rec.shared = true;
      } else if (t == "huge" && !seen_huge) {
        seen_huge = true;
        rec.huge = true;
      } else if (t == "hugetlb" && !rec.hugetlb) {
        rec.hugetlb = true;
      } else {
        fail(kWhatMmapOption, t);
      }
    }
    if (rec.hugetlb && rec.file)
      fail(kWhatHugetlbAnon, rec.file_id.empty() ? std::string("file") : "file=" + rec.file_id);
    if (rec.file_id.empty() && seen_off) fail(kWhatIdentityOption, off_token);
    if (rec.file_id.empty() && rec.shared) fail(kWhatIdentityOption, "shared");
    return;
  } else if (name == "munmap") {
    rec.kind = RecordKind::Munmap;
    rec.addr = address();
    rec.len = length_after(rec.addr);
  } else if (name == "mprotect") {
    rec.kind = RecordKind::Mprotect;
    rec.addr = address();
    rec.len = length_after(rec.addr);
    rec.prot = prot();
  } else if (name == "brk") {
    rec.kind = RecordKind::Brk;
    rec.addr = address();
  } else if (name == "fork") {
    rec.kind = RecordKind::Fork;
    rec.pid = pid();
  } else if (name == "clone") {
    rec.kind = RecordKind::Clone;
    rec.pid = tid();
  } else if (name == "thread") {
    rec.kind = RecordKind::Thread;
    rec.pid = tid();
  } else if (name == "exit") {
    rec.kind = RecordKind::Exit;
  } else if (name == "invlpg") {
    rec.kind = RecordKind::Invlpg;
    rec.addr = address();
  } else if (name == "invpcid") {
    rec.kind = RecordKind::Invpcid;
    std::string_view t = need(kWhatInvpcidType);
    std::uint64_t v = 0;
    if (!parse_decimal(t, v) || v > 3) fail(kWhatInvpcidType, t);
    rec.invpcid_type = static_cast<std::uint8_t>(v);
    t = need(kWhatPcid);
    if (!parse_decimal(t, v) || v > 4095) fail(kWhatPcid, t);
    rec.pcid = static_cast<std::uint16_t>(v);
    // Type 0 names an address; types 1-3 take none (the canonical text).
    rec.addr = rec.invpcid_type == 0 ? address() : 0;
  } else if (name == "cr4_pge") {
    std::string_view t = need(kWhatPge);
    if (t != "0" && t != "1") fail(kWhatPge, t);
    rec.kind = RecordKind::Cr4Pge;
    rec.value = t == "1" ? 1 : 0;
  } else if (name == "oom_score_adj") {
    std::string_view t = need(kWhatOomScoreAdj);
    const bool neg = !t.empty() && t[0] == '-';
    std::uint64_t v;
    if (!parse_decimal(neg ? t.substr(1) : t, v) || v > 1000) fail(kWhatOomScoreAdj, t);
    rec.kind = RecordKind::OomScoreAdj;
    rec.value = neg ? -static_cast<std::int32_t>(v) : static_cast<std::int32_t>(v);
  } else if (name == "mark") {
    std::string_view t = need(kWhatMark);
    if (!std::all_of(t.begin(), t.end(), is_mark_char)) fail(kWhatMark, t);
    rec.kind = RecordKind::Mark;
    rec.name.assign(t.data(), t.size());
  } else {
    fail(kWhatEvent, event);
  }
  no_more();
}

}  // namespace mmusim
