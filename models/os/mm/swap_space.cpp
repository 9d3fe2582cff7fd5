#include "models/os/mm/swap_space.h"

#include <algorithm>

#include "models/os/mm/page_tables.h"

namespace mmusim {
namespace linux_swp {
namespace {

constexpr unsigned kSwpTypeBits = 5;                                     // SWP_TYPE_BITS
constexpr unsigned kPageBitProtnone = 8;                                 // _PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL
constexpr unsigned kSwpOffsetFirstBit = kPageBitProtnone + 1;            // SWP_OFFSET_FIRST_BIT
constexpr unsigned kSwpOffsetShift = kSwpOffsetFirstBit + kSwpTypeBits;  // SWP_OFFSET_SHIFT (64-bit, 3-level)
constexpr unsigned kMaxSwapfilesShift = 5;                               // MAX_SWAPFILES_SHIFT

unsigned bits_per_long(Format f) { return f == Format::X86_64 ? 64 : 32; }
std::uint64_t long_mask(Format f) { return f == Format::X86_64 ? ~0ull : 0xffffffffull; }
unsigned swp_type_shift(Format f) { return bits_per_long(f) - 1 - kMaxSwapfilesShift; }  // SWP_TYPE_SHIFT

// The arch's swp_entry_t: __swp_entry, __swp_type, __swp_offset.
std::uint64_t arch_entry(Format f, std::uint64_t type, std::uint64_t offset) {
  switch (f) {
    case Format::X86_64:  // pgtable_64.h: "(~(unsigned long)(offset) << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) |
                          // ((unsigned long)(type) << (64-SWP_TYPE_BITS))"
      return (~offset << kSwpOffsetShift >> kSwpTypeBits) | (type << (64 - kSwpTypeBits));
    case Format::Pae:  // pgtable-3level.h: "(type) | (offset) << SWP_TYPE_BITS", an unsigned long
      return (type | offset << kSwpTypeBits) & 0xffffffffull;
    case Format::TwoLevel:  // pgtable-2level.h: "((type) << (_PAGE_BIT_PRESENT + 1)) | ((offset) << SWP_OFFSET_SHIFT)"
      return ((type << 1) | (offset << kSwpOffsetFirstBit)) & 0xffffffffull;
  }
  return 0;
}
std::uint64_t arch_type(Format f, std::uint64_t x) {
  switch (f) {
    case Format::X86_64: return x >> (64 - kSwpTypeBits);
    case Format::Pae: return x & ((1u << kSwpTypeBits) - 1);
    case Format::TwoLevel: return (x >> 1) & ((1u << kSwpTypeBits) - 1);
  }
  return 0;
}
std::uint64_t arch_offset(Format f, std::uint64_t x) {
  switch (f) {
    case Format::X86_64:  // "(~(x).val << SWP_TYPE_BITS >> SWP_OFFSET_SHIFT)"
      return ~x << kSwpTypeBits >> kSwpOffsetShift;
    case Format::Pae: return x >> kSwpTypeBits;
    case Format::TwoLevel:  // "((x).val >> SWP_OFFSET_SHIFT)", SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1
      return x >> kSwpOffsetFirstBit;
  }
  return 0;
}

}  // namespace

std::uint64_t swp_entry(Format f, std::uint64_t type, std::uint64_t offset) {
  const unsigned shift = swp_type_shift(f);
  return ((type << shift) | (offset & ((1ull << shift) - 1))) & long_mask(f);
}
std::uint64_t swp_type(Format f, std::uint64_t entry) { return entry >> swp_type_shift(f); }
std::uint64_t swp_offset(Format f, std::uint64_t entry) { return entry & ((1ull << swp_type_shift(f)) - 1); }

std::uint64_t swp_entry_to_pte(Format f, std::uint64_t entry) {
  // "arch_entry = __swp_entry(swp_type(entry), swp_offset(entry)); return
  // __swp_entry_to_pte(arch_entry);"
  const std::uint64_t arch = arch_entry(f, swp_type(f, entry), swp_offset(f, entry));
  if (f != Format::Pae) return arch;  // __swp_entry_to_pte(x): the value itself
  // PAE: "__swp_pteval_entry(__swp_type(x), __swp_offset(x))", the 64-bit layout.
  return (~arch_offset(f, arch) << kSwpOffsetShift >> kSwpTypeBits) | (arch_type(f, arch) << (64 - kSwpTypeBits));
}

std::uint64_t pte_to_swp_entry(Format f, std::uint64_t pte) {
  std::uint64_t arch = pte & long_mask(f);  // __pte_to_swp_entry: the value (2-level: pte_low)
  if (f == Format::Pae)  // "__swp_entry(__pteval_swp_type(pte), __pteval_swp_offset(pte))", offset an unsigned long
    arch = arch_entry(f, pte >> (64 - kSwpTypeBits), (~pte << kSwpTypeBits >> kSwpOffsetShift) & 0xffffffffull);
  return swp_entry(f, arch_type(f, arch), arch_offset(f, arch));
}

std::uint64_t generic_max_swapfile_size(Format f) {
  return swp_offset(f, pte_to_swp_entry(f, swp_entry_to_pte(f, swp_entry(f, 0, long_mask(f))))) + 1;
}

}  // namespace linux_swp

SwapSpace::SwapSpace(const OsParams& p, const PageTables& pt) : m_p(p), m_pt(pt) {}

void SwapSpace::swapon() {
  // read_swap_header(): "if (last_page > maxpages) pr_warn("Truncating
  // oversized swap area, only using %luk out of %luk\n", ...)".
  const std::uint64_t pages = std::min<std::uint64_t>(m_p.swap_bytes / kPageBytes, max_slots());
  if (pages > 1) m_device = std::make_unique<SwapDevice>(pages);
}

namespace {
constexpr unsigned kSlotBits64 = 50;  // bits 61:12 of a 64-bit entry
}

std::uint64_t SwapSpace::entry(std::uint64_t slot) const {
  if (m_pt.ia32()) return ((slot >> 3) << kPageShift) | ((slot & 7) << 1) | swpte::kSwapEntry;
  return ((slot & ((1ull << kSlotBits64) - 1)) << kPageShift) | swpte::kSwapEntry;
}

std::uint64_t SwapSpace::slot(std::uint64_t e) const {
  if (m_pt.ia32()) return (((e & m_pt.addr_mask()) >> kPageShift) << 3) | ((e >> 1) & 7);
  return (e >> kPageShift) & ((1ull << kSlotBits64) - 1);
}

std::uint64_t SwapSpace::max_slots() const {
  // arch_max_swapfile_size() -> generic_max_swapfile_size() of the format.
  using linux_swp::Format;
  return linux_swp::generic_max_swapfile_size(m_pt.ia32()  ? Format::TwoLevel
                                              : m_pt.pae() ? Format::Pae
                                                           : Format::X86_64);
}

void SwapSpace::release(Process& p, std::uint64_t e) {
  if (e & swpte::kSwapEntry) {
    m_device->free(slot(e));
    --p.swap_pages;
  }
}

}  // namespace mmusim
