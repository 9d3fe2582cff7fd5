// The OS model's shared data: a VMA (vm_area_struct), a process (task_struct
// with its mm_struct), the outcome of a fault and the fault counters the
// fault paths of several parts bump (vmstat pgfault, pgmajfault, ...).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/prot.h"
#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

struct Vma {
  VAddr start = 0, end = 0;  // [start, end), page-aligned
  std::uint8_t prot = 0;     // kProtRead | kProtWrite | kProtExec (models/common/prot.h)
  bool file = false;
  bool huge = false;      // MADV_HUGEPAGE advice
  bool implicit = false;  // created by a first touch (replay.implicit_vmas)
  bool hugetlb = false;   // MAP_HUGETLB | MAP_HUGE_1GB: 1 GiB pages of the os.hugetlb_1g pool
  // Linux's vma->anon_vma: set by anon_vma_prepare() when the VMA first gets
  // an anonymous page of its own (a write fault, a copy-on-write, a THP
  // fault); not by a read that maps the zero page, nor by a file page.
  // vma_needs_copy(): fork copies the page tables only of VMAs that have it.
  bool anon_vma = false;
  // A file with an identity (@mmap ... file=ID): its inode in the page
  // cache (models/os/mm/filemap.h), 0 for anonymous memory and for a file
  // mapping without identity; vm_pgoff, the file page at start; VM_SHARED.
  std::uint32_t ino = 0;
  std::uint64_t pgoff = 0;
  bool shared = false;
};

struct Process {
  std::uint32_t pid = 0;
  PAddr root = 0;
  std::map<VAddr, Vma> vmas;  // by start
  bool alive = true;
  std::uint64_t rss_pages = 0;
  std::uint64_t pgtable_pages = 0;
  bool has_brk = false;
  VAddr brk_start = 0, brk_end = 0;
  std::uint64_t tlb_gen = 1;  // bumped by every shootdown of this mm (Linux's mm->context.tlb_gen)
  // mm_cpumask(): bit c set while CPU c has this mm loaded (switch_mm_irqs_off;
  // a lazy CPU keeps its bit). At most 64 CPUs (cores: 1..64).
  std::uint64_t cpumask = 0;
  // pgtable_trans_huge_deposit(): the PTE page allocated with each huge PMD
  // (THP or huge zero page), by the huge page's base; the split takes it
  // back (pgtable_trans_huge_withdraw) instead of allocating, and zapping
  // the huge PMD frees it (zap_deposited_table). Counted in pgtable_pages,
  // as mm_inc_nr_ptes() counts it in mm_pgtables_bytes().
  std::map<VAddr, PAddr> deposited;
  bool huge_zero = false;  // MMF_HUGE_ZERO_PAGE: holds a reference to the huge zero page until exit
  // Kernel objects from the slab caches: task_struct, mm_struct and one
  // vm_area_struct per VMA.
  PAddr task_obj = 0, mm_obj = 0;
  std::vector<PAddr> vma_objs;
  std::uint64_t swap_pages = 0;  // swap entries in its page tables
  int oom_score_adj = 0;         // -1000 .. 1000 (/proc/PID/oom_score_adj)
};

// find_vma(): the VMA of p holding va, nullptr if none.
inline Vma* find_vma(Process& p, VAddr va) {
  auto it = p.vmas.upper_bound(va);
  if (it == p.vmas.begin()) return nullptr;
  --it;
  return va < it->second.end ? &it->second : nullptr;
}
inline const Vma* find_vma(const Process& p, VAddr va) { return find_vma(const_cast<Process&>(p), va); }

enum class FaultResult { Handled, Killed };

struct FaultOutcome {
  FaultResult result = FaultResult::Handled;
  Cycles cost_cycles = 0;
  std::string reason;  // why the process was killed
};

// A trace event the OS cannot honour (unaligned munmap, zero length, ...).
class OsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --check-invariants found the OS model's state inconsistent: a bug of the
// model, never of the input (an internal error, exit code 1). The replay
// adds the trace record it was replaying.
class InvariantViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// The fault counters (os.pgfault, os.faults.*, os.zero_page.*), bumped by
// the fault handler and by the THP and hugetlb fault paths.
struct FaultStats {
  Counter* pgfault = nullptr;
  Counter* minor = nullptr;
  Counter* major = nullptr;
  Counter* segv = nullptr;
  Counter* cow = nullptr;
  Counter* cow_copy = nullptr;
  Counter* cow_reuse = nullptr;
  Counter* zero_maps = nullptr;         // os.zero_page.maps
  Counter* zero_huge_maps = nullptr;    // os.zero_page.huge_maps
  Counter* zero_replaced = nullptr;     // os.zero_page.replaced
  Counter* zero_huge_splits = nullptr;  // os.zero_page.huge_splits
};

}  // namespace mmusim
