// The bin trace format (sim/trace/bin_format.h): BinReader, the writers of
// sim/trace/trace_writer.h, and lossless round trips between formats. Expected
// bytes are written out by hand from the format description, not taken from
// the writer.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sim/trace/bin_format.h"
#include "sim/trace/bin_reader.h"
#include "sim/trace/byte_source.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/trace_reader.h"
#include "sim/trace/trace_writer.h"
#include "tests/support/temp_file.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

Bytes header() { return {'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R', 1, 0, 0, 0, 0, 0, 0, 0}; }

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TraceRecord access(AccessKind kind, std::uint64_t addr, std::uint32_t size) {
  TraceRecord r;
  r.kind = RecordKind::Access;
  r.access = kind;
  r.addr = addr;
  r.size = size;
  return r;
}

TraceRecord event(RecordKind kind, std::uint64_t addr = 0, std::uint64_t len = 0, std::uint8_t prot = 0) {
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
const Bytes kAccessBytes = {
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
const std::vector<std::string> kAccessRecords = {
    "load 0x1000 8",    "load 0x1008 8",        "ifetch 0x400000 15",          "ifetch 0x40000f 3",
    "store 0xfff 1",    "store 0xff0 4",        "modify 0xffffffffffffffff 8", "modify 0x8000000000000007 8",
    "load 0x1010 4096", "load 0x10000002010 8", "load 0x10100002018 2",        "load 0x10100002000 64",
};

const Bytes kEventBytes = {
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
const std::vector<std::string> kEventRecords = {
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

std::vector<TraceRecord> hand_records() {
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

TEST_F(BinTraceTest, FormatTablesMatchTheDescription) {
  EXPECT_EQ(bin::kFirstEventTag, bin::kNumAccessOps << bin::kWidthBits);
  EXPECT_EQ(bin::kAccessOps[3].kind, AccessKind::Load);
  EXPECT_EQ(bin::kAccessOps[3].size, 8);
  EXPECT_EQ(bin::kAccessOps[24].kind, AccessKind::IFetch);
  EXPECT_EQ(bin::kAccessOps[24].size, 0);
  EXPECT_EQ(bin::kAccessOps[29].kind, AccessKind::Modify);
  EXPECT_EQ(bin::kAccessOps[29].size, 0);
}

TEST_F(BinTraceTest, ReadsHandWrittenAccesses) {
  std::string p = write("a.bin", header() + kAccessBytes + Bytes{0xff});
  EXPECT_EQ(read_bin(p), kAccessRecords);
}

TEST_F(BinTraceTest, ReadsHandWrittenEvents) {
  std::string p = write("e.bin", header() + kEventBytes + Bytes{0xff});
  EXPECT_EQ(read_bin(p), kEventRecords);
}

// @mmap 0x40000000 0x40000000 rw- anon hugetlb: flags 0x20 | prot 3 = 0x23;
// 2^30 as LEB128 is four 0x80 groups then 0x04 (2^30 = 4 * 2^28).
TEST_F(BinTraceTest, HugetlbIsMmapFlagBit5) {
  const Bytes rec = {0xf1, 0x23, 0x80, 0x80, 0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x80, 0x04};
  std::string p = write("h.bin", header() + rec + Bytes{0xff});
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"mmap 0x40000000 0x40000000 prot=3 anon hugetlb"}));
  TraceRecord r = event(RecordKind::Mmap, 0x40000000, 0x40000000, kProtRead | kProtWrite);
  r.hugetlb = true;
  std::string q = path("hw.bin");
  BinWriter w(q);
  write_records(w, {r});
  EXPECT_EQ(slurp_bytes(q), header() + rec + Bytes{0xff});
}

TEST_F(BinTraceTest, WriterProducesTheHandWrittenBytes) {
  std::string p = path("w.bin");
  BinWriter w(p);
  write_records(w, hand_records());
  EXPECT_EQ(slurp_bytes(p), header() + kAccessBytes + kEventBytes + Bytes{0xff});
}

// @oom_score_adj VALUE is tag 0xfa and the varint VALUE + 1000: -1000 -> 0x00,
// 1000 -> 2000 = 0xd0 0x0f, 17 -> 1017 = 0xf9 0x07.
TEST_F(BinTraceTest, OomScoreAdjBytesAndRoundTrip) {
  const std::string p = m_dir + "/oom.bin";
  {
    BinWriter w(p);
    TraceRecord r;
    r.kind = RecordKind::OomScoreAdj;
    for (int v : {-1000, 1000, 17}) {
      r.value = v;
      w.write(r);
    }
    r.value = 1001;
    EXPECT_THROW(w.write(r), UnsupportedRecord);
    w.finish();
  }
  const Bytes expected = header() + Bytes{0xfa, 0x00, 0xfa, 0xd0, 0x0f, 0xfa, 0xf9, 0x07, 0xff};
  EXPECT_EQ(slurp_bytes(p), expected);
  BinReader reader(p);
  EXPECT_EQ(read_all(reader),
            (std::vector<std::string>{"oom_score_adj -1000", "oom_score_adj 1000", "oom_score_adj 17"}));
}

// @cr4_pge VALUE is tag 0xfb and one byte, 0 or 1.
TEST_F(BinTraceTest, Cr4PgeBytesAndRoundTrip) {
  const std::string p = m_dir + "/pge.bin";
  {
    BinWriter w(p);
    TraceRecord r;
    r.kind = RecordKind::Cr4Pge;
    for (int v : {0, 1}) {
      r.value = v;
      w.write(r);
    }
    r.value = 2;
    EXPECT_THROW(w.write(r), UnsupportedRecord);
    w.finish();
  }
  EXPECT_EQ(slurp_bytes(p), header() + Bytes({0xfb, 0x00, 0xfb, 0x01, 0xff}));
  BinReader reader(p);
  EXPECT_EQ(read_all(reader), (std::vector<std::string>{"cr4_pge 0", "cr4_pge 1"}));
}

TEST_F(BinTraceTest, EmptyTraceIsHeaderAndEndTag) {
  std::string p = path("empty.bin");
  BinWriter w(p);
  w.finish();
  EXPECT_EQ(slurp_bytes(p), header() + Bytes{0xff});
  EXPECT_EQ(read_bin(p), std::vector<std::string>{});
}

TEST_F(BinTraceTest, AcceptsOverlongVarintsAndEscapedCommonSizes) {
  // Not what the writer produces, but valid: 0x80 0x00 is 0, an escaped 8.
  std::string p = write("o.bin", header() + Bytes{0x38, 0x08, 0xf0, 0x81, 0x80, 0x00, 0xf4, 0xff, 0xff, 0xff, 0xff,
                                                  0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xff});
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"load 0x0 8", "proc 1", "brk 0xffffffffffffffff"}));
}

TEST_F(BinTraceTest, LocationIsTheByteOffsetOfTheLastRecord) {
  std::string p = write("l.bin", header() + Bytes{0x18, 0x1a, 0x00, 0x10, 0xf6, 0xff});
  BinReader reader(p);
  TraceRecord rec;
  ASSERT_TRUE(reader.next(rec));
  EXPECT_EQ(reader.location(), p + ": byte 16");
  ASSERT_TRUE(reader.next(rec));
  EXPECT_EQ(reader.location(), p + ": byte 17");
  ASSERT_TRUE(reader.next(rec));
  EXPECT_EQ(reader.location(), p + ": byte 20");
  EXPECT_FALSE(reader.next(rec));
  EXPECT_FALSE(reader.next(rec));
  EXPECT_EQ(std::string(reader.format_name()), "bin");
}

// --- errors -------------------------------------------------------------------

TEST_F(BinTraceTest, HeaderErrors) {
  EXPECT_EQ(error_of(Bytes{}),
            path("bad.bin") + ": byte 0: expected the bin trace magic 'MMUSIMTR', got an empty file");
  EXPECT_EQ(error_of(Bytes{'R', ' ', '0', 'x', '1', '0', '\n', 0x01}),
            path("bad.bin") + ": byte 0: expected the bin trace magic 'MMUSIMTR', got 'R 0x10\\x0a\\x01'");
  EXPECT_EQ(error_of(Bytes{'M', 'M', 'U'}),
            path("bad.bin") + ": byte 0: expected the bin trace magic 'MMUSIMTR', got 'MMU'");
  EXPECT_EQ(error_of(Bytes{'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R', 1, 0}),
            path("bad.bin") + ": byte 10: expected the rest of the 16-byte bin header, got end of file");
  Bytes v2 = header();
  v2[8] = 2;
  EXPECT_EQ(error_of(v2 + Bytes{0xff}), path("bad.bin") + ": byte 8: expected bin format version 1, got 2");
  Bytes v256 = header();
  v256[9] = 1;
  EXPECT_EQ(error_of(v256 + Bytes{0xff}), path("bad.bin") + ": byte 8: expected bin format version 1, got 257");
  Bytes flags = header();
  flags[10] = 4;
  EXPECT_EQ(error_of(flags + Bytes{0xff}),
            path("bad.bin") + ": byte 10: expected flags 0x0000 (version 1 defines none), got 0x0004");
  Bytes reserved = header();
  reserved[13] = 1;
  EXPECT_EQ(error_of(reserved + Bytes{0xff}),
            path("bad.bin") + ": byte 12: expected reserved bytes 0, got '\\x00\\x01\\x00\\x00'");
}

TEST_F(BinTraceTest, RecordErrorsNameTheByteOffset) {
  const std::string f = path("bad.bin") + ": ";
  struct Case {
    Bytes records;
    std::string message;
  } cases[] = {
      {{0x18, 0x18, 0x18, 0xfc},
       "byte 19: expected a record tag (0x00-0xef access, 0xf0-0xfb event, 0xff end), got 0xfc"},
      {{0xfb, 0x02}, "byte 17: expected a CR4.PGE value of 0 or 1, got 0x02"},
      {{0xfe}, "byte 16: expected a record tag (0x00-0xef access, 0xf0-0xfb event, 0xff end), got 0xfe"},
      {{0xf9, 0x04, 0x01}, "byte 17: expected an INVPCID type of 0 to 3, got 0x04"},
      {{0xf9, 0x01, 0x80, 0x20}, "byte 18: expected a PCID of at most 4095, got 4096"},
      {{0xf9, 0x00, 0x01}, "byte 16: expected a complete @invpcid record, got end of file"},
      {{0xfa, 0xd1, 0x0f}, "byte 17: expected an oom_score_adj + 1000 of at most 2000, got 2001"},
      {{0x18, 0x1a, 0x00}, "byte 17: expected a complete load record, got end of file"},
      {{0xe7, 1, 2, 3, 4, 5, 6, 7}, "byte 16: expected a complete modify record, got end of file"},
      {{0xc3, 0x0f, 0x00}, "byte 16: expected a complete ifetch record, got end of file"},
      {{0x38, 0x80}, "byte 16: expected a complete load record, got end of file"},
      {{0xf1, 0x0d, 0x80}, "byte 16: expected a complete @mmap record, got end of file"},
      {{0xf0}, "byte 16: expected a complete @proc record, got end of file"},
      {{0xf8, 0x05, 'a', 'b'}, "byte 16: expected a complete @mark record, got end of file"},
      {{}, "byte 16: expected a record or the end tag 0xff, got end of file (the trace was cut short)"},
      {{0x18, 0xf6}, "byte 18: expected a record or the end tag 0xff, got end of file (the trace was cut short)"},
      {{0xff, 0x18}, "byte 17: expected end of file after the end tag, got 0x18"},
      {{0x38, 0x00}, "byte 17: expected an access size of 1 to 4096 bytes, got 0"},
      {{0x18, 0x38, 0x81, 0x20}, "byte 18: expected an access size of 1 to 4096 bytes, got 4097"},
      {{0xf4, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
       "byte 17: expected a varint of at most 10 bytes, got a longer one"},
      {{0xf4, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02},
       "byte 17: expected a varint of at most 64 bits, got a larger value"},
      {{0xf0, 0x80, 0x80, 0x80, 0x80, 0x10}, "byte 17: expected a process id of at most 4294967295, got 4294967296"},
      {{0xf5, 0xff, 0xff, 0xff, 0xff, 0x1f}, "byte 17: expected a process id of at most 4294967295, got 8589934591"},
      {{0xf1, 0x40, 0x00, 0x01},
       "byte 17: expected @mmap flags of at most 0x3f (prot 0x07, file 0x08, huge 0x10, hugetlb 0x20), got 0x40"},
      {{0xf1, 0x2b, 0x00, 0x01},
       "byte 17: expected @mmap flags without both file 0x08 and hugetlb 0x20 (hugetlbfs files are out of scope), "
       "got 0x2b"},
      {{0xf3, 0x08, 0x00, 0x01}, "byte 17: expected a protection of at most 0x07, got 0x08"},
      {{0xf2, 0x00, 0x00}, "byte 18: expected a length greater than 0, got 0"},
      {{0xf2, 0x80, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x80, 0x40},
       "byte 27: expected a length that keeps the range inside the 64-bit address space, got 0x2000"},
      {{0xf8, 0x00}, "byte 17: expected a mark name of 1 to 65530 bytes, got 0"},
      {{0xf8, 0xfb, 0xff, 0x03}, "byte 17: expected a mark name of 1 to 65530 bytes, got 65531"},
      {{0xf8, 0x03, 'a', ' ', 'b'}, "byte 19: expected a mark name of letters, digits, '_', '.' or '-', got ' '"},
  };
  for (const Case& c : cases) EXPECT_EQ(error_of(header() + c.records), f + c.message);
}

TEST_F(BinTraceTest, RangeReachingTheTopOfTheAddressSpaceIsValid) {
  std::string p = write(
      "top.bin", header() + Bytes{0xf2, 0x80, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x80, 0x20, 0xff});
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"munmap 0xfffffffffffff000 0x1000"}));
}

TEST_F(BinTraceTest, OffsetsCountAcrossBufferRefills) {
  // 3 MiB of one-byte records, then a bad tag: the offset must count them all.
  const std::size_t n = 3u << 20;
  Bytes b = header();
  b.resize(b.size() + n, 0x18);
  std::string p = write("big.bin", b + Bytes{0xfc});
  EXPECT_EQ(error_of(p), p + ": byte " + std::to_string(16 + n) +
                             ": expected a record tag (0x00-0xef access, 0xf0-0xfb event, 0xff end), got 0xfc");
  std::string q = write("big_cut.bin", b + Bytes{0xe7, 1, 2});
  EXPECT_EQ(error_of(q),
            q + ": byte " + std::to_string(16 + n) + ": expected a complete modify record, got end of file");
}

TEST_F(BinTraceTest, LongMarkNamesAcrossTheBufferEnd) {
  // Records of every length up to the longest mark name, placed so that some
  // straddle the reader's 1 MiB buffer end.
  std::vector<TraceRecord> records;
  std::vector<std::string> expected;
  std::uint64_t addr = 0x1000;
  for (int i = 0; i < 40; ++i) {
    for (int j = 0; j < 7000; ++j) {
      records.push_back(access(AccessKind::Load, addr, 8));
      expected.push_back(describe(records.back()));
      addr += 0x1234567;  // 4-byte deltas
    }
    TraceRecord m = event(RecordKind::Mark);
    m.name =
        std::string(i == 0 ? bin::kMaxMarkBytes : 1000u * static_cast<unsigned>(i), static_cast<char>('a' + i % 26));
    records.push_back(m);
    expected.push_back(describe(m));
  }
  std::string p = path("marks.bin");
  BinWriter w(p);
  write_records(w, records);
  EXPECT_GT(fs::file_size(p), 2u * BinReader::kBufferBytes);
  EXPECT_EQ(read_bin(p), expected);
}

TEST_F(BinTraceTest, CompressedBinFilesDecodeIdentically) {
  std::string plain = path("h.bin");
  {
    BinWriter w(plain);
    write_records(w, hand_records());
  }
  const std::vector<std::string> expected = read_bin(plain);
  ASSERT_EQ(expected.size(), kAccessRecords.size() + kEventRecords.size());
  struct {
    const char* tool;
    const char* ext;
  } codecs[] = {{"gzip", ".gz"}, {"xz -0", ".xz"}, {"zstd -q", ".zst"}};
  for (const auto& c : codecs) {
    std::string z = plain + c.ext;
    run(std::string(c.tool) + " -c '" + plain + "' > '" + z + "'");
    EXPECT_EQ(read_bin(z), expected) << c.ext;
    auto detected = open_trace(z, "auto");
    EXPECT_EQ(std::string(detected->format_name()), "bin") << c.ext;
    EXPECT_EQ(read_all(*detected), expected) << c.ext;
  }
}

TEST_F(BinTraceTest, WritersCompressByExtension) {
  std::string plain = path("h.bin");
  {
    BinWriter w(plain);
    write_records(w, hand_records());
  }
  struct {
    const char* ext;
    const char* decompress;
    const char* compression;
  } codecs[] = {{".gz", "gzip -dc", "gzip"}, {".xz", "xz -dc", "xz"}, {".zst", "zstd -qdc", "zstd"}};
  for (const auto& c : codecs) {
    std::string z = plain + c.ext;
    {
      BinWriter w(z);
      write_records(w, hand_records());
    }
    ByteSource probe(z);
    char byte;
    ASSERT_EQ(probe.read(&byte, 1), 1u);
    EXPECT_EQ(std::string(probe.compression()), c.compression);
    run(std::string(c.decompress) + " '" + z + "' > '" + z + ".out'");
    EXPECT_EQ(slurp(z + ".out"), slurp(plain)) << c.ext;
    EXPECT_EQ(read_bin(z), read_bin(plain)) << c.ext;
  }
}

// --- writers ------------------------------------------------------------------

TEST_F(BinTraceTest, TextWriterCanonicalForm) {
  std::string p = path("c.txt");
  TextWriter w(p);
  write_records(w, hand_records());
  EXPECT_EQ(slurp(p),
            "R 0x1000 8\n"
            "R 0x1008 8\n"
            "X 0x400000 15\n"
            "X 0x40000f 3\n"
            "W 0xfff 1\n"
            "W 0xff0 4\n"
            "M 0xffffffffffffffff 8\n"
            "M 0x8000000000000007 8\n"
            "R 0x1010 4096\n"
            "R 0x10000002010 8\n"
            "R 0x10100002018 2\n"
            "R 0x10100002000 64\n"
            "@proc 300\n"
            "@mmap 0x400000 0x1000 r-x file\n"
            "@mmap 0x7f0000000000 0x200000 rw- anon huge\n"
            "@munmap 0x400000 0x2000\n"
            "@mprotect 0x400000 0x1000 r--\n"
            "@brk 0x602000\n"
            "@fork 43\n"
            "@exit\n"
            "@invlpg 0xdead000\n"
            "@mark end\n"
            "@invpcid 0 1 0x1000\n"
            "@invpcid 3 4095\n");
}

TEST_F(BinTraceTest, LackeyWriterValgrindForm) {
  std::string p = path("c.lackey");
  LackeyWriter w(p);
  write_records(w, {access(AccessKind::IFetch, 0x401004, 4), access(AccessKind::Load, 0x1ffefffd28, 8),
                    access(AccessKind::Store, 0x0, 1), access(AccessKind::Modify, 0xffffffffffffffffull, 4096)});
  EXPECT_EQ(slurp(p),
            "I  00401004,4\n"
            " L 1ffefffd28,8\n"
            " S 00000000,1\n"
            " M ffffffffffffffff,4096\n");
}

TEST_F(BinTraceTest, LackeyWriterRejectsEveryEvent) {
  for (const TraceRecord& r : hand_records()) {
    if (r.kind == RecordKind::Access) continue;
    LackeyWriter w(path("e.lackey"));
    try {
      w.write(r);
      FAIL() << "lackey accepted " << describe(r);
    } catch (const UnsupportedRecord& e) {
      EXPECT_EQ(std::string(e.what()), std::string("lackey cannot express @") + record_kind_name(r.kind));
    }
  }
  EXPECT_FALSE(fs::exists(path("e.lackey")));
  EXPECT_FALSE(fs::exists(path("e.lackey.tmp")));
}

TEST_F(BinTraceTest, WritersRejectRecordsTheirReadersWould) {
  BinWriter w(path("r.bin"));
  TraceRecord big = access(AccessKind::Load, 0, 4097);
  try {
    w.write(big);
    FAIL();
  } catch (const UnsupportedRecord& e) {
    EXPECT_EQ(std::string(e.what()), "bin cannot express an access of 4097 bytes (1 to 4096 allowed)");
  }
  TraceRecord mark = event(RecordKind::Mark);
  mark.name = "two words";
  TextWriter t(path("r.txt"));
  try {
    t.write(mark);
    FAIL();
  } catch (const UnsupportedRecord& e) {
    EXPECT_EQ(std::string(e.what()),
              "text cannot express @mark with a name of other characters than letters, digits, '_', '.' and '-'");
  }
  TraceRecord zero = event(RecordKind::Munmap, 0x1000, 0);
  try {
    w.write(zero);
    FAIL();
  } catch (const UnsupportedRecord& e) {
    EXPECT_EQ(std::string(e.what()), "bin cannot express @munmap with a length of 0");
  }
}

TEST_F(BinTraceTest, OutputAppearsOnlyOnFinish) {
  std::string p = path("atomic.bin");
  {
    BinWriter w(p);
    w.write(access(AccessKind::Load, 0x1000, 8));
    EXPECT_FALSE(fs::exists(p));
    EXPECT_TRUE(fs::exists(p + ".tmp"));
    w.finish();
    EXPECT_TRUE(fs::exists(p));
    EXPECT_FALSE(fs::exists(p + ".tmp"));
  }
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"load 0x1000 8"}));
  {
    BinWriter w(p);  // abandoned: the finished file stays as it was
    w.write(access(AccessKind::Load, 0x2000, 8));
  }
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"load 0x1000 8"}));
}

TEST_F(BinTraceTest, OutputErrors) {
  try {
    BinWriter w(path("no/such/dir/x.bin"));
    FAIL();
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()), path("no/such/dir/x.bin") + ": cannot create " + path("no/such/dir/x.bin") +
                                         ".tmp: No such file or directory");
  }
  try {
    TextWriter w(m_dir);
    FAIL();
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()), m_dir + ": is a directory");
  }
  try {
    open_trace_writer(path("x"), "champsim");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "unknown output format 'champsim' (valid: text, bin, lackey)");
  }
}

TEST_F(BinTraceTest, FormatFromFileName) {
  EXPECT_EQ(trace_format_for_name("a.bin"), "bin");
  EXPECT_EQ(trace_format_for_name("dir.x/a.bin.zst"), "bin");
  EXPECT_EQ(trace_format_for_name("a.bin.gz"), "bin");
  EXPECT_EQ(trace_format_for_name("a.txt"), "text");
  EXPECT_EQ(trace_format_for_name("a.txt.zst"), "text");
  EXPECT_EQ(trace_format_for_name("a.trace"), "text");
  EXPECT_EQ(trace_format_for_name("a.trace.xz"), "text");
  EXPECT_EQ(trace_format_for_name("a.lackey"), "lackey");
  EXPECT_EQ(trace_format_for_name("a.lackey.zst"), "lackey");
  EXPECT_EQ(trace_format_for_name("a.zst"), "");
  EXPECT_EQ(trace_format_for_name("a.bin.zst.zst"), "");
  EXPECT_EQ(trace_format_for_name("bin"), "");
  EXPECT_EQ(trace_format_for_name("a.BIN"), "");
  EXPECT_EQ(trace_format_for_name("-"), "");
}

TEST_F(BinTraceTest, FactoryKnowsBin) {
  const auto& names = trace_format_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "bin"), names.end());
  std::string p = write("f.bin", header() + kAccessBytes + Bytes{0xff});
  EXPECT_EQ(detect_trace_format(p), "bin");
  EXPECT_EQ(std::string(open_trace(p, "bin")->format_name()), "bin");
  auto reader = open_trace(p, "auto");
  EXPECT_EQ(read_all(*reader), kAccessRecords);
  // Through a pipe on standard input too: detection peeks without losing
  // bytes, and errors name <stdin>.
  const Bytes data = header() + kAccessBytes + Bytes{0xff, 0x00};  // far below the pipe capacity
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  std::vector<std::string> got;
  std::string error;
  try {
    auto piped = open_trace("-", "auto");
    TraceRecord rec;
    while (piped->next(rec)) got.push_back(describe(rec));
  } catch (const TraceError& e) {
    error = e.what();
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(got, kAccessRecords);
  EXPECT_EQ(error, "<stdin>: byte " + std::to_string(16 + kAccessBytes.size() + 1) +
                       ": expected end of file after the end tag, got 0x00");
}

// --- round trips -----------------------------------------------------------------

// A canonical text trace with every record kind, every bin size op and escape,
// every address width and deltas of both signs, long enough to cross buffer
// ends in readers and writers.
std::string canonical_text() {
  std::string t;
  char line[96];
  auto add = [&](const char* s) { t += s; };
  add("@proc 1\n@mmap 0x400000 0x2000 r-x file\n@mmap 0x7f0000000000 0x200000 rw- anon huge\n");
  add("@mmap 0x1000 0x1000 --- anon\n@mmap 0x2000 0x1000 -wx file huge\n@munmap 0x400000 0x2000\n");
  add("@mmap 0x40000000 0x40000000 rw- anon hugetlb\n@mmap 0x80000000 0x1000 r-- anon huge hugetlb\n");
  add("@mprotect 0x400000 0x1000 r--\n@mprotect 0xfffffffffffff000 0x1000 rwx\n@brk 0x602000\n@fork 4294967295\n");
  add("@proc 4294967295\n@invlpg 0xdead000\n@invlpg 0x0\n@mark phase_1.b-2\n@exit\n@proc 0\n");
  const char kLetters[] = "RWXM";
  const unsigned kSizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 32, 63, 64, 65, 127, 128, 4095, 4096};
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  std::uint64_t addr[4] = {0x400000, 0x7ffd0000, 0x401000, 0x602000};
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const unsigned k = x & 3;
    const unsigned size = kSizes[(x >> 2) % 20];
    // Mostly sequential or small steps, sometimes far jumps of any width.
    const unsigned choice = (x >> 8) & 15;
    if (choice < 6) {
      addr[k] += 0;
    } else if (choice < 10) {
      addr[k] += static_cast<std::uint64_t>(static_cast<std::int64_t>((x >> 16) & 0xff) - 128);
    } else if (choice < 14) {
      const unsigned bits = 8 + static_cast<unsigned>((x >> 24) % 56);
      const std::uint64_t step = (x >> 32) & ((std::uint64_t{1} << (bits > 32 ? 32 : bits)) - 1);
      addr[k] += (x & (1u << 5)) ? step << (bits > 32 ? bits - 32 : 0) : -(step << (bits > 32 ? bits - 32 : 0));
    } else {
      addr[k] = x;
    }
    std::snprintf(line, sizeof line, "%c 0x%llx %u\n", kLetters[k], static_cast<unsigned long long>(addr[k]), size);
    t += line;
    addr[k] += size;
    if (i % 50000 == 49999) t += "@mark m" + std::to_string(i) + "\n@proc " + std::to_string(i) + "\n";
  }
  t += "R 0xffffffffffffffff 4096\nW 0x0 1\nX 0x8000000000000000 8\nM 0x7fffffffffffffff 2\n";
  return t;
}

TEST_F(BinTraceTest, TextBinTextIsByteIdenticalAndBinTextBinToo) {
  const std::string text = canonical_text();
  std::string t0 = write_text("t0.txt", text);
  std::string b1 = path("b1.bin");
  std::string t2 = path("t2.txt");
  std::string b3 = path("b3.bin");
  const std::uint64_t n = convert(t0, b1, "bin");
  EXPECT_EQ(n, 200000u + 18 + 8 + 4);
  EXPECT_EQ(convert(b1, t2, "text"), n);
  EXPECT_EQ(slurp(t2), text);
  EXPECT_EQ(convert(t2, b3, "bin"), n);
  EXPECT_EQ(slurp(b3), slurp(b1));
  // Compressed on the way.
  EXPECT_EQ(convert(t0, path("b4.bin.zst"), "bin"), n);
  EXPECT_EQ(convert(path("b4.bin.zst"), path("t5.txt.gz"), "text"), n);
  run("gzip -dc '" + path("t5.txt.gz") + "' > '" + path("t5.txt") + "'");
  EXPECT_EQ(slurp(path("t5.txt")), text);
  // The bin file is much smaller than the text.
  EXPECT_LT(fs::file_size(b1) * 3, text.size());
}

TEST_F(BinTraceTest, LackeyBinLackeyIsByteIdentical) {
  const std::string lackey =
      "I  00401004,4\n L 1ffefffd28,8\n S 1ffefffd20,8\nI  00401008,3\n M 00601040,4\n"
      "I  0040100b,15\n L 00000000,1\n S ffffffffffffffff,32\nI  00400ff0,2\n";
  std::string l0 = write_text("l0.lackey", lackey);
  EXPECT_EQ(convert(l0, path("l1.bin"), "bin"), 9u);
  EXPECT_EQ(convert(path("l1.bin"), path("l2.lackey"), "lackey"), 9u);
  EXPECT_EQ(slurp(path("l2.lackey")), lackey);
}

TEST_F(BinTraceTest, BundledTracesRoundTrip) {
  // The real traces of traces/, capped so that the test stays quick.
  const std::uint64_t kMaxRecords = 2000000;
  int seen = 0;
  const fs::path dir = fs::path(MMUSIM_SOURCE_DIR) / "traces";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string in = entry.path().string();
    if (entry.path().extension() != ".zst") continue;
    ++seen;
    SCOPED_TRACE(in);
    const std::string b1 = path("real1.bin.zst");
    const std::uint64_t n = convert(in, b1, "bin", kMaxRecords);
    // The bin file gives back exactly the records of the original.
    auto original = open_trace(in, "auto");
    BinReader copy(b1);
    TraceRecord a;
    TraceRecord b;
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(original->next(a));
      ASSERT_TRUE(copy.next(b));
      ASSERT_EQ(describe(a), describe(b)) << "record " << i;
    }
    EXPECT_FALSE(copy.next(b));
    // bin -> text -> bin gives the same bytes.
    EXPECT_EQ(convert(b1, path("real2.txt"), "text"), n);
    EXPECT_EQ(convert(path("real2.txt"), path("real3.bin.zst"), "bin"), n);
    run("zstd -qdc '" + b1 + "' > '" + path("real1.bin") + "'");
    run("zstd -qdc '" + path("real3.bin.zst") + "' > '" + path("real3.bin") + "'");
    EXPECT_EQ(slurp(path("real3.bin")), slurp(path("real1.bin")));
  }
  if (seen == 0) GTEST_SKIP() << "no traces/*.zst";
}

}  // namespace
}  // namespace mmusim
