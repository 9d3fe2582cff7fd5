// Page-table walker for the four x86 paging modes (Intel SDM Vol. 3A
// chapter 4): 32-bit paging (4.3), PAE paging (4.4), 4-level and 5-level
// paging (4.5).
//
// The formats (index bits, entry size, page sizes and reserved bits per
// level) are those of models/arch/paging_format.h, the entry and #PF
// error-code bits those of models/arch/entry_bits.h (also reachable through
// this header).
//
// The walker reads real paging-structure entries from simulated physical
// memory through PageTableMemory (each read timed by the memory path) -
// 4-byte entries with 32-bit paging, 8-byte entries otherwise - starting
// from CR3 (from the PDPTE registers with PAE paging) or from the deepest
// paging-structure cache hit (4.10.3.2), and produces either a translation
// (page frame, page size 4K, 2M, 4M or 1G, accumulated rights) or a page
// fault with CR2 and the #PF error code (4.7).
//
// Checks for 4-level and 5-level paging (4.6, 4.7, 4.5.4 tables 4-14 ..
// 4-20):
//  - P = 0 at any level: fault, error code P = 0.
//  - Reserved bits: physical-address bits at or above MAXPHYADDR; PS in a
//    PML5E/PML4E; bits 20:13 of a 2 MiB PDE and 29:13 of a 1 GiB PDPTE;
//    XD (bit 63) when EFER.NXE = 0. Fault with P = 1, RSVD = 1.
//  - Rights: R/W is the AND over all levels, U/S the AND, XD the OR.
//    User accesses need U/S = 1; user writes need R/W = 1; supervisor
//    writes need R/W = 1 when CR0.WP = 1; fetches need XD = 0 when NXE = 1.
//    Fault with P = 1. SMEP, SMAP and protection keys are not modelled.
//  - Error code: P (bit 0), W/R (1), U/S (2), RSVD (3), I/D (4, fetches when
//    NXE = 1).
//
// 32-bit paging (PagingMode::Ia32, SDM 4.3, tables 4-3 .. 4-6):
//  - Linear addresses are 32 bits: the walker uses va bits 31:0 only (the
//    caller rejects larger ones) and reports CR2 = va bits 31:0.
//  - CR3 bits 31:12 locate the page directory (1024 4-byte PDEs, index va
//    bits 31:22); a PDE with PS = 1 maps a 4 MiB page when CR4.PSE = 1
//    (WalkerParams::pse); with PSE = 0 bit 7 is ignored and the PDE always
//    references a page table (CR4.PSE is ignored by the other modes). Page
//    tables hold 1024 4-byte PTEs (index va bits 21:12), frame = bits 31:12.
//  - 4 MiB page (table 4-4, PSE-36): physical bits 31:22 are PDE bits 31:22
//    and bits (M-1):32 are PDE bits (M-20):13, M = min(40, MAXPHYADDR); PDE
//    bits 21:(M-19) are reserved (bit 21 only when M = 40, bits 21:13 when
//    M = 32) and are the only reserved bits of 32-bit paging.
//  - No execute-disable: 32-bit entries have no XD bit, every readable page
//    is executable, and I/D is never set in the error code (4.7: I/D needs
//    CR4.SMEP = 1 - not modelled - or CR4.PAE = 1 with NXE = 1).
//    WalkerParams::nxe is ignored.
//
// PAE paging (PagingMode::Pae, SDM 4.4, tables 4-7 .. 4-11):
//  - Linear addresses are 32 bits, as for 32-bit paging.
//  - CR3 bits 31:5 locate a 32-byte page-directory-pointer table of four
//    8-byte PDPTEs. They are loaded into the four PDPTE registers by
//    load_pae_pdptes(), which the MMU calls at every MOV to CR3 (4.4.1);
//    walks use the registers and never read the PDPTEs from memory (the cr3
//    argument of walk() is not used), so a PDPTE changed in memory takes
//    effect only at the next CR3 load. Before the first load the registers
//    are 0 (not present).
//  - A PDPTE register with P = 0 (selected by va bits 31:30): page fault with
//    P = 0 and no memory reference. A PDPTE with P = 1 and a reserved bit
//    (2:1, 8:5, 63:MAXPHYADDR, table 4-8) makes the load fail (the MOV to
//    CR3 raises #GP(0), 4.4.1; no page fault, 4.7); see load_pae_pdptes.
//  - PDEs (index va bits 29:21) and PTEs (index 20:12) are 8 bytes; a PDE
//    with PS = 1 maps a 2 MiB page (CR4.PSE is not consulted). Reserved:
//    bits 62:MAXPHYADDR (tables 4-9 .. 4-11: unlike 4-level paging, bits
//    62:52 are not ignored), bits 20:13 of a 2 MiB PDE, and XD when NXE = 0.
//  - PDPTEs have no R/W, U/S or XD bits (those positions are reserved):
//    the rights are those of the PDE and the PTE only (4.6.1).
//  - I/D is set for fetches when NXE = 1, as with 4-level paging (4.7).
//
// Accessed and dirty flags (4.8): after a successful translation the walker
// sets A in every entry it read that has A = 0, and D in the leaf on a
// write, each as a locked read-modify-write of the entry's width (a timed
// read and a timed write through the memory path, counted as ad_writes;
// 4 bytes with 32-bit paging, 8 otherwise). Implementation choice: a
// walk that faults sets no flag (the SDM allows either), and entries taken
// from a paging-structure cache are not revisited (they were filled by a
// successful walk, so their A flag is already 1). With PAE paging the PDPTEs
// are not used during linear-address translation (footnote to 4.8) and
// bit 5 of a PDPTE is reserved (table 4-8): the walker never writes a PDPTE.
//
// Paging-structure caches are filled only by successful walks, with the
// non-leaf entries the walk read, tagged with the current PCID. A walk that
// faults invalidates the cache entries (of that PCID) that would be used for
// its address, as delivering the #PF does (4.10.4.1). With 32-bit and PAE
// paging only the PDE cache exists (4.10.3.1; its tag is va bits 31:22,
// respectively 31:21); pwc_entries[3..5] are ignored there. With PAE paging
// the PDPTE registers play the part of the upper levels.
//
// Timing: a walk costs the paging-structure-cache latency (when any cache is
// enabled) plus the sum of its memory latencies; references are sequential.
// The PDPTE-register load is not part of any walk: its four reads are timed
// references of their own, counted under walker.pdpte_* (PAE mode only).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_format.h"
#include "models/arch/paging_mode.h"
#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/pwc/paging_structure_cache.h"

namespace mmusim {

struct PageFault {
  VAddr cr2 = 0;
  std::uint32_t error_code = 0;
};

// The walker's view of physical memory: timed reads and writes of one
// paging-structure entry. read_entry/write_entry move 8 bytes (PAE,
// 4-level, 5-level paging and the PDPTE-register load); read_entry32/
// write_entry32 move 4 bytes (32-bit paging). The 4-byte pair has a default
// that throws std::logic_error, so an implementation that serves only the
// 64-bit modes need not provide it; every implementation in this tree does.
class PageTableMemory {
 public:
  virtual ~PageTableMemory() = default;
  virtual std::uint64_t read_entry(PAddr pa, Cycles& latency) = 0;
  virtual void write_entry(PAddr pa, std::uint64_t value, Cycles& latency) = 0;
  virtual std::uint32_t read_entry32(PAddr pa, Cycles& latency) {
    (void)pa;
    (void)latency;
    throw std::logic_error("PageTableMemory: 4-byte entries (32-bit paging) not supported");
  }
  virtual void write_entry32(PAddr pa, std::uint32_t value, Cycles& latency) {
    (void)pa;
    (void)value;
    (void)latency;
    throw std::logic_error("PageTableMemory: 4-byte entries (32-bit paging) not supported");
  }
};

struct WalkerParams {
  // The mode. For compatibility `levels` selects between 4-level and
  // 5-level paging when mode == X86_64 (levels = 5 there means
  // X86_64_La57; any value other than 4 or 5 is rejected); with the other
  // modes `levels` is ignored. The walker's params() report the effective
  // mode and its number of levels (Ia32 2, Pae 3 - the PDPTE registers
  // counting as level 3 -, X86_64 4, X86_64_La57 5).
  PagingMode mode = PagingMode::X86_64;
  unsigned levels = 4;  // 4: PML4, PDPT, PD, PT; 5: PML5 on top
  unsigned phys_addr_bits = 46;
  // The values of these control-register bits for the run (the MMU's
  // ControlRegisters start from them and keep them).
  bool nxe = true;  // IA32_EFER.NXE (ignored with 32-bit paging)
  bool pse = true;  // CR4.PSE (used by 32-bit paging only)
  bool wp = true;   // CR0.WP
  bool update_ad = true;
  // Paging-structure caches, index = level of the entry cached (2 = PDE,
  // 3 = PDPTE, 4 = PML4E, 5 = PML5E); entries 0 disables one.
  std::array<unsigned, 6> pwc_entries{0, 0, 32, 4, 2, 0};
  std::array<unsigned, 6> pwc_ways{0, 0, 4, 4, 2, 0};
  Cycles pwc_latency = 1;
};

struct WalkResult {
  bool fault = false;
  PageFault page_fault;
  PAddr frame = 0;  // physical base of the page
  PageSize size = PageSize::k4K;
  bool writable = false, user = false, nx = false, global = false, dirty = false;
  Cycles cycles = 0;
  unsigned mem_reads = 0;
  unsigned ad_writes = 0;
  // Level whose entry the walk used first: the root level after a cache
  // miss (with PAE paging 3, the PDPTE register), else one below the
  // deepest paging-structure-cache hit.
  unsigned start_level = 0;
};

class Walker {
 public:
  // walker_stats receives walks, mem_reads, ...; pwc_stats one group per
  // cached level (pml5, pml4, pdpt, pd).
  Walker(const WalkerParams& p, PageTableMemory& mem, StatGroup& walker_stats, StatGroup& pwc_stats);

  // cr3 is not used with PAE paging (the PDPTE registers are).
  WalkResult walk(std::uint64_t cr3, VAddr va, AccessKind kind, bool user, std::uint16_t pcid);

  // PAE paging only (throws std::logic_error in the other modes): loads the
  // four PDPTE registers from the 32-byte table at CR3 bits 31:5, as a MOV
  // to CR3 does (SDM 4.4.1). The four 8-byte reads are timed references
  // counted in walker.pdpte_loads / pdpte_reads / pdpte_cycles, not in any
  // walk; their total latency is last_pdpte_load_cycles(). If a PDPTE has
  // P = 1 and a reserved bit set (bits 2:1, 8:5, 63:MAXPHYADDR, table 4-8),
  // the registers are left unchanged, walker.pdpte_load_faults counts it,
  // and false is returned: the MOV to CR3 would raise #GP(0) - the caller
  // decides (Mmu::write_cr3 throws GeneralProtectionFault). Reserved bits
  // of a PDPTE with P = 0 are not checked (some processors do, 4.4.1 note).
  // The paging-structure caches are not touched (the MMU flushes them).
  bool load_pae_pdptes(std::uint64_t cr3);
  const std::array<std::uint64_t, 4>& pdpte_registers() const { return m_pdpte; }
  Cycles last_pdpte_load_cycles() const { return m_last_pdpte_cycles; }

  void flush_pwc_all();
  void flush_pwc_pcid(std::uint16_t pcid);
  const WalkerParams& params() const { return m_p; }
  const PagingFormat& format() const { return m_format; }

 private:
  PageFault make_fault(VAddr va, AccessKind kind, bool user, std::uint32_t bits) const;
  std::uint64_t read(PAddr pa, Cycles& latency);
  void write(PAddr pa, std::uint64_t value, Cycles& latency);

  WalkerParams m_p;
  PageTableMemory& m_mem;
  PagingFormat m_format;
  EntryMasks m_masks;
  std::uint64_t m_va_mask;  // linear-address bits translated (32, 48 or 57)
  unsigned m_entry_bytes = 8;
  bool m_ia32 = false, m_pae = false;
  bool m_id_on_fetch = false;              // I/D reported for fetches (4.7)
  unsigned m_top_pwc = 0;                  // highest level that has a cache object
  std::array<std::uint64_t, 4> m_pdpte{};  // the PDPTE registers (PAE)
  Cycles m_last_pdpte_cycles = 0;
  std::array<std::unique_ptr<PagingStructureCache>, 6> m_pwc;
  bool m_any_pwc = false;
  Counter& m_walks;
  Counter& m_mem_reads;
  Counter& m_ad_writes;
  Counter& m_cycles;
  Counter& m_faults;
  Histogram& m_latency;
  // PAE only (registered only in that mode, so other modes' statistics
  // are unchanged).
  Counter* m_pdpte_loads = nullptr;
  Counter* m_pdpte_reads = nullptr;
  Counter* m_pdpte_cycles = nullptr;
  Counter* m_pdpte_load_faults = nullptr;
};

// The level's name ("pml5" .. "pt"); levels is not used.
inline const char* paging_level_name(unsigned levels, unsigned level) {
  (void)levels;
  return paging_level_name(level);
}

}  // namespace mmusim
