// The OS model's parameters: the os.* keys of the configuration, declared
// here into OsParams, and the paging.* state it reads (set_paging); the
// fault-cost model and the kernel access port. The keys follow Linux 6.1's
// knobs: MAX_ORDER (mm/page_alloc.c), transparent_hugepage/enabled
// (mm/huge_memory.c), vm.swappiness (mm/vmscan.c), hugepagesz=1G hugepages=N
// (mm/hugetlb.c), panic_on_oom=0 / oom_kill_allocating_task (mm/oom_kill.c).
#pragma once

#include <cstdint>

#include "models/arch/paging_mode.h"
#include "models/common/params.h"
#include "models/common/types.h"
#include "models/mmu/paging_params.h"

namespace mmusim {

enum class ThpMode { Never, Always, Madvise };
inline constexpr NamedValue<ThpMode> kThpModeNames[] = {
    {ThpMode::Never, "never"}, {ThpMode::Always, "always"}, {ThpMode::Madvise, "madvise"}};
// os.pcp_lists: per-CPU page lists on with several CPUs (auto), always, or
// never.
enum class PcpMode { Auto, On, Off };
inline constexpr NamedValue<PcpMode> kPcpModeNames[] = {
    {PcpMode::Auto, "auto"}, {PcpMode::On, "true"}, {PcpMode::Off, "false"}};
// os.fault_model: a fault costs fixed cycles, or its memory work is issued
// as kernel-mode accesses through a KernelAccessPort.
enum class FaultModel { Cycles, Accesses };
inline constexpr NamedValue<FaultModel> kFaultModelNames[] = {{FaultModel::Cycles, "cycles"},
                                                              {FaultModel::Accesses, "accesses"}};

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
  // os.* (declared in visit()).
  std::uint64_t memory_bytes;
  unsigned max_order;
  ThpMode thp;
  Cycles fault_minor_cycles;
  Cycles zero_page_per_4k_cycles;
  Cycles fault_major_cycles;  // a swap-in, on top of the swap device latency
  Cycles cow_copy_per_4k_cycles;
  unsigned numa_nodes;
  unsigned swappiness;
  std::uint64_t swap_bytes;
  Cycles swap_latency_cycles;
  bool oom_enabled;
  unsigned fragmentation_percent;  // free memory made unusable for order 9 at boot
  FaultModel fault_model;
  unsigned hugetlb_1g_pages;  // 1 GiB pages reserved at boot (64-bit modes)
  // os.tlb.*: TLB shootdown costs (models/os/arch/tlb.h), with several cores.
  Cycles tlb_ipi_send_cycles;
  Cycles tlb_ipi_delivery_cycles;
  Cycles tlb_ipi_handler_cycles;
  Cycles tlb_ipi_ack_cycles;
  Cycles tlb_invlpg_cycles;
  Cycles tlb_full_flush_cycles;
  PcpMode pcp_lists;

  // paging.* (set_paging).
  unsigned levels;  // paging levels with mode X86_64: 4 or 5 (5 = X86_64_La57)
  PagingMode mode;
  bool pse;   // CR4.PSE: 4 MiB pages with ia32
  bool pcid;  // CR4.PCIDE: Linux-like ASID slots, no-flush CR3 writes
  bool pge;   // CR4.PGE: the kernel half is mapped global
  unsigned phys_addr_bits;
  bool nx;
  bool highmem;  // 32-bit zone layout: ZONE_HIGHMEM above 896 MiB

  // Set by the topology from replay.implicit_vmas and seed.
  bool implicit_vmas = true;
  std::uint64_t seed = 1;
  // Set by the topology from cores: the CPUs, split evenly among the nodes.
  unsigned cpus = 1;
  bool pcp_on() const { return pcp_lists == PcpMode::On || (pcp_lists == PcpMode::Auto && cpus > 1); }
  // Map the kernel half (the linear map) into every address space. Always on
  // in mmusim run; unit tests whose hand-derived frame numbers assume
  // user-only address spaces turn it off. FaultModel::Accesses needs it.
  bool kernel_half = true;
  bool check_invariants = false;  // after every fault (mmusim run --check-invariants)

  OsParams() {
    apply_defaults(*this);
    set_paging(PagingParams());
  }

  template <class V>
  void visit(V& v) {
    v.param("memory", memory_bytes, 8ull << 30, kSize, "physical memory managed by the OS model");
    v.param("max_order", max_order, 10u, "", "largest buddy block order (free_area[0..max_order])");
    v.choice("thp", thp, ThpMode::Never, kThpModeNames, "transparent huge pages (2 MiB) for anonymous memory");
    v.group("fault_cost", "cycles charged per page fault", [&] {
      v.param("minor", fault_minor_cycles, Cycles{700}, "cycles",
              "kernel entry, VMA lookup and PTE update of a minor fault");
      v.param("zero_page_per_4k", zero_page_per_4k_cycles, Cycles{300}, "cycles",
              "zeroing a newly allocated page, per 4 KiB");
      v.param("major", fault_major_cycles, Cycles{40000}, "cycles",
              "kernel work of a major fault (swap-in), on top of os.swap.latency");
      v.param("cow_copy_per_4k", cow_copy_per_4k_cycles, Cycles{300}, "cycles",
              "copying a shared page at a copy-on-write fault, per 4 KiB");
    });
    v.param("numa_nodes", numa_nodes, 1u, "",
            "NUMA nodes; memory is split evenly, each node has its own zones; cores are split evenly among them "
            "(core c on node c*nodes/cores) and allocate on their own node first (MPOL_LOCAL, zone_statistics)");
    v.param("swappiness", swappiness, 60u, "",
            "0..200: reclaim's preference for anonymous (swap) over file pages (vm.swappiness)");
    v.group("swap", "the swap device", [&] {
      v.param("size", swap_bytes, std::uint64_t{0}, kSize,
              "swap device size; 0: no swap (anonymous pages cannot be reclaimed)");
      v.param("latency", swap_latency_cycles, Cycles{40000}, "cycles",
              "swap device access time per 4 KiB page, charged to a major fault");
    });
    v.group("oom", "the OOM killer", [&] {
      v.param("enabled", oom_enabled, true, "",
              "out of memory kills the process with the highest oom_score; false: the faulting process is killed");
    });
    v.param("fragmentation", fragmentation_percent, 0u, "%",
            "pre-fragment memory at boot: pin one frame in seeded-random free 2 MiB blocks until this percent of free "
            "memory is outside order-9 blocks (0: off)");
    v.choice("fault_model", fault_model, FaultModel::Cycles, kFaultModelNames,
             "cycles: a fault costs os.fault_cost; accesses: the handler's memory work (VMA search, page-table walk "
             "and writes, zeroing, COW copy) also goes through the MMU and caches as kernel-mode accesses via the "
             "kernel's linear map, replacing the per-4 KiB costs");
    v.param("hugetlb_1g", hugetlb_1g_pages, 0u, "pages",
            "1 GiB pages reserved at boot for @mmap ... hugetlb (hugepagesz=1G hugepages=N); 64-bit modes only");
    // Defaults: one remote CPU's single-page shootdown costs the initiator
    // 150 + 1200 + (700 + 100) + 300 = 2450 cycles, about 0.8 us at 3 GHz:
    // the order of the "microseconds" a shootdown takes in Amit, "Optimizing
    // the TLB Shootdown Algorithm with Page Access Tracking", USENIX ATC'17
    // (section 2) and LATR (Kumar et al., ASPLOS'18, section 2); the split
    // between the parts is an estimate, not a measurement of each.
    v.group("tlb", "TLB shootdown costs with several cores (arch/x86/mm/tlb.c: native_flush_tlb_multi)", [&] {
      v.param("ipi_send_cycles", tlb_ipi_send_cycles, Cycles{150}, "cycles",
              "initiator: sending one TLB-flush IPI (x2APIC ICR write, smp_call_function_many_cond), per target CPU; "
              "estimate, see Amit ATC'17 sec. 2");
      v.param("ipi_delivery_cycles", tlb_ipi_delivery_cycles, Cycles{1200}, "cycles",
              "from the IPI's send until the remote handler starts (interrupt delivery and entry); estimate after "
              "Amit ATC'17 sec. 2 (a shootdown takes microseconds)");
      v.param("ipi_handler_cycles", tlb_ipi_handler_cycles, Cycles{700}, "cycles",
              "remote CPU: the flush IPI's handler without its flush (flush_tlb_func bookkeeping, interrupt exit); "
              "charged to that core; estimate after Amit ATC'17 sec. 2");
      v.param("ipi_ack_cycles", tlb_ipi_ack_cycles, Cycles{300}, "cycles",
              "the handler's acknowledgement reaching the waiting initiator (csd_lock_wait sees the csd unlocked: "
              "one cache-line transfer); estimate");
      v.param("invlpg_cycles", tlb_invlpg_cycles, Cycles{100}, "cycles",
              "remote handler: one INVLPG (flush_tlb_one_user), per page of a partial flush; estimate");
      v.param("full_flush_cycles", tlb_full_flush_cycles, Cycles{200}, "cycles",
              "remote handler: a full flush (flush_tlb_local, a CR3 reload) or a lazy CPU's switch to init_mm; "
              "estimate");
    });
    v.choice("pcp_lists", pcp_lists, PcpMode::Auto, kPcpModeNames,
             "per-CPU lists of free order-0 pages (struct per_cpu_pages, mm/page_alloc.c rmqueue_pcplist / "
             "free_unref_page) with zone_batchsize/zone_highsize; auto: on with cores > 1 (off with one core, "
             "whose frames stay those of the plain buddy allocator)");
  }

  // The OS's view of the paging mode and control registers.
  void set_paging(const PagingParams& p);

  // Rules on os.* (c is at "os."): the memory size and buddy order against
  // paging.phys_addr_bits, then the features against the paging mode.
  void check_memory(const ParamCheck& c, const PagingParams& paging) const;
  void check_features(const ParamCheck& c, const PagingParams& paging) const;
};

}  // namespace mmusim
