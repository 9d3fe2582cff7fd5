#include "models/mmu/translation_checker.h"

#include <algorithm>
#include <utility>

namespace mmusim {
namespace {

std::string describe(bool present, PAddr pa, PageSize size, bool writable, bool user, bool nx, bool dirty) {
  if (!present) return "not mapped";
  std::string s = "pa " + hex_string(pa) + " (" + page_size_name(size) + " page) ";
  s += writable ? "write" : "read-only";
  s += user ? ", user" : ", supervisor";
  s += nx ? ", no-execute" : ", execute";
  s += dirty ? ", dirty" : ", clean";
  return s;
}

}  // namespace

TranslationChecker::TranslationChecker(const WalkerParams& p, bool update_ad, Reader read)
    : m_p(p), m_update_ad(update_ad), m_read(std::move(read)) {
  m_p.mode = effective_paging_mode(m_p.mode, m_p.levels);
  m_format = paging_format(m_p.mode);
  m_masks = entry_masks(m_format, std::min(m_p.phys_addr_bits, 52u), m_p.nxe, m_p.pse);
}

ReferenceTranslation TranslationChecker::reference(std::uint64_t cr3, VAddr va) const {
  // SDM 4.3, 4.4.2, 4.5.4: from the root at CR3, the entry at table base +
  // index * entry size at each level, down to a PTE or to an entry whose PS
  // maps a page there. R/W and U/S accumulate as AND, XD as OR (4.6).
  ReferenceTranslation r;
  bool writable = true, user = true, nx = false;
  const unsigned bytes = m_format.entry_bytes;
  PAddr table = cr3 & m_masks.root;
  unsigned level = m_format.levels;
  if (m_format.mode == PagingMode::Pae) {
    // The PDPTE (va[31:30]) read from the 32-byte table at CR3[31:5]; it
    // carries no rights (table 4-8).
    const std::uint64_t pdpte = m_read(table + m_format.index(va, 3) * 8, 8);
    if (!(pdpte & pte::kP)) return r;
    table = pdpte & m_masks.addr;
    level = 2;
  }
  for (;; --level) {
    const std::uint64_t e = m_read(table + m_format.index(va, level) * bytes, bytes);
    if (!(e & pte::kP)) return r;
    writable = writable && (e & pte::kRW);
    user = user && (e & pte::kUS);
    nx = nx || (e & m_masks.xd);
    if (level == 1 || (m_masks.ps_leaf[level] && (e & pte::kPS))) {
      r.present = true;
      r.size = m_format.page_size(level);
      PAddr base = e & m_masks.addr;
      if (level > 1) base = m_format.mode == PagingMode::Ia32 ? m_masks.pse36_frame(e) : base & ~page_mask(r.size);
      r.pa = base | (va & page_mask(r.size));
      r.writable = writable;
      r.user = user;
      r.nx = nx;
      r.dirty = (e & pte::kD) != 0;
      return r;
    }
    table = e & m_masks.addr;
  }
}

const char* TranslationChecker::verdict(const Cached& c, std::uint64_t cr3, std::uint16_t pcid, VAddr va,
                                        AccessKind kind, ReferenceTranslation* t) const {
  ++m_checks;
  *t = reference(cr3, va);
  const char* wrong = nullptr;
  if (!t->present) wrong = "maps a page the page tables do not map";
  else if (c.pa != t->pa) wrong = "maps another physical address";
  else if (c.writable && !t->writable) wrong = "grants write access the page tables deny";
  else if (c.user && !t->user) wrong = "grants user access the page tables deny";
  else if (!c.nx && t->nx) wrong = "grants execute access the page tables deny";
  else if (m_update_ad && is_write(kind) && c.dirty && !t->dirty)
    wrong = "lets a store through without setting the dirty flag the page tables have clear";
  if (wrong && m_deferred && m_deferred(pcid)) return nullptr;  // Linux defers this flush too (header)
  return wrong;
}

void TranslationChecker::fail(const std::string& where, const char* wrong, const Cached& c,
                              const ReferenceTranslation& t, std::uint64_t cr3, std::uint16_t pcid, VAddr va,
                              AccessKind kind) {
  throw TransparencyViolation("TLB transparency violated: " + std::string(access_kind_name(kind)) + " of " +
                              hex_string(va) + " hit " + where + " (PCID " + std::to_string(pcid) + ", CR3 " +
                              hex_string(cr3) + "), which " + wrong + ": cached " +
                              describe(true, c.pa, c.size, c.writable, c.user, c.nx, c.dirty) + "; page tables " +
                              describe(t.present, t.pa, t.size, t.writable, t.user, t.nx, t.dirty));
}

void TranslationChecker::check_tlb_hit(const std::string& tlb, const TlbEntry& e, std::uint64_t cr3, std::uint16_t pcid,
                                       VAddr va, AccessKind kind) const {
  const Cached c{e.translate(va), e.size, e.writable, e.user, e.nx, e.dirty};
  ReferenceTranslation t;
  if (const char* wrong = verdict(c, cr3, pcid, va, kind, &t))
    fail("TLB " + tlb + (e.global ? " (a global entry)" : ""), wrong, c, t, cr3, pcid, va, kind);
}

void TranslationChecker::check_pwc_walk(unsigned cached_level, const WalkResult& w, std::uint64_t cr3,
                                        std::uint16_t pcid, VAddr va, AccessKind kind) const {
  const Cached c{w.frame | (va & page_mask(w.size)), w.size, w.writable, w.user, w.nx, w.dirty};
  ReferenceTranslation t;
  if (const char* wrong = verdict(c, cr3, pcid, va, kind, &t)) {
    fail(std::string("a walk that started from the paging-structure cache pwc.") + paging_level_name(cached_level),
         wrong, c, t, cr3, pcid, va, kind);
  }
}

}  // namespace mmusim
