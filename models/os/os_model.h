// The OS model: a Linux-6.1-like memory manager behind the #PF handler.
// OsModel is the facade that builds the parts, wires them (each gets
// references to the parts it uses) and keeps the API the replay and the
// tests use. The parts, each after the Linux code it follows:
//   PageAllocator   mm/page_alloc.c     zones, watermarks, os.fragmentation
//   PageTables      mm/pgtable-generic.c, mm/pagewalk.c  entries, roots,
//                                       table_for, map, split, the range walker, HIGHPTE
//   AddressSpace    mm/mmap.c, mm/mprotect.c  VMAs, brk, unmap, mprotect
//   FaultHandler    mm/memory.c         demand-zero, zero page, spurious, COW, swap-in
//   Thp             mm/huge_memory.c    THP faults, the huge zero page
//   Hugetlb         mm/hugetlb.c        the 1 GiB pool
//   Rmap            mm/rmap.c           map counts of shared frames
//   PageCache       mm/filemap.c        files with an identity: shared frames, fault-around,
//                                       file LRU pages, refaults
//   Reclaim         mm/vmscan.c, mm/compaction.c  LRU, kswapd, direct reclaim, vmstat
//   SwapSpace       mm/swapfile.c       the swap device, swap-entry encoding
//   OomKiller       mm/oom_kill.c       badness, victim choice
//   Tasks           kernel/fork.c, kernel/exit.c  processes, fork, exit, current
//   AsidManager     arch/x86/mm/tlb.c   PCID slots, CR3 loads, TLB generations,
//                                       cpu_tlbstate, mm_cpumask, lazy TLB, shootdowns (IPIs)
//   KernelSpace     arch/x86/mm/init*.c, mm/highmem.c  linear map, idle root, kmap
//   FaultCost       os.fault_model      cycles or kernel accesses of the handler
// Seams that differ from the first proposal: swap-in (do_swap_page) is the
// fault handler's, as it is mm/memory.c code that needs the fault's LRU and
// OOM paths, leaving SwapSpace the device and the entry encoding; the THP
// fault and both zero pages are Thp's, because the huge zero page's
// lifetime (get_huge_zero_page, its shrinker) is; the range walker's unmap
// and mprotect callbacks are AddressSpace's, its copy callbacks Tasks'
// (dup_mmap); HIGHPTE's pte_map() is PageTables', the kmap counters it bumps
// KernelSpace's. The slab allocator is the facade's, shared by Tasks
// (task_struct, mm_struct), AddressSpace (vm_area_struct) and PageTables
// (pgd_cache). The whole-system invariants (models/os/invariants.h) read
// every part.
// The OS model reaches the hardware only through physical memory (the
// zero-time debug path), MmuControl (CR3 writes, INVLPG) and the
// KernelAccessPort of FaultCost.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/os/arch/cpu_mmu.h"
#include "models/os/arch/kernel_space.h"
#include "models/os/arch/tlb.h"
#include "models/os/fault_cost.h"
#include "models/os/kernel/tasks.h"
#include "models/os/mm/address_space.h"
#include "models/os/mm/fault_handler.h"
#include "models/os/mm/filemap.h"
#include "models/os/mm/huge_memory.h"
#include "models/os/mm/hugetlb.h"
#include "models/os/mm/oom_kill.h"
#include "models/os/mm/page_alloc.h"
#include "models/os/mm/page_tables.h"
#include "models/os/mm/rmap.h"
#include "models/os/mm/swap_space.h"
#include "models/os/mm/vmscan.h"
#include "models/os/mm_types.h"
#include "models/os/os_params.h"
#include "models/os/slab.h"

namespace mmusim {

class OsModel {
 public:
  static constexpr std::uint8_t kRead = kProtRead, kWrite = kProtWrite, kExec = kProtExec;
  static constexpr unsigned kPcidSlots = AsidManager::kPcidSlots;
  static constexpr std::uint64_t kReservedLowPages = PageAllocator::kReservedLowPages;
  static constexpr std::uint64_t kZeroPfn = Thp::kZeroPfn;
  static constexpr VAddr kKmapBase = KernelSpace::kKmapBase;
  static constexpr VAddr kPageOffset32 = KernelSpace::kPageOffset32;
  static constexpr std::uint64_t kSwapEntry = swpte::kSwapEntry;
  static constexpr std::uint64_t kFileEvicted = swpte::kFileEvicted;
  static constexpr unsigned kHugetlbOrder = Hugetlb::kOrder;
  static constexpr std::uint64_t kHugetlbPages = Hugetlb::kPages;
  using LruList = Reclaim::LruList;
  static constexpr LruList kInactiveAnon = Reclaim::kInactiveAnon, kActiveAnon = Reclaim::kActiveAnon,
                           kInactiveFile = Reclaim::kInactiveFile, kActiveFile = Reclaim::kActiveFile;
  using TestHooks = Tasks::TestHooks;

  // Boots: the page allocator, the hugetlb pool, the slab caches, swap,
  // os.fragmentation, the idle root and the kernel half; loads the idle
  // root's CR3. Throws std::invalid_argument for impossible parameters.
  OsModel(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, StatGroup& stats);
  OsModel(const OsModel&) = delete;
  OsModel& operator=(const OsModel&) = delete;

  // Several cores (cores: N). add_cpu() adds a CPU with its own MMU, loads
  // the idle root's CR3 there as boot did on CPU 0, and returns its number.
  // set_cpu() makes cpu the one the kernel runs on: its MMU receives the
  // CR3 loads and INVLPGs, and its current task, PCID slots (Tasks,
  // AsidManager) and kernel-access port are used. A flush of an mm that
  // another CPU has loaded is a TLB shootdown (AsidManager,
  // models/os/arch/tlb.h): IPIs to the CPUs of its mm_cpumask, each flushing
  // its own MMU; with the second CPU the os.tlb.* statistics appear.
  unsigned add_cpu(MmuControl& mmu);
  void set_cpu(unsigned cpu);
  // enter_lazy_tlb(): CPU cpu goes idle (or runs a kernel thread) and keeps
  // the mm it had loaded, lazily: shootdowns skip it unless page tables are
  // freed, and the next switch_to on it checks the mm's TLB generation.
  void enter_lazy_tlb(unsigned cpu);
  // Where the cycles of a shootdown's IPI handler on a remote CPU go (the
  // remote core's replay; sim/topology.cpp). Unset: nowhere.
  void set_cpu_stall_sink(AsidManager::StallSink sink) { m_asids.set_stall_sink(std::move(sink)); }
  // Cycles the current CPU waited for shootdown acknowledgements during an
  // event (@munmap, @mprotect, @fork, @exit, ...) since the last call; a
  // fault's wait is in its FaultOutcome::cost_cycles. 0 with one core.
  Cycles take_event_cycles() { return m_asids.take_wait_cycles(); }
  unsigned cpu() const { return m_mmu.cpu(); }
  unsigned cpus() const { return m_mmu.cpus(); }

  // Tasks: @proc, @fork, @exit, @oom_score_adj. alive() is true for a pid
  // not yet used (created on first use), and for a live thread.
  void switch_to(std::uint32_t pid) { m_tasks.switch_to(pid); }
  std::uint32_t current_pid() const { return m_tasks.current_pid(); }
  bool alive(std::uint32_t pid) const { return m_tasks.alive(pid); }
  const Process* process(std::uint32_t pid) const { return m_tasks.process(pid); }
  void fork(std::uint32_t child) { m_tasks.fork(child); }
  // Threads: @clone TID, @thread TID (Tasks).
  void clone(std::uint32_t tid) { m_tasks.clone(tid); }
  void switch_to_thread(std::uint32_t tid) { m_tasks.switch_to_thread(tid); }
  std::uint32_t thread_group(std::uint32_t tid) const { return m_tasks.thread_group(tid); }
  void exit_current() { m_tasks.exit_current(); }
  void set_oom_score_adj(int adj) { m_oom.set_oom_score_adj(adj); }
  const std::vector<std::string>& kills() const { return m_tasks.kills(); }
  void set_test_hooks(const TestHooks& h) {
    m_tasks.set_test_hooks(h);
    m_asids.set_flush_without_ipis(h.flush_without_ipis);
  }

  // The #PF handler; the cost includes direct reclaim and kernel accesses.
  FaultOutcome handle_fault(VAddr cr2, std::uint32_t error_code);

  // The address space: @mmap, @munmap, @mprotect, @brk.
  void mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge, bool hugetlb = false) {
    m_as.mmap(start, len, prot, file, huge, hugetlb);
  }
  // @mmap ... file=ID [off=OFFSET] [shared]: a file with an identity, in the
  // page cache; offset is a multiple of 4096.
  void mmap_file(VAddr start, std::uint64_t len, std::uint8_t prot, const std::string& id, std::uint64_t offset,
                 bool shared, bool huge = false) {
    m_as.mmap(start, len, prot, true, huge, false, {m_cache.inode_of(id), offset >> kPageShift, shared});
  }
  void munmap(VAddr start, std::uint64_t len) { m_as.munmap(start, len); }
  void mprotect(VAddr start, std::uint64_t len, std::uint8_t prot) { m_as.mprotect(start, len, prot); }
  void brk(VAddr end) { m_as.brk(end); }
  VAddr user_top() const { return m_pt.user_top(); }

  // ASIDs.
  std::uint16_t pcid_of(std::uint32_t pid) const { return m_asids.pcid_of(pid); }
  bool tlb_flush_deferred(std::uint16_t pcid) const { return m_asids.tlb_flush_deferred(pcid); }
  // The same for the PCID slots of CPU cpu.
  bool tlb_flush_deferred(std::uint16_t pcid, unsigned cpu) const { return m_asids.tlb_flush_deferred(pcid, cpu); }

  // Memory.
  const ZonedPageAllocator& buddy() const { return m_alloc.buddy(); }
  SlabAllocator& slab() { return m_slab; }
  const SlabAllocator& slab() const { return m_slab; }
  PAddr alloc_pae_pdpt() { return m_pt.alloc_pae_pdpt(); }
  void free_pae_pdpt(PAddr pdpt) { m_pt.free_pae_pdpt(pdpt); }
  // Frames in use as data pages + page tables, as the buddy allocator sees it.
  // Free pages of the hugetlb pool and the kernel half's tables are not
  // counted; mapped hugetlb pages are.
  std::uint64_t used_pages() const;
  std::uint32_t mapcount(std::uint64_t pfn) const { return m_rmap.mapcount(pfn); }
  std::uint64_t huge_zero_pfn() const { return m_thp.huge_zero_pfn(); }
  std::int64_t oom_badness(const Process& p) const { return m_oom.badness(p); }
  std::uint64_t mm_pgtables_pages(const Process& p) const { return m_oom.mm_pgtables_pages(p); }
  std::string check_invariants() const;
  // With os.check_invariants (--check-invariants): throws InvariantViolation
  // naming what it followed (`after` + `name`: "a page fault", "@" "fork")
  // when check_invariants() fails; without it, does nothing (no string is built).
  void verify_invariants(const char* after, const char* name = "") const;

  // Reclaim and swap.
  std::uint64_t swap_entry(std::uint64_t slot) const { return m_swap.entry(slot); }
  std::uint64_t swap_slot(std::uint64_t e) const { return m_swap.slot(e); }
  std::uint64_t max_swap_slots() const { return m_swap.max_slots(); }
  std::uint64_t lru_size(LruList l) const { return m_reclaim.lru_size(l); }
  std::uint64_t reclaim(std::uint64_t nr, bool direct) { return m_reclaim.reclaim(nr, direct); }
  const SwapDevice* swap() const { return m_swap.device(); }

  // The hugetlb pool.
  std::uint64_t hugetlb_total() const { return m_hugetlb.total(); }
  std::uint64_t hugetlb_free() const { return m_hugetlb.free(); }
  const std::set<std::uint64_t>& hugetlb_pool() const { return m_hugetlb.pool(); }

  // The kernel half and kmap.
  void kmap_atomic(std::uint64_t pfn) { m_kspace.kmap_atomic(pfn); }
  std::uint64_t kmap_atomic_count() const { return m_kspace.kmap_atomic_count(); }
  std::uint64_t kmap_atomic_pte_count() const { return m_kspace.kmap_atomic_pte_count(); }
  VAddr page_offset() const { return m_kspace.page_offset(); }
  std::uint64_t linear_map_bytes() const { return m_kspace.linear_map_bytes(); }
  PAddr idle_root() const { return m_kspace.idle_root(); }
  std::uint64_t kernel_pgtable_pages() const { return m_kspace.tables().size(); }
  // The kernel-access port of the current CPU (set_cpu).
  void set_kernel_port(KernelAccessPort* port);

  // The parts, for their tests.
  PageTables& page_tables() { return m_pt; }
  PageAllocator& page_allocator() { return m_alloc; }
  AddressSpace& address_space() { return m_as; }
  Tasks& tasks() { return m_tasks; }
  Rmap& rmap() { return m_rmap; }
  Reclaim& reclaimer() { return m_reclaim; }
  SwapSpace& swap_space() { return m_swap; }
  OomKiller& oom_killer() { return m_oom; }
  AsidManager& asids() { return m_asids; }
  KernelSpace& kernel_space() { return m_kspace; }
  Thp& thp() { return m_thp; }
  Hugetlb& hugetlb() { return m_hugetlb; }
  FaultCost& fault_cost() { return m_cost; }
  PageCache& page_cache() { return m_cache; }
  const PageCache& page_cache() const { return m_cache; }

 private:
  static const OsParams& checked(const OsParams& p, const PhysicalMemory& mem);
  void boot(StatGroup& stats);

  // Declaration order is construction order; the constructors only store
  // references, boot() runs the parts' boot steps in the order that fixes
  // the statistics' order and which frames each boot allocation gets.
  OsParams m_p;
  PhysicalMemory& m_mem;
  StatGroup* m_stats = nullptr;            // the os group (boot)
  CpuMmuControl m_mmu;                     // the current CPU's MMU; the parts hold it
  std::vector<KernelAccessPort*> m_ports;  // per CPU (os.fault_model: accesses)
  FaultStats m_fault_stats;
  PageTables m_pt;
  KernelSpace m_kspace;
  FaultCost m_cost;
  PageAllocator m_alloc;
  SlabAllocator m_slab;
  Rmap m_rmap;
  SwapSpace m_swap;
  Reclaim m_reclaim;
  OomKiller m_oom;
  Thp m_thp;
  Hugetlb m_hugetlb;
  AddressSpace m_as;
  AsidManager m_asids;
  Tasks m_tasks;
  PageCache m_cache;
  FaultHandler m_fault;
};

}  // namespace mmusim
