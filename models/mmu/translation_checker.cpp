#include "models/mmu/translation_checker.h"

#include <algorithm>
#include <utility>

namespace mmusim {
namespace {

constexpr std::uint64_t bits(unsigned hi, unsigned lo) { return ((~0ull) >> (63 - hi)) & ~((1ull << lo) - 1); }

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
  if (m_p.mode == PagingMode::X86_64 && m_p.levels == 5) m_p.mode = PagingMode::X86_64_La57;
  m_addr_mask = m_p.mode == PagingMode::Ia32 ? bits(31, 12) : bits(std::min(m_p.phys_addr_bits, 52u) - 1, 12);
}

ReferenceTranslation TranslationChecker::reference(std::uint64_t cr3, VAddr va) const {
  ReferenceTranslation r;
  const bool nxe = m_p.nxe && m_p.mode != PagingMode::Ia32;
  bool writable = true, user = true, nx = false;
  auto leaf = [&](std::uint64_t e, PAddr base, PageSize size) {
    r.present = true;
    r.size = size;
    r.pa = base | (va & page_mask(size));
    r.writable = writable && (e & pte::kRW);
    r.user = user && (e & pte::kUS);
    r.nx = nx || (nxe && (e & pte::kXD));
    r.dirty = (e & pte::kD) != 0;
    return r;
  };
  auto rights = [&](std::uint64_t e) {
    writable = writable && (e & pte::kRW);
    user = user && (e & pte::kUS);
    nx = nx || (nxe && (e & pte::kXD));
  };

  if (m_p.mode == PagingMode::Ia32) {
    // SDM 4.3: PDE at CR3[31:12] + va[31:22] * 4; 4 MiB page if PS with
    // CR4.PSE (table 4-4, PSE-36 bits above 31); else the PTE at
    // PDE[31:12] + va[21:12] * 4.
    const std::uint64_t pde = m_read((cr3 & bits(31, 12)) + ((va >> 22) & 0x3ff) * 4, 4);
    if (!(pde & pte::kP)) return r;
    if (m_p.pse && (pde & pte::kPS)) {
      const unsigned m = std::min(40u, m_p.phys_addr_bits);
      const PAddr base = (pde & bits(31, 22)) | (((pde >> 13) & ((1ull << (m - 32)) - 1)) << 32);
      return leaf(pde, base, PageSize::k4M);
    }
    rights(pde);
    const std::uint64_t pt = m_read((pde & bits(31, 12)) + ((va >> 12) & 0x3ff) * 4, 4);
    if (!(pt & pte::kP)) return r;
    return leaf(pt, pt & bits(31, 12), PageSize::k4K);
  }

  PAddr table = 0;
  unsigned level = 0;
  if (m_p.mode == PagingMode::Pae) {
    // SDM 4.4: the PDPTE (va[31:30]) in the 32-byte table at CR3[31:5]; it
    // carries no rights (table 4-8).
    const std::uint64_t pdpte = m_read((cr3 & bits(31, 5)) + ((va >> 30) & 3) * 8, 8);
    if (!(pdpte & pte::kP)) return r;
    table = pdpte & m_addr_mask;
    level = 2;
  } else {
    table = cr3 & m_addr_mask;
    level = m_p.mode == PagingMode::X86_64_La57 ? 5 : 4;
  }
  // SDM 4.4/4.5: 9 index bits per level above bit 12; PS makes a 1 GiB
  // page at level 3 (4-level and 5-level paging) or a 2 MiB page at level 2.
  for (;; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const std::uint64_t e = m_read(table + ((va >> shift) & 511) * 8, 8);
    if (!(e & pte::kP)) return r;
    if (level == 1) return leaf(e, e & m_addr_mask, PageSize::k4K);
    if ((e & pte::kPS) && level == 2) return leaf(e, e & m_addr_mask & ~bits(20, 12), PageSize::k2M);
    if ((e & pte::kPS) && level == 3 && m_p.mode != PagingMode::Pae)
      return leaf(e, e & m_addr_mask & ~bits(29, 12), PageSize::k1G);
    rights(e);
    table = e & m_addr_mask;
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

void TranslationChecker::check_tlb_hit(const std::string& tlb, const TlbEntry& e, std::uint64_t cr3,
                                       std::uint16_t pcid, VAddr va, AccessKind kind) const {
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
    const unsigned levels = m_p.mode == PagingMode::Ia32 ? 2 : m_p.mode == PagingMode::Pae ? 3
                            : m_p.mode == PagingMode::X86_64_La57 ? 5 : 4;
    fail(std::string("a walk that started from the paging-structure cache pwc.") +
             paging_level_name(levels, cached_level),
         wrong, c, t, cr3, pcid, va, kind);
  }
}

}  // namespace mmusim
