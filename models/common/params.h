// Configuration parameters, declared once beside the model that reads them
// (the SST / Ramulator 2 pattern).
//
// A parameter struct declares each of its keys in one line of its visit():
//
//   v.param("entries", entries, 64u, "entries", "number of entries");
//   v.choice("thp", thp, ThpMode::Never, kThpModeNames, "transparent huge pages");
//   v.group("swap", "the swap device", [&] { ... });
//   v.named_map("tlbs", tlbs, default_tlbs(), "TLBs by name");
//
// naming the key (one component of its YAML path, e.g. the "memory" of
// os.memory), the field, its default, its unit and its description. Every
// consumer is a visitor over these declarations: the defaults
// (apply_defaults below), the YAML reader and --set overrides, `mmusim
// params` and the resolved-config writer (sim/config). A mode name is parsed
// once, into the field's enum, through its NamedValue table. The rules on a
// struct's values sit beside its declarations, in its check(); the limits
// every key of one unit shares (cycles, entries) are checked by sim/config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace mmusim {

// How a value is written: a plain number (its unit is only documentation)
// or a quantity whose unit is part of the value.
enum class UnitKind : std::uint8_t { Plain, Size, Frequency, Duration };

struct Unit {
  const char* name;
  UnitKind kind;
  // Implicit: a declaration names a plain unit by its name ("cycles").
  constexpr Unit(const char* n, UnitKind k = UnitKind::Plain)
      : name(n), kind(k) {}  // NOLINT(google-explicit-constructor)
};
// A size in bytes (std::uint64_t): 4096, 4K, 4KiB, 8GiB, ... (binary multiples).
inline constexpr Unit kSize{"bytes", UnitKind::Size};
// A frequency in Hz (std::uint64_t): 3GHz, 2400MHz, 3e9.
inline constexpr Unit kFrequency{"Hz", UnitKind::Frequency};
// A duration in picoseconds (std::uint64_t): 1us, 500ns, 2ms, 0.
inline constexpr Unit kDuration{"time", UnitKind::Duration};

// One name of an enumerated parameter; a table of them, in the order the
// documentation lists them, declares the names a choice accepts.
template <class E>
struct NamedValue {
  E value;
  const char* name;
};

template <class E, std::size_t N>
const char* name_of(const NamedValue<E> (&names)[N], E v) {
  for (const auto& n : names)
    if (n.value == v) return n.name;
  return "?";
}

// The visitor that gives every declared field its default.
struct DefaultSetter {
  template <class T, class D>
  void param(const char*, T& field, const D& def, Unit, const char*) {
    field = T(def);
  }
  template <class E, std::size_t N>
  void choice(const char*, E& field, E def, const NamedValue<E> (&)[N], const char*) {
    field = def;
  }
  template <class F>
  void group(const char*, const char*, F&& body) {
    body();
  }
  template <class M>
  void named_map(const char*, M& m, const M& def, const char*) {
    m = def;
  }
};

template <class P>
void apply_defaults(P& p) {
  DefaultSetter d;
  p.visit(d);
}

// Where a check() reports a broken rule: fail(key, rule) names the key
// relative to the struct's own path (at() descends). sim/config turns it into
// a ConfigError naming the key's origin; without a handler it throws
// std::invalid_argument.
class ParamCheck {
 public:
  using Handler = std::function<void(const std::string& key, const std::string& rule)>;
  explicit ParamCheck(Handler handler = {}, std::string prefix = {})
      : m_handler(std::move(handler)), m_prefix(std::move(prefix)) {}
  ParamCheck at(const std::string& prefix) const { return ParamCheck(m_handler, m_prefix + prefix); }
  const std::string& prefix() const { return m_prefix; }
  [[noreturn]] void fail(const std::string& key, const std::string& rule) const {
    if (m_handler) m_handler(m_prefix + key, rule);
    throw std::invalid_argument(m_prefix + key + " " + rule);
  }

 private:
  Handler m_handler;
  std::string m_prefix;
};

inline bool is_pow2(std::uint64_t v) { return v && !(v & (v - 1)); }

// The rules of a set-associative array of `entries` (a TLB, a
// paging-structure cache): ways 0 or equal to entries is fully associative,
// ways must divide entries into a power-of-two number of sets, and pseudo-LRU
// needs a power-of-two way count. c is at the array's path ("mmu.tlbs.l1d.").
void check_set_geometry(const ParamCheck& c, unsigned entries, unsigned ways, bool allow_zero_entries, bool plru);

// Values as the configuration writes them: sizes as 4KiB, 8GiB (or bytes),
// frequencies as 3GHz, durations as 1us, 0; numbers in their shortest
// round-trip form.
std::string format_size(std::uint64_t bytes);
std::string format_frequency(std::uint64_t hz);
std::string format_duration(std::uint64_t ps);
std::string format_number(double v);

}  // namespace mmusim
