// The OS model's parameters (the os.* and paging.* keys of the
// configuration), the fault-cost model and the kernel access port.
#pragma once

#include <cstdint>

#include "models/common/types.h"
#include "models/walker/walker.h"

namespace mmusim {

enum class ThpMode { Never, Always, Madvise };
// os.fault_model: a fault costs fixed cycles, or its memory work is issued
// as kernel-mode accesses through a KernelAccessPort.
enum class FaultModel { Cycles, Accesses };

// Where the fault handler's memory accesses go with FaultModel::Accesses:
// the replay translates va in supervisor mode through the MMU (its TLBs,
// walker and caches) and, with memory.caches, accesses the bytes.
class KernelAccessPort {
 public:
  virtual ~KernelAccessPort() = default;
  // A supervisor data access of `bytes` (within one 4 KiB page) at kernel
  // virtual address va; returns its cycles.
  virtual Cycles kernel_access(VAddr va, std::uint32_t bytes, bool write) = 0;
};

struct OsParams {
  std::uint64_t memory_bytes = 8ull << 30;
  unsigned max_order = 10;
  unsigned levels = 4;  // paging levels with mode X86_64: 4 or 5 (5 = X86_64_La57)
  PagingMode mode = PagingMode::X86_64;
  bool pse = true;   // CR4.PSE: 4 MiB pages with ia32
  bool pcid = false; // CR4.PCIDE: Linux-like ASID slots, no-flush CR3 writes
  bool pge = true;   // CR4.PGE: the kernel half is mapped global
  // Map the kernel half (the linear map) into every address space. Always on
  // in mmusim run; unit tests whose hand-derived frame numbers assume
  // user-only address spaces turn it off. FaultModel::Accesses needs it.
  bool kernel_half = true;
  FaultModel fault_model = FaultModel::Cycles;
  unsigned phys_addr_bits = 46;
  bool nx = true;
  ThpMode thp = ThpMode::Never;
  Cycles fault_minor_cycles = 700;
  Cycles zero_page_per_4k_cycles = 300;
  bool implicit_vmas = true;
  // Issue 4 (zones, slab, fork/COW, swap, reclaim, OOM, invariants).
  unsigned numa_nodes = 1;
  bool highmem = false;  // 32-bit zone layout: ZONE_HIGHMEM above 896 MiB
  Cycles fault_major_cycles = 40000;  // a swap-in, on top of the swap device latency
  Cycles cow_copy_per_4k_cycles = 300;
  std::uint64_t swap_bytes = 0;
  Cycles swap_latency_cycles = 40000;
  unsigned swappiness = 60;
  bool oom_enabled = true;
  bool check_invariants = false;  // after every fault (mmusim run --check-invariants)
  unsigned fragmentation_percent = 0;  // os.fragmentation: free memory made unusable for order 9 at boot
  unsigned hugetlb_1g_pages = 0;       // os.hugetlb_1g: 1 GiB pages reserved at boot (64-bit modes)
  std::uint64_t seed = 1;
};

}  // namespace mmusim
