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
  // A demand access to the 4 KiB page of the previous level-1 hit of its
  // kind, with no TLB changed since, repeats that hit's outcome without
  // probing: see Repeat below.
  void translate(Translation& out, VAddr va, AccessKind kind, bool user, bool demand) {
    const unsigned cls = is_fetch(kind) ? 1 : 0;
    const Repeat& r = m_repeat[cls];
    if ((va >> kPageShift) == r.page && demand && allows(*r.hit, kind, user)) {
      if (m_l1_shared) m_repeat[cls ^ 1].page = kNoPage;
      const Level& level = m_levels[cls][0];
      for (std::size_t i = 0; i < level.tlbs.size(); ++i) level.tlbs[i]->count_repeat((r.hit_mask >> i) & 1u);
      out.fault = false;
      out.cycles = level.latency;
      out.pa = r.hit->translate(va);
      out.size = r.hit->size;
      out.walked = false;
      out.walk_cycles = 0;
      return;
    }
    translate_slow(out, va, kind, user, demand);
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
  // The same-page path (translate). Per access class (0 data, 1 inst): the
  // 4 KiB page of the last demand lookup that hit at level 1 and was
  // allowed, the entry it used and which TLBs of level 1 hit (bit i: tlbs[i]).
  // Valid only while no TLB has changed since: every other path through the
  // MMU (a miss, a refused hit, a re-execution, any invalidation or control
  // register write) forgets both first, and a repeat of one class forgets
  // the other's when their level-1 TLBs overlap (a TLB serving both). A
  // repeat then finds exactly what the probes would (the same entries, or
  // none, in every TLB: a larger page number is the same for the same 4 KiB
  // page) and changes no replacement state (Tlb::count_repeat), so it only
  // counts. Off with the checker or miss curves (never recorded then).
  static constexpr VAddr kNoPage = ~VAddr{0};
  struct Repeat {
    VAddr page = kNoPage;
    const TlbEntry* hit = nullptr;
    std::uint32_t hit_mask = 0;
  };
  Repeat m_repeat[2];
  bool m_l1_shared = false;  // a TLB of level 1 serves both data and fetches
  void forget_repeats() { m_repeat[0].page = m_repeat[1].page = kNoPage; }
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
