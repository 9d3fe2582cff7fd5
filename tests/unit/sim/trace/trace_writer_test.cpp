// The trace writers (sim/trace/trace_writer.h): the text and lackey forms,
// the records each rejects, output only on finish, output errors and the
// format from the file name.

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

}  // namespace
}  // namespace mmusim
