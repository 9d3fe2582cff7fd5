// PrefetchReader (sim/trace/prefetch_reader.h): the records, locations and
// errors of a trace decoded on its own thread are those of the reader alone,
// in the same order, across batch boundaries.

#include "sim/trace/prefetch_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
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

// Past the startup batches, the ring turns three times.
TEST_F(TraceReaderTest, PrefetchSameRecordsAndLocationsOverSeveralRingTurns) {
  const std::size_t n =
      (PrefetchReader::kStartupBatches + PrefetchReader::kBatches * 3) * PrefetchReader::kBatchRecords + 5;
  std::vector<std::string> pre;
  const std::vector<std::string> plain = walk_both(write("a.txt", lines(n)), pre);
  EXPECT_EQ(plain.back(), "end");
  EXPECT_GT(plain.size(), n);
  EXPECT_EQ(pre, plain);
}

// Accesses cross the cores packed (a word) and events whole, in a side
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

// An access goes packed in one word only when its address is the sign
// extension of its low 56 bits and its size is one of kSizes; any other goes
// whole. Both sides of each boundary, in every kind, among ordinary
// accesses (so that they share batches), through text, lackey and ChampSim;
// and ChampSim's accesses of one instruction share one position, and the line
// formats' skipped lines break the run of line numbers, so location() is
// checked after each record.
TEST_F(TraceReaderTest, PrefetchAccessesOnBothSidesOfTheWordsLimits) {
  const std::vector<unsigned long long> addrs = {
      0x0,
      0x1000,
      0x007fffffffffffffULL,  // bit 55 clear, the largest that fits
      0x0080000000000000ULL,  // bit 55 set above it: does not fit
      0x00fffffffffff000ULL,  // a 5-level user address past 2^55: does not fit
      0x0100000000000000ULL,  // non-canonical in both modes: does not fit
      0x00007ffffffff000ULL,  // 4-level user top
      0xffff800000000000ULL,  // 4-level kernel bottom: fits
      0xff80000000000000ULL,  // the smallest that fits with bit 55 set
      0xff7fffffffffffffULL,  // just below it: does not fit
      0x8000000000000000ULL,  // does not fit
      0xffffffffffffffffULL,  // fits
  };
  // In kSizes: 1..12, 15, 16, 32, 64; not: 13, 14, 17, 100, 4096.
  const std::vector<unsigned> sizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 32, 64, 100, 4096};
  const char* const text_kinds[] = {"R", "W", "M", "X"};
  const char* const lackey_kinds[] = {" L", " S", " M", "I "};
  std::string text, lackey;
  std::size_t n = 0;
  for (int round = 0; round < 40; ++round) {
    for (std::size_t a = 0; a < addrs.size(); ++a) {
      for (std::size_t k = 0; k < 4; ++k) {
        const unsigned size = sizes[(a * 4 + k + round) % sizes.size()];
        char line[80];
        std::snprintf(line, sizeof line, "%s 0x%llx %u\n", text_kinds[k], addrs[a], size);
        text += line;
        std::snprintf(line, sizeof line, "%s %llx,%u\n", lackey_kinds[k], addrs[a], size);
        lackey += line;
        text += "R 0x2000 8\n";
        lackey += " L 2000,8\n";
        n += 2;
        // Lines the readers skip: the next record's position (its line
        // number) does not follow from the last one's.
        if ((a + k + round) % 5 == 0) {
          text += "# a comment\n\n";
          lackey += "==4242== a banner line\n";
        }
      }
    }
  }
  for (const auto& [file, format] : {std::pair<std::string, std::string>{write("limits.txt", text), "text"},
                                     {write("limits.lackey", lackey), "lackey"}}) {
    std::vector<std::string> pre;
    const std::vector<std::string> plain = walk_both(file, pre, format);
    ASSERT_EQ(plain.size(), n + 1) << format;
    EXPECT_EQ(plain.back(), "end");
    EXPECT_EQ(pre, plain) << format;
  }
  // ChampSim: 64-byte records (ip @0, destination_memory[2] @16,
  // source_memory[4] @32, traces/FORMAT.md), each with 1 to 7 accesses.
  std::string cs;
  for (std::size_t r = 0; r < 3000; ++r) {
    unsigned char rec[64] = {};
    auto put = [&](std::size_t at, std::uint64_t v) {
      for (int i = 0; i < 8; ++i) rec[at + i] = static_cast<unsigned char>(v >> (8 * i));
    };
    put(0, 0x400000 + 4 * r);
    const std::size_t operands = r % 7;  // 0..6 of the 6 operand slots
    for (std::size_t i = 0; i < operands; ++i) {
      const std::uint64_t v = i == 2 ? addrs[r % addrs.size()] | 1 : 0x10000 + 8 * (r + i);
      put(i < 4 ? 32 + 8 * i : 16 + 8 * (i - 4), v);
    }
    cs.append(reinterpret_cast<const char*>(rec), sizeof rec);
  }
  std::vector<std::string> pre;
  const std::vector<std::string> plain = walk_both(write("limits.champsim", cs), pre, "champsim");
  EXPECT_EQ(plain.back(), "end");
  EXPECT_GT(plain.size(), 3000u * 3);
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
  auto inner = open_trace(write("long.txt", lines((PrefetchReader::kStartupBatches + PrefetchReader::kBatches * 4) *
                                                  PrefetchReader::kBatchRecords)),
                          "text");
  {
    PrefetchReader r(*inner);
    TraceRecord rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(r.location(), inner->location_at(1));
  }
}

}  // namespace
}  // namespace mmusim
