// PrefetchReader (sim/trace/prefetch_reader.h): the records, locations and
// errors of a trace decoded on its own thread are those of the reader alone,
// in the same order, across batch boundaries.

#include "sim/trace/prefetch_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/trace/open_trace.h"
#include "sim/trace/trace_writer.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

// describe() and location() of every record, then "end" or "error: WHAT".
std::vector<std::string> walk(TraceReader& r) {
  std::vector<std::string> out;
  TraceRecord rec;
  try {
    while (r.next(rec)) out.push_back(describe(rec) + " @ " + r.location());
    out.push_back("end");
  } catch (const TraceError& e) {
    out.push_back(std::string("error: ") + e.what());
  }
  return out;
}

std::vector<std::string> walk_both(const std::string& path, std::vector<std::string>& prefetched,
                                   const std::string& format = "text") {
  auto plain = open_trace(path, format);
  auto inner = open_trace(path, format);
  PrefetchReader pre(*inner);
  prefetched = walk(pre);
  EXPECT_EQ(pre.path(), plain->path());
  EXPECT_STREQ(pre.format_name(), plain->format_name());
  return walk(*plain);
}

std::string lines(std::size_t n) {
  std::string t;
  for (std::size_t i = 0; i < n; ++i) {
    t += "R 0x" + std::to_string(1000 + i) + "\n";
    if (i % 1000 == 7) t += "@mark m" + std::to_string(i) + "\n";
  }
  return t;
}

TEST_F(TraceReaderTest, PrefetchSameRecordsAndLocationsOverSeveralRingTurns) {
  const std::size_t n = PrefetchReader::kBatches * PrefetchReader::kBatchRecords * 3 + 5;
  std::vector<std::string> pre;
  const std::vector<std::string> plain = walk_both(write("a.txt", lines(n)), pre);
  EXPECT_EQ(plain.back(), "end");
  EXPECT_GT(plain.size(), n);
  EXPECT_EQ(pre, plain);
}

// Accesses cross the cores packed (16 bytes) and events whole, in a side
// list of their batch: every kind of each, events dense enough that one
// batch holds hundreds and sparse enough that others hold none, each field
// checked by describe() against the reader alone.
TEST_F(TraceReaderTest, PrefetchEveryRecordKindAcrossBatches) {
  const std::vector<std::string> events = {
      "@proc 7",
      "@mmap 0x400000 0x2000 r-x file=/lib/libc.so.6 off=0x3000 shared",
      "@mmap 0x600000 0x200000 rw- anon huge",
      "@mmap 0x40000000 0x40000000 rw- hugetlb",
      "@munmap 0x400000 0x1000",
      "@mprotect 0x401000 0x1000 r--",
      "@brk 0x900000",
      "@fork 8",
      "@invlpg 0x401000",
      "@invpcid 0 5 0x402000",
      "@invpcid 2 0",
      "@mark phase-2",
      "@oom_score_adj -17",
      "@cr4_pge 0",
      "@clone 9",
      "@thread 9",
      "@exit",
  };
  const std::vector<std::string> accesses = {"R 0x1000 4", "W 0x2ffe 8", "M 0x3000 1", "X 0x401000 16"};
  std::string t;
  const std::size_t n = PrefetchReader::kBatchRecords * 5;
  for (std::size_t i = 0; i < n; ++i) {
    // Records 1024..2047: one event in two; then one in 97.
    const bool dense = i / PrefetchReader::kBatchRecords == 1;
    if (dense ? i % 2 == 0 : i % 97 == 0) t += events[i % events.size()] + "\n";
    t += accesses[i % accesses.size()] + "\n";
  }
  const std::string text = write("kinds.txt", t);
  std::vector<std::string> pre;
  const std::vector<std::string> plain = walk_both(text, pre);
  EXPECT_EQ(plain.back(), "end");
  EXPECT_GT(plain.size(), n + n / 97);
  EXPECT_EQ(pre, plain);
  // The same records in bin (the decoder calls each reader type directly).
  const std::string bin = path("kinds.bin");
  {
    auto in = open_trace(text, "text");
    BinWriter w(bin);
    TraceRecord rec;
    while (in->next(rec)) w.write(rec);
    w.finish();
  }
  std::vector<std::string> pre_bin;
  const std::vector<std::string> plain_bin = walk_both(bin, pre_bin, "bin");
  EXPECT_EQ(plain_bin.size(), plain.size());
  EXPECT_EQ(plain_bin.back(), "end");
  EXPECT_EQ(pre_bin, plain_bin);
}

TEST_F(TraceReaderTest, PrefetchErrorAfterEveryRecordBeforeIt) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, PrefetchReader::kBatchRecords - 1,
                        PrefetchReader::kBatchRecords, PrefetchReader::kBatchRecords * 2 + 3}) {
    std::vector<std::string> pre;
    const std::vector<std::string> plain = walk_both(write("e.txt", "R 0x10\n" + lines(n) + "R zz\nR 0x20\n"), pre);
    ASSERT_EQ(plain.back().rfind("error: ", 0), 0u) << plain.back();
    EXPECT_NE(plain.back().find("e.txt:"), std::string::npos) << plain.back();
    EXPECT_EQ(pre, plain) << "n = " << n;
  }
}

TEST_F(TraceReaderTest, PrefetchEmptyTraceAndEarlyDestruction) {
  std::vector<std::string> pre;
  EXPECT_EQ(walk_both(write("empty.txt", "# nothing\n"), pre), std::vector<std::string>{"end"});
  EXPECT_EQ(pre, std::vector<std::string>{"end"});
  // Destroyed with the ring full and the decoder waiting: joins at once.
  auto inner =
      open_trace(write("long.txt", lines(PrefetchReader::kBatches * PrefetchReader::kBatchRecords * 4)), "text");
  {
    PrefetchReader r(*inner);
    TraceRecord rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(r.location(), inner->location_at(1));
  }
}

}  // namespace
}  // namespace mmusim
