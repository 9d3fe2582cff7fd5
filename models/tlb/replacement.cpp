#include "models/tlb/replacement.h"

#include <algorithm>
#include <stdexcept>

namespace mmusim {

namespace {

bool is_power_of_two(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

const char* replacement_policy_name(ReplacementPolicy p) { return name_of(kReplacementPolicyNames, p); }

ReplacementState::ReplacementState(ReplacementPolicy policy, unsigned sets, unsigned ways, std::uint64_t seed)
    : m_policy(policy), m_sets(sets), m_ways(ways), m_seed(seed), m_rng_state(seed) {
  if (sets == 0 || ways == 0) throw std::invalid_argument("replacement state needs at least one set and one way");
  if (policy == ReplacementPolicy::Plru && !is_power_of_two(ways))
    throw std::invalid_argument("plru replacement needs a power-of-two number of ways, got " + std::to_string(ways));
  const std::size_t slots = std::size_t{sets} * ways;
  if (policy == ReplacementPolicy::Lru || policy == ReplacementPolicy::Fifo) m_ticks.assign(slots, 0);
  if (policy == ReplacementPolicy::Plru) m_tree.assign(slots, 0);
}

void ReplacementState::reset() {
  m_clock = 0;
  m_rng_state = m_seed;
  std::fill(m_ticks.begin(), m_ticks.end(), 0);
  std::fill(m_tree.begin(), m_tree.end(), 0);
}

std::uint64_t ReplacementState::next_random() {
  // splitmix64: full period over 2^64 and fine with any seed, zero included
  // (xorshift would stick at zero).
  std::uint64_t z = (m_rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

unsigned ReplacementState::victim(unsigned set) {
  switch (m_policy) {
    case ReplacementPolicy::Lru:
    case ReplacementPolicy::Fifo: {
      // Ticks are unique once a way has been filled, so the minimum is the
      // single least recently used (lru) or oldest filled (fifo) way.
      // Written as selects, not a branch: where the minimum sits is random,
      // so a branch on it mispredicts (this dominated misses in wide sets).
      const std::uint64_t* ticks = &m_ticks[slot(set, 0)];
      unsigned best = 0;
      std::uint64_t best_tick = ticks[0];
      for (unsigned w = 1; w < m_ways; ++w) {
        const bool older = ticks[w] < best_tick;
        best_tick = older ? ticks[w] : best_tick;
        best = older ? w : best;
      }
      return best;
    }
    case ReplacementPolicy::Plru: {
      const std::uint8_t* tree = &m_tree[slot(set, 0)];
      unsigned node = 1;
      while (node < m_ways) node = 2 * node + tree[node];
      return node - m_ways;
    }
    case ReplacementPolicy::Random:
      // Only the eviction path pays for the division.
      return static_cast<unsigned>(next_random() % m_ways);
  }
  return 0;
}

}  // namespace mmusim
