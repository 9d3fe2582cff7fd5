// The configuration written out: the resolved config.yaml (to_yaml), the
// `mmusim params` listing (describe_params) and the key list (all_keys),
// each a visitor over the declarations.
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "sim/config/config.h"
#include "sim/config/values.h"

namespace mmusim {
namespace {

class KeyCollector {
 public:
  std::vector<std::string> keys;
  template <class T, class D>
  void param(const char* key, T&, const D&, Unit, const char*) {
    keys.push_back(m_prefix + key);
  }
  template <class E, std::size_t N>
  void choice(const char* key, E&, E, const NamedValue<E> (&)[N], const char*) {
    keys.push_back(m_prefix + key);
  }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    std::string saved = m_prefix;
    m_prefix += std::string(key) + ".";
    body();
    m_prefix = saved;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char*) {
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
  void param(const char* key, T& field, const D&, Unit unit, const char*) {
    out << YAML::Key << key << YAML::Value;
    emit(field, unit);
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& field, E, const NamedValue<E> (&names)[N], const char*) {
    out << YAML::Key << key << YAML::Value << name_of(names, field);
  }
  template <class F>
  void group(const char* key, const char*, F&& body) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    body();
    out << YAML::EndMap;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char*) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    for (auto& kv : m) {
      out << YAML::Key << kv.first << YAML::Value << YAML::Flow << YAML::BeginMap;
      kv.second.visit(*this);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }

 private:
  void emit(const std::vector<PageSize>& v, Unit) {
    out << YAML::Flow << YAML::BeginSeq;
    for (PageSize p : v) out << page_size_name(p);
    out << YAML::EndSeq;
  }
  void emit(const std::vector<unsigned>& v, Unit) {
    out << YAML::Flow << YAML::BeginSeq;
    for (unsigned x : v) out << x;
    out << YAML::EndSeq;
  }
  template <class T>
  void emit(const T& v, Unit unit) {
    out << format_value(v, unit);
  }
};

class ParamPrinter {
 public:
  std::ostringstream out;
  template <class T, class D>
  void param(const char* key, T& field, const D& def, Unit unit, const char* desc) {
    // Sizes, frequencies and durations print with their unit already.
    line(key, format_value(field, unit), format_value(T(def), unit), unit.kind == UnitKind::Plain ? unit.name : "",
         desc);
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& field, E def, const NamedValue<E> (&names)[N], const char* desc) {
    std::string d = std::string(desc) + " {";
    for (std::size_t i = 0; i < N; ++i) d += std::string(i ? "|" : "") + names[i].name;
    line(key, name_of(names, field), name_of(names, def), "", (d + "}").c_str());
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
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char* desc) {
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

std::vector<std::string> all_keys(const Config& c) {
  Config copy = c;
  KeyCollector k;
  copy.visit(k);
  return k.keys;
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
