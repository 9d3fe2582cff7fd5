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
//    from alloc_pae_pdpt() (one frame below 4 GiB for now: CR3 is 32 bits).
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
//    process with the largest rss + page tables (mm/oom_kill.c badness,
//    without oom_score_adj).
//  - TLB shootdown on unmap/mprotect of the current process: INVLPG per
//    page up to 33 pages, else a full flush by CR3 reload (Linux's
//    tlb_single_page_flush_ceiling).
//
// Left out here (the OS-model issue): zones and NUMA, slab/kmalloc, fork and
// copy-on-write, swap and reclaim, the kernel half of the address space and
// global kernel mappings, highmem. The cost of a fault is charged in cycles
// (os.fault_cost), not simulated instruction by instruction.
#pragma once

#include <array>
#include <cstdint>
#include <map>
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

namespace mmusim {

enum class ThpMode { Never, Always, Madvise };

struct OsParams {
  std::uint64_t memory_bytes = 8ull << 30;
  unsigned max_order = 10;
  unsigned levels = 4;  // paging levels with mode X86_64: 4 or 5 (5 = X86_64_La57)
  PagingMode mode = PagingMode::X86_64;
  bool pse = true;   // CR4.PSE: 4 MiB pages with ia32
  bool pcid = false; // CR4.PCIDE: Linux-like ASID slots, no-flush CR3 writes
  unsigned phys_addr_bits = 46;
  bool nx = true;
  ThpMode thp = ThpMode::Never;
  Cycles fault_minor_cycles = 700;
  Cycles zero_page_per_4k_cycles = 300;
  bool implicit_vmas = true;
};

struct Vma {
  VAddr start = 0, end = 0;  // [start, end), page-aligned
  std::uint8_t prot = 0;     // kProt* bits of trace_record.h: 1 read, 2 write, 4 exec
  bool file = false;
  bool huge = false;      // MADV_HUGEPAGE advice
  bool implicit = false;  // created by a first touch (replay.implicit_vmas)
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

  OsModel(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, StatGroup& stats);

  // Makes pid current (created on first use) and loads its CR3.
  void switch_to(std::uint32_t pid);
  std::uint32_t current_pid() const { return m_current; }
  bool alive(std::uint32_t pid) const;

  FaultOutcome handle_fault(VAddr cr2, std::uint32_t error_code);

  void mmap(VAddr start, std::uint64_t len, std::uint8_t prot, bool file, bool huge);
  void munmap(VAddr start, std::uint64_t len);
  void mprotect(VAddr start, std::uint64_t len, std::uint8_t prot);
  void brk(VAddr end);
  void exit_current();

  const Process* process(std::uint32_t pid) const;
  // The PCID the process last ran with (0 without PCIDs or when it owns no slot).
  std::uint16_t pcid_of(std::uint32_t pid) const;
  const BuddyAllocator& buddy() const { return *m_buddy; }
  // Highest user address + 1 (3 GiB, 2^47 or 2^56).
  VAddr user_top() const { return m_user_top; }
  // Messages of processes killed so far ("pid 3 killed by SIGSEGV: ...").
  const std::vector<std::string>& kills() const { return m_kills; }
  // Frames in use as data pages + page tables, as the buddy allocator sees it.
  std::uint64_t used_pages() const;

 private:
  Process& cur();
  Process& create(std::uint32_t pid);
  Vma* find_vma(Process& p, VAddr va);
  Vma* create_implicit_vma(Process& p, VAddr va);
  void insert_vma(Process& p, const Vma& v);
  void remove_range(Process& p, VAddr start, VAddr end);  // VMAs and mappings
  void split_vma_at(Process& p, VAddr addr);

  // OOM-kills processes other than `asking` (nullptr: any) as needed.
  bool alloc_frame(unsigned order, std::uint64_t* pfn, const Process* asking);
  PAddr alloc_table(Process& p);                          // 0 when out of memory
  // The root of a new address space (PAE: the PDPT and its three user page
  // directories); 0 when out of memory.
  PAddr alloc_root(Process& p);
  // PAE: a zeroed 32-byte-aligned page-directory-pointer table below 4 GiB,
  // and its release. Kept apart so it can come from a kmem_cache later.
  PAddr alloc_pae_pdpt();
  void free_pae_pdpt(PAddr pdpt);
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
  void kill(Process& p, const std::string& why);
  void check_range(VAddr start, std::uint64_t len, const char* what) const;

  OsParams m_p;
  PhysicalMemory& m_mem;
  MmuControl& m_mmu;
  std::unique_ptr<BuddyAllocator> m_buddy;
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
  std::map<std::uint32_t, std::unique_ptr<Process>> m_procs;
  std::uint32_t m_current = 0;
  bool m_has_current = false;
  std::vector<std::string> m_kills;
  bool m_in_oom = false;

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
  std::uint64_t m_pgtable_pages = 0;
};

}  // namespace mmusim
