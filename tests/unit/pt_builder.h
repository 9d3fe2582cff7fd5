// Test helpers for the walker and MMU tests: a hand-driven page-table builder
// over PhysicalMemory, and a PageTableMemory that charges a fixed latency per
// reference and records every physical address read and written.
//
// The builder knows nothing about the walker: it writes 8-byte entries in the
// x86 format of Intel SDM Vol. 3A 4.5.4 (tables 4-14 .. 4-20) - an entry's
// physical address lives in bits 51:12, the index of the entry for linear
// address va in the level-L table is va bits (12 + 9L - 1):(12 + 9(L - 1)) -
// and allocates each new table from a bump pointer, so a test knows where
// every table is. The expected references of a walk are then
// table_base[L] + index_L(va) * 8, computed by the test.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace testing_pt {

// Index of va's entry in the level-`level` table (1 = PT ... 5 = PML5),
// SDM 4.5.4: 9 bits per level above the 12-bit page offset.
constexpr unsigned index_at(VAddr va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
}

// Builds a linear address from per-level indices and a page offset.
constexpr VAddr make_va(unsigned i5, unsigned i4, unsigned i3, unsigned i2, unsigned i1, std::uint64_t offset) {
  return (VAddr{i5} << 48) | (VAddr{i4} << 39) | (VAddr{i3} << 30) | (VAddr{i2} << 21) | (VAddr{i1} << 12) |
         offset;
}

constexpr std::uint64_t kAddrBits = 0x000ffffffffff000ull;  // entry bits 51:12

// Non-leaf entries made by default: present, writable, user, accessed.
constexpr std::uint64_t kTableDefault = pte::kP | pte::kRW | pte::kUS | pte::kA;

class PageTableBuilder {
 public:
  // Tables are taken from first_table upward, one 4 KiB frame each; the
  // first one is the root (PML4, or PML5 with levels = 5).
  PageTableBuilder(PhysicalMemory& mem, unsigned levels, PAddr first_table = 0x100000)
      : m_mem(mem), m_levels(levels), m_next(first_table) {
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
  Path map(VAddr va, PAddr frame, PageSize size, std::uint64_t leaf_flags,
           std::uint64_t table_flags = kTableDefault) {
    const unsigned leaf = size == PageSize::k4K ? 1 : size == PageSize::k2M ? 2 : 3;
    if (frame & page_mask(size)) throw std::invalid_argument("pt_builder: unaligned frame");
    Path p;
    p.leaf_level = leaf;
    PAddr table = m_root;
    for (unsigned level = m_levels;; --level) {
      p.table[level] = table;
      p.entry[level] = table + index_at(va, level) * 8ull;
      if (level == leaf) {
        std::uint64_t v = frame | leaf_flags;
        if (leaf > 1) v |= pte::kPS;
        m_mem.write64(p.entry[level], v);
        return p;
      }
      std::uint64_t e = m_mem.read64(p.entry[level]);
      if (!(e & pte::kP)) {
        e = alloc_table() | table_flags;
        m_mem.write64(p.entry[level], e);
      }
      table = e & kAddrBits;
    }
  }

  // The entry addresses for va along the existing tables (down to the first
  // non-present or leaf entry; deeper entries stay 0).
  Path path(VAddr va) const {
    Path p;
    PAddr table = m_root;
    for (unsigned level = m_levels; level >= 1; --level) {
      p.table[level] = table;
      p.entry[level] = table + index_at(va, level) * 8ull;
      std::uint64_t e = m_mem.read64(p.entry[level]);
      p.leaf_level = level;
      if (!(e & pte::kP) || level == 1 || ((level == 2 || level == 3) && (e & pte::kPS))) break;
      table = e & kAddrBits;
    }
    return p;
  }

  std::uint64_t get(PAddr entry) const { return m_mem.read64(entry); }
  void set(PAddr entry, std::uint64_t v) { m_mem.write64(entry, v); }
  void set_bits(PAddr entry, std::uint64_t bits) { set(entry, get(entry) | bits); }
  void clear_bits(PAddr entry, std::uint64_t bits) { set(entry, get(entry) & ~bits); }

  PAddr alloc_table() {
    PAddr t = m_next;
    m_next += kPageBytes;
    m_mem.zero_frame(t >> kPageShift);
    return t;
  }

 private:
  PhysicalMemory& m_mem;
  unsigned m_levels;
  PAddr m_next;
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
    bool operator==(const Ref& o) const { return write == o.write && pa == o.pa && value == o.value; }
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

}  // namespace testing_pt
}  // namespace mmusim
