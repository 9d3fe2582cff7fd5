#include "sim/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <type_traits>

namespace mmusim {
namespace {

// ---------------------------------------------------------------- helpers

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool is_pow2(std::uint64_t v) { return v && !(v & (v - 1)); }

// Decimal, 0x hexadecimal or 0o octal, as YAML 1.2's core schema reads
// integers: a leading zero does not make a number octal (strtoull's base 0
// would read "010" as 8 and reject "09").
bool parse_u64(const std::string& text, std::uint64_t* out) {
  std::string t = lower(trim(text));
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

// Splits "12.5GHz" into number 12.5 and suffix "ghz".
bool split_number(const std::string& text, double* number, std::string* suffix) {
  std::string t = trim(text);
  if (t.empty() || !(std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.')) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (errno != 0 || end == t.c_str() || !std::isfinite(v) || v < 0) return false;
  *number = v;
  *suffix = lower(trim(std::string(end)));
  return true;
}

std::string yaml_location(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  std::ostringstream os;
  os << (file.empty() ? "<config>" : file);
  if (m.line >= 0) os << ':' << (m.line + 1) << ':' << (m.column + 1);
  return os.str();
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return shown_value(n.Scalar());
  if (n.IsSequence()) {  // shown, so that an error can point at the bad element
    std::string s = "[";
    for (size_t i = 0; i < n.size() && s.size() < kMaxShownBytes; ++i)
      s += (i ? ", " : "") + (n[i].IsScalar() ? n[i].Scalar() : n[i].IsSequence() ? std::string("[...]") : std::string("{...}"));
    return shown_value(s + "]");
  }
  if (n.IsMap()) return "a map";
  return "nothing";
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

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string near = nearest_key(key, candidates);
  return near.empty() ? std::string() : "; did you mean '" + near + "'?";
}

// ---------------------------------------------------------------- leaf values

// Each parse_leaf fills the field or returns a description of what was expected.
std::string parse_leaf(const YAML::Node& n, unsigned& f) {
  std::uint64_t v;
  if (!n.IsScalar() || !parse_u64(n.Scalar(), &v) || v > UINT_MAX) return "an unsigned integer";
  f = static_cast<unsigned>(v);
  return {};
}
std::string parse_leaf(const YAML::Node& n, std::uint64_t& f) {
  if (!n.IsScalar() || !parse_u64(n.Scalar(), &f)) return "an unsigned integer";
  return {};
}
std::string parse_leaf(const YAML::Node& n, double& f) {
  if (!n.IsScalar()) return "a number";
  const std::string& t = n.Scalar();
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) return "a number";
  f = v;
  return {};
}
std::string parse_leaf(const YAML::Node& n, bool& f) {
  if (!n.IsScalar()) return "true or false";
  std::string t = lower(n.Scalar());
  if (t == "true" || t == "yes" || t == "on") f = true;
  else if (t == "false" || t == "no" || t == "off") f = false;
  else return "true or false";
  return {};
}
std::string parse_leaf(const YAML::Node& n, ByteSize& f) {
  if (!n.IsScalar() || !parse_byte_size(n.Scalar(), &f.bytes)) return "a size in bytes (4096, 4K, 2MiB, 8GiB)";
  return {};
}
std::string parse_leaf(const YAML::Node& n, Frequency& f) {
  if (!n.IsScalar() || !parse_frequency(n.Scalar(), &f.hz) || f.hz == 0)
    return "a frequency with its unit (3GHz, 2400MHz, 3e9Hz)";
  return {};
}
std::string parse_leaf(const YAML::Node& n, Duration& f) {
  if (!n.IsScalar() || !parse_duration(n.Scalar(), &f.ps)) return "a duration (1us, 500ns, 0)";
  return {};
}
std::string parse_leaf(const YAML::Node& n, std::vector<PageSize>& f) {
  const char* what = "a list of page sizes, e.g. [4K, 2M]";
  std::vector<PageSize> out;
  auto one = [&](const YAML::Node& s) {
    PageSize p;
    if (!s.IsScalar() || !parse_page_size(s.Scalar(), &p)) return false;
    out.push_back(p);
    return true;
  };
  if (n.IsSequence()) {
    for (const auto& s : n)
      if (!one(s)) return what;
  } else if (!n.IsScalar() || !one(n)) {
    return what;
  }
  f = out;
  return {};
}

std::string format_value(unsigned v) { return std::to_string(v); }
std::string format_value(std::uint64_t v) { return std::to_string(v); }
std::string format_value(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}
std::string format_value(bool v) { return v ? "true" : "false"; }
std::string format_value(const ByteSize& v) {
  static const char* kUnits[] = {"", "KiB", "MiB", "GiB", "TiB"};
  std::uint64_t b = v.bytes;
  int u = 0;
  while (u < 4 && b >= 1024 && b % 1024 == 0) {
    b /= 1024;
    ++u;
  }
  return std::to_string(b) + kUnits[u];
}
std::string format_value(const Frequency& v) {
  if (v.hz % 1000000000 == 0) return std::to_string(v.hz / 1000000000) + "GHz";
  if (v.hz % 1000000 == 0) return std::to_string(v.hz / 1000000) + "MHz";
  if (v.hz % 1000 == 0) return std::to_string(v.hz / 1000) + "kHz";
  return std::to_string(v.hz) + "Hz";
}
std::string format_value(const Duration& v) {
  if (v.ps == 0) return "0";
  if (v.ps % 1000000000 == 0) return std::to_string(v.ps / 1000000000) + "ms";
  if (v.ps % 1000000 == 0) return std::to_string(v.ps / 1000000) + "us";
  if (v.ps % 1000 == 0) return std::to_string(v.ps / 1000) + "ns";
  return std::to_string(v.ps) + "ps";
}
std::string format_value(const std::vector<PageSize>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::string(page_size_name(v[i]));
  return s + "]";
}

// ---------------------------------------------------------------- visitors

struct DefaultVisitor {
  template <class T, class D>
  void param(const char*, T& field, const D& def, const char*, const char*) {
    field = T(def);
  }
  void choice(const char*, std::string& field, const char* def, const Choices&, const char*) { field = def; }
  template <class F>
  void group(const char*, const char*, F&& body) {
    body();
  }
  // mmu.tlbs has a default set; other maps start empty.
  void named_map(const char*, std::map<std::string, TlbConfig>& m, const char*) { m = MmuConfig::default_tlbs(); }
  template <class T>
  void named_map(const char*, std::map<std::string, T>& m, const char*) {
    m.clear();
  }
};

std::string check_choice(const std::string& v, const Choices& choices) {
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return {};
  std::string s = "one of ";
  for (size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + choices[i];
  return s;
}

// Reads a YAML document over an already-defaulted Config.
class YamlReader {
 public:
  YamlReader(std::string file, ConfigOrigins& origins) : m_file(std::move(file)), m_origins(origins) {}

  void read_root(const YAML::Node& root, Config& c) {
    if (root.IsNull() || !root.IsDefined()) return;
    if (!root.IsMap()) fail(root, "", "expected a map of keys at the top level, got " + scalar_text(root));
    Level saved = enter(root, "");
    c.visit(*this);
    check_unknown();
    m_level = saved;
  }

  template <class T, class D>
  void param(const char* key, T& field, const D&, const char*, const char*) {
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    std::string err = parse_leaf(n, field);
    if (!err.empty()) fail(n, path, "expected " + err + ", got '" + scalar_text(n) + "'");
    m_origins[path] = yaml_location(m_file, n);
  }

  void choice(const char* key, std::string& field, const char*, const Choices& choices, const char*) {
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    std::string err = n.IsScalar() ? check_choice(n.Scalar(), choices) : check_choice("", choices);
    if (!err.empty()) fail(n, path, "expected " + err + ", got '" + scalar_text(n) + "'");
    field = n.Scalar();
    m_origins[path] = yaml_location(m_file, n);
  }

  template <class F>
  void group(const char* key, const char*, F&& body) {
    m_level.known.push_back(key);
    YAML::Node sub;
    if (m_level.node) {
      const YAML::Node n = child(key);
      if (n.IsDefined() && !n.IsNull()) {
        if (!n.IsMap()) fail(n, m_level.prefix + key, "expected a map, got '" + scalar_text(n) + "'");
        sub.reset(n);
      }
    }
    Level saved = enter(sub, m_level.prefix + key + ".");
    body();
    check_unknown();
    m_level = saved;
  }

  // A map NAME -> struct (mmu.tlbs, memory.caches): the file's map replaces
  // the default. T::kNoun names the things in messages.
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char*) {
    const std::string noun = T::kNoun;
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    if (n.IsSequence()) {
      // The list form (memory.caches only): [{size: ..}, {size: ..}] is
      // levels 1, 2, ... named l1, l2, ...
      if constexpr (std::is_same_v<T, CacheConfig>) {
        m.clear();
        m_origins[path] = yaml_location(m_file, n);
        for (std::size_t i = 0; i < n.size(); ++i) {
          const YAML::Node e = n[i];
          const std::string name = "l" + std::to_string(i + 1);
          if (!e.IsMap()) fail(e, path + "[" + std::to_string(i) + "]", "expected a map of cache keys, got '" + scalar_text(e) + "'");
          T t;
          DefaultVisitor d;
          t.visit(d);
          t.level = static_cast<unsigned>(i + 1);
          Level saved = enter(e, path + "." + name + ".");
          t.visit(*this);
          check_unknown();
          m_level = saved;
          m[name] = t;
          m_origins[path + "." + name] = yaml_location(m_file, e);
        }
        return;
      }
    }
    if (!n.IsMap() && !n.IsNull())
      fail(n, path, "expected a map of " + noun + " name -> " + noun + ", got '" + scalar_text(n) + "'");
    m.clear();
    m_origins[path] = yaml_location(m_file, n);
    if (n.IsNull()) return;
    check_duplicates(n, path + ".");
    for (const auto& kv : n) {
      std::string name = kv.first.Scalar();
      if (!is_safe_name(name))
        fail(kv.first, path, "expected a " + noun + " name of 1 to 64 letters, digits, '_' or '-' (it names statistics), got '" +
                                 shown_value(name) + "'");
      if (!kv.second.IsMap() && !kv.second.IsNull())
        fail(kv.second, path + "." + name, "expected a map of " + noun + " keys, got '" + scalar_text(kv.second) + "'");
      T t;
      DefaultVisitor d;
      t.visit(d);
      Level saved = enter(kv.second.IsMap() ? kv.second : YAML::Node(), path + "." + name + ".");
      t.visit(*this);
      check_unknown();
      m_level = saved;
      m[name] = t;
      m_origins[path + "." + name] = yaml_location(m_file, kv.first);
    }
  }

 private:
  struct Level {
    YAML::Node node;  // null when the file does not give this group
    std::string prefix;
    std::vector<std::string> known;

    Level() = default;
    Level(const YAML::Node& n, std::string p) : node(n), prefix(std::move(p)) {}
    Level(const Level&) = default;
    // YAML::Node's operator= does not rebind: it makes the node it refers to
    // an alias of the right-hand side, which would rewrite the document being
    // read (a group's map would replace its parent's). reset() rebinds.
    Level& operator=(const Level& o) {
      node.reset(o.node);
      prefix = o.prefix;
      known = o.known;
      return *this;
    }
  };

  Level enter(const YAML::Node& node, const std::string& prefix) {
    Level saved = m_level;
    m_level = Level(node, prefix);
    return saved;
  }

  // The const operator[]: the non-const one would add the key to the map.
  YAML::Node child(const char* key) const {
    const YAML::Node& parent = m_level.node;
    return parent[key];
  }

  void check_unknown() {
    if (!m_level.node || !m_level.node.IsMap()) return;
    check_duplicates(m_level.node, m_level.prefix);
    for (const auto& kv : m_level.node) {
      std::string k = kv.first.Scalar();
      if (std::find(m_level.known.begin(), m_level.known.end(), k) != m_level.known.end()) continue;
      fail(kv.first, "", "unknown key '" + shown_value(m_level.prefix + k) + "'" + did_you_mean(k, m_level.known));
    }
  }

  // YAML forbids a key twice in one map; yaml-cpp keeps both and a lookup
  // finds the first, so the second value would be silently ignored.
  void check_duplicates(const YAML::Node& map, const std::string& prefix) {
    std::map<std::string, YAML::Node> seen;
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      auto it = seen.find(k);
      if (it != seen.end())
        fail(kv.first, "", "key '" + shown_value(prefix + k) + "' given twice (first at " + yaml_location(m_file, it->second) + ")");
      seen.emplace(k, kv.first);
    }
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& msg) {
    throw ConfigError(yaml_location(m_file, n) + ": " + (path.empty() ? "" : path + ": ") + msg);
  }

  std::string m_file;
  ConfigOrigins& m_origins;
  Level m_level;
};

// Applies one --set KEY=VALUE.
class SetApplier {
 public:
  SetApplier(std::vector<std::string> parts, YAML::Node value, std::string label, ConfigOrigins& origins)
      : m_parts(std::move(parts)), m_value(std::move(value)), m_label(std::move(label)), m_origins(origins) {}
  bool done() const { return m_done; }

  template <class T, class D>
  void param(const char* key, T& field, const D&, const char*, const char*) {
    if (!at_leaf(key)) return;
    std::string err = parse_leaf(m_value, field);
    if (!err.empty()) throw ConfigError(m_label + ": " + path() + ": expected " + err + ", got '" + scalar_text(m_value) + "'");
    finish();
  }
  void choice(const char* key, std::string& field, const char*, const Choices& choices, const char*) {
    if (!at_leaf(key)) return;
    std::string err = m_value.IsScalar() ? check_choice(m_value.Scalar(), choices) : check_choice("", choices);
    if (!err.empty()) throw ConfigError(m_label + ": " + path() + ": expected " + err + ", got '" + scalar_text(m_value) + "'");
    field = m_value.Scalar();
    finish();
  }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    if (m_done || m_depth + 1 >= m_parts.size() || m_parts[m_depth] != key) return;
    ++m_depth;
    body();
    --m_depth;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char*) {
    if (m_done || m_depth >= m_parts.size() || m_parts[m_depth] != key) return;
    if (m_depth + 3 != m_parts.size())
      throw ConfigError(m_label + ": expected a key of the form " + path_prefix(m_depth) + key + ".NAME.KEY (e.g. " +
                        path_prefix(m_depth) + key + (std::is_same_v<T, TlbConfig> ? ".l1d.entries)" : ".l1.size)"));
    const std::string& name = m_parts[m_depth + 1];
    auto it = m.find(name);
    if (it == m.end()) {
      T t;
      DefaultVisitor d;
      t.visit(d);
      it = m.emplace(name, t).first;
    }
    m_depth += 2;
    it->second.visit(*this);
    m_depth -= 2;
  }

 private:
  std::string path_prefix(size_t depth) const {
    std::string p;
    for (size_t i = 0; i < depth; ++i) p += m_parts[i] + ".";
    return p;
  }
  bool at_leaf(const char* key) const { return !m_done && m_depth + 1 == m_parts.size() && m_parts[m_depth] == key; }
  std::string path() const {
    std::string p;
    for (size_t i = 0; i < m_parts.size(); ++i) p += (i ? "." : "") + m_parts[i];
    return p;
  }
  void finish() {
    m_done = true;
    m_origins[path()] = m_label;
  }

  std::vector<std::string> m_parts;
  YAML::Node m_value;
  std::string m_label;
  ConfigOrigins& m_origins;
  size_t m_depth = 0;
  bool m_done = false;
};

class KeyCollector {
 public:
  std::vector<std::string> keys;
  template <class T, class D>
  void param(const char* key, T&, const D&, const char*, const char*) {
    keys.push_back(m_prefix + key);
  }
  void choice(const char* key, std::string&, const char*, const Choices&, const char*) { keys.push_back(m_prefix + key); }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    std::string saved = m_prefix;
    m_prefix += std::string(key) + ".";
    body();
    m_prefix = saved;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char*) {
    std::string saved = m_prefix;
    for (auto& kv : m) {
      m_prefix = saved + key + "." + kv.first + ".";
      kv.second.visit(*this);
    }
    m_prefix = saved;
  }

 private:
  std::string m_prefix;
};

class YamlWriter {
 public:
  YAML::Emitter out;
  template <class T, class D>
  void param(const char* key, T& field, const D&, const char*, const char*) {
    out << YAML::Key << key << YAML::Value;
    emit(field);
  }
  void choice(const char* key, std::string& field, const char*, const Choices&, const char*) {
    out << YAML::Key << key << YAML::Value << field;
  }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    body();
    out << YAML::EndMap;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char*) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    for (auto& kv : m) {
      out << YAML::Key << kv.first << YAML::Value << YAML::Flow << YAML::BeginMap;
      kv.second.visit(*this);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }

 private:
  void emit(const std::vector<PageSize>& v) {
    out << YAML::Flow << YAML::BeginSeq;
    for (PageSize p : v) out << page_size_name(p);
    out << YAML::EndSeq;
  }
  template <class T>
  void emit(const T& v) {
    out << format_value(v);
  }
};

class ParamPrinter {
 public:
  std::ostringstream out;
  template <class T, class D>
  void param(const char* key, T& field, const D& def, const char* unit, const char* desc) {
    // Sizes, frequencies and durations print with their unit already.
    constexpr bool self_unit = std::is_same_v<T, ByteSize> || std::is_same_v<T, Frequency> || std::is_same_v<T, Duration>;
    line(key, format_value(field), format_value(T(def)), self_unit ? "" : unit, desc);
  }
  void choice(const char* key, std::string& field, const char* def, const Choices& choices, const char* desc) {
    std::string d = std::string(desc) + " {";
    for (size_t i = 0; i < choices.size(); ++i) d += (i ? "|" : "") + choices[i];
    line(key, field, def, "", (d + "}").c_str());
  }
  template <class F>
  void group(const char* key, const char* desc, F&& body) {
    out << "\n" << m_prefix << key << ":  # " << desc << "\n";
    std::string saved = m_prefix;
    m_prefix += std::string(key) + ".";
    body();
    m_prefix = saved;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char* desc) {
    std::string saved = m_prefix;
    out << "\n" << m_prefix << key << ":  # " << desc << "\n";
    for (auto& kv : m) {
      m_prefix = saved + key + "." + kv.first + ".";
      kv.second.visit(*this);
    }
    out << "  # a " << T::kNoun << " named NAME (" << saved << key
        << ".NAME.*) not in the list above starts from these defaults\n";
    m_prefix = saved + key + ".NAME.";
    T fresh;
    DefaultVisitor d;
    fresh.visit(d);
    fresh.visit(*this);
    m_prefix = saved;
  }

 private:
  void line(const char* key, const std::string& value, const std::string& def, const char* unit, const char* desc) {
    std::string k = m_prefix + key;
    out << "  " << k;
    if (k.size() < 34) out << std::string(34 - k.size(), ' ');
    out << " = " << value;
    if (value.size() < 14) out << std::string(14 - value.size(), ' ');
    out << "  default " << def;
    if (*unit) out << " " << unit;
    out << ".  " << desc << "\n";
  }
  std::string m_prefix;
};

}  // namespace

// ---------------------------------------------------------------- value parsers

bool is_safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool parse_byte_size(const std::string& text, std::uint64_t* out) {
  double v;
  std::string suffix;
  if (!split_number(text, &v, &suffix)) return false;
  // A whole number is multiplied exactly: a double holds only 53 bits, so
  // 9007199254740993 would otherwise silently become ...992.
  const std::string t = trim(text);
  const size_t digits = std::min(t.find_first_not_of("0123456789"), t.size());
  const bool whole = digits > 0 && lower(trim(t.substr(digits))) == suffix;  // not 1.5K, not 1e3
  static const std::pair<const char*, std::uint64_t> kUnits[] = {
      {"", 1},       {"b", 1},          {"k", 1ull << 10}, {"kb", 1ull << 10}, {"kib", 1ull << 10},
      {"m", 1ull << 20}, {"mb", 1ull << 20}, {"mib", 1ull << 20}, {"g", 1ull << 30}, {"gb", 1ull << 30},
      {"gib", 1ull << 30}, {"t", 1ull << 40}, {"tb", 1ull << 40}, {"tib", 1ull << 40}};
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
    size_t d = edit_distance(lower(key), lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Only suggest when the typo is plausible: at most a third of the key changed.
  if (best.empty() || best_d > std::max<size_t>(2, key.size() / 3)) return {};
  return best;
}

// ---------------------------------------------------------------- config

std::map<std::string, TlbConfig> MmuConfig::default_tlbs() {
  auto make = [](unsigned level, const char* serves, std::vector<PageSize> sizes, unsigned entries, unsigned ways,
                 Cycles latency) {
    TlbConfig t;
    DefaultVisitor d;
    t.visit(d);
    t.level = level;
    t.serves = serves;
    t.page_sizes = std::move(sizes);
    t.entries = entries;
    t.ways = ways;
    t.latency = latency;
    return t;
  };
  using P = PageSize;
  // DESIGN.md section 6: a current x86_64 server core.
  return {
      {"l1d", make(1, "data", {P::k4K}, 64, 4, 1)},
      {"l1d_2m", make(1, "data", {P::k2M, P::k4M}, 32, 4, 1)},
      {"l1d_1g", make(1, "data", {P::k1G}, 4, 4, 1)},
      {"l1i", make(1, "inst", {P::k4K, P::k2M, P::k4M}, 128, 8, 1)},
      {"l2", make(2, "both", {P::k4K, P::k2M}, 1536, 12, 9)},
  };
}

Config default_config() {
  Config c;
  DefaultVisitor d;
  c.visit(d);
  return c;
}

std::vector<std::string> all_keys(const Config& c) {
  Config copy = c;
  KeyCollector k;
  copy.visit(k);
  return k.keys;
}

LoadedConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  LoadedConfig lc{default_config(), {}};
  if (!path.empty()) {
    YAML::Node root;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw ConfigError(path + ": is a directory; expected a YAML config file");
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
      std::fclose(f);
    } else {
      throw ConfigError(path + ": cannot open the config file: " + std::strerror(errno));
    }
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
      throw ConfigError(path + ": cannot open the config file");
    } catch (const YAML::ParserException& e) {
      throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": YAML syntax error: " + e.msg);
    }
    YamlReader reader(path, lc.origins);
    reader.read_root(root, lc.config);
  }
  for (const auto& o : overrides) {
    std::string label = "--set " + shown_value(o);
    size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError(label + ": expected KEY=VALUE");
    std::string key = trim(o.substr(0, eq));
    std::string value = o.substr(eq + 1);
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string p; std::getline(ss, p, '.');) {
      if (p.empty()) throw ConfigError(label + ": empty component in key '" + shown_value(key) + "'");
      parts.push_back(p);
    }
    YAML::Node v;
    try {
      v = YAML::Load(value);
    } catch (const YAML::Exception& e) {
      throw ConfigError(label + ": cannot parse the value: " + e.msg);
    }
    if (!v.IsDefined() || v.IsNull()) throw ConfigError(label + ": " + key + ": expected a value after '='");
    SetApplier s(parts, v, label, lc.origins);
    lc.config.visit(s);
    if (!s.done())
      throw ConfigError(label + ": unknown key '" + shown_value(key) + "'" + did_you_mean(key, all_keys(lc.config)));
  }
  validate(lc.config, lc.origins);
  return lc;
}

namespace {

struct Validator {
  const ConfigOrigins& origins;
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    auto it = origins.find(key);
    std::string where = it != origins.end() ? it->second + ": " : std::string();
    throw ConfigError(where + key + " " + msg + (it == origins.end() ? " (default value)" : ""));
  }
  void geometry(const std::string& prefix, unsigned entries, unsigned ways, bool allow_zero_entries,
                const std::string& replacement) const {
    if (entries == 0) {
      if (allow_zero_entries) return;
      fail(prefix + "entries", "must be at least 1, got 0");
    }
    unsigned w = ways == 0 ? entries : ways;
    if (w > entries) fail(prefix + "ways", "must not exceed entries (" + std::to_string(entries) + "), got " + std::to_string(ways));
    if (entries % w != 0)
      fail(prefix + "ways", "must divide entries (" + std::to_string(entries) + "), got " + std::to_string(ways));
    if (!is_pow2(entries / w))
      fail(prefix + "ways", "must leave a power-of-two number of sets; entries " + std::to_string(entries) + " / ways " +
                                std::to_string(w) + " = " + std::to_string(entries / w) + " sets");
    if (replacement == "plru" && !is_pow2(w))
      fail(prefix + "ways", "must be a power of two with replacement: plru, got " + std::to_string(w));
  }
};

}  // namespace

bool walks_follow_tlb(const Config& c, const std::string& tlb) {
  auto it = c.mmu.tlbs.find(tlb);
  if (it == c.mmu.tlbs.end()) return false;
  const TlbConfig& t = it->second;
  for (const char* kind : {"data", "inst"}) {
    auto serves = [kind](const TlbConfig& x) { return x.serves == "both" || x.serves == kind; };
    if (!serves(t)) continue;
    for (const auto& kv : c.mmu.tlbs) {
      if (kv.first == tlb || !serves(kv.second)) continue;
      if (kv.second.level >= t.level) return false;  // a sibling, or a level below
    }
  }
  return true;
}

// Every key whose unit is cycles (latencies, fault costs, gap_cycles) and
// every entries count of a TLB or paging-structure cache, against its limit.
struct RangeChecker {
  const Validator& v;
  std::string prefix;
  template <class T, class D>
  void param(const char* key, T& field, const D&, const char* unit, const char*) {
    if constexpr (std::is_same_v<T, Cycles>) {
      if (std::strcmp(unit, "cycles") == 0 && field > kMaxLatencyCycles)
        v.fail(prefix + key, "must be at most " + std::to_string(kMaxLatencyCycles) + " cycles, got " + std::to_string(field));
    } else if constexpr (std::is_same_v<T, unsigned>) {
      if (std::strcmp(unit, "entries") == 0 && field > kMaxTlbEntries)
        v.fail(prefix + key, "must be at most " + std::to_string(kMaxTlbEntries) + " entries, got " + std::to_string(field));
    }
  }
  void choice(const char*, std::string&, const char*, const Choices&, const char*) {}
  template <class F>
  void group(const char* key, const char*, F&& body) {
    const std::string saved = prefix;
    prefix += std::string(key) + ".";
    body();
    prefix = saved;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const char*) {
    const std::string saved = prefix;
    for (auto& kv : m) {
      const std::string name_key = saved + key + "." + kv.first;
      if (!is_safe_name(kv.first)) {
        std::string where;  // the name's own origin, or that of one of its keys (--set)
        for (const auto& o : v.origins)
          if (o.first == name_key || o.first.rfind(name_key + ".", 0) == 0) {
            where = o.second + ": ";
            break;
          }
        throw ConfigError(where + saved + key + "." + shown_value(kv.first) + ": not a valid " + T::kNoun +
                          " name: expected 1 to 64 letters, digits, '_' or '-' (it names statistics)");
      }
      prefix = name_key + ".";
      kv.second.visit(*this);
    }
    prefix = saved;
  }
};

void validate(const Config& c, const ConfigOrigins& origins) {
  Validator v{origins};
  {
    Config copy = c;
    RangeChecker r{v, ""};
    copy.visit(r);
  }
  if (c.clock.hz < kMinClockHz || c.clock.hz > kMaxClockHz)
    v.fail("clock", "must be in 1MHz..1THz, got " + format_value(c.clock) +
                        (c.clock.hz < kMinClockHz ? " (a number without a unit is in Hz: write 3GHz)" : " (one cycle is at least 1 ps)"));
  if (c.replay.quantum.ps > 1000000000000ull)
    v.fail("replay.quantum", "must be at most 1s, got " + format_value(c.replay.quantum));
  const auto& p = c.paging;
  const bool mode32 = p.mode == "ia32" || p.mode == "pae";
  // CR4.PCIDE can be set only in IA-32e mode (SDM 4.10.1).
  if (p.pcid && mode32)
    v.fail("paging.pcid", "true needs paging.mode x86_64 or x86_64_la57 (PCIDs exist only in IA-32e mode), got mode " + p.mode);
  if (p.phys_addr_bits < 32 || p.phys_addr_bits > 52)
    v.fail("paging.phys_addr_bits", "must be in 32..52, got " + std::to_string(p.phys_addr_bits));

  std::set<unsigned> levels;
  for (const auto& kv : c.mmu.tlbs) {
    const std::string pre = "mmu.tlbs." + kv.first + ".";
    const TlbConfig& t = kv.second;
    if (t.level == 0) v.fail(pre + "level", "must be at least 1, got 0");
    levels.insert(t.level);
    v.geometry(pre, t.entries, t.ways, false, t.replacement);
    if (t.page_sizes.empty()) v.fail(pre + "page_sizes", "must name at least one page size");
    std::set<PageSize> seen(t.page_sizes.begin(), t.page_sizes.end());
    if (seen.size() != t.page_sizes.size()) v.fail(pre + "page_sizes", "lists a page size twice");
    if (!(t.curves_sample_rate >= 0.0 && t.curves_sample_rate <= 1.0))
      v.fail(pre + "curves_sample_rate", "must be in (0, 1] (or 0: no sampling), got " + format_value(t.curves_sample_rate));
    if (t.curves_opt && t.curves_sample_rate > 0.0 && t.curves_sample_rate < 1.0)
      v.fail(pre + "curves_opt", "needs exact curves: curves_sample_rate is " + format_value(t.curves_sample_rate));
    if (t.curves > TlbConfig::kMaxCurvesEntries)
      v.fail(pre + "curves", "must be at most " + std::to_string(TlbConfig::kMaxCurvesEntries) + " entries, got " +
                                 std::to_string(t.curves));
  }
  unsigned expect = 1;
  for (unsigned l : levels) {
    if (l != expect) v.fail("mmu.tlbs", "levels must be numbered 1, 2, ... without gaps; level " + std::to_string(expect) + " is missing");
    ++expect;
  }
  const auto& pwc = c.mmu.pwc;
  v.geometry("mmu.pwc.pml5.", pwc.pml5.entries, pwc.pml5.ways, true, "lru");
  v.geometry("mmu.pwc.pml4.", pwc.pml4.entries, pwc.pml4.ways, true, "lru");
  v.geometry("mmu.pwc.pdpt.", pwc.pdpt.entries, pwc.pdpt.ways, true, "lru");
  v.geometry("mmu.pwc.pd.", pwc.pd.entries, pwc.pd.ways, true, "lru");
  if (c.mmu.walker.walkers == 0 || c.mmu.walker.walkers > 1024)
    v.fail("mmu.walker.walkers", "must be in 1..1024, got " + std::to_string(c.mmu.walker.walkers));

  const auto& d = c.memory.dram;
  if (d.channels == 0 || !is_pow2(d.channels) || d.channels > 64)
    v.fail("memory.dram.channels", "must be a power of two in 1..64, got " + std::to_string(d.channels));
  if (d.banks == 0 || !is_pow2(d.banks) || d.banks > 1024)
    v.fail("memory.dram.banks", "must be a power of two in 1..1024, got " + std::to_string(d.banks));
  if (d.row_bytes.bytes < 64 || !is_pow2(d.row_bytes.bytes) || d.row_bytes.bytes > (1u << 20))
    v.fail("memory.dram.row_bytes", "must be a power of two in 64..1MiB, got " + std::to_string(d.row_bytes.bytes));

  std::map<unsigned, std::string> cache_levels;
  for (const auto& kv : c.memory.caches) {
    const std::string pre = "memory.caches." + kv.first + ".";
    const CacheConfig& k = kv.second;
    if (k.level == 0) v.fail(pre + "level", "must be at least 1, got 0");
    auto ins = cache_levels.emplace(k.level, kv.first);
    if (!ins.second)
      v.fail(pre + "level", "must differ from every other cache's (one cache per level), but " + ins.first->second +
                                " has level " + std::to_string(k.level) + " too");
    if (k.line_bytes < 8 || k.line_bytes > 4096 || !is_pow2(k.line_bytes))
      v.fail(pre + "line_bytes", "must be a power of two in 8..4096, got " + std::to_string(k.line_bytes));
    const std::uint64_t lines = k.size.bytes / k.line_bytes;
    if (k.size.bytes == 0 || k.size.bytes % k.line_bytes != 0)
      v.fail(pre + "size", "must be a non-zero multiple of line_bytes (" + std::to_string(k.line_bytes) + "), got " + format_value(k.size));
    if (lines > kMaxCacheLines)
      v.fail(pre + "size", "must hold at most " + std::to_string(kMaxCacheLines) + " lines (1GiB of 64-byte lines), got " +
                               std::to_string(lines) + " lines of " + std::to_string(k.line_bytes) + " bytes");
    const std::uint64_t w = k.ways == 0 ? lines : k.ways;
    if (w > lines) v.fail(pre + "ways", "must not exceed the number of lines (" + std::to_string(lines) + "), got " + std::to_string(k.ways));
    if (lines % w != 0 || !is_pow2(lines / w))
      v.fail(pre + "ways", "must leave a power-of-two number of sets; " + std::to_string(lines) + " lines / " +
                               std::to_string(w) + " ways is not");
  }
  unsigned expect_cache = 1;
  for (const auto& kv : cache_levels) {
    if (kv.first != expect_cache)
      v.fail("memory.caches." + kv.second + ".level", "must continue the levels 1, 2, ... without gaps: level " +
                                                           std::to_string(expect_cache) + " is missing, got " + std::to_string(kv.first));
    const CacheConfig& k = c.memory.caches.at(kv.second);
    const CacheConfig& first = c.memory.caches.at(cache_levels.begin()->second);
    if (k.line_bytes != first.line_bytes)
      v.fail("memory.caches." + kv.second + ".line_bytes", "must equal every level's line size (" + std::to_string(first.line_bytes) + "), got " + std::to_string(k.line_bytes));
    ++expect_cache;
  }

  const auto& os = c.os;
  if (os.memory.bytes % kPageBytes != 0) v.fail("os.memory", "must be a multiple of 4 KiB, got " + std::to_string(os.memory.bytes));
  if (os.memory.bytes < (16ull << 20)) v.fail("os.memory", "must be at least 16MiB, got " + format_value(os.memory));
  if (p.phys_addr_bits < 64 && os.memory.bytes > (1ull << p.phys_addr_bits))
    v.fail("os.memory", "exceeds what paging.phys_addr_bits (" + std::to_string(p.phys_addr_bits) + ") can address");
  if (os.max_order > 20) v.fail("os.max_order", "must be at most 20, got " + std::to_string(os.max_order));
  if (c.replay.switch_interval == 0) v.fail("replay.switch_interval", "must be at least 1");
  if (c.replay.outstanding == 0 || c.replay.outstanding > 1024)
    v.fail("replay.outstanding", "must be in 1..1024, got " + std::to_string(c.replay.outstanding));
  if (os.thp != "never" && os.max_order < 9)
    v.fail("os.max_order", "must be at least 9 for 2 MiB pages with os.thp: " + os.thp);
  if (os.thp != "never" && p.mode == "ia32" && p.pse && os.max_order < 10)
    v.fail("os.max_order", "must be at least 10 for 4 MiB pages (paging.mode ia32 with pse) with os.thp: " + os.thp);
  if (os.numa_nodes == 0 || os.numa_nodes > 64)
    v.fail("os.numa_nodes", "must be 1..64, got " + std::to_string(os.numa_nodes));
  else if (os.memory.bytes / os.numa_nodes < (16ull << 20))
    v.fail("os.numa_nodes", "leaves less than 16MiB per node with os.memory " + format_value(os.memory));
  if (os.hugetlb_1g != 0 && (p.mode == "ia32" || p.mode == "pae"))
    v.fail("os.hugetlb_1g", "needs a 64-bit paging.mode (1 GiB pages are PDPTE.PS, SDM 4.5), got " +
                                std::to_string(os.hugetlb_1g) + " with paging.mode " + p.mode);
  else if (os.hugetlb_1g != 0 && os.max_order > 18)
    v.fail("os.max_order",
           "must be at most 18 with os.hugetlb_1g (a 1 GiB page is made of whole max_order blocks), got " +
               std::to_string(os.max_order));
  if (os.fragmentation > 99) v.fail("os.fragmentation", "must be a percent of 0..99, got " + std::to_string(os.fragmentation));
  if (os.swappiness > 200) v.fail("os.swappiness", "must be 0..200, got " + std::to_string(os.swappiness));
  if (os.swap.size.bytes % kPageBytes != 0)
    v.fail("os.swap.size", "must be a multiple of 4 KiB, got " + std::to_string(os.swap.size.bytes));
}

std::string to_yaml(const Config& c) {
  Config copy = c;
  YamlWriter w;
  w.out << YAML::BeginMap;
  copy.visit(w);
  w.out << YAML::EndMap;
  return std::string(w.out.c_str()) + "\n";
}

std::string describe_params(const Config& current) {
  Config copy = current;
  ParamPrinter p;
  p.out << "mmusim configuration keys: KEY = current value, its default and unit, and what it does.\n"
           "Set them in a YAML file (-c) or with --set KEY=VALUE. Sizes take K/M/G/KiB/MiB/GiB,\n"
           "the clock takes Hz/kHz/MHz/GHz (1MHz..1THz), durations ps/ns/us/ms/s; latencies are in\n"
           "clock cycles, at most 1000000000; TLBs have at most 1048576 entries (README, Limits).\n";
  copy.visit(p);
  return p.out.str();
}

}  // namespace mmusim
