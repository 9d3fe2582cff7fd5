// Unit tests of the ASIDs and flushes (models/os/arch/tlb.h,
// arch/x86/mm/tlb.c): PCID slots and the no-flush bit.
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

TEST(OsModelPcid, SwitchesUseLinuxAsidSlotsAndTheNoFlushBit) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  constexpr std::uint64_t kNoFlush = 1ull << 63;
  t.os.switch_to(1);
  t.os.switch_to(2);
  const PAddr r1 = t.root_of(1), r2 = t.root_of(2);
  t.os.switch_to(1);
  // New mm: next slot, PCID = slot + 1, flushed; known mm: no-flush bit.
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r1 | 1, r2 | 2, r1 | 1 | kNoFlush}));
  EXPECT_EQ(t.os.pcid_of(1), 1u);
  EXPECT_EQ(t.os.pcid_of(2), 2u);
  // A shootdown in the current process keeps its slot's generation current.
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  t.os.switch_to(2);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 1 | kNoFlush);
  // Seven processes, six slots: the seventh takes slot 0 (PCID 1) and
  // process 1, coming back, the next slot (PCID 3, process 3's), flushed.
  for (std::uint32_t pid = 3; pid <= 7; ++pid) t.os.switch_to(pid);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(7) | 1);
  EXPECT_EQ(t.os.pcid_of(1), 0u);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 2);
  EXPECT_EQ(t.os.pcid_of(2), 0u);
}

}  // namespace
}  // namespace mmusim
