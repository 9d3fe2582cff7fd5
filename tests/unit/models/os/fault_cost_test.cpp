// Unit tests of the fault-cost model (models/os/fault_cost.h).
//
// os.fault_model: cycles charges fault_cost.zero_page_per_4k and
// cow_copy_per_4k (300 each by default) per 4 KiB zeroed or copied. With
// os.fault_model: accesses those become kernel accesses at the linear-map
// address of each physical byte (PAGE_OFFSET + pa, 0xffff888000000000 with
// 4-level paging: arch/x86/include/asm/page_64_types.h
// __PAGE_OFFSET_BASE_L4), split at 4 KiB page boundaries, issued only while
// a fault is handled.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "models/os/os_model.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;

using Access = KernelAccess;

TEST(FaultCost, TheCyclesModelChargesPer4KAndIssuesNoAccess) {
  OsFixture t(machine_params());
  FaultCost& c = t.os.fault_cost();
  EXPECT_EQ(c.zero_cycles(1), 300u);
  EXPECT_EQ(c.zero_cycles(512), 512u * 300);
  EXPECT_EQ(c.copy_cycles(2), 600u);
  RecordingPort port;
  c.set_kernel_port(&port);
  c.begin_fault();
  c.ktouch(0x100000, 8, false);
  EXPECT_EQ(c.end_fault(), 0u);
  EXPECT_TRUE(port.log.empty());
}

TEST(FaultCost, TheAccessesModelSplitsPerPageAtTheLinearMapDuringAFault) {
  OsParams p = machine_params();
  p.fault_model = FaultModel::Accesses;
  OsFixture t(p);
  FaultCost& c = t.os.fault_cost();
  EXPECT_EQ(c.zero_cycles(1), 0u);
  EXPECT_EQ(c.copy_cycles(1), 0u);
  RecordingPort port;
  c.set_kernel_port(&port);
  c.ktouch(0x1ff8, 16, true);  // outside a fault: nothing
  EXPECT_TRUE(port.log.empty());
  c.begin_fault();
  c.ktouch(0x1ff8, 16, true);
  EXPECT_EQ(c.end_fault(), 14u);
  EXPECT_EQ(port.log, (std::vector<Access>{{0xffff888000001ff8ull, 8, true}, {0xffff888000002000ull, 8, true}}));
  EXPECT_EQ(t.counter("os.kernel.accesses"), 2u);
  EXPECT_EQ(t.counter("os.kernel.access_cycles"), 14u);
  c.ktouch(0x3000, 8, false);  // after the fault: nothing
  EXPECT_EQ(port.log.size(), 2u);
}

// The handler's walk reads each entry down to the first not-present one: in
// a fresh 4-level address space, the PML4E only.
TEST(FaultCost, TheWalkReadsEntriesDownToTheFirstNotPresent) {
  OsParams p = machine_params();
  p.fault_model = FaultModel::Accesses;
  OsFixture t(p);
  t.os.switch_to(1);
  FaultCost& c = t.os.fault_cost();
  RecordingPort port;
  c.set_kernel_port(&port);
  c.begin_fault();
  c.ktouch_walk(*t.os.process(1), 0x10000000);
  c.end_fault();
  const PAddr pml4e = t.root_of(1) + index_of(0x10000000, 4) * 8;
  EXPECT_EQ(port.log, (std::vector<Access>{{0xffff888000000000ull + pml4e, 8, false}}));
}

}  // namespace
}  // namespace mmusim
