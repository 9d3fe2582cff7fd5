// An SDM page-table reader for tests: walks the paging structures in
// PhysicalMemory as Intel SDM Vol. 3A chapter 4 describes, for the four
// modes, in zero time, without A/D updates, caches or the Walker.
//
// It takes the geometry constants of the SDM tables from models/arch
// (index bits per level, entry size, which levels map large pages; pinned
// to the SDM's numbers by tests/unit/models/arch/paging_format_test.cpp)
// and derives everything else from the SDM's text here:
//  - the root: a 4 KiB table at CR3 bits 51:12 (31:12 with 32-bit paging);
//    with PAE paging the 32-byte PDPT at CR3 bits 31:5, whose PDPTEs are
//    read from memory (not PDPTE registers) and carry no rights (4.4.1,
//    table 4-8);
//  - an entry of level L at table base + index_L(va) * entry size;
//  - P = 0 ends the walk; a PTE, or a PDE/PDPTE with PS = 1 where the mode
//    has large pages there (a PDE with 32-bit paging only with CR4.PSE =
//    1), maps a page; anything else references the next table at its
//    address bits (51:12, 31:12 with 32-bit paging);
//  - a 4 MiB page's frame: PDE bits 31:22 and PDE bits 20:13 as physical
//    bits 39:32 (PSE-36, table 4-4); other large pages: the address bits
//    above the page size;
//  - rights: R/W and U/S are ANDed, XD (8-byte entries only) ORed over the
//    entries used (4.6). Reserved bits are not checked.
// Beside it, the #PF error-code bits written out from SDM 4.7 and the
// access cases of the walker and MMU tests.
#pragma once

#include <cstdint>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_format.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"

namespace mmusim {
namespace testing_sdm {

// #PF error-code bits written out from SDM 4.7 figure 4-12 (the tests'
// own copy, not models/arch's pf::): P, W/R, U/S, RSVD, I/D.
constexpr std::uint32_t kEcP = 1, kEcW = 2, kEcU = 4, kEcRsvd = 8, kEcI = 16;

// An access and the error-code bits it adds to a fault (the tables of the
// walker tests, per mode).
struct AccessCase {
  AccessKind kind;
  bool user;
  std::uint32_t bits;  // error-code bits the access adds
};

// Entry bits 51:12: a physical address (SDM 4.5.4).
constexpr std::uint64_t kAddrBits = 0x000ffffffffff000ull;
// Entry bits 31:12 of a 4-byte entry (SDM 4.3).
constexpr std::uint64_t kAddrBits32 = 0xfffff000ull;

struct Step {
  unsigned level = 0;  // 5 PML5E .. 1 PTE
  PAddr table = 0;     // physical base of the table holding the entry
  PAddr entry_pa = 0;  // physical address of the entry
  std::uint64_t entry = 0;
};

struct Lookup {
  bool present = false;     // a page is mapped
  unsigned level = 0;       // level of the entry that ended the walk (1 = PTE, 2 = PDE, ...)
  std::uint64_t entry = 0;  // that entry
  PAddr entry_pa = 0;
  PAddr frame = 0;  // physical base of the page
  PageSize size = PageSize::k4K;
  bool writable = false, user = false, nx = false;  // accumulated rights
  std::vector<Step> steps;          // every entry read, the root level first (with PAE, the PDPTE first)
  std::vector<std::uint64_t> path;  // the entries of steps
};

// A present leaf or a parked (non-present, non-zero) entry found by tables().
struct Leaf {
  VAddr va;
  unsigned level;
  std::uint64_t entry;
  PAddr frame;  // the entry's address bits
};

struct Tables {
  std::vector<PAddr> tables;  // every paging structure reached, the root first (not the PAE PDPT)
  std::vector<Leaf> leaves;   // present leaves
  std::vector<Leaf> parked;   // non-present entries with any bit set
};

class SdmReader {
 public:
  SdmReader(const PhysicalMemory& mem, PagingMode mode, bool pse = true, bool nxe = true)
      : m_mem(mem), m_f(paging_format(mode)), m_pse(pse), m_nxe(nxe) {}

  const PagingFormat& format() const { return m_f; }

  std::uint64_t read_entry(PAddr pa) const { return m_f.entry_bytes == 4 ? m_mem.read(pa, 4) : m_mem.read64(pa); }

  // The translation of va from the root at cr3 (PCID and flag bits ignored).
  Lookup walk(std::uint64_t cr3, VAddr va) const {
    Lookup r;
    bool writable = true, user = true, nx = false;
    unsigned level = m_f.levels;
    PAddr table = root(cr3);
    if (m_f.mode == PagingMode::Pae) {
      const PAddr pa = table + m_f.index(va, 3) * 8;
      const std::uint64_t pdpte = m_mem.read64(pa);
      r.steps.push_back(Step{3, table, pa, pdpte});
      r.path.push_back(pdpte);
      r.level = 3;
      r.entry = pdpte;
      r.entry_pa = pa;
      if (!(pdpte & pte::kP)) return r;
      table = pdpte & kAddrBits;
      level = 2;
    }
    for (;; --level) {
      const PAddr pa = table + m_f.index(va, level) * m_f.entry_bytes;
      const std::uint64_t e = read_entry(pa);
      r.steps.push_back(Step{level, table, pa, e});
      r.path.push_back(e);
      r.level = level;
      r.entry = e;
      r.entry_pa = pa;
      if (!(e & pte::kP)) return r;
      writable = writable && (e & pte::kRW);
      user = user && (e & pte::kUS);
      nx = nx || (m_nxe && m_f.entry_bytes == 8 && (e & pte::kXD));
      if (maps_page(level, e)) {
        r.present = true;
        r.size = m_f.page_size(level);
        r.frame = frame(level, e);
        r.writable = writable;
        r.user = user;
        r.nx = nx;
        return r;
      }
      table = e & addr_bits();
    }
  }

  // The entry at `level` for va; 0 when a table above it is absent or a leaf.
  std::uint64_t entry(std::uint64_t cr3, VAddr va, unsigned level) const {
    const Lookup l = walk(cr3, va);
    for (const Step& s : l.steps)
      if (s.level == level) return s.entry;
    return 0;
  }

  // Every paging structure reachable from cr3, every present leaf and every
  // parked entry, in address order.
  Tables tables(std::uint64_t cr3) const {
    Tables t;
    if (m_f.mode == PagingMode::Pae) {
      const PAddr pdpt = root(cr3);
      for (unsigned i = 0; i < 4; ++i) {
        const std::uint64_t e = m_mem.read64(pdpt + 8ull * i);
        const VAddr va = VAddr{i} << m_f.index_shift[3];
        if (e & pte::kP) collect(e & kAddrBits, 2, va, t);
        else if (e) t.parked.push_back(Leaf{va, 3, e, e & kAddrBits});
      }
      return t;
    }
    collect(root(cr3), m_f.levels, 0, t);
    return t;
  }

  // Whether entry e (present) of the level maps a page.
  bool maps_page(unsigned level, std::uint64_t e) const {
    if (level == 1) return true;
    if (!m_f.ps_maps_page[level] || !(e & pte::kPS)) return false;
    return m_f.mode != PagingMode::Ia32 || m_pse;
  }

  // The page frame a leaf entry e of the level maps.
  PAddr frame(unsigned level, std::uint64_t e) const {
    if (level == 1) return e & addr_bits();
    if (m_f.mode == PagingMode::Ia32) return (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32);
    return e & kAddrBits & ~page_mask(m_f.page_size(level));
  }

 private:
  std::uint64_t addr_bits() const { return m_f.entry_bytes == 4 ? kAddrBits32 : kAddrBits; }
  PAddr root(std::uint64_t cr3) const {
    if (m_f.mode == PagingMode::Pae) return cr3 & 0xffffffe0ull;
    return cr3 & addr_bits();
  }

  void collect(PAddr table, unsigned level, VAddr base, Tables& out) const {
    out.tables.push_back(table);
    for (std::uint64_t i = 0; i < m_f.entries(level); ++i) {
      const std::uint64_t e = read_entry(table + i * m_f.entry_bytes);
      const VAddr va = base + (i << m_f.index_shift[level]);
      if (!(e & pte::kP)) {
        if (e) out.parked.push_back(Leaf{va, level, e, e & addr_bits()});
        continue;
      }
      if (maps_page(level, e)) out.leaves.push_back(Leaf{va, level, e, e & addr_bits()});
      else collect(e & addr_bits(), level - 1, va, out);
    }
  }

  const PhysicalMemory& m_mem;
  PagingFormat m_f;
  bool m_pse, m_nxe;
};

}  // namespace testing_sdm
}  // namespace mmusim
