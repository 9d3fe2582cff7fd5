#include "models/walker/walker.h"

#include <stdexcept>

namespace mmusim {

namespace {

WalkerParams normalized(WalkerParams p) {
  switch (p.mode) {
    case PagingMode::X86_64:
      if (p.levels != 4 && p.levels != 5) throw std::invalid_argument("walker: levels must be 4 or 5");
      if (p.levels == 5) p.mode = PagingMode::X86_64_La57;
      break;
    case PagingMode::X86_64_La57: p.levels = 5; break;
    case PagingMode::Pae: p.levels = 3; break;
    case PagingMode::Ia32: p.levels = 2; break;
    default: throw std::invalid_argument("walker: unknown paging mode");
  }
  if (p.phys_addr_bits < 32 || p.phys_addr_bits > 52) throw std::invalid_argument("walker: phys_addr_bits in 32..52");
  return p;
}

}  // namespace

Walker::Walker(const WalkerParams& p, PageTableMemory& mem, StatGroup& ws, StatGroup& pwc_stats)
    : m_p(normalized(p)),
      m_mem(mem),
      m_walks(ws.counter("walks", "page walks started (demand misses, retries after a fault, rights re-checks)")),
      m_mem_reads(ws.counter("mem_reads", "paging-structure entries read from memory")),
      m_ad_writes(ws.counter("ad_writes", "locked read-modify-writes setting accessed/dirty flags")),
      m_cycles(ws.counter("cycles", "cycles spent walking")),
      m_faults(ws.counter("faults", "walks that ended in a page fault")),
      m_latency(ws.histogram("latency", "walk latency in cycles",
                             {10, 20, 50, 100, 200, 300, 400, 500, 750, 1000, 2000, 5000})) {
  m_format = paging_format(m_p.mode);
  m_masks = entry_masks(m_format, m_p.phys_addr_bits, m_p.nxe, m_p.pse);
  m_ia32 = m_p.mode == PagingMode::Ia32;
  m_pae = m_p.mode == PagingMode::Pae;
  m_entry_bytes = m_format.entry_bytes;
  m_va_mask = m_format.va_mask();
  // 4.10.3.1: with 32-bit and PAE paging only the PDE cache exists.
  m_top_pwc = m_ia32 || m_pae ? 2 : m_format.levels;
  // 4.7: I/D is reported for fetches with PAE, 4-level and 5-level paging
  // when NXE = 1 (SMEP is not modelled).
  m_id_on_fetch = !m_ia32 && m_p.nxe;
  if (m_pae) {
    m_pdpte_loads = &ws.counter("pdpte_loads", "PDPTE-register loads (MOV to CR3 with PAE paging)");
    m_pdpte_reads = &ws.counter("pdpte_reads", "PDPTEs read from memory by PDPTE-register loads");
    m_pdpte_cycles = &ws.counter("pdpte_cycles", "cycles spent loading the PDPTE registers");
    m_pdpte_load_faults =
        &ws.counter("pdpte_load_faults", "PDPTE-register loads refused: a present PDPTE had a reserved bit (#GP)");
  }
  for (unsigned level = m_top_pwc; level >= 2; --level) {
    m_pwc[level] = std::make_unique<PagingStructureCache>(m_format, level, m_p.pwc_entries[level], m_p.pwc_ways[level],
                                                          pwc_stats.group(paging_level_name(level)));
    m_any_pwc |= m_pwc[level]->enabled();
  }
}

PageFault Walker::make_fault(VAddr va, AccessKind kind, bool user, std::uint32_t bits) const {
  PageFault f;
  f.cr2 = va;
  f.error_code = bits;
  if (is_write(kind)) f.error_code |= pf::kW;
  if (user) f.error_code |= pf::kU;
  if (is_fetch(kind) && m_id_on_fetch) f.error_code |= pf::kI;
  return f;
}

std::uint64_t Walker::read(PAddr pa, Cycles& latency) {
  return m_entry_bytes == 4 ? m_mem.read_entry32(pa, latency) : m_mem.read_entry(pa, latency);
}

void Walker::write(PAddr pa, std::uint64_t value, Cycles& latency) {
  if (m_entry_bytes == 4) m_mem.write_entry32(pa, static_cast<std::uint32_t>(value), latency);
  else m_mem.write_entry(pa, value, latency);
}

bool Walker::load_pae_pdptes(std::uint64_t cr3) {
  if (!m_pae) throw std::logic_error("walker: PDPTE registers exist only with PAE paging");
  // SDM 4.4.1: the four PDPTEs at CR3 bits 31:5, 8 bytes each.
  const PAddr base = cr3 & m_masks.root;
  std::array<std::uint64_t, 4> v{};
  Cycles total = 0;
  for (unsigned i = 0; i < 4; ++i) {
    Cycles lat = 0;
    v[i] = m_mem.read_entry(base + 8ull * i, lat);
    total += lat;
  }
  ++*m_pdpte_loads;
  *m_pdpte_reads += 4;
  *m_pdpte_cycles += total;
  m_last_pdpte_cycles = total;
  for (std::uint64_t e : v) {
    if ((e & pte::kP) && (e & m_masks.pdpte_rsvd)) {
      ++*m_pdpte_load_faults;
      return false;  // #GP(0); the registers are not loaded
    }
  }
  m_pdpte = v;
  return true;
}

WalkResult Walker::walk(std::uint64_t cr3, VAddr va, AccessKind kind, bool user, std::uint16_t pcid) {
  WalkResult r;
  ++m_walks;
  // 32-bit modes translate va bits 31:0 only (CR2 is 32 bits there).
  if (m_ia32 || m_pae) va &= m_va_mask;

  // Where to start: the deepest paging-structure cache hit, else CR3 (the
  // PDPTE registers with PAE paging).
  unsigned level = m_p.levels;
  PAddr table = cr3 & m_masks.root;
  bool rw = true, us = true, xd = false;
  if (m_any_pwc) {
    r.cycles += m_p.pwc_latency;
    for (unsigned l = 2; l <= m_top_pwc; ++l) {
      if (!m_pwc[l]->enabled()) continue;
      if (const PscEntry* e = m_pwc[l]->lookup(va, pcid)) {
        level = l - 1;
        table = e->next_table;
        rw = e->writable;
        us = e->user;
        xd = e->nx;
        break;
      }
    }
  }
  r.start_level = level;

  struct Used {
    PAddr pa;
    std::uint64_t value;
  };
  std::array<Used, 5> used{};
  unsigned n_used = 0;
  std::array<PscEntry, 6> fills{};
  std::array<bool, 6> fill_valid{};

  bool read_tables = true;
  if (m_pae && level == 3) {
    // SDM 4.4.2: va bits 31:30 select a PDPTE register; no memory reference,
    // no rights (PDPTEs have no R/W, U/S or XD), no accessed flag.
    const std::uint64_t pdpte = m_pdpte[m_format.index(va, 3)];
    if (!(pdpte & pte::kP)) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, 0);
      read_tables = false;
    } else {
      table = pdpte & m_masks.addr;
      level = 2;
    }
  }

  std::uint64_t entry = 0;
  for (; read_tables; --level) {
    PAddr pa = table + m_format.index(va, level) * m_entry_bytes;
    Cycles lat = 0;
    entry = read(pa, lat);
    r.cycles += lat;
    ++r.mem_reads;
    used[n_used++] = Used{pa, entry};

    if (!(entry & pte::kP)) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, 0);
      break;
    }
    // Tables 4-4 .. 4-6, 4-9 .. 4-11, 4-14 .. 4-20: PS makes a leaf at the
    // levels that map large pages (with 32-bit paging only when CR4.PSE = 1);
    // each kind of entry has its reserved bits.
    const bool leaf = level == 1 || (m_masks.ps_leaf[level] && (entry & pte::kPS));
    const std::uint64_t rsvd = entry & (leaf ? m_masks.page_rsvd[level] : m_masks.table_rsvd[level]);
    if (rsvd) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, pf::kP | pf::kRsvd);
      break;
    }
    rw = rw && (entry & pte::kRW);
    us = us && (entry & pte::kUS);
    xd = xd || (entry & m_masks.xd);
    if (leaf) {
      r.size = m_format.page_size(level);
      if (level == 1) r.frame = entry & m_masks.addr;
      else if (m_ia32) r.frame = m_masks.pse36_frame(entry);  // 4 MiB page, PSE-36
      else r.frame = entry & m_masks.addr & ~page_mask(r.size);
      break;
    }
    table = entry & m_masks.addr;
    fills[level] = PscEntry{0, table, pcid, true, rw, us, xd, 0};
    fill_valid[level] = true;
  }

  if (!r.fault) {
    bool denied = (user && !us) || (is_write(kind) && !rw && (user || m_p.wp)) || (is_fetch(kind) && xd);
    if (denied) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, pf::kP);
    }
  }

  if (r.fault) {
    ++m_faults;
    // A page fault invalidates the paging-structure-cache entries that would
    // be used for its linear address (SDM 4.10.4.1), so a fault caused only
    // by stale cached rights is not repeated when the access is retried.
    for (unsigned l = 2; l <= m_top_pwc; ++l) m_pwc[l]->invalidate(va, pcid);
  } else {
    r.writable = rw;
    r.user = us;
    r.nx = xd;
    r.global = entry & pte::kG;
    r.dirty = entry & pte::kD;
    if (m_p.update_ad) {
      for (unsigned i = 0; i < n_used; ++i) {
        std::uint64_t want = used[i].value | pte::kA;
        if (i + 1 == n_used && is_write(kind)) want |= pte::kD;
        if (want == used[i].value) continue;
        // Locked read-modify-write of the entry's width: re-read, then
        // write the flags in.
        Cycles lat = 0;
        std::uint64_t now = read(used[i].pa, lat);
        r.cycles += lat;
        lat = 0;
        write(used[i].pa, now | (want & (pte::kA | pte::kD)), lat);
        r.cycles += lat;
        ++r.ad_writes;
      }
      if (is_write(kind)) r.dirty = true;
    }
    for (unsigned l = 2; l <= m_top_pwc; ++l)
      if (fill_valid[l] && m_pwc[l]) m_pwc[l]->insert(va, fills[l]);
  }

  m_mem_reads += r.mem_reads;
  m_ad_writes += r.ad_writes;
  m_cycles += r.cycles;
  m_latency.sample(r.cycles);
  return r;
}

void Walker::flush_pwc_all() {
  for (auto& c : m_pwc)
    if (c) c->flush_all();
}

void Walker::flush_pwc_pcid(std::uint16_t pcid) {
  for (auto& c : m_pwc)
    if (c) c->flush_pcid(pcid);
}

}  // namespace mmusim
