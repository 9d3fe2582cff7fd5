// Lossless round trips between trace formats: text -> bin -> text and
// bin -> text -> bin byte-identical, lackey -> bin -> lackey.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sim/trace/bin_format.h"
#include "sim/trace/bin_reader.h"
#include "sim/trace/byte_source.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/trace_reader.h"
#include "sim/trace/trace_writer.h"
#include "tests/support/bin_trace.h"
#include "tests/support/temp_file.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

namespace fs = std::filesystem;

// --- round trips -----------------------------------------------------------------

// A canonical text trace with every record kind, every bin size op and escape,
// every address width and deltas of both signs, long enough to cross buffer
// ends in readers and writers.
std::string canonical_text() {
  std::string t;
  char line[96];
  auto add = [&](const char* s) { t += s; };
  add("@proc 1\n@mmap 0x400000 0x2000 r-x file\n@mmap 0x7f0000000000 0x200000 rw- anon huge\n");
  add("@mmap 0x1000 0x1000 --- anon\n@mmap 0x2000 0x1000 -wx file huge\n@munmap 0x400000 0x2000\n");
  add("@mmap 0x40000000 0x40000000 rw- anon hugetlb\n@mmap 0x80000000 0x1000 r-- anon huge hugetlb\n");
  add("@mmap 0x90000000 0x3000 r-x file=/usr/lib/libc.so.6 off=0x2000\n@mmap 0xa0000000 0x1000 rw- file=inode:8:77 "
      "shared\n@mmap 0xb0000000 0x1000 rw- file=/x huge\n");
  add("@mprotect 0x400000 0x1000 r--\n@mprotect 0xfffffffffffff000 0x1000 rwx\n@brk 0x602000\n@fork 4294967295\n");
  add("@clone 4294967294\n@thread 4294967294\n@thread 1\n@clone 0\n");
  add("@proc 4294967295\n@invlpg 0xdead000\n@invlpg 0x0\n@mark phase_1.b-2\n@exit\n@proc 0\n");
  const char kLetters[] = "RWXM";
  const unsigned kSizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 32, 63, 64, 65, 127, 128, 4095, 4096};
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  std::uint64_t addr[4] = {0x400000, 0x7ffd0000, 0x401000, 0x602000};
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const unsigned k = x & 3;
    const unsigned size = kSizes[(x >> 2) % 20];
    // Mostly sequential or small steps, sometimes far jumps of any width.
    const unsigned choice = (x >> 8) & 15;
    if (choice < 6) {
      addr[k] += 0;
    } else if (choice < 10) {
      addr[k] += static_cast<std::uint64_t>(static_cast<std::int64_t>((x >> 16) & 0xff) - 128);
    } else if (choice < 14) {
      const unsigned bits = 8 + static_cast<unsigned>((x >> 24) % 56);
      const std::uint64_t step = (x >> 32) & ((std::uint64_t{1} << (bits > 32 ? 32 : bits)) - 1);
      addr[k] += (x & (1u << 5)) ? step << (bits > 32 ? bits - 32 : 0) : -(step << (bits > 32 ? bits - 32 : 0));
    } else {
      addr[k] = x;
    }
    std::snprintf(line, sizeof line, "%c 0x%llx %u\n", kLetters[k], static_cast<unsigned long long>(addr[k]), size);
    t += line;
    addr[k] += size;
    if (i % 50000 == 49999) t += "@mark m" + std::to_string(i) + "\n@proc " + std::to_string(i) + "\n";
  }
  t += "R 0xffffffffffffffff 4096\nW 0x0 1\nX 0x8000000000000000 8\nM 0x7fffffffffffffff 2\n";
  return t;
}

TEST_F(BinTraceTest, TextBinTextIsByteIdenticalAndBinTextBinToo) {
  const std::string text = canonical_text();
  std::string t0 = write_text("t0.txt", text);
  std::string b1 = path("b1.bin");
  std::string t2 = path("t2.txt");
  std::string b3 = path("b3.bin");
  const std::uint64_t n = convert(t0, b1, "bin");
  // The last 4: @clone, @thread, @thread, @clone; 3 more: the @mmap records with a file identity.
  EXPECT_EQ(n, 200000u + 18 + 8 + 4 + 4 + 3);
  EXPECT_EQ(convert(b1, t2, "text"), n);
  EXPECT_EQ(slurp(t2), text);
  EXPECT_EQ(convert(t2, b3, "bin"), n);
  EXPECT_EQ(slurp(b3), slurp(b1));
  // Compressed on the way.
  EXPECT_EQ(convert(t0, path("b4.bin.zst"), "bin"), n);
  EXPECT_EQ(convert(path("b4.bin.zst"), path("t5.txt.gz"), "text"), n);
  run("gzip -dc '" + path("t5.txt.gz") + "' > '" + path("t5.txt") + "'");
  EXPECT_EQ(slurp(path("t5.txt")), text);
  // The bin file is much smaller than the text.
  EXPECT_LT(fs::file_size(b1) * 3, text.size());
}

TEST_F(BinTraceTest, LackeyBinLackeyIsByteIdentical) {
  const std::string lackey =
      "I  00401004,4\n L 1ffefffd28,8\n S 1ffefffd20,8\nI  00401008,3\n M 00601040,4\n"
      "I  0040100b,15\n L 00000000,1\n S ffffffffffffffff,32\nI  00400ff0,2\n";
  std::string l0 = write_text("l0.lackey", lackey);
  EXPECT_EQ(convert(l0, path("l1.bin"), "bin"), 9u);
  EXPECT_EQ(convert(path("l1.bin"), path("l2.lackey"), "lackey"), 9u);
  EXPECT_EQ(slurp(path("l2.lackey")), lackey);
}

TEST_F(BinTraceTest, BundledTracesRoundTrip) {
  // The real traces of traces/, capped so that the test stays quick.
  const std::uint64_t kMaxRecords = 2000000;
  int seen = 0;
  const fs::path dir = fs::path(MMUSIM_SOURCE_DIR) / "traces";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string in = entry.path().string();
    if (entry.path().extension() != ".zst") continue;
    ++seen;
    SCOPED_TRACE(in);
    const std::string b1 = path("real1.bin.zst");
    const std::uint64_t n = convert(in, b1, "bin", kMaxRecords);
    // The bin file gives back exactly the records of the original.
    auto original = open_trace(in, "auto");
    BinReader copy(b1);
    TraceRecord a;
    TraceRecord b;
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(original->next(a));
      ASSERT_TRUE(copy.next(b));
      ASSERT_EQ(describe(a), describe(b)) << "record " << i;
    }
    EXPECT_FALSE(copy.next(b));
    // bin -> text -> bin gives the same bytes.
    EXPECT_EQ(convert(b1, path("real2.txt"), "text"), n);
    EXPECT_EQ(convert(path("real2.txt"), path("real3.bin.zst"), "bin"), n);
    run("zstd -qdc '" + b1 + "' > '" + path("real1.bin") + "'");
    run("zstd -qdc '" + path("real3.bin.zst") + "' > '" + path("real3.bin") + "'");
    EXPECT_EQ(slurp(path("real3.bin")), slurp(path("real1.bin")));
  }
  if (seen == 0) GTEST_SKIP() << "no traces/*.zst";
}

}  // namespace
}  // namespace mmusim
