// The lackey trace reader (sim/trace/lackey_reader.h). Every expected value
// is spelled out.

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

#include "sim/trace/lackey_reader.h"
#include "tests/support/trace_records.h"

namespace mmusim {
namespace {

TEST_F(TraceReaderTest, LackeyRecordsAndValgrindLines) {
  std::string p = write("l.lackey", kLackeySample);
  EXPECT_EQ(read_lackey(p), kLackeySampleRecords);
}

TEST_F(TraceReaderTest, LackeyCrlfAndNoFinalNewline) {
  std::string p = write("l_crlf.lackey", "==1== hi\r\nI  0400,2\r\n L 0500,8");
  EXPECT_EQ(read_lackey(p), (std::vector<std::string>{"ifetch 0x400 2", "load 0x500 8"}));
}

TEST_F(TraceReaderTest, LackeyErrors) {
  struct Case {
    const char* bad_line;
    const char* message;  // after "FILE:2: "
  };
  const Case cases[] = {
      {"X  0400,3", "expected a lackey record (I/L/S/M addr,size), got 'X  0400,3'"},
      {"I 0400,3", "expected a lackey record (I/L/S/M addr,size), got 'I 0400,3'"},
      {" I 0400,3", "expected a lackey record (I/L/S/M addr,size), got ' I 0400,3'"},
      {"L 0400,8", "expected a lackey record (I/L/S/M addr,size), got 'L 0400,8'"},
      {" L  0400,8", "expected a lackey record (I/L/S/M addr,size), got ' L  0400,8'"},
      {" L 0400", "expected a lackey record (I/L/S/M addr,size), got ' L 0400'"},
      {" L 0400,", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,'"},
      {" L ,8", "expected a lackey record (I/L/S/M addr,size), got ' L ,8'"},
      {" L 0x400,8", "expected a lackey record (I/L/S/M addr,size), got ' L 0x400,8'"},
      {" L 0400,8 ", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,8 '"},
      {" L 0400,8x", "expected a lackey record (I/L/S/M addr,size), got ' L 0400,8x'"},
      {"= not valgrind", "expected a lackey record (I/L/S/M addr,size), got '= not valgrind'"},
      {"R 0x400 8", "expected a lackey record (I/L/S/M addr,size), got 'R 0x400 8'"},
      {" L 0400,0", "expected an access size of 1 to 4096 bytes, got '0'"},
      {" S 0400,4097", "expected an access size of 1 to 4096 bytes, got '4097'"},
      {" S 0400,99999999999", "expected an access size of 1 to 4096 bytes, got '99999999999'"},
      {" M 10000000000000000,4", "expected an address of at most 64 bits, got '10000000000000000'"},
  };
  for (const Case& c : cases) {
    std::string p = write("bad.lackey", std::string("I  0400,3\n") + c.bad_line + "\n L 0500,8\n");
    EXPECT_EQ(error_of(p, "lackey"), p + ":2: " + c.message) << c.bad_line;
  }
}

TEST_F(TraceReaderTest, LackeyBlankLinesWithSpacesAreSkipped) {
  std::string p = write("blank.lackey", "  \n\t\nI  0400,3\n");
  EXPECT_EQ(read_lackey(p), (std::vector<std::string>{"ifetch 0x400 3"}));
}

TEST_F(TraceReaderTest, LackeyNearMissesOfTheFastPath) {
  std::string p = write("near.lackey",
                        " L 0400,0008\n"
                        " S 0400,00016\n"
                        "I  1,4096\n"
                        " M 00000000000000000001,2\n");
  EXPECT_EQ(read_lackey(p),
            (std::vector<std::string>{"load 0x400 8", "store 0x400 16", "ifetch 0x1 4096", "modify 0x1 2"}));
}

}  // namespace
}  // namespace mmusim
