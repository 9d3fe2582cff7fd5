#include "sim/convert.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "sim/trace/open_trace.h"
#include "sim/trace/trace_reader.h"
#include "sim/trace/trace_writer.h"

namespace mmusim {

namespace {

std::string display_name(const std::string& path, const char* stdio_name) { return path == "-" ? stdio_name : path; }

// Standard output cannot be taken back; a file is only renamed into place
// at the end.
std::string failed_note(const std::string& out) {
  if (out == "-") return "mmusim: the output on <stdout> is incomplete\n";
  return "mmusim: nothing written to " + out + "\n";
}

}  // namespace

ConvertResult convert_trace(const std::string& in, const std::string& out, const std::string& from,
                            const std::string& to, std::ostream& log) {
  ConvertResult result;
  result.to = to.empty() ? trace_format_for_name(out) : to;
  if (result.to.empty())
    throw ConvertUsageError("cannot tell the output format from the name '" + out +
                            "'; pass --to text, bin or lackey, or name it *.txt, *.bin or *.lackey "
                            "(optionally with .zst, .gz or .xz)");
  const std::vector<std::string>& writers = trace_writer_format_names();
  if (std::find(writers.begin(), writers.end(), result.to) == writers.end()) {
    std::string valid;
    for (const std::string& name : writers) valid += (valid.empty() ? "" : ", ") + name;
    throw ConvertUsageError("--to: unknown output format '" + result.to + "' (valid: " + valid + ")");
  }

  std::unique_ptr<TraceReader> reader;
  try {
    reader = open_trace(in, from);
  } catch (const std::invalid_argument& e) {
    throw ConvertUsageError(std::string("--from: ") + e.what());
  }
  result.from = reader->format_name();
  result.detected = from == "auto";
  if (result.detected)
    log << "mmusim: " << display_name(in, "<stdin>") << ": format " << result.from << " (auto-detected)\n"
        << std::flush;

  std::unique_ptr<TraceWriter> writer;
  try {
    writer = open_trace_writer(out, result.to);
  } catch (const OutputError& e) {
    throw ConvertUsageError(e.what());
  }
  TraceRecord rec;
  while (reader->next(rec)) {
    try {
      writer->write(rec);
    } catch (const UnsupportedRecord& e) {
      throw TraceError(reader->location() + ": " + e.what());
    }
    ++result.records;
  }
  writer->finish();
  return result;
}

int run_convert(const std::string& in, const std::string& out, const std::string& from, const std::string& to,
                std::ostream& err) {
  const std::string out_name = display_name(out, "<stdout>");
  try {
    const ConvertResult r = convert_trace(in, out, from, to, err);
    err << "mmusim: converted " << r.records << " records from " << r.from << " to " << r.to << ": " << out_name
        << "\n";
    return 0;
  } catch (const ConvertUsageError& e) {
    err << "mmusim: " << e.what() << "\n";
    return 2;
  } catch (const TraceError& e) {
    err << "mmusim: " << e.what() << "\n" << failed_note(out);
    return 3;
  } catch (const OutputError& e) {
    err << "mmusim: " << e.what() << "\n" << failed_note(out);
    return 4;
  }
}

}  // namespace mmusim
