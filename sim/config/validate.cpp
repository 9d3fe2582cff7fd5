// validate(): the limits every key of one unit shares, then each declared
// struct's check() (models/*/..._params.h) and the rules across them, in
// the order of the YAML tree; a broken rule is a ConfigError naming the key
// and where its value came from.
#include <cstring>
#include <type_traits>

#include "sim/config/config.h"
#include "sim/config/values.h"
#include "sim/shown_value.h"

namespace mmusim {
namespace {

struct Validator {
  const ConfigOrigins& origins;
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    auto it = origins.find(key);
    std::string where = it != origins.end() ? it->second + ": " : std::string();
    throw ConfigError(where + key + " " + msg + (it == origins.end() ? " (default value)" : ""));
  }
};

// Every key whose unit is cycles (latencies, fault costs, gap_cycles) and
// every entries count of a TLB or paging-structure cache, against its limit.
struct RangeChecker {
  const Validator& v;
  std::string prefix;
  template <class T, class D>
  void param(const char* key, T& field, const D&, Unit unit, const char*) {
    if constexpr (std::is_same_v<T, Cycles>) {
      if (std::strcmp(unit.name, "cycles") == 0 && field > kMaxLatencyCycles)
        v.fail(prefix + key,
               "must be at most " + std::to_string(kMaxLatencyCycles) + " cycles, got " + std::to_string(field));
    } else if constexpr (std::is_same_v<T, unsigned>) {
      if (std::strcmp(unit.name, "entries") == 0 && field > kMaxTlbEntries)
        v.fail(prefix + key,
               "must be at most " + std::to_string(kMaxTlbEntries) + " entries, got " + std::to_string(field));
    }
  }
  template <class E, std::size_t N>
  void choice(const char*, E&, E, const NamedValue<E> (&)[N], const char*) {}
  template <class F>
  void group(const char* key, const char*, F&& body) {
    const std::string saved = prefix;
    prefix += std::string(key) + ".";
    body();
    prefix = saved;
  }
  template <class T>
  void named_map(const char* key, std::map<std::string, T>& m, const std::map<std::string, T>&, const char*) {
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

}  // namespace

bool walks_follow_tlb(const Config& c, const std::string& tlb) { return c.mmu.walks_follow_tlb(tlb); }

void validate(const Config& c, const ConfigOrigins& origins) {
  Validator v{origins};
  {
    Config copy = c;
    RangeChecker r{v, ""};
    copy.visit(r);
  }
  if (c.clock_hz < kMinClockHz || c.clock_hz > kMaxClockHz)
    v.fail("clock", "must be in 1MHz..1THz, got " + format_frequency(c.clock_hz) +
                        (c.clock_hz < kMinClockHz ? " (a number without a unit is in Hz: write 3GHz)"
                                                  : " (one cycle is at least 1 ps)"));
  if (c.cores < 1 || c.cores > kMaxCores)
    v.fail("cores", "must be in 1.." + std::to_string(kMaxCores) + ", got " + std::to_string(c.cores));
  if (c.cores > 1 && c.replay.outstanding > 1)
    v.fail("replay.outstanding", "must be 1 with cores: " + std::to_string(c.cores) +
                                     " (overlapped walks are modelled for one core only), got " +
                                     std::to_string(c.replay.outstanding));
  // Placement is for several cores; a core number must exist (the count of
  // entries against the -t traces is checked when the run starts).
  if (c.cores == 1 && !c.replay.affinity.empty())
    v.fail("replay.affinity", "places traces on cores and needs cores > 1 (cores is 1), got " +
                                  format_value(c.replay.affinity, Unit("cores")));
  if (c.cores == 1 && c.replay.migrate_interval != 0)
    v.fail("replay.migrate_interval", "moves tasks between cores and needs cores > 1 (cores is 1), got " +
                                          std::to_string(c.replay.migrate_interval));
  for (std::size_t i = 0; i < c.replay.affinity.size(); ++i)
    if (c.replay.affinity[i] >= c.cores)
      v.fail("replay.affinity", "entry " + std::to_string(i) + " is core " + std::to_string(c.replay.affinity[i]) +
                                    ", but cores is " + std::to_string(c.cores) + " (cores 0.." +
                                    std::to_string(c.cores - 1) + ")");
  if (c.cores > 1)
    for (const auto& kv : c.mmu.tlbs)
      if (kv.second.curves != 0)
        v.fail("mmu.tlbs." + kv.first + ".curves", "must be 0 with cores: " + std::to_string(c.cores) +
                                                       " (miss curves are for one core), got " +
                                                       std::to_string(kv.second.curves));
  const ParamCheck check([&v](const std::string& key, const std::string& rule) { v.fail(key, rule); });
  c.replay.check_quantum(check.at("replay."));
  c.paging.check(check.at("paging."));
  c.mmu.check(check.at("mmu."));
  c.memory.check(check.at("memory."));
  c.os.check_memory(check.at("os."), c.paging);
  c.replay.check(check.at("replay."));
  c.os.check_features(check.at("os."), c.paging);
}

}  // namespace mmusim
