// TLB transparency: a check that the TLBs and the paging-structure caches
// never grant what the page tables now in memory deny
// (mmusim run --check-invariants).
//
// What it checks. The SDM lets a processor use a cached translation until
// software invalidates it (Intel SDM Vol. 3A 4.10.4.2), so the caches are
// "transparent" only as long as the OS flushes every change that removes a
// right or moves a page (4.10.4.3 lists what needs no flush: a change that
// only adds rights or makes a not-present entry present, which at worst
// costs a spurious page fault). On every TLB hit that the MMU
// accepts, and on every walk that starts from a paging-structure-cache
// entry, the checker translates the address again with a walk of its own
// over the tables in physical memory - zero-time reads, no A/D update, no
// cache fill, from the SDM's formats (models/arch) independently of the
// Walker - and stops the run if the cached translation
//  - maps a page the tables no longer map, or another physical address;
//  - grants a right the tables deny: write (R/W), user (U/S), execute (XD
//    clear where the tables set it, with EFER.NXE = 1);
//  - lets a store through without the dirty flag the tables have lost
//    (with A/D updating on: 4.8, the processor sets D only by a walk).
// Rights the cache lacks are never an error (a spurious fault or a second
// walk fixes them), nor a different page size (the SDM allows a TLB entry
// smaller than the page, 4.10.2.3), nor the accessed flag (Linux's
// ptep_clear_flush_young() on x86 clears A without a flush, on purpose:
// arch/x86/mm/pgtable.c).
//
// The one exception is a flush that Linux itself defers. flush_tlb_mm_range()
// (arch/x86/mm/tlb.c) flushes only the CPUs that have the mm loaded; a PCID
// that still holds translations of an mm whose tlb_gen has moved on is
// flushed later, when switch_mm_irqs_off() loads that mm again and
// choose_new_asid() sees the older generation. The OS model answers for
// that case through DeferredFlush: a hit whose PCID has such a pending
// flush is not an error. The predicate is per CPU (one checker per core,
// asking about that core's PCID slots) and false for the PCID a CPU runs
// its loaded mm with, unless the CPU is lazy: flush_tlb_mm_range() flushes
// such a CPU at once (locally, or by an IPI: the TLB shootdown), so a stale
// hit there is an error, on any core. With one core the current PCID never
// has a pending flush.
//
// Walks of 32-bit, PAE, 4-level and 5-level paging: SDM 4.3 (tables 4-4 ..
// 4-6), 4.4 (4-8 .. 4-11; the PDPTEs read from memory at CR3, not the PDPTE
// registers, so a PDPTE changed without a reload of CR3 is caught too),
// 4.5 (4-14 .. 4-20). Reserved bits are not checked: the checker judges
// coherence, the Walker judges the format.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "models/arch/paging_format.h"
#include "models/common/types.h"
#include "models/tlb/tlb.h"
#include "models/walker/walker.h"

namespace mmusim {

class TransparencyViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// What the page tables now in memory say about one linear address.
struct ReferenceTranslation {
  bool present = false;
  PAddr pa = 0;  // the address's physical address (page base + offset)
  PageSize size = PageSize::k4K;
  bool writable = false, user = false, nx = false, dirty = false;
};

class TranslationChecker {
 public:
  // read(pa, bytes) reads 4 or 8 bytes of physical memory in zero time.
  using Reader = std::function<std::uint64_t(PAddr pa, unsigned bytes)>;
  // True when the OS model has a TLB flush pending for this PCID that Linux
  // also defers (see above).
  using DeferredFlush = std::function<bool(std::uint16_t pcid)>;

  TranslationChecker(const WalkerParams& p, bool update_ad, Reader read);
  void set_deferred_flush(DeferredFlush f) { m_deferred = std::move(f); }

  // The translation the tables give now, from CR3 (PCID bits ignored).
  ReferenceTranslation reference(std::uint64_t cr3, VAddr va) const;

  // A TLB hit the MMU accepted for this access; throws TransparencyViolation.
  void check_tlb_hit(const std::string& tlb, const TlbEntry& e, std::uint64_t cr3, std::uint16_t pcid, VAddr va,
                     AccessKind kind) const;
  // A walk that started below the root, from a paging-structure-cache entry
  // of level cached_level, and translated successfully.
  void check_pwc_walk(unsigned cached_level, const WalkResult& w, std::uint64_t cr3, std::uint16_t pcid, VAddr va,
                      AccessKind kind) const;

  std::uint64_t checks() const { return m_checks; }

 private:
  struct Cached {
    PAddr pa;
    PageSize size;
    bool writable, user, nx, dirty;
  };
  // nullptr when the cached translation is coherent, else what is wrong.
  const char* verdict(const Cached& c, std::uint64_t cr3, std::uint16_t pcid, VAddr va, AccessKind kind,
                      ReferenceTranslation* t) const;
  [[noreturn]] static void fail(const std::string& where, const char* wrong, const Cached& c,
                                const ReferenceTranslation& t, std::uint64_t cr3, std::uint16_t pcid, VAddr va,
                                AccessKind kind);

  WalkerParams m_p;
  bool m_update_ad;
  Reader m_read;
  DeferredFlush m_deferred;
  PagingFormat m_format;
  EntryMasks m_masks;
  mutable std::uint64_t m_checks = 0;
};

}  // namespace mmusim
