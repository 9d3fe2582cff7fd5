// The bin trace format (sim/trace/bin_format.h): BinReader and the bin
// writer against bytes written out by hand from the format description (not
// taken from the writer), the reader's errors with their byte offsets, and
// compressed bin files.

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
#include "tests/support/bin_trace.h"
#include "tests/support/temp_file.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

namespace fs = std::filesystem;

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

// @mmap 0x1000 0x2000 rw- file=/a off=0x3000 shared: flags shared 0x80 |
// identity 0x40 | file 0x08 | prot 3 = 0xcb; start 0x1000 = 80 20, length
// 0x2000 = 80 40, offset 0x3000 = 80 60, identity length 2, "/a".
TEST_F(BinTraceTest, FileIdentityIsMmapFlagBit6) {
  const Bytes rec = {0xf1, 0xcb, 0x80, 0x20, 0x80, 0x40, 0x80, 0x60, 0x02, '/', 'a'};
  std::string p = write("f.bin", header() + rec + Bytes{0xff});
  EXPECT_EQ(read_bin(p), (std::vector<std::string>{"mmap 0x1000 0x2000 prot=3 file id=/a off=0x3000 shared"}));
  TraceRecord r = event(RecordKind::Mmap, 0x1000, 0x2000, kProtRead | kProtWrite);
  r.file = true;
  r.file_id = "/a";
  r.file_offset = 0x3000;
  r.shared = true;
  std::string q = path("fw.bin");
  BinWriter w(q);
  write_records(w, {r});
  EXPECT_EQ(slurp_bytes(q), header() + rec + Bytes{0xff});
  // Without identity the flags byte and the record are as before bit 6.
  TraceRecord plain = event(RecordKind::Mmap, 0x1000, 0x2000, kProtRead);
  plain.file = true;
  std::string o = path("fo.bin");
  BinWriter wo(o);
  write_records(wo, {plain});
  const Bytes plain_rec = {0xf1, 0x09, 0x80, 0x20, 0x80, 0x40, 0xff};
  EXPECT_EQ(slurp_bytes(o), header() + plain_rec);
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

// @clone TID is tag 0xfc and @thread TID tag 0xfd, each with the id as a
// varint: 300 = 0b10_0101100 -> 0xac (low 7 bits 0x2c | 0x80), 0x02; 5 -> 0x05.
TEST_F(BinTraceTest, CloneAndThreadBytesAndRoundTrip) {
  const std::string p = m_dir + "/threads.bin";
  {
    BinWriter w(p);
    TraceRecord r;
    r.kind = RecordKind::Clone;
    r.pid = 300;
    w.write(r);
    r.kind = RecordKind::Thread;
    r.pid = 5;
    w.write(r);
    w.finish();
  }
  EXPECT_EQ(slurp_bytes(p), header() + Bytes({0xfc, 0xac, 0x02, 0xfd, 0x05, 0xff}));
  BinReader reader(p);
  EXPECT_EQ(read_all(reader), (std::vector<std::string>{"clone 300", "thread 5"}));
  // 2^32 (varint 80 80 80 80 10) does not fit a 32-bit id: the error is at the varint, byte 17.
  const std::string q = write("tid_too_big.bin", header() + Bytes{0xfd, 0x80, 0x80, 0x80, 0x80, 0x10, 0xff});
  EXPECT_NE(error_of(q).find("byte 17:"), std::string::npos) << error_of(q);
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
      {{0x18, 0x18, 0x18, 0xfe},
       "byte 19: expected a record tag (0x00-0xef access, 0xf0-0xfd event, 0xff end), got 0xfe"},
      {{0xfb, 0x02}, "byte 17: expected a CR4.PGE value of 0 or 1, got 0x02"},
      {{0xfe}, "byte 16: expected a record tag (0x00-0xef access, 0xf0-0xfd event, 0xff end), got 0xfe"},
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
       "byte 17: expected @mmap flags with file 0x08 when file identity 0x40 is set, got 0x40"},
      {{0xf1, 0x8b, 0x00, 0x01},
       "byte 17: expected @mmap flags with file identity 0x40 when shared 0x80 is set, got 0x8b"},
      // A file identity: offset, length, bytes.
      {{0xf1, 0x4b, 0x00, 0x01, 0x80, 0x01, 0x01, 'a'},
       "byte 20: expected a file offset that is a multiple of 4096, got 0x80"},
      {{0xf1, 0x4b, 0x00, 0x80, 0x40, 0x80, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 'a'},
       "byte 21: expected a file offset that keeps offset + length - 1 inside 64 bits, got 0xfffffffffffff000"},
      {{0xf1, 0x4b, 0x00, 0x01, 0x00, 0x00}, "byte 21: expected a file identity of 1 to 4096 bytes, got 0"},
      {{0xf1, 0x4b, 0x00, 0x01, 0x00, 0x81, 0x20}, "byte 21: expected a file identity of 1 to 4096 bytes, got 4097"},
      {{0xf1, 0x4b, 0x00, 0x01, 0x00, 0x03, 'a', '#', 'b'},
       "byte 23: expected a file identity of printable bytes other than blank and '#', got '#'"},
      {{0xf1, 0x4b, 0x00, 0x01, 0x00, 0x03, 'a'}, "byte 16: expected a complete @mmap record, got end of file"},
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
  std::string p = write("big.bin", b + Bytes{0xfe});
  EXPECT_EQ(error_of(p), p + ": byte " + std::to_string(16 + n) +
                             ": expected a record tag (0x00-0xef access, 0xf0-0xfd event, 0xff end), got 0xfe");
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

}  // namespace
}  // namespace mmusim
