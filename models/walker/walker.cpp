#include "models/walker/walker.h"

#include <stdexcept>

namespace mmusim {

const char* paging_level_name(unsigned levels, unsigned level) {
  (void)levels;
  switch (level) {
    case 5: return "pml5";
    case 4: return "pml4";
    case 3: return "pdpt";
    case 2: return "pd";
    case 1: return "pt";
  }
  return "?";
}

const char* paging_mode_name(PagingMode m) {
  switch (m) {
    case PagingMode::Ia32: return "ia32";
    case PagingMode::Pae: return "pae";
    case PagingMode::X86_64: return "x86_64";
    case PagingMode::X86_64_La57: return "x86_64_la57";
  }
  return "?";
}

namespace {

// Bits hi:lo set.
constexpr std::uint64_t bits(unsigned hi, unsigned lo) {
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

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
  const unsigned m = m_p.phys_addr_bits;
  m_ia32 = m_p.mode == PagingMode::Ia32;
  m_pae = m_p.mode == PagingMode::Pae;
  if (m_ia32) {
    // SDM 4.3: 32-bit linear addresses, 4-byte entries, 10-bit indices;
    // CR3, PDE and PTE addresses in bits 31:12 (tables 4-3, 4-5, 4-6).
    m_entry_bytes = 4;
    m_va_mask = bits(31, 0);
    m_addr_mask = bits(31, 12);
    m_root_mask = bits(31, 12);
    m_rsvd_mask = 0;
    m_shift = {0, 12, 22, 0, 0, 0};
    m_index = {0, 1023, 1023, 0, 0, 0};
    // Table 4-4 with PSE-36: M = min(40, MAXPHYADDR); physical bits
    // (M-1):32 from PDE bits (M-20):13; bits 21:(M-19) reserved.
    const unsigned pm = m < 40 ? m : 40;
    m_pse36_bits = pm - 32;
    m_pse_rsvd = bits(21, pm - 19);
    m_id_on_fetch = false;  // 4.7: no CR4.PAE, no SMEP
    m_top_pwc = 2;
  } else {
    m_entry_bytes = 8;
    m_addr_mask = bits(m - 1, 12);
    if (m_pae) {
      // SDM 4.4: 32-bit linear addresses; PDPTE index 31:30 (2 bits), PD
      // index 29:21 and PT index 20:12 (9 bits); bits 62:M of PDEs and PTEs
      // are reserved (tables 4-9 .. 4-11), bits 63:M, 8:5 and 2:1 of PDPTEs
      // (table 4-8). CR3 bits 31:5 locate the PDPT (table 4-7).
      m_va_mask = bits(31, 0);
      m_rsvd_mask = m < 63 ? bits(62, m) : 0;
      m_pdpte_rsvd = bits(63, m) | bits(8, 5) | bits(2, 1);
      m_root_mask = bits(31, 5);
      m_shift = {0, 12, 21, 30, 0, 0};
      m_index = {0, 511, 511, 3, 0, 0};
      m_top_pwc = 2;
      m_pdpte_loads = &ws.counter("pdpte_loads", "PDPTE-register loads (MOV to CR3 with PAE paging)");
      m_pdpte_reads = &ws.counter("pdpte_reads", "PDPTEs read from memory by PDPTE-register loads");
      m_pdpte_cycles = &ws.counter("pdpte_cycles", "cycles spent loading the PDPTE registers");
      m_pdpte_load_faults =
          &ws.counter("pdpte_load_faults", "PDPTE-register loads refused: a present PDPTE had a reserved bit (#GP)");
    } else {
      m_va_mask = (1ull << (12 + 9 * m_p.levels)) - 1;
      m_rsvd_mask = bits(51, 12) & ~m_addr_mask;
      m_root_mask = m_addr_mask;
      for (unsigned l = 1; l <= 5; ++l) {
        m_shift[l] = 12 + 9 * (l - 1);
        m_index[l] = 511;
      }
      m_top_pwc = m_p.levels;
    }
    m_id_on_fetch = m_p.nxe;
  }
  for (unsigned level = m_top_pwc; level >= 2; --level) {
    m_pwc[level] = std::make_unique<PagingStructureCache>(m_p.pwc_entries[level], m_p.pwc_ways[level],
                                                          pwc_stats.group(paging_level_name(m_p.levels, level)));
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

// The linear-address bits that select the entry at this level and above.
std::uint64_t Walker::tag(VAddr va, unsigned level) const { return (va & m_va_mask) >> m_shift[level]; }

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
  const PAddr base = cr3 & m_root_mask;
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
    if ((e & pte::kP) && (e & m_pdpte_rsvd)) {
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
  PAddr table = cr3 & m_root_mask;
  bool rw = true, us = true, xd = false;
  if (m_any_pwc) {
    r.cycles += m_p.pwc_latency;
    for (unsigned l = 2; l <= m_top_pwc; ++l) {
      if (!m_pwc[l]->enabled()) continue;
      if (const PscEntry* e = m_pwc[l]->lookup(tag(va, l), pcid)) {
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
    const std::uint64_t pdpte = m_pdpte[tag(va, 3) & 3];
    if (!(pdpte & pte::kP)) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, 0);
      read_tables = false;
    } else {
      table = pdpte & m_addr_mask;
      level = 2;
    }
  }

  std::uint64_t entry = 0;
  for (; read_tables; --level) {
    PAddr pa = table + (tag(va, level) & m_index[level]) * m_entry_bytes;
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
    bool leaf;
    std::uint64_t rsvd;
    if (m_ia32) {
      // Table 4-5: PS is ignored when CR4.PSE = 0. Only a 4 MiB PDE has
      // reserved bits (table 4-4).
      leaf = level == 1 || (m_p.pse && (entry & pte::kPS));
      rsvd = (leaf && level == 2) ? entry & m_pse_rsvd : 0;
    } else {
      leaf = level == 1 || ((level == 2 || level == 3) && (entry & pte::kPS));
      rsvd = entry & m_rsvd_mask;
      if (!m_p.nxe) rsvd |= entry & pte::kXD;
      if (level >= 4) rsvd |= entry & pte::kPS;
      if (leaf && level == 2) rsvd |= entry & 0x1fe000ull;    // bits 20:13
      if (leaf && level == 3) rsvd |= entry & 0x3fffe000ull;  // bits 29:13
    }
    if (rsvd) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, pf::kP | pf::kRsvd);
      break;
    }
    rw = rw && (entry & pte::kRW);
    us = us && (entry & pte::kUS);
    xd = xd || (!m_ia32 && m_p.nxe && (entry & pte::kXD));
    if (leaf) {
      if (level == 1) {
        r.size = PageSize::k4K;
        r.frame = entry & m_addr_mask;
      } else if (m_ia32) {
        // 4 MiB page: bits 31:22 from PDE 31:22, bits (M-1):32 from PDE
        // (M-20):13 (PSE-36, table 4-4).
        r.size = PageSize::k4M;
        r.frame = (entry & bits(31, 22)) | (((entry >> 13) & ((1ull << m_pse36_bits) - 1)) << 32);
      } else {
        r.size = level == 2 ? PageSize::k2M : PageSize::k1G;
        r.frame = entry & m_addr_mask & ~page_mask(r.size);
      }
      break;
    }
    table = entry & m_addr_mask;
    fills[level] = PscEntry{tag(va, level), table, pcid, true, rw, us, xd, 0};
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
    for (unsigned l = 2; l <= m_top_pwc; ++l) m_pwc[l]->invalidate(tag(va, l), pcid);
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
      if (fill_valid[l] && m_pwc[l]) m_pwc[l]->insert(fills[l]);
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
