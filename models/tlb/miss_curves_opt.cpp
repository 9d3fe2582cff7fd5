// MissCurves' OPT curve: the references recorded as instances, and the
// misses of Belady's MIN for every entry count (miss_curves.h, "OPT").
#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/tlb/miss_curves.h"
#include "models/tlb/miss_curves_opt_record.h"

namespace mmusim {

void MissCurves::record_opt() {
  if (m_sample_threshold) throw std::invalid_argument("miss curves: OPT curves need exact curves, not sampled ones");
  m_opt = std::make_unique<OptRecord>();
}

void MissCurves::opt_reference(const Key& k, bool counted) {
  OptRecord& o = *m_opt;
  auto& v = o.live[(k.vpn << 4) | (k.tag & 0xfu)];
  std::uint32_t id = 0;
  bool found = false;
  for (std::size_t i = 0; i < v.size();) {
    if (v[i].first == k.tag) {
      id = v[i].second;
      found = true;
      ++i;
    } else if (global_of(k) || global_of(Key{k.vpn, v[i].first, 0}) ||
               pcid_of(Key{k.vpn, v[i].first, 0}) == pcid_of(k)) {
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));  // shadowed: Tlb::insert drops it
    } else {
      ++i;
    }
  }
  if (!found) {
    id = o.next_id++;
    v.emplace_back(k.tag, id);
  }
  if (!o.id.empty() && o.id.back() == id) {
    if (counted) {
      if ((o.flags.back() & 0x7fffffffu) == 0x7fffffffu) {  // the run's count is full: a new record
        o.id.push_back(id);
        o.flags.push_back(1);
        return;
      }
      ++o.flags.back();
    }
    return;
  }
  o.id.push_back(id);
  o.flags.push_back(counted ? 0x80000000u : 0u);
}

void MissCurves::opt_end(const Key& k) {
  auto it = m_opt->live.find((k.vpn << 4) | (k.tag & 0xfu));
  if (it == m_opt->live.end()) return;
  auto& v = it->second;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i].first == k.tag) {
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  if (v.empty()) m_opt->live.erase(it);
}

std::uint64_t MissCurves::opt_misses(unsigned entries) const {
  if (!m_opt) throw std::logic_error("miss curves: OPT was not recorded");
  if (entries == 0 || entries > m_max_entries)
    throw std::invalid_argument("miss curves: OPT of " + std::to_string(entries) + " entries is outside the bound " +
                                std::to_string(m_max_entries));
  OptRecord& o = *m_opt;
  if (!o.computed) {
    const std::size_t n = o.id.size();
    constexpr std::uint64_t kNever = ~std::uint64_t{0};
    // Backward pass: each reference's next reference of the same instance.
    std::vector<std::uint64_t> next(n);
    std::vector<std::uint64_t> seen(o.next_id, kNever);
    for (std::size_t i = n; i-- > 0;) {
      next[i] = seen[o.id[i]];
      seen[o.id[i]] = i;
    }
    // The priority stack, truncated at the bound.
    struct Item {
      std::uint32_t id;
      std::uint64_t next;
    };
    std::vector<Item> stack;
    stack.reserve(m_max_entries);
    std::vector<std::uint64_t> hist(m_max_entries, 0);
    std::uint64_t accesses = o.miss_only;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t x = o.id[i];
      const bool counted = (o.flags[i] & 0x80000000u) != 0;
      const std::uint64_t repeats = o.flags[i] & 0x7fffffffu;
      accesses += (counted ? 1 : 0) + repeats;
      hist[0] += repeats;
      std::size_t d = 0;  // 1-based depth, 0: absent
      for (std::size_t j = 0; j < stack.size(); ++j)
        if (stack[j].id == x) {
          d = j + 1;
          break;
        }
      if (counted && d != 0) ++hist[d - 1];
      const Item cur{x, next[i]};
      if (d == 1) {
        stack[0] = cur;
        continue;
      }
      if (stack.empty()) {
        stack.push_back(cur);
        continue;
      }
      // x on top; going down, each position keeps the entry referenced
      // sooner and carries the other; x's old place (or the bottom) takes
      // what is carried last: for every size s the top s are MIN's content.
      Item carry = stack[0];
      stack[0] = cur;
      const std::size_t limit = d != 0 ? d - 1 : stack.size();
      for (std::size_t j = 1; j < limit; ++j)
        if (stack[j].next > carry.next) std::swap(stack[j], carry);
      if (d != 0) stack[d - 1] = carry;
      else if (stack.size() < m_max_entries) stack.push_back(carry);
    }
    if (o.pending_miss) ++accesses;
    if (accesses != m_accesses)
      throw std::logic_error("miss curves: the OPT stream has " + std::to_string(accesses) + " lookups, the TLB " +
                             std::to_string(m_accesses));
    o.misses.resize(m_max_entries);
    std::uint64_t hits = 0;
    for (unsigned e = 0; e < m_max_entries; ++e) {
      hits += hist[e];
      o.misses[e] = accesses - hits;
    }
    o.computed = true;
  }
  return o.misses[entries - 1];
}

}  // namespace mmusim
