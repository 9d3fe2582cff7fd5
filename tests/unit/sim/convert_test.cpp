// `mmusim convert`: run_convert() for formats, messages and exit codes, and
// the mmusim binary (MMUSIM_BIN) for the command line around it.

#include "sim/convert.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/run_mmusim.h"
#include "tests/support/temp_file.h"

namespace mmusim {
namespace {

namespace fs = std::filesystem;

// Canonical text: what TextWriter writes, so it survives text -> X -> text.
const std::string kText =
    "@proc 7\n"
    "@mmap 0x400000 0x2000 r-x file\n"
    "X 0x400000 4\n"
    "R 0x7ffd0000 8\n"
    "W 0x7ffcfff8 8\n"
    "M 0x601000 4\n"
    "@mark roi\n"
    "R 0x7ffd0000 16\n"
    "@exit\n";
const std::string kLackey =
    "I  00401004,4\n"
    " L 1ffefffd28,8\n"
    " S 1ffefffd20,8\n"
    " M 00601040,4\n";

class ConvertTest : public TempDirTest {
 protected:
  // run_convert() with its messages kept in m_err.
  int convert(const std::string& in, const std::string& out, const std::string& from = "auto",
              const std::string& to = "") {
    std::ostringstream err;
    const int code = run_convert(in, out, from, to, err);
    m_err = err.str();
    return code;
  }
  // The mmusim binary; stdout and stderr kept in m_out and m_err.
  int mmusim(const std::string& args) {
    const RunResult r = run_mmusim(args, path("stdout"), path("stderr"));
    m_out = r.out;
    m_err = r.err;
    return r.code;
  }
  // No OUT and no OUT.tmp.
  void expect_absent(const std::string& out) {
    EXPECT_FALSE(fs::exists(out)) << out;
    EXPECT_FALSE(fs::exists(out + ".tmp")) << out;
  }

  std::string m_out;
  std::string m_err;
};

TEST_F(ConvertTest, TextToBinAndBackWithMessages) {
  std::string t = write("t.txt", kText);
  std::string b = path("t.bin");
  EXPECT_EQ(convert(t, b), 0);
  EXPECT_EQ(m_err, "mmusim: " + t +
                       ": format text (auto-detected)\nmmusim: converted 9 records from text to bin: " + b + "\n");
  EXPECT_EQ(slurp(b).substr(0, 8), "MMUSIMTR");
  std::string back = path("back.txt");
  EXPECT_EQ(convert(b, back, "bin"), 0);
  EXPECT_EQ(m_err, "mmusim: converted 9 records from bin to text: " + back + "\n");  // no detection line
  EXPECT_EQ(slurp(back), kText);
}

TEST_F(ConvertTest, LackeyToEveryFormat) {
  std::string l = write("l.lackey", kLackey);
  EXPECT_EQ(convert(l, path("l.txt")), 0);
  EXPECT_EQ(m_err, "mmusim: " + l +
                       ": format lackey (auto-detected)\nmmusim: converted 4 records from lackey to text: " +
                       path("l.txt") + "\n");
  EXPECT_EQ(slurp(path("l.txt")),
            "X 0x401004 4\n"
            "R 0x1ffefffd28 8\n"
            "W 0x1ffefffd20 8\n"
            "M 0x601040 4\n");
  EXPECT_EQ(convert(l, path("l.bin.zst")), 0);
  EXPECT_EQ(convert(path("l.bin.zst"), path("l2.lackey.gz")), 0);
  EXPECT_EQ(convert(path("l2.lackey.gz"), path("l3.lackey")), 0);
  EXPECT_EQ(slurp(path("l3.lackey")), kLackey);
}

TEST_F(ConvertTest, OutputFormatFromNameOrTo) {
  std::string t = write("t.txt", kText);
  EXPECT_EQ(convert(t, path("a.trace")), 0);
  EXPECT_EQ(slurp(path("a.trace")), kText);
  EXPECT_EQ(convert(t, path("a.txt.xz")), 0);
  EXPECT_EQ(m_err.substr(m_err.rfind("converted")),
            "converted 9 records from text to text: " + path("a.txt.xz") + "\n");
  EXPECT_EQ(convert(t, path("a.out"), "auto", "bin"), 0);
  EXPECT_EQ(slurp(path("a.out")).substr(0, 8), "MMUSIMTR");
  EXPECT_EQ(convert(t, path("b.txt"), "text", "bin"), 0);  // --to wins over the name
  EXPECT_EQ(slurp(path("b.txt")).substr(0, 8), "MMUSIMTR");
}

TEST_F(ConvertTest, UsageErrorsExit2) {
  std::string t = write("t.txt", kText);
  EXPECT_EQ(convert(t, path("a.out")), 2);
  EXPECT_EQ(m_err, "mmusim: cannot tell the output format from the name '" + path("a.out") +
                       "'; pass --to text, bin or lackey, or name it *.txt, *.bin or *.lackey (optionally with "
                       ".zst, .gz or .xz)\n");
  expect_absent(path("a.out"));
  EXPECT_EQ(convert(t, path("a.bin"), "auto", "champsim"), 2);
  EXPECT_EQ(m_err, "mmusim: --to: unknown output format 'champsim' (valid: text, bin, lackey)\n");
  EXPECT_EQ(convert(t, path("a.bin"), "binary"), 2);
  EXPECT_EQ(m_err.rfind("mmusim: --from: unknown trace format 'binary' (valid: text, lackey, bin, ", 0), 0u) << m_err;
  expect_absent(path("a.bin"));
  EXPECT_EQ(convert(t, path("missing/a.bin")), 2);
  EXPECT_EQ(m_err, "mmusim: " + t + ": format text (auto-detected)\nmmusim: " + path("missing/a.bin") +
                       ": cannot create " + path("missing/a.bin") + ".tmp: No such file or directory\n");
  fs::create_directory(path("d.bin"));
  EXPECT_EQ(convert(t, path("d.bin")), 2);
  EXPECT_EQ(m_err.substr(m_err.find('\n') + 1), "mmusim: " + path("d.bin") + ": is a directory\n");
}

TEST_F(ConvertTest, BadInputExit3AndNoOutput) {
  std::string t = write("bad.txt", "R 0x10 8\nR 0x20 8\nR zz 8\n");
  std::string out = path("bad.bin");
  EXPECT_EQ(convert(t, out), 3);
  EXPECT_EQ(m_err, "mmusim: " + t + ": format text (auto-detected)\nmmusim: " + t +
                       ":3: expected an address in hex with 0x prefix, got 'zz'\nmmusim: nothing written to " + out +
                       "\n");
  expect_absent(out);

  EXPECT_EQ(convert(path("nonexistent.txt"), out), 3);
  EXPECT_EQ(m_err, "mmusim: " + path("nonexistent.txt") +
                       ": cannot open: No such file or directory\nmmusim: nothing "
                       "written to " +
                       out + "\n");

  std::string garbage = write("g.dat", "hello\n");
  EXPECT_EQ(convert(garbage, out), 3);
  EXPECT_EQ(m_err, "mmusim: " + garbage +
                       ": cannot detect the trace format; pass --format\nmmusim: nothing written to " + out + "\n");

  // A bin file cut short: reported with its byte offset.
  EXPECT_EQ(convert(write("t.txt", kText), path("t.bin")), 0);
  std::string bin = slurp(path("t.bin"));
  std::string cut = write("cut.bin", bin.substr(0, bin.size() - 1));  // without the end tag
  EXPECT_EQ(convert(cut, path("cut.txt")), 3);
  EXPECT_EQ(m_err, "mmusim: " + cut + ": format bin (auto-detected)\nmmusim: " + cut + ": byte " +
                       std::to_string(bin.size() - 1) +
                       ": expected a record or the end tag 0xff, got end of file (the trace was cut short)\n"
                       "mmusim: nothing written to " +
                       path("cut.txt") + "\n");
  expect_absent(path("cut.txt"));
}

TEST_F(ConvertTest, EventsCannotBecomeLackeyAndOldOutputSurvives) {
  std::string t = write("t.txt", "R 0x1000 8\n# comment\nW 0x2000\n@mmap 0x400000 0x1000 r-x\nR 0x3000 8\n");
  std::string out = write("old.lackey", "I  00001000,1\n");
  EXPECT_EQ(convert(t, out), 3);
  EXPECT_EQ(m_err, "mmusim: " + t + ": format text (auto-detected)\nmmusim: " + t +
                       ":4: lackey cannot express @mmap\nmmusim: nothing written to " + out + "\n");
  EXPECT_EQ(slurp(out), "I  00001000,1\n");
  EXPECT_FALSE(fs::exists(out + ".tmp"));

  // From bin the location is a byte offset.
  EXPECT_EQ(convert(write("e.txt", "R 0x1000 8\n@exit\n"), path("e.bin")), 0);
  EXPECT_EQ(convert(path("e.bin"), path("e.lackey"), "bin"), 3);
  EXPECT_EQ(m_err, "mmusim: " + path("e.bin") + ": byte 19: lackey cannot express @exit\nmmusim: nothing written to " +
                       path("e.lackey") + "\n");
  expect_absent(path("e.lackey"));
}

TEST_F(ConvertTest, InPlaceConversion) {
  // OUT is written aside and renamed at the end, so IN may be OUT.
  std::string t = write("same.txt", "R 0x10\n  W 0X20 0x10   # note\n");
  EXPECT_EQ(convert(t, t), 0);
  EXPECT_EQ(slurp(t), "R 0x10 8\nW 0x20 16\n");
}

// --- the command line -----------------------------------------------------------

TEST_F(ConvertTest, CommandLineSuccessAndStdio) {
  std::string l = write("l.lackey", kLackey);
  EXPECT_EQ(mmusim("convert '" + l + "' '" + path("l.bin") + "'"), 0);
  EXPECT_EQ(m_out, "");
  EXPECT_EQ(m_err, "mmusim: " + l +
                       ": format lackey (auto-detected)\nmmusim: converted 4 records from lackey to bin: " +
                       path("l.bin") + "\n");
  // Standard input and output, compressed input detected by magic.
  EXPECT_EQ(std::system(("zstd -q -c '" + path("l.bin") + "' > '" + path("l.bin.zst") + "'").c_str()), 0);
  EXPECT_EQ(mmusim("convert - - --to lackey < '" + path("l.bin.zst") + "'"), 0);
  EXPECT_EQ(m_out, kLackey);
  EXPECT_EQ(m_err,
            "mmusim: <stdin>: format bin (auto-detected)\nmmusim: converted 4 records from bin to lackey: "
            "<stdout>\n");
  EXPECT_EQ(mmusim("convert --from lackey --to text '" + l + "' -"), 0);
  EXPECT_EQ(m_out.substr(0, 13), "X 0x401004 4\n");
}

TEST_F(ConvertTest, CommandLineErrors) {
  std::string t = write("t.txt", kText);
  EXPECT_EQ(mmusim("convert"), 2);
  EXPECT_EQ(m_err, "mmusim: convert needs IN and OUT: mmusim convert IN OUT [--from FMT] [--to FMT]\n");
  EXPECT_EQ(mmusim("convert '" + t + "'"), 2);
  EXPECT_EQ(mmusim("convert '" + t + "' a.bin b.bin"), 2);
  EXPECT_NE(m_err.find("too many positional options"), std::string::npos) << m_err;
  EXPECT_EQ(mmusim("convert '" + t + "' '" + path("x.bin") + "' --level 3"), 2);
  EXPECT_EQ(mmusim("convert '" + t + "' -"), 2);  // stdout needs --to
  EXPECT_EQ(mmusim("convert '" + t + "' '" + path("x.lackey") + "'"), 3);
  EXPECT_EQ(m_err, "mmusim: " + t + ": format text (auto-detected)\nmmusim: " + t +
                       ":1: lackey cannot express @proc\nmmusim: nothing written to " + path("x.lackey") + "\n");
  expect_absent(path("x.lackey"));
  EXPECT_EQ(mmusim("convert --help"), 0);
  EXPECT_EQ(m_out.rfind("usage: mmusim convert IN OUT [--from FMT] [--to FMT]\n", 0), 0u);
  EXPECT_EQ(mmusim("--help"), 0);
  EXPECT_NE(m_out.find("mmusim convert IN OUT"), std::string::npos);
}

}  // namespace
}  // namespace mmusim
