// The address space of the current process, after mm/mmap.c and
// mm/mprotect.c:
//  - the VMAs: @mmap (MAP_FIXED semantics: the range is unmapped first),
//    @munmap, @mprotect and @brk split VMAs at the range's ends and merge
//    neighbours that agree (anonymous, same protection and advice;
//    is_mergeable_anon_vma accepts a VMA without an anon_vma);
//  - one vm_area_struct per VMA from its slab cache;
//  - unmapping (unmap_region: zap_page_range, then free_pgtables, which
//    frees a table only if the whole range it maps lies between the VMAs
//    left on either side) and change_protection, both through the page-table
//    range walker, each followed by a TLB shootdown;
//  - implicit VMAs for raw traces (replay.implicit_vmas): the first touch
//    outside every VMA creates an anonymous rwx VMA over the gap around the
//    address inside its aligned 2 MiB, merged with implicit neighbours.
// Left out: HIGHPTE counting walks a range once where Linux walks it per
// VMA (a PTE page under two VMAs of one munmap, mprotect, fork or exit
// counts once here, twice in Linux).
#pragma once

#include <cstdint>

#include "models/common/stats.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"

namespace mmusim {

class PageTables;
class Tasks;
class Rmap;
class SwapSpace;
class Hugetlb;
class Thp;
class AsidManager;
class SlabAllocator;
struct KmemCache;

// @mmap of a file with an identity: ino != 0 is the page cache's inode; the
// mapping starts at file page pgoff, MAP_SHARED or not.
struct FileMapping {
  std::uint32_t ino = 0;
  std::uint64_t pgoff = 0;
  bool shared = false;
};

class AddressSpace {
 public:
  AddressSpace(const OsParams& p, PageTables& pt, Tasks& tasks, Rmap& rmap, SwapSpace& swap, Hugetlb& hugetlb,
               const Thp& thp, AsidManager& asids, SlabAllocator& slab);

  // os.implicit_vmas.
  void register_stats(StatGroup& os);
  // The vm_area_struct slab cache.
  void create_cache();

  // The trace's address-space events, on the current process. The hugetlb
  // form (MAP_HUGETLB | MAP_HUGE_1GB) needs a 1 GiB-aligned start; len is
  // rounded up to 1 GiB.
  // A file with an identity (FileMapping) maps from file page pgoff.
  void mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge, bool hugetlb,
            const FileMapping& f = FileMapping());
  void munmap(VAddr start, std::uint64_t len);
  void mprotect(VAddr start, std::uint64_t len, std::uint8_t prot);
  void brk(VAddr end);

  // Some VMA of p intersects [lo, hi).
  bool vma_overlaps(const Process& p, VAddr lo, VAddr hi) const;
  // The implicit VMA for a first touch at va.
  Vma* create_implicit_vma(Process& p, VAddr va);
  // zap_page_range + free_pgtables over [start, end) (no TLB flush).
  // Returns true when page tables were freed (free_pgtables).
  bool zap(Process& p, VAddr start, VAddr end);
  // One vm_area_struct per VMA, after the VMA tree changed; all freed.
  void sync_vma_objects(Process& p);
  void free_vma_objects(Process& p);

 private:
  void insert_vma(Process& p, const Vma& v);
  void split_vma_at(Process& p, VAddr addr);
  void remove_range(Process& p, VAddr start, VAddr end);  // VMAs and mappings
  void protect(Process& p, const Vma& v);
  void check_range(VAddr start, std::uint64_t len, const char* what) const;

  const OsParams& m_p;
  PageTables& m_pt;
  Tasks& m_tasks;
  Rmap& m_rmap;
  SwapSpace& m_swap;
  Hugetlb& m_hugetlb;
  const Thp& m_thp;
  AsidManager& m_asids;
  SlabAllocator& m_slab;
  KmemCache* m_vma_cache = nullptr;
  Counter* m_implicit_vmas = nullptr;
};

}  // namespace mmusim
