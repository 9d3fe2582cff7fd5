// --set KEY=VALUE: a visitor over the declarations that finds the one key
// named and parses VALUE into it.
#include <sstream>
#include <type_traits>

#include "sim/config/values.h"
#include "sim/config/yaml_input.h"
#include "sim/shown_value.h"

namespace mmusim {
namespace {

class SetApplier {
 public:
  SetApplier(std::vector<std::string> parts, YAML::Node value, std::string label, ConfigOrigins& origins)
      : m_parts(std::move(parts)), m_value(std::move(value)), m_label(std::move(label)), m_origins(origins) {}
  bool done() const { return m_done; }

  template <class T, class D>
  void param(const char* key, T& field, const D&, Unit unit, const char*) {
    if (!at_leaf(key)) return;
    std::string err = parse_leaf(m_value, field, unit);
    if (!err.empty())
      throw ConfigError(m_label + ": " + path() + ": expected " + err + ", got '" + scalar_text(m_value) + "'");
    finish();
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& field, E, const NamedValue<E> (&names)[N], const char*) {
    if (!at_leaf(key)) return;
    std::string err = parse_choice(m_value, field, names);
    if (!err.empty())
      throw ConfigError(m_label + ": " + path() + ": expected " + err + ", got '" + scalar_text(m_value) + "'");
    finish();
  }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    if (m_done || m_depth + 1 >= m_parts.size() || m_parts[m_depth] != key) return;
    ++m_depth;
    body();
    --m_depth;
  }
  // KEY.NAME.FIELD; a NAME not in the map starts from T's defaults.
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char*) {
    if (m_done || m_depth >= m_parts.size() || m_parts[m_depth] != key) return;
    if (m_depth + 3 != m_parts.size())
      throw ConfigError(m_label + ": expected a key of the form " + path_prefix(m_depth) + key + ".NAME.KEY (e.g. " +
                        path_prefix(m_depth) + key + "." + T::kExampleKey + ")");
    const std::string& name = m_parts[m_depth + 1];
    auto it = m.find(name);
    if (it == m.end()) it = m.emplace(name, T()).first;
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

}  // namespace

void apply_override(const std::string& o, LoadedConfig& lc) {
  std::string label = "--set " + shown_value(o);
  size_t eq = o.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError(label + ": expected KEY=VALUE");
  std::string key = trim_blanks(o.substr(0, eq));
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

}  // namespace mmusim
