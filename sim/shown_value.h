// A value quoted in an error message: bytes below 0x20 (NUL, newline, ...)
// and 0x7f as \xNN, so a NUL cannot cut the message short nor a newline
// forge a line; cut after kMaxShownBytes with the full length added, so a
// 100 MB value is not echoed. Header-only: the config loader and the trace
// readers (separate libraries) both use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mmusim {

constexpr std::size_t kMaxShownBytes = 100;

inline std::string shown_value(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= kMaxShownBytes) {
      out += "... (" + std::to_string(s.size()) + " bytes)";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace mmusim
