// Tests of the control-register state (models/arch/control_registers.h):
// the paging mode of SDM Vol. 3A 4.1.1 table 4-1 and the PCID of 4.10.1.
#include "models/arch/control_registers.h"

#include <gtest/gtest.h>

namespace mmusim {
namespace {

TEST(ControlRegisters, ModeFollowsPaeLmeAndLa57) {
  ControlRegisters c;
  c.cr4_pae = false;
  EXPECT_EQ(c.mode(), PagingMode::Ia32);
  c.cr4_la57 = true;  // ignored without PAE and LME
  EXPECT_EQ(c.mode(), PagingMode::Ia32);
  c.cr4_pae = true;
  EXPECT_EQ(c.mode(), PagingMode::Pae);
  c.efer_lme = true;
  EXPECT_EQ(c.mode(), PagingMode::X86_64_La57);
  c.cr4_la57 = false;
  EXPECT_EQ(c.mode(), PagingMode::X86_64);
}

TEST(ControlRegisters, ForModeRoundTrips) {
  for (PagingMode m : {PagingMode::Ia32, PagingMode::Pae, PagingMode::X86_64, PagingMode::X86_64_La57}) {
    const ControlRegisters c = ControlRegisters::for_mode(m);
    EXPECT_EQ(c.mode(), m) << paging_mode_name(m);
    EXPECT_TRUE(c.cr0_wp);
    EXPECT_TRUE(c.cr4_pge);
    EXPECT_FALSE(c.cr4_pcide);
    EXPECT_TRUE(c.efer_nxe);
    EXPECT_EQ(c.cr3, 0u);
  }
}

TEST(ControlRegisters, PcidIsCr3Bits11To0OnlyWithPcide) {
  ControlRegisters c = ControlRegisters::for_mode(PagingMode::X86_64);
  c.cr3 = 0x12345000 | 0x18 | 0x7;  // PWT, PCD or PCID bits
  EXPECT_EQ(c.pcid(), 0u);
  c.cr4_pcide = true;
  EXPECT_EQ(c.pcid(), 0x1fu);
  c.cr3 = 0x12345fff;
  EXPECT_EQ(c.pcid(), 0xfffu);
}

}  // namespace
}  // namespace mmusim
