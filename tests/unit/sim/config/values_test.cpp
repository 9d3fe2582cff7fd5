// Unit tests for the value parsers (sim/config/values.cpp): sizes,
// frequencies, durations with their unit suffixes, and key suggestions.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/config_files.h"

namespace mmusim {
namespace {

using P = PageSize;

TEST(ConfigParsers, ByteSize) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 12345;
    EXPECT_TRUE(parse_byte_size(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("4096", 4096);
  ok("0", 0);
  ok("4K", 4096);
  ok("4k", 4096);
  ok("4KB", 4096);  // binary multiples throughout
  ok("4KiB", 4096);
  ok("2M", 2ull << 20);
  ok("2MiB", 2ull << 20);
  ok("8GiB", 8ull << 30);
  ok("8G", 8ull << 30);
  ok("1T", 1ull << 40);
  ok("1TiB", 1ull << 40);
  ok("1.5K", 1536);
  ok("0.5MiB", 512ull << 10);
  ok(" 2M ", 2ull << 20);
  ok("2 MiB", 2ull << 20);
  ok("64B", 64);
  ok("1e3", 1000);
  ok("9007199254740993", 9007199254740993ull);  // above 2^53: exact
  ok("18446744073709551615", UINT64_MAX);
  ok("16777215TiB", 16777215ull << 40);
  for (const char* bad : {"", " ", "-1", "+1", "K", "4X", "4 K B", "0.1", "1.0001K", "16777216TiB",
                          "18446744073709551616", "4PiB", "inf", "nan", "4K4"})
    EXPECT_FALSE(parse_byte_size(bad, &v)) << bad;
}

TEST(ConfigParsers, Frequency) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 1;
    EXPECT_TRUE(parse_frequency(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("3GHz", 3000000000ull);
  ok("3ghz", 3000000000ull);
  ok("2400MHz", 2400000000ull);
  ok("2.4GHz", 2400000000ull);
  ok("3e9", 3000000000ull);
  ok("100", 100);
  ok("100Hz", 100);
  ok("1kHz", 1000);
  ok("1.5 GHz", 1500000000ull);
  for (const char* bad : {"", "0", "0GHz", "-3GHz", "GHz", "3THz", "3 G", "3GHzz", "fast", "11000GHz"})
    EXPECT_FALSE(parse_frequency(bad, &v)) << bad;
}

TEST(ConfigParsers, Duration) {
  std::uint64_t v = 0;
  auto ok = [&](const char* s, std::uint64_t want) {
    v = 1;
    EXPECT_TRUE(parse_duration(s, &v)) << s;
    EXPECT_EQ(v, want) << s;
  };
  ok("0", 0);
  ok("0ns", 0);
  ok("10ps", 10);
  ok("500ns", 500000);
  ok("1.5ns", 1500);
  ok("1us", 1000000);
  ok("2ms", 2000000000ull);
  ok("1s", 1000000000000ull);
  for (const char* bad : {"", "5", "1.5", "-1us", "1 minute", "us", "1h", "2000000s"})
    EXPECT_FALSE(parse_duration(bad, &v)) << bad;
}

TEST(ConfigParsers, NearestKey) {
  const std::vector<std::string> keys = {"level", "serves", "page_sizes", "entries", "ways", "latency", "replacement"};
  EXPECT_EQ(nearest_key("entires", keys), "entries");
  EXPECT_EQ(nearest_key("ENTRIES", keys), "entries");
  EXPECT_EQ(nearest_key("way", keys), "ways");
  EXPECT_EQ(nearest_key("latncy", keys), "latency");
  EXPECT_EQ(nearest_key("page_size", keys), "page_sizes");
  EXPECT_EQ(nearest_key("colour", keys), "");
  EXPECT_EQ(nearest_key("entries", {}), "");
}

}  // namespace
}  // namespace mmusim
