// The text trace reader (sim/trace/text_reader.h) and the line splitting
// under it (LineReader, scan_hex). Every expected value is spelled out.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/trace/line_reader.h"
#include "sim/trace/text_reader.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

#define MMAP_OPTS \
  "anon, file, file=ID, off=OFFSET, shared, huge or hugetlb (each at most once, one of anon, file and file=ID)"

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
  std::string p =
      write("o.txt", "@oom_score_adj -1000\n@oom_score_adj 0\n@oom_score_adj 1000\n@oom_score_adj 42 # c\n");
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
                        "@clone 7\n"
                        "@thread 4294967295\n"
                        "@proc 4294967295\n"
                        "@exit\n"
                        "@invlpg 0xdead000\n"
                        "@mark phase_1.b-2\n"
                        "@mmap 0x10000 0x2000 r-- file=/usr/lib/x86_64-linux-gnu/libc.so.6 off=0x3000\n"
                        "@mmap 0x20000 0x1000 rw- shared huge file=inode:8:1234\n"
                        "@mmap 0x30000 0x1000 rw- off=4096 file=/tmp/a%20b\n");
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
                              "clone 7",
                              "thread 4294967295",
                              "proc 4294967295",
                              "exit",
                              "invlpg 0xdead000",
                              "mark phase_1.b-2",
                              "mmap 0x10000 0x2000 prot=1 file id=/usr/lib/x86_64-linux-gnu/libc.so.6 off=0x3000",
                              "mmap 0x20000 0x1000 prot=3 file huge id=inode:8:1234 off=0x0 shared",
                              "mmap 0x30000 0x1000 prot=3 file id=/tmp/a%20b off=0x1000",
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
      {"@foo 1",
       "expected an event @proc, @mmap, @munmap, @mprotect, @brk, @fork, @exit, @invlpg, @invpcid, @mark, "
       "@oom_score_adj, @cr4_pge, @clone or @thread, got '@foo'"},
      {"@ proc",
       "expected an event @proc, @mmap, @munmap, @mprotect, @brk, @fork, @exit, @invlpg, @invpcid, @mark, "
       "@oom_score_adj, @cr4_pge, @clone or @thread, "
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
      {"@clone", "expected a decimal thread id, got '@clone'"},
      {"@thread 0x5", "expected a decimal thread id, got '0x5'"},
      {"@thread 4294967296", "expected a decimal thread id, got '4294967296'"},
      {"@clone 3 4", "expected end of line, got '4'"},
      {"@oom_score_adj", "expected an oom_score_adj from -1000 to 1000 (decimal), got '@oom_score_adj'"},
      {"@oom_score_adj 1001", "expected an oom_score_adj from -1000 to 1000 (decimal), got '1001'"},
      {"@oom_score_adj -1001", "expected an oom_score_adj from -1000 to 1000 (decimal), got '-1001'"},
      {"@oom_score_adj +5", "expected an oom_score_adj from -1000 to 1000 (decimal), got '+5'"},
      {"@oom_score_adj 5 6", "expected end of line, got '6'"},
      {"@mmap 0x1000", "expected a length greater than 0 (decimal or 0x hex), got '@mmap 0x1000'"},
      {"@mmap 0x1000 0 rw", "expected a length greater than 0 (decimal or 0x hex), got '0'"},
      {"@mmap 0x1000 0x rw", "expected a length greater than 0 (decimal or 0x hex), got '0x'"},
      {"@mmap 4096 4096 rw", "expected an address in hex with 0x prefix, got '4096'"},
      {"@mmap 0x1000 4096",
       "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got '@mmap 0x1000 4096'"},
      {"@mmap 0x1000 4096 rwz", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'rwz'"},
      {"@mmap 0x1000 4096 wr", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'wr'"},
      {"@mmap 0x1000 4096 rr", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'rr'"},
      {"@mmap 0x1000 4096 r-", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'r-'"},
      {"@mmap 0x1000 4096 RW-", "expected a protection like rw-, r-x, rwx, --- or rw, rx, r, none, got 'RW-'"},
      {"@mmap 0x1000 4096 rw anon file", "expected " MMAP_OPTS ", got 'file'"},
      {"@mmap 0x1000 4096 rw huge huge", "expected " MMAP_OPTS ", got 'huge'"},
      {"@mmap 0x1000 4096 rw shared",
       "expected file=ID with off= and shared (a file without identity has neither), got 'shared'"},
      {"@mmap 0x1000 4096 rw file shared",
       "expected file=ID with off= and shared (a file without identity has neither), got 'shared'"},
      {"@mmap 0x1000 4096 rw off=0x1000",
       "expected file=ID with off= and shared (a file without identity has neither), got 'off=0x1000'"},
      {"@mmap 0x1000 4096 rw file=/a file=/b", "expected " MMAP_OPTS ", got 'file=/b'"},
      {"@mmap 0x1000 4096 rw file file=/b", "expected " MMAP_OPTS ", got 'file=/b'"},
      {"@mmap 0x1000 4096 rw file=/a shared shared", "expected " MMAP_OPTS ", got 'shared'"},
      {"@mmap 0x1000 4096 rw file=/a off=0 off=0", "expected " MMAP_OPTS ", got 'off=0'"},
      {"@mmap 0x1000 4096 rw file=",
       "expected a file identity of 1 to 4096 printable bytes other than '#' after "
       "file=, got 'file='"},
      {"@mmap 0x1000 4096 rw file=a\x01"
       "b",
       "expected a file identity of 1 to 4096 printable bytes other than '#' "
       "after file=, got 'file=a\\x01b'"},
      {"@mmap 0x1000 4096 rw file=/a off=0x800",
       "expected a file offset that is a multiple of 4096 (decimal or 0x hex) after off=, got 'off=0x800'"},
      {"@mmap 0x1000 4096 rw file=/a off=x",
       "expected a file offset that is a multiple of 4096 (decimal or 0x hex) after off=, got 'off=x'"},
      {"@mmap 0x1000 0x2000 rw file=/a off=0xfffffffffffff000",
       "expected a file offset that keeps OFFSET + LEN - 1 inside 64 bits, got 'off=0xfffffffffffff000'"},
      {"@mmap 0x40000000 4096 rw hugetlb file=/a",
       "expected anon with hugetlb (hugetlbfs files are out of scope), got 'file=/a'"},
      {"@mmap 0x40000000 4096 rw hugetlb hugetlb", "expected " MMAP_OPTS ", got 'hugetlb'"},
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
      {"1\x80"
       "2",
       1, 0x1},
      {"abc\xe1"
       "1",
       3, 0xabc},
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
