// Text and lackey trace readers, the byte source under them (plain, gzip,
// xz, zstd) and the open_trace() factory. Every expected value is spelled out.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/trace/byte_source.h"
#include "sim/trace/lackey_reader.h"
#include "sim/trace/line_reader.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/text_reader.h"
#include "sim/trace/trace_reader.h"

namespace mmusim {
namespace {

// One record as a line of text, so expected sequences read like the trace.
std::string describe(const TraceRecord& r) {
  char buf[160];
  switch (r.kind) {
    case RecordKind::Access:
      std::snprintf(buf, sizeof buf, "%s 0x%llx %u", access_kind_name(r.access),
                    static_cast<unsigned long long>(r.addr), r.size);
      return buf;
    case RecordKind::Proc:
    case RecordKind::Fork:
      return std::string(record_kind_name(r.kind)) + " " + std::to_string(r.pid);
    case RecordKind::Mmap:
      std::snprintf(buf, sizeof buf, "mmap 0x%llx 0x%llx prot=%u%s%s%s", static_cast<unsigned long long>(r.addr),
                    static_cast<unsigned long long>(r.len), r.prot, r.file ? " file" : " anon",
                    r.huge ? " huge" : "", r.hugetlb ? " hugetlb" : "");
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
      std::snprintf(buf, sizeof buf, "invpcid %u %u 0x%llx", r.invpcid_type, r.pcid, static_cast<unsigned long long>(r.addr));
      return buf;
    case RecordKind::Exit: return "exit";
    case RecordKind::Mark: return "mark " + r.name;
    case RecordKind::OomScoreAdj: return "oom_score_adj " + std::to_string(r.value);
    case RecordKind::Cr4Pge: return "cr4_pge " + std::to_string(r.value);
  }
  return "?";
}

std::vector<std::string> read_all(TraceReader& reader) {
  std::vector<std::string> out;
  TraceRecord rec;
  while (reader.next(rec)) out.push_back(describe(rec));
  return out;
}

class TraceReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "trace_reader_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = m_dir + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  // Runs a shell command on paths inside the temp dir; fails the test if the
  // tool is missing or fails.
  void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }
  std::string compress(const std::string& tool, const std::string& plain, const std::string& ext) {
    std::string out = plain + ext;
    run(tool + " -c '" + plain + "' > '" + out + "'");
    return out;
  }

  std::vector<std::string> read_text(const std::string& path) {
    TextReader reader(path);
    return read_all(reader);
  }
  std::vector<std::string> read_lackey(const std::string& path) {
    LackeyReader reader(path);
    return read_all(reader);
  }
  // The TraceError message from reading path to the end with format.
  std::string error_of(const std::string& path, const std::string& format) {
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

  std::string m_dir;
};

// --- text format -----------------------------------------------------------

TEST_F(TraceReaderTest, TextAccessKindsSizesAndDefault) {
  std::string p = write("a.txt",
                        "R 0x1000\n"
                        "W 0x2000 4\n"
                        "X 0x3000 0x10\n"
                        "M 0xffffffffffffffff 1\n"
                        "R 0X00000000000000000abc 4096\n"
                        "W\t0xDeadBeef\t\t2\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{
                              "load 0x1000 8",
                              "store 0x2000 4",
                              "ifetch 0x3000 16",
                              "modify 0xffffffffffffffff 1",
                              "load 0xabc 4096",
                              "store 0xdeadbeef 2",
                          }));
}

TEST_F(TraceReaderTest, TextOomScoreAdj) {
  std::string p = write("o.txt", "@oom_score_adj -1000\n@oom_score_adj 0\n@oom_score_adj 1000\n@oom_score_adj 42 # c\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{"oom_score_adj -1000", "oom_score_adj 0", "oom_score_adj 1000",
                                                    "oom_score_adj 42"}));
}

TEST_F(TraceReaderTest, TextCr4Pge) {
  std::string p = write("g.txt", "@cr4_pge 0\n@cr4_pge 1 # on again\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{"cr4_pge 0", "cr4_pge 1"}));
  for (const char* bad : {"@cr4_pge 2\n", "@cr4_pge\n", "@cr4_pge -1\n", "@cr4_pge 01\n"}) {
    std::string q = write("gbad.txt", bad);
    EXPECT_THROW(read_text(q), TraceError) << bad;
  }
}

TEST_F(TraceReaderTest, TextCommentsAndBlankLines) {
  std::string p = write("c.txt",
                        "# a whole-line comment\n"
                        "\n"
                        "   \t \n"
                        "  R 0x10 2   # trailing comment\n"
                        "#R 0x20\n"
                        "\t@exit\t# bye\n"
                        "W 0x30#no blank before the comment\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{"load 0x10 2", "exit", "store 0x30 8"}));
}

TEST_F(TraceReaderTest, TextEveryEvent) {
  std::string p = write("e.txt",
                        "@proc 42\n"
                        "@mmap 0x400000 0x2000 r-x file\n"
                        "@mmap 0x7f0000000000 2097152 rw anon huge\n"
                        "@mmap 0x1000 4096 none\n"
                        "@mmap 0x2000 4096 --- huge file\n"
                        "@mmap 0x3000 4096 rwx\n"
                        "@mmap 0x40000000 0x1000 rw hugetlb\n"
                        "@mmap 0x80000000 0x40000000 r-- hugetlb huge anon\n"
                        "@mmap 0xfffffffffffff000 0x1000 r--\n"
                        "@munmap 0x400000 8192\n"
                        "@mprotect 0x400000 0x1000 -w-\n"
                        "@mprotect 0x1000 4096 r\n"
                        "@mprotect 0x1000 4096 rx\n"
                        "@mprotect 0x1000 4096 --x\n"
                        "@brk 0x602000\n"
                        "@fork 43\n"
                        "@proc 4294967295\n"
                        "@exit\n"
                        "@invlpg 0xdead000\n"
                        "@mark phase_1.b-2\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{
                              "proc 42",
                              "mmap 0x400000 0x2000 prot=5 file",
                              "mmap 0x7f0000000000 0x200000 prot=3 anon huge",
                              "mmap 0x1000 0x1000 prot=0 anon",
                              "mmap 0x2000 0x1000 prot=0 file huge",
                              "mmap 0x3000 0x1000 prot=7 anon",
                              "mmap 0x40000000 0x1000 prot=3 anon hugetlb",
                              "mmap 0x80000000 0x40000000 prot=1 anon huge hugetlb",
                              "mmap 0xfffffffffffff000 0x1000 prot=1 anon",
                              "munmap 0x400000 0x2000",
                              "mprotect 0x400000 0x1000 prot=2",
                              "mprotect 0x1000 0x1000 prot=1",
                              "mprotect 0x1000 0x1000 prot=5",
                              "mprotect 0x1000 0x1000 prot=4",
                              "brk 0x602000",
                              "fork 43",
                              "proc 4294967295",
                              "exit",
                              "invlpg 0xdead000",
                              "mark phase_1.b-2",
                          }));
}

TEST_F(TraceReaderTest, TextCrlfAndNoFinalNewline) {
  std::string p = write("crlf.txt", "R 0x1 1\r\n\r\nW 0x2\r\n@mark end");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{"load 0x1 1", "store 0x2 8", "mark end"}));
  std::string q = write("cr_last.txt", "X 0x5 3\r");
  EXPECT_EQ(read_text(q), (std::vector<std::string>{"ifetch 0x5 3"}));
}

TEST_F(TraceReaderTest, EmptyFileHasNoRecords) {
  std::string p = write("empty.txt", "");
  EXPECT_EQ(read_text(p), std::vector<std::string>{});
  EXPECT_EQ(read_lackey(p), std::vector<std::string>{});
}

TEST_F(TraceReaderTest, TextErrorsNameFileLineAndToken) {
  struct Case {
    const char* bad_line;
    const char* message;  // after "FILE:3: "
  };
  const Case cases[] = {
      {"R zz12", "expected an address in hex with 0x prefix, got 'zz12'"},
      {"R 1234", "expected an address in hex with 0x prefix, got '1234'"},
      {"R 0x", "expected an address in hex with 0x prefix, got '0x'"},
      {"R 0x1g", "expected an address in hex with 0x prefix, got '0x1g'"},
      {"R 0x10000000000000000", "expected an address in hex with 0x prefix, got '0x10000000000000000'"},
      {"R   # nothing after the kind", "expected an address in hex with 0x prefix, got 'R'"},
      {"R 0x10 0", "expected an access size of 1 to 4096 bytes, got '0'"},
      {"R 0x10 4097", "expected an access size of 1 to 4096 bytes, got '4097'"},
      {"R 0x10 8b", "expected an access size of 1 to 4096 bytes, got '8b'"},
      {"R 0x10 -8", "expected an access size of 1 to 4096 bytes, got '-8'"},
      {"R 0x10 99999999999999999999", "expected an access size of 1 to 4096 bytes, got '99999999999999999999'"},
      {"R 0x10 8 extra", "expected end of line, got 'extra'"},
      {"Q 0x10", "expected an access kind R, W, X, M or an @event, got 'Q'"},
      {"r 0x10", "expected an access kind R, W, X, M or an @event, got 'r'"},
      {"RW 0x10", "expected an access kind R, W, X, M or an @event, got 'RW'"},
      {"@foo 1", "expected an event @proc, @mmap, @munmap, @mprotect, @brk, @fork, @exit, @invlpg, @invpcid, @mark, "
                 "@oom_score_adj or @cr4_pge, got '@foo'"},
      {"@ proc", "expected an event @proc, @mmap, @munmap, @mprotect, @brk, @fork, @exit, @invlpg, @invpcid, @mark, "
                 "@oom_score_adj or @cr4_pge, "
                 "got '@'"},
      {"@invpcid 4 1", "expected an INVPCID type 0, 1, 2 or 3, got '4'"},
      {"@invpcid 1 4096", "expected a decimal PCID of 0 to 4095, got '4096'"},
      {"@invpcid 1 2 0x1000", "expected end of line, got '0x1000'"},
      {"@invpcid 0 1 zz", "expected an address in hex with 0x prefix, got 'zz'"},
      {"@proc", "expected a decimal process id, got '@proc'"},
      {"@proc -1", "expected a decimal process id, got '-1'"},
      {"@proc 0x10", "expected a decimal process id, got '0x10'"},
      {"@proc 4294967296", "expected a decimal process id, got '4294967296'"},
      {"@proc 1 2", "expected end of line, got '2'"},
      {"@fork x", "expected a decimal process id, got 'x'"},
      {"@oom_score_adj", "expected an oom_score_adj from -1000 to 1000 (decimal), got '@oom_score_adj'"},
      {"@oom_score_adj 1001", "expected an oom_score_adj from -1000 to 1000 (decimal), got '1001'"},
      {"@oom_score_adj -1001", "expected an oom_score_adj from -1000 to 1000 (decimal), got '-1001'"},
      {"@oom_score_adj +5", "expected an oom_score_adj from -1000 to 1000 (decimal), got '+5'"},
      {"@oom_score_adj 5 6", "expected end of line, got '6'"},
      {"@mmap 0x1000", "expected a length greater than 0 (decimal or 0x hex), got '@mmap 0x1000'"},
      {"@mmap 0x1000 0 rw", "expected a length greater than 0 (decimal or 0x hex), got '0'"},
      {"@mmap 0x1000 0x rw", "expected a length greater than 0 (decimal or 0x hex), got '0x'"},
      {"@mmap 4096 4096 rw", "expected an address in hex with 0x prefix, got '4096'"},
      {"@mmap 0x1000 4096", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got '@mmap 0x1000 4096'"},
      {"@mmap 0x1000 4096 rwz", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'rwz'"},
      {"@mmap 0x1000 4096 wr", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'wr'"},
      {"@mmap 0x1000 4096 rr", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'rr'"},
      {"@mmap 0x1000 4096 r-", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'r-'"},
      {"@mmap 0x1000 4096 RW-", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'RW-'"},
      {"@mmap 0x1000 4096 rw anon file", "expected anon, file, huge or hugetlb (each at most once), got 'file'"},
      {"@mmap 0x1000 4096 rw huge huge", "expected anon, file, huge or hugetlb (each at most once), got 'huge'"},
      {"@mmap 0x1000 4096 rw shared", "expected anon, file, huge or hugetlb (each at most once), got 'shared'"},
      {"@mmap 0x40000000 4096 rw hugetlb hugetlb",
       "expected anon, file, huge or hugetlb (each at most once), got 'hugetlb'"},
      {"@mmap 0x40000000 4096 rw hugetlb file",
       "expected anon with hugetlb (hugetlbfs files are out of scope), got 'file'"},
      {"@mmap 0x40000000 4096 rw file huge hugetlb",
       "expected anon with hugetlb (hugetlbfs files are out of scope), got 'file'"},
      {"@mmap 0xfffffffffffff000 0x2000 rw",
       "expected a length that keeps the range inside the 64-bit address space, got '0x2000'"},
      {"@munmap 0x1000", "expected a length greater than 0 (decimal or 0x hex), got '@munmap 0x1000'"},
      {"@munmap 0x1000 4096 rw", "expected end of line, got 'rw'"},
      {"@mprotect 0x1000 4096 rw huge", "expected end of line, got 'huge'"},
      {"@brk 4096", "expected an address in hex with 0x prefix, got '4096'"},
      {"@brk", "expected an address in hex with 0x prefix, got '@brk'"},
      {"@exit now", "expected end of line, got 'now'"},
      {"@invlpg", "expected an address in hex with 0x prefix, got '@invlpg'"},
      {"@mark", "expected a mark name of letters, digits, '_', '.' or '-', got '@mark'"},
      {"@mark a/b", "expected a mark name of letters, digits, '_', '.' or '-', got 'a/b'"},
      {"@mark a b", "expected end of line, got 'b'"},
  };
  for (const Case& c : cases) {
    // Lines 1 and 2 are fine, so the error must be reported on line 3.
    std::string p = write("bad.txt", std::string("# header\nR 0x1\n") + c.bad_line + "\nR 0x2\n");
    EXPECT_EQ(error_of(p, "text"), p + ":3: " + c.message) << c.bad_line;
  }
}

TEST_F(TraceReaderTest, TextErrorQuotesAreShortened) {
  std::string p = write("long.txt", "R 0x" + std::string(100, 'g') + "\n");
  EXPECT_EQ(error_of(p, "text"),
            p + ":1: expected an address in hex with 0x prefix, got '0x" + std::string(98, 'g') + "... (102 bytes)'");
  // A NUL byte does not cut the message short: it is shown as \x00.
  std::string q = write("nul.txt", std::string("R 0x2") + '\0' + "00\n");
  EXPECT_EQ(error_of(q, "text"), q + ":1: expected an address in hex with 0x prefix, got '0x2\\x0000'");
}

TEST_F(TraceReaderTest, LinesUpTo64KiBAreAccepted) {
  std::string ok = "#" + std::string(65535, 'a');  // 65536 bytes
  std::string p = write("ok.txt", "R 0x1\n" + ok + "\r\nW 0x2\n" + ok);
  EXPECT_EQ(read_text(p), (std::vector<std::string>{"load 0x1 8", "store 0x2 8"}));

  std::string q = write("toolong.txt", "R 0x1\n#" + std::string(65536, 'a') + "\nR 0x2\n");
  EXPECT_EQ(error_of(q, "text"), q + ":2: line longer than 65536 bytes");
  std::string r = write("toolong_last.txt", "R 0x1\n#" + std::string(70000, 'a'));
  EXPECT_EQ(error_of(r, "text"), r + ":2: line longer than 65536 bytes");
}

TEST_F(TraceReaderTest, MissingFile) {
  std::string p = m_dir + "/nope.txt";
  try {
    TextReader reader(p);
    FAIL() << "opened a missing file";
  } catch (const TraceError& e) {
    EXPECT_EQ(std::string(e.what()), p + ": cannot open: No such file or directory");
  }
}

// The fast path of each reader takes well-formed lines straight from the
// buffer; these near misses must fall back to the general parser and come out
// the same as their plain spellings.
TEST_F(TraceReaderTest, TextNearMissesOfTheFastPath) {
  std::string p = write("near.txt",
                        "R 0x10 \n"
                        "W 0x20 0010\n"
                        "X 0x30 00008\n"
                        "M 0X40\t2\n"
                        "R 0x50 0x8\n"
                        "R  0x60 4\n"
                        "R 0x70 4 # c\n"
                        "R 0xAbCdEf 4096\n"
                        "R 0x0000000000000000080 1\n");
  EXPECT_EQ(read_text(p), (std::vector<std::string>{
                              "load 0x10 8",
                              "store 0x20 10",
                              "ifetch 0x30 8",
                              "modify 0x40 2",
                              "load 0x50 8",
                              "load 0x60 4",
                              "load 0x70 4",
                              "load 0xabcdef 4096",
                              "load 0x80 1",
                          }));
}

TEST_F(TraceReaderTest, ScanHexCountsDigitsAndSpellsTheValue) {
  struct Case {
    const char* text;
    unsigned digits;
    std::uint64_t value;
  };
  const Case cases[] = {
      {",", 0, 0},
      {"0,", 1, 0x0},
      {"7\n", 1, 0x7},
      {"deadBEEF,8", 8, 0xdeadbeef},
      {"1ffefffd28,8", 10, 0x1ffefffd28},
      {"ffffffffffffffff,", 16, 0xffffffffffffffff},
      {"0123456789abcdefA", 16, 0x0123456789abcdef},
      {"12g4", 2, 0x12},
      {"9:", 1, 0x9},
      {"a`", 1, 0xa},
      {"F@", 1, 0xf},
      {"fG", 1, 0xf},
      {"/1", 0, 0},
      {"1\x80" "2", 1, 0x1},
      {"abc\xe1" "1", 3, 0xabc},
      {"0000000000000001", 16, 0x1},
      {"123456789", 9, 0x123456789},
  };
  for (const Case& c : cases) {
    std::string buf = std::string(c.text) + std::string(16, '\0');
    std::uint64_t value = 12345;
    EXPECT_EQ(LineReader::scan_hex(buf.data(), value), c.digits) << c.text;
    EXPECT_EQ(value, c.value) << c.text;
  }
}

// --- lackey format -----------------------------------------------------------

const char kLackeySample[] =
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

const std::vector<std::string> kLackeySampleRecords = {
    "ifetch 0x4001f0 3",         "load 0x1ffefffd28 8", "store 0x1ffefffd20 8", "modify 0x401a4c 4",
    "ifetch 0xffffffffffffffff 15", "load 0x0 4096",       "store 0xdeadbeef 1",
};

TEST_F(TraceReaderTest, LackeyRecordsAndValgrindLines) {
  std::string p = write("l.lackey", kLackeySample);
  EXPECT_EQ(read_lackey(p), kLackeySampleRecords);
}

TEST_F(TraceReaderTest, LackeyCrlfAndNoFinalNewline) {
  std::string p = write("l_crlf.lackey", "==1== hi\r\nI  0400,2\r\n L 0500,8");
  EXPECT_EQ(read_lackey(p), (std::vector<std::string>{"ifetch 0x400 2", "load 0x500 8"}));
}

TEST_F(TraceReaderTest, LackeyErrors) {
  struct Case {
    const char* bad_line;
    const char* message;  // after "FILE:2: "
  };
  const Case cases[] = {
      {"X  0400,3", "expected a lackey record (I/L/S/M addr,size), got 'X  0400,3'"},
      {"I 0400,3", "expected a lackey record (I/L/S/M addr,size), got 'I 0400,3'"},
      {" I 0400,3", "expected a lackey record (I/L/S/M addr,size), got ' I 0400,3'"},
      {"L 0400,8", "expected a lackey record (I/L/S/M addr,size), got 'L 0400,8'"},
      {" L  0400,8", "expected a lackey record (I/L/S/M addr,size), got ' L  0400,8'"},
      {" L 0400", "expected a lackey record (I/L/S/M addr,size), got ' L 0400'"},
      {" L 0400,", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,'"},
      {" L ,8", "expected a lackey record (I/L/S/M addr,size), got ' L ,8'"},
      {" L 0x400,8", "expected a lackey record (I/L/S/M addr,size), got ' L 0x400,8'"},
      {" L 0400,8 ", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,8 '"},
      {" L 0400,8x", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,8x'"},
      {"= not valgrind", "expected a lackey record (I/L/S/M addr,size), got '= not valgrind'"},
      {"R 0x400 8", "expected a lackey record (I/L/S/M addr,size), got 'R 0x400 8'"},
      {" L 0400,0", "expected an access size of 1 to 4096 bytes, got '0'"},
      {" S 0400,4097", "expected an access size of 1 to 4096 bytes, got '4097'"},
      {" S 0400,99999999999", "expected an access size of 1 to 4096 bytes, got '99999999999'"},
      {" M 10000000000000000,4", "expected an address of at most 64 bits, got '10000000000000000'"},
  };
  for (const Case& c : cases) {
    std::string p = write("bad.lackey", std::string("I  0400,3\n") + c.bad_line + "\n L 0500,8\n");
    EXPECT_EQ(error_of(p, "lackey"), p + ":2: " + c.message) << c.bad_line;
  }
}

TEST_F(TraceReaderTest, LackeyBlankLinesWithSpacesAreSkipped) {
  std::string p = write("blank.lackey", "  \n\t\nI  0400,3\n");
  EXPECT_EQ(read_lackey(p), (std::vector<std::string>{"ifetch 0x400 3"}));
}

TEST_F(TraceReaderTest, LackeyNearMissesOfTheFastPath) {
  std::string p = write("near.lackey",
                        " L 0400,0008\n"
                        " S 0400,00016\n"
                        "I  1,4096\n"
                        " M 00000000000000000001,2\n");
  EXPECT_EQ(read_lackey(p),
            (std::vector<std::string>{"load 0x400 8", "store 0x400 16", "ifetch 0x1 4096", "modify 0x1 2"}));
}

// --- compression -------------------------------------------------------------

const char kTextSample[] =
    "# sample\n"
    "@proc 7\n"
    "@mmap 0x400000 0x1000 r-x file\n"
    "X 0x400010 4\n"
    "R 0x7ffd0000\n"
    "@mark done\n";
const std::vector<std::string> kTextSampleRecords = {
    "proc 7", "mmap 0x400000 0x1000 prot=5 file", "ifetch 0x400010 4", "load 0x7ffd0000 8", "mark done",
};

TEST_F(TraceReaderTest, CompressedFilesDecodeToTheSameRecords) {
  std::string text = write("s.txt", kTextSample);
  std::string lackey = write("s.lackey", kLackeySample);
  const struct {
    const char* tool;
    const char* ext;
    const char* name;
  } codecs[] = {{"gzip", ".gz", "gzip"}, {"xz", ".xz", "xz"}, {"zstd -q", ".zst", "zstd"}};
  for (const auto& c : codecs) {
    std::string t = compress(c.tool, text, c.ext);
    std::string l = compress(c.tool, lackey, c.ext);
    EXPECT_EQ(ByteSource(t).compression(), std::string(c.name));
    EXPECT_EQ(read_text(t), kTextSampleRecords) << c.name;
    EXPECT_EQ(read_lackey(l), kLackeySampleRecords) << c.name;
    EXPECT_EQ(open_trace(t, "auto")->format_name(), std::string("text")) << c.name;
    EXPECT_EQ(open_trace(l, "auto")->format_name(), std::string("lackey")) << c.name;
  }
  EXPECT_EQ(ByteSource(text).compression(), std::string("none"));
}

TEST_F(TraceReaderTest, ConcatenatedMembersAndFramesAreAllRead) {
  std::string a = write("a.txt", "R 0x1\n");
  std::string b = write("b.txt", "W 0x2\n");
  const struct {
    const char* tool;
    const char* ext;
  } codecs[] = {{"gzip", ".gz"}, {"xz", ".xz"}, {"zstd -q", ".zst"}};
  for (const auto& c : codecs) {
    std::string out = m_dir + "/ab" + c.ext;
    run(std::string(c.tool) + " -c '" + a + "' > '" + out + "'");
    run(std::string(c.tool) + " -c '" + b + "' >> '" + out + "'");
    EXPECT_EQ(read_text(out), (std::vector<std::string>{"load 0x1 8", "store 0x2 8"})) << c.ext;
  }
}

// Deterministic pseudo-random text that compresses to several chunks, so
// decoders are exercised across input and output buffer boundaries.
std::string make_bulk_text(int lines) {
  std::string s;
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < lines; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char buf[64];
    std::snprintf(buf, sizeof buf, "R 0x%llx %d\n", static_cast<unsigned long long>(x), i % 64 + 1);
    s += buf;
  }
  return s;
}

TEST_F(TraceReaderTest, ByteSourceReturnsTheExactBytesInSmallReads) {
  // About 3.5 MiB, compressing to more than one 1 MiB input chunk with each
  // tool (xz -0 keeps the test quick).
  std::string content = make_bulk_text(150000);
  std::string plain = write("bulk.txt", content);
  const struct {
    const char* tool;
    const char* ext;
  } codecs[] = {{"gzip", ".gz"}, {"xz -0", ".xz"}, {"zstd -q", ".zst"}};
  for (const auto& [tool, ext] : codecs) {
    std::string z = compress(tool, plain, ext);
    ASSERT_GT(std::filesystem::file_size(z), ByteSource::kChunkBytes) << tool;
    ByteSource src(z);
    std::string got;
    char buf[4093];
    for (std::size_t n; (n = src.read(buf, sizeof buf)) != 0;) got.append(buf, n);
    EXPECT_EQ(got.size(), content.size()) << tool;
    EXPECT_TRUE(got == content) << tool;
    EXPECT_EQ(src.read(buf, sizeof buf), 0u);
  }
}

TEST_F(TraceReaderTest, TruncatedCompressedFilesFail) {
  std::string plain = write("t.txt", make_bulk_text(20000));
  const struct {
    const char* tool;
    const char* ext;
    const char* name;
  } codecs[] = {{"gzip", ".gz", "gzip"}, {"xz", ".xz", "xz"}, {"zstd -q", ".zst", "zstd"}};
  for (const auto& c : codecs) {
    std::string z = compress(c.tool, plain, c.ext);
    std::filesystem::resize_file(z, std::filesystem::file_size(z) / 2);
    std::string msg = error_of(z, "text");
    EXPECT_EQ(msg.rfind(z + ": corrupt " + c.name + " data at compressed byte ", 0), 0u) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  // Only the magic: the stream ends before its header does.
  std::string bare = write("bare.zst", std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_EQ(error_of(bare, "text"), bare + ": corrupt zstd data at compressed byte 4: unexpected end of file (truncated?)");
}

TEST_F(TraceReaderTest, CorruptZstdFails) {
  std::string plain = write("cz.txt", make_bulk_text(20000));
  std::string z = m_dir + "/cz.zst";
  run("zstd -q --check -c '" + plain + "' > '" + z + "'");
  {
    std::fstream f(z, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(z) / 2));
    f.write(std::string(64, '\xa5').data(), 64);
  }
  std::string msg = error_of(z, "text");
  EXPECT_EQ(msg.rfind(z + ": corrupt zstd data at compressed byte ", 0), 0u) << msg;
}

TEST_F(TraceReaderTest, GarbageAfterGzipMemberFails) {
  std::string plain = write("g.txt", "R 0x1\n");
  std::string z = compress("gzip", plain, ".gz");
  run("printf 'junkjunk' >> '" + z + "'");
  std::string msg = error_of(z, "text");
  EXPECT_EQ(msg.rfind(z + ": corrupt gzip data at compressed byte ", 0), 0u) << msg;
}

// --- factory and detection ---------------------------------------------------

TEST_F(TraceReaderTest, Detection) {
  EXPECT_EQ(detect_trace_format(write("l1", kLackeySample)), "lackey");
  EXPECT_EQ(detect_trace_format(write("l2", "\r\nI  0400,3\r\n")), "lackey");
  EXPECT_EQ(detect_trace_format(write("l3", " S 1ffefffd20,8")), "lackey");
  EXPECT_EQ(detect_trace_format(write("t1", kTextSample)), "text");
  EXPECT_EQ(detect_trace_format(write("t2", "\n  # c\nM\t0x10 4\n")), "text");
  EXPECT_EQ(detect_trace_format(write("t3", "@exit")), "text");

  for (const char* content : {"", "# only a comment\n\n", "hello\nR 0x1\n", "R 10\n", " L 0x400,8\n", "I 0400,3\n"}) {
    std::string p = write("u", content);
    try {
      detect_trace_format(p);
      ADD_FAILURE() << "detected a format for '" << content << "'";
    } catch (const TraceError& e) {
      EXPECT_EQ(std::string(e.what()), p + ": cannot detect the trace format; pass --format");
    }
  }
}

TEST_F(TraceReaderTest, OpenTraceAutoKeepsEveryLine) {
  auto lackey = open_trace(write("a.lackey", kLackeySample), "auto");
  EXPECT_EQ(std::string(lackey->format_name()), "lackey");
  EXPECT_EQ(read_all(*lackey), kLackeySampleRecords);
  auto text = open_trace(write("a.txt", kTextSample), "auto");
  EXPECT_EQ(std::string(text->format_name()), "text");
  EXPECT_EQ(read_all(*text), kTextSampleRecords);
}

TEST_F(TraceReaderTest, OpenTraceExplicitFormatAndBadName) {
  std::string p = write("x.txt", kTextSample);
  EXPECT_EQ(std::string(open_trace(p, "text")->format_name()), "text");
  EXPECT_EQ(open_trace(p, "text")->path(), p);
  EXPECT_EQ(error_of(p, "lackey"), p + ":1: expected a lackey record (I/L/S/M addr,size), got '# sample'");
  try {
    open_trace(p, "binary");
    FAIL() << "accepted an unknown format";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "unknown trace format 'binary' (valid: text, lackey, bin, champsim, champsim-cloudsuite, auto)");
  }
  EXPECT_EQ(trace_format_names(),
            (std::vector<std::string>{"text", "lackey", "bin", "champsim", "champsim-cloudsuite", "auto"}));
}

TEST_F(TraceReaderTest, StdinPipeWithAutoDetection) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string data = kLackeySample;  // far below the pipe capacity
  ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  std::vector<std::string> got;
  double progress = 0;
  std::string path;
  {
    auto reader = open_trace("-", "auto");
    got = read_all(*reader);
    progress = reader->progress();
    path = reader->path();
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(got, kLackeySampleRecords);
  EXPECT_LT(progress, 0.0);
  EXPECT_EQ(path, "-");
}

TEST_F(TraceReaderTest, StdinErrorsSayStdin) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string data = "R 0x1\nR 1\n";
  ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  std::string msg = error_of("-", "text");
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(msg, "<stdin>:2: expected an address in hex with 0x prefix, got '1'");
}

TEST_F(TraceReaderTest, ProgressGoesFromZeroToOne) {
  std::string p = write("p.txt", kTextSample);
  TextReader reader(p);
  EXPECT_EQ(reader.progress(), 0.0);
  read_all(reader);
  EXPECT_EQ(reader.progress(), 1.0);
}

TEST_F(TraceReaderTest, RecordKindNames) {
  EXPECT_STREQ(record_kind_name(RecordKind::Access), "access");
  EXPECT_STREQ(record_kind_name(RecordKind::Proc), "proc");
  EXPECT_STREQ(record_kind_name(RecordKind::Mmap), "mmap");
  EXPECT_STREQ(record_kind_name(RecordKind::Munmap), "munmap");
  EXPECT_STREQ(record_kind_name(RecordKind::Mprotect), "mprotect");
  EXPECT_STREQ(record_kind_name(RecordKind::Brk), "brk");
  EXPECT_STREQ(record_kind_name(RecordKind::Fork), "fork");
  EXPECT_STREQ(record_kind_name(RecordKind::Exit), "exit");
  EXPECT_STREQ(record_kind_name(RecordKind::Invlpg), "invlpg");
  EXPECT_STREQ(record_kind_name(RecordKind::Mark), "mark");
}

// --- large inputs ------------------------------------------------------------

// 1M records cross many 1 MiB buffer refills, so lines split across reads
// are exercised; the address sum catches a line lost or read twice.
TEST_F(TraceReaderTest, MillionLineFilesStream) {
  std::string lackey;
  std::string text;
  for (std::uint64_t i = 0; i < 1000000; ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " L %llx,8\n", static_cast<unsigned long long>(i * 64));
    lackey += buf;
    std::snprintf(buf, sizeof buf, "W 0x%llx 4\n", static_cast<unsigned long long>(i * 64));
    text += buf;
  }
  std::string lp = write("big.lackey", lackey);
  std::string tp = write("big.txt", text);
  std::string zp = compress("zstd -q", lp, ".zst");
  for (const std::string& path : {lp, tp, zp}) {
    auto reader = open_trace(path, "auto");
    TraceRecord rec;
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    while (reader->next(rec)) {
      ++count;
      sum += rec.addr;
    }
    EXPECT_EQ(count, 1000000u) << path;
    EXPECT_EQ(sum, 31999968000000u) << path;  // 64 * (999999 * 1000000 / 2)
    EXPECT_EQ(reader->progress(), 1.0) << path;
  }
}

}  // namespace
}  // namespace mmusim

// A file that opens but cannot be read (a directory: read() fails with
// EISDIR) is an error, and the descriptor opened for it is closed again.
TEST(ByteSourceTest, UnreadablePathThrowsAndLeaksNoDescriptor) {
  auto open_fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::size_t before = open_fds();
  for (int i = 0; i < 8; ++i) {
    try {
      mmusim::ByteSource src(dir);
      ADD_FAILURE() << "reading a directory did not throw";
    } catch (const mmusim::TraceError& e) {
      EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(open_fds(), before);
}
