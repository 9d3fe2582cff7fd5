// libFuzzer target for the trace readers, one binary per format: build with
// -DFUZZ_FORMAT='"text"' (or "lackey", "champsim", "champsim-cloudsuite",
// "bin"). scripts/fuzz builds and runs them; seeds are in tests/fuzz/corpus/.
//
// Each input is the content of a trace file, possibly gzip/xz/zstd-compressed:
// it goes through ByteSource's in-memory constructor, so magic detection and
// the decoders are fuzzed along with the reader. Every input is read twice:
//   1. whole: the data is handed over in one read, as from a regular file;
//   2. piped: each underlying read returns a few bytes only (as a pipe may),
//      and the first bytes are peek()ed before the reader takes the source,
//      as format auto-detection does; the detection helpers (BinReader::
//      has_magic, ChampSimReader::detect, looks_like_record) run on them.
// Both passes must give the same records and end the same way (the same
// TraceError message, or none).
//
// A TraceError is the expected answer to bad input. Any other exception
// (std::bad_alloc, std::out_of_range, ...) escapes, and libFuzzer reports it
// as a crash, as it does for sanitizer reports. So do broken promises of the
// TraceReader interface, checked on every record: progress() in [0, 1] (or
// negative when the size is unknown, i.e. the data is empty), location()
// naming the file, and the field rules of FORMAT.md (access sizes 1..4096,
// lengths > 0 that stay inside the address space, prot bits, mark names).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/trace/bin_reader.h"
#include "sim/trace/byte_source.h"
#include "sim/trace/champsim_reader.h"
#include "sim/trace/lackey_reader.h"
#include "sim/trace/text_reader.h"
#include "sim/trace/trace_record.h"

#ifndef FUZZ_FORMAT
#error "define FUZZ_FORMAT, e.g. -DFUZZ_FORMAT='\"text\"'"
#endif

namespace {

using namespace mmusim;

constexpr std::string_view kFormat = FUZZ_FORMAT;
constexpr const char* kName = "fuzz.trace";
// Bounds the work per input; far more than a 64 KiB input can produce.
constexpr std::size_t kMaxRecords = 1000000;
// What format auto-detection peeks at (trace_reader.cpp).
constexpr std::size_t kDetectBytes = 64 * 1024;

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_trace_reader(%s): %s: %s\n", FUZZ_FORMAT, what, detail.c_str());
  std::abort();
}
#define CHECK(cond, detail) \
  do {                      \
    if (!(cond)) broken(#cond, detail); \
  } while (0)

std::unique_ptr<TraceReader> make_reader(std::unique_ptr<ByteSource> source) {
  if (kFormat == TextReader::kFormatName) return std::make_unique<TextReader>(std::move(source));
  if (kFormat == LackeyReader::kFormatName) return std::make_unique<LackeyReader>(std::move(source));
  if (kFormat == ChampSimReader::kFormatName)
    return std::make_unique<ChampSimReader>(std::move(source), ChampSimReader::Layout::Champsim);
  if (kFormat == ChampSimReader::kCloudsuiteFormatName)
    return std::make_unique<ChampSimReader>(std::move(source), ChampSimReader::Layout::Cloudsuite);
  if (kFormat == BinReader::kFormatName) return std::make_unique<BinReader>(std::move(source));
  broken("unknown FUZZ_FORMAT", std::string(kFormat));
}

bool is_mark_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

std::string describe(const TraceRecord& r) {
  return std::string(record_kind_name(r.kind)) + " addr=" + std::to_string(r.addr) + " len=" +
         std::to_string(r.len) + " size=" + std::to_string(r.size) + " prot=" + std::to_string(r.prot);
}

void check_record(const TraceRecord& r) {
  const bool champsim = kFormat.substr(0, 8) == "champsim";
  switch (r.kind) {
    case RecordKind::Access:
      CHECK(static_cast<unsigned>(r.access) <= static_cast<unsigned>(AccessKind::Modify), describe(r));
      CHECK(r.size >= 1 && r.size <= 4096, describe(r));
      if (champsim) CHECK(r.size == ChampSimReader::kAccessBytes && r.access != AccessKind::Modify, describe(r));
      break;
    case RecordKind::Mmap:
    case RecordKind::Mprotect:
      CHECK(r.prot <= (kProtRead | kProtWrite | kProtExec), describe(r));
      [[fallthrough]];
    case RecordKind::Munmap:
      CHECK(r.len != 0 && r.len - 1 <= UINT64_MAX - r.addr, describe(r));
      break;
    case RecordKind::Mark:
      CHECK(!r.name.empty(), describe(r));
      for (char c : r.name) CHECK(is_mark_char(c), "mark name " + r.name);
      break;
    case RecordKind::Proc:
      if (champsim) CHECK(r.pid >= 1 && r.pid <= 65536, describe(r));
      break;
    case RecordKind::Brk:
    case RecordKind::Fork:
    case RecordKind::Exit:
    case RecordKind::Invlpg:
      break;
    default:
      broken("record kind out of range", std::to_string(static_cast<unsigned>(r.kind)));
  }
  if (champsim) CHECK(r.kind == RecordKind::Access || r.kind == RecordKind::Proc, describe(r));
  if (kFormat == LackeyReader::kFormatName) CHECK(r.kind == RecordKind::Access, describe(r));
}

void check_state(const TraceReader& reader, std::size_t input_size) {
  const double p = reader.progress();
  if (input_size == 0) {
    CHECK(p < 0, std::to_string(p));
  } else {
    CHECK(p >= 0 && p <= 1, std::to_string(p));
  }
  const std::string loc = reader.location();
  CHECK(loc.compare(0, std::string_view(kName).size(), kName) == 0, loc);
  CHECK(reader.path() == kName, reader.path());
  CHECK(std::string_view(reader.format_name()) == kFormat, reader.format_name());
}

// The detection helpers of trace_reader.cpp's detect_in() on the peeked head.
void exercise_detection(std::string_view head, bool whole) {
  (void)BinReader::has_magic(head.data(), head.size());
  if (head.find('\0') != std::string_view::npos) {
    (void)ChampSimReader::detect(head, whole);
    return;
  }
  std::size_t pos = 0;
  for (int lines = 0; pos < head.size() && lines < 64; ++lines) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) nl = head.size();
    const std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    (void)LackeyReader::looks_like_record(line);
    (void)TextReader::looks_like_record(line);
  }
}

struct Outcome {
  std::vector<TraceRecord> records;  // the first few, for comparing passes
  std::size_t count = 0;
  std::string error;  // TraceError message, empty at a clean end
};

constexpr std::size_t kKeptRecords = 4096;

Outcome run(std::string_view data, std::size_t max_read, std::size_t peek_bytes) {
  Outcome out;
  std::unique_ptr<TraceReader> reader;
  try {
    auto source = std::make_unique<ByteSource>(kName, data, max_read);
    CHECK(source->file_size() == data.size(), std::to_string(source->file_size()));
    if (peek_bytes != 0) {
      const std::string_view head = source->peek(peek_bytes);
      CHECK(head.size() <= peek_bytes, std::to_string(head.size()));
      exercise_detection(head, head.size() < peek_bytes);
    }
    reader = make_reader(std::move(source));
    check_state(*reader, data.size());
    TraceRecord rec;
    while (out.count < kMaxRecords && reader->next(rec)) {
      check_record(rec);
      check_state(*reader, data.size());
      if (out.records.size() < kKeptRecords) out.records.push_back(rec);
      ++out.count;
    }
    if (out.count < kMaxRecords) {
      // The end is sticky.
      CHECK(!reader->next(rec), "a record after the end: " + describe(rec));
      check_state(*reader, data.size());
    }
  } catch (const TraceError& e) {
    out.error = e.what();
    CHECK(!out.error.empty(), "empty TraceError message");
    // What the caller does next: report where it happened.
    if (reader) check_state(*reader, data.size());
  }
  return out;
}

bool same(const TraceRecord& a, const TraceRecord& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case RecordKind::Access: return a.access == b.access && a.addr == b.addr && a.size == b.size;
    case RecordKind::Proc:
    case RecordKind::Fork: return a.pid == b.pid;
    case RecordKind::Mmap:
      return a.addr == b.addr && a.len == b.len && a.prot == b.prot && a.file == b.file && a.huge == b.huge;
    case RecordKind::Munmap: return a.addr == b.addr && a.len == b.len;
    case RecordKind::Mprotect: return a.addr == b.addr && a.len == b.len && a.prot == b.prot;
    case RecordKind::Brk:
    case RecordKind::Invlpg: return a.addr == b.addr;
    case RecordKind::Exit: return true;
    case RecordKind::Mark: return a.name == b.name;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Outcome whole = run(in, 0, 0);

  // Short reads: 1..7 bytes for small inputs (so even the 6-byte xz magic
  // arrives in pieces), 256..4095 for larger ones (LineReader rescans a line
  // per read, so 1-byte reads of a 64 KiB line would be slow, not wrong).
  const std::size_t max_read = size < 1024 ? 1 + size % 7 : 256 + size % 3840;
  // Peek all the detection window, or part of the data, then read on.
  const std::size_t peek = size % 3 == 0 ? kDetectBytes : 1 + size / 2;
  const Outcome piped = run(in, max_read, peek);

  // Compressed-data errors quote an approximate compressed offset, and how
  // much decoded data came out before the damage was noticed, both of which
  // depend on how the input arrived: then the passes only have to agree that
  // there was an error, and on the records both of them read.
  const bool codec_error = whole.error.find(": corrupt ") != std::string::npos ||
                           piped.error.find(": corrupt ") != std::string::npos;
  const std::string errors = "'" + whole.error + "' vs '" + piped.error + "'";
  if (codec_error) {
    CHECK(!whole.error.empty() && !piped.error.empty(), errors);
  } else {
    CHECK(whole.error == piped.error, errors);
    CHECK(whole.count == piped.count,
          std::to_string(whole.count) + " records read whole, " + std::to_string(piped.count) + " piped");
  }
  const std::size_t n = std::min(whole.records.size(), piped.records.size());
  for (std::size_t i = 0; i < n; ++i)
    CHECK(same(whole.records[i], piped.records[i]),
          "record " + std::to_string(i) + ": " + describe(whole.records[i]) + " vs " + describe(piped.records[i]));
  return 0;
}
