// Unit tests for the memory models: PhysicalMemory (sparse, little-endian,
// zero-filled) and MemoryController (fixed latency; DRAM with open and closed
// row-buffer policies).
//
// DRAM expectations are worked out from memory_controller.h: the address is
// split, low to high, into column (log2 row_bytes bits), channel
// (log2 channels), bank (log2 banks) and row. With the open policy a row hit
// costs tCL + tBURST, an access to a bank with no open row tRCD + tCL +
// tBURST, and a conflict with another open row tRP + tRCD + tCL + tBURST; the
// closed policy always costs tRCD + tCL + tBURST. The timings below are
// pairwise different primes so a mix-up of two of them shows.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/memory_controller.h"
#include "models/memory/physical_memory.h"

namespace mmusim {
namespace {

// ---------------------------------------------------------------- PhysicalMemory

TEST(PhysicalMemory, SizeAndFrames) {
  PhysicalMemory m(64ull << 20);
  EXPECT_EQ(m.size_bytes(), 64ull << 20);
  EXPECT_EQ(m.num_frames(), 16384u);  // 64 MiB / 4 KiB
  EXPECT_EQ(m.populated_frames(), 0u);
  // A size that is not a whole number of frames still gets its last partial frame.
  PhysicalMemory odd(4096 * 3 + 8);
  EXPECT_EQ(odd.num_frames(), 4u);
  EXPECT_NO_THROW(odd.write64(4096 * 3, 1));
  EXPECT_THROW(odd.read64(4096 * 3 + 8), std::out_of_range);
}

TEST(PhysicalMemory, UnwrittenMemoryReadsZero) {
  PhysicalMemory m(1ull << 30);  // sparse: 1 GiB costs nothing until written
  EXPECT_EQ(m.read64(0), 0u);
  EXPECT_EQ(m.read64((1ull << 30) - 8), 0u);
  EXPECT_EQ(m.read(12345 * 4096 + 4, 4), 0u);
  EXPECT_EQ(m.read(7, 1), 0u);
  EXPECT_EQ(m.populated_frames(), 0u);
}

TEST(PhysicalMemory, LittleEndianRoundTrips) {
  PhysicalMemory m(1 << 20);
  m.write64(0x2000, 0x0123456789abcdefull);
  EXPECT_EQ(m.read64(0x2000), 0x0123456789abcdefull);
  // Little-endian: the least significant byte is at the lowest address.
  EXPECT_EQ(m.read(0x2000, 1), 0xefu);
  EXPECT_EQ(m.read(0x2007, 1), 0x01u);
  EXPECT_EQ(m.read(0x2000, 2), 0xcdefu);
  EXPECT_EQ(m.read(0x2000, 4), 0x89abcdefu);
  EXPECT_EQ(m.read(0x2004, 4), 0x01234567u);

  // A 4-byte write changes only its 4 bytes, and ignores the value's upper half.
  m.write(0x2004, 4, 0xfffffffff00dcafeull);
  EXPECT_EQ(m.read(0x2004, 4), 0xf00dcafeu);
  EXPECT_EQ(m.read64(0x2000), 0xf00dcafe89abcdefull);
  m.write(0x3000, 4, 0xdeadbeef);
  EXPECT_EQ(m.read(0x3000, 4), 0xdeadbeefu);
  EXPECT_EQ(m.read64(0x3000), 0xdeadbeefull);
  m.write(0x3006, 2, 0xbeef);
  EXPECT_EQ(m.read64(0x3000), 0xbeef0000deadbeefull);
  m.write(0x3005, 1, 0x42);
  EXPECT_EQ(m.read64(0x3000), 0xbeef4200deadbeefull);
  EXPECT_EQ(m.populated_frames(), 2u);  // frames 2 and 3

  // The last 8 bytes of memory.
  m.write64((1 << 20) - 8, ~0ull);
  EXPECT_EQ(m.read64((1 << 20) - 8), ~0ull);
}

TEST(PhysicalMemory, WritingZeroToAnUnwrittenFrameAllocatesNothing) {
  PhysicalMemory m(1 << 20);
  m.write64(0x5000, 0);
  EXPECT_EQ(m.populated_frames(), 0u);
  EXPECT_EQ(m.read64(0x5000), 0u);
  m.write64(0x5008, 7);
  EXPECT_EQ(m.populated_frames(), 1u);
  m.write64(0x5008, 0);  // the frame stays; its bytes are zero again
  EXPECT_EQ(m.read64(0x5008), 0u);
}

TEST(PhysicalMemory, ZeroFrame) {
  PhysicalMemory m(1 << 20);
  m.write64(0x4000, 0x1111);
  m.write64(0x4ff8, 0x2222);
  m.write64(0x5000, 0x3333);  // the next frame is left alone
  EXPECT_EQ(m.populated_frames(), 2u);
  m.zero_frame(4);
  EXPECT_EQ(m.read64(0x4000), 0u);
  EXPECT_EQ(m.read64(0x4ff8), 0u);
  EXPECT_EQ(m.read64(0x5000), 0x3333u);
  EXPECT_EQ(m.populated_frames(), 1u);
  m.zero_frame(4);  // already zero: no change
  m.zero_frame(9);  // never written
  EXPECT_EQ(m.populated_frames(), 1u);
  // Written again after zeroing.
  m.write(0x4010, 4, 0xabcd);
  EXPECT_EQ(m.read64(0x4010), 0xabcdu);
  EXPECT_EQ(m.read64(0x4000), 0u);
  EXPECT_EQ(m.populated_frames(), 2u);
}

TEST(PhysicalMemory, CopyFrameCopiesContentAndKeepsUntouchedFramesUnpopulated) {
  PhysicalMemory m(1 << 20);
  m.write64(0x4000, 0x1111);
  m.write64(0x4ff8, 0x2222);
  m.write64(0x7000, 0x3333);
  m.copy_frame(6, 4);  // into an unpopulated frame
  EXPECT_EQ(m.read64(0x6000), 0x1111u);
  EXPECT_EQ(m.read64(0x6ff8), 0x2222u);
  m.copy_frame(7, 4);  // over a populated one
  EXPECT_EQ(m.read64(0x7000), 0x1111u);
  EXPECT_EQ(m.populated_frames(), 3u);
  m.copy_frame(7, 9);  // an unwritten source: the destination reads zero and is dropped
  EXPECT_EQ(m.read64(0x7000), 0u);
  EXPECT_EQ(m.populated_frames(), 2u);
  m.copy_frame(8, 9);
  EXPECT_EQ(m.populated_frames(), 2u);
  m.copy_frame(4, 4);  // onto itself: unchanged
  EXPECT_EQ(m.read64(0x4000), 0x1111u);
  EXPECT_THROW(m.copy_frame(256, 4), std::out_of_range);
  EXPECT_THROW(m.copy_frame(4, 256), std::out_of_range);
}

TEST(PhysicalMemory, OutOfRangeThrows) {
  PhysicalMemory m(1 << 20);
  EXPECT_THROW(m.read64(1 << 20), std::out_of_range);
  EXPECT_THROW(m.write64(1 << 20, 1), std::out_of_range);
  EXPECT_THROW(m.read(1 << 20, 4), std::out_of_range);
  EXPECT_THROW(m.read64(~0ull - 7), std::out_of_range);  // pa + 8 wraps around
  EXPECT_THROW(m.write64(~0ull - 7, 1), std::out_of_range);
  EXPECT_THROW(m.zero_frame(256), std::out_of_range);  // 1 MiB = frames 0..255
  EXPECT_NO_THROW(m.zero_frame(255));
  EXPECT_EQ(m.populated_frames(), 0u);
}

TEST(PhysicalMemory, MisalignedOrOddSizedAccessThrows) {
  PhysicalMemory m(1 << 20);
  EXPECT_THROW(m.read64(4), std::invalid_argument);
  EXPECT_THROW(m.write64(0xffc, 1), std::invalid_argument);  // would straddle two frames
  EXPECT_THROW(m.read(2, 4), std::invalid_argument);
  EXPECT_THROW(m.read(1, 2), std::invalid_argument);
  EXPECT_THROW(m.read(0, 3), std::invalid_argument);
  EXPECT_THROW(m.write(0, 16, 0), std::invalid_argument);
  EXPECT_THROW(m.read(0, 0), std::invalid_argument);
  EXPECT_EQ(m.populated_frames(), 0u);
}

// ---------------------------------------------------------------- MemoryController

struct Ctrl {
  StatGroup stats{"memory"};
  MemoryController mc;
  explicit Ctrl(const MemoryTiming& t) : mc(t, stats) {}
  std::uint64_t stat(const char* name) const {
    const StatGroup::Entry* e = stats.find(name);
    return e && e->counter ? e->counter->value() : ~0ull;
  }
};

MemoryTiming dram(unsigned channels, unsigned banks, std::uint64_t row_bytes, bool open) {
  MemoryTiming t;
  t.model = MemoryTiming::Model::Dram;
  t.channels = channels;
  t.banks = banks;
  t.row_bytes = row_bytes;
  t.tRCD = 11;
  t.tCL = 13;
  t.tRP = 17;
  t.tBURST = 3;
  t.open_page = open;
  return t;
}

constexpr Cycles kHit = 13 + 3;                 // tCL + tBURST
constexpr Cycles kMiss = 11 + 13 + 3;           // tRCD + tCL + tBURST
constexpr Cycles kConflict = 17 + 11 + 13 + 3;  // tRP + tRCD + tCL + tBURST

TEST(MemoryController, FixedLatency) {
  MemoryTiming t;
  t.model = MemoryTiming::Model::Fixed;
  t.fixed_latency = 123;
  Ctrl c(t);
  EXPECT_EQ(c.mc.access(0, false), 123u);
  EXPECT_EQ(c.mc.access(0, false), 123u);
  EXPECT_EQ(c.mc.access(1ull << 30, true), 123u);
  EXPECT_EQ(c.mc.access(0x12345678, false), 123u);
  EXPECT_EQ(c.stat("reads"), 3u);
  EXPECT_EQ(c.stat("writes"), 1u);
  // The fixed model has no rows.
  EXPECT_EQ(c.stat("row_hits"), 0u);
  EXPECT_EQ(c.stat("row_misses"), 0u);
  EXPECT_EQ(c.stat("row_conflicts"), 0u);
}

TEST(MemoryController, DefaultTimingIsDesignValues) {
  // The default DRAM (README, "Configuration"): tRCD 16, tCL 16, tRP 16, tBURST 4, 16 banks, 8 KiB rows.
  MemoryTiming t;
  t.model = MemoryTiming::Model::Dram;
  Ctrl c(t);
  EXPECT_EQ(c.mc.access(0, false), 16u + 16 + 4);                // closed bank
  EXPECT_EQ(c.mc.access(8, false), 16u + 4);                     // row hit
  EXPECT_EQ(c.mc.access(1ull << 17, false), 16u + 16 + 16 + 4);  // row 1, bank 0: conflict
}

TEST(MemoryController, OpenPolicyHitMissConflict) {
  // 1 channel, 16 banks, 8 KiB rows: column = bits 12:0, bank = bits 16:13,
  // row = bits 63:17.
  Ctrl c(dram(1, 16, 8192, true));
  EXPECT_EQ(c.mc.access(0x0, false), kMiss);           // bank 0: nothing open yet
  EXPECT_EQ(c.mc.access(0x40, false), kHit);           // bank 0 row 0 again
  EXPECT_EQ(c.mc.access(0x1fff & ~7ull, true), kHit);  // last bytes of the same row
  EXPECT_EQ(c.mc.access(0x20000, false), kConflict);   // bank 0, row 1
  EXPECT_EQ(c.mc.access(0x20040, false), kHit);        // row 1 now open
  EXPECT_EQ(c.mc.access(0x0, false), kConflict);       // back to row 0
  EXPECT_EQ(c.stat("reads"), 5u);
  EXPECT_EQ(c.stat("writes"), 1u);
  EXPECT_EQ(c.stat("row_hits"), 3u);
  EXPECT_EQ(c.stat("row_misses"), 3u);  // a conflict is a miss too
  EXPECT_EQ(c.stat("row_conflicts"), 2u);
}

TEST(MemoryController, DifferentBanksDoNotConflict) {
  Ctrl c(dram(1, 16, 8192, true));
  EXPECT_EQ(c.mc.access(0x0, false), kMiss);               // bank 0 row 0
  EXPECT_EQ(c.mc.access(0x2000, false), kMiss);            // bank 1 row 0: its own row buffer
  EXPECT_EQ(c.mc.access(0x1e000, false), kMiss);           // bank 15 row 0
  EXPECT_EQ(c.mc.access(0x20000 + 0x4000, false), kMiss);  // bank 2 row 1: bank 2 was closed
  // Every bank kept its own row open.
  EXPECT_EQ(c.mc.access(0x8, false), kHit);
  EXPECT_EQ(c.mc.access(0x2008, false), kHit);
  EXPECT_EQ(c.mc.access(0x1e008, false), kHit);
  EXPECT_EQ(c.mc.access(0x24008, false), kHit);
  // 0x22000: bit 17 set (row 1), bits 16:13 = 0001 (bank 1), where row 0 is open.
  EXPECT_EQ(c.mc.access(0x22000, false), kConflict);
  EXPECT_EQ(c.stat("row_hits"), 4u);
  EXPECT_EQ(c.stat("row_misses"), 5u);
  EXPECT_EQ(c.stat("row_conflicts"), 1u);
}

TEST(MemoryController, BankBitsWrapIntoTheRow) {
  // 16 banks of 8 KiB rows: 16 * 8 KiB = 128 KiB covers each row index once
  // over all banks; 0x20000 is bank 0 again, one row up.
  Ctrl c(dram(1, 16, 8192, true));
  for (std::uint64_t b = 0; b < 16; ++b) EXPECT_EQ(c.mc.access(b * 0x2000, false), kMiss) << "bank " << b;
  for (std::uint64_t b = 0; b < 16; ++b) EXPECT_EQ(c.mc.access(0x20000 + b * 0x2000, false), kConflict) << "bank " << b;
}

TEST(MemoryController, ChannelBitsSitBetweenColumnAndBank) {
  // 2 channels, 4 banks, 1 KiB rows: column = bits 9:0, channel = bit 10,
  // bank = bits 12:11, row = bits 63:13.
  Ctrl c(dram(2, 4, 1024, true));
  EXPECT_EQ(c.mc.access(0x0, false), kMiss);         // channel 0 bank 0 row 0
  EXPECT_EQ(c.mc.access(0x400, false), kMiss);       // channel 1 bank 0 row 0: another channel
  EXPECT_EQ(c.mc.access(0x3f8, false), kHit);        // channel 0 bank 0 row 0 (column 0x3f8)
  EXPECT_EQ(c.mc.access(0x7f8, false), kHit);        // channel 1 bank 0 row 0
  EXPECT_EQ(c.mc.access(0x800, false), kMiss);       // channel 0 bank 1 row 0
  EXPECT_EQ(c.mc.access(0x1800, false), kMiss);      // channel 0 bank 3 row 0
  EXPECT_EQ(c.mc.access(0x2000, false), kConflict);  // channel 0 bank 0 row 1
  EXPECT_EQ(c.mc.access(0x2400, false), kConflict);  // channel 1 bank 0 row 1
  EXPECT_EQ(c.mc.access(0x2408, false), kHit);
  EXPECT_EQ(c.stat("row_hits"), 3u);
  EXPECT_EQ(c.stat("row_misses"), 6u);
  EXPECT_EQ(c.stat("row_conflicts"), 2u);
}

TEST(MemoryController, ClosedPolicyAlwaysActivates) {
  Ctrl c(dram(1, 16, 8192, false));
  EXPECT_EQ(c.mc.access(0x0, false), kMiss);
  EXPECT_EQ(c.mc.access(0x0, false), kMiss);  // same row: closed after the last access
  EXPECT_EQ(c.mc.access(0x40, true), kMiss);
  EXPECT_EQ(c.mc.access(0x20000, false), kMiss);  // another row of bank 0: no precharge to wait for
  EXPECT_EQ(c.mc.access(0x2000, false), kMiss);
  EXPECT_EQ(c.stat("reads"), 4u);
  EXPECT_EQ(c.stat("writes"), 1u);
  EXPECT_EQ(c.stat("row_hits"), 0u);
  EXPECT_EQ(c.stat("row_misses"), 5u);
  EXPECT_EQ(c.stat("row_conflicts"), 0u);
}

TEST(MemoryController, StatisticNamesAreTheContract) {
  // README, "Statistics": memory.reads, .writes, .row_hits, .row_misses.
  StatGroup root;
  MemoryController mc(MemoryTiming{}, root.group("memory"));
  for (const char* n : {"memory.reads", "memory.writes", "memory.row_hits", "memory.row_misses"}) {
    const StatGroup::Entry* e = root.find(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->kind, StatGroup::Kind::Counter) << n;
  }
}

// ---------------------------------------------------------------- FR-FCFS batches
//
// Geometry for these: 1 channel, 4 banks, 1 KiB rows, so an address is
// row * 4096 + bank * 1024 + column. Worked by hand from the rule in
// memory_controller.h: among waiting requests the oldest row hit goes first,
// else the oldest; a request's data leaves tBURST after max(bank free +
// command time, bus free), and it holds its bank and the bus until then.

PAddr at(unsigned bank, unsigned row) { return PAddr{row} * 4096 + PAddr{bank} * 1024; }

TEST(MemoryControllerFrFcfs, RowHitWriteBackGoesBeforeTheDemandAndDelaysIt) {
  Ctrl c(dram(1, 4, 1024, true));
  EXPECT_EQ(c.mc.access(at(0, 5), false), kMiss);  // opens row 5 in bank 0
  // Demand to row 7 of bank 0 (a conflict) queued with a write-back to the open row 5.
  MemRequest q[2] = {{at(0, 7), false}, {at(0, 5) + 64, true}};
  // Write-back first (row hit): its data ends at tCL + tBURST = 16. Then the
  // demand conflicts with row 5: tRP + tRCD + tCL later, then its burst.
  EXPECT_EQ(c.mc.serve(q, 2), Cycles{13 + 3 + 17 + 11 + 13 + 3});
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{1, 0}));
  EXPECT_EQ(c.stat("row_hits"), 1u);
  EXPECT_EQ(c.stat("row_conflicts"), 1u);
  EXPECT_EQ(c.stat("reads"), 2u);
  EXPECT_EQ(c.stat("writes"), 1u);
}

TEST(MemoryControllerFrFcfs, NoRowHitMeansOldestFirst) {
  Ctrl c(dram(1, 4, 1024, true));
  c.mc.access(at(0, 5), false);
  // Banks 1 and 2 are closed: neither request hits, the demand (oldest) goes first.
  MemRequest q[2] = {{at(1, 3), false}, {at(2, 4), true}};
  EXPECT_EQ(c.mc.serve(q, 2), kMiss);
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{0, 1}));
}

TEST(MemoryControllerFrFcfs, TwoRowHitsOldestFirst) {
  Ctrl c(dram(1, 4, 1024, true));
  c.mc.access(at(0, 5), false);
  c.mc.access(at(1, 3), false);
  MemRequest q[2] = {{at(1, 3) + 128, false}, {at(0, 5) + 128, true}};
  EXPECT_EQ(c.mc.serve(q, 2), kHit);
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{0, 1}));
}

TEST(MemoryControllerFrFcfs, SharedDataBusDelaysAnotherBank) {
  Ctrl c(dram(1, 4, 1024, true));
  c.mc.access(at(0, 5), false);
  // Demand to closed bank 1; two write-backs hitting row 5 of bank 0 go first.
  MemRequest q[3] = {{at(1, 3), false}, {at(0, 5) + 64, true}, {at(0, 5) + 192, true}};
  // wb1: data 13..16. wb2: bank 0 free at 16, +tCL = 29, data to 32.
  // Demand: bank 1 ready at tRCD + tCL = 24, but the bus is busy until 32: done 35.
  EXPECT_EQ(c.mc.serve(q, 3), Cycles{35});
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{1, 2, 0}));
}

TEST(MemoryControllerFrFcfs, SeparateChannelsDoNotShareABus) {
  Ctrl c(dram(2, 4, 1024, true));  // column 10 bits, then 1 channel bit, then 2 bank bits
  c.mc.access(0, false);           // channel 0, bank 0, row 0 open
  // Demand on channel 1 (bit 10) to a closed bank; write-back hitting channel 0.
  MemRequest q[2] = {{1024, false}, {64, true}};
  EXPECT_EQ(c.mc.serve(q, 2), kMiss);  // the write-back's burst is on the other bus
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{1, 0}));
}

TEST(MemoryControllerFrFcfs, ClosedPolicyHasNoRowHitsSoOldestFirst) {
  Ctrl c(dram(1, 4, 1024, false));
  c.mc.access(at(0, 5), false);  // precharged again afterwards
  MemRequest q[2] = {{at(0, 7), false}, {at(0, 5), true}};
  // Both activate: the demand first (tRCD + tCL + tBURST = 27), then the
  // write-back in the same bank from 27 on: done at 54.
  EXPECT_EQ(c.mc.serve(q, 2), kMiss);
  EXPECT_EQ(c.mc.last_order(), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(c.stat("row_hits"), 0u);
}

TEST(MemoryControllerFrFcfs, FixedModelPostsTheRest) {
  MemoryTiming t;
  t.model = MemoryTiming::Model::Fixed;
  t.fixed_latency = 77;
  Ctrl c(t);
  MemRequest q[3] = {{0, false}, {4096, true}, {8192, true}};
  EXPECT_EQ(c.mc.serve(q, 3), 77u);
  EXPECT_EQ(c.stat("reads"), 1u);
  EXPECT_EQ(c.stat("writes"), 2u);
}

}  // namespace
}  // namespace mmusim
