// The MMU: the control registers (ControlRegisters, models/arch), the TLB
// hierarchy and its lookup order, the walker, and the TLB flush rules
// (Intel SDM Vol. 3A 4.10).
//
// Lookup order (README, "What is modelled"): every level-1 TLB that serves
// the access kind (data for loads, stores and read-modify-writes; inst for
// fetches) is probed in parallel, costing the largest of their latencies;
// on a miss, every level-2 TLB, adding the largest level-2 latency; and so
// on; a miss everywhere starts a page walk.
//
// Fills: a walk fills every TLB, at every level, that serves the access kind
// and holds the page's size; a hit at level k fills the TLBs of levels below
// k likewise. The hierarchy is thus neither inclusive nor exclusive: an L2
// eviction does not invalidate L1 copies (no back-invalidation), as in
// Intel's second-level STLB, and nothing is moved on eviction. A level none
// of whose TLBs (serving the kind) holds the page's size caches a fractured
// piece of it (SDM 4.10.2.3: "some processors may cache multiple
// smaller-page TLB entries for that translation"): an entry of the largest
// smaller size that a TLB of the level with TlbSpec::fracture holds and the
// mode has (4K/2M/1G, or 4K/4M with 32-bit paging), covering the accessed
// address, in those TLBs, counted in mmu.tlb.<name>.fractured_fills. (The
// per-size arrays of one level, like l1d and l1d_2m, are one TLB to the
// hardware: a 2 MiB page goes to the 2 MiB array, never in pieces to the
// 4 KiB one.) Without fracture such a page is not cached at that level. INVLPG
// and page faults remove every piece of the page (4.10.4.1: they "invalidate
// all TLB entries corresponding to the translation specified by the paging
// structures").
//
// Rights on a TLB hit are checked against the cached, accumulated rights. An
// access the entry does not allow - or a store through an entry whose dirty
// flag is clear, while A/D updating is on - invalidates the entry and walks
// (SDM 4.10.4.1: a page fault invalidates the TLB entries of its address;
// 4.8: the dirty flag is set by a walk). That walk either succeeds (setting D)
// or reports the page fault. A walk that faults invalidates the page's
// entries in every TLB (and the walker its paging-structure-cache entries).
//
// Control (MmuControl), SDM 4.10.4.1:
//  - MOV to CR3 with CR4.PCIDE = 0: invalidates the non-global TLB entries
//    (all of them when CR4.PGE = 0: no entry is global then) and the
//    paging-structure-cache entries; the current PCID is 0.
//  - MOV to CR3 with CR4.PCIDE = 1 (MmuParams::pcid): the PCID is CR3 bits
//    11:0; with bit 63 clear the new PCID's non-global TLB entries and its
//    paging-structure-cache entries are invalidated, with bit 63 set nothing
//    is (counted in mmu.cr3_noflush). Entries of other PCIDs stay and do not
//    match (4.10.1).
//  - INVLPG: the page's entries of the current PCID and global ones, any
//    page size, and every paging-structure-cache entry of the current PCID.
//  - INVPCID (invpcid): type 0, the non-global entries of one page for one
//    PCID, and that PCID's paging-structure-cache entries (the SDM allows
//    invalidating all of them, which is done); type 1, the non-global
//    entries and cache entries of one PCID; type 2, everything, global too;
//    type 3, everything but global TLB entries. #GP(0) (InvalidOperand):
//    type > 3, PCID > 4095, a PCID other than 0 for types 0-1 when
//    CR4.PCIDE = 0, or a non-canonical address for type 0.
//  - write_cr4_pge (toggling CR4.PGE) and flush_all: everything, global
//    entries and every PCID. A change of CR4.PCIDE or of the paging mode is
//    not modelled at run time (the mode is fixed per run, and the TLBs start
//    empty), but it would be the same flush_all.
// Each operation counts one flush in every TLB (mmu.tlb.<name>.flushes) and
// the entries it removed (flushed_entries).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/arch/control_registers.h"
#include "models/arch/paging_format.h"
#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/mmu/mmu_control.h"
#include "models/mmu/translation_checker.h"
#include "models/tlb/tlb.h"
#include "models/walker/walker.h"

namespace mmusim {

struct TlbSpec {
  std::string name;
  unsigned level = 1;
  bool serves_data = true, serves_inst = true;
  TlbGeometry geometry;
  Cycles latency = 1;
  // A page larger than every size this TLB holds (or of a size it lacks) is
  // cached as a piece of the largest smaller size it holds that the paging
  // mode has (SDM 4.10.2.3), as current Intel cores do; false: not cached.
  bool fracture = true;
};

// The MMU's construction parameters. The control registers start from them
// (mode, CR0.WP, CR4.PSE and EFER.NXE from walker; CR4.PGE from pge;
// CR4.PCIDE from pcid); later control-register writes change the MMU's
// ControlRegisters, never these.
struct MmuParams {
  std::vector<TlbSpec> tlbs;
  WalkerParams walker;
  bool pge = true;    // CR4.PGE at reset
  bool pcid = false;  // CR4.PCIDE (4-level and 5-level paging only)
};

struct Translation {
  bool fault = false;
  PageFault page_fault;
  PAddr pa = 0;
  PageSize size = PageSize::k4K;
  Cycles cycles = 0;
  bool walked = false;
  Cycles walk_cycles = 0;  // the walk's part of cycles (0 without a walk)
};

// A control-register write the processor refuses with #GP(0): with PAE
// paging, a MOV to CR3, or a MOV to CR4 toggling PGE, whose
// page-directory-pointer table has a present PDPTE with a reserved bit set
// (SDM 4.4.1).
class GeneralProtectionFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Mmu : public MmuControl {
 public:
  // stats is the "mmu" group; TLBs register under tlb.<name>, the walker
  // under walker, the paging-structure caches under pwc.<level>.
  Mmu(const MmuParams& p, PageTableMemory& mem, StatGroup& stats);

  // Translates one linear address. demand = false for the re-execution of an
  // access after a page fault: TLB statistics and replacement state are then
  // left alone (the access was counted when it first ran).
  Translation translate(VAddr va, AccessKind kind, bool user, bool demand) {
    Translation t;
    translate(t, va, kind, user, demand);
    return t;
  }
  // The same, into out (the MMU module's hot path: no 64-byte temporary).
  // A demand access to the 4 KiB page of a remembered level-1 hit of its
  // kind (a direct-mapped table of 16 per kind), with nothing changed since
  // that could change its outcome, repeats that hit without probing: see
  // Repeat below.
  void translate(Translation& out, VAddr va, AccessKind kind, bool user, bool demand) {
    if (demand && translate_repeat(out, va, kind, user)) return;
    translate_slow(out, va, kind, user, demand);
  }
  // The same-page path alone, for a demand access: true, with out set and
  // the statistics counted, when va repeats a remembered hit; false (nothing
  // done) otherwise.
  // kLazy: the statistics are counted later, by settle_repeats() or when
  // the remembered hit is dropped (the caller settles before any statistic
  // is read: Replay, before @mark snapshots and at the end).
  template <bool kLazy = false>
  bool translate_repeat(Translation& out, VAddr va, AccessKind kind, bool user) {
    const unsigned cls = is_fetch(kind) ? 1 : 0;
    const VAddr page = va >> kPageShift;
    const unsigned k = static_cast<unsigned>(page) & (kRepeatSlots - 1);
    if (m_repeat_page[cls][k] != page) return false;
    Repeat* rp = &m_repeat[cls][k];
    if (!allows(*rp->hit, kind, user)) return false;
    if (kLazy) ++rp->pending;
    else
      for (unsigned i = 0; i < rp->counters; ++i) ++*rp->counter[i];
    out.fault = false;
    out.cycles = m_levels[cls][0].latency;
    out.pa = rp->pa_base | (va & rp->offset_mask);
    out.size = rp->hit->size;
    out.walked = false;
    out.walk_cycles = 0;
    return true;
  }

  // MmuControl. write_cr3 throws GeneralProtectionFault with PAE paging
  // when the PDPTE registers cannot be loaded (see above).
  void write_cr3(std::uint64_t value) override;
  std::uint64_t cr3() const override { return m_cr.cr3; }
  void invlpg(VAddr va) override;
  void flush_all() override;
  void invpcid(unsigned type, std::uint16_t pcid, VAddr va) override;
  // MOV to CR4 changing PGE: flushes everything (4.10.4.1); later fills mark
  // entries global only while PGE = 1. With PAE paging it first reloads the
  // PDPTE registers from CR3 and throws GeneralProtectionFault, changing
  // nothing, if a present PDPTE has a reserved bit (4.4.1).
  void write_cr4_pge(bool pge) override;
  std::uint16_t pcid() const { return m_pcid; }
  Walker& walker() { return *m_walker; }

  const std::vector<std::unique_ptr<Tlb>>& tlbs() const { return m_tlbs; }
  const MmuParams& params() const { return m_p; }
  const ControlRegisters& control_registers() const { return m_cr; }

  // --check-invariants: every accepted TLB hit and every walk from a
  // paging-structure-cache entry is checked against the tables in memory
  // (translation_checker.h). nullptr (the default) checks nothing.
  // Counts the lazy repeats not counted yet (translate_repeat<true>).
  void settle_repeats() {
    for (auto& c : m_repeat)
      for (Repeat& r : c) settle(r);
  }

  void set_checker(const TranslationChecker* c) {
    m_checker = c;
    forget_repeats();
  }
  // Miss curves for one of tlbs() (Tlb::set_curves); null stops. Not owned.
  void set_curves(Tlb& t, MissCurves* c);

 private:
  struct Level {
    std::vector<Tlb*> tlbs;
    std::vector<bool> fractures;  // per TLB: TlbSpec::fracture
    std::vector<unsigned> ids;    // per TLB: its index in m_tlbs (set_bit)
    // Per page size no TLB of the level holds: the size of its fractured
    // pieces, or -1 (not cached at this level).
    std::array<std::int8_t, kNumPageSizes> fracture_to{};
    Cycles latency = 0;
  };
  // Index 0: data, 1: inst.
  std::vector<Level> m_levels[2];
  bool allows(const TlbEntry& e, AccessKind kind, bool user) const {
    if (user && !e.user) return false;
    if (is_write(kind)) {
      if (!e.writable && (user || m_cr.cr0_wp)) return false;
      if (!e.dirty && m_p.walker.update_ad) return false;
    }
    return !(is_fetch(kind) && e.nx);
  }
  // The same-page path (translate). Per access class (0 data, 1 inst), a
  // direct-mapped table of recent demand lookups that hit at level 1 and
  // were allowed, by the low bits of the 4 KiB page number (a page's slot
  // holds its page in m_repeat_page): the entry used and the (TLB, set) of
  // every entry hit, as bits of a 64-bit signature (sets; two pairs may
  // share a bit, which only drops a page that could have stayed).
  //
  // A repeat bumps the counters the lookups would (counter: per TLB of level
  // 1, accesses and hits or misses).
  //
  // Invariant: for every remembered page, each TLB of level 1 still finds
  // what it found (the same entry, or nothing: a larger page number is the
  // same for the same 4 KiB page), and every entry it hit is the most
  // recently used of its set, so a lookup that touches it again changes no
  // victim choice for any policy: a repeat only counts.
  // A repeat changes nothing, so it keeps the invariant. A level-1 hit
  // through the slow path touches its own entries: it keeps the other
  // remembered pages whose hits share no (TLB, set) with its own and drops
  // the rest (those whose signature shares a bit with its own). Which
  // pages are remembered changes only the speed, never a statistic.
  // Anything else (a miss and its fills, a refused hit, a
  // re-execution, a walk, any invalidation or control-register write)
  // forgets everything. Off with the checker or miss curves (never
  // remembered then).
  static constexpr VAddr kNoPage = ~VAddr{0};
  static constexpr unsigned kRepeatTlbs = 8;  // at most this many level-1 TLBs, else nothing remembered
  // Slots per class. Two (the last two pages, before) left more than half
  // of the data accesses of python-dict and sqlite-memdb to the slow path:
  // a program's stack, heap and globals interleave. Sixteen, indexed by
  // the page's low bits, as a 4 KiB TLB indexes its sets.
  static constexpr unsigned kRepeatSlots = 16;
  static_assert((kRepeatSlots & (kRepeatSlots - 1)) == 0, "a power of two");
  // The signature bit of an entry hit in set `set` of the TLB m_tlbs[id].
  static std::uint64_t set_bit(unsigned id, unsigned set) {
    const std::uint64_t h = (id + 1) * 0x9E3779B97F4A7C15ull ^ (set + 1) * 0xC2B2AE3D27D4EB4Full;
    return std::uint64_t{1} << (h >> 58);
  }
  struct Repeat {
    VAddr page = kNoPage;  // remember()'s argument; a slot's page is in m_repeat_page
    const TlbEntry* hit = nullptr;
    // hit->translate(va) without its switch on the page size: the entry
    // cannot change while it is remembered (see the invariant above).
    PAddr pa_base = 0;
    std::uint64_t offset_mask = 0;
    std::uint64_t pending = 0;  // lazy repeats not counted yet
    unsigned counters = 0;
    Counter* counter[2 * kRepeatTlbs] = {};
    std::uint64_t sets = 0;  // signature of the (TLB, set) of every entry hit
  };
  Repeat m_repeat[2][kRepeatSlots];
  VAddr m_repeat_page[2][kRepeatSlots];  // per slot: its page, or kNoPage (set by the constructor)
  bool m_remembered = false;             // the current slow-path lookup was remembered
  void settle(Repeat& r) {
    if (r.pending == 0) return;
    for (unsigned i = 0; i < r.counters; ++i) *r.counter[i] += r.pending;
    r.pending = 0;
  }
  void forget_repeats() {
    settle_repeats();
    for (auto& c : m_repeat_page)
      for (VAddr& p : c) p = kNoPage;
  }
  void remember(unsigned cls, const Repeat& r);
  void translate_slow(Translation& out, VAddr va, AccessKind kind, bool user, bool demand);
  template <bool kCurves>
  void translate_as(Translation& out, VAddr va, AccessKind kind, bool user, bool demand);
  // Levels from first_level on, then the walk; cycles spent so far.
  Translation lookup_rest(VAddr va, AccessKind kind, bool user, bool demand, std::size_t first_level, Cycles cycles);
  Translation walk(VAddr va, AccessKind kind, bool user, Cycles cycles);
  // Fills the TLBs of levels below below_level serving cls with the
  // translation e of va, fracturing it where a TLB lacks its size.
  void fill(unsigned cls, std::size_t below_level, const TlbEntry& e, VAddr va);

  MmuParams m_p;
  ControlRegisters m_cr;
  PagingFormat m_format;
  const TranslationChecker* m_checker = nullptr;
  std::vector<std::unique_ptr<Tlb>> m_tlbs;
  bool m_any_curves = false;  // some TLB has curves (set_curves)
  std::unique_ptr<Walker> m_walker;
  std::uint16_t m_pcid = 0;  // m_cr.pcid(), kept for the lookup path
  Counter& m_cr3_writes;
  Counter& m_invlpgs;
  Counter& m_cr3_noflush;
  Counter& m_invpcids;
  Counter& m_full_flushes;
  Counter& m_rights_walks;
};

}  // namespace mmusim
