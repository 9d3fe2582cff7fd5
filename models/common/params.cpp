#include "models/common/params.h"

#include <charconv>

namespace mmusim {

void check_set_geometry(const ParamCheck& c, unsigned entries, unsigned ways, bool allow_zero_entries, bool plru) {
  if (entries == 0) {
    if (allow_zero_entries) return;
    c.fail("entries", "must be at least 1, got 0");
  }
  const unsigned w = ways == 0 ? entries : ways;
  if (w > entries)
    c.fail("ways", "must not exceed entries (" + std::to_string(entries) + "), got " + std::to_string(ways));
  if (entries % w != 0)
    c.fail("ways", "must divide entries (" + std::to_string(entries) + "), got " + std::to_string(ways));
  if (!is_pow2(entries / w))
    c.fail("ways", "must leave a power-of-two number of sets; entries " + std::to_string(entries) + " / ways " +
                       std::to_string(w) + " = " + std::to_string(entries / w) + " sets");
  if (plru && !is_pow2(w)) c.fail("ways", "must be a power of two with replacement: plru, got " + std::to_string(w));
}

std::string format_size(std::uint64_t bytes) {
  static const char* kUnits[] = {"", "KiB", "MiB", "GiB", "TiB"};
  std::uint64_t b = bytes;
  int u = 0;
  while (u < 4 && b >= 1024 && b % 1024 == 0) {
    b /= 1024;
    ++u;
  }
  return std::to_string(b) + kUnits[u];
}

std::string format_frequency(std::uint64_t hz) {
  if (hz % 1000000000 == 0) return std::to_string(hz / 1000000000) + "GHz";
  if (hz % 1000000 == 0) return std::to_string(hz / 1000000) + "MHz";
  if (hz % 1000 == 0) return std::to_string(hz / 1000) + "kHz";
  return std::to_string(hz) + "Hz";
}

std::string format_duration(std::uint64_t ps) {
  if (ps == 0) return "0";
  if (ps % 1000000000 == 0) return std::to_string(ps / 1000000000) + "ms";
  if (ps % 1000000 == 0) return std::to_string(ps / 1000000) + "us";
  if (ps % 1000 == 0) return std::to_string(ps / 1000) + "ns";
  return std::to_string(ps) + "ps";
}

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

}  // namespace mmusim
