#include "models/os/arch/kernel_space.h"

#include <algorithm>
#include <stdexcept>

#include "models/arch/entry_bits.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kKernTableFlags = pte::kP | pte::kRW | pte::kA | pte::kD;  // _KERNPG_TABLE
constexpr VAddr kPageOffset4 = 0xffff888000000000ull;                              // __PAGE_OFFSET_BASE_L4
constexpr VAddr kPageOffset5 = 0xff11000000000000ull;                              // __PAGE_OFFSET_BASE_L5
constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);

}  // namespace

KernelSpace::KernelSpace(const OsParams& p, PhysicalMemory& mem, PageTables& pt, PageAllocator& alloc)
    : m_p(p), m_mem(mem), m_pt(pt), m_alloc(alloc) {}

void KernelSpace::register_stats(StatGroup& os) {
  os.group("kernel").formula("pgtable_pages", "page-table pages of the kernel half, shared by every address space",
                             [this] { return static_cast<double>(m_tables.size()); });
}

void KernelSpace::register_kmap_stats(StatGroup& os) {
  os.group("highmem").formula("kmap_atomic", "temporary mappings of HighMem frames the kernel touched (32-bit modes)",
                              [this] { return static_cast<double>(m_kmap_atomic); });
  os.group("highmem").formula("kmap_atomic_pte",
                              "of kmap_atomic, those that mapped a HighMem PTE page (CONFIG_HIGHPTE: pte_offset_map, "
                              "zeroing, fork, munmap, mprotect, reclaim)",
                              [this] { return static_cast<double>(m_kmap_atomic_pte); });
}

void KernelSpace::alloc_idle_root() {
  m_idle_root = m_pt.alloc_idle_root();
  if (!m_idle_root) throw std::invalid_argument("OS model: no memory for the idle page directory");
}

void KernelSpace::kmap_atomic(std::uint64_t pfn) {
  if (m_p.highmem && pfn >= ZonedPageAllocator::kLowmemEndPfn) ++m_kmap_atomic;
}

std::uint64_t KernelSpace::kernel_leaf_flags() const {
  std::uint64_t f = pte::kP | pte::kRW | pte::kA | pte::kD;
  if (m_p.pge) f |= pte::kG;
  if (m_p.nx && !m_pt.ia32()) f |= pte::kXD;
  return f;
}

PAddr KernelSpace::alloc_kernel_table() {
  // GFP_KERNEL at boot: low memory (never HIGHMEM), any node.
  auto pfn = m_alloc.buddy().alloc(0, ZoneType::Normal, Watermark::None);
  if (!pfn) throw std::invalid_argument("OS model: no memory for the kernel's page tables");
  m_mem.zero_frame(*pfn);
  m_tables.push_back(*pfn << kPageShift);
  return *pfn << kPageShift;
}

void KernelSpace::map_kernel(VAddr va, PAddr pa, PageSize size) {
  const unsigned leaf = m_pt.leaf_level(size);
  PAddr table = m_idle_root;
  for (unsigned level = m_pt.levels(); level > leaf; --level) {
    const PAddr epa = table + m_pt.index_at(va, level) * m_pt.entry_bytes();
    std::uint64_t e = m_pt.rd(epa);
    if (!(e & pte::kP)) {
      e = alloc_kernel_table() | (m_pt.pae() && level == 3 ? pte::kP : kKernTableFlags);
      m_pt.wr(epa, e);
    }
    table = e & m_pt.addr_mask();
  }
  if (size == PageSize::k4K && va == kKmapBase && pa == 0) {
    m_kmap_pte = table + m_pt.index_at(va, 1) * m_pt.entry_bytes();  // slot 0's PTE, written when used
    return;
  }
  std::uint64_t f = kernel_leaf_flags();
  if (size != PageSize::k4K) f |= pte::kPS;
  m_pt.wr(table + m_pt.index_at(va, leaf) * m_pt.entry_bytes(), pa | f);
}

void KernelSpace::build() {
  const bool is32 = m_pt.ia32() || m_pt.pae();
  if (!m_p.kernel_half) {
    if (m_p.fault_model == FaultModel::Accesses)
      throw std::invalid_argument("OS model: the accesses fault model needs the kernel half");
    return;
  }
  m_page_offset = is32 ? kPageOffset32 : m_pt.levels() == 5 ? kPageOffset5 : kPageOffset4;
  const std::uint64_t managed = m_alloc.buddy().num_pages() * kPageBytes;
  m_linear_bytes = is32 ? std::min<std::uint64_t>(managed, ZonedPageAllocator::kLowmemEndPfn << kPageShift) : managed;
  const std::uint64_t huge = m_pt.huge_bytes();
  for (PAddr pa = 0; pa < m_linear_bytes;) {
    const std::uint64_t left = m_linear_bytes - pa;
    PageSize size = PageSize::k4K;
    std::uint64_t bytes = kPageBytes;
    if (!is32 && pa % k1G == 0 && left >= k1G) {
      size = PageSize::k1G;
      bytes = k1G;
    } else if (huge && pa % huge == 0 && left >= huge) {
      size = m_pt.size_at(2);
      bytes = huge;
    }
    map_kernel(m_page_offset + pa, pa, size);
    pa += bytes;
  }
  if (is32) map_kernel(kKmapBase, 0, PageSize::k4K);  // the fixmap's kmap_atomic page table
}

void KernelSpace::copy_kernel_half(PAddr root) {
  if (!m_p.kernel_half) return;
  const unsigned eb = m_pt.entry_bytes();
  for (unsigned i = m_pt.kernel_root_index(); i < m_pt.entries(m_pt.levels()); ++i)
    m_pt.wr(root + i * eb, m_pt.rd(m_idle_root + i * eb));
}

}  // namespace mmusim
