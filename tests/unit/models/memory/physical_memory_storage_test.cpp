// PhysicalMemory's storage follows the words in use: sparse frames of up to
// kSparseWords nonzero 8-byte words, dense 4 KiB frames beyond, and the
// same bytes read back either way. The byte-level expectations are those of
// a plain little-endian byte array (a reference model kept beside the
// memory here), so a representation change can never show in a read.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>

#include "models/memory/physical_memory.h"

namespace mmusim {
namespace {

constexpr unsigned kSparse = PhysicalMemory::kSparseWords;

TEST(PhysicalMemoryStorage, OneEntryPerTableStaysSparse) {
  // A page table that maps one page: one nonzero word in the frame.
  PhysicalMemory m(64ull << 20);
  for (std::uint64_t pfn = 0; pfn < 1000; ++pfn) m.write64(pfn * 4096 + 8 * (pfn % 512), pfn | 0x67);
  EXPECT_EQ(m.populated_frames(), 1000u);
  EXPECT_EQ(m.dense_frames(), 0u);
  // 1000 sparse frames fit in far less than 1000 dense frames' 4 MB.
  EXPECT_LT(m.storage_bytes(), 1000u * 4096 / 8);
  for (std::uint64_t pfn = 0; pfn < 1000; ++pfn) {
    EXPECT_EQ(m.read64(pfn * 4096 + 8 * (pfn % 512)), pfn | 0x67);
    EXPECT_EQ(m.read64(pfn * 4096 + 8 * ((pfn + 1) % 512)), 0u);
  }
}

TEST(PhysicalMemoryStorage, BecomesDenseAfterTheSparseLimitAndKeepsEveryWord) {
  PhysicalMemory m(1 << 20);
  for (unsigned w = 0; w < kSparse; ++w) m.write64(0x3000 + w * 8 * 3, 0x1000 + w);
  EXPECT_EQ(m.dense_frames(), 0u);
  m.write64(0x3ff8, 0xabc);  // one more nonzero word
  EXPECT_EQ(m.dense_frames(), 1u);
  EXPECT_EQ(m.populated_frames(), 1u);
  for (unsigned w = 0; w < kSparse; ++w) EXPECT_EQ(m.read64(0x3000 + w * 8 * 3), 0x1000u + w);
  EXPECT_EQ(m.read64(0x3ff8), 0xabcu);
  EXPECT_EQ(m.read64(0x3008), 0u);
}

TEST(PhysicalMemoryStorage, ZeroingEveryWordOfASparseFrameFreesIt) {
  PhysicalMemory m(1 << 20);
  m.write64(0x5000, 1);
  m.write64(0x5ff8, 2);
  EXPECT_EQ(m.populated_frames(), 1u);
  m.write64(0x5000, 0);
  EXPECT_EQ(m.populated_frames(), 1u);
  EXPECT_EQ(m.read64(0x5ff8), 2u);
  m.write(0x5ff8, 1, 0);  // the only nonzero byte of the last word
  EXPECT_EQ(m.populated_frames(), 0u);
  EXPECT_EQ(m.read64(0x5ff8), 0u);
}

TEST(PhysicalMemoryStorage, CopyFrameCopiesSparseAndDenseFrames) {
  PhysicalMemory m(1 << 20);
  m.write64(0x1000 + 16, 0x1111);                                            // sparse source
  for (unsigned w = 0; w <= kSparse; ++w) m.write64(0x2000 + w * 8, w + 1);  // dense source
  m.write64(0x3000, 0x77);                                                   // destination with old contents
  m.copy_frame(3, 1);
  EXPECT_EQ(m.read64(0x3000), 0u);  // old contents gone
  EXPECT_EQ(m.read64(0x3000 + 16), 0x1111u);
  m.copy_frame(4, 2);
  for (unsigned w = 0; w <= kSparse; ++w) EXPECT_EQ(m.read64(0x4000 + w * 8), w + 1u);
  EXPECT_EQ(m.dense_frames(), 2u);
  // The copies are independent of their sources.
  m.write64(0x1000 + 16, 5);
  m.write64(0x2000, 9);
  EXPECT_EQ(m.read64(0x3000 + 16), 0x1111u);
  EXPECT_EQ(m.read64(0x4000), 1u);
}

TEST(PhysicalMemoryStorage, RandomWritesOfEveryWidthMatchAByteArray) {
  // Four frames, writes of 1, 2, 4 and 8 bytes (zeros included, so frames
  // go sparse -> dense -> empty), against a byte-array reference.
  PhysicalMemory m(4 * 4096);
  std::map<std::uint64_t, std::uint8_t> ref;  // absent: zero
  std::mt19937_64 rng(42);
  const unsigned widths[] = {1, 2, 4, 8};
  for (int i = 0; i < 200000; ++i) {
    const unsigned bytes = widths[rng() % 4];
    // Few words per frame in the first half (sparse), many in the second.
    const std::uint64_t span = i < 100000 ? 24 : 512;
    const std::uint64_t frame = rng() % 4;
    const std::uint64_t pa = frame * 4096 + (rng() % span) * 8 + (rng() % (8 / bytes)) * bytes;
    const std::uint64_t value = rng() % 3 == 0 ? 0 : rng();
    if (rng() % 2) {
      m.write(pa, bytes, value);
      for (unsigned b = 0; b < bytes; ++b) ref[pa + b] = static_cast<std::uint8_t>(value >> (8 * b));
    } else {
      std::uint64_t expect = 0;
      for (unsigned b = 0; b < bytes; ++b) {
        auto it = ref.find(pa + b);
        expect |= std::uint64_t{it == ref.end() ? 0u : it->second} << (8 * b);
      }
      ASSERT_EQ(m.read(pa, bytes), expect) << "read of " << bytes << " bytes at " << pa << ", step " << i;
    }
    if (i % 50000 == 49999) {  // every frame cleared, as a freshly allocated page is
      for (std::uint64_t f = 0; f < 4; ++f) m.zero_frame(f);
      ref.clear();
      ASSERT_EQ(m.populated_frames(), 0u);
    }
  }
}

}  // namespace
}  // namespace mmusim
