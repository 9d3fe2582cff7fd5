#include "models/common/stats.h"

#include <algorithm>
#include <stdexcept>

namespace mmusim {

Histogram::Histogram(std::vector<std::uint64_t> upper_bounds)
    : m_bounds(std::move(upper_bounds)), m_buckets(m_bounds.size() + 1, 0) {
  if (!std::is_sorted(m_bounds.begin(), m_bounds.end())) throw std::logic_error("histogram bounds must be sorted");
}

void Histogram::sample(std::uint64_t v) {
  auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), v);
  ++m_buckets[static_cast<std::size_t>(it - m_bounds.begin())];
  ++m_count;
  m_sum += v;
  m_min = std::min(m_min, v);
  m_max = std::max(m_max, v);
}

void Histogram::reset() {
  std::fill(m_buckets.begin(), m_buckets.end(), 0);
  m_count = m_sum = m_max = 0;
  m_min = UINT64_MAX;
}

void Histogram::merge(const Histogram& o) {
  if (o.m_bounds != m_bounds) throw std::logic_error("histogram merge: different bounds");
  for (std::size_t i = 0; i < m_buckets.size(); ++i) m_buckets[i] += o.m_buckets[i];
  m_count += o.m_count;
  m_sum += o.m_sum;
  m_min = std::min(m_min, o.m_min);
  m_max = std::max(m_max, o.m_max);
}

static void check_unique(const std::vector<StatGroup::Entry>& entries,
                         const std::vector<std::unique_ptr<StatGroup>>& groups, const std::string& name) {
  for (const auto& e : entries)
    if (e.name == name) throw std::logic_error("statistic declared twice: " + name);
  for (const auto& g : groups)
    if (g->name() == name) throw std::logic_error("statistic name clashes with a group: " + name);
}

Counter& StatGroup::counter(const std::string& name, const std::string& description) {
  check_unique(m_entries, m_groups, name);
  m_counters.emplace_back();
  Entry e{Kind::Counter, name, description, nullptr, nullptr, {}};
  e.counter = &m_counters.back();
  m_entries.push_back(std::move(e));
  return m_counters.back();
}

Histogram& StatGroup::histogram(const std::string& name, const std::string& description,
                                std::vector<std::uint64_t> upper_bounds) {
  check_unique(m_entries, m_groups, name);
  m_histograms.emplace_back(std::move(upper_bounds));
  Entry e{Kind::Histogram, name, description, nullptr, nullptr, {}};
  e.histogram = &m_histograms.back();
  m_entries.push_back(std::move(e));
  return m_histograms.back();
}

void StatGroup::formula(const std::string& name, const std::string& description, std::function<double()> f) {
  check_unique(m_entries, m_groups, name);
  Entry e{Kind::Formula, name, description, nullptr, nullptr, {}};
  e.formula = std::move(f);
  m_entries.push_back(std::move(e));
}

StatGroup& StatGroup::group(const std::string& name) {
  for (auto& g : m_groups)
    if (g->name() == name) return *g;
  for (const auto& e : m_entries)
    if (e.name == name) throw std::logic_error("group name clashes with a statistic: " + name);
  m_groups.push_back(std::make_unique<StatGroup>(name));
  return *m_groups.back();
}

void StatGroup::sum_of(std::vector<const StatGroup*> parts) {
  if (parts.empty()) throw std::logic_error("sum_of: no parts");
  const StatGroup& first = *parts[0];
  std::vector<std::function<void()>> steps;
  for (std::size_t i = 0; i < first.entries().size(); ++i) {
    const Entry& e = first.entries()[i];
    std::vector<const Entry*> from;
    for (const StatGroup* p : parts) {
      if (p->entries().size() != first.entries().size() || p->entries()[i].name != e.name ||
          p->entries()[i].kind != e.kind)
        throw std::logic_error("sum_of: the parts differ at " + e.name);
      from.push_back(&p->entries()[i]);
    }
    switch (e.kind) {
      case Kind::Counter: {
        Counter* c = &counter(e.name, e.description);
        steps.push_back([c, from] {
          c->reset();
          for (const Entry* f : from) *c += f->counter->value();
        });
        break;
      }
      case Kind::Histogram: {
        Histogram* h = &histogram(e.name, e.description, e.histogram->upper_bounds());
        steps.push_back([h, from] {
          h->reset();
          for (const Entry* f : from) h->merge(*f->histogram);
        });
        break;
      }
      case Kind::Formula: throw std::logic_error("sum_of: formula " + e.name + " has no total");
    }
  }
  m_refresh = [steps] {
    for (const auto& s : steps) s();
  };
  for (const auto& g : first.groups()) {
    std::vector<const StatGroup*> sub;
    for (const StatGroup* p : parts) {
      const StatGroup* found = nullptr;
      for (const auto& pg : p->groups())
        if (pg->name() == g->name()) found = pg.get();
      if (!found) throw std::logic_error("sum_of: the parts differ at group " + g->name());
      sub.push_back(found);
    }
    group(g->name()).sum_of(sub);
  }
}

const StatGroup::Entry* StatGroup::find(const std::string& path) const {
  refresh();
  auto dot = path.find('.');
  if (dot == std::string::npos) {
    for (const auto& e : m_entries)
      if (e.name == path) return &e;
    return nullptr;
  }
  std::string head = path.substr(0, dot);
  for (const auto& g : m_groups)
    if (g->name() == head) return g->find(path.substr(dot + 1));
  return nullptr;
}

namespace {

std::string bucket_name(const Histogram& h, std::size_t i) {
  const auto& b = h.upper_bounds();
  return i < b.size() ? "le_" + std::to_string(b[i]) : "gt_" + std::to_string(b.back());
}

void add(std::vector<StatValue>& out, std::string path, std::uint64_t v) {
  StatValue s;
  s.path = std::move(path);
  s.count = v;
  out.push_back(std::move(s));
}

}  // namespace

void flatten_group(const StatGroup& g, const std::string& prefix, std::vector<StatValue>& out) {
  g.refresh();
  for (const auto& e : g.entries()) {
    const std::string path = prefix + e.name;
    switch (e.kind) {
      case StatGroup::Kind::Counter: add(out, path, e.counter->value()); break;
      case StatGroup::Kind::Formula: {
        StatValue s;
        s.path = path;
        s.integer = false;
        s.real = e.formula();
        out.push_back(std::move(s));
        break;
      }
      case StatGroup::Kind::Histogram: {
        const Histogram& h = *e.histogram;
        add(out, path + ".count", h.count());
        add(out, path + ".sum", h.sum());
        add(out, path + ".min", h.min());
        add(out, path + ".max", h.max());
        for (std::size_t i = 0; i < h.buckets().size(); ++i)
          add(out, path + ".buckets." + bucket_name(h, i), h.buckets()[i]);
        break;
      }
    }
  }
  for (const auto& c : g.groups()) flatten_group(*c, prefix + c->name() + ".", out);
}

std::vector<StatValue> StatGroup::snapshot() const {
  std::vector<StatValue> out;
  flatten_group(*this, "", out);
  return out;
}

void StatGroup::reset_all() {
  for (auto& c : m_counters) c.reset();
  for (auto& h : m_histograms) h.reset();
  for (auto& g : m_groups) g->reset_all();
}

}  // namespace mmusim
