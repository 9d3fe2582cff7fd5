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

std::vector<std::string> walk_both(const std::string& path, std::vector<std::string>& prefetched) {
  auto plain = open_trace(path, "text");
  auto inner = open_trace(path, "text");
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
