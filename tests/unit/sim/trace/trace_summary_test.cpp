// TraceSummary (sim/trace/trace_summary.h), what `mmusim stats` prints: the
// counts of records, accesses and events by kind, and the footprint in 4 KiB
// pages and 2 MiB regions, worked out by hand for a small text trace.

#include "sim/trace/trace_summary.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/trace/text_reader.h"
#include "tests/support/temp_file.h"

namespace mmusim {
namespace {

class TraceSummaryTest : public TempDirTest {};

TEST_F(TraceSummaryTest, CountsKindsAndTheFootprintOfFirstAndLastBytes) {
  const std::string p = write("t.txt",
                              "@mmap 0x400000 0x400000 rw anon\n"
                              "R 0x400000 8\n"   // page 0x400, region 2
                              "W 0x400ffc 8\n"   // crosses into page 0x401
                              "X 0x5ffff8 16\n"  // crosses pages 0x5ff/0x600 and regions 2/3
                              "M 0x400010 4\n"   // page 0x400 again
                              "@proc 2\n"
                              "R 0x400000 8\n"  // the same virtual page in another process: not new
                              "@munmap 0x400000 0x1000\n"
                              "@mark end\n");
  TextReader reader(p);
  TraceSummary s;
  s.add_all(reader);
  EXPECT_EQ(s.records(), 9u);
  EXPECT_EQ(s.accesses(), 5u);
  EXPECT_EQ(s.accesses(AccessKind::Load), 2u);
  EXPECT_EQ(s.accesses(AccessKind::Store), 1u);
  EXPECT_EQ(s.accesses(AccessKind::IFetch), 1u);
  EXPECT_EQ(s.accesses(AccessKind::Modify), 1u);
  EXPECT_EQ(s.events(), 4u);
  EXPECT_EQ(s.events(RecordKind::Mmap), 1u);
  EXPECT_EQ(s.events(RecordKind::Proc), 1u);
  EXPECT_EQ(s.events(RecordKind::Munmap), 1u);
  EXPECT_EQ(s.events(RecordKind::Mark), 1u);
  EXPECT_EQ(s.pages(), 4u);    // 0x400, 0x401, 0x5ff, 0x600
  EXPECT_EQ(s.regions(), 2u);  // 2 MiB regions 2 and 3
  EXPECT_EQ(s.report(),
            "records:        9\n"
            "accesses:       5\n"
            "  R (load):     2\n"
            "  W (store):    1\n"
            "  X (ifetch):   1\n"
            "  M (modify):   1\n"
            "events:         4\n"
            "  @mmap:        1\n"
            "  @munmap:      1\n"
            "  @mprotect:    0\n"
            "  @brk:         0\n"
            "  @exit:        0\n"
            "  @proc:        1\n"
            "  @mark:        1\n"
            "4 KiB pages:    4\n"
            "2 MiB regions:  2\n");
}

TEST_F(TraceSummaryTest, AnEmptyTraceHasNothing) {
  TextReader reader(write("empty.txt", ""));
  TraceSummary s;
  s.add_all(reader);
  EXPECT_EQ(s.records(), 0u);
  EXPECT_EQ(s.pages(), 0u);
  EXPECT_EQ(s.regions(), 0u);
}

}  // namespace
}  // namespace mmusim
