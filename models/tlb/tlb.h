// One translation lookaside buffer: a set-associative cache of linear-page
// to physical-frame translations, tagged by page size and PCID.
//
// Models: sets x ways entries, each holding one translation of any page size
// the TLB is configured for (a split 4K TLB, a unified 4K+2M STLB, ...). A
// lookup probes every held size, smallest first, in the set picked by the low
// bits of that size's page number. An entry matches when it is valid, of that
// size, of that page number, and either global or of the current PCID
// (SDM 4.10.1, 4.10.2.4). Fills prefer an invalid way, then ask the
// replacement policy (replacement.h). The invalidation calls are the scopes
// the operations of SDM 4.10.4.1 need: MOV to CR3 without PCIDs and INVPCID
// type 3 (flush_non_global), MOV to CR3 with PCIDs and INVPCID type 1
// (flush_pcid), CR4.PGE/PCIDE toggles and INVPCID type 2 (flush_all), INVLPG
// (flush_page), and an address dropped for every address space, as a
// shootdown after unmapping shared memory does (flush_page_any_pcid).
//
// Leaves out: the paging-structure caches (4.10.3), fracturing of large pages
// into smaller entries, the spontaneous evictions and speculative fills the
// SDM permits (a reproducible model does without), A/D-bit write-back (the
// walker owns memory), permission checks (the entry carries the bits; the
// MMU checks them), and any bound on how many sizes a real STLB probes per
// cycle. If a 4K and a
// larger entry both cover an address the 4K one wins; the SDM (4.10.2.3)
// lets hardware use either, and smallest-first keeps runs reproducible.
//
// Timing: untimed. Lookup, fill and flush are functional and instantaneous;
// the MMU charges hit latency, miss penalty and flush cost.
//
// Intel SDM Vol. 3A, 4.10.2 (TLBs) and 4.10.4 (invalidation of TLBs).
//
// Speed: lookup() is the simulator's hot path, so it is inline, allocates
// nothing, and scans one contiguous run of `ways` entries per held size;
// shifts of the held sizes are precomputed in the constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/tlb/replacement.h"

namespace mmusim {

class MissCurves;

struct TlbEntry {
  VAddr vpn = 0;          // va >> page_shift(size)
  std::uint64_t pfn = 0;  // physical base >> page_shift(size)
  PageSize size = PageSize::k4K;
  // The size of the page the paging structures map. Larger than size for a
  // fractured entry (SDM 4.10.2.3: a piece of a page larger than any size
  // the TLB holds); INVLPG and page faults anywhere in that page remove it.
  PageSize page_size = PageSize::k4K;
  std::uint16_t pcid = 0;
  bool valid = false, global = false, writable = false, user = false, nx = false, dirty = false;

  PAddr translate(VAddr va) const { return (pfn << page_shift(size)) | (va & page_mask(size)); }
  bool fractured() const { return page_shift(page_size) > page_shift(size); }
  // Same match rule as Tlb::lookup, for one entry.
  bool matches(VAddr page_number, PageSize s, std::uint16_t current_pcid) const {
    return valid && vpn == page_number && size == s && (global || pcid == current_pcid);
  }
};

struct TlbGeometry {
  unsigned entries = 64;
  unsigned ways = 4;  // ways == entries (or 0) => fully associative
  std::vector<PageSize> page_sizes{PageSize::k4K};
  ReplacementPolicy policy = ReplacementPolicy::Lru;
  std::uint64_t seed = 1;  // for Random: deterministic
};

class Tlb {
 public:
  // Registers, in this order, the counters accesses, hits, misses,
  // evictions, flushes, flushed_entries, fractured_fills directly in `stats` (the caller
  // makes the per-TLB group). Throws std::invalid_argument, naming the TLB,
  // if entries is zero, ways does not divide entries, the set count is not a
  // power of two, plru is asked for with non-power-of-two ways, or
  // page_sizes is empty or lists a size twice.
  Tlb(std::string name, const TlbGeometry& g, StatGroup& stats);
  Tlb(const Tlb&) = delete;
  Tlb& operator=(const Tlb&) = delete;

  // Demand lookup: counts an access and a hit or miss, and on a hit tells
  // the replacement policy. The pointer stays valid until the next insert or
  // flush; the caller may update attribute bits (dirty, ...) through it but
  // must not change vpn, size, pcid, global or valid - use insert/flush.
  TlbEntry* lookup(VAddr va, std::uint16_t pcid) { return lookup_as<true>(va, pcid); }
  // lookup() for a caller that knows whether any TLB it probes has curves:
  // kCurves false (the MMU when none has) skips the curves test; true tests
  // this TLB's curves as lookup() does.
  template <bool kCurves>
  TlbEntry* lookup_as(VAddr va, std::uint16_t pcid) {
    ++m_accesses;
    unsigned set = 0, way = 0;
    // An empty TLB (a 1G array while no 1G page exists) cannot hit: skip the
    // probe, which is most of the cost of the parallel per-size lookups.
    if (m_valid_count == 0 || !find(va, pcid, &set, &way)) {
      ++m_misses;
      if (kCurves && m_curves) note_lookup(va, pcid, nullptr);
      return nullptr;
    }
    ++m_hits;
    m_repl.touch(set, way);
    TlbEntry* e = &m_entries[slot(set, way)];
    if (kCurves && m_curves) note_lookup(va, pcid, e);
    return e;
  }

  // The counters a demand lookup bumps, accesses and then hits (hit) or
  // misses: for Mmu's same-page path, which repeats a lookup whose outcome
  // cannot have changed and whose hit entry is already its set's most
  // recently used (touching it again changes no victim choice for any
  // policy), so it only counts.
  Counter* accesses_counter() { return &m_accesses; }
  Counter* outcome_counter(bool hit) { return hit ? &m_hits : &m_misses; }

  // Same match rule, no statistics, no replacement update (debug, checks,
  // the MMU asking "would this hit" without perturbing state).
  const TlbEntry* probe(VAddr va, std::uint16_t pcid) const {
    unsigned set = 0, way = 0;
    return find(va, pcid, &set, &way) ? &m_entries[slot(set, way)] : nullptr;
  }

  // The set of an entry lookup()/probe() returned.
  unsigned set_of(const TlbEntry* e) const { return static_cast<unsigned>((e - m_entries.data()) / m_ways); }

  bool holds(PageSize s) const { return (m_held_mask >> static_cast<unsigned>(s)) & 1u; }

  // Fill. An entry for the same (vpn, size) that the new one would shadow -
  // same pcid, or either of them global - is overwritten in place (no
  // eviction); any further such entries in the set are dropped so that no
  // PCID ever sees two matches. Otherwise the lowest invalid way of the set
  // is used, else the policy's victim (counted in evictions). The stored
  // entry is marked valid. Throws std::invalid_argument if the TLB does not
  // hold e.size (a caller bug: check holds() first).
  void insert(const TlbEntry& e);
  // Drops the one entry a lookup()/probe() returned, as the processor does
  // for the faulting address on a page fault (SDM 4.10.4.1). Not a flush
  // operation: no statistics.
  void invalidate_entry(const TlbEntry* e);

  // Reports every demand lookup, fill, invalidation and flush to c from now
  // on (miss_curves.h); null stops. Not owned. Off, a lookup pays one
  // null-pointer test (none through lookup_as<false>). A TLB of an Mmu gets
  // its curves through Mmu::set_curves, which picks the lookup.
  void set_curves(MissCurves* c) { m_curves = c; }
  bool has_curves() const { return m_curves != nullptr; }

  // Invalidation (SDM 4.10.4). Each call counts one flush, however many
  // entries it removes, and adds the removed entries to flushed_entries.
  void flush_all();                                    // everything, global too
  void flush_non_global();                             // all non-global entries, any PCID
  void flush_pcid(std::uint16_t pcid);                 // non-global entries of that pcid
  void flush_page(VAddr va, std::uint16_t pcid);       // INVLPG: any size, global or this pcid
  void flush_page_any_pcid(VAddr va);                  // every pcid, global too
  void flush_page_pcid(VAddr va, std::uint16_t pcid);  // INVPCID type 0: non-global entries of that pcid
  // A page fault at va (SDM 4.10.4.1): drops the entries a lookup of va
  // would use and every fractured piece of the page containing va, of this
  // pcid or global. Not a flush operation: no statistics.
  void invalidate_page(VAddr va, std::uint16_t pcid);
  // Counts a fill of a fractured entry (Mmu::fill): fractured_fills.
  void count_fractured_fill() { ++m_fractured_fills; }

  const std::string& name() const { return m_name; }
  unsigned sets() const { return m_sets; }
  unsigned ways() const { return m_ways; }
  unsigned entries() const { return m_sets * m_ways; }
  std::size_t valid_entries() const { return m_valid_count; }
  ReplacementPolicy policy() const { return m_repl.policy(); }
  // The held sizes, smallest first (the probe order).
  std::vector<PageSize> page_sizes() const;
  // The set a page of size s containing va maps to.
  unsigned set_index(VAddr va, PageSize s) const { return static_cast<unsigned>((va >> page_shift(s)) & m_set_mask); }
  // Raw slot access for tests and dumps.
  const TlbEntry& entry_at(unsigned set, unsigned way) const { return m_entries[slot(set, way)]; }

 private:
  std::size_t slot(unsigned set, unsigned way) const { return std::size_t{set} * m_ways + way; }

  bool find(VAddr va, std::uint16_t pcid, unsigned* set_out, unsigned* way_out) const {
    for (unsigned i = 0; i < m_num_sizes; ++i) {
      const VAddr vpn = va >> m_shifts[i];
      const unsigned set = static_cast<unsigned>(vpn & m_set_mask);
      const TlbEntry* row = &m_entries[slot(set, 0)];
      for (unsigned w = 0; w < m_ways; ++w) {
        if (row[w].matches(vpn, m_sizes[i], pcid)) {
          *set_out = set;
          *way_out = w;
          return true;
        }
      }
    }
    return false;
  }

  // Validates g (see the constructor) and returns the effective way count.
  static unsigned checked_ways(const std::string& name, const TlbGeometry& g);
  void invalidate(unsigned set, unsigned way);
  void invalidate_entry_quiet(const TlbEntry* e);  // invalidate_entry without telling the curves
  // Out of line and cold: only TLBs with curves call it.
  [[gnu::cold, gnu::noinline]] void note_lookup(VAddr va, std::uint16_t pcid, const TlbEntry* hit);
  // Removes every valid entry satisfying pred (one flush operation).
  template <typename Pred>
  void flush_where(Pred pred);
  // Removes entries translating va (any held size) satisfying pred.
  template <typename Pred>
  void flush_page_where(VAddr va, Pred pred);

  std::string m_name;
  unsigned m_ways;
  unsigned m_sets;
  std::uint64_t m_set_mask;
  unsigned m_num_sizes = 0;
  unsigned m_shifts[kNumPageSizes] = {};
  PageSize m_sizes[kNumPageSizes] = {};
  unsigned m_held_mask = 0;
  std::size_t m_valid_count = 0;
  std::vector<TlbEntry> m_entries;  // sets * ways, set-major
  ReplacementState m_repl;
  MissCurves* m_curves = nullptr;

  Counter& m_accesses;
  Counter& m_hits;
  Counter& m_misses;
  Counter& m_evictions;
  Counter& m_flushes;
  Counter& m_flushed_entries;
  Counter& m_fractured_fills;
  // A fractured entry was filled since the last flush_all: page flushes then
  // also scan for the pieces of larger pages.
  bool m_has_fractured = false;
  template <typename Pred>
  std::uint64_t drop_fractured(VAddr va, Pred pred);
};

}  // namespace mmusim
