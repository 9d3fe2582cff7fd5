// Trace records as lines of text, so that the expected records of a reader
// test read like the trace: describe() one record, read_all() a whole
// reader, read_error() the TraceError of reading a file to its end; and
// TraceReaderTest, the fixture of the text, lackey, byte-source and
// open_trace tests.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "sim/trace/lackey_reader.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/text_reader.h"
#include "sim/trace/trace_reader.h"
#include "tests/support/temp_file.h"

namespace mmusim {

// "load 0x1000 8", "mmap 0x400000 0x1000 prot=5 file", "munmap 0x400000 0x2000", ...
inline std::string describe(const TraceRecord& r) {
  char buf[160];
  switch (r.kind) {
    case RecordKind::Access:
      std::snprintf(buf, sizeof buf, "%s 0x%llx %u", access_kind_name(r.access),
                    static_cast<unsigned long long>(r.addr), r.size);
      return buf;
    case RecordKind::Proc:
    case RecordKind::Fork:
    case RecordKind::Clone:
    case RecordKind::Thread: return std::string(record_kind_name(r.kind)) + " " + std::to_string(r.pid);
    case RecordKind::Mmap:
      std::snprintf(buf, sizeof buf, "mmap 0x%llx 0x%llx prot=%u%s%s%s", static_cast<unsigned long long>(r.addr),
                    static_cast<unsigned long long>(r.len), r.prot, r.file ? " file" : " anon", r.huge ? " huge" : "",
                    r.hugetlb ? " hugetlb" : "");
      if (!r.file_id.empty()) {
        char off[40];
        std::snprintf(off, sizeof off, " off=0x%llx", static_cast<unsigned long long>(r.file_offset));
        return buf + std::string(" id=") + r.file_id + off + (r.shared ? " shared" : "");
      }
      return buf;
    case RecordKind::Munmap:
      std::snprintf(buf, sizeof buf, "munmap 0x%llx 0x%llx", static_cast<unsigned long long>(r.addr),
                    static_cast<unsigned long long>(r.len));
      return buf;
    case RecordKind::Mprotect:
      std::snprintf(buf, sizeof buf, "mprotect 0x%llx 0x%llx prot=%u", static_cast<unsigned long long>(r.addr),
                    static_cast<unsigned long long>(r.len), r.prot);
      return buf;
    case RecordKind::Brk:
    case RecordKind::Invlpg:
      std::snprintf(buf, sizeof buf, "%s 0x%llx", record_kind_name(r.kind), static_cast<unsigned long long>(r.addr));
      return buf;
    case RecordKind::Invpcid:
      std::snprintf(buf, sizeof buf, "invpcid %u %u 0x%llx", r.invpcid_type, r.pcid,
                    static_cast<unsigned long long>(r.addr));
      return buf;
    case RecordKind::Exit: return "exit";
    case RecordKind::Mark: return "mark " + r.name;
    case RecordKind::OomScoreAdj: return "oom_score_adj " + std::to_string(r.value);
    case RecordKind::Cr4Pge: return "cr4_pge " + std::to_string(r.value);
  }
  return "?";
}

inline std::vector<std::string> read_all(TraceReader& reader) {
  std::vector<std::string> out;
  TraceRecord rec;
  while (reader.next(rec)) out.push_back(describe(rec));
  return out;
}

// The TraceError message from reading path to the end in format, or
// "(no error)".
inline std::string read_error(const std::string& path, const std::string& format) {
  try {
    auto reader = open_trace(path, format);
    TraceRecord rec;
    while (reader->next(rec)) {
    }
  } catch (const TraceError& e) {
    return e.what();
  }
  return "(no error)";
}

// A text trace with a comment, events and both access forms, and its records.
inline const char kTextSample[] =
    "# sample\n"
    "@proc 7\n"
    "@mmap 0x400000 0x1000 r-x file\n"
    "X 0x400010 4\n"
    "R 0x7ffd0000\n"
    "@mark done\n";
inline const std::vector<std::string> kTextSampleRecords = {
    "proc 7", "mmap 0x400000 0x1000 prot=5 file", "ifetch 0x400010 4", "load 0x7ffd0000 8", "mark done",
};

// A lackey trace with valgrind's own lines around its records (the lackey
// reader and byte-source tests), and its records.
inline const char kLackeySample[] =
    "==12345== Lackey, an example Valgrind tool\n"
    "==12345== Command: /bin/true\n"
    "==12345== \n"
    "I  04001f0,3\n"
    " L 1ffefffd28,8\n"
    " S 1ffefffd20,8\n"
    " M 0401a4c,4\n"
    "\n"
    "I  ffffffffffffffff,15\n"
    " L 0,4096\n"
    " S 00000000DEADbeef,1\n"
    "==12345== \n"
    "==12345== Counted 1 call to main()\n";

inline const std::vector<std::string> kLackeySampleRecords = {
    "ifetch 0x4001f0 3",  "load 0x1ffefffd28 8",          "store 0x1ffefffd20 8",
    "modify 0x401a4c 4",  "ifetch 0xffffffffffffffff 15", "load 0x0 4096",
    "store 0xdeadbeef 1",
};

class TraceReaderTest : public TempDirTest {
 protected:
  std::vector<std::string> read_text(const std::string& p) {
    TextReader reader(p);
    return read_all(reader);
  }
  std::vector<std::string> read_lackey(const std::string& p) {
    LackeyReader reader(p);
    return read_all(reader);
  }
  std::string error_of(const std::string& p, const std::string& format) { return read_error(p, format); }
};

}  // namespace mmusim
