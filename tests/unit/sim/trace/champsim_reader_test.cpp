// ChampSim binary trace readers (champsim, champsim-cloudsuite): records are
// built byte by byte at the offsets of traces/FORMAT.md, with a distinct
// value in every field, and the expanded access sequences are spelled out.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sim/trace/champsim_reader.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/trace_reader.h"
#include "tests/support/temp_file.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Layout = ChampSimReader::Layout;

// Writes v little-endian into b[off .. off + n).
void put(Bytes& b, std::size_t off, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b.at(off + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

// input_instr: ip @0, is_branch @8, branch_taken @9, dst regs u8[2] @10,
// src regs u8[4] @12, dst mem u64[2] @16, src mem u64[4] @32; 64 bytes.
struct Instr {
  std::uint64_t ip = 0;
  std::uint8_t is_branch = 0, branch_taken = 0;
  std::uint8_t dreg[4] = {};
  std::uint8_t sreg[4] = {};
  std::uint64_t dmem[4] = {};
  std::uint64_t smem[4] = {};
  std::uint8_t asid[2] = {};
};

void append_champsim(Bytes& b, const Instr& in) {
  const std::size_t o = b.size();
  b.resize(o + 64, 0);
  put(b, o + 0, in.ip, 8);
  put(b, o + 8, in.is_branch, 1);
  put(b, o + 9, in.branch_taken, 1);
  for (int i = 0; i < 2; ++i) put(b, o + 10 + i, in.dreg[i], 1);
  for (int i = 0; i < 4; ++i) put(b, o + 12 + i, in.sreg[i], 1);
  for (int i = 0; i < 2; ++i) put(b, o + 16 + 8 * i, in.dmem[i], 8);
  for (int i = 0; i < 4; ++i) put(b, o + 32 + 8 * i, in.smem[i], 8);
}

// cloudsuite_instr: ip @0, is_branch @8, branch_taken @9, dst regs u8[4] @10,
// src regs u8[4] @14, dst mem u64[4] @24, src mem u64[4] @56, asid u8[2] @88;
// 96 bytes. The padding (18..23, 90..95) is filled with junk, which the reader
// must ignore.
void append_cloudsuite(Bytes& b, const Instr& in) {
  const std::size_t o = b.size();
  b.resize(o + 96, 0);
  put(b, o + 0, in.ip, 8);
  put(b, o + 8, in.is_branch, 1);
  put(b, o + 9, in.branch_taken, 1);
  for (int i = 0; i < 4; ++i) put(b, o + 10 + i, in.dreg[i], 1);
  for (int i = 0; i < 4; ++i) put(b, o + 14 + i, in.sreg[i], 1);
  for (int i = 18; i < 24; ++i) put(b, o + i, 0xa5, 1);
  for (int i = 0; i < 4; ++i) put(b, o + 24 + 8 * i, in.dmem[i], 8);
  for (int i = 0; i < 4; ++i) put(b, o + 56 + 8 * i, in.smem[i], 8);
  put(b, o + 88, in.asid[0], 1);
  put(b, o + 89, in.asid[1], 1);
  for (int i = 90; i < 96; ++i) put(b, o + i, 0x5a, 1);
}

// A record with every field set and different from every other field.
Instr full_instr() {
  Instr in;
  in.ip = 0x00007f0011223344;
  in.is_branch = 1;
  in.branch_taken = 1;
  in.dreg[0] = 0x31, in.dreg[1] = 0x32, in.dreg[2] = 0x33, in.dreg[3] = 0x34;
  in.sreg[0] = 0x41, in.sreg[1] = 0x42, in.sreg[2] = 0x43, in.sreg[3] = 0x44;
  in.dmem[0] = 0x00007ffd00000d00, in.dmem[1] = 0x00007ffd00000d11;
  in.dmem[2] = 0x00007ffd00000d22, in.dmem[3] = 0x00007ffd00000d33;
  in.smem[0] = 0x0000555500000500, in.smem[1] = 0x0000555500000511;
  in.smem[2] = 0x0000555500000522, in.smem[3] = 0x0000555500000533;
  return in;
}

// Every record with the location it came from: "load 0x10 1 @ FILE: byte 64".
std::vector<std::string> read_located(TraceReader& reader) {
  std::vector<std::string> out;
  TraceRecord rec;
  while (reader.next(rec)) out.push_back(describe(rec) + " @ " + reader.location());
  return out;
}

// The expansion, computed independently, for the big generated traces.
void expand(const Instr& in, bool cloudsuite, std::vector<std::string>& out) {
  TraceRecord r;
  r.kind = RecordKind::Access;
  r.size = 1;
  r.access = AccessKind::IFetch;
  r.addr = in.ip;
  out.push_back(describe(r));
  for (std::uint64_t a : in.smem) {
    if (a == 0) continue;
    r.access = AccessKind::Load;
    r.addr = a;
    out.push_back(describe(r));
  }
  for (int i = 0; i < (cloudsuite ? 4 : 2); ++i) {
    if (in.dmem[i] == 0) continue;
    r.access = AccessKind::Store;
    r.addr = in.dmem[i];
    out.push_back(describe(r));
  }
}

class ChampSimReaderTest : public TempDirTest {
 protected:
  std::string write(const std::string& name, const Bytes& content) { return write_bytes(name, content); }
  std::string write_text(const std::string& name, const std::string& content) {
    return TempDirTest::write(name, content);
  }
  std::string error_of(const std::string& path, const std::string& format) { return read_error(path, format); }
  std::string detect_error(const std::string& path) {
    try {
      return "detected " + detect_trace_format(path);
    } catch (const TraceError& e) {
      return e.what();
    }
  }
};

// --- champsim (64-byte records) ----------------------------------------------

TEST_F(ChampSimReaderTest, ChampsimRecordLayout) {
  Bytes b;
  append_champsim(b, full_instr());
  ASSERT_EQ(b.size(), 64u);
  std::string p = write("one.champsim", b);
  ChampSimReader reader(p, Layout::Champsim);
  EXPECT_EQ(std::string(reader.format_name()), "champsim");
  EXPECT_EQ(reader.location(), p);
  EXPECT_EQ(read_located(reader), (std::vector<std::string>{
                                      "ifetch 0x7f0011223344 1 @ " + p + ": byte 0",
                                      "load 0x555500000500 1 @ " + p + ": byte 0",
                                      "load 0x555500000511 1 @ " + p + ": byte 0",
                                      "load 0x555500000522 1 @ " + p + ": byte 0",
                                      "load 0x555500000533 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d00 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d11 1 @ " + p + ": byte 0",
                                  }));
  EXPECT_DOUBLE_EQ(reader.progress(), 1.0);
}

TEST_F(ChampSimReaderTest, ChampsimZeroOperandsSkippedAndLocations) {
  Bytes b;
  Instr a;  // only loads 1 and 3, store 1
  a.ip = 0x401000;
  a.sreg[0] = 7;
  a.smem[1] = 0x601008;
  a.smem[3] = 0x601f00;
  a.dmem[1] = 0x7ffe0010;
  append_champsim(b, a);
  Instr c;  // no memory operands at all
  c.ip = 0x401004;
  c.is_branch = 1;
  append_champsim(b, c);
  Instr d;  // a store only, to the same address twice (not deduplicated)
  d.ip = 0xffffffffffffffff;
  d.dmem[0] = 0x10;
  d.dmem[1] = 0x10;
  append_champsim(b, d);
  std::string p = write("skip.champsim", b);
  ChampSimReader reader(p, Layout::Champsim);
  EXPECT_EQ(read_located(reader), (std::vector<std::string>{
                                      "ifetch 0x401000 1 @ " + p + ": byte 0",
                                      "load 0x601008 1 @ " + p + ": byte 0",
                                      "load 0x601f00 1 @ " + p + ": byte 0",
                                      "store 0x7ffe0010 1 @ " + p + ": byte 0",
                                      "ifetch 0x401004 1 @ " + p + ": byte 64",
                                      "ifetch 0xffffffffffffffff 1 @ " + p + ": byte 128",
                                      "store 0x10 1 @ " + p + ": byte 128",
                                      "store 0x10 1 @ " + p + ": byte 128",
                                  }));
}

TEST_F(ChampSimReaderTest, EmptyFileIsAnEmptyTrace) {
  std::string p = write("empty", {});
  ChampSimReader reader(p, Layout::Champsim);
  EXPECT_TRUE(read_all(reader).empty());
  ChampSimReader cloud(p, Layout::Cloudsuite);
  EXPECT_TRUE(read_all(cloud).empty());
}

TEST_F(ChampSimReaderTest, TruncatedLastRecord) {
  Bytes b;
  append_champsim(b, full_instr());
  append_champsim(b, full_instr());
  b.resize(b.size() + 37, 0x11);
  std::string p = write("trunc.champsim", b);
  EXPECT_EQ(error_of(p, "champsim"), p + ": byte 128: expected a complete 64-byte champsim record, got 37 bytes");

  // The records before the partial one are all delivered first.
  ChampSimReader reader(p, Layout::Champsim);
  TraceRecord rec;
  int n = 0;
  try {
    while (reader.next(rec)) ++n;
    ADD_FAILURE() << "no error";
  } catch (const TraceError&) {
  }
  EXPECT_EQ(n, 14);
  EXPECT_EQ(reader.location(), p + ": byte 128");

  std::string one = write("one_byte", Bytes{0x42});
  EXPECT_EQ(error_of(one, "champsim"), one + ": byte 0: expected a complete 64-byte champsim record, got 1 byte");

  Bytes c;
  append_cloudsuite(c, full_instr());
  c.resize(c.size() + 64, 0x22);  // a whole champsim record's worth, still short of 96
  std::string q = write("trunc.cloudsuite", c);
  EXPECT_EQ(error_of(q, "champsim-cloudsuite"),
            q + ": byte 96: expected a complete 96-byte champsim-cloudsuite record, got 64 bytes");
}

TEST_F(ChampSimReaderTest, ZeroIpIsAnError) {
  Bytes b;
  append_champsim(b, full_instr());
  Instr z = full_instr();
  z.ip = 0;
  append_champsim(b, z);
  std::string p = write("zero.champsim", b);
  EXPECT_EQ(error_of(p, "champsim"), p + ": byte 64: expected a record with a non-zero ip, got ip 0");
  std::string zeros = write("zeros", Bytes(192, 0));
  EXPECT_EQ(error_of(zeros, "champsim-cloudsuite"), zeros + ": byte 0: expected a record with a non-zero ip, got ip 0");
}

// --- champsim-cloudsuite (96-byte records) -----------------------------------

TEST_F(ChampSimReaderTest, CloudsuiteRecordLayoutAndAsids) {
  Bytes b;
  Instr in = full_instr();
  in.asid[0] = 0;
  in.asid[1] = 0;
  append_cloudsuite(b, in);  // pid 1
  Instr second;
  second.ip = 0x400010;
  second.smem[2] = 0x1234;
  append_cloudsuite(b, second);  // same asid: no proc record
  Instr third;
  third.ip = 0x400020;
  third.dmem[3] = 0x5678;
  third.asid[0] = 5;
  third.asid[1] = 1;
  append_cloudsuite(b, third);  // pid 5 + 256 + 1
  Instr fourth = third;
  fourth.ip = 0x400024;
  fourth.dmem[3] = 0;
  append_cloudsuite(b, fourth);  // same asid again
  Instr fifth;
  fifth.ip = 0x400030;
  fifth.asid[0] = 0xff;
  fifth.asid[1] = 0xff;
  append_cloudsuite(b, fifth);  // pid 65536
  Instr sixth;
  sixth.ip = 0x400040;
  append_cloudsuite(b, sixth);  // back to asid 0: pid 1
  ASSERT_EQ(b.size(), 6u * 96);

  std::string p = write("cs.trace", b);
  ChampSimReader reader(p, Layout::Cloudsuite);
  EXPECT_EQ(std::string(reader.format_name()), "champsim-cloudsuite");
  EXPECT_EQ(read_located(reader), (std::vector<std::string>{
                                      "proc 1 @ " + p + ": byte 0",
                                      "ifetch 0x7f0011223344 1 @ " + p + ": byte 0",
                                      "load 0x555500000500 1 @ " + p + ": byte 0",
                                      "load 0x555500000511 1 @ " + p + ": byte 0",
                                      "load 0x555500000522 1 @ " + p + ": byte 0",
                                      "load 0x555500000533 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d00 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d11 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d22 1 @ " + p + ": byte 0",
                                      "store 0x7ffd00000d33 1 @ " + p + ": byte 0",
                                      "ifetch 0x400010 1 @ " + p + ": byte 96",
                                      "load 0x1234 1 @ " + p + ": byte 96",
                                      "proc 262 @ " + p + ": byte 192",
                                      "ifetch 0x400020 1 @ " + p + ": byte 192",
                                      "store 0x5678 1 @ " + p + ": byte 192",
                                      "ifetch 0x400024 1 @ " + p + ": byte 288",
                                      "proc 65536 @ " + p + ": byte 384",
                                      "ifetch 0x400030 1 @ " + p + ": byte 384",
                                      "proc 1 @ " + p + ": byte 480",
                                      "ifetch 0x400040 1 @ " + p + ": byte 480",
                                  }));
}

TEST_F(ChampSimReaderTest, CloudsuiteFirstRecordAlwaysNamesItsProcess) {
  Bytes b;
  Instr in;
  in.ip = 0x1000;
  in.asid[0] = 3;
  append_cloudsuite(b, in);
  std::string p = write("cs1", b);
  ChampSimReader reader(p, Layout::Cloudsuite);
  EXPECT_EQ(read_all(reader), (std::vector<std::string>{"proc 4", "ifetch 0x1000 1"}));
}

// --- big traces: buffer boundaries and compression ----------------------------

// n pseudo-random records; operands zero about half the time. Every ip is
// non-zero, and for cloudsuite the asid changes now and then.
std::vector<Instr> random_instrs(std::size_t n, std::uint64_t seed) {
  std::vector<Instr> out(n);
  std::uint64_t x = seed;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (Instr& in : out) {
    in.ip = (rnd() & 0x7fffffffffff) | 1;
    in.is_branch = rnd() & 1;
    in.branch_taken = in.is_branch & rnd();
    for (auto& r : in.dreg) r = static_cast<std::uint8_t>(rnd());
    for (auto& r : in.sreg) r = static_cast<std::uint8_t>(rnd());
    for (auto& m : in.dmem) m = (rnd() & 1) ? rnd() & 0x7fffffffffff : 0;
    for (auto& m : in.smem) m = (rnd() & 1) ? rnd() & 0x7fffffffffff : 0;
    if (rnd() % 64 == 0) in.asid[0] = static_cast<std::uint8_t>(rnd() % 3);
  }
  return out;
}

TEST_F(ChampSimReaderTest, CompressedAndPlainDecodeIdentically) {
  for (bool cloudsuite : {false, true}) {
    SCOPED_TRACE(cloudsuite ? "cloudsuite" : "champsim");
    // ~3 MiB either way: several reader buffers, and 1 MiB is not a multiple
    // of 96, so cloudsuite records straddle the buffer refills.
    const std::vector<Instr> instrs = random_instrs(cloudsuite ? 33000 : 50000, cloudsuite ? 7 : 3);
    Bytes b;
    std::vector<std::string> expected;
    int asid = -1;
    for (const Instr& in : instrs) {
      if (cloudsuite) {
        append_cloudsuite(b, in);
        const int a = in.asid[0] + 256 * in.asid[1];
        if (a != asid) expected.push_back("proc " + std::to_string(a + 1));
        asid = a;
      } else {
        append_champsim(b, in);
      }
      expand(in, cloudsuite, expected);
    }
    const std::string format = cloudsuite ? "champsim-cloudsuite" : "champsim";
    const std::string p = write(format + ".bin", b);
    const Layout layout = cloudsuite ? Layout::Cloudsuite : Layout::Champsim;
    for (const std::string& path : {p, compress("xz -1", p, ".xz"), compress("gzip -1", p, ".gz")}) {
      SCOPED_TRACE(path);
      ChampSimReader reader(path, layout);
      EXPECT_EQ(read_all(reader), expected);
      EXPECT_EQ(reader.location(), path + ": byte " + std::to_string(b.size() - (cloudsuite ? 96 : 64)));
      EXPECT_DOUBLE_EQ(reader.progress(), 1.0);
      auto detected = open_trace(path, "auto");
      EXPECT_EQ(std::string(detected->format_name()), format);
      EXPECT_EQ(read_all(*detected), expected);
    }
  }
}

TEST_F(ChampSimReaderTest, FormatNamesAndExplicitOpen) {
  const auto& names = trace_format_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "champsim"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "champsim-cloudsuite"), names.end());
  EXPECT_EQ(names.back(), "auto");

  Bytes b;
  append_cloudsuite(b, full_instr());
  append_cloudsuite(b, full_instr());  // 192 bytes: also three 64-byte records
  std::string p = write("x", b);
  auto as_champsim = open_trace(p, "champsim");
  EXPECT_EQ(std::string(as_champsim->format_name()), "champsim");
  EXPECT_EQ(as_champsim->path(), p);
  auto as_cloudsuite = open_trace(p, "champsim-cloudsuite");
  EXPECT_EQ(std::string(as_cloudsuite->format_name()), "champsim-cloudsuite");
  EXPECT_EQ(read_all(*as_cloudsuite).size(), 2u * 9 + 1);  // proc 1, then 1 + 4 + 4 each
}

TEST_F(ChampSimReaderTest, AutoDetection) {
  // champsim: every 64-byte record has an ip, so champsim wins, even for a
  // length that is also a multiple of 96.
  Bytes cs3;
  for (int i = 0; i < 3; ++i) append_champsim(cs3, full_instr());
  EXPECT_EQ(detect_error(write("c3", cs3)), "detected champsim");
  Bytes cs1;
  append_champsim(cs1, full_instr());
  EXPECT_EQ(detect_error(write("c1", cs1)), "detected champsim");

  // cloudsuite with the usual unused second operands: read 64 bytes at a
  // time, the second "ip" is source_memory[1] = 0.
  Instr sparse;
  sparse.ip = 0x400000;
  sparse.smem[0] = 0x1000;
  sparse.asid[0] = 2;
  Bytes cl2;
  append_cloudsuite(cl2, sparse);
  append_cloudsuite(cl2, sparse);
  EXPECT_EQ(detect_error(write("cl2", cl2)), "detected champsim-cloudsuite");
  // One 96-byte record: not a whole number of 64-byte records.
  Bytes cl1;
  append_cloudsuite(cl1, full_instr());
  EXPECT_EQ(detect_error(write("cl1", cl1)), "detected champsim-cloudsuite");
  // Cloudsuite whose operands are all used looks like champsim (documented).
  Bytes cl_full;
  append_cloudsuite(cl_full, full_instr());
  append_cloudsuite(cl_full, full_instr());
  EXPECT_EQ(detect_error(write("clf", cl_full)), "detected champsim");

  // Larger than the 64 KiB detection window, compressed or not.
  Bytes big_cs, big_cl;
  for (const Instr& in : random_instrs(3000, 11)) {
    append_champsim(big_cs, in);
    append_cloudsuite(big_cl, in);
  }
  std::string pcs = write("big.cs", big_cs);
  std::string pcl = write("big.cl", big_cl);
  EXPECT_EQ(detect_error(pcs), "detected champsim");
  EXPECT_EQ(detect_error(pcl), "detected champsim-cloudsuite");
  EXPECT_EQ(detect_error(compress("xz", pcs, ".xz")), "detected champsim");
  EXPECT_EQ(detect_error(compress("gzip", pcl, ".gz")), "detected champsim-cloudsuite");

  // Binary data that fits neither layout: not a multiple of 64 or 96 bytes,
  // a zero ip in both, cloudsuite branch bytes over 1, or text with a NUL.
  std::string undetectable = ": cannot detect the trace format; pass --format";
  Bytes odd = cs1;
  odd.push_back(0);
  std::string p = write("odd", odd);
  EXPECT_EQ(detect_error(p), p + undetectable);
  p = write("zeros", Bytes(192, 0));
  EXPECT_EQ(detect_error(p), p + undetectable);
  Bytes bad_flags;
  Instr f = sparse;
  f.is_branch = 2;
  append_cloudsuite(bad_flags, f);
  p = write("flags", bad_flags);
  EXPECT_EQ(detect_error(p), p + undetectable);
  p = write_text("nul.txt", std::string("R 0x1000\n\0\n", 11));
  EXPECT_EQ(detect_error(p), p + undetectable);

  // Text and lackey are still text and lackey.
  EXPECT_EQ(detect_error(write_text("t", "R 0x1000 8\n@proc 3\n")), "detected text");
  EXPECT_EQ(detect_error(write_text("l", "==1== Lackey\nI  04001f0,3\n L 1ffefffd28,8\n")), "detected lackey");
  // 64 bytes of text are not champsim.
  std::string sixty_four(63, 'x');
  sixty_four += '\n';
  p = write_text("t64", sixty_four);
  EXPECT_EQ(detect_error(p), p + undetectable);
}

TEST_F(ChampSimReaderTest, StdinPipeWithAutoDetection) {
  Bytes b;
  std::vector<std::string> expected;
  for (const Instr& in : random_instrs(50, 5)) {
    append_champsim(b, in);
    expand(in, false, expected);
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], b.data(), b.size()), static_cast<ssize_t>(b.size()));  // far below pipe capacity
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  std::vector<std::string> got;
  std::string format, location;
  double progress = 0;
  {
    auto reader = open_trace("-", "auto");
    format = reader->format_name();
    got = read_all(*reader);
    location = reader->location();
    progress = reader->progress();
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(format, "champsim");
  EXPECT_EQ(got, expected);
  EXPECT_EQ(location, "<stdin>: byte " + std::to_string(49 * 64));
  EXPECT_LT(progress, 0.0);
}

}  // namespace
}  // namespace mmusim
