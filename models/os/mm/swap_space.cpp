#include "models/os/mm/swap_space.h"

#include <algorithm>

#include "models/os/mm/page_tables.h"

namespace mmusim {

SwapSpace::SwapSpace(const OsParams& p, const PageTables& pt) : m_p(p), m_pt(pt) {}

void SwapSpace::swapon() {
  // read_swap_header(): "if (last_page > maxpages) pr_warn("Truncating
  // oversized swap area, only using %luk out of %luk\n", ...)".
  const std::uint64_t pages = std::min<std::uint64_t>(m_p.swap_bytes / kPageBytes, max_slots());
  if (pages > 1) m_device = std::make_unique<SwapDevice>(pages);
}

std::uint64_t SwapSpace::entry(std::uint64_t slot) const {
  if (m_pt.ia32()) return ((slot >> 3) << kPageShift) | ((slot & 7) << 1) | swpte::kSwapEntry;
  return (slot << kPageShift) | swpte::kSwapEntry;
}

std::uint64_t SwapSpace::slot(std::uint64_t e) const {
  if (m_pt.ia32()) return (((e & m_pt.addr_mask()) >> kPageShift) << 3) | ((e >> 1) & 7);
  return (e & m_pt.addr_mask()) >> kPageShift;
}

std::uint64_t SwapSpace::max_slots() const { return m_pt.ia32() ? 1ull << 23 : (m_pt.addr_mask() >> kPageShift) + 1; }

void SwapSpace::release(Process& p, std::uint64_t e) {
  if (e & swpte::kSwapEntry) {
    m_device->free(slot(e));
    --p.swap_pages;
  }
}

}  // namespace mmusim
