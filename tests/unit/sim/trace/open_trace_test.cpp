// The open_trace() factory and format detection (sim/trace/open_trace.h),
// standard input, progress and record kind names.

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

#include "sim/trace/byte_source.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

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
    EXPECT_EQ(std::string(e.what()),
              "unknown trace format 'binary' (valid: text, lackey, bin, champsim, champsim-cloudsuite, auto)");
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
  EXPECT_STREQ(record_kind_name(RecordKind::Clone), "clone");
  EXPECT_STREQ(record_kind_name(RecordKind::Thread), "thread");
  EXPECT_STREQ(record_kind_name(RecordKind::Exit), "exit");
  EXPECT_STREQ(record_kind_name(RecordKind::Invlpg), "invlpg");
  EXPECT_STREQ(record_kind_name(RecordKind::Mark), "mark");
}

}  // namespace
}  // namespace mmusim
