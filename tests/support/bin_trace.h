// The bin trace tests' shared parts: bytes of the bin format
// (sim/trace/bin_format.h) written out by hand, the records they encode,
// record constructors, and BinTraceTest, the fixture of the bin format,
// trace writer and round-trip tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/trace/bin_reader.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/trace_reader.h"
#include "sim/trace/trace_writer.h"
#include "tests/support/temp_file.h"
#include "tests/support/trace_records.h"

namespace mmusim {

using Bytes = std::vector<std::uint8_t>;

inline Bytes header() { return {'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R', 1, 0, 0, 0, 0, 0, 0, 0}; }

inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline TraceRecord access(AccessKind kind, std::uint64_t addr, std::uint32_t size) {
  TraceRecord r;
  r.kind = RecordKind::Access;
  r.access = kind;
  r.addr = addr;
  r.size = size;
  return r;
}

inline TraceRecord event(RecordKind kind, std::uint64_t addr = 0, std::uint64_t len = 0, std::uint8_t prot = 0) {
  TraceRecord r;
  r.kind = kind;
  r.addr = addr;
  r.len = len;
  r.prot = prot;
  return r;
}

class BinTraceTest : public TempDirTest {
 protected:
  std::string write(const std::string& name, const Bytes& bytes) { return write_bytes(name, bytes); }
  std::string write_text(const std::string& name, const std::string& text) { return TempDirTest::write(name, text); }
  static Bytes slurp_bytes(const std::string& p) {
    const std::string s = slurp(p);
    return Bytes(s.begin(), s.end());
  }

  std::vector<std::string> read_bin(const std::string& p) {
    BinReader reader(p);
    return read_all(reader);
  }
  // The TraceError message from reading p to the end as bin.
  std::string error_of(const std::string& p) {
    try {
      BinReader reader(p);
      TraceRecord rec;
      while (reader.next(rec)) {
      }
    } catch (const TraceError& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::string error_of(const Bytes& bytes) { return error_of(write("bad.bin", bytes)); }

  // Copies in (any readable format) to out in format, record by record.
  std::uint64_t convert(const std::string& in, const std::string& out, const std::string& format,
                        std::uint64_t max_records = ~std::uint64_t{0}) {
    auto reader = open_trace(in, "auto");
    auto writer = open_trace_writer(out, format);
    TraceRecord rec;
    std::uint64_t n = 0;
    while (n < max_records && reader->next(rec)) {
      writer->write(rec);
      ++n;
    }
    writer->finish();
    return n;
  }
  void write_records(TraceWriter& w, const std::vector<TraceRecord>& records) {
    for (const TraceRecord& r : records) w.write(r);
    w.finish();
  }
};

// --- hand-written bytes -------------------------------------------------------

// Each record with its bytes, worked out from bin_format.h.
inline const Bytes kAccessBytes = {
    0x1a, 0x00, 0x10,                                   // R 0x1000 8: op 3, delta 0x1000 in 2 bytes
    0x18,                                               // R 0x1008 8: delta 0 from 0x1000 + 8
    0xc3, 0x0f, 0x00, 0x00, 0x40,                       // X 0x400000 15: op 24 (escape), size 15, delta in 3 bytes
    0x90,                                               // X 0x40000f 3: op 18, delta 0
    0x42, 0xff, 0x0f,                                   // W 0xfff 1: op 8, delta 0xfff in 2 bytes
    0x51, 0xf0,                                         // W 0xff0 4: op 10, delta -0x10 from 0x1000
    0xe1, 0xff,                                         // M 0xffffffffffffffff 8: op 28, delta -1 from 0
    0xe7, 0,    0,    0,    0,    0,    0,    0, 0x80,  // M 0x8000000000000007 8: predicted 7 (wrapped), class 7
    0x38, 0x80, 0x20,                                   // R 0x1010 4096: op 7 (escape), size 4096, delta 0
    0x1e, 0,    0,    0,    0,    0,    0x01,           // R 0x10000002010 8: delta 2^40 needs 6 bytes
    0x0d, 0,    0,    0,    0,    0x01,                 // R 0x10100002018 2: op 1, delta 2^32 needs 5 bytes
    0x31, 0xe6,                                         // R 0x10100002000 64: op 6, delta -0x1a from ...201a
};
inline const std::vector<std::string> kAccessRecords = {
    "load 0x1000 8",    "load 0x1008 8",        "ifetch 0x400000 15",          "ifetch 0x40000f 3",
    "store 0xfff 1",    "store 0xff0 4",        "modify 0xffffffffffffffff 8", "modify 0x8000000000000007 8",
    "load 0x1010 4096", "load 0x10000002010 8", "load 0x10100002018 2",        "load 0x10100002000 64",
};

inline const Bytes kEventBytes = {
    0xf0, 0xac, 0x02,                                      // @proc 300
    0xf1, 0x0d, 0x80, 0x80, 0x80, 0x02, 0x80, 0x20,        // @mmap 0x400000 0x1000 r-x file
    0xf1, 0x13, 0x80, 0x80, 0x80, 0x80, 0x80, 0xe0, 0x1f,  // @mmap 0x7f0000000000 0x200000 rw- anon huge
    0x80, 0x80, 0x80, 0x01,                                //
    0xf2, 0x80, 0x80, 0x80, 0x02, 0x80, 0x40,              // @munmap 0x400000 0x2000
    0xf3, 0x01, 0x80, 0x80, 0x80, 0x02, 0x80, 0x20,        // @mprotect 0x400000 0x1000 r--
    0xf4, 0x80, 0xc0, 0x80, 0x03,                          // @brk 0x602000
    0xf5, 0x2b,                                            // @fork 43
    0xf6,                                                  // @exit
    0xf7, 0x80, 0xa0, 0xab, 0x6f,                          // @invlpg 0xdead000
    0xf8, 0x03, 'e',  'n',  'd',                           // @mark end
    0xf9, 0x00, 0x01, 0x80, 0x20,                          // @invpcid 0 1 0x1000
    0xf9, 0x03, 0xff, 0x1f,                                // @invpcid 3 4095
};
inline const std::vector<std::string> kEventRecords = {
    "proc 300",
    "mmap 0x400000 0x1000 prot=5 file",
    "mmap 0x7f0000000000 0x200000 prot=3 anon huge",
    "munmap 0x400000 0x2000",
    "mprotect 0x400000 0x1000 prot=1",
    "brk 0x602000",
    "fork 43",
    "exit",
    "invlpg 0xdead000",
    "mark end",
    "invpcid 0 1 0x1000",
    "invpcid 3 4095 0x0",
};

inline std::vector<TraceRecord> hand_records() {
  std::vector<TraceRecord> v = {
      access(AccessKind::Load, 0x1000, 8),
      access(AccessKind::Load, 0x1008, 8),
      access(AccessKind::IFetch, 0x400000, 15),
      access(AccessKind::IFetch, 0x40000f, 3),
      access(AccessKind::Store, 0xfff, 1),
      access(AccessKind::Store, 0xff0, 4),
      access(AccessKind::Modify, 0xffffffffffffffffull, 8),
      access(AccessKind::Modify, 0x8000000000000007ull, 8),
      access(AccessKind::Load, 0x1010, 4096),
      access(AccessKind::Load, 0x10000002010ull, 8),
      access(AccessKind::Load, 0x10100002018ull, 2),
      access(AccessKind::Load, 0x10100002000ull, 64),
  };
  TraceRecord r = event(RecordKind::Proc);
  r.pid = 300;
  v.push_back(r);
  r = event(RecordKind::Mmap, 0x400000, 0x1000, kProtRead | kProtExec);
  r.file = true;
  v.push_back(r);
  r = event(RecordKind::Mmap, 0x7f0000000000ull, 0x200000, kProtRead | kProtWrite);
  r.huge = true;
  v.push_back(r);
  v.push_back(event(RecordKind::Munmap, 0x400000, 0x2000));
  v.push_back(event(RecordKind::Mprotect, 0x400000, 0x1000, kProtRead));
  v.push_back(event(RecordKind::Brk, 0x602000));
  r = event(RecordKind::Fork);
  r.pid = 43;
  v.push_back(r);
  v.push_back(event(RecordKind::Exit));
  v.push_back(event(RecordKind::Invlpg, 0xdead000));
  r = event(RecordKind::Mark);
  r.name = "end";
  v.push_back(r);
  r = event(RecordKind::Invpcid, 0x1000);
  r.invpcid_type = 0;
  r.pcid = 1;
  v.push_back(r);
  r = event(RecordKind::Invpcid, 0);
  r.invpcid_type = 3;
  r.pcid = 4095;
  v.push_back(r);
  return v;
}

}  // namespace mmusim
