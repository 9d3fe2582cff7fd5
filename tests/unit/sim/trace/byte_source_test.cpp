// The byte source under every reader (sim/trace/byte_source.h): plain,
// gzip, xz and zstd input, concatenated members, truncated and corrupt data.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/trace/byte_source.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

TEST_F(TraceReaderTest, CompressedFilesDecodeToTheSameRecords) {
  std::string text = write("s.txt", kTextSample);
  std::string lackey = write("s.lackey", kLackeySample);
  const struct {
    const char* tool;
    const char* ext;
    const char* name;
  } codecs[] = {{"gzip", ".gz", "gzip"}, {"xz", ".xz", "xz"}, {"zstd -q", ".zst", "zstd"}};
  for (const auto& c : codecs) {
    std::string t = compress(c.tool, text, c.ext);
    std::string l = compress(c.tool, lackey, c.ext);
    EXPECT_EQ(ByteSource(t).compression(), std::string(c.name));
    EXPECT_EQ(read_text(t), kTextSampleRecords) << c.name;
    EXPECT_EQ(read_lackey(l), kLackeySampleRecords) << c.name;
    EXPECT_EQ(open_trace(t, "auto")->format_name(), std::string("text")) << c.name;
    EXPECT_EQ(open_trace(l, "auto")->format_name(), std::string("lackey")) << c.name;
  }
  EXPECT_EQ(ByteSource(text).compression(), std::string("none"));
}

TEST_F(TraceReaderTest, ConcatenatedMembersAndFramesAreAllRead) {
  std::string a = write("a.txt", "R 0x1\n");
  std::string b = write("b.txt", "W 0x2\n");
  const struct {
    const char* tool;
    const char* ext;
  } codecs[] = {{"gzip", ".gz"}, {"xz", ".xz"}, {"zstd -q", ".zst"}};
  for (const auto& c : codecs) {
    std::string out = m_dir + "/ab" + c.ext;
    run(std::string(c.tool) + " -c '" + a + "' > '" + out + "'");
    run(std::string(c.tool) + " -c '" + b + "' >> '" + out + "'");
    EXPECT_EQ(read_text(out), (std::vector<std::string>{"load 0x1 8", "store 0x2 8"})) << c.ext;
  }
}

// Deterministic pseudo-random text that compresses to several chunks, so
// decoders are exercised across input and output buffer boundaries.
std::string make_bulk_text(int lines) {
  std::string s;
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < lines; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char buf[64];
    std::snprintf(buf, sizeof buf, "R 0x%llx %d\n", static_cast<unsigned long long>(x), i % 64 + 1);
    s += buf;
  }
  return s;
}

TEST_F(TraceReaderTest, ByteSourceReturnsTheExactBytesInSmallReads) {
  // About 3.5 MiB, compressing to more than one 1 MiB input chunk with each
  // tool (xz -0 keeps the test quick).
  std::string content = make_bulk_text(150000);
  std::string plain = write("bulk.txt", content);
  const struct {
    const char* tool;
    const char* ext;
  } codecs[] = {{"gzip", ".gz"}, {"xz -0", ".xz"}, {"zstd -q", ".zst"}};
  for (const auto& [tool, ext] : codecs) {
    std::string z = compress(tool, plain, ext);
    ASSERT_GT(std::filesystem::file_size(z), ByteSource::kChunkBytes) << tool;
    ByteSource src(z);
    std::string got;
    char buf[4093];
    for (std::size_t n; (n = src.read(buf, sizeof buf)) != 0;) got.append(buf, n);
    EXPECT_EQ(got.size(), content.size()) << tool;
    EXPECT_TRUE(got == content) << tool;
    EXPECT_EQ(src.read(buf, sizeof buf), 0u);
  }
}

TEST_F(TraceReaderTest, TruncatedCompressedFilesFail) {
  std::string plain = write("t.txt", make_bulk_text(20000));
  const struct {
    const char* tool;
    const char* ext;
    const char* name;
  } codecs[] = {{"gzip", ".gz", "gzip"}, {"xz", ".xz", "xz"}, {"zstd -q", ".zst", "zstd"}};
  for (const auto& c : codecs) {
    std::string z = compress(c.tool, plain, c.ext);
    std::filesystem::resize_file(z, std::filesystem::file_size(z) / 2);
    std::string msg = error_of(z, "text");
    EXPECT_EQ(msg.rfind(z + ": corrupt " + c.name + " data at compressed byte ", 0), 0u) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  // Only the magic: the stream ends before its header does.
  std::string bare = write("bare.zst", std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_EQ(error_of(bare, "text"),
            bare + ": corrupt zstd data at compressed byte 4: unexpected end of file (truncated?)");
}

TEST_F(TraceReaderTest, CorruptZstdFails) {
  std::string plain = write("cz.txt", make_bulk_text(20000));
  std::string z = m_dir + "/cz.zst";
  run("zstd -q --check -c '" + plain + "' > '" + z + "'");
  {
    std::fstream f(z, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(z) / 2));
    f.write(std::string(64, '\xa5').data(), 64);
  }
  std::string msg = error_of(z, "text");
  EXPECT_EQ(msg.rfind(z + ": corrupt zstd data at compressed byte ", 0), 0u) << msg;
}

TEST_F(TraceReaderTest, GarbageAfterGzipMemberFails) {
  std::string plain = write("g.txt", "R 0x1\n");
  std::string z = compress("gzip", plain, ".gz");
  run("printf 'junkjunk' >> '" + z + "'");
  std::string msg = error_of(z, "text");
  EXPECT_EQ(msg.rfind(z + ": corrupt gzip data at compressed byte ", 0), 0u) << msg;
}

}  // namespace
}  // namespace mmusim

// A file that opens but cannot be read (a directory: read() fails with
// EISDIR) is an error, and the descriptor opened for it is closed again.
TEST(ByteSourceTest, UnreadablePathThrowsAndLeaksNoDescriptor) {
  auto open_fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::size_t before = open_fds();
  for (int i = 0; i < 8; ++i) {
    try {
      mmusim::ByteSource src(dir);
      ADD_FAILURE() << "reading a directory did not throw";
    } catch (const mmusim::TraceError& e) {
      EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(open_fds(), before);
}
