// Unit tests of the OsModel facade (models/os/os_model.h): boot, parameter
// checks, the statistics contract and the whole-system invariant checker
// (models/os/invariants.h). The parts have test files of their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = OsFixture;

TEST(OsModel, BootReservesLowMemoryAndLoadsAnIdleRoot) {
  Os t(params());
  // 16384 frames - 256 reserved - 1 for the idle page directory.
  EXPECT_EQ(t.free_pages(), 16384u - 256 - 1);
  EXPECT_EQ(t.os.used_pages(), 1u);
  ASSERT_EQ(t.mmu.cr3_writes.size(), 1u);
  EXPECT_EQ(t.idle_root(), 0x1000000u);  // frame 4096: the first frame of ZONE_DMA32
  for (unsigned pfn = 0; pfn < 256; ++pfn) ASSERT_FALSE(t.os.buddy().is_free(pfn)) << pfn;
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.formula("os.buddy.free_pages"), static_cast<double>(t.free_pages()));
  EXPECT_EQ(t.os.user_top(), 1ull << 47);
  EXPECT_EQ(t.check_frames({}), "");
}

TEST(OsModel, FiveLevelUserTop) {
  Os t(params(5));
  EXPECT_EQ(t.os.user_top(), 1ull << 56);
}

TEST(OsModel, InvalidParamsThrow) {
  PhysicalMemory mem(64 * kMiB);
  FakeMmu mmu;
  StatGroup s1, s2;
  OsParams p = params(3);
  EXPECT_THROW(OsModel(p, mem, mmu, s1), std::invalid_argument);
  p = params(4, ThpMode::Never, 128 * kMiB);  // more than the physical memory
  EXPECT_THROW(OsModel(p, mem, mmu, s2), std::invalid_argument);
}

TEST(OsModel, StatisticNamesAreTheContract) {
  Os t(params());
  // The README's Statistics section names them; sweeps and golden files rely on them.
  for (const char* c : {"os.faults.minor", "os.faults.major", "os.faults.segv", "os.faults.cow", "os.thp.alloc",
                        "os.thp.fallback", "os.oom_kills"})
    EXPECT_NO_THROW(t.counter(c)) << c;
  for (const char* f : {"os.pgtable_pages", "os.buddy.free_pages"}) EXPECT_NO_THROW(t.formula(f)) << f;
}

TEST(Invariants, CatchACorruptedState) {
  MachineOs t;
  t.os.switch_to(1);
  t.os.mmap(kHeap, 4 * 4096, R | W, false, false);
  t.os.handle_fault(kHeap, kWriteFault);
  t.os.handle_fault(kHeap + 4096, kWriteFault);
  ASSERT_EQ(t.os.check_invariants(), "");
  PAddr where = 0;
  const std::uint64_t e0 = t.pte(1, kHeap);
  const std::uint64_t e1 = t.pte(1, kHeap + 4096, &where);
  // Alias: the second page maps the first page's frame.
  t.mem.write64(where, (e0 & kAddrBits) | (e1 & ~kAddrBits));
  EXPECT_NE(t.os.check_invariants().find("aliased"), std::string::npos) << t.os.check_invariants();
  // A frame that is free in the buddy allocator.
  std::uint64_t free_pfn = 0;
  while (!t.os.buddy().is_free(free_pfn)) ++free_pfn;
  t.mem.write64(where, (free_pfn << 12) | (e1 & ~kAddrBits));
  EXPECT_NE(t.os.check_invariants().find("free in the buddy allocator"), std::string::npos) << t.os.check_invariants();
  // Writable in a read-only VMA.
  t.mem.write64(where, e1);
  ASSERT_EQ(t.os.check_invariants(), "");
  t.os.mprotect(kHeap, 4 * 4096, R);
  t.mem.write64(where, t.pte(1, kHeap + 4096) | pte::kRW);
  EXPECT_NE(t.os.check_invariants().find("read-only VMA"), std::string::npos) << t.os.check_invariants();
}

}  // namespace
}  // namespace mmusim
