#include "models/mmu/mmu.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mmusim {

Mmu::Mmu(const MmuParams& p, PageTableMemory& mem, StatGroup& stats)
    : m_p(p),
      m_cr3_writes(stats.counter("cr3_writes", "MOV to CR3 (address-space switches)")),
      m_invlpgs(stats.counter("invlpgs", "INVLPG instructions")),
      m_cr3_noflush(stats.counter("cr3_noflush", "MOV to CR3 with the no-flush bit (63) set, CR4.PCIDE = 1: nothing invalidated")),
      m_invpcids(stats.counter("invpcids", "INVPCID instructions (@invpcid)")),
      m_full_flushes(stats.counter("full_flushes", "invalidations of everything, global entries too (CR4.PGE toggle, INVPCID type 2, flush_all)")),
      m_rights_walks(stats.counter("rights_walks",
                                   "TLB hits that walked again: rights not allowed by the entry, or a store to a clean page")) {
  StatGroup& tlb_stats = stats.group("tlb");
  unsigned max_level = 0;
  for (const auto& s : p.tlbs) max_level = std::max(max_level, s.level);
  for (auto& v : m_levels) v.resize(max_level);
  for (const auto& s : p.tlbs) {
    m_tlbs.push_back(std::make_unique<Tlb>(s.name, s.geometry, tlb_stats.group(s.name)));
    Tlb* t = m_tlbs.back().get();
    for (unsigned cls = 0; cls < 2; ++cls) {
      if ((cls == 0 && !s.serves_data) || (cls == 1 && !s.serves_inst)) continue;
      Level& l = m_levels[cls][s.level - 1];
      l.tlbs.push_back(t);
      l.latency = std::max(l.latency, s.latency);
    }
  }
  // A kind no TLB of some level serves skips that level (and its latency).
  for (auto& v : m_levels)
    v.erase(std::remove_if(v.begin(), v.end(), [](const Level& l) { return l.tlbs.empty(); }), v.end());
  m_walker = std::make_unique<Walker>(p.walker, mem, stats.group("walker"), stats.group("pwc"));
}

void Mmu::fill(unsigned cls, std::size_t below_level, const TlbEntry& e) {
  for (std::size_t i = 0; i < below_level; ++i)
    for (Tlb* t : m_levels[cls][i].tlbs)
      if (t->holds(e.size)) t->insert(e);
}

void Mmu::translate(Translation& out, VAddr va, AccessKind kind, bool user, bool demand) {
  // The common case - a level-1 hit the entry allows - stays small and
  // inline-friendly and writes only the fields a hit sets; everything else
  // continues in lookup_rest().
  const unsigned cls = is_fetch(kind) ? 1 : 0;
  const auto& levels = m_levels[cls];
  if (levels.empty()) {
    out = lookup_rest(va, kind, user, demand, 0, 0);
    return;
  }
  const Level& level = levels[0];
  const TlbEntry* hit = nullptr;
  Tlb* hit_tlb = nullptr;
  for (Tlb* t : level.tlbs) {
    // Every TLB of a level is probed in parallel, so each counts a lookup.
    const TlbEntry* e = demand ? t->lookup(va, m_pcid) : t->probe(va, m_pcid);
    if (e && !hit) {
      hit = e;
      hit_tlb = t;
    }
  }
  if (hit && allows(*hit, kind, user)) {
    out.fault = false;
    out.cycles = level.latency;
    out.pa = hit->translate(va);
    out.size = hit->size;
    out.walked = false;
    out.walk_cycles = 0;
    return;
  }
  if (hit) {
    // The cached rights do not allow the access: drop the entry and let a
    // walk decide (it sets D, or reports the fault).
    hit_tlb->invalidate_entry(hit);
    ++m_rights_walks;
    out = walk(va, kind, user, level.latency);
    return;
  }
  out = lookup_rest(va, kind, user, demand, 1, level.latency);
}

Translation Mmu::lookup_rest(VAddr va, AccessKind kind, bool user, bool demand, std::size_t first_level,
                             Cycles cycles) {
  const unsigned cls = is_fetch(kind) ? 1 : 0;
  const auto& levels = m_levels[cls];
  for (std::size_t li = first_level; li < levels.size(); ++li) {
    const Level& level = levels[li];
    cycles += level.latency;
    const TlbEntry* hit = nullptr;
    Tlb* hit_tlb = nullptr;
    for (Tlb* t : level.tlbs) {
      const TlbEntry* e = demand ? t->lookup(va, m_pcid) : t->probe(va, m_pcid);
      if (e && !hit) {
        hit = e;
        hit_tlb = t;
      }
    }
    if (!hit) continue;
    if (allows(*hit, kind, user)) {
      TlbEntry copy = *hit;
      fill(cls, li, copy);
      Translation tr;
      tr.cycles = cycles;
      tr.pa = copy.translate(va);
      tr.size = copy.size;
      return tr;
    }
    hit_tlb->invalidate_entry(hit);
    ++m_rights_walks;
    break;
  }
  return walk(va, kind, user, cycles);
}

Translation Mmu::walk(VAddr va, AccessKind kind, bool user, Cycles cycles) {
  const unsigned cls = is_fetch(kind) ? 1 : 0;
  const auto& levels = m_levels[cls];
  Translation tr;
  tr.cycles = cycles;
  WalkResult w = m_walker->walk(m_cr3, va, kind, user, m_pcid);
  tr.cycles += w.cycles;
  tr.walked = true;
  tr.walk_cycles = w.cycles;
  if (w.fault) {
    // Delivering the #PF invalidates every TLB entry for the faulting page
    // (SDM 4.10.4.1), in every TLB - not only the one whose entry was just
    // dropped above: an L2 copy of a page that faulted in L1 goes too.
    for (auto& t : m_tlbs) t->invalidate_page(va, m_pcid);
    tr.fault = true;
    tr.page_fault = w.page_fault;
    return tr;
  }
  TlbEntry e;
  e.size = w.size;
  e.vpn = va >> page_shift(w.size);
  e.pfn = w.frame >> page_shift(w.size);
  e.pcid = m_pcid;
  e.valid = true;
  e.global = w.global && m_p.pge;
  e.writable = w.writable;
  e.user = w.user;
  e.nx = w.nx;
  e.dirty = w.dirty;
  fill(cls, levels.size(), e);
  tr.pa = w.frame | (va & page_mask(w.size));
  tr.size = w.size;
  return tr;
}

void Mmu::write_cr3(std::uint64_t value) {
  // PAE paging: the MOV loads the PDPTE registers from the new CR3 first
  // and faults (#GP(0), nothing changed) if a present PDPTE has a reserved
  // bit set (SDM 4.4.1).
  if (m_walker->params().mode == PagingMode::Pae && !m_walker->load_pae_pdptes(value))
    throw GeneralProtectionFault("MOV to CR3: #GP(0): a present PDPTE at CR3 " + std::to_string(value) +
                                 " has a reserved bit set (SDM 4.4.1)");
  ++m_cr3_writes;
  if (m_p.pcid) {
    constexpr std::uint64_t kNoFlush = 1ull << 63;
    m_pcid = static_cast<std::uint16_t>(value & 0xfff);
    m_cr3 = value & ~kNoFlush;  // bit 63 is not stored in CR3 (SDM 4.10.4.1)
    if (value & kNoFlush) {
      ++m_cr3_noflush;
      return;
    }
    for (auto& t : m_tlbs) t->flush_pcid(m_pcid);
    m_walker->flush_pwc_pcid(m_pcid);
    return;
  }
  m_cr3 = value;
  for (auto& t : m_tlbs) {
    if (m_p.pge) t->flush_non_global();
    else t->flush_all();
  }
  m_walker->flush_pwc_all();
}

void Mmu::invlpg(VAddr va) {
  ++m_invlpgs;
  for (auto& t : m_tlbs) t->flush_page(va, m_pcid);
  m_walker->flush_pwc_pcid(m_pcid);
}

void Mmu::flush_all() {
  ++m_full_flushes;
  for (auto& t : m_tlbs) t->flush_all();
  m_walker->flush_pwc_all();
}

void Mmu::write_cr4_pge(bool pge) {
  if (pge == m_p.pge) return;  // not a toggle: nothing is invalidated
  m_p.pge = pge;
  flush_all();
}

void Mmu::invpcid(unsigned type, std::uint16_t pcid, VAddr va) {
  if (type > 3) throw InvalidOperand("INVPCID: #GP(0): type " + std::to_string(type) + " is not 0-3");
  if (pcid > 0xfff) throw InvalidOperand("INVPCID: #GP(0): PCID " + std::to_string(pcid) + " is above 4095");
  if (type <= 1 && !m_p.pcid && pcid != 0)
    throw InvalidOperand("INVPCID: #GP(0): PCID " + std::to_string(pcid) + " other than 0 while CR4.PCIDE = 0");
  if (type == 0) {
    const unsigned bits = m_walker->params().levels == 5 ? 57 : 48;
    const std::uint64_t upper = va >> (bits - 1);
    if (m_walker->params().levels >= 4 && upper != 0 && upper != (~0ull >> (bits - 1)))
      throw InvalidOperand("INVPCID: #GP(0): address is not canonical");
  }
  ++m_invpcids;
  switch (type) {
    case 0:
      for (auto& t : m_tlbs) t->flush_page_pcid(va, pcid);
      m_walker->flush_pwc_pcid(pcid);
      break;
    case 1:
      for (auto& t : m_tlbs) t->flush_pcid(pcid);
      m_walker->flush_pwc_pcid(pcid);
      break;
    case 2: flush_all(); break;
    default:
      for (auto& t : m_tlbs) t->flush_non_global();
      m_walker->flush_pwc_all();
      break;
  }
}

}  // namespace mmusim
