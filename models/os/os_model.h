// The OS model, first cut: a Linux-like memory manager behind the #PF handler.
//
// What it models:
//  - Physical memory of os.memory bytes handed at boot to a buddy allocator
//    (mm/page_alloc.c), minus the first 1 MiB, which x86 Linux reserves
//    (arch/x86/kernel/setup.c, "reserve low 1MB"). Data pages and
//    page-table pages are frames from it.
//  - Processes, each with an mm: a page-table root and VMAs. The tables are
//    built in the format of the paging mode (SDM 4.3, 4.4, 4.5): ia32 - a
//    4 KiB page directory of 1024 4-byte PDEs, 4-byte PTEs, 4 MiB pages
//    (PDE.PS) with CR4.PSE; pae - a 32-byte page-directory-pointer table of
//    four 8-byte PDPTEs (P and the address only: bits 2:1 and 8:5 are
//    reserved, table 4-8), 8-byte PDEs and PTEs, 2 MiB pages, XD with NXE;
//    x86_64 / x86_64_la57 - PML4 (PML5) down to PT, 2 MiB pages. With PAE,
//    the processor reads the PDPTEs only at a MOV to CR3 (4.4.1), so, as
//    Linux does (pgd_alloc -> preallocate_pmds), the three user page
//    directories are allocated with the PDPT and never freed before it; the
//    PDPTEs of a process never change while it runs. The PDPT itself comes
//    from alloc_pae_pdpt(): a zeroed 32-byte object of the pgd_cache slab cache,
//    below 4 GiB (CR3 is 32 bits).
//    User space ends at 3 GiB in the 32-bit modes (Linux's PAGE_OFFSET
//    0xC0000000), at 2^47 / 2^56 in the 64-bit modes. With ia32 only the
//    first 4 GiB of os.memory are used, as a non-PAE Linux kernel does: a
//    4-byte entry holds no frame above 4 GiB (PSE-36 is not used).
//  - Address-space switches (switch_to): a MOV to CR3. With PCIDs
//    (OsParams::pcid) like Linux's switch_mm_irqs_off/choose_new_asid:
//    a few per-CPU ASID slots (kPcidSlots), PCID = slot + 1, each remembering
//    which mm it holds and that mm's TLB generation; switching to an mm that
//    still owns a slot whose generation is current sets the no-flush bit
//    (CR3 bit 63), else the next slot round-robin is taken and loaded
//    without it (the MMU flushes that PCID). Process state follows trace events: @proc
//    switches (a MOV to CR3), @mmap/@munmap/@mprotect/@brk/@exit edit the
//    address space. A process's tables are built in simulated physical
//    memory in the real x86 format (SDM 4.5), through the zero-time debug
//    path; the walker then reads those bytes.
//  - The fault handler (mm/memory.c handle_mm_fault): find the VMA, check
//    the access against its protection (else SIGSEGV), then demand-zero a
//    4 KiB page - or a 2 MiB page when os.thp allows, the aligned 2 MiB
//    range lies inside the VMA, its page-middle directory entry is empty and
//    an order-9 block is free (do_huge_pmd_anonymous_page), else fall back.
//    Like Linux's protection_map and _PAGE_TABLE, new entries are created
//    with A set, and D set in writable leaves. A PROT_NONE page keeps its
//    frame in a not-present entry (Linux's _PAGE_PROTNONE).
//  - Implicit VMAs for raw traces (replay.implicit_vmas): the first touch
//    outside every VMA creates an anonymous rwx VMA over the gap around the
//    address inside its aligned 2 MiB, merged with implicit neighbours.
//  - SIGSEGV kills the process (its memory freed); out of memory kills the
//    process with the highest oom_badness (below).
//  - TLB shootdown on unmap/mprotect of the current process: INVLPG per
//    page up to 33 pages, else a full flush by CR3 reload (Linux's
//    tlb_single_page_flush_ceiling).
//
// Added by the OS-model issue (each part's header says what it follows):
//  - zones and NUMA nodes with watermarks and zonelist fallback (zone.h);
//  - SLUB-like slab caches and kmalloc (slab.h); task_struct, mm_struct and
//    one vm_area_struct per VMA come from them, and the PAE pgd_cache;
//  - fork with copy-on-write, map counts of shared frames, the COW fault
//    (copy, or reuse by the last sharer), exit freeing shared frames only at
//    the last unmap (os_model_mm.cpp);
//  - LRU reclaim, kswapd and direct reclaim, the swap device and swap-in
//    major faults (reclaim.cpp, swap.h);
//  - the OOM killer by oom_badness with oom_score_adj (mm/oom_kill.c): rss +
//    swap entries + mm_pgtables_bytes / PAGE_SIZE (PTE, PMD and PUD pages:
//    not the PGD, nor the P4D pages of 5-level paging) + adj * (totalpages /
//    1000), totalpages = managed pages + usable swap pages;
//    -1000 never chosen; ties go to the later pid as select_bad_process()
//    keeps the last of equal scores. With no killable process left the
//    faulting one dies (Linux would panic);
//  - os.fragmentation and kmap_atomic counting for HighMem frames;
//  - HighMem page tables (32-bit modes, as CONFIG_HIGHPTE): directories
//    (ia32 PD, PAE PDPT and PDs, the idle root) are GFP_KERNEL, from lowmem;
//    PTE pages come from pte_alloc_one() with __GFP_HIGHMEM
//    (arch/x86/mm/pgtable.c, __userpte_alloc_gfp), so from HighMem first.
//    The kernel reaches a HighMem PTE page through one kmap_atomic per visit
//    (pte_map: mm/memory.c pte_offset_map .. pte_unmap), counted in
//    os.highmem.kmap_atomic and os.highmem.kmap_atomic_pte: zeroing it, a
//    fault's lookup (handle_pte_fault, when the PTE page exists) and its
//    pte_offset_map_lock to write the entry, zap_pte_range, change_pte_range,
//    copy_pte_range (source and child), the fill of a split huge page,
//    reclaim (folio_referenced, try_to_unmap), swap-in and migration.
//    The hardware walker reads tables by physical address (SDM 4.3, 4.4.2)
//    and needs no kernel mapping;
//  - check_invariants(), after every fault with --check-invariants and in
//    debug builds (memories up to 1 GiB).
//
//  - direct compaction for a madvised 2 MiB fault that finds no order-9
//    block (reclaim.cpp, compact_for_order9).
//  - the reserved 1 GiB hugetlb pool, os.hugetlb_1g (hugetlb.cpp, after
//    Linux's mm/hugetlb.c): pages taken from the buddy allocator at boot,
//    mapped by @mmap ... hugetlb VMAs with PDPTE.PS (SDM 4.5, table 4-16),
//    SIGBUS on an empty pool, shared copy-on-write by fork, never on the
//    LRU nor in rss.
//
//  - the kernel half of every address space (os_model_kernel.cpp): the idle
//    root (swapper_pg_dir) maps all memory - low memory in the 32-bit modes -
//    at PAGE_OFFSET with the largest pages that fit (1 GiB, then 2/4 MiB,
//    then 4 KiB, as Linux's kernel_physical_mapping_init), supervisor-only,
//    A and D set, XD with NX, and G when CR4.PGE is on (__PAGE_KERNEL with
//    __supported_pte_mask); every process's root gets the kernel entries of
//    the idle root at creation (pgd_alloc -> pgd_ctor -> clone_pgd_range;
//    with PAE the fourth PDPTE points to the one shared kernel page directory,
//    SHARED_KERNEL_PMD). The 32-bit modes also get the page table of the
//    kmap_atomic slots (the fixmap, FIX_KMAP_BEGIN).
//  - os.fault_model: accesses (os_model_kernel.cpp): the handler's own work -
//    reading current->mm, the mm and the VMAs it searches, the page-table
//    entries it walks, zeroing a new table or page, copying a COW page, the
//    entries it writes - is issued through a KernelAccessPort as
//    supervisor-mode accesses at the kernel linear-map address of each
//    physical byte (a kmap_atomic slot for a HighMem frame: the slot's PTE is
//    written, used, then cleared and INVLPG'd as kunmap_atomic does). Those
//    accesses go through the simulated TLBs, walker and caches; their
//    cycles replace the per-4 KiB zeroing and copying costs, the fixed
//    os.fault_cost.minor / major remain (kernel entry and exit, the rest of
//    the handler, swap I/O).
// Left out: hugetlbfs files and 2 MiB hugetlb pages (hugetlb.cpp); the
// kernel image mapping (__START_KERNEL_map) and vmalloc space;
// the kernel's instruction fetches; the allocators' own metadata accesses
// (struct page, free lists) in the accesses fault model. HIGHPTE
// counting walks a range once where Linux walks it per VMA (a PTE page under
// two VMAs of one munmap, mprotect, fork or exit counts once here, twice in
// Linux); a huge page's PTE page is allocated at split time, not deposited at
// the 2 MiB fault (pgtable_trans_huge_deposit); copy_pte_range's re-mapping
// after a resched is not modelled.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <unordered_map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/os/buddy_allocator.h"
#include "models/walker/walker.h"
#include "models/os/slab.h"
#include "models/os/swap.h"
#include "models/os/zone.h"
#include "models/os/os_params.h"

namespace mmusim {

struct Vma {
  VAddr start = 0, end = 0;  // [start, end), page-aligned
  std::uint8_t prot = 0;     // kProt* bits of trace_record.h: 1 read, 2 write, 4 exec
  bool file = false;
  bool huge = false;      // MADV_HUGEPAGE advice
  bool implicit = false;  // created by a first touch (replay.implicit_vmas)
  bool hugetlb = false;   // MAP_HUGETLB | MAP_HUGE_1GB: 1 GiB pages of the os.hugetlb_1g pool
  // Linux's vma->anon_vma: set by anon_vma_prepare() when the VMA first gets
  // an anonymous page of its own (a write fault, a copy-on-write, a THP
  // fault); not by a read that maps the zero page, nor by a file page.
  // vma_needs_copy(): fork copies the page tables only of VMAs that have it.
  bool anon_vma = false;
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
  bool huge_zero = false;     // MMF_HUGE_ZERO_PAGE: holds a reference to the huge zero page until exit
  // Kernel objects from the slab caches: task_struct, mm_struct and one
  // vm_area_struct per VMA.
  PAddr task_obj = 0, mm_obj = 0;
  std::vector<PAddr> vma_objs;
  std::uint64_t swap_pages = 0;  // swap entries in its page tables
  int oom_score_adj = 0;         // -1000 .. 1000 (/proc/PID/oom_score_adj)
};

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

class OsModel {
 public:
  static constexpr std::uint8_t kRead = 1, kWrite = 2, kExec = 4;
  // Linux's TLB_NR_DYN_ASIDS: PCIDs 1..6 in use with OsParams::pcid.
  static constexpr unsigned kPcidSlots = 6;
  static constexpr std::uint64_t kReservedLowPages = 256;  // x86 reserves the low 1 MiB
  // The 4 KiB zero page (my_zero_pfn) is a frame of the reserved low 1 MiB,
  // as Linux's empty_zero_page is part of the kernel image: outside the
  // allocator. Private anonymous read faults map it read-only.
  static constexpr std::uint64_t kZeroPfn = kReservedLowPages - 1;
  // The huge zero page's first frame; 0 before its first use.
  std::uint64_t huge_zero_pfn() const { return m_huge_zero_pfn; }

  OsModel(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, StatGroup& stats);

  // Makes pid current (created on first use) and loads its CR3. A creation
  // that finds no memory leaves pid dead (alive() false: its records are
  // skipped), reports it in kills() and counts os.enomem.processes; the
  // current process does not change.
  void switch_to(std::uint32_t pid);
  std::uint32_t current_pid() const { return m_current; }
  bool alive(std::uint32_t pid) const;

  FaultOutcome handle_fault(VAddr cr2, std::uint32_t error_code);

  // hugetlb: MAP_HUGETLB | MAP_HUGE_1GB (hugetlb.cpp); start must be 1 GiB-aligned,
  // len is rounded up to 1 GiB; OsError with file or in a 32-bit mode.
  void mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge, bool hugetlb = false);
  void munmap(VAddr start, std::uint64_t len);
  void mprotect(VAddr start, std::uint64_t len, std::uint8_t prot);
  void brk(VAddr end);
  void exit_current();

  const Process* process(std::uint32_t pid) const;
  // The PCID the process last ran with (0 without PCIDs or when it owns no slot).
  std::uint16_t pcid_of(std::uint32_t pid) const;
  // True when the TLB entries tagged with pcid belong to an mm whose TLB
  // generation has moved past the one the PCID was last flushed at: a flush
  // that flush_tlb_mm_range() leaves to the next switch_mm_irqs_off() /
  // choose_new_asid() (arch/x86/mm/tlb.c). The TLB-transparency check
  // (models/mmu/translation_checker.h) accepts stale hits only then.
  bool tlb_flush_deferred(std::uint16_t pcid) const;

  // Test-only: puts back a fixed bug, so that a test can show the
  // TLB-transparency check catches it. Never set outside tests.
  struct TestHooks {
    // fork reloads the parent's CR3 without its PCID and leaves its TLB
    // generation alone (the pre-fix dup_mmap, missing flush_tlb_mm).
    bool fork_without_flush_tlb_mm = false;
  };
  void set_test_hooks(const TestHooks& h) { m_test_hooks = h; }
  const ZonedPageAllocator& buddy() const { return *m_buddy; }
  SlabAllocator& slab() { return *m_slab; }
  const SlabAllocator& slab() const { return *m_slab; }
  // The 32-byte, 32-byte-aligned PAE page-directory-pointer table from the
  // "pgd_cache" slab cache (arch/x86/mm/pgtable.c), below 4 GiB; 0 when out
  // of memory. For the PAE page-table builder.
  PAddr alloc_pae_pdpt();
  void free_pae_pdpt(PAddr pdpt);

  // @fork CHILD: the current process is duplicated copy-on-write into a new
  // process CHILD (which does not run until switched to). Throws OsError if
  // CHILD exists. Out of memory fails the fork as Linux's -ENOMEM does: no
  // child (CHILD stays dead, its records are skipped), a report in kills()
  // and os.enomem.forks; the parent goes on.
  void fork(std::uint32_t child);
  // @oom_score_adj VALUE for the current process (-1000..1000).
  void set_oom_score_adj(int adj);
  // mm/oom_kill.c oom_badness(): rss + swap entries + mm_pgtables_bytes /
  // PAGE_SIZE, plus oom_score_adj * (totalpages / 1000) with out_of_memory's
  // totalpages = totalram_pages() + total_swap_pages; INT64_MIN when
  // unkillable.
  std::int64_t oom_badness(const Process& p) const;
  // mm_pgtables_bytes(mm) / PAGE_SIZE: the page tables Linux accounts to an
  // mm (mm_inc_nr_ptes/pmds/puds: PTE, PMD and PUD pages), which leaves out
  // the PGD and, with 5-level paging, the P4D pages.
  std::uint64_t mm_pgtables_pages(const Process& p) const;
  // Whole-system invariants (each frame free in exactly one buddy list or owned
  // exactly once, shared frames counted as shared, page tables agree with the
  // VMAs, no aliasing); "" when all hold. O(memory + mapped pages).
  std::string check_invariants() const;
  // Highmem (32-bit modes): the kernel's linear map ends at 896 MiB, so
  // touching a frame above it (zeroing, copying, filling it) needs a
  // temporary kmap_atomic slot; this counts one when pfn is a HighMem frame.
  // Page-table code calls pte_map() instead, which also counts the split.
  void kmap_atomic(std::uint64_t pfn);
  // All kmap_atomic slots taken, and those of them that mapped a page table
  // (a PTE page in HighMem with CONFIG_HIGHPTE, see pte_map).
  std::uint64_t kmap_atomic_count() const { return m_kmap_atomic; }
  std::uint64_t kmap_atomic_pte_count() const { return m_kmap_atomic_pte; }
  // The kernel half (os_model_kernel.cpp). PAGE_OFFSET: where the linear map
  // of physical memory starts (0xffff888000000000 with 4 levels,
  // 0xff11000000000000 with 5, 0xc0000000 in the 32-bit modes).
  VAddr page_offset() const { return m_page_offset; }
  // Bytes of physical memory the linear map covers (all of it in the 64-bit
  // modes; low memory, up to 896 MiB, in the 32-bit ones).
  std::uint64_t linear_map_bytes() const { return m_linear_bytes; }
  PAddr idle_root() const { return m_idle_root; }
  // Page-table pages of the kernel half, shared by every address space.
  std::uint64_t kernel_pgtable_pages() const { return m_kernel_tables.size(); }
  // The first kmap_atomic slot's address in the 32-bit modes (the fixmap).
  static constexpr VAddr kKmapBase = 0xffe00000ull;
  // Linux's PAGE_OFFSET in the 32-bit modes (the 3G/1G split): user space ends there.
  static constexpr VAddr kPageOffset32 = 0xc0000000ull;
  // os.fault_model: accesses - where the handler's accesses go (the replay).
  void set_kernel_port(KernelAccessPort* port) { m_kport = port; }
  // Times a shared (copy-on-write) frame is mapped; 1 for a private frame.
  std::uint32_t mapcount(std::uint64_t pfn) const;

  // Reclaim (models/os/reclaim.cpp). Not-present PTE encodings: a swap entry
  // keeps its slot in the frame-number field; a dropped clean file page
  // keeps only a marker (its content is re-read from the file, zeros here).
  static constexpr std::uint64_t kSwapEntry = 1ull << 10;
  // A swap entry for slot, and back (reclaim.cpp). The slot sits in the
  // address bits; with 4-byte entries (ia32) bits 31:12 hold its high bits
  // and bits 3:1 its low three, so that a swap entry addresses 2^23 slots,
  // as the offset field (bits 31:9) of Linux's 2-level format does
  // (arch/x86/include/asm/pgtable-2level.h, SWP_OFFSET_SHIFT 9).
  std::uint64_t swap_entry(std::uint64_t slot) const;
  std::uint64_t swap_slot(std::uint64_t e) const;
  // swapfile_maximum_size: the slots a swap entry of this mode can address.
  std::uint64_t max_swap_slots() const;
  static constexpr std::uint64_t kFileEvicted = 1ull << 11;
  enum LruList : unsigned { kInactiveAnon, kActiveAnon, kInactiveFile, kActiveFile };
  std::uint64_t lru_size(LruList l) const { return m_lru[l].size(); }
  // Reclaims up to nr pages (shrink_node); returns how many were freed.
  std::uint64_t reclaim(std::uint64_t nr, bool direct);
  const SwapDevice* swap() const { return m_swap.get(); }
  // Highest user address + 1 (3 GiB, 2^47 or 2^56).
  VAddr user_top() const { return m_user_top; }
  // Messages of processes killed so far ("pid 3 killed by SIGSEGV: ...").
  const std::vector<std::string>& kills() const { return m_kills; }
  // Frames in use as data pages + page tables, as the buddy allocator sees it.
  // Free pages of the hugetlb pool and the kernel half's tables are not
  // counted; mapped hugetlb pages are.
  std::uint64_t used_pages() const;
  // The 1 GiB hugetlb pool (hugetlb.cpp), as /proc/meminfo HugePages_Total
  // and HugePages_Free; pages are identified by their first pfn.
  static constexpr unsigned kHugetlbOrder = 18;  // 1 GiB = 2^18 frames
  static constexpr std::uint64_t kHugetlbPages = 1ull << kHugetlbOrder;
  std::uint64_t hugetlb_total() const { return m_hugetlb_pages.size(); }
  std::uint64_t hugetlb_free() const { return m_hugetlb_free.size(); }
  const std::set<std::uint64_t>& hugetlb_pool() const { return m_hugetlb_pages; }

 private:
  Process& cur();
  // A new process; nullptr when out of memory (the pid is then kept dead).
  Process* create(std::uint32_t pid);
  Vma* find_vma(Process& p, VAddr va);
  // Some VMA of p intersects [lo, hi).
  bool vma_overlaps(const Process& p, VAddr lo, VAddr hi) const;
  Vma* create_implicit_vma(Process& p, VAddr va);
  void insert_vma(Process& p, const Vma& v);
  void remove_range(Process& p, VAddr start, VAddr end);  // VMAs and mappings
  void split_vma_at(Process& p, VAddr addr);

  // OOM-kills processes other than `asking` (nullptr: any) as needed.
  // `highest` is the gfp zone modifier: HighMem for user pages
  // (GFP_HIGHUSER) and HIGHPTE PTE pages, Normal for GFP_KERNEL.
  bool alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking,
                   ZoneType highest = ZoneType::HighMem);
  // A zeroed page-table page for `level` (1 = PTE page); 0 when out of
  // memory. Directories are GFP_KERNEL (lowmem); PTE pages may be HighMem
  // in the 32-bit modes (pte_alloc_one with CONFIG_HIGHPTE).
  PAddr alloc_table(Process& p, unsigned level);
  // Highmem (32-bit modes, CONFIG_HIGHPTE): the kernel reaches a PTE page
  // above the linear map through one kmap_atomic per visit of the table
  // (pte_offset_map .. pte_unmap); counts one when `table` is such a page.
  // Called once per kernel walk of a PTE page, never by check_invariants().
  void pte_map(PAddr table);
  // pte_map of the PTE page holding va's entry, if the page-middle entry
  // holds a table (handle_pte_fault's pte_offset_map_nolock).
  void pte_map_of(const Process& p, VAddr va);
  // The table of level `leaf` on va's path, tables above it allocated as
  // needed (pte_alloc/pmd_alloc); 0 when out of memory.
  PAddr table_for(Process& p, VAddr va, unsigned leaf);
  // The root of a new address space (PAE: the PDPT and its three user page
  // directories); 0 when out of memory.
  PAddr alloc_root(Process& p);
  // Table geometry of the mode.
  unsigned index_at(VAddr va, unsigned level) const {
    return static_cast<unsigned>((va >> m_shift[level]) & (m_entries[level] - 1));
  }
  std::uint64_t span_at(unsigned level) const { return 1ull << m_shift[level]; }
  std::uint64_t rd(PAddr pa) const { return m_mem.read(pa, m_entry_bytes); }
  void wr(PAddr pa, std::uint64_t v) { m_mem.write(pa, m_entry_bytes, v); }
  bool is_leaf(unsigned level, std::uint64_t e) const {
    return level == 1 || (level <= m_large_top && (e & pte::kPS));
  }
  PageSize size_at(unsigned level) const {
    return level == 1 ? PageSize::k4K : level == 3 ? PageSize::k1G : m_ia32 ? PageSize::k4M : PageSize::k2M;
  }
  std::uint64_t table_flags(unsigned level) const;
  void load_cr3(Process& p);
  std::uint64_t leaf_flags(const Vma& v, PageSize size) const;
  // Installs a leaf; false if a page table could not be allocated.
  bool map(Process& p, VAddr va, std::uint64_t pfn, PageSize size, std::uint64_t flags);
  // The entry at `level` for va, or 0 if a table above it is absent; *pa
  // receives its physical address when the table exists.
  std::uint64_t entry_at(const Process& p, VAddr va, unsigned level, PAddr* pa) const;
  bool unmap_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end);
  void split_huge(Process& p, VAddr va);
  void protect_level(Process& p, PAddr table, unsigned level, VAddr base, VAddr start, VAddr end, const Vma& v);
  void free_tables(Process& p, PAddr table, unsigned level);
  void shootdown(Process& p, VAddr start, VAddr end);
  // Linux's flush_tlb_mm() and flush_tlb_mm_range(): a new TLB generation of
  // p's mm, and a local flush when p is current (all: the whole PCID).
  void flush_tlb_mm(Process& p);
  void flush_tlb_mm_range(Process& p, VAddr start, VAddr end, bool all);
  void kill(Process& p, const std::string& why);
  void check_range(VAddr start, std::uint64_t len, const char* what) const;
  // Issue 4 additions.
  void sync_vma_objects(Process& p);  // one vm_area_struct per VMA
  void free_kernel_objects(Process& p);
  void put_page(Process& p, std::uint64_t pfn, unsigned order);  // unmap one mapping of a frame
  void copy_level(Process& parent, Process& child, PAddr table, unsigned level, VAddr base, bool* ok);
  bool cow_fault(Process& p, VAddr va, FaultOutcome* out);
  void after_fault();
  // reclaim.cpp
  struct LruPage {
    std::uint64_t pfn;
    std::uint32_t pid;
    VAddr va;
    bool referenced = false;  // PG_referenced (folio_check_references)
  };
  void init_reclaim(StatGroup& stats);
  // __alloc_pages: low watermark, kswapd, min, direct reclaim, then (a
  // modelling choice) the reserves; nullopt means out of memory.
  std::optional<std::uint64_t> page_alloc(unsigned order, ZoneType highest);
  void lru_add(std::uint64_t pfn, const Process& p, VAddr va, const Vma& v);
  void lru_del(std::uint64_t pfn);
  void lru_set_owner(std::uint64_t pfn, const Process& p, VAddr va);
  // Swap-in or file refault of a not-present entry; false if the entry holds neither.
  bool swap_in(Process& p, const Vma& v, VAddr va, bool write, FaultOutcome* out);
  // The faulting process p found no memory and no other victim: the OOM
  // killer takes p itself (reported in kills() with why).
  FaultOutcome oom_kill_faulting(Process& p, const std::string& why);
  // The zero pages (mm/memory.c my_zero_pfn, mm/huge_memory.c
  // get_huge_zero_page): a private anonymous read fault maps them read-only.
  bool is_zero_pfn(std::uint64_t pfn) const {
    return pfn == kZeroPfn || (m_huge_zero_pfn && pfn >= m_huge_zero_pfn && pfn < m_huge_zero_pfn + huge_pages());
  }
  std::uint64_t huge_pages() const { return 1ull << (m_shift[2] - kPageShift); }
  // The huge zero page's first frame, allocated (zeroed) on first use as
  // get_huge_zero_page does; 0 if no block of that order is free.
  std::uint64_t huge_zero_page();
  // The huge zero page's shrinker (shrink_huge_zero_page_scan): frees it
  // when no live mm holds a reference (its refcount is back to 1).
  void shrink_huge_zero_page();
  // do_wp_page() on a PTE that maps the zero page: wp_page_copy() with a new
  // zeroed page (no copy).
  bool zero_page_write(Process& p, const Vma& v, VAddr va, PAddr epa, FaultOutcome* out);
  // Drops the swap slot of a swap entry being unmapped.
  void release_swap_entry(Process& p, std::uint64_t e);
  bool reclaim_page(const LruPage& pg, bool anon, bool direct);
  // Direct compaction for an order-9 request (mm/compaction.c): true when a
  // free 2 MiB block was made.
  bool compact_for_order9();
  void init_kernel_allocators(StatGroup& stats);
  // os.fragmentation: pins one frame in randomly chosen free 2 MiB blocks
  // until the target share of free memory is outside order-9 blocks.
  void fragment_memory();
  // select_bad_process(): the live process with the highest oom_badness (the
  // later pid on a tie), nullptr if none is killable.
  Process* select_oom_victim();
  FaultOutcome do_fault(VAddr cr2, std::uint32_t error_code);
  // os_model_kernel.cpp
  void build_kernel_half(StatGroup& stats);
  void map_kernel(VAddr va, PAddr pa, PageSize size);
  PAddr alloc_kernel_table();
  // The root-level entries of the kernel half into a new root (clone_pgd_range).
  void copy_kernel_half(PAddr root);
  unsigned kernel_root_index() const { return static_cast<unsigned>(m_user_top / span_at(m_levels)); }
  // os.fault_model: accesses: a kernel access to physical bytes [pa, pa+bytes)
  // (split per 4 KiB page; a HighMem page through a kmap_atomic slot). No-op
  // outside a fault or with the cycles model.
  void ktouch(PAddr pa, std::uint64_t bytes, bool write);
  void ktouch_page(PAddr pa, std::uint32_t bytes, bool write);
  // find_vma(): the mm and the VMA objects a search for va reads.
  void ktouch_vma_search(const Process& p, VAddr va);
  // The handler's page-table walk for va: each entry read down to the first
  // not-present or leaf one.
  void ktouch_walk(const Process& p, VAddr va);
  // The fixed per-4 KiB zeroing / copying cycles, 0 with the accesses model.
  Cycles zero_cycles(std::uint64_t pages) const {
    return m_p.fault_model == FaultModel::Accesses ? 0 : pages * m_p.zero_page_per_4k_cycles;
  }
  Cycles copy_cycles(std::uint64_t pages) const {
    return m_p.fault_model == FaultModel::Accesses ? 0 : pages * m_p.cow_copy_per_4k_cycles;
  }
  // hugetlb.cpp (mm/hugetlb.c).
  // Boot: up to os.hugetlb_1g free, 1 GiB-aligned ranges taken from the
  // buddy allocator top-down, and the os.hugetlb statistics.
  void init_hugetlb(StatGroup& stats);
  // A fault in a hugetlb VMA: a 1 GiB page from the pool, copy-on-write or a
  // spurious fault (hugetlb_fault, hugetlb_no_page, hugetlb_wp).
  FaultOutcome hugetlb_fault(Process& p, const Vma& v, VAddr cr2, bool write, const std::string& access);
  // One mapping of the pool page at pfn goes away; the last returns it to the pool.
  void hugetlb_put(std::uint64_t pfn);
  // fork: shares the 1 GiB page of the parent's entry at epa copy-on-write
  // with the child; false if a child page table could not be allocated.
  bool hugetlb_copy(Process& child, PAddr epa, std::uint64_t e, VAddr va);
  // OsError if start or end lies inside a 1 GiB page of a hugetlb VMA
  // (hugetlb_vm_op_split: EINVAL).
  void hugetlb_check_split(Process& p, VAddr start, VAddr end, const char* what);
  // @mmap ... hugetlb: checks start and returns len rounded up to 1 GiB.
  std::uint64_t hugetlb_mmap_len(VAddr start, std::uint64_t len, bool file) const;
  // The pool page holding pfn (its first pfn), or UINT64_MAX.
  std::uint64_t hugetlb_head(std::uint64_t pfn) const;

  OsParams m_p;
  PhysicalMemory& m_mem;
  MmuControl& m_mmu;
  std::unique_ptr<ZonedPageAllocator> m_buddy;
  std::unique_ptr<SlabAllocator> m_slab;
  KmemCache* m_task_cache = nullptr;
  KmemCache* m_mm_cache = nullptr;
  KmemCache* m_vma_cache = nullptr;
  KmemCache* m_pgd_cache = nullptr;
  // Frames mapped more than once (copy-on-write after fork): pfn -> mappings.
  std::map<std::uint64_t, std::uint32_t> m_shared;
  std::unique_ptr<SwapDevice> m_swap;
  std::vector<std::uint64_t> m_pinned;  // frames pinned by os.fragmentation
  std::uint64_t m_kmap_atomic = 0;
  std::uint64_t m_kmap_atomic_pte = 0;  // of m_kmap_atomic, those mapping a PTE page
  bool m_highpte = false;  // 32-bit modes with the HighMem zone: PTE pages may be HighMem
  std::array<std::list<LruPage>, 4> m_lru;
  std::unordered_map<std::uint64_t, std::pair<unsigned, std::list<LruPage>::iterator>> m_lru_index;
  std::uint64_t m_anon_credit = 0, m_file_credit = 0;
  Cycles m_reclaim_cost = 0;  // direct reclaim during the current fault
  bool m_in_reclaim = false;
  struct VmStat {
    std::uint64_t pswpin = 0, pswpout = 0, pgscan_kswapd = 0, pgscan_direct = 0, pgsteal_kswapd = 0,
                  pgsteal_direct = 0, allocstall = 0, kswapd_wakeups = 0, pgactivate = 0, pgdeactivate = 0,
                  pgrefault_file = 0, compact_stall = 0, compact_success = 0, compact_fail = 0,
                  pgmigrate_success = 0;
  } m_vm;
  std::uint64_t m_addr_mask;
  VAddr m_user_top;
  bool m_ia32 = false, m_pae = false;
  unsigned m_levels = 4;
  unsigned m_entry_bytes = 8;
  unsigned m_large_top = 3;  // highest level whose entries may map a page (PS)
  std::uint64_t m_huge_bytes = 2ull << 20;  // the THP size: 2 MiB, 4 MiB with ia32 (0: none)
  std::array<unsigned, 6> m_shift{};
  std::array<unsigned, 6> m_entries{};
  // PCID slots (Linux's cpu_tlbstate.ctxs[TLB_NR_DYN_ASIDS]).
  struct PcidSlot {
    std::uint32_t pid = 0;
    bool used = false;
    std::uint64_t tlb_gen = 0;
  };
  std::array<PcidSlot, 6> m_slots{};
  unsigned m_next_slot = 0;
  PAddr m_idle_root = 0;  // swapper_pg_dir: loaded when no process runs
  // The kernel half.
  VAddr m_page_offset = 0;
  std::uint64_t m_linear_bytes = 0;
  std::vector<PAddr> m_kernel_tables;
  std::uint64_t m_huge_zero_pfn = 0;
  Counter* m_enomem_processes = nullptr;
  Counter* m_enomem_forks = nullptr;
  Counter* m_zero_maps = nullptr;
  Counter* m_zero_huge_maps = nullptr;
  Counter* m_zero_replaced = nullptr;
  Counter* m_zero_huge_splits = nullptr;
  PAddr m_kmap_pte = 0;         // the PTE of kmap_atomic slot 0 (32-bit modes)
  KernelAccessPort* m_kport = nullptr;
  bool m_kactive = false;       // inside a fault with the accesses model
  Cycles m_kcycles = 0;         // the current fault's kernel-access cycles
  Counter* m_kaccesses = nullptr;
  Counter* m_kaccess_cycles = nullptr;
  std::map<std::uint32_t, std::unique_ptr<Process>> m_procs;
  std::uint32_t m_current = 0;
  bool m_has_current = false;
  std::vector<std::string> m_kills;
  bool m_in_oom = false;
  const Process* m_forking = nullptr;  // the parent during fork: no OOM victim
  TestHooks m_test_hooks;

  Counter& m_pgfault;
  Counter& m_minor;
  Counter& m_major;
  Counter& m_segv;
  Counter& m_cow;
  Counter& m_thp_alloc;
  Counter& m_thp_fallback;
  Counter& m_oom_kills;
  Counter& m_implicit_vmas;
  Counter& m_processes;
  Counter& m_pgtable_allocs;
  Counter& m_cow_copies;
  Counter& m_cow_reuses;
  Counter& m_forks;
  std::uint64_t m_pgtable_pages = 0;
  std::set<std::uint64_t> m_hugetlb_pages;   // the pool, free or mapped
  std::vector<std::uint64_t> m_hugetlb_free;  // hugepage_freelists: the back is taken first
  Counter* m_hugetlb_alloc = nullptr;
  Counter* m_hugetlb_sigbus = nullptr;
};

}  // namespace mmusim
