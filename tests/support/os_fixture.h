// The OS model's test fixture: an OsModel over a real PhysicalMemory and a
// FakeMmu, its statistics, and an independent reader of the 4/5-level page
// tables it builds, written from Intel SDM Vol. 3A 4.5 (entry index =
// linear-address bits 12+9(L-1) .. 12+9L-1; the physical address of the next
// table or of the page in bits 51:12; PS in a PDE or PDPTE marks a 2 MiB or
// 1 GiB leaf), not with the model's own helpers.
//
// Expected frame numbers in the tests come from the buddy allocator's
// documented behaviour (buddy_allocator.h, zone.h): boot hands each zone over
// in the largest aligned blocks, the low 1 MiB (frames 0..255) is reserved,
// splitting keeps the lower half and puts the upper halves at the heads of
// their lists, and a request tries the highest zone it may use first. With a
// 64 MiB memory (16384 frames, max_order 10) there are ZONE_DMA [0, 4096)
// and ZONE_DMA32 [4096, 16384). In DMA the reservation splits block
// [0, 1024) into reserved 0..255 and free blocks [256, 512) (order 8) and
// [512, 1024) (order 9); every other 4 MiB block stays whole. Without the
// kernel half the idle page directory takes frame 4096, the first of DMA32,
// leaving [4097], [4098, 4100), ... [4608, 5120) at the heads of orders 0..9
// there, so the first process's root is frame 4097.
#pragma once

#include <cstdint>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/fake_mmu.h"

namespace mmusim {
namespace ostest {

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr std::uint64_t k4K = 4 * kKiB, k2M = 2 * kMiB;
// SDM 4.5.4: bits 51:12 of an entry hold a physical address.
constexpr std::uint64_t kAddrBits = 0x000ffffffffff000ull;
constexpr std::uint8_t R = OsModel::kRead, W = OsModel::kWrite, X = OsModel::kExec;
// Linux's fault cost defaults as OsParams gives them.
constexpr Cycles kMinor = 700, kZero = 300;
// #PF error codes of user accesses (SDM 4.7).
constexpr std::uint32_t kWriteFault = pf::kU | pf::kW;
constexpr std::uint32_t kWriteProtFault = pf::kU | pf::kW | pf::kP;
constexpr std::uint32_t kReadFault = pf::kU;
// Where the fork, reclaim and highmem tests map their heap.
constexpr VAddr kHeap = 0x10000000;

inline bool has(std::uint64_t e, std::uint64_t bits) { return (e & bits) == bits; }

// ---------------------------------------------------------------- an independent page-table reader

inline unsigned index_of(VAddr va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
}

struct Lookup {
  bool present = false;     // a leaf was found
  unsigned level = 0;       // the level whose entry ended the walk (1 = PTE, 2 = PDE, ...)
  std::uint64_t entry = 0;  // that entry
  PAddr entry_pa = 0;
  PAddr frame = 0;                  // physical base of the page
  std::vector<std::uint64_t> path;  // every entry read, top level first
};

inline Lookup lookup(const PhysicalMemory& m, PAddr root, unsigned levels, VAddr va) {
  Lookup r;
  PAddr table = root;
  for (unsigned level = levels; level >= 1; --level) {
    const PAddr epa = table + index_of(va, level) * 8ull;
    const std::uint64_t e = m.read64(epa);
    r.path.push_back(e);
    r.level = level;
    r.entry = e;
    r.entry_pa = epa;
    if (!(e & pte::kP)) return r;
    const bool leaf = level == 1 || ((level == 2 || level == 3) && (e & pte::kPS));
    if (leaf) {
      const std::uint64_t page = 1ull << (12 + 9 * (level - 1));
      r.present = true;
      r.frame = e & kAddrBits & ~(page - 1);
      return r;
    }
    table = e & kAddrBits;
  }
  return r;
}

// The 4-level entry at `level` (4 PML4E .. 1 PTE) for va; 0 when a table
// above it is absent or a leaf. *where receives its address at level 1.
inline std::uint64_t entry(const PhysicalMemory& m, PAddr root, VAddr va, unsigned level, PAddr* where = nullptr) {
  PAddr table = root;
  for (unsigned l = 4;; --l) {
    const PAddr epa = table + index_of(va, l) * 8ull;
    const std::uint64_t e = m.read64(epa);
    if (l == level) {
      if (where) *where = epa;
      return e;
    }
    if (!(e & pte::kP) || (e & pte::kPS)) return 0;
    table = e & kAddrBits;
  }
}

// The 4-level PTE of va, and its address; 0 if not mapped by a 4 KiB page.
inline std::uint64_t pte_of(const PhysicalMemory& m, PAddr root, VAddr va, PAddr* where = nullptr) {
  return entry(m, root, va, 1, where);
}

struct Leaf {
  VAddr va;
  unsigned level;
  std::uint64_t entry;
  PAddr frame;
};

struct Tables {
  std::vector<PAddr> tables;  // every paging-structure page, the root first
  std::vector<Leaf> leaves;   // present leaves
  std::vector<Leaf> parked;   // non-present, non-zero leaves (PROT_NONE pages keep their frame)
};

inline void collect(const PhysicalMemory& m, PAddr table, unsigned level, VAddr base, Tables& out) {
  out.tables.push_back(table);
  for (unsigned i = 0; i < 512; ++i) {
    const std::uint64_t e = m.read64(table + i * 8ull);
    const VAddr va = base + (static_cast<std::uint64_t>(i) << (12 + 9 * (level - 1)));
    if (!(e & pte::kP)) {
      if (e) out.parked.push_back({va, level, e, e & kAddrBits});
      continue;
    }
    const bool leaf = level == 1 || ((level == 2 || level == 3) && (e & pte::kPS));
    if (leaf) out.leaves.push_back({va, level, e, e & kAddrBits});
    else collect(m, e & kAddrBits, level - 1, va, out);
  }
}

inline Tables read_tables(const PhysicalMemory& m, PAddr root, unsigned levels) {
  Tables t;
  collect(m, root, levels, 0, t);
  return t;
}

inline std::uint64_t frames_of(const Leaf& l) { return 1ull << (9 * (l.level - 1)); }

// ---------------------------------------------------------------- parameters

// User-only address spaces (the frame numbers derived by hand assume no
// kernel half; kernel_space_test.cpp covers it), 64 MiB, max_order 10, 46
// physical-address bits, NX on, 700 + 300 cycles.
inline OsParams params(unsigned levels = 4, ThpMode thp = ThpMode::Never, std::uint64_t memory = 64 * kMiB,
                       bool implicit_vmas = false) {
  OsParams p;
  p.memory_bytes = memory;
  p.levels = levels;
  p.thp = thp;
  p.implicit_vmas = implicit_vmas;
  p.kernel_half = false;
  return p;
}

// The defaults with the kernel half, and memory, THP and swap as given.
inline OsParams machine_params(std::uint64_t memory = 64 * kMiB, ThpMode thp = ThpMode::Never, std::uint64_t swap = 0) {
  OsParams p;
  p.memory_bytes = memory;
  p.thp = thp;
  p.swap_bytes = swap;
  p.implicit_vmas = false;
  return p;
}

// The defaults with the kernel half and a 1 GiB hugetlb pool.
inline OsParams hugetlb_params(std::uint64_t memory, unsigned hugetlb, unsigned max_order = 10) {
  OsParams p;
  p.memory_bytes = memory;
  p.max_order = max_order;
  p.hugetlb_1g_pages = hugetlb;
  p.implicit_vmas = false;
  return p;
}

// ---------------------------------------------------------------- the fixture

struct OsFixture {
  explicit OsFixture(const OsParams& p)
      : levels(p.levels), mem(p.memory_bytes), os(p, mem, mmu, root.group("os")), idle(mmu.cr3_writes.at(0)) {}

  std::uint64_t counter(const std::string& path) const {
    const StatGroup::Entry* e = root.find(path);
    if (!e || !e->counter) throw std::runtime_error("no counter " + path);
    return e->counter->value();
  }
  double formula(const std::string& path) const {
    const StatGroup::Entry* e = root.find(path);
    if (!e || !e->formula) throw std::runtime_error("no formula " + path);
    return e->formula();
  }
  // A counter or a formula.
  double stat(const std::string& path) const {
    const StatGroup::Entry* e = root.find(path);
    if (!e) throw std::runtime_error("no statistic " + path);
    return e->counter ? static_cast<double>(e->counter->value()) : e->formula();
  }
  PAddr root_of(std::uint32_t pid) const { return os.process(pid)->root; }
  Lookup at(std::uint32_t pid, VAddr va) const { return lookup(mem, root_of(pid), levels, va); }
  Lookup at(VAddr va) const { return at(os.current_pid(), va); }
  // 4-level readers: the PTE of va (and its address), its frame; the PDPTE
  // of va and its 1 GiB frame.
  std::uint64_t pte(std::uint32_t pid, VAddr va, PAddr* where = nullptr) const {
    return pte_of(mem, root_of(pid), va, where);
  }
  std::uint64_t frame(std::uint32_t pid, VAddr va) const { return (pte(pid, va) & kAddrBits) >> 12; }
  std::uint64_t pdpte(std::uint32_t pid, VAddr va) const { return entry(mem, root_of(pid), va, 3); }
  std::uint64_t frame_1g(std::uint32_t pid, VAddr va) const { return (pdpte(pid, va) & kAddrBits) >> 12; }
  // Frames not used for user pages or page tables: free in the buddy
  // allocator or held by the kernel's slab caches (task_struct, mm_struct,
  // vm_area_struct; slab_test covers those), so that the counts follow user
  // memory only.
  std::uint64_t free_pages() const { return os.buddy().free_pages() + os.slab().pages(); }
  PAddr idle_root() const { return idle; }
  FaultOutcome touch(VAddr va, std::uint32_t ec = pf::kU | pf::kW) { return os.handle_fault(va, ec); }

  // Every frame owned exactly once: the idle root, each live process's page
  // tables and data pages; none of them free in the buddy allocator or in the
  // reserved low 1 MiB; together exactly the used pages; each process's rss and
  // page-table counts match its tables. Returns "" when all hold.
  std::string check_frames(const std::vector<std::uint32_t>& pids) const {
    std::ostringstream err;
    std::set<std::uint64_t> owned;
    unsigned problems = 0;
    auto own = [&](std::uint64_t pfn, const char* what) {
      const bool ok = owned.count(pfn) == 0 && !os.buddy().is_free(pfn) && pfn >= 256;
      if (ok || ++problems > 4) {
        owned.insert(pfn);
        return;
      }
      if (!owned.insert(pfn).second) err << what << " frame " << pfn << " owned twice; ";
      if (os.buddy().is_free(pfn)) err << what << " frame " << pfn << " is free in the buddy allocator; ";
      if (pfn < 256) err << what << " frame " << pfn << " is in the reserved low 1 MiB; ";
    };
    own(idle_root() >> 12, "idle root");
    for (std::uint32_t pid : pids) {
      const Process* p = os.process(pid);
      if (!p) continue;
      if (!p->alive) {
        if (p->rss_pages || p->pgtable_pages) err << "dead pid " << pid << " still owns pages; ";
        continue;
      }
      Tables t = read_tables(mem, p->root, levels);
      std::uint64_t rss = 0;
      for (PAddr tb : t.tables) own(tb >> 12, "table");
      // The PTE page deposited with each huge PMD (pgtable_trans_huge_deposit):
      // a page table of the mm, though no entry points to it yet.
      for (const auto& dep : p->deposited) own(dep.second >> 12, "deposited table");
      for (const auto* list : {&t.leaves, &t.parked})
        for (const Leaf& l : *list) {
          // The zero pages (mm/memory.c my_zero_pfn, the huge zero page) are
          // mapped read-only by anyone, owned and counted by nobody.
          const std::uint64_t pfn = l.frame >> 12;
          if (pfn == OsModel::kZeroPfn || (os.huge_zero_pfn() && pfn == os.huge_zero_pfn())) {
            if (l.entry & pte::kRW) err << "pid " << pid << " maps a zero page writable; ";
            continue;
          }
          for (std::uint64_t i = 0; i < frames_of(l); ++i) own((l.frame >> 12) + i, "data");
          rss += frames_of(l);
        }
      if (rss != p->rss_pages) err << "pid " << pid << " rss " << p->rss_pages << " but maps " << rss << "; ";
      if (t.tables.size() + p->deposited.size() != p->pgtable_pages)
        err << "pid " << pid << " pgtable_pages " << p->pgtable_pages << " but has " << t.tables.size() << " + "
            << p->deposited.size() << " deposited; ";
    }
    if (problems > 4) err << "... " << problems - 4 << " more frame problems; ";
    if (owned.size() != os.used_pages()) err << "owned " << owned.size() << " frames, used_pages " << os.used_pages();
    return err.str();
  }

  unsigned levels;
  PhysicalMemory mem;
  FakeMmu mmu;
  StatGroup root;
  OsModel os;
  PAddr idle;  // the root the constructor loaded
};

// The fork, reclaim and highmem tests' machine: machine_params().
struct MachineOs : OsFixture {
  explicit MachineOs(std::uint64_t memory = 64 * kMiB, ThpMode thp = ThpMode::Never, std::uint64_t swap = 0)
      : OsFixture(machine_params(memory, thp, swap)) {}
};

// The hugetlb tests' machine: hugetlb_params().
struct HugetlbOs : OsFixture {
  HugetlbOs(std::uint64_t memory, unsigned hugetlb, unsigned max_order = 10)
      : OsFixture(hugetlb_params(memory, hugetlb, max_order)) {}
};

}  // namespace ostest
}  // namespace mmusim
