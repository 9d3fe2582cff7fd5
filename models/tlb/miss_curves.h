// Miss curves of one TLB: from the lookups, fills and invalidations that TLB
// receives in a run, the demand misses an LRU TLB of every other geometry
// would have had on the same input - every power-of-two number of sets S and
// every associativity W with S x W up to a bound - in one pass.
//
// Models: LRU stack-distance analysis, one stack per set (Mattson, Gecsei,
// Slutz and Traiger 1970, "Evaluation techniques for storage hierarchies";
// for set-associative caches Hill and Smith 1989, "Evaluating associativity
// in CPU caches"). With S sets, the W-way LRU TLB holds, in each set, the W
// most recently referenced entries of that set: exactly the top W of the
// set's recency stack, for every W at once (the inclusion property). A
// reference found at depth d of its set's stack hits every W >= d. Keeping
// one array of depth floor(bound / S) per set, for every S = 1, 2, 4, ...,
// costs bound entries per S; the fully associative curve (S = 1) is exact for
// every entry count 1..bound. Entries are keyed like Tlb entries: page
// number, page size, PCID and the global bit, and a key matches a lookup by
// the Tlb's rule (same page number and size, global or of the current PCID).
//
// Invalidations leave holes. A flush, INVLPG, INVPCID, a page fault or a
// rights walk removes an entry e at depth p of its set's stack. Every W-way
// TLB with W >= p held e and now has a free way; one with W < p did not hold
// e and is unchanged. On the next fill of that set the first kind evicts
// nothing (Tlb::insert takes an invalid way before asking the policy), the
// second evicts its LRU entry, the one at depth W. So e is replaced by a
// hole that stays at depth p: a push shifts the entries above the topmost
// hole down by one and the hole absorbs them. For W >= p the W-way content
// then gains the new entry and loses nothing; for W < p the entry at depth
// W moves to W + 1, out of the TLB: exactly the eviction. Plain removal
// (closing the gap) would lift the entry at depth W + 1 into the top W, a
// false hit for the TLBs with W >= p that never held it, and the next push
// would then evict for them although they have a free way. A re-reference of an
// entry at depth q below the topmost hole p (q > p) is the same thing in
// two steps: W >= q hit and keep their free way, p <= W < q miss and fill
// their free way, so the hole moves from p to q. Trailing holes are the
// same as free space at the bottom of the stack; an empty set is all holes.
//
// Which sequence: the Tlb reports every demand lookup (hit or miss), every
// fill, every invalidation of one entry and every flush. A fill after a
// demand lookup (the miss path: a lower level or the walk fills the TLB;
// the rights path: a hit whose rights fail is invalidated, then the walk
// refills) is one reference: in a TLB of another geometry the same lookup
// either hits the entry and, rights permitting, only touches it, or misses
// (or fails the rights) and gets the same fill, and both leave the entry at
// the top. A demand hit with no fill after it is a reference (the other
// geometries either hit and touch it, or miss and are filled with it). A
// demand miss with no fill after it changes nothing (the size is not held,
// or the walk faulted, whose invalidation comes as its own event). A hit
// that is invalidated and not refilled (rights walk that faulted) leaves a
// hole at the entry's depth: the geometries that held it hit and lost it,
// the others missed and kept their content. A fill with no demand lookup
// before it (the retry after a fault, or a walk from a rights check in
// another TLB) is a reference too: Tlb::insert overwrites a shadowed entry
// in place or takes a free way or the LRU victim, which is what a push does.
// A fill that shadows several entries (a global entry over per-PCID copies)
// holes all of them and pushes once, as Tlb::insert drops the extra copies.
// The configured geometry is one of the points, so the TLB's own hits and
// misses statistics check the analysis: mmusim run does at the end of every
// run with curves (sim/curves_output.h).
//
// Leaves out: policies other than LRU (plru, fifo and random do not have the
// inclusion property); the case of two TLBs of one level both holding an
// entry for the same address (a sibling hit decides the fill, which depends
// on the geometry); page-table changes not followed by the invalidation the
// SDM requires (stale entries; also, should a lookup match entries of two
// page sizes, the smallest size's depth is taken, as the Tlb probes it
// first); non-power-of-two set counts.
//
// OPT (optional, record_opt): the misses of Belady's MIN (Belady 1966) for a
// fully associative TLB of every entry count, a lower bound for LRU, PLRU,
// FIFO and random of any geometry on the same input. Computed as Mattson et
// al. 1970 do for OPT and Sugumar and Abraham 1993 ("Efficient simulation
// of caches under optimal replacement") extend: a priority stack where the
// priority of an entry is the time of its next reference, so the update on
// a reference at depth d moves it to the top and, going down positions
// 2..d, keeps at each the entry referenced sooner and carries the other
// down; depth d hits every size >= d. Next references need the future, so
// the run records the reference stream (the same references the LRU
// analysis pushes) and computes the curve at the end, in two passes: a
// backward pass for the next references, then the stack. Invalidations:
// an entry invalidated (flush, INVLPG, INVPCID, rights walk, fault) ends
// its instance; a later fill of the same key is a new instance, a miss for
// every size. The ended instance stays in the stack with no next reference
// (lowest priority): an OPT TLB that held it evicts it first, which leaves
// it with the same content as a TLB that got a free way, so its hits are
// the same (the hole argument above, for free). MIN here is demand MIN:
// every miss that the TLB fills is filled (no bypass), and a lookup the TLB
// did not fill (size not held, fault) is a miss for every size. Fills with
// no demand lookup are references that count nothing. Immediate repeats of
// one instance are one reference with a count (they hit at depth 1 and move
// nothing). Memory: 8 bytes per non-repeat reference while recording, 8
// more for the next references while computing.
//
// Sampling (optional, set_sample_rate; off by default): spatial hash
// sampling as SHARDS does (Waldspurger, Park, Garthwaite and Ahmad, FAST'15,
// "Efficient MRC construction with SHARDS"). The sampling unit is the
// region of the largest page size the TLB holds (va >> that shift), so a
// lookup, its fill and its invalidations are sampled together whatever the
// size of the entry. A unit is tracked iff hash(unit) mod P < T, with
// P = 2^24 and T = round(R x P) (at least 1): the rate used is T / P. The
// hash is a fixed 64-bit mix, so runs are deterministic. Every event of an
// unsampled unit is dropped before it reaches the stacks; flushes apply to
// everything (only sampled entries are in the stacks), so the stacks are
// exactly those of a TLB whose input is the sampled units' lookups.
// Estimates: a reference at depth d of a sampled stack has d - 1 sampled
// distinct entries above it in its set; each of the real ones was sampled
// with probability R, so its real depth is estimated as 1 + (d - 1) / R
// (immediate re-references stay at depth 1). A W-way geometry hits it iff
// d <= t = 1 + (W - 1) R; between integer depths the histogram is
// interpolated linearly. The sampled hit ratio at t, times the run's total
// lookups (counted exactly), is the hits estimate (a ratio estimator, which
// corrects the sample-size fluctuation as SHARDS_adj does). Its error bound
// is 3 standard errors of the ratio estimator under Bernoulli sampling of
// units (cluster sampling): with m_u, n_u a sampled unit's misses at the
// point and lookups, r the sampled miss ratio and N the total lookups,
// Var(r) ~ (1 - R) / (R^2 N^2) x sum over sampled units of (m_u - r n_u)^2,
// so 3 standard errors are 3 sqrt((1 - R) sum (m_u - r n_u)^2) / R. That
// covers the sampling variance, not the bias of the depth scaling, so the
// bound reported adds an allowance of 1% of the lookups (0.01 of miss
// ratio) for it: bound(misses) = 3 sigma + 0.01 N. The README gives the
// errors measured against exact curves (inside the bound on single-trace
// runs). With fewer than 32 sampled units the variance estimate means
// nothing (one unit gives 0): the bound is then the trivial one, all the
// lookups. A TLB holding 2M pages samples 2M regions,
// so it needs a footprint of many of them. Nor can the bound see a few
// heavy pages that were not sampled (README "Sampled miss curves" has a case).
// Small associativities: sampled depths cannot tell real depths below about
// 1 / R apart (a sampled depth of 1 is any real depth up to ~1 / R), so the
// estimate of a W-way geometry with (W - 1) R < a few is biased, for every
// set count (a set's depth, not the total entries, is what is scaled). So
// sampling also keeps exact stacks capped at H = ceil(4 / R) ways per set
// count (bounded by the usual depth), fed by every event: the points with
// W <= H are exact (bound 0), and only the deeper ones are estimated. Its
// cost is that of an exact analysis with a depth of H; the full depths are
// only scanned for sampled pages.
// Mmu::translate
// with demand = false is seen through its fills only, which is exact
// because the fault before it invalidated the page everywhere.
//
// Flush scopes follow Intel SDM Vol. 3A 4.10.4.1 as Tlb does: MOV to CR3
// without PCIDs (non-global entries), with PCIDs (that PCID's non-global
// entries), INVLPG (the page, current PCID or global), INVPCID types 0-3,
// CR4.PGE toggles (everything).
//
// Timing: untimed; the counts are exact, not sampled.
//
// Speed: each event scans one set per set count, from the top, stopping at
// the entry (hits are near the top); a miss scans the occupied depth. A hit
// on the entry the previous lookup hit at the top of every stack (the next
// access to the same page) only increments a counter. Plain
// C++, no SystemC; a Tlb without curves pays one null-pointer test per
// lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "models/common/types.h"
#include "models/tlb/tlb.h"

namespace mmusim {

class MissCurves {
 public:
  // sizes: the page sizes the TLB holds (any order; lookups probe them
  // smallest first, as Tlb does). max_entries: the bound on sets x ways, at
  // least 1. Throws std::invalid_argument otherwise or if sizes is empty.
  // depth_cap (0: none) limits the ways analysed for every set count.
  MissCurves(const std::vector<PageSize>& sizes, unsigned max_entries, unsigned depth_cap = 0);
  ~MissCurves();

  // Events, in the order the TLB receives them.
  // A demand lookup; hit is the entry the TLB returned, or null for a miss.
  void lookup(VAddr va, std::uint16_t pcid, const TlbEntry* hit);
  void fill(const TlbEntry& e);
  // One entry dropped (a rights walk or a page fault), not a flush.
  void invalidate_entry(const TlbEntry& e);
  void flush_all();
  void flush_non_global();
  void flush_pcid(std::uint16_t pcid);
  void flush_page(VAddr va, std::uint16_t pcid);  // global or that pcid
  void flush_page_any_pcid(VAddr va);
  void flush_page_pcid(VAddr va, std::uint16_t pcid);  // non-global of that pcid

  unsigned max_entries() const { return m_max_entries; }
  // The set counts analysed: 1, 2, 4, ... up to max_entries.
  unsigned num_set_counts() const { return static_cast<unsigned>(m_stacks.size()); }
  unsigned sets_at(unsigned i) const { return 1u << i; }
  // The largest associativity analysed for sets_at(i): floor(max / sets).
  unsigned max_ways_at(unsigned i) const { return m_stacks[i].depth; }
  std::uint64_t accesses() const { return m_accesses; }
  // Demand hits and misses of the LRU TLB with `sets` sets (a power of two
  // up to max_entries) and `ways` ways (1..max_entries / sets). Throws
  // std::invalid_argument for a geometry outside the analysed range.
  std::uint64_t hits(unsigned sets, unsigned ways) const;
  std::uint64_t misses(unsigned sets, unsigned ways) const { return m_accesses - hits(sets, ways); }
  // Of those hits, the ones whose entry allowed the access, so that no walk
  // followed. A hit walks when its rights fail (the TLB invalidates the
  // entry, then refills it or faults). For a lookup the TLB itself missed,
  // another geometry's entry allowed the access exactly when the walk that
  // followed refilled the page with the same content (frame and rights
  // bits): a failing entry is either refreshed (a store sets the dirty
  // flag) or faults. Lookups of the last TLB level walk unless they hit
  // without walking, so a geometry's walks are the run's walks plus the
  // host's walk-free hits minus the geometry's.
  std::uint64_t walk_free_hits(unsigned sets, unsigned ways) const;

  // Sampling (see the header): rate in (0, 1); call before any event.
  // Throws std::invalid_argument outside (0, 1).
  void set_sample_rate(double rate);
  bool sampling() const { return m_sample_threshold != 0; }
  // The rate used, T / P.
  double sample_rate() const { return static_cast<double>(m_sample_threshold) / kSampleModulus; }
  // All demand lookups, sampled or not (accesses() counts the sampled ones).
  std::uint64_t total_accesses() const { return m_total_accesses; }
  // Estimates of the geometries sets_at(i) x 1 .. max_ways_at(i), in that
  // order (sampling only): hits, walk-free hits and the misses' 3-sigma
  // bound, scaled to total_accesses().
  struct Estimate {
    double hits = 0;
    double walk_free_hits = 0;
    double misses_bound = 0;
  };
  std::vector<Estimate> estimates_at(unsigned i) const;

  // OPT (optional, record_opt before any event; not with sampling): the
  // demand misses of a fully associative TLB of every entry count 1..bound
  // under Belady's MIN, a lower bound for every policy (see the header).
  void record_opt();
  bool opt_recorded() const { return m_opt != nullptr; }
  // Misses of the OPT TLB with `entries` entries (1..max_entries); computed
  // on the first call from the recorded stream (two passes), then cached.
  std::uint64_t opt_misses(unsigned entries) const;

 private:
  static constexpr std::uint64_t kSampleModulus = std::uint64_t{1} << 24;
  bool sampled_va(VAddr va) const;
  void note_unit(VAddr va, bool repeat);
  std::uint64_t m_sample_threshold = 0;  // T; 0: exact
  unsigned m_unit_shift = 12;
  std::uint64_t m_total_accesses = 0;
  // Per sampled unit: lookups, repeats (depth 1 everywhere), and the count
  // of other lookups at each (set count, depth), keyed unit << 24 | i << 17
  // | depth - 1.
  std::unordered_map<std::uint64_t, std::uint32_t> m_unit_index;
  std::vector<std::uint64_t> m_unit_lookups;
  std::vector<std::uint64_t> m_unit_repeats;
  std::unordered_map<std::uint64_t, std::uint64_t> m_unit_depths;
  std::uint32_t m_cur_unit = 0;
  // Sampling: the exact curves of the first kHeadFactor / R ways of every
  // set count, fed every event (see the header).
  std::unique_ptr<MissCurves> m_head;
  static constexpr double kHeadFactor = 4.0;
  static constexpr std::size_t kMinUnits = 32;

  static constexpr double kBiasAllowance = 0.01;  // of all lookups
  struct Key {
    VAddr vpn = 0;
    std::uint32_t tag = kHole;  // size | global << 4 | pcid << 8; kHole: no entry
    std::uint32_t content = 0;  // hash of frame and rights bits (walk_free_hits)
  };
  static constexpr std::uint32_t kHole = 0xffffffffu;
  static Key key_of(const TlbEntry& e);
  static PageSize size_of(const Key& k) { return static_cast<PageSize>(k.tag & 0xfu); }
  static bool global_of(const Key& k) { return (k.tag >> 4) & 1u; }
  static std::uint16_t pcid_of(const Key& k) { return static_cast<std::uint16_t>(k.tag >> 8); }

  // The stacks of one set count: `sets` arrays of `depth` keys, top first.
  struct Stacks {
    unsigned sets = 1;
    unsigned depth = 1;
    std::vector<Key> slots;                // sets * depth
    std::vector<unsigned> used;            // per set: no entry at or below this depth
    std::vector<std::uint64_t> hist;       // hits at depth d (index d - 1)
    std::vector<std::uint64_t> free_hist;  // of those, hits that did not walk
    unsigned pending_depth = 0;            // the pending lookup's depth here (0: absent)
    unsigned pending_hole = 0;             // Hit: index of the topmost hole above it, or depth
    Key pending_found;                     // and the entry found there
    Key* row(std::uint64_t vpn) { return &slots[(vpn & (sets - 1)) * depth]; }
    unsigned& used_of(std::uint64_t vpn) { return used[vpn & (sets - 1)]; }
  };

  // Depth (1-based) of the entry matching a lookup of va, or 0.
  unsigned find_address(Stacks& s, VAddr va, std::uint16_t pcid, Key* found) const;
  static std::uint32_t content_of(const TlbEntry& e);
  // Depth (1-based) of exactly k, or 0.
  static unsigned find_key(Stacks& s, const Key& k);
  // Holes every entry k shadows, then pushes k.
  static void reference(Stacks& s, const Key& k);
  // The same for a pending hit whose position the lookup found: index
  // s.pending_depth - 1 of k's row, topmost hole above it s.pending_hole.
  static void reference_found(Stacks& s, const Key& k);
  void resolve();  // applies the pending lookup's effect (see the header)
  template <typename Pred>
  void flush_where(Pred pred);
  template <typename Pred>
  void flush_page_where(VAddr va, Pred pred);
  static void trim(Stacks& s, std::uint64_t vpn);

  // The last demand lookup, until the next event shows what followed it.
  enum class Pending : std::uint8_t { None, Hit, Invalidated, Miss };
  unsigned m_max_entries;
  unsigned m_num_sizes = 0;
  unsigned m_shifts[kNumPageSizes] = {};
  PageSize m_sizes[kNumPageSizes] = {};
  std::vector<Stacks> m_stacks;
  std::uint64_t m_accesses = 0;
  Pending m_pending = Pending::None;
  Key m_pending_key;  // Hit, Invalidated: the entry; Miss: the page (vpn, size)
  // A pending hit found at the top of every stack: a repeat of it (the same
  // page again, the common case) hits at depth 1 everywhere and moves
  // nothing, so repeats are only counted, and added to depth 1 of every
  // stack's histograms when anything else happens (flush_repeats).
  bool m_pending_top = false;
  bool m_has_fractured = false;  // a fractured piece was filled since the last flush_all
  std::uint64_t m_repeats = 0;
  void flush_repeats();

  // OPT: the TLB's references as instances (a key between its fill and its
  // invalidation), each with a run length of immediate repeats.
  struct OptRecord;
  std::unique_ptr<OptRecord> m_opt;
  void opt_reference(const Key& k, bool counted);
  void opt_miss_only();
  void opt_end(const Key& k);
  template <typename Pred>
  void opt_end_where(Pred pred);
};

}  // namespace mmusim
