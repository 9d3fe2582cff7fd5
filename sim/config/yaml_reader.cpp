// The YAML file reader: a visitor over the declarations that reads each key
// the file gives, rejects unknown and duplicate keys, and records origins.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "sim/config/values.h"
#include "sim/config/yaml_input.h"
#include "sim/shown_value.h"

namespace mmusim {

std::string yaml_location(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  std::string s = file.empty() ? "<config>" : file;
  if (m.line >= 0) s += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  return s;
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return shown_value(n.Scalar());
  if (n.IsSequence()) {  // shown, so that an error can point at the bad element
    std::string s = "[";
    for (size_t i = 0; i < n.size() && s.size() < kMaxShownBytes; ++i)
      s += (i ? ", " : "") + (n[i].IsScalar()     ? n[i].Scalar()
                              : n[i].IsSequence() ? std::string("[...]")
                                                  : std::string("{...}"));
    return shown_value(s + "]");
  }
  if (n.IsMap()) return "a map";
  return "nothing";
}

std::string parse_leaf(const YAML::Node& n, unsigned& f, Unit) {
  std::uint64_t v;
  if (!n.IsScalar() || !parse_u64(n.Scalar(), &v) || v > UINT_MAX) return "an unsigned integer";
  f = static_cast<unsigned>(v);
  return {};
}
std::string parse_leaf(const YAML::Node& n, std::uint64_t& f, Unit u) {
  switch (u.kind) {
    case UnitKind::Size:
      if (!n.IsScalar() || !parse_byte_size(n.Scalar(), &f)) return "a size in bytes (4096, 4K, 2MiB, 8GiB)";
      return {};
    case UnitKind::Frequency:
      if (!n.IsScalar() || !parse_frequency(n.Scalar(), &f) || f == 0)
        return "a frequency with its unit (3GHz, 2400MHz, 3e9Hz)";
      return {};
    case UnitKind::Duration:
      if (!n.IsScalar() || !parse_duration(n.Scalar(), &f)) return "a duration (1us, 500ns, 0)";
      return {};
    case UnitKind::Plain: break;
  }
  if (!n.IsScalar() || !parse_u64(n.Scalar(), &f)) return "an unsigned integer";
  return {};
}
std::string parse_leaf(const YAML::Node& n, double& f, Unit) {
  if (!n.IsScalar()) return "a number";
  const std::string& t = n.Scalar();
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) return "a number";
  f = v;
  return {};
}
std::string parse_leaf(const YAML::Node& n, bool& f, Unit) {
  if (!n.IsScalar()) return "true or false";
  std::string t = ascii_lower(n.Scalar());
  if (t == "true" || t == "yes" || t == "on") f = true;
  else if (t == "false" || t == "no" || t == "off") f = false;
  else return "true or false";
  return {};
}
std::string parse_leaf(const YAML::Node& n, std::vector<PageSize>& f, Unit) {
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

std::string parse_leaf(const YAML::Node& n, std::vector<unsigned>& f, Unit u) {
  const char* what = "a list of unsigned integers, e.g. [0, 1]";
  std::vector<unsigned> out;
  if (!n.IsSequence()) return what;
  for (const auto& s : n) {
    unsigned v = 0;
    if (!parse_leaf(s, v, u).empty()) return what;
    out.push_back(v);
  }
  f = out;
  return {};
}

namespace {

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
  void param(const char* key, T& field, const D&, Unit unit, const char*) {
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    std::string err = parse_leaf(n, field, unit);
    if (!err.empty()) fail(n, path, "expected " + err + ", got '" + scalar_text(n) + "'");
    m_origins[path] = yaml_location(m_file, n);
  }

  template <class E, std::size_t N>
  void choice(const char* key, E& field, E, const NamedValue<E> (&names)[N], const char*) {
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    std::string err = parse_choice(n, field, names);
    if (!err.empty()) fail(n, path, "expected " + err + ", got '" + scalar_text(n) + "'");
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
  // the default. T::kNoun names the things in messages; with T::kListForm a
  // YAML list [{..}, {..}] gives the entries l1, l2, ... in order.
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char*) {
    const std::string noun = T::kNoun;
    m_level.known.push_back(key);
    if (!m_level.node) return;
    const YAML::Node n = child(key);
    if (!n.IsDefined()) return;
    std::string path = m_level.prefix + key;
    if constexpr (T::kListForm) {
      if (n.IsSequence()) {
        m.clear();
        m_origins[path] = yaml_location(m_file, n);
        for (std::size_t i = 0; i < n.size(); ++i) {
          const YAML::Node e = n[i];
          const std::string name = "l" + std::to_string(i + 1);
          if (!e.IsMap())
            fail(e, path + "[" + std::to_string(i) + "]",
                 "expected a map of " + noun + " keys, got '" + scalar_text(e) + "'");
          T t;
          t.set_list_position(i);
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
        fail(kv.first, path,
             "expected a " + noun + " name of 1 to 64 letters, digits, '_' or '-' (it names statistics), got '" +
                 shown_value(name) + "'");
      if (!kv.second.IsMap() && !kv.second.IsNull())
        fail(kv.second, path + "." + name, "expected a map of " + noun + " keys, got '" + scalar_text(kv.second) + "'");
      T t;
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
        fail(kv.first, "",
             "key '" + shown_value(prefix + k) + "' given twice (first at " + yaml_location(m_file, it->second) + ")");
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

}  // namespace

void read_config_file(const std::string& path, LoadedConfig& lc) {
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

}  // namespace mmusim
