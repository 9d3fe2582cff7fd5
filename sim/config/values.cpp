#include "sim/config/values.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "sim/config/config.h"

namespace mmusim {
namespace {

// Splits "12.5GHz" into number 12.5 and suffix "ghz".
bool split_number(const std::string& text, double* number, std::string* suffix) {
  std::string t = trim_blanks(text);
  if (t.empty() || !(std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.')) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (errno != 0 || end == t.c_str() || !std::isfinite(v) || v < 0) return false;
  *number = v;
  *suffix = ascii_lower(trim_blanks(std::string(end)));
  return true;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim_blanks(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool parse_u64(const std::string& text, std::uint64_t* out) {
  std::string t = ascii_lower(trim_blanks(text));
  unsigned base = 10;
  size_t i = 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) {
    base = t[1] == 'x' ? 16 : 8;
    i = 2;
  }
  if (i >= t.size()) return false;
  std::uint64_t v = 0;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a') + 10;
    else return false;
    if (d >= base || v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string near = nearest_key(key, candidates);
  return near.empty() ? std::string() : "; did you mean '" + near + "'?";
}

std::string format_value(unsigned v, Unit) { return std::to_string(v); }
std::string format_value(std::uint64_t v, Unit u) {
  switch (u.kind) {
    case UnitKind::Size: return format_size(v);
    case UnitKind::Frequency: return format_frequency(v);
    case UnitKind::Duration: return format_duration(v);
    case UnitKind::Plain: break;
  }
  return std::to_string(v);
}
std::string format_value(double v, Unit) { return format_number(v); }
std::string format_value(bool v, Unit) { return v ? "true" : "false"; }
std::string format_value(const std::vector<PageSize>& v, Unit) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::string(page_size_name(v[i]));
  return s + "]";
}

std::string format_value(const std::vector<unsigned>& v, Unit) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

bool is_safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

bool parse_byte_size(const std::string& text, std::uint64_t* out) {
  double v;
  std::string suffix;
  if (!split_number(text, &v, &suffix)) return false;
  // A whole number is multiplied exactly: a double holds only 53 bits, so
  // 9007199254740993 would otherwise silently become ...992.
  const std::string t = trim_blanks(text);
  const size_t digits = std::min(t.find_first_not_of("0123456789"), t.size());
  const bool whole = digits > 0 && ascii_lower(trim_blanks(t.substr(digits))) == suffix;  // not 1.5K, not 1e3
  static const std::pair<const char*, std::uint64_t> kUnits[] = {{"", 1},
                                                                 {"b", 1},
                                                                 {"k", 1ull << 10},
                                                                 {"kb", 1ull << 10},
                                                                 {"kib", 1ull << 10},
                                                                 {"m", 1ull << 20},
                                                                 {"mb", 1ull << 20},
                                                                 {"mib", 1ull << 20},
                                                                 {"g", 1ull << 30},
                                                                 {"gb", 1ull << 30},
                                                                 {"gib", 1ull << 30},
                                                                 {"t", 1ull << 40},
                                                                 {"tb", 1ull << 40},
                                                                 {"tib", 1ull << 40}};
  for (const auto& u : kUnits) {
    if (suffix != u.first) continue;
    std::uint64_t n = 0;
    if (whole && parse_u64(t.substr(0, digits), &n)) {
      if (n > UINT64_MAX / u.second) return false;
      *out = n * u.second;
      return true;
    }
    double bytes = v * static_cast<double>(u.second);
    if (bytes >= 18446744073709551615.0 || bytes != std::floor(bytes)) return false;
    *out = static_cast<std::uint64_t>(bytes);
    return true;
  }
  return false;
}

bool parse_frequency(const std::string& text, std::uint64_t* out) {
  double v;
  std::string suffix;
  if (!split_number(text, &v, &suffix)) return false;
  double mult;
  if (suffix.empty() || suffix == "hz") mult = 1;
  else if (suffix == "khz") mult = 1e3;
  else if (suffix == "mhz") mult = 1e6;
  else if (suffix == "ghz") mult = 1e9;
  else return false;
  double hz = std::round(v * mult);
  if (hz < 1 || hz > 1e13) return false;
  *out = static_cast<std::uint64_t>(hz);
  return true;
}

bool parse_duration(const std::string& text, std::uint64_t* out) {
  double v;
  std::string suffix;
  if (!split_number(text, &v, &suffix)) return false;
  double mult;
  if (suffix == "ps") mult = 1;
  else if (suffix == "ns") mult = 1e3;
  else if (suffix == "us") mult = 1e6;
  else if (suffix == "ms") mult = 1e9;
  else if (suffix == "s") mult = 1e12;
  else if (suffix.empty() && v == 0) mult = 0;
  else return false;
  double ps = std::round(v * mult);
  if (ps > 1e18) return false;
  *out = static_cast<std::uint64_t>(ps);
  return true;
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(ascii_lower(key), ascii_lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Only suggest when the typo is plausible: at most a third of the key changed.
  if (best.empty() || best_d > std::max<size_t>(2, key.size() / 3)) return {};
  return best;
}

}  // namespace mmusim
