// Statistics registry.
//
// A model declares its statistics once, as typed members bound in its
// constructor:
//
//   Tlb(const TlbParams& p, StatGroup& stats)
//       : m_hits(stats.counter("hits", "demand lookups that hit")) {}
//   Counter& m_hits;   // ++m_hits on the hot path: no string lookup
//
// Groups nest; a statistic's path is the dotted chain of group names and its
// own name (mmu.tlb.l1d.hits). Everything is kept in declaration order so the
// writers produce the same bytes for the same run. Counters, histograms and
// formulas (evaluated when dumped) are the kinds.
//
// snapshot() flattens a group into (path, value) pairs; it is the one view
// the writers (stats.csv, stats.json) and the @mark snapshots read.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim {

class Counter {
 public:
  Counter& operator++() {
    ++m_value;
    return *this;
  }
  Counter& operator+=(std::uint64_t n) {
    m_value += n;
    return *this;
  }
  std::uint64_t value() const { return m_value; }
  void reset() { m_value = 0; }

 private:
  std::uint64_t m_value = 0;
};

// Buckets by inclusive upper bound; one overflow bucket above the last bound.
class Histogram {
 public:
  explicit Histogram(std::vector<std::uint64_t> upper_bounds);
  void sample(std::uint64_t v);
  const std::vector<std::uint64_t>& upper_bounds() const { return m_bounds; }
  const std::vector<std::uint64_t>& buckets() const { return m_buckets; }  // size bounds+1
  std::uint64_t count() const { return m_count; }
  std::uint64_t sum() const { return m_sum; }
  std::uint64_t min() const { return m_count ? m_min : 0; }
  std::uint64_t max() const { return m_max; }
  void reset();
  // Adds o's samples (same bounds): the histogram of both sample sets.
  void merge(const Histogram& o);

 private:
  std::vector<std::uint64_t> m_bounds;
  std::vector<std::uint64_t> m_buckets;
  std::uint64_t m_count = 0, m_sum = 0, m_min = UINT64_MAX, m_max = 0;
};

// One value of a snapshot. Counters and the fields of a histogram
// (PATH.count, .sum, .min, .max, .buckets.le_BOUND ... .buckets.gt_LAST) are
// exact integers; formulas are doubles.
struct StatValue {
  std::string path;
  bool integer = true;
  std::uint64_t count = 0;  // when integer
  double real = 0;          // when !integer
  double as_double() const { return integer ? static_cast<double>(count) : real; }
};

// A snapshot taken at a point of the run, with its name (@mark NAME: every
// statistic, histograms included).
struct MarkSnapshot {
  std::string name;
  std::vector<StatValue> values;
};

class StatGroup {
 public:
  enum class Kind { Counter, Histogram, Formula };
  struct Entry {
    Kind kind;
    std::string name;
    std::string description;
    Counter* counter = nullptr;
    Histogram* histogram = nullptr;
    std::function<double()> formula;
  };

  explicit StatGroup(std::string name = "") : m_name(std::move(name)) {}
  StatGroup(const StatGroup&) = delete;
  StatGroup& operator=(const StatGroup&) = delete;

  Counter& counter(const std::string& name, const std::string& description);
  Histogram& histogram(const std::string& name, const std::string& description,
                       std::vector<std::uint64_t> upper_bounds);
  void formula(const std::string& name, const std::string& description, std::function<double()> f);
  // Returns the child group of that name, creating it on first use.
  StatGroup& group(const std::string& name);

  const std::string& name() const { return m_name; }
  const std::vector<Entry>& entries() const { return m_entries; }
  const std::vector<std::unique_ptr<StatGroup>>& groups() const { return m_groups; }

  // Makes this (empty) group the total of parts, groups of one structure
  // (one per core): a counter or histogram for each of parts[0]'s, in its
  // order, that holds the sum over parts (histograms merged), refreshed by
  // every snapshot() and find(). Call after parts have all their statistics.
  void sum_of(std::vector<const StatGroup*> parts);

  // Looks a statistic up by a dotted path relative to this group (tests and
  // tools; never the hot path). Returns nullptr if absent.
  const Entry* find(const std::string& path) const;
  void reset_all();

  // Every statistic of this group and its children, formulas evaluated now:
  // a group's own entries in declaration order (a histogram expanded in
  // place), then its child groups in creation order. Paths are relative to
  // this group.
  std::vector<StatValue> snapshot() const;

 private:
  std::string m_name;
  std::vector<Entry> m_entries;
  std::deque<Counter> m_counters;  // deque: stable addresses
  std::deque<Histogram> m_histograms;
  std::vector<std::unique_ptr<StatGroup>> m_groups;
  std::function<void()> m_refresh;  // sum_of
  void refresh() const {
    if (m_refresh) m_refresh();
  }
  friend void flatten_group(const StatGroup& g, const std::string& prefix, std::vector<StatValue>& out);
};

// snapshot()'s walk: g's statistics, then its groups', with prefix.
void flatten_group(const StatGroup& g, const std::string& prefix, std::vector<StatValue>& out);

}  // namespace mmusim
