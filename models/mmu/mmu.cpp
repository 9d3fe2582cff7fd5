#include "models/mmu/mmu.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mmusim {

Mmu::Mmu(const MmuParams& p, PageTableMemory& mem, StatGroup& stats)
    : m_p(p),
      m_cr3_writes(stats.counter("cr3_writes", "MOV to CR3 (address-space switches)")),
      m_invlpgs(stats.counter("invlpgs", "INVLPG instructions")),
      m_cr3_noflush(stats.counter("cr3_noflush",
                                  "MOV to CR3 with the no-flush bit (63) set, CR4.PCIDE = 1: nothing invalidated")),
      m_invpcids(stats.counter("invpcids", "INVPCID instructions (@invpcid)")),
      m_full_flushes(
          stats.counter("full_flushes",
                        "invalidations of everything, global entries too (CR4.PGE toggle, INVPCID type 2, flush_all)")),
      m_rights_walks(stats.counter(
          "rights_walks", "TLB hits that walked again: rights not allowed by the entry, or a store to a clean page")) {
  const PagingMode mode = effective_paging_mode(p.walker.mode, p.walker.levels);
  m_cr = ControlRegisters::for_mode(mode);
  m_cr.cr0_wp = p.walker.wp;
  m_cr.cr4_pse = p.walker.pse;
  m_cr.cr4_pge = p.pge;
  m_cr.cr4_pcide = p.pcid;
  m_cr.efer_nxe = p.walker.nxe;
  m_format = paging_format(mode);
  forget_repeats();  // every slot empty
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
      l.fractures.push_back(s.fracture);
      l.ids.push_back(static_cast<unsigned>(m_tlbs.size() - 1));
      l.latency = std::max(l.latency, s.latency);
    }
  }
  // The page sizes of the mode (SDM 4.3: 4K and 4M; 4.4, 4.5: 4K, 2M, 1G),
  // and per level the size a page of a size it lacks is fractured into.
  const PagingFormat& f = m_format;
  auto in_mode = [&f](PageSize s) { return f.has_page_size(s); };
  for (auto& v : m_levels)
    for (Level& l : v) {
      for (int big = 0; big < kNumPageSizes; ++big) {
        const auto bs = static_cast<PageSize>(big);
        l.fracture_to[big] = -1;
        bool held = false;
        for (Tlb* t : l.tlbs) held = held || t->holds(bs);
        if (held) continue;
        for (std::size_t k = 0; k < l.tlbs.size(); ++k)
          for (int small = 0; small < kNumPageSizes; ++small) {
            const auto ss = static_cast<PageSize>(small);
            if (l.fractures[k] && l.tlbs[k]->holds(ss) && in_mode(ss) && page_shift(ss) < page_shift(bs) &&
                (l.fracture_to[big] < 0 || page_shift(ss) > page_shift(static_cast<PageSize>(l.fracture_to[big]))))
              l.fracture_to[big] = static_cast<std::int8_t>(small);
          }
      }
    }
  // A kind no TLB of some level serves skips that level (and its latency).
  for (auto& v : m_levels)
    v.erase(std::remove_if(v.begin(), v.end(), [](const Level& l) { return l.tlbs.empty(); }), v.end());
  m_walker = std::make_unique<Walker>(p.walker, mem, stats.group("walker"), stats.group("pwc"));
}

void Mmu::fill(unsigned cls, std::size_t below_level, const TlbEntry& e, VAddr va) {
  for (std::size_t i = 0; i < below_level; ++i) {
    const Level& l = m_levels[cls][i];
    const int to = l.fracture_to[static_cast<unsigned>(e.size)];
    if (to < 0) {
      for (Tlb* t : l.tlbs)
        if (t->holds(e.size)) t->insert(e);
      continue;
    }
    // The piece of size `to` around va, with the page's rights and size.
    TlbEntry piece = e;
    piece.size = static_cast<PageSize>(to);
    piece.vpn = va >> page_shift(piece.size);
    piece.pfn = e.translate(va) >> page_shift(piece.size);
    for (std::size_t k = 0; k < l.tlbs.size(); ++k) {
      if (!l.fractures[k] || !l.tlbs[k]->holds(piece.size)) continue;
      l.tlbs[k]->insert(piece);
      l.tlbs[k]->count_fractured_fill();
    }
  }
}

void Mmu::set_curves(Tlb& t, MissCurves* c) {
  forget_repeats();
  t.set_curves(c);
  m_any_curves = false;
  for (const auto& x : m_tlbs) m_any_curves = m_any_curves || x->has_curves();
}

void Mmu::translate_slow(Translation& out, VAddr va, AccessKind kind, bool user, bool demand) {
  m_remembered = false;
  if (m_any_curves) translate_as<true>(out, va, kind, user, demand);
  else translate_as<false>(out, va, kind, user, demand);
  if (!m_remembered) forget_repeats();
}

void Mmu::remember(unsigned cls, const Repeat& r) {
  settle_repeats();  // some are dropped or overwritten below
  // r's lookup touched the entries it hit: a remembered page with a hit in
  // one of those sets may no longer be its set's most recently used.
  for (unsigned c = 0; c < 2; ++c)
    for (unsigned k = 0; k < kRepeatSlots; ++k)
      if (m_repeat[c][k].sets & r.sets) m_repeat_page[c][k] = kNoPage;
  // r takes its page's slot (whatever was there shares no set with it, or
  // was just dropped).
  const unsigned k = static_cast<unsigned>(r.page) & (kRepeatSlots - 1);
  Repeat& slot = m_repeat[cls][k];
  slot = r;
  slot.pa_base = r.hit->pfn << page_shift(r.hit->size);
  slot.offset_mask = page_mask(r.hit->size);
  m_repeat_page[cls][k] = r.page;
  m_remembered = true;
}

template <bool kCurves>
void Mmu::translate_as(Translation& out, VAddr va, AccessKind kind, bool user, bool demand) {
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
  Repeat r;
  bool rememberable = !kCurves && demand && !m_checker && level.tlbs.size() <= kRepeatTlbs;
  for (std::size_t i = 0; i < level.tlbs.size(); ++i) {
    Tlb* t = level.tlbs[i];
    // Every TLB of a level is probed in parallel, so each counts a lookup.
    const TlbEntry* e = demand ? t->template lookup_as<kCurves>(va, m_pcid) : t->probe(va, m_pcid);
    if (r.counters + 2 <= 2 * kRepeatTlbs) {
      r.counter[r.counters++] = t->accesses_counter();
      r.counter[r.counters++] = t->outcome_counter(e != nullptr);
    }
    if (e) {
      r.sets |= set_bit(level.ids[i], t->set_of(e));
      if (!hit) {
        hit = e;
        hit_tlb = t;
      }
    }
  }
  if (hit && allows(*hit, kind, user)) {
    if (m_checker) m_checker->check_tlb_hit(hit_tlb->name(), *hit, m_cr.cr3, m_pcid, va, kind);
    if (rememberable) {
      r.page = va >> kPageShift;
      r.hit = hit;
      remember(cls, r);
    }
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
      if (m_checker) m_checker->check_tlb_hit(hit_tlb->name(), *hit, m_cr.cr3, m_pcid, va, kind);
      TlbEntry copy = *hit;
      fill(cls, li, copy, va);
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
  WalkResult w = m_walker->walk(m_cr.cr3, va, kind, user, m_pcid);
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
  if (m_checker && w.start_level < m_format.levels)
    m_checker->check_pwc_walk(w.start_level + 1, w, m_cr.cr3, m_pcid, va, kind);
  TlbEntry e;
  e.size = w.size;
  e.page_size = w.size;
  e.vpn = va >> page_shift(w.size);
  e.pfn = w.frame >> page_shift(w.size);
  e.pcid = m_pcid;
  e.valid = true;
  e.global = w.global && m_cr.cr4_pge;
  e.writable = w.writable;
  e.user = w.user;
  e.nx = w.nx;
  e.dirty = w.dirty;
  fill(cls, levels.size(), e, va);
  tr.pa = w.frame | (va & page_mask(w.size));
  tr.size = w.size;
  return tr;
}

void Mmu::write_cr3(std::uint64_t value) {
  forget_repeats();
  // PAE paging: the MOV loads the PDPTE registers from the new CR3 first
  // and faults (#GP(0), nothing changed) if a present PDPTE has a reserved
  // bit set (SDM 4.4.1).
  if (m_format.mode == PagingMode::Pae && !m_walker->load_pae_pdptes(value))
    throw GeneralProtectionFault("MOV to CR3: #GP(0): a present PDPTE at CR3 " + std::to_string(value) +
                                 " has a reserved bit set (SDM 4.4.1)");
  ++m_cr3_writes;
  if (m_cr.cr4_pcide) {
    constexpr std::uint64_t kNoFlush = 1ull << 63;
    m_cr.cr3 = value & ~kNoFlush;  // bit 63 is not stored in CR3 (SDM 4.10.4.1)
    m_pcid = m_cr.pcid();
    if (value & kNoFlush) {
      ++m_cr3_noflush;
      return;
    }
    for (auto& t : m_tlbs) t->flush_pcid(m_pcid);
    m_walker->flush_pwc_pcid(m_pcid);
    return;
  }
  m_cr.cr3 = value;
  for (auto& t : m_tlbs) {
    if (m_cr.cr4_pge) t->flush_non_global();
    else t->flush_all();
  }
  m_walker->flush_pwc_all();
}

void Mmu::invlpg(VAddr va) {
  forget_repeats();
  ++m_invlpgs;
  for (auto& t : m_tlbs) t->flush_page(va, m_pcid);
  m_walker->flush_pwc_pcid(m_pcid);
}

void Mmu::flush_all() {
  forget_repeats();
  ++m_full_flushes;
  for (auto& t : m_tlbs) t->flush_all();
  m_walker->flush_pwc_all();
}

void Mmu::write_cr4_pge(bool pge) {
  forget_repeats();
  if (pge == m_cr.cr4_pge) return;  // not a toggle: nothing is invalidated
  // SDM 4.4.1: with PAE paging, a MOV to CR4 that modifies CR4.PGE (like one
  // that modifies PAE, PSE or SMEP, or a MOV to CR0 changing CD, NW or PG)
  // loads the PDPTE registers from CR3, with the same #GP(0) check as a MOV
  // to CR3; on a #GP nothing changes, PGE included.
  if (m_format.mode == PagingMode::Pae && !m_walker->load_pae_pdptes(m_cr.cr3))
    throw GeneralProtectionFault("MOV to CR4: #GP(0): a present PDPTE at CR3 " + hex_string(m_cr.cr3) +
                                 " has a reserved bit set (SDM 4.4.1)");
  m_cr.cr4_pge = pge;
  flush_all();
}

void Mmu::invpcid(unsigned type, std::uint16_t pcid, VAddr va) {
  forget_repeats();
  if (type > 3) throw InvalidOperand("INVPCID: #GP(0): type " + std::to_string(type) + " is not 0-3");
  if (pcid > 0xfff) throw InvalidOperand("INVPCID: #GP(0): PCID " + std::to_string(pcid) + " is above 4095");
  if (type <= 1 && !m_cr.cr4_pcide && pcid != 0)
    throw InvalidOperand("INVPCID: #GP(0): PCID " + std::to_string(pcid) + " other than 0 while CR4.PCIDE = 0");
  if (type == 0 && m_format.levels >= 4) {
    // Canonical: bits 63:(va_bits - 1) all equal (SDM 3.3.7.1).
    const std::uint64_t upper = va >> (m_format.va_bits - 1);
    if (upper != 0 && upper != (~0ull >> (m_format.va_bits - 1)))
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
