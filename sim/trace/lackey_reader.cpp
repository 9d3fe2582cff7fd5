#include "sim/trace/lackey_reader.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace mmusim {

namespace {

constexpr const char* kWhatRecord = "a lackey record (I/L/S/M addr,size)";
constexpr const char* kWhatSize = "an access size of 1 to 4096 bytes";
constexpr const char* kWhatAddr = "an address of at most 64 bits";

// Hex digit value of each byte, -1 for anything else: one load per digit
// instead of three range tests.
constexpr std::array<std::int8_t, 256> make_hex_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::int8_t>(c - 'A' + 10);
  return t;
}
constexpr std::array<std::int8_t, 256> kHex = make_hex_table();

enum class Parse : std::uint8_t { Ok, NotRecord, BadAddress, BadSize };

struct Parsed {
  AccessKind kind;
  std::uint64_t addr;
  std::uint32_t size;
  std::string_view addr_text;
  std::string_view size_text;
};

// Matches one lackey record line [p, p + n). p[n] must be a byte that is
// neither a hex digit nor ',' (LineReader's '\r'/'\n' sentinel), so the digit
// loops need no bounds test.
inline Parse parse_line(const char* p, std::size_t n, Parsed& out) {
  if (n < 6 || p[2] != ' ') return Parse::NotRecord;  // shortest is "I  0,1"
  if (p[0] == 'I' && p[1] == ' ') {
    out.kind = AccessKind::IFetch;
  } else if (p[0] == ' ') {
    switch (p[1]) {
      case 'L': out.kind = AccessKind::Load; break;
      case 'S': out.kind = AccessKind::Store; break;
      case 'M': out.kind = AccessKind::Modify; break;
      default: return Parse::NotRecord;
    }
  } else {
    return Parse::NotRecord;
  }
  const char* q = p + 3;
  const char* const addr_start = q;
  std::uint64_t addr = 0;
  bool overflow = false;
  for (int d; (d = kHex[static_cast<unsigned char>(*q)]) >= 0; ++q) {
    overflow |= (addr >> 60) != 0;
    addr = (addr << 4) | static_cast<std::uint64_t>(d);
  }
  if (q == addr_start || *q != ',') return Parse::NotRecord;
  out.addr_text = std::string_view(addr_start, static_cast<std::size_t>(q - addr_start));
  ++q;
  const char* const size_start = q;
  std::uint32_t size = 0;
  for (unsigned d; (d = static_cast<unsigned>(*q) - '0') < 10; ++q) {
    // Saturate instead of overflowing; anything past the cap is an error anyway.
    size = std::min<std::uint32_t>(size * 10 + d, LackeyReader::kMaxAccessBytes + 1);
  }
  if (q == size_start || q != p + n) return Parse::NotRecord;
  out.size_text = std::string_view(size_start, static_cast<std::size_t>(q - size_start));
  if (overflow) return Parse::BadAddress;
  if (size == 0 || size > LackeyReader::kMaxAccessBytes) return Parse::BadSize;
  out.addr = addr;
  out.size = size;
  return Parse::Ok;
}

bool is_skipped(std::string_view line) {
  if (line.size() >= 2 && line[0] == '=' && line[1] == '=') return true;
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

}  // namespace

LackeyReader::LackeyReader(const std::string& path) : LackeyReader(std::make_unique<ByteSource>(path)) {}

LackeyReader::LackeyReader(std::unique_ptr<ByteSource> source) : LineTraceReader(std::move(source)) {}

bool LackeyReader::looks_like_record(std::string_view line) {
  const std::string copy(line);  // c_str() supplies the sentinel parse_line needs
  Parsed parsed{};
  return parse_line(copy.c_str(), copy.size(), parsed) == Parse::Ok;
}

bool LackeyReader::next_slow(TraceRecord& rec) {
  std::string_view line;
  Parsed parsed{};
  while (m_lines.next(line)) {
    switch (parse_line(line.data(), line.size(), parsed)) {
      case Parse::Ok:
        rec.kind = RecordKind::Access;
        rec.access = parsed.kind;
        rec.addr = parsed.addr;
        rec.size = parsed.size;
        return true;
      case Parse::NotRecord:
        if (is_skipped(line)) continue;
        fail(kWhatRecord, line);
      case Parse::BadAddress: fail(kWhatAddr, parsed.addr_text);
      case Parse::BadSize: fail(kWhatSize, parsed.size_text);
    }
  }
  return false;
}

}  // namespace mmusim
