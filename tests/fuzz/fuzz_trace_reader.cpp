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
// TraceError message, or none; for damaged compressed data just an error in
// both, since how much decoded data precedes it depends on the reads).
// bin inputs are also read moved to the end of BinReader's 1 MiB buffer, see
// run_at_buffer_end().
//
// A TraceError is the expected answer to bad input. Any other exception
// (std::bad_alloc, std::out_of_range, ...) escapes, and libFuzzer reports it
// as a crash, as it does for sanitizer reports. So do broken promises of the
// TraceReader interface, checked on every record: progress() in [0, 1] (or
// negative when the size is unknown, i.e. the data is empty), location()
// naming the file, and the field rules of FORMAT.md (access sizes 1..4096,
// lengths > 0 that stay inside the address space, prot bits, mark names).
//
// Speed: ByteSource and the readers each allocate a 1 MiB buffer with new[].
// Under ASan every such allocation is a fresh mmap whose 128 KiB of shadow is
// poisoned on allocation and again on free - page faults and TLB shootdowns
// that cost milliseconds on a VM and capped the fuzzer at ~50 inputs/s. So
// operator new[] below recycles blocks of kRecycleBytes or more: a freed one
// is kept, still allocated as far as ASan knows (its redzones still catch
// overflows past either end), and handed out again for the same size. Each
// such block is filled with 0xbe when handed out, new or reused, so reading
// bytes never written behaves the same every time. Lost: use-after-free
// detection on those few buffers, all of them unique_ptr members.
#include <malloc.h>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "sim/trace/bin_format.h"
#include "sim/trace/bin_reader.h"
#include "sim/trace/byte_source.h"
#include "sim/trace/champsim_reader.h"
#include "sim/trace/lackey_reader.h"
#include "sim/trace/text_reader.h"
#include "sim/trace/trace_reader.h"

#ifndef FUZZ_FORMAT
#error "define FUZZ_FORMAT, e.g. -DFUZZ_FORMAT='\"text\"'"
#endif

namespace {

constexpr std::size_t kRecycleBytes = 256 * 1024;
constexpr int kRecycleSlots = 16;
std::mutex g_recycle_mutex;
void* g_recycled[kRecycleSlots];
std::size_t g_recycled_size[kRecycleSlots];

void* allocate_array(std::size_t n) noexcept {
  if (n >= kRecycleBytes) {
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(g_recycle_mutex);
      for (int i = 0; i < kRecycleSlots; ++i) {
        if (g_recycled[i] != nullptr && g_recycled_size[i] == n) {
          p = g_recycled[i];
          g_recycled[i] = nullptr;
          break;
        }
      }
    }
    if (p == nullptr) p = std::malloc(n);
    if (p != nullptr) std::memset(p, 0xbe, n);
    return p;
  }
  return std::malloc(n == 0 ? 1 : n);
}

void free_array(void* p) noexcept {
  if (p == nullptr) return;
  const std::size_t n = malloc_usable_size(p);  // ASan: the size asked for
  if (n >= kRecycleBytes) {
    std::lock_guard<std::mutex> lock(g_recycle_mutex);
    for (int i = 0; i < kRecycleSlots; ++i) {
      if (g_recycled[i] == nullptr) {
        g_recycled[i] = p;
        g_recycled_size[i] = n;
        return;
      }
    }
  }
  std::free(p);
}

}  // namespace

void* operator new[](std::size_t n) {
  void* p = allocate_array(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_array(n); }
void operator delete[](void* p) noexcept { free_array(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free_array(p); }
void operator delete[](void* p, std::size_t) noexcept { free_array(p); }

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
#define CHECK(cond, detail)             \
  do {                                  \
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
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Every field of r, for the messages of a failed check.
std::string all_fields(const TraceRecord& r) {
  return std::string(record_kind_name(r.kind)) + " addr=" + std::to_string(r.addr) + " len=" + std::to_string(r.len) +
         " size=" + std::to_string(r.size) + " prot=" + std::to_string(r.prot) +
         " invpcid_type=" + std::to_string(r.invpcid_type) + " pcid=" + std::to_string(r.pcid);
}

void check_record(const TraceRecord& r) {
  const bool champsim = kFormat.substr(0, 8) == "champsim";
  switch (r.kind) {
    case RecordKind::Access:
      CHECK(static_cast<unsigned>(r.access) <= static_cast<unsigned>(AccessKind::Modify), all_fields(r));
      CHECK(r.size >= 1 && r.size <= 4096, all_fields(r));
      if (champsim) CHECK(r.size == ChampSimReader::kAccessBytes && r.access != AccessKind::Modify, all_fields(r));
      break;
    case RecordKind::Mmap:
      // A file identity (file=ID off= shared): 1..4096 bytes of is_file_id_char, a
      // file-backed mapping, a 4 KiB-aligned offset that keeps OFFSET + LEN - 1 in 64 bits.
      if (!r.file_id.empty()) {
        CHECK(r.file && r.file_id.size() <= bin::kMaxFileIdBytes, all_fields(r));
        for (char c : r.file_id) CHECK(bin::is_file_id_char(static_cast<unsigned char>(c)), "file id " + r.file_id);
        CHECK(r.file_offset % 4096 == 0 && r.len - 1 <= UINT64_MAX - r.file_offset, all_fields(r));
      } else {
        CHECK(!r.shared && r.file_offset == 0, all_fields(r));
      }
      [[fallthrough]];
    case RecordKind::Mprotect: CHECK(r.prot <= kProtMask, all_fields(r)); [[fallthrough]];
    case RecordKind::Munmap: CHECK(r.len != 0 && r.len - 1 <= UINT64_MAX - r.addr, all_fields(r)); break;
    case RecordKind::Mark:
      CHECK(!r.name.empty(), all_fields(r));
      for (char c : r.name) CHECK(is_mark_char(c), "mark name " + r.name);
      break;
    case RecordKind::Proc:
      if (champsim) CHECK(r.pid >= 1 && r.pid <= 65536, all_fields(r));
      break;
    case RecordKind::Invpcid:
      CHECK(r.invpcid_type <= 3 && r.pcid <= 4095 && (r.invpcid_type == 0 || r.addr == 0), all_fields(r));
      break;
    case RecordKind::Brk:
    case RecordKind::Fork:
    case RecordKind::Clone:
    case RecordKind::Thread:
    case RecordKind::Exit:
    case RecordKind::Invlpg: break;
    default: broken("record kind out of range", std::to_string(static_cast<unsigned>(r.kind)));
  }
  if (champsim) CHECK(r.kind == RecordKind::Access || r.kind == RecordKind::Proc, all_fields(r));
  if (kFormat == LackeyReader::kFormatName) CHECK(r.kind == RecordKind::Access, all_fields(r));
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

// Few enough that the vector stays under ASan's large-allocation threshold.
constexpr std::size_t kKeptRecords = 1024;

// Reads data; the first skip records (filler added by the harness) are only
// counted.
Outcome read_through(std::string_view data, std::size_t max_read, std::size_t peek_bytes, std::size_t skip) {
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
    while (out.count < skip && reader->next(rec)) ++out.count;
    while (out.count < kMaxRecords + skip && reader->next(rec)) {
      check_record(rec);
      check_state(*reader, data.size());
      if (out.records.size() < kKeptRecords) out.records.push_back(rec);
      ++out.count;
    }
    if (out.count < kMaxRecords + skip) {
      // The end is sticky.
      CHECK(!reader->next(rec), "a record after the end: " + all_fields(rec));
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
    case RecordKind::Fork:
    case RecordKind::Clone:
    case RecordKind::Thread: return a.pid == b.pid;
    case RecordKind::Mmap:
      return a.addr == b.addr && a.len == b.len && a.prot == b.prot && a.file == b.file && a.huge == b.huge &&
             a.hugetlb == b.hugetlb;
    case RecordKind::Munmap: return a.addr == b.addr && a.len == b.len;
    case RecordKind::Mprotect: return a.addr == b.addr && a.len == b.len && a.prot == b.prot;
    case RecordKind::Brk:
    case RecordKind::Invlpg: return a.addr == b.addr;
    case RecordKind::Exit: return true;
    case RecordKind::Invpcid: return a.invpcid_type == b.invpcid_type && a.pcid == b.pcid && a.addr == b.addr;
    case RecordKind::Mark: return a.name == b.name;
  }
  return false;
}

// Reads data whole and piped, compares, and returns the whole outcome.
Outcome run_both(std::string_view in) {
  const std::size_t size = in.size();
  Outcome whole = read_through(in, 0, 0, 0);

  // Short reads: 1..7 bytes for small inputs (so even the 6-byte xz magic
  // arrives in pieces), 256..4095 for larger ones (LineReader rescans a line
  // per read, so 1-byte reads of a 64 KiB line would be slow, not wrong).
  const std::size_t max_read = size < 1024 ? 1 + size % 7 : 256 + size % 3840;
  // Peek all the detection window, or part of the data, then read on.
  const std::size_t peek = size % 3 == 0 ? kDetectBytes : 1 + size / 2;
  const Outcome piped = read_through(in, max_read, peek, 0);

  // Compressed-data errors quote an approximate compressed offset, and how
  // much decoded data came out before the damage was noticed, both of which
  // depend on how the input arrived: then the passes only have to agree that
  // there was an error, and on the records both of them read.
  const bool codec_error =
      whole.error.find(": corrupt ") != std::string::npos || piped.error.find(": corrupt ") != std::string::npos;
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
          "record " + std::to_string(i) + ": " + all_fields(whole.records[i]) + " vs " + all_fields(piped.records[i]));
  return whole;
}

// bin only: BinReader's refill and window logic only runs at the end of its
// 1 MiB buffer, out of reach of 64 KiB inputs. So some bin inputs are read
// again moved there: after the 16-byte header come 16 @mark records of up to
// 64 KiB (as few records as possible: decoding a MiB still costs ~25 ms here,
// hence only one input in kBoundaryEvery, read whole only), so that the end of
// the first buffer load falls somewhere in the input's own records, or just
// after them. Marks leave the address prediction alone, so the records that
// follow must be exactly those of the plain read, and so must the error
// (but for its byte offset).
constexpr std::size_t kBoundaryEvery = 32;  // inputs whose size is a multiple

// Appends filler bytes of @mark records named "aaa...", their lengths written
// as 3-byte varints (over-long for short names, which the reader accepts).
// Returns the number of records.
std::size_t append_marks(std::string& out, std::size_t bytes) {
  constexpr std::size_t kMarkOverhead = 4;  // tag, 3-byte length
  constexpr std::size_t kMaxRecord = kMarkOverhead + 65530;
  std::size_t records = 0;
  while (bytes != 0) {
    std::size_t r = std::min(bytes, kMaxRecord);
    if (bytes - r != 0 && bytes - r <= kMarkOverhead) r = bytes - kMarkOverhead - 1;  // room for the last
    const std::size_t name = r - kMarkOverhead;
    out += '\xf8';
    out += static_cast<char>(0x80 | (name & 0x7f));
    out += static_cast<char>(0x80 | ((name >> 7) & 0x7f));
    out += static_cast<char>(name >> 14);
    out.append(name, 'a');
    bytes -= r;
    ++records;
  }
  return records;
}

// The part of a TraceError message after its location.
std::string_view after_location(const std::string& error) {
  const std::size_t at = error.find(": expected ");
  return at == std::string::npos ? std::string_view(error) : std::string_view(error).substr(at);
}

void run_at_buffer_end(std::string_view in, const Outcome& plain) {
  if (kFormat != BinReader::kFormatName || in.size() < 16 || !BinReader::has_magic(in.data(), in.size())) return;
  if (in.size() % kBoundaryEvery != 0) return;
  // Where the buffer end falls: anywhere in the records, chosen by a hash of
  // the input so that it moves when the input changes.
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : in) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  const std::size_t before_end = 1 + hash % (in.size() - 16 + 1);
  static std::string big;  // keeps its capacity from one input to the next
  big.assign(in.substr(0, 16));
  const std::size_t marks = append_marks(big, BinReader::kBufferBytes - 16 - before_end);
  big.append(in.substr(16));
  const Outcome moved = read_through(big, 0, 0, marks);

  const std::string errors = "'" + plain.error + "' vs '" + moved.error + "' at the buffer end";
  CHECK(after_location(plain.error) == after_location(moved.error), errors);
  const bool bad_header = plain.count == 0 && moved.count == 0 && !plain.error.empty();
  CHECK(bad_header || moved.count == plain.count + marks, std::to_string(plain.count) + " records read plain, " +
                                                              std::to_string(moved.count - marks) +
                                                              " at the buffer end");
  const std::size_t n = std::min(plain.records.size(), moved.records.size());
  for (std::size_t i = 0; i < n; ++i)
    CHECK(same(plain.records[i], moved.records[i]), "record " + std::to_string(i) + ": " +
                                                        all_fields(plain.records[i]) + " vs " +
                                                        all_fields(moved.records[i]) + " at the buffer end");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Outcome plain = run_both(in);
  run_at_buffer_end(in, plain);
  return 0;
}
