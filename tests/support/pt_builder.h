// Test helpers for the walker and MMU tests: a hand-driven page-table builder
// over PhysicalMemory, and a PageTableMemory that charges a fixed latency per
// reference and records every physical address read and written.
//
// The builder knows nothing about the walker: it writes 8-byte entries in the
// x86 format of Intel SDM Vol. 3A 4.5.4 (tables 4-14 .. 4-20) - an entry's
// physical address lives in bits 51:12, the index of the entry for linear
// address va in the level-L table is va bits (12 + 9L - 1):(12 + 9(L - 1)),
// the geometry of models/arch's PagingFormat - and allocates each new table
// from a bump pointer, so a test knows where every table is. The expected
// references of a walk are then table_base[L] + index_L(va) * 8, computed
// by the test. path() reads the tables back with the SDM reader
// (sdm_reader.h).
//
// Ia32TableBuilder and PaeTableBuilder do the same for 32-bit paging (4-byte
// entries, SDM 4.3 tables 4-4 .. 4-6) and PAE paging (a 32-byte PDPT of four
// 8-byte PDPTEs, then 8-byte PDEs and PTEs, SDM 4.4 tables 4-8 .. 4-11).
// The three share TableBuilderBase: entry access, the bump allocator and
// the "reuse or create the next table" step.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_format.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/walker/walker.h"
#include "tests/support/sdm_reader.h"

namespace mmusim {
namespace testing_pt {

// 4-level and 5-level paging share the geometry of each level (SDM 4.5.4).
constexpr PagingFormat kFormat64 = paging_format(PagingMode::X86_64_La57);
constexpr PagingFormat kFormatPae = paging_format(PagingMode::Pae);
constexpr PagingFormat kFormatIa32 = paging_format(PagingMode::Ia32);

// Index of va's entry in the level-`level` table (1 = PT ... 5 = PML5),
// SDM 4.5.4: 9 bits per level above the 12-bit page offset.
constexpr unsigned index_at(VAddr va, unsigned level) { return static_cast<unsigned>(kFormat64.index(va, level)); }

// Builds a linear address from per-level indices and a page offset.
constexpr VAddr make_va(unsigned i5, unsigned i4, unsigned i3, unsigned i2, unsigned i1, std::uint64_t offset) {
  return (VAddr{i5} << kFormat64.index_shift[5]) | (VAddr{i4} << kFormat64.index_shift[4]) |
         (VAddr{i3} << kFormat64.index_shift[3]) | (VAddr{i2} << kFormat64.index_shift[2]) |
         (VAddr{i1} << kFormat64.index_shift[1]) | offset;
}

constexpr std::uint64_t kAddrBits = testing_sdm::kAddrBits;  // entry bits 51:12

// Non-leaf entries made by default: present, writable, user, accessed.
constexpr std::uint64_t kTableDefault = pte::kP | pte::kRW | pte::kUS | pte::kA;

// The walker settings the walker tests start from: NXE, WP and A/D updates
// on, no paging-structure caches unless a test sizes one (they then take 3
// cycles). The caller sets the mode or the number of levels.
inline WalkerParams uncached_walker_params(unsigned phys_addr_bits) {
  WalkerParams p;
  p.phys_addr_bits = phys_addr_bits;
  p.nxe = true;
  p.wp = true;
  p.update_ad = true;
  p.pwc_entries = {0, 0, 0, 0, 0, 0};
  p.pwc_ways = {0, 0, 0, 0, 0, 0};
  p.pwc_latency = 3;
  return p;
}

// What every builder shares: the entries of one width (8 bytes, or 4 with
// 32-bit paging) read and written in PhysicalMemory, and tables taken from
// a bump pointer, one zeroed 4 KiB frame each.
template <class Entry>
class TableBuilderBase {
 public:
  Entry get(PAddr entry) const {
    if constexpr (sizeof(Entry) == 4) return static_cast<Entry>(m_mem.read(entry, 4));
    else return m_mem.read64(entry);
  }
  void set(PAddr entry, Entry v) {
    if constexpr (sizeof(Entry) == 4) m_mem.write(entry, 4, v);
    else m_mem.write64(entry, v);
  }
  void set_bits(PAddr entry, Entry bits) { set(entry, get(entry) | bits); }
  void clear_bits(PAddr entry, Entry bits) { set(entry, get(entry) & ~bits); }

  const PhysicalMemory& memory() const { return m_mem; }

  PAddr alloc_table() {
    PAddr t = m_next;
    m_next += kPageBytes;
    m_mem.zero_frame(t >> kPageShift);
    return t;
  }

 protected:
  TableBuilderBase(PhysicalMemory& mem, PAddr first_table) : m_mem(mem), m_next(first_table) {}

  static void check_aligned(PAddr frame, PageSize size) {
    if (frame & page_mask(size)) throw std::invalid_argument("pt_builder: unaligned frame");
  }

  // The table that the non-leaf entry at `entry` references (its bits
  // `addr_bits`); when the entry is not present, a new table is allocated
  // and the entry written as its address | flags. Present entries are
  // reused untouched.
  PAddr next_table(PAddr entry, Entry flags, Entry addr_bits) {
    Entry e = get(entry);
    if (!(e & pte::kP)) {
      e = static_cast<Entry>(alloc_table()) | flags;
      set(entry, e);
    }
    return e & addr_bits;
  }

 private:
  PhysicalMemory& m_mem;
  PAddr m_next;
};

class PageTableBuilder : public TableBuilderBase<std::uint64_t> {
 public:
  // Tables are taken from first_table upward, one 4 KiB frame each; the
  // first one is the root (PML4, or PML5 with levels = 5).
  PageTableBuilder(PhysicalMemory& mem, unsigned levels, PAddr first_table = 0x100000)
      : TableBuilderBase(mem, first_table), m_levels(levels) {
    m_root = alloc_table();
  }

  PAddr root() const { return m_root; }
  unsigned levels() const { return m_levels; }

  // Where the entries used to translate one address live.
  struct Path {
    std::array<PAddr, 6> table{};  // table[L]: physical base of the level-L table
    std::array<PAddr, 6> entry{};  // entry[L]: physical address of the level-L entry
    unsigned leaf_level = 1;
  };

  // Maps the page of `size` containing va to the frame at `frame` (aligned
  // to size). The leaf entry is frame | leaf_flags (PS added for 2M/1G);
  // missing tables above it are created with table_flags. Existing non-leaf
  // entries are reused untouched.
  Path map(VAddr va, PAddr frame, PageSize size, std::uint64_t leaf_flags, std::uint64_t table_flags = kTableDefault) {
    const unsigned leaf = size == PageSize::k4K ? 1 : size == PageSize::k2M ? 2 : 3;
    check_aligned(frame, size);
    Path p;
    p.leaf_level = leaf;
    PAddr table = m_root;
    for (unsigned level = m_levels;; --level) {
      p.table[level] = table;
      p.entry[level] = table + index_at(va, level) * 8ull;
      if (level == leaf) {
        std::uint64_t v = frame | leaf_flags;
        if (leaf > 1) v |= pte::kPS;
        set(p.entry[level], v);
        return p;
      }
      table = next_table(p.entry[level], table_flags, kAddrBits);
    }
  }

  // The entry addresses for va along the existing tables (down to the first
  // non-present or leaf entry; deeper entries stay 0).
  Path path(VAddr va) const {
    const testing_sdm::SdmReader reader(memory(), m_levels == 5 ? PagingMode::X86_64_La57 : PagingMode::X86_64);
    Path p;
    for (const testing_sdm::Step& s : reader.walk(m_root, va).steps) {
      p.table[s.level] = s.table;
      p.entry[s.level] = s.entry_pa;
      p.leaf_level = s.level;
    }
    return p;
  }

 private:
  unsigned m_levels;
  PAddr m_root = 0;
};

// PageTableMemory over PhysicalMemory: every reference costs `latency`
// cycles and is appended to refs (reads also to reads, writes to writes).
class RecordingMemory : public PageTableMemory {
 public:
  struct Ref {
    bool write;
    PAddr pa;
    std::uint64_t value;  // value read or written
    unsigned bytes = 8;   // width of the reference: 8, or 4 (32-bit paging)
    bool operator==(const Ref& o) const {
      return write == o.write && pa == o.pa && value == o.value && bytes == o.bytes;
    }
  };

  RecordingMemory(PhysicalMemory& mem, Cycles latency) : m_mem(mem), m_latency(latency) {}

  std::uint64_t read_entry(PAddr pa, Cycles& latency) override {
    latency = m_latency;
    std::uint64_t v = m_mem.read64(pa);
    reads.push_back(pa);
    refs.push_back(Ref{false, pa, v});
    return v;
  }
  void write_entry(PAddr pa, std::uint64_t value, Cycles& latency) override {
    latency = m_latency;
    m_mem.write64(pa, value);
    writes.push_back(pa);
    refs.push_back(Ref{true, pa, value});
  }
  std::uint32_t read_entry32(PAddr pa, Cycles& latency) override {
    latency = m_latency;
    auto v = static_cast<std::uint32_t>(m_mem.read(pa, 4));
    reads.push_back(pa);
    refs.push_back(Ref{false, pa, v, 4});
    return v;
  }
  void write_entry32(PAddr pa, std::uint32_t value, Cycles& latency) override {
    latency = m_latency;
    m_mem.write(pa, 4, value);
    writes.push_back(pa);
    refs.push_back(Ref{true, pa, value, 4});
  }

  void clear() {
    reads.clear();
    writes.clear();
    refs.clear();
  }
  Cycles latency() const { return m_latency; }

  std::vector<PAddr> reads;
  std::vector<PAddr> writes;
  std::vector<Ref> refs;

 private:
  PhysicalMemory& m_mem;
  Cycles m_latency;
};

// 32-bit paging (SDM 4.3): a page directory of 1024 4-byte PDEs (index va
// bits 31:22) and page tables of 1024 4-byte PTEs (index va bits 21:12);
// entry addresses are table base + index * 4. Tables come from a bump
// pointer starting at first_table; the first is the page directory.
class Ia32TableBuilder : public TableBuilderBase<std::uint32_t> {
 public:
  explicit Ia32TableBuilder(PhysicalMemory& mem, PAddr first_table = 0x100000) : TableBuilderBase(mem, first_table) {
    m_root = alloc_table();
  }

  PAddr root() const { return m_root; }

  struct Path {
    PAddr pd = 0, pde = 0;  // page directory base, PDE address
    PAddr pt = 0, pte = 0;  // page table base, PTE address (0 for a 4 MiB page)
  };

  static constexpr unsigned pd_index(VAddr va) { return static_cast<unsigned>(kFormatIa32.index(va, 2)); }
  static constexpr unsigned pt_index(VAddr va) { return static_cast<unsigned>(kFormatIa32.index(va, 1)); }

  // Maps the 4 KiB page containing va to frame (bits 31:12): the PTE is
  // frame | leaf_flags; a missing page table is created with the PDE
  // table_flags. Or, with size 4M, writes the PDE frame bits 31:22 |
  // frame bits 39:32 in PDE bits 20:13 (PSE-36, table 4-4) | PS | leaf_flags.
  Path map(VAddr va, PAddr frame, PageSize size, std::uint32_t leaf_flags,
           std::uint32_t table_flags = static_cast<std::uint32_t>(kTableDefault)) {
    check_aligned(frame, size);
    Path p;
    p.pd = m_root;
    p.pde = m_root + pd_index(va) * 4ull;
    if (size == PageSize::k4M) {
      const std::uint64_t v = (frame & 0xffc00000ull) | (((frame >> 32) & 0xff) << 13) | pte::kPS | leaf_flags;
      set(p.pde, static_cast<std::uint32_t>(v));
      return p;
    }
    if (size != PageSize::k4K) throw std::invalid_argument("pt_builder: 32-bit paging maps 4K or 4M pages");
    p.pt = next_table(p.pde, table_flags, static_cast<std::uint32_t>(testing_sdm::kAddrBits32));
    p.pte = p.pt + pt_index(va) * 4ull;
    set(p.pte, static_cast<std::uint32_t>(frame) | leaf_flags);
    return p;
  }

 private:
  PAddr m_root = 0;
};

// PAE paging (SDM 4.4): a 32-byte page-directory-pointer table at `pdpt`
// (32-byte aligned; CR3 = pdpt) of four 8-byte PDPTEs (index va bits
// 31:30), page directories of 512 8-byte PDEs (index 29:21) and page tables
// of 512 8-byte PTEs (index 20:12). New PDPTEs are written as table address
// | kPdpteDefault (P only: bits 2:1 and 8:5 of a PDPTE are reserved,
// table 4-8).
class PaeTableBuilder : public TableBuilderBase<std::uint64_t> {
 public:
  static constexpr std::uint64_t kPdpteDefault = pte::kP;

  explicit PaeTableBuilder(PhysicalMemory& mem, PAddr pdpt = 0x100fe0, PAddr first_table = 0x101000)
      : TableBuilderBase(mem, first_table), m_pdpt(pdpt) {
    if (pdpt & 31) throw std::invalid_argument("pt_builder: PDPT not 32-byte aligned");
    for (unsigned i = 0; i < 4; ++i) set(pdpt + 8ull * i, 0);
  }

  PAddr pdpt() const { return m_pdpt; }

  struct Path {
    PAddr pdpte = 0;        // PDPTE address (in the PDPT)
    PAddr pd = 0, pde = 0;  // page directory base, PDE address
    PAddr pt = 0, pte = 0;  // page table base, PTE address (0 for a 2 MiB page)
  };

  static constexpr unsigned pdpt_index(VAddr va) { return static_cast<unsigned>(kFormatPae.index(va, 3)); }
  static constexpr unsigned pd_index(VAddr va) { return static_cast<unsigned>(kFormatPae.index(va, 2)); }
  static constexpr unsigned pt_index(VAddr va) { return static_cast<unsigned>(kFormatPae.index(va, 1)); }

  // Maps the 4 KiB or 2 MiB page containing va to frame; leaf = frame |
  // leaf_flags (| PS for 2M); missing page directories get a PDPTE of
  // kPdpteDefault, missing page tables a PDE of table_flags.
  Path map(VAddr va, PAddr frame, PageSize size, std::uint64_t leaf_flags, std::uint64_t table_flags = kTableDefault) {
    check_aligned(frame, size);
    if (size != PageSize::k4K && size != PageSize::k2M)
      throw std::invalid_argument("pt_builder: PAE paging maps 4K or 2M pages");
    Path p;
    p.pdpte = m_pdpt + pdpt_index(va) * 8ull;
    p.pd = next_table(p.pdpte, kPdpteDefault, kAddrBits);
    p.pde = p.pd + pd_index(va) * 8ull;
    if (size == PageSize::k2M) {
      set(p.pde, frame | pte::kPS | leaf_flags);
      return p;
    }
    p.pt = next_table(p.pde, table_flags, kAddrBits);
    p.pte = p.pt + pt_index(va) * 8ull;
    set(p.pte, frame | leaf_flags);
    return p;
  }

 private:
  PAddr m_pdpt;
};

}  // namespace testing_pt
}  // namespace mmusim
