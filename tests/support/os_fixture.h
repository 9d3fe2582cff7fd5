// The OS model's test fixture: an OsModel over a real PhysicalMemory and a
// FakeMmu, its statistics, and readers of the 4/5-level page tables it
// builds through tests/support/sdm_reader.h (Intel SDM Vol. 3A 4.5), not
// through the model's own helpers.
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
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/arch/entry_bits.h"
#include "models/arch/paging_format.h"
#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "tests/support/fake_mmu.h"
#include "tests/support/sdm_reader.h"

namespace mmusim {
namespace ostest {

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr std::uint64_t k4K = 4 * kKiB, k2M = 2 * kMiB;
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

// ---------------------------------------------------------------- the page-table reader

// tests/support/sdm_reader.h over the 4-level or 5-level tables these tests
// build.
using testing_sdm::kAddrBits;
using testing_sdm::Leaf;
using testing_sdm::Lookup;
using testing_sdm::Tables;

inline testing_sdm::SdmReader sdm_reader(const PhysicalMemory& m, unsigned levels = 4) {
  return testing_sdm::SdmReader(m, levels == 5 ? PagingMode::X86_64_La57 : PagingMode::X86_64);
}

// The index of va's entry in a table of `level` (4-level and 5-level paging).
inline unsigned index_of(VAddr va, unsigned level) {
  return static_cast<unsigned>(paging_format(PagingMode::X86_64).index(va, level));
}

inline Lookup lookup(const PhysicalMemory& m, PAddr root, unsigned levels, VAddr va) {
  return sdm_reader(m, levels).walk(root, va);
}

// The 4-level entry at `level` (4 PML4E .. 1 PTE) for va; 0 when a table
// above it is absent or a leaf. *where receives its address.
inline std::uint64_t entry(const PhysicalMemory& m, PAddr root, VAddr va, unsigned level, PAddr* where = nullptr) {
  for (const testing_sdm::Step& s : sdm_reader(m).walk(root, va).steps)
    if (s.level == level) {
      if (where) *where = s.entry_pa;
      return s.entry;
    }
  return 0;
}

// The 4-level PTE of va, and its address; 0 if not mapped by a 4 KiB page.
inline std::uint64_t pte_of(const PhysicalMemory& m, PAddr root, VAddr va, PAddr* where = nullptr) {
  return entry(m, root, va, 1, where);
}

inline Tables read_tables(const PhysicalMemory& m, PAddr root, unsigned levels) {
  return sdm_reader(m, levels).tables(root);
}

// The 4 KiB frames a leaf maps.
inline std::uint64_t frames_of(const Leaf& l) {
  return page_bytes(paging_format(PagingMode::X86_64).page_size(l.level)) >> kPageShift;
}

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

// ---------------------------------------------------------------- the kernel access port

// One access the OS model issued through its KernelAccessPort
// (os.fault_model: accesses); pa is where the port translated it (0 when it
// does not translate). Equal when va, bytes and write are.
struct KernelAccess {
  VAddr va;
  std::uint32_t bytes;
  bool write;
  PAddr pa = 0;
  bool operator==(const KernelAccess& o) const { return va == o.va && bytes == o.bytes && write == o.write; }
};

// A KernelAccessPort that records every access and charges `cycles` for
// each; `translate`, when set, gives each access's pa (and may throw).
class RecordingPort : public KernelAccessPort {
 public:
  explicit RecordingPort(Cycles cycles = 7, std::function<PAddr(VAddr, bool)> translate = {})
      : m_cycles(cycles), m_translate(std::move(translate)) {}
  Cycles kernel_access(VAddr va, std::uint32_t bytes, bool write) override {
    const PAddr pa = m_translate ? m_translate(va, write) : 0;
    log.push_back(KernelAccess{va, bytes, write, pa});
    return m_cycles;
  }

  std::vector<KernelAccess> log;

 private:
  Cycles m_cycles;
  std::function<PAddr(VAddr, bool)> m_translate;
};

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
