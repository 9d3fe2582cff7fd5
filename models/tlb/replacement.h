// Replacement state of a set-associative TLB: which way of a full set a fill
// evicts.
//
// Models four policies over sets x ways slots:
//   lru    - true LRU: every way carries the tick of its last use (hit or
//            fill); the victim is the smallest tick in the set.
//   plru   - tree pseudo-LRU: ways-1 direction bits per set arranged as a
//            binary tree; a use points every bit on its path away from the
//            used way, and the victim follows the bits from the root.
//   fifo   - the victim is the way filled longest ago; hits do not reorder.
//   random - the victim is drawn from a splitmix64 stream seeded by the
//            caller, so a given seed reproduces the same victim sequence.
//
// Leaves out: anything that knows whether a way is valid. Choosing an
// invalid way before calling victim() is the owner's job (Tlb does it), so
// victim() may assume the set is full. No per-way locking, no adaptive or
// set-dueling policies, no shared replacement across TLB levels.
//
// Timing: untimed. Updating state is free; the owner charges any latency.
//
// Intel SDM Vol. 3A, 4.10.2 (TLBs) leaves the replacement algorithm
// implementation specific; these are the textbook choices a study wants to
// compare, not a claim about any particular core.
//
// Speed: touch() runs on every TLB hit, so it is inline, branches on the
// policy with a switch (the branch is perfectly predicted for a given TLB)
// rather than a virtual call, and only touches contiguous per-way arrays
// allocated once in the constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/common/params.h"

namespace mmusim {

enum class ReplacementPolicy : std::uint8_t { Lru, Plru, Fifo, Random };

// The names of the configuration (mmu.tlbs.NAME.replacement), in enum order.
inline constexpr NamedValue<ReplacementPolicy> kReplacementPolicyNames[] = {{ReplacementPolicy::Lru, "lru"},
                                                                            {ReplacementPolicy::Plru, "plru"},
                                                                            {ReplacementPolicy::Fifo, "fifo"},
                                                                            {ReplacementPolicy::Random, "random"}};
const char* replacement_policy_name(ReplacementPolicy p);

class ReplacementState {
 public:
  // Throws std::invalid_argument if sets or ways is zero, or the policy is
  // plru and ways is not a power of two (the tree needs a full binary shape).
  ReplacementState(ReplacementPolicy policy, unsigned sets, unsigned ways, std::uint64_t seed);

  // A demand hit on (set, way).
  void touch(unsigned set, unsigned way) {
    switch (m_policy) {
      case ReplacementPolicy::Lru: m_ticks[slot(set, way)] = ++m_clock; break;
      case ReplacementPolicy::Plru: plru_point_away(set, way); break;
      case ReplacementPolicy::Fifo:    // insertion order only
      case ReplacementPolicy::Random:  // stateless apart from the stream
        break;
    }
  }

  // A fill of (set, way), whether into an invalid way, a victim, or over an
  // entry for the same page.
  void fill(unsigned set, unsigned way) {
    switch (m_policy) {
      case ReplacementPolicy::Lru:
      case ReplacementPolicy::Fifo: m_ticks[slot(set, way)] = ++m_clock; break;
      case ReplacementPolicy::Plru: plru_point_away(set, way); break;
      case ReplacementPolicy::Random: break;
    }
  }

  // The way a fill into the full set should replace. Random advances its
  // stream, so call it once per eviction for reproducible sequences.
  unsigned victim(unsigned set);

  // Back to the constructed state (ticks, tree bits and random stream).
  void reset();

  ReplacementPolicy policy() const { return m_policy; }
  unsigned sets() const { return m_sets; }
  unsigned ways() const { return m_ways; }

  // Tree bit `node` (1..ways-1, heap order: children of n are 2n and 2n+1)
  // of a plru set; 0 means the victim lies in the lower-numbered half.
  // For tests and debugging.
  bool plru_bit(unsigned set, unsigned node) const { return m_tree[slot(set, node)] != 0; }

 private:
  std::size_t slot(unsigned set, unsigned way) const { return std::size_t{set} * m_ways + way; }

  void plru_point_away(unsigned set, unsigned way) {
    // Leaves sit at heap indices ways..2*ways-1; walking up, each parent is
    // pointed at the sibling subtree of the path just taken.
    std::uint8_t* tree = &m_tree[slot(set, 0)];
    for (unsigned node = m_ways + way; node > 1; node >>= 1)
      tree[node >> 1] = static_cast<std::uint8_t>((node & 1) ^ 1);
  }

  std::uint64_t next_random();

  ReplacementPolicy m_policy;
  unsigned m_sets;
  unsigned m_ways;
  std::uint64_t m_seed;
  std::uint64_t m_rng_state;
  std::uint64_t m_clock = 0;
  // lru: tick of last use; fifo: tick of fill. Unused (empty) otherwise.
  std::vector<std::uint64_t> m_ticks;
  // plru: `ways` bytes per set, index 0 unused, 1..ways-1 the tree. A byte
  // per bit costs little at TLB sizes and keeps the update a plain store.
  std::vector<std::uint8_t> m_tree;
};

}  // namespace mmusim
