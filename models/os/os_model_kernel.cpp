// OsModel, the kernel half of the address space and os.fault_model: accesses.
//
// The kernel half (arch/x86/mm/init_64.c kernel_physical_mapping_init,
// arch/x86/mm/init_32.c kernel_physical_mapping_init, arch/x86/mm/pgtable.c
// pgd_ctor): the idle root maps physical memory at PAGE_OFFSET with the
// largest pages that fit - 1 GiB (SDM 4.5, table 4-16: PDPTE with PS) in the
// 64-bit modes, then 2 MiB / 4 MiB (PDE with PS, SDM 4.3 with CR4.PSE and
// 4.4), then 4 KiB. Its entries are supervisor-only (U/S = 0), read/write,
// A and D set, execute-disable with EFER.NXE (not in 4-byte entries) and
// global (G, bit 8) when CR4.PGE is on: a CR3 write without PCIDs keeps them
// (SDM 4.10.4.1), so the kernel's translations survive context switches.
// Directory entries of the kernel half are _KERNPG_TABLE (P, R/W, A, D);
// a PAE PDPTE has only P (SDM table 4-8). Every process's root copies the
// root-level kernel entries at creation, so all address spaces share the
// same kernel page tables; with PAE the fourth PDPTE points to one shared
// kernel page directory (SHARED_KERNEL_PMD).
//
// The 32-bit modes map only low memory (the first 896 MiB) linearly. A
// HighMem frame is reached through a kmap_atomic slot: the kernel writes the
// slot's PTE in the fixmap page table (at kKmapBase, 0xffe00000), accesses
// the slot's address, then clears the PTE and INVLPGs the address
// (kunmap_atomic -> flush_tlb_one_kernel).
//
// With os.fault_model: accesses, the fault handler's own memory work goes
// out through a KernelAccessPort (the replay) as supervisor accesses at the
// linear-map address of each physical byte - see ktouch() and os_model.h.
#include <algorithm>
#include <stdexcept>

#include "models/os/os_model.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kKernTableFlags = pte::kP | pte::kRW | pte::kA | pte::kD;  // _KERNPG_TABLE
constexpr VAddr kPageOffset4 = 0xffff888000000000ull;  // __PAGE_OFFSET_BASE_L4
constexpr VAddr kPageOffset5 = 0xff11000000000000ull;  // __PAGE_OFFSET_BASE_L5
constexpr std::uint64_t k1G = 1ull << 30;

}  // namespace

PAddr OsModel::alloc_kernel_table() {
  // GFP_KERNEL at boot: low memory (never HIGHMEM), any node.
  auto pfn = m_buddy->alloc(0, ZoneType::Normal, Watermark::None);
  if (!pfn) throw std::invalid_argument("OS model: no memory for the kernel's page tables");
  m_mem.zero_frame(*pfn);
  m_kernel_tables.push_back(*pfn << kPageShift);
  return *pfn << kPageShift;
}

void OsModel::map_kernel(VAddr va, PAddr pa, PageSize size) {
  const unsigned leaf = size == PageSize::k4K ? 1 : size == PageSize::k1G ? 3 : 2;
  PAddr table = m_idle_root;
  for (unsigned level = m_levels; level > leaf; --level) {
    const PAddr epa = table + index_at(va, level) * m_entry_bytes;
    std::uint64_t e = rd(epa);
    if (!(e & pte::kP)) {
      e = alloc_kernel_table() | (m_pae && level == 3 ? pte::kP : kKernTableFlags);
      wr(epa, e);
    }
    table = e & m_addr_mask;
  }
  if (size == PageSize::k4K && va == kKmapBase && pa == 0) {
    m_kmap_pte = table + index_at(va, 1) * m_entry_bytes;  // slot 0's PTE, written when used
    return;
  }
  std::uint64_t f = pte::kP | pte::kRW | pte::kA | pte::kD;
  if (m_p.pge) f |= pte::kG;
  if (m_p.nx && !m_ia32) f |= pte::kXD;
  if (size != PageSize::k4K) f |= pte::kPS;
  wr(table + index_at(va, leaf) * m_entry_bytes, pa | f);
}

void OsModel::build_kernel_half(StatGroup& stats) {
  const bool is32 = m_ia32 || m_pae;
  StatGroup& k = stats.group("kernel");
  k.formula("pgtable_pages", "page-table pages of the kernel half, shared by every address space",
            [this] { return static_cast<double>(m_kernel_tables.size()); });
  m_kaccesses = &k.counter("accesses", "supervisor accesses issued by the fault handler (os.fault_model: accesses)");
  m_kaccess_cycles = &k.counter("access_cycles", "cycles of those accesses (translation and, with memory.caches, data)");
  if (!m_p.kernel_half) {
    if (m_p.fault_model == FaultModel::Accesses)
      throw std::invalid_argument("OS model: the accesses fault model needs the kernel half");
    return;
  }
  m_page_offset = is32 ? kPageOffset32 : m_levels == 5 ? kPageOffset5 : kPageOffset4;
  const std::uint64_t managed = m_buddy->num_pages() * kPageBytes;
  m_linear_bytes = is32 ? std::min<std::uint64_t>(managed, ZonedPageAllocator::kLowmemEndPfn << kPageShift) : managed;
  for (PAddr pa = 0; pa < m_linear_bytes;) {
    const std::uint64_t left = m_linear_bytes - pa;
    PageSize size = PageSize::k4K;
    std::uint64_t bytes = kPageBytes;
    if (!is32 && pa % k1G == 0 && left >= k1G) {
      size = PageSize::k1G;
      bytes = k1G;
    } else if (m_huge_bytes && pa % m_huge_bytes == 0 && left >= m_huge_bytes) {
      size = size_at(2);
      bytes = m_huge_bytes;
    }
    map_kernel(m_page_offset + pa, pa, size);
    pa += bytes;
  }
  if (is32) map_kernel(kKmapBase, 0, PageSize::k4K);  // the fixmap's kmap_atomic page table
}

void OsModel::copy_kernel_half(PAddr root) {
  if (!m_p.kernel_half) return;
  for (unsigned i = kernel_root_index(); i < m_entries[m_levels]; ++i)
    wr(root + i * m_entry_bytes, rd(m_idle_root + i * m_entry_bytes));
}

// ---------------------------------------------------------------- fault_model: accesses

void OsModel::ktouch(PAddr pa, std::uint64_t bytes, bool write) {
  if (!m_kactive) return;
  while (bytes) {
    const std::uint64_t in_page = std::min<std::uint64_t>(bytes, kPageBytes - (pa & (kPageBytes - 1)));
    ktouch_page(pa, static_cast<std::uint32_t>(in_page), write);
    pa += in_page;
    bytes -= in_page;
  }
}

void OsModel::ktouch_page(PAddr pa, std::uint32_t bytes, bool write) {
  if (pa + bytes <= m_linear_bytes) {
    const Cycles c = m_kport->kernel_access(m_page_offset + pa, bytes, write);
    m_kcycles += c;
    ++*m_kaccesses;
    *m_kaccess_cycles += c;
    return;
  }
  if (!m_kmap_pte) throw std::logic_error("OS model: kernel access beyond the linear map at " + hex_string(pa));
  // kmap_atomic: slot 0's PTE (the handler's kmaps do not nest here), the
  // access through it, then kunmap_atomic's clear and INVLPG.
  std::uint64_t f = pte::kP | pte::kRW | pte::kA | pte::kD | (m_p.pge ? pte::kG : 0) | (m_p.nx && !m_ia32 ? pte::kXD : 0);
  wr(m_kmap_pte, (pa & ~(kPageBytes - 1)) | f);
  ktouch_page(m_kmap_pte, m_entry_bytes, true);
  const Cycles c = m_kport->kernel_access(kKmapBase + (pa & (kPageBytes - 1)), bytes, write);
  m_kcycles += c;
  ++*m_kaccesses;
  *m_kaccess_cycles += c;
  wr(m_kmap_pte, 0);
  ktouch_page(m_kmap_pte, m_entry_bytes, true);
  m_mmu.invlpg(kKmapBase);
}

void OsModel::ktouch_vma_search(const Process& p, VAddr va) {
  if (!m_kactive) return;
  ktouch(p.task_obj, 8, false);  // current->mm
  ktouch(p.mm_obj, 64, false);   // mmap_lock and the root of the VMA tree
  // A binary search over the VMAs in address order, reading vm_start and
  // vm_end of each vm_area_struct it visits (the i-th VMA's object is
  // vma_objs[i]).
  std::vector<const Vma*> v;
  v.reserve(p.vmas.size());
  for (const auto& kv : p.vmas) v.push_back(&kv.second);
  std::size_t lo = 0, hi = v.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (mid < p.vma_objs.size()) ktouch(p.vma_objs[mid], 16, false);
    if (v[mid]->end <= va) lo = mid + 1;
    else if (v[mid]->start > va) hi = mid;
    else break;
  }
}

void OsModel::ktouch_walk(const Process& p, VAddr va) {
  if (!m_kactive) return;
  PAddr table = p.root;
  for (unsigned l = m_levels; l >= 1; --l) {
    const PAddr epa = table + index_at(va, l) * m_entry_bytes;
    ktouch(epa, m_entry_bytes, false);
    const std::uint64_t e = rd(epa);
    if (!(e & pte::kP) || is_leaf(l, e)) return;
    table = e & m_addr_mask;
  }
}

}  // namespace mmusim
