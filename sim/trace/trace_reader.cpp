// record_kind_name() and the open_trace() factory (sim/trace/open_trace.h).

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "sim/trace/bin_reader.h"
#include "sim/trace/byte_source.h"
#include "sim/trace/champsim_reader.h"
#include "sim/trace/lackey_reader.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/text_reader.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {

const char* record_kind_name(RecordKind k) {
  switch (k) {
    case RecordKind::Access: return "access";
    case RecordKind::Proc: return "proc";
    case RecordKind::Mmap: return "mmap";
    case RecordKind::Munmap: return "munmap";
    case RecordKind::Mprotect: return "mprotect";
    case RecordKind::Brk: return "brk";
    case RecordKind::Fork: return "fork";
    case RecordKind::Exit: return "exit";
    case RecordKind::Invlpg: return "invlpg";
    case RecordKind::Invpcid: return "invpcid";
    case RecordKind::Mark: return "mark";
    case RecordKind::OomScoreAdj: return "oom_score_adj";
    case RecordKind::Cr4Pge: return "cr4_pge";
    case RecordKind::Clone: return "clone";
    case RecordKind::Thread: return "thread";
  }
  return "?";
}

namespace {

// Enough for a valgrind banner plus a page of comments; detection does not
// read further so that "auto" on a pipe buffers a bounded amount.
constexpr std::size_t kDetectBytes = 64 * 1024;

const char* detect_in(ByteSource& source) {
  const std::string_view head = source.peek(kDetectBytes);
  const bool whole_file = head.size() < kDetectBytes;
  if (BinReader::has_magic(head.data(), head.size())) return BinReader::kFormatName;
  // Binary data (a NUL byte cannot appear in text or lackey traces). Formats
  // with a magic number must be recognised before this: ChampSim has none.
  if (head.find('\0') != std::string_view::npos) {
    if (const char* f = ChampSimReader::detect(head, whole_file)) return f;
    throw TraceError(source.name() + ": cannot detect the trace format; pass --format");
  }
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (!whole_file) break;  // cut off by the peek limit: undecidable
      nl = head.size();
    }
    std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (line.substr(0, 2) == "==" || LackeyReader::looks_like_record(line)) return LackeyReader::kFormatName;
    if (TextReader::looks_like_record(line)) return TextReader::kFormatName;
    break;
  }
  throw TraceError(source.name() + ": cannot detect the trace format; pass --format");
}

}  // namespace

const std::vector<std::string>& trace_format_names() {
  static const std::vector<std::string> kNames = {TextReader::kFormatName,
                                                  LackeyReader::kFormatName,
                                                  BinReader::kFormatName,
                                                  ChampSimReader::kFormatName,
                                                  ChampSimReader::kCloudsuiteFormatName,
                                                  "auto"};
  return kNames;
}

std::unique_ptr<TraceReader> open_trace(const std::string& path, const std::string& format) {
  const std::vector<std::string>& names = trace_format_names();
  if (std::find(names.begin(), names.end(), format) == names.end()) {
    std::string valid;
    for (const std::string& name : trace_format_names()) valid += (valid.empty() ? "" : ", ") + name;
    throw std::invalid_argument("unknown trace format '" + format + "' (valid: " + valid + ")");
  }
  auto source = std::make_unique<ByteSource>(path);
  const std::string chosen = format == "auto" ? detect_in(*source) : format;
  if (chosen == LackeyReader::kFormatName) return std::make_unique<LackeyReader>(std::move(source));
  if (chosen == BinReader::kFormatName) return std::make_unique<BinReader>(std::move(source));
  if (chosen == ChampSimReader::kFormatName)
    return std::make_unique<ChampSimReader>(std::move(source), ChampSimReader::Layout::Champsim);
  if (chosen == ChampSimReader::kCloudsuiteFormatName)
    return std::make_unique<ChampSimReader>(std::move(source), ChampSimReader::Layout::Cloudsuite);
  return std::make_unique<TextReader>(std::move(source));
}

std::string detect_trace_format(const std::string& path) {
  ByteSource source(path);
  return detect_in(source);
}

}  // namespace mmusim
