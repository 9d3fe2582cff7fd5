// Page-table walker for 4-level and 5-level paging (Intel SDM Vol. 3A 4.5).
//
// The walker reads real 8-byte paging-structure entries from simulated
// physical memory through PageTableMemory (each read timed by the memory
// path), starting from CR3 or from the deepest paging-structure cache hit
// (4.10.3.2), and produces either a translation (page frame, page size 4K,
// 2M or 1G, accumulated rights) or a page fault with CR2 and the #PF error
// code (4.7).
//
// Checks (4.6, 4.7, 4.5.4 table 4-14 .. 4-20):
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
// Accessed and dirty flags (4.8): after a successful translation the walker
// sets A in every entry it read that has A = 0, and D in the leaf on a
// write, each as a locked read-modify-write (a timed read and a timed write
// through the memory path, counted as ad_writes). Implementation choice: a
// walk that faults sets no flag (the SDM allows either), and entries taken
// from a paging-structure cache are not revisited (they were filled by a
// successful walk, so their A flag is already 1).
//
// Paging-structure caches are filled only by successful walks, with the
// non-leaf entries the walk read, tagged with the current PCID. A walk that
// faults invalidates the cache entries (of that PCID) that would be used for
// its address, as delivering the #PF does (4.10.4.1).
//
// Timing: a walk costs the paging-structure-cache latency (when any cache is
// enabled) plus the sum of its memory latencies; references are sequential.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "models/common/stats.h"
#include "models/common/types.h"
#include "models/pwc/paging_structure_cache.h"

namespace mmusim {

// Bits of a 64-bit paging-structure entry (SDM 4.5.4).
namespace pte {
constexpr std::uint64_t kP = 1ull << 0;
constexpr std::uint64_t kRW = 1ull << 1;
constexpr std::uint64_t kUS = 1ull << 2;
constexpr std::uint64_t kPWT = 1ull << 3;
constexpr std::uint64_t kPCD = 1ull << 4;
constexpr std::uint64_t kA = 1ull << 5;
constexpr std::uint64_t kD = 1ull << 6;
constexpr std::uint64_t kPS = 1ull << 7;
constexpr std::uint64_t kG = 1ull << 8;
constexpr std::uint64_t kXD = 1ull << 63;
}  // namespace pte

// #PF error code bits (SDM 4.7).
namespace pf {
constexpr std::uint32_t kP = 1u << 0;
constexpr std::uint32_t kW = 1u << 1;
constexpr std::uint32_t kU = 1u << 2;
constexpr std::uint32_t kRsvd = 1u << 3;
constexpr std::uint32_t kI = 1u << 4;
}  // namespace pf

struct PageFault {
  VAddr cr2 = 0;
  std::uint32_t error_code = 0;
};

// The walker's view of physical memory: timed reads, and locked
// read-modify-writes that OR bits into an entry.
class PageTableMemory {
 public:
  virtual ~PageTableMemory() = default;
  virtual std::uint64_t read_entry(PAddr pa, Cycles& latency) = 0;
  virtual void write_entry(PAddr pa, std::uint64_t value, Cycles& latency) = 0;
};

struct WalkerParams {
  unsigned levels = 4;  // 4: PML4, PDPT, PD, PT; 5: PML5 on top
  unsigned phys_addr_bits = 46;
  bool nxe = true;
  bool wp = true;
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
  unsigned start_level = 0;  // level whose entry the walk read first
};

class Walker {
 public:
  // walker_stats receives walks, mem_reads, ...; pwc_stats one group per
  // cached level (pml5, pml4, pdpt, pd).
  Walker(const WalkerParams& p, PageTableMemory& mem, StatGroup& walker_stats, StatGroup& pwc_stats);

  WalkResult walk(std::uint64_t cr3, VAddr va, AccessKind kind, bool user, std::uint16_t pcid);

  void flush_pwc_all();
  void flush_pwc_pcid(std::uint16_t pcid);
  const WalkerParams& params() const { return m_p; }

 private:
  PageFault make_fault(VAddr va, AccessKind kind, bool user, std::uint32_t bits) const;
  std::uint64_t tag(VAddr va, unsigned level) const;

  WalkerParams m_p;
  PageTableMemory& m_mem;
  std::uint64_t m_addr_mask;  // bits 51:12 limited to MAXPHYADDR
  std::uint64_t m_rsvd_mask;  // bits MAXPHYADDR..51
  std::uint64_t m_va_mask;    // va bits translated (48 or 57)
  std::array<std::unique_ptr<PagingStructureCache>, 6> m_pwc;
  bool m_any_pwc = false;
  Counter& m_walks;
  Counter& m_mem_reads;
  Counter& m_ad_writes;
  Counter& m_cycles;
  Counter& m_faults;
  Histogram& m_latency;
};

const char* paging_level_name(unsigned levels, unsigned level);

}  // namespace mmusim
