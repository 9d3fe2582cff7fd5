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

Walker::Walker(const WalkerParams& p, PageTableMemory& mem, StatGroup& ws, StatGroup& pwc_stats)
    : m_p(p),
      m_mem(mem),
      m_walks(ws.counter("walks", "page walks started (demand misses, retries after a fault, rights re-checks)")),
      m_mem_reads(ws.counter("mem_reads", "paging-structure entries read from memory")),
      m_ad_writes(ws.counter("ad_writes", "locked read-modify-writes setting accessed/dirty flags")),
      m_cycles(ws.counter("cycles", "cycles spent walking")),
      m_faults(ws.counter("faults", "walks that ended in a page fault")),
      m_latency(ws.histogram("latency", "walk latency in cycles",
                             {10, 20, 50, 100, 200, 300, 400, 500, 750, 1000, 2000, 5000})) {
  if (p.levels != 4 && p.levels != 5) throw std::invalid_argument("walker: levels must be 4 or 5");
  if (p.phys_addr_bits < 32 || p.phys_addr_bits > 52) throw std::invalid_argument("walker: phys_addr_bits in 32..52");
  m_addr_mask = ((1ull << p.phys_addr_bits) - 1) & ~0xfffull;
  m_rsvd_mask = ((1ull << 52) - 1) & ~((1ull << p.phys_addr_bits) - 1);
  m_va_mask = (1ull << (12 + 9 * p.levels)) - 1;
  for (unsigned level = p.levels; level >= 2; --level) {
    m_pwc[level] = std::make_unique<PagingStructureCache>(p.pwc_entries[level], p.pwc_ways[level],
                                                          pwc_stats.group(paging_level_name(p.levels, level)));
    m_any_pwc |= m_pwc[level]->enabled();
  }
}

PageFault Walker::make_fault(VAddr va, AccessKind kind, bool user, std::uint32_t bits) const {
  PageFault f;
  f.cr2 = va;
  f.error_code = bits;
  if (is_write(kind)) f.error_code |= pf::kW;
  if (user) f.error_code |= pf::kU;
  if (is_fetch(kind) && m_p.nxe) f.error_code |= pf::kI;
  return f;
}

// The linear-address bits that select the entry at this level and above.
std::uint64_t Walker::tag(VAddr va, unsigned level) const { return (va & m_va_mask) >> (12 + 9 * (level - 1)); }

WalkResult Walker::walk(std::uint64_t cr3, VAddr va, AccessKind kind, bool user, std::uint16_t pcid) {
  WalkResult r;
  ++m_walks;

  // Where to start: the deepest paging-structure cache hit, else CR3.
  unsigned level = m_p.levels;
  PAddr table = cr3 & m_addr_mask;
  bool rw = true, us = true, xd = false;
  if (m_any_pwc) {
    r.cycles += m_p.pwc_latency;
    for (unsigned l = 2; l <= m_p.levels; ++l) {
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

  std::uint64_t entry = 0;
  for (;; --level) {
    PAddr pa = table + ((tag(va, level) & 511) << 3);
    Cycles lat = 0;
    entry = m_mem.read_entry(pa, lat);
    r.cycles += lat;
    ++r.mem_reads;
    used[n_used++] = Used{pa, entry};

    if (!(entry & pte::kP)) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, 0);
      break;
    }
    bool leaf = level == 1 || ((level == 2 || level == 3) && (entry & pte::kPS));
    std::uint64_t rsvd = entry & m_rsvd_mask;
    if (!m_p.nxe) rsvd |= entry & pte::kXD;
    if (level >= 4) rsvd |= entry & pte::kPS;
    if (leaf && level == 2) rsvd |= entry & 0x1fe000ull;    // bits 20:13
    if (leaf && level == 3) rsvd |= entry & 0x3fffe000ull;  // bits 29:13
    if (rsvd) {
      r.fault = true;
      r.page_fault = make_fault(va, kind, user, pf::kP | pf::kRsvd);
      break;
    }
    rw = rw && (entry & pte::kRW);
    us = us && (entry & pte::kUS);
    xd = xd || (m_p.nxe && (entry & pte::kXD));
    if (leaf) {
      r.size = level == 1 ? PageSize::k4K : level == 2 ? PageSize::k2M : PageSize::k1G;
      r.frame = entry & m_addr_mask & ~page_mask(r.size);
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
    for (unsigned l = 2; l <= m_p.levels; ++l) m_pwc[l]->invalidate(tag(va, l), pcid);
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
        // Locked read-modify-write: re-read, then write the flags in.
        Cycles lat = 0;
        std::uint64_t now = m_mem.read_entry(used[i].pa, lat);
        r.cycles += lat;
        lat = 0;
        m_mem.write_entry(used[i].pa, now | (want & (pte::kA | pte::kD)), lat);
        r.cycles += lat;
        ++r.ad_writes;
      }
      if (is_write(kind)) r.dirty = true;
    }
    for (unsigned l = 2; l <= m_p.levels; ++l)
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
