// Unit tests for the OS model (models/os/os_model.h).
//
// The OS model reaches the hardware through MmuControl and physical memory
// only, so the tests give it a fake MMU that records every CR3 write, INVLPG
// and full flush, and a real PhysicalMemory. The page tables it builds are
// then read back by a small 4/5-level reader written here from Intel SDM
// Vol. 3A 4.5 (entry index = linear-address bits 12+9(L-1) .. 12+9L-1; the
// physical address of the next table or of the page in bits 51:12; PS in a
// PDE or PDPTE marks a 2 MiB or 1 GiB leaf), independent of the model's own
// helpers.
//
// Expected frame numbers come from the buddy allocator's documented
// behaviour (buddy_allocator.h, zone.h): boot hands each zone over in the
// largest aligned blocks, the low 1 MiB (frames 0..255) is reserved,
// splitting keeps the lower half and puts the upper halves at the heads of
// their lists, and a request tries the highest zone it may use first. With a
// 64 MiB memory (16384 frames, max_order 10) there are ZONE_DMA [0, 4096)
// and ZONE_DMA32 [4096, 16384). In DMA the reservation splits block
// [0, 1024) into reserved 0..255 and free blocks [256, 512) (order 8) and
// [512, 1024) (order 9); every other 4 MiB block stays whole. The idle page
// directory takes frame 4096, the first of DMA32, leaving [4097], [4098,
// 4100), ... [4608, 5120) at the heads of orders 0..9 there, so the first
// process's root is frame 4097.
#include "models/os/os_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_control.h"
#include "models/walker/walker.h"

namespace mmusim {
namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr std::uint64_t k4K = 4 * kKiB, k2M = 2 * kMiB;
// SDM 4.5.4: bits 51:12 of an entry hold a physical address.
constexpr std::uint64_t kAddrBits = 0x000ffffffffff000ull;
constexpr std::uint8_t R = OsModel::kRead, W = OsModel::kWrite, X = OsModel::kExec;
// Linux's fault cost defaults as OsParams gives them.
constexpr Cycles kMinor = 700, kZero = 300;

// ---------------------------------------------------------------- test doubles

class FakeMmu : public MmuControl {
 public:
  void write_cr3(std::uint64_t value) override {
    cr3_writes.push_back(value);
    m_cr3 = value;
  }
  std::uint64_t cr3() const override { return m_cr3; }
  void invlpg(VAddr va) override { invlpgs.push_back(va); }
  void flush_all() override { ++flushes; }
  void clear() {
    cr3_writes.clear();
    invlpgs.clear();
    flushes = 0;
  }

  std::vector<std::uint64_t> cr3_writes;
  std::vector<VAddr> invlpgs;
  unsigned flushes = 0;

 private:
  std::uint64_t m_cr3 = 0;
};

// ---------------------------------------------------------------- an independent page-table reader

unsigned index_of(VAddr va, unsigned level) { return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511); }

struct Lookup {
  bool present = false;     // a leaf was found
  unsigned level = 0;       // the level whose entry ended the walk (1 = PTE, 2 = PDE, ...)
  std::uint64_t entry = 0;  // that entry
  PAddr entry_pa = 0;
  PAddr frame = 0;                            // physical base of the page
  std::vector<std::uint64_t> path;            // every entry read, top level first
};

Lookup lookup(const PhysicalMemory& m, PAddr root, unsigned levels, VAddr va) {
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

void collect(const PhysicalMemory& m, PAddr table, unsigned level, VAddr base, Tables& out) {
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

Tables read_tables(const PhysicalMemory& m, PAddr root, unsigned levels) {
  Tables t;
  collect(m, root, levels, 0, t);
  return t;
}

std::uint64_t frames_of(const Leaf& l) { return 1ull << (9 * (l.level - 1)); }

// ---------------------------------------------------------------- fixture

OsParams params(unsigned levels = 4, ThpMode thp = ThpMode::Never, std::uint64_t memory = 64 * kMiB,
                bool implicit_vmas = false) {
  OsParams p;
  p.memory_bytes = memory;
  p.levels = levels;
  p.thp = thp;
  p.implicit_vmas = implicit_vmas;
  // The frame numbers these tests derive by hand assume user-only address
  // spaces; os_kernel_test.cpp covers the kernel half.
  p.kernel_half = false;
  return p;  // max_order 10, 46 physical-address bits, NX on, 700 + 300 cycles
}

struct Os {
  explicit Os(const OsParams& p)
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
  PAddr root_of(std::uint32_t pid) const { return os.process(pid)->root; }
  Lookup at(std::uint32_t pid, VAddr va) const { return lookup(mem, root_of(pid), levels, va); }
  Lookup at(VAddr va) const { return at(os.current_pid(), va); }
  // Frames not used for user pages or page tables: free in the buddy
  // allocator or held by the kernel's slab caches (task_struct, mm_struct,
  // vm_area_struct; slab_test covers those), so that the counts below follow
  // user memory only.
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
      if (t.tables.size() != p->pgtable_pages)
        err << "pid " << pid << " pgtable_pages " << p->pgtable_pages << " but has " << t.tables.size() << "; ";
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

bool has(std::uint64_t e, std::uint64_t bits) { return (e & bits) == bits; }

// ---------------------------------------------------------------- boot and processes

TEST(OsModel, BootReservesLowMemoryAndLoadsAnIdleRoot) {
  Os t(params());
  // 16384 frames - 256 reserved - 1 for the idle page directory.
  EXPECT_EQ(t.free_pages(), 16384u - 256 - 1);
  EXPECT_EQ(t.os.used_pages(), 1u);
  ASSERT_EQ(t.mmu.cr3_writes.size(), 1u);
  EXPECT_EQ(t.idle_root(), 0x1000000u);  // frame 4096: the first frame of ZONE_DMA32
  for (unsigned pfn = 0; pfn < 256; ++pfn) ASSERT_FALSE(t.os.buddy().is_free(pfn)) << pfn;
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.formula("os.buddy.free_pages"), static_cast<double>(t.free_pages()));
  EXPECT_EQ(t.os.user_top(), 1ull << 47);
  EXPECT_EQ(t.check_frames({}), "");
}

TEST(OsModel, FiveLevelUserTop) {
  Os t(params(5));
  EXPECT_EQ(t.os.user_top(), 1ull << 56);
}

TEST(OsModel, InvalidParamsThrow) {
  PhysicalMemory mem(64 * kMiB);
  FakeMmu mmu;
  StatGroup s1, s2;
  OsParams p = params(3);
  EXPECT_THROW(OsModel(p, mem, mmu, s1), std::invalid_argument);
  p = params(4, ThpMode::Never, 128 * kMiB);  // more than the physical memory
  EXPECT_THROW(OsModel(p, mem, mmu, s2), std::invalid_argument);
}

TEST(OsModel, SwitchToCreatesProcessesAndWritesCr3) {
  Os t(params());
  t.mmu.clear();
  t.os.switch_to(1);
  ASSERT_NE(t.os.process(1), nullptr);
  const PAddr root1 = t.root_of(1);
  EXPECT_EQ(root1, 0x1001000u);  // frame 4097, the order-0 block left over by the idle root
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1}));
  EXPECT_EQ(t.os.current_pid(), 1u);
  EXPECT_TRUE(t.os.process(1)->alive);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  for (unsigned i = 0; i < 512; ++i) ASSERT_EQ(t.mem.read64(root1 + i * 8), 0u);  // a zeroed PML4

  t.os.switch_to(1);  // already current: no MOV to CR3
  EXPECT_EQ(t.mmu.cr3_writes.size(), 1u);

  t.os.switch_to(2);
  const PAddr root2 = t.root_of(2);
  EXPECT_NE(root2, root1);
  EXPECT_GE(root2, 1 * kMiB);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1, root2}));
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{root1, root2, root1}));
  EXPECT_EQ(t.counter("os.processes"), 2u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 3.0);
  EXPECT_TRUE(t.os.alive(1));
  EXPECT_TRUE(t.os.alive(77));  // unknown pids are created on first use
  EXPECT_EQ(t.os.process(77), nullptr);
  EXPECT_EQ(t.mmu.invlpgs.size(), 0u);
  EXPECT_EQ(t.check_frames({1, 2}), "");
}

// ---------------------------------------------------------------- demand-zero faults

struct FaultCase {
  unsigned levels;
  std::uint32_t error_code;
};

class DemandFault : public ::testing::TestWithParam<FaultCase> {};

// A read fault on private anonymous memory, Linux 6.1 do_anonymous_page():
// "if (!(vmf->flags & FAULT_FLAG_WRITE) && !mm_forbids_zeropage(vma->vm_mm))
// { entry = pte_mkspecial(pfn_pte(my_zero_pfn(vmf->address),
// vma->vm_page_prot)); ... goto setpte; }". vm_page_prot of a private
// read-write mapping is PAGE_COPY: P, U/S, A, NX; no R/W, no D. No page is
// allocated (only the page tables), nothing joins rss.
// The first write is then do_wp_page(): vm_normal_page() is NULL for the
// zero page, so wp_page_copy(), which for is_zero_pfn() allocates a zeroed
// page (alloc_zeroed_user_highpage_movable) and maps it with "entry =
// maybe_mkwrite(pte_mkdirty(entry), vma)": P, R/W, U/S, A, D, NX; the old
// entry goes with ptep_clear_flush_notify (one INVLPG). It is not a
// copy-on-write of a shared page: os.faults.cow stays 0.
class ZeroPage : public ::testing::TestWithParam<unsigned> {};

TEST_P(ZeroPage, AReadMapsTheZeroPageAndTheFirstWriteReplacesIt) {
  const unsigned levels = GetParam();
  Os t(params(levels));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x7f0000000000ull;
  t.os.mmap(base, 16 * k4K, R | W, false, false);
  const VAddr va = base + 3 * k4K + 0xabc;
  FaultOutcome o = t.os.handle_fault(va, pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor);  // nothing to zero
  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kUS | pte::kA | pte::kXD);
  EXPECT_EQ(l.frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1));  // the tables below the root only
  EXPECT_EQ(t.counter("os.zero_page.maps"), 1u);
  // Another page read: the same frame, still nothing allocated.
  ASSERT_EQ(t.touch(base + 9 * k4K, pf::kU).result, FaultResult::Handled);
  EXPECT_EQ(t.at(base + 9 * k4K).frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1));
  EXPECT_EQ(t.check_frames({1}), "");

  // The first write: a protection fault (P, W, U) on the read-only entry.
  const std::size_t invlpgs = t.mmu.invlpgs.size();
  o = t.os.handle_fault(va, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  l = t.at(va);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_NE(l.frame, OsModel::kZeroPfn << 12);
  for (PAddr a = l.frame; a < l.frame + k4K; a += 8) ASSERT_EQ(t.mem.read64(a), 0u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_EQ(t.free_pages(), free0 - (levels - 1) - 1);
  EXPECT_EQ(t.counter("os.zero_page.replaced"), 1u);
  EXPECT_EQ(t.counter("os.faults.cow"), 0u);
  EXPECT_EQ(t.counter("os.faults.minor"), 3u);
  ASSERT_EQ(t.mmu.invlpgs.size(), invlpgs + 1);
  EXPECT_EQ(t.mmu.invlpgs.back(), va);
  EXPECT_EQ(t.at(base + 9 * k4K).frame, OsModel::kZeroPfn << 12);  // the other page still reads zeros
  EXPECT_EQ(t.check_frames({1}), "");
  // munmap drops both; the zero page is nobody's to free.
  t.os.munmap(base, 16 * k4K);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.os.check_invariants(), "");
}

INSTANTIATE_TEST_SUITE_P(Levels, ZeroPage, ::testing::Values(4u, 5u),
                         [](const ::testing::TestParamInfo<unsigned>& i) { return "L" + std::to_string(i.param); });

TEST_P(DemandFault, MapsAZeroed4KPage) {
  const FaultCase fc = GetParam();
  Os t(params(fc.levels));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x7f0000000000ull;  // PML4 index 254: near the top of a 4-level user half
  t.os.mmap(base, 16 * k4K, R | W, false, false);
  EXPECT_EQ(t.free_pages(), free0);  // mmap alone allocates nothing

  const VAddr va = base + 3 * k4K + 0xabc;
  FaultOutcome o = t.os.handle_fault(va, fc.error_code | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.counter("os.faults.minor"), 1u);
  EXPECT_EQ(t.counter("os.pgfault"), 1u);
  EXPECT_EQ(t.counter("os.faults.segv"), 0u);

  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.level, 1u);
  ASSERT_EQ(l.path.size(), fc.levels);
  // Non-leaf entries: Linux's _PAGE_TABLE (P, R/W, U/S, A, D), no PS.
  for (unsigned i = 0; i + 1 < fc.levels; ++i) {
    EXPECT_TRUE(has(l.path[i], pte::kP | pte::kRW | pte::kUS | pte::kA)) << "level " << fc.levels - i;
    EXPECT_FALSE(l.path[i] & pte::kPS) << "level " << fc.levels - i;
    EXPECT_FALSE(l.path[i] & pte::kXD) << "level " << fc.levels - i;
  }
  // The PTE: P, R/W, U/S, A, D, and XD for a VMA without PROT_EXEC; nothing else.
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_EQ(l.frame % k4K, 0u);
  EXPECT_GE(l.frame, 1 * kMiB);
  EXPECT_LT(l.frame, 64 * kMiB);
  EXPECT_FALSE(t.os.buddy().is_free(l.frame >> 12));
  for (PAddr a = l.frame; a < l.frame + k4K; a += 8) ASSERT_EQ(t.mem.read64(a), 0u);  // demand-zero
  // Its neighbours in the VMA are still unmapped.
  EXPECT_FALSE(t.at(base + 2 * k4K).present);
  EXPECT_FALSE(t.at(base + 4 * k4K).present);
  // One data page and the tables below the root.
  EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, fc.levels);
  EXPECT_EQ(t.free_pages(), free0 - 1 - (fc.levels - 1));
  EXPECT_EQ(t.counter("os.pgtable_allocs"), 1u + 1 + (fc.levels - 1));  // idle root, pid 1 root, tables
  EXPECT_EQ(t.check_frames({1}), "");

  // A second page under the same page table costs one frame.
  EXPECT_EQ(t.touch(base + 15 * k4K, fc.error_code | pf::kU).result, FaultResult::Handled);
  EXPECT_EQ(t.free_pages(), free0 - 2 - (fc.levels - 1));
  EXPECT_NE(t.at(base + 15 * k4K).frame, l.frame);
  EXPECT_EQ(t.counter("os.faults.minor"), 2u);
  EXPECT_EQ(t.check_frames({1}), "");
}

// Write faults: a read fault maps the zero page instead (ZeroPage below).
INSTANTIATE_TEST_SUITE_P(Write, DemandFault, ::testing::Values(FaultCase{4, pf::kW}, FaultCase{5, pf::kW}),
                         [](const ::testing::TestParamInfo<FaultCase>& i) {
                           return std::string(i.param.levels == 5 ? "La57" : "Level4") +
                                  (i.param.error_code & pf::kW ? "Write" : "Read");
                         });

TEST(OsModel, FiveLevelFaultAboveTheFourLevelHalf) {
  Os t(params(5));
  t.os.switch_to(1);
  const VAddr va = 0x00ff123456789000ull;  // bits 56:48 = 0x0ff: PML5 index 255
  t.os.mmap(va, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  Lookup l = t.at(va);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(t.mem.read64(t.root_of(1) + 255 * 8) & pte::kP, pte::kP);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_THROW(t.os.mmap(1ull << 56, k4K, R, false, false), OsError);
}

TEST(OsModel, LeafRightsFollowTheVma) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R, false, false);
  t.os.mmap(0x10001000, k4K, R | X, false, false);
  t.os.mmap(0x10002000, k4K, R | W | X, false, false);
  t.os.mmap(0x10003000, k4K, X, false, false);  // exec-only: x86 cannot deny reads
  ASSERT_EQ(t.touch(0x10000000, pf::kU).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10001000, pf::kU | pf::kI).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10002000, pf::kU | pf::kW).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10003000, pf::kU | pf::kI).result, FaultResult::Handled);
  const std::uint64_t base = pte::kP | pte::kUS | pte::kA;
  EXPECT_EQ(t.at(0x10000000).entry & ~kAddrBits, base | pte::kXD);
  EXPECT_EQ(t.at(0x10001000).entry & ~kAddrBits, base);
  EXPECT_EQ(t.at(0x10002000).entry & ~kAddrBits, base | pte::kRW | pte::kD);
  EXPECT_EQ(t.at(0x10003000).entry & ~kAddrBits, base);
  EXPECT_EQ(t.counter("os.faults.minor"), 4u);
}

TEST(OsModel, NoXdWithoutNx) {
  OsParams p = params();
  p.nx = false;
  Os t(p);
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x10000000).entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD);
}

TEST(OsModel, FirstUseWithoutSwitchIsPid1) {
  Os t(params());
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  EXPECT_EQ(t.os.current_pid(), 1u);
  ASSERT_NE(t.os.process(1), nullptr);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(1));
}

TEST(OsModel, SpuriousProtectionFaultRepairsTheEntry) {
  // A fault with P = 1 that the VMA allows: the entry is made to agree with
  // the VMA, the stale translation invalidated, and the access retried.
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  Lookup l = t.at(0x10000000);
  t.mem.write64(l.entry_pa, l.entry & ~pte::kRW);  // as if the entry had lost R/W
  t.mmu.clear();
  FaultOutcome o = t.os.handle_fault(0x10000010, pf::kP | pf::kW | pf::kU);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor);
  EXPECT_EQ(t.at(0x10000000).entry, l.entry);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x10000010}));
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- SIGSEGV

enum class Segv { WriteReadOnly, FetchNoExec, NoVma, ProtNone };

class SegvKill : public ::testing::TestWithParam<Segv> {};

TEST_P(SegvKill, KillsTheProcessAndFreesItsFrames) {
  Os t(params());
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(1);
  EXPECT_EQ(t.free_pages(), after_boot - 1);  // the root
  t.os.mmap(0x10000000, 4 * k4K, R | W, false, false);
  t.os.mmap(0x20000000, 4 * k4K, R, false, false);
  t.os.mmap(0x30000000, 4 * k4K, 0, false, false);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.touch(0x10000000 + i * k4K).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x20000000, pf::kU).result, FaultResult::Handled);  // reads are fine
  ASSERT_LT(t.free_pages(), after_boot - 1);
  t.mmu.clear();

  FaultOutcome o;
  switch (GetParam()) {
    case Segv::WriteReadOnly: o = t.os.handle_fault(0x20001000, pf::kU | pf::kW); break;
    case Segv::FetchNoExec: o = t.os.handle_fault(0x10002000, pf::kU | pf::kI | pf::kP); break;
    case Segv::NoVma: o = t.os.handle_fault(0x50000000, pf::kU); break;
    case Segv::ProtNone: o = t.os.handle_fault(0x30000000, pf::kU); break;
  }
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(o.cost_cycles, kMinor);
  EXPECT_NE(o.reason.find("SIGSEGV"), std::string::npos) << o.reason;
  EXPECT_EQ(t.counter("os.faults.segv"), 1u);
  EXPECT_EQ(t.counter("os.faults.minor"), 5u);
  EXPECT_FALSE(t.os.alive(1));
  ASSERT_EQ(t.os.kills().size(), 1u);
  EXPECT_EQ(t.os.kills()[0], o.reason);
  // Everything back: data pages, page tables, and the root.
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.used_pages(), 1u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 0u);
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  // The dead process's root is no longer loaded.
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_THROW(t.os.switch_to(1), OsError);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
  // Another process can run afterwards and reuse the memory.
  t.os.switch_to(2);
  EXPECT_EQ(t.free_pages(), after_boot - 1);
}

INSTANTIATE_TEST_SUITE_P(Causes, SegvKill,
                         ::testing::Values(Segv::WriteReadOnly, Segv::FetchNoExec, Segv::NoVma, Segv::ProtNone),
                         [](const ::testing::TestParamInfo<Segv>& i) {
                           switch (i.param) {
                             case Segv::WriteReadOnly: return "WriteReadOnly";
                             case Segv::FetchNoExec: return "FetchNoExec";
                             case Segv::NoVma: return "NoVma";
                             case Segv::ProtNone: return "ProtNone";
                           }
                           return "?";
                         });

TEST(OsModel, KillingAnotherProcessLeavesTheCurrentOneAlone) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  t.os.switch_to(2);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  EXPECT_NE(t.at(1, 0x10000000).frame, t.at(2, 0x10000000).frame);
  EXPECT_EQ(t.touch(0x20000000).result, FaultResult::Killed);
  EXPECT_TRUE(t.os.alive(1));
  EXPECT_TRUE(t.at(1, 0x10000000).present);
  EXPECT_EQ(t.check_frames({1, 2}), "");
}

// ---------------------------------------------------------------- implicit VMAs

TEST(OsModel, ImplicitVmasCoverTheAligned2MAndMerge) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  ASSERT_EQ(t.touch(0x601234, pf::kU).result, FaultResult::Handled);
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x600000u);
  EXPECT_EQ(vmas.begin()->second.end, 0x800000u);
  EXPECT_TRUE(vmas.begin()->second.implicit);
  EXPECT_EQ(vmas.begin()->second.prot, R | W | X);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 1u);
  EXPECT_TRUE(t.at(0x601000).present);
  // The implicit VMA is rwx, so no XD.
  EXPECT_FALSE(t.at(0x601000).entry & pte::kXD);

  // A touch in the next 2 MiB: a second implicit VMA, merged with the first.
  ASSERT_EQ(t.touch(0x9fffff, pf::kU | pf::kI).result, FaultResult::Handled);
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x600000u);
  EXPECT_EQ(vmas.begin()->second.end, 0xa00000u);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 2u);
  // A touch inside it creates nothing.
  ASSERT_EQ(t.touch(0x700123).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 2u);

  // An @mmap over part of it clips it (MAP_FIXED): the page mapped there goes.
  ASSERT_TRUE(t.at(0x700000).present);
  t.os.mmap(0x700000, 0x10000, R, false, false);
  EXPECT_FALSE(t.at(0x700000).present);
  EXPECT_TRUE(t.at(0x601000).present);
  EXPECT_TRUE(t.at(0x9ff000).present);
  ASSERT_EQ(vmas.size(), 3u);
  auto it = vmas.begin();
  EXPECT_EQ(it->second.start, 0x600000u);
  EXPECT_EQ(it->second.end, 0x700000u);
  EXPECT_TRUE(it->second.implicit);
  ++it;
  EXPECT_EQ(it->second.start, 0x700000u);
  EXPECT_EQ(it->second.end, 0x710000u);
  EXPECT_FALSE(it->second.implicit);
  EXPECT_EQ(it->second.prot, R);
  ++it;
  EXPECT_EQ(it->second.start, 0x710000u);
  EXPECT_EQ(it->second.end, 0xa00000u);
  EXPECT_TRUE(it->second.implicit);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, ImplicitVmasStopAtExistingVmas) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  t.os.mmap(0xc00000, 0x10000, R | W, false, false);   // [0xc00000, 0xc10000)
  t.os.mmap(0xdf0000, 0x10000, R | W, false, false);   // [0xdf0000, 0xe00000)
  ASSERT_EQ(t.touch(0xd00000).result, FaultResult::Handled);
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 3u);
  // The gap between the two @mmap VMAs inside 2 MiB-aligned [0xc00000, 0xe00000).
  auto it = vmas.find(0xc10000);
  ASSERT_NE(it, vmas.end());
  EXPECT_EQ(it->second.end, 0xdf0000u);
  EXPECT_TRUE(it->second.implicit);
  // Below: [0xa00000, 0xc00000), up to the @mmap VMA.
  ASSERT_EQ(t.touch(0xbff000).result, FaultResult::Handled);
  it = vmas.find(0xa00000);
  ASSERT_NE(it, vmas.end());
  EXPECT_EQ(it->second.end, 0xc00000u);
  // An anonymous @mmap VMA next to an implicit one stays separate.
  EXPECT_EQ(vmas.size(), 4u);
}

TEST(OsModel, ImplicitVmasOffMeansSegv) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, false));
  t.os.switch_to(1);
  EXPECT_EQ(t.touch(0x601234).result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 0u);
}

TEST(OsModel, ImplicitVmaNeverAboveUserSpace) {
  Os t(params(4, ThpMode::Never, 64 * kMiB, true));
  t.os.switch_to(1);
  FaultOutcome o = t.touch(1ull << 47, pf::kU);
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.implicit_vmas"), 0u);
  // And the last 2 MiB below the top is a normal implicit VMA.
  t.os.switch_to(2);
  ASSERT_EQ(t.touch((1ull << 47) - 8).result, FaultResult::Handled);
  ASSERT_EQ(t.os.process(2)->vmas.size(), 1u);
  EXPECT_EQ(t.os.process(2)->vmas.begin()->second.end, 1ull << 47);
}

// ---------------------------------------------------------------- transparent huge pages

TEST(OsModel, ThpAlwaysMapsA2MPage) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x40000000;  // 1 GiB-aligned, so 2 MiB-aligned
  t.os.mmap(base, 4 * kMiB, R | W, false, false);
  FaultOutcome o = t.touch(base + 0x123456);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + 512 * kZero);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  EXPECT_EQ(t.counter("os.faults.minor"), 1u);
  Lookup l = t.at(base + 0x123456);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.level, 2u);  // a PDE with PS = 1: no page table below
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kPS | pte::kXD);
  EXPECT_EQ(l.frame % k2M, 0u);
  EXPECT_EQ(l.entry & kAddrBits & (k2M - 1), 0u);  // bits 20:13 are reserved in a 2 MiB PDE
  // The whole 2 MiB translates, the next 2 MiB not yet.
  EXPECT_EQ(t.at(base).frame, l.frame);
  EXPECT_EQ(t.at(base + k2M - 1).frame, l.frame);
  EXPECT_FALSE(t.at(base + k2M).present);
  // Root, PDPT and PD; 512 data frames.
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 3u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 512u);
  EXPECT_EQ(t.free_pages(), free0 - 2 - 512);
  EXPECT_EQ(t.check_frames({1}), "");

  // The second 2 MiB of the VMA, read: do_huge_pmd_anonymous_page() with
  // use_zero_page (Linux's default) and no FAULT_FLAG_WRITE maps the huge
  // zero page read-only (mk_huge_pmd(zero_page, vma->vm_page_prot), no
  // mkwrite, no mkdirty), allocating it on first use (get_huge_zero_page:
  // an order-9 block, zeroed). No huge page for the process, nothing in rss.
  const std::uint64_t free1 = t.free_pages();
  ASSERT_EQ(t.touch(base + k2M, pf::kU).result, FaultResult::Handled);
  Lookup z = t.at(base + k2M + 0x5000);
  EXPECT_EQ(z.level, 2u);
  EXPECT_EQ(z.entry & ~kAddrBits, pte::kP | pte::kUS | pte::kA | pte::kPS | pte::kXD);
  EXPECT_EQ(z.frame, t.os.huge_zero_pfn() << 12);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.huge_maps"), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 512u);
  EXPECT_EQ(t.free_pages(), free1 - 512);  // the huge zero page itself
  EXPECT_EQ(t.check_frames({1}), "");
  // A write into it: do_huge_pmd_wp_page() on the huge zero PMD splits it
  // (__split_huge_zero_page_pmd: a page table of 512 zero-page PTEs) and
  // falls back to the PTE fault, wp_page_copy() of the zero page: one 4 KiB
  // page, no huge page.
  ASSERT_EQ(t.touch(base + k2M + 0x5008, pf::kP | pf::kW | pf::kU).result, FaultResult::Handled);
  Lookup w = t.at(base + k2M + 0x5008);
  EXPECT_EQ(w.level, 1u);
  EXPECT_EQ(w.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  EXPECT_EQ(t.at(base + k2M + 0x6000).frame, OsModel::kZeroPfn << 12);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.huge_splits"), 1u);
  EXPECT_EQ(t.counter("os.zero_page.replaced"), 1u);
  EXPECT_EQ(t.os.process(1)->rss_pages, 513u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);  // + the page table of the split
  EXPECT_EQ(t.free_pages(), free1 - 512 - 1 - 1);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.os.check_invariants(), "");
}

TEST(OsModel, ThpIneligibleVmasUse4KWithoutCountingFallback) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  // Too small: 1 MiB.
  t.os.mmap(0x40000000, 1 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40000000).level, 1u);
  // 4 MiB but not 2 MiB-aligned: [0x80100000, 0x80500000). Only the aligned
  // 2 MiB [0x80200000, 0x80400000) lies inside it.
  t.os.mmap(0x80100000, 4 * kMiB, R | W, false, false);
  FaultOutcome o = t.touch(0x80100000);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.at(0x80100000).level, 1u);
  ASSERT_EQ(t.touch(0x804ff000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x804ff000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
  ASSERT_EQ(t.touch(0x80300000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x80300000).level, 2u);
  EXPECT_EQ(t.at(0x80300000).frame, t.at(0x80200000).frame);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  // File-backed VMAs never get anonymous huge pages.
  t.os.mmap(0xc0000000, 4 * kMiB, R | W, true, false);
  ASSERT_EQ(t.touch(0xc0000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0xc0000000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, ThpSkipsA2MRangeThatAlreadyHasAPageTable) {
  // do_huge_pmd_anonymous_page only runs on an empty PMD.
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  t.os.mmap(0x40000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);  // 4 KiB: too small
  t.os.mmap(0x40001000, 4 * kMiB - k4K, R | W, false, false);  // merges: [0x40000000, 0x40400000) rw
  ASSERT_EQ(t.os.process(1)->vmas.size(), 1u);
  ASSERT_EQ(t.touch(0x40100000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40100000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.fallback"), 0u);
  ASSERT_EQ(t.touch(0x40200000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40200000).level, 2u);
}

TEST(OsModel, ThpMadviseOnlyWithTheAdvice) {
  Os t(params(4, ThpMode::Madvise));
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 4 * kMiB, R | W, false, false);
  t.os.mmap(0x80000000, 4 * kMiB, R | W, false, true);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x80000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x40000000).level, 1u);
  EXPECT_EQ(t.at(0x80000000).level, 2u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
}

TEST(OsModel, ThpNeverIgnoresTheAdvice) {
  Os t(params(4, ThpMode::Never));
  t.os.switch_to(1);
  t.os.mmap(0x80000000, 4 * kMiB, R | W, false, true);
  ASSERT_EQ(t.touch(0x80000000).result, FaultResult::Handled);
  EXPECT_EQ(t.at(0x80000000).level, 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
}

TEST(OsModel, ThpFallsBackWhenNoOrder9BlockIsLeft) {
  // 8 MiB = 2048 frames: boot blocks [0, 1024) and [1024, 2048) of order 10.
  // Reserving frames 0..255 leaves [256, 512) order 8 and [512, 1024) order 9.
  // Page tables come from the order-8 piece, so exactly three order-9 blocks
  // can be had: frame 512, then 1024 and 1536 (splitting the order-10 block).
  Os t(params(4, ThpMode::Always, 8 * kMiB));
  t.os.switch_to(1);
  EXPECT_EQ(t.free_pages(), 2048u - 256 - 1 - 1);
  const VAddr base = 0x40000000;
  t.os.mmap(base, 16 * kMiB, R | W, false, false);
  const PAddr expect[] = {512 * k4K, 1024 * k4K, 1536 * k4K};
  for (int i = 0; i < 3; ++i) {
    FaultOutcome o = t.touch(base + i * k2M + 0x1000);
    EXPECT_EQ(o.cost_cycles, kMinor + 512 * kZero);
    Lookup l = t.at(base + i * k2M);
    EXPECT_EQ(l.level, 2u);
    EXPECT_EQ(l.frame, expect[i]) << i;
  }
  EXPECT_EQ(t.counter("os.thp.alloc"), 3u);
  EXPECT_EQ(t.os.buddy().free_blocks(9), 0u);
  EXPECT_EQ(t.os.buddy().free_blocks(10), 0u);
  // 1790 - PDPT - PD - 3 * 512.
  EXPECT_EQ(t.free_pages(), 1790u - 2 - 1536);

  FaultOutcome o = t.touch(base + 3 * k2M + 0x5000);
  EXPECT_EQ(o.result, FaultResult::Handled);
  EXPECT_EQ(o.cost_cycles, kMinor + kZero);
  EXPECT_EQ(t.counter("os.thp.fallback"), 1u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 3u);
  EXPECT_EQ(t.at(base + 3 * k2M + 0x5000).level, 1u);
  EXPECT_EQ(t.free_pages(), 1790u - 2 - 1536 - 2);  // a page table and the page
  EXPECT_EQ(t.counter("os.faults.minor"), 4u);
  // The next page of that 2 MiB already has a page table: not eligible, not counted.
  ASSERT_EQ(t.touch(base + 3 * k2M + 0x6000).result, FaultResult::Handled);
  EXPECT_EQ(t.counter("os.thp.fallback"), 1u);
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- munmap

TEST(OsModel, MunmapFreesFramesAndEmptyTables) {
  Os t(params());
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.mmap(0x10000000, 64 * k4K, R | W, false, false);
  for (int i : {0, 1, 2, 40}) ASSERT_EQ(t.touch(0x10000000 + i * k4K).result, FaultResult::Handled);
  EXPECT_EQ(t.free_pages(), free0 - 3 - 4);  // PDPT, PD, PT and four pages
  // Unmapping one page frees only it.
  t.os.munmap(0x10001000, k4K);
  EXPECT_EQ(t.free_pages(), free0 - 3 - 3);
  EXPECT_FALSE(t.at(0x10001000).present);
  EXPECT_TRUE(t.at(0x10002000).present);
  EXPECT_EQ(t.os.process(1)->vmas.size(), 2u);  // the hole splits the VMA
  // Unmapping the rest frees the pages and the now empty PT, PD and PDPT.
  t.os.munmap(0x10000000, 64 * k4K);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  EXPECT_EQ(t.os.process(1)->rss_pages, 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 1u);
  for (unsigned i = 0; i < 512; ++i) ASSERT_EQ(t.mem.read64(t.root_of(1) + i * 8), 0u);
  EXPECT_EQ(t.check_frames({1}), "");
  // The unmapped range faults as outside every VMA now.
  EXPECT_EQ(t.touch(0x10000000).result, FaultResult::Killed);
}

TEST(OsModel, MunmapKeepsTablesStillInUse) {
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 1024 * k4K, R | W, false, false);  // two page tables' worth
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x10200000).result, FaultResult::Handled);
  const std::uint64_t free1 = t.free_pages();
  t.os.munmap(0x10200000, k4K);
  // Linux 6.1 unmap_region() -> free_pgtables(tlb, mt, vma, prev ? prev->vm_end
  // : FIRST_USER_ADDRESS, next ? next->vm_start : USER_PGTABLES_CEILING) ->
  // free_pte_range only for a PMD whose 2 MiB lies within [floor, ceiling):
  // here floor = 0x10200000 (the end of the VMA below) and ceiling =
  // 0x10201000 (the rest of the split VMA), so the PT of [0x10200000,
  // 0x10400000) stays although it maps nothing now: only the page is freed.
  EXPECT_EQ(t.free_pages(), free1 + 1);
  EXPECT_TRUE(t.at(0x10000000).present);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);  // PML4, PDPT, PD, two PTs
  EXPECT_EQ(t.check_frames({1}), "");
  // Unmapping the rest of that 2 MiB leaves nothing above the floor: the PT
  // goes (floor 0x10200000, ceiling USER_PGTABLES_CEILING).
  t.os.munmap(0x10201000, 511 * k4K);
  EXPECT_EQ(t.free_pages(), free1 + 2);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MunmapShootdownInvlpgUpTo33Pages) {
  // Linux's tlb_single_page_flush_ceiling: up to 33 pages one INVLPG each,
  // more than that a full flush (here a CR3 reload).
  Os t(params());
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 256 * k4K, R | W, false, false);
  t.mmu.clear();
  t.os.munmap(0x10000000, 33 * k4K);
  ASSERT_EQ(t.mmu.invlpgs.size(), 33u);
  for (unsigned i = 0; i < 33; ++i) EXPECT_EQ(t.mmu.invlpgs[i], 0x10000000 + i * k4K);
  EXPECT_TRUE(t.mmu.cr3_writes.empty());
  t.mmu.clear();
  t.os.munmap(0x10040000, 34 * k4K);
  EXPECT_TRUE(t.mmu.invlpgs.empty());
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.root_of(1)}));
  // A length that is not a whole number of pages is rounded up: 1 byte = 1 page.
  t.mmu.clear();
  t.os.munmap(0x10080000, 1);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x10080000}));
}

TEST(OsModel, MunmapOfPartOfA2MPageSplitsIt) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  const VAddr base = 0x40000000;
  t.os.mmap(base, 4 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(base).result, FaultResult::Handled);
  const PAddr huge = t.at(base).frame;
  ASSERT_EQ(t.at(base).level, 2u);
  const std::uint64_t free1 = t.free_pages();
  t.mmu.clear();

  t.os.munmap(base + 10 * k4K, k4K);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{base + 10 * k4K}));
  // A new page table (one frame) replaces the PDE; one data frame goes back.
  EXPECT_EQ(t.free_pages(), free1);
  EXPECT_EQ(t.os.process(1)->rss_pages, 511u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  EXPECT_TRUE(t.os.buddy().is_free((huge >> 12) + 10));
  for (unsigned i = 0; i < 512; ++i) {
    Lookup l = t.at(base + i * k4K);
    if (i == 10) {
      EXPECT_FALSE(l.present);
      EXPECT_EQ(l.entry, 0u);
      continue;
    }
    ASSERT_TRUE(l.present) << i;
    ASSERT_EQ(l.level, 1u) << i;
    // The same frames as before, now as 4 KiB PTEs with the same rights (no PS:
    // bit 7 of a PTE is PAT).
    ASSERT_EQ(l.frame, huge + i * k4K) << i;
    ASSERT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD) << i;
  }
  EXPECT_EQ(t.check_frames({1}), "");
  // The hole faults as outside every VMA; the rest of the VMA still works.
  ASSERT_EQ(t.os.process(1)->vmas.size(), 2u);
  // Unmapping everything returns every frame, the split ones one by one.
  t.os.munmap(base, 4 * kMiB);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MunmapOfAWhole2MPageFreesTheBlock) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.mmap(0x40000000, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.at(0x40000000).level, 2u);
  t.mmu.clear();
  t.os.munmap(0x40000000, 2 * kMiB);
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_TRUE(t.mmu.invlpgs.empty());
  EXPECT_EQ(t.mmu.cr3_writes.size(), 1u);  // 512 pages: a full flush
}

TEST(OsModel, BadRangesAreOsErrors) {
  Os t(params());
  t.os.switch_to(1);
  EXPECT_THROW(t.os.munmap(0x10000001, k4K), OsError);
  EXPECT_THROW(t.os.munmap(0x10000000, 0), OsError);
  EXPECT_THROW(t.os.mmap(0x10000800, k4K, R, false, false), OsError);
  EXPECT_THROW(t.os.mmap((1ull << 47) - k4K, 2 * k4K, R, false, false), OsError);
  EXPECT_THROW(t.os.mprotect(0x10000000, 0, R), OsError);
  EXPECT_NO_THROW(t.os.mmap((1ull << 47) - k4K, k4K, R, false, false));
}

// ---------------------------------------------------------------- mprotect

TEST(OsModel, MprotectReadOnlyClearsRw) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 8 * k4K, R | W, false, false);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  std::vector<PAddr> frames;
  for (int i = 0; i < 8; ++i) frames.push_back(t.at(base + i * k4K).frame);
  t.mmu.clear();
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{base + 2 * k4K, base + 3 * k4K, base + 4 * k4K}));
  for (int i = 0; i < 8; ++i) {
    Lookup l = t.at(base + i * k4K);
    ASSERT_TRUE(l.present);
    EXPECT_EQ(l.frame, frames[static_cast<std::size_t>(i)]);  // same pages, new rights
    const bool ro = i >= 2 && i < 5;
    EXPECT_EQ((l.entry & pte::kRW) != 0, !ro) << i;
    EXPECT_TRUE(l.entry & pte::kXD);
  }
  EXPECT_EQ(t.os.process(1)->vmas.size(), 3u);
  // A write to the read-only part is a protection fault now: SIGSEGV.
  EXPECT_EQ(t.touch(base + 3 * k4K, pf::kP | pf::kW | pf::kU).result, FaultResult::Killed);
  EXPECT_EQ(t.counter("os.faults.segv"), 1u);
}

TEST(OsModel, MprotectBackMergesTheVma) {
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 8 * k4K, R | W, false, false);
  ASSERT_EQ(t.touch(base + 3 * k4K).result, FaultResult::Handled);
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R);
  t.os.mprotect(base + 2 * k4K, 3 * k4K, R | W);
  ASSERT_EQ(t.os.process(1)->vmas.size(), 1u);
  EXPECT_EQ(t.os.process(1)->vmas.begin()->second.end, base + 8 * k4K);
  EXPECT_TRUE(t.at(base + 3 * k4K).entry & pte::kRW);
  // mprotect adding PROT_EXEC drops XD.
  t.os.mprotect(base, 8 * k4K, R | W | X);
  EXPECT_FALSE(t.at(base + 3 * k4K).entry & pte::kXD);
}

TEST(OsModel, MprotectNoneMakesPagesInaccessibleButKeepsThem) {
  // Linux keeps a PROT_NONE page's frame in a not-present PTE (_PAGE_PROTNONE):
  // the hardware must fault on any access, and mprotect back restores it.
  Os t(params());
  t.os.switch_to(1);
  const VAddr base = 0x10000000;
  t.os.mmap(base, 4 * k4K, R | W, false, false);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  const PAddr frame = t.at(base + k4K).frame;
  const std::uint64_t free1 = t.free_pages();
  t.os.mprotect(base + k4K, k4K, 0);
  EXPECT_FALSE(t.at(base + k4K).present);  // P = 0: every access faults
  EXPECT_TRUE(t.at(base).present);
  EXPECT_EQ(t.free_pages(), free1);
  EXPECT_EQ(t.os.process(1)->rss_pages, 4u);
  EXPECT_EQ(t.check_frames({1}), "");
  t.os.mprotect(base + k4K, k4K, R | W);
  Lookup l = t.at(base + k4K);
  ASSERT_TRUE(l.present);
  EXPECT_EQ(l.frame, frame);
  EXPECT_EQ(l.entry & ~kAddrBits, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD);
  // PROT_NONE again, then unmap: the kept frame is freed too.
  t.os.mprotect(base, 4 * k4K, 0);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(t.at(base + i * k4K).present);
  t.os.munmap(base, 4 * k4K);
  EXPECT_EQ(t.free_pages(), free1 + 4 + 3);  // four pages, PT, PD, PDPT
  EXPECT_EQ(t.check_frames({1}), "");
}

TEST(OsModel, MprotectNoneOfAProcessThatDiesFreesTheKeptFrames) {
  Os t(params(4, ThpMode::Always));
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 4 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x40000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x40200000).result, FaultResult::Handled);
  t.os.mprotect(0x40000000, 2 * kMiB, 0);   // a whole 2 MiB page
  t.os.mprotect(0x40200000, k4K, 0);        // part of the other: split
  EXPECT_FALSE(t.at(0x40000000).present);
  EXPECT_FALSE(t.at(0x40200000).present);
  EXPECT_TRUE(t.at(0x40201000).present);
  EXPECT_EQ(t.check_frames({1}), "");
  EXPECT_EQ(t.touch(0x40000000, pf::kU).result, FaultResult::Killed);
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
}

TEST(OsModel, MprotectPartOfA2MPageSplitsIt) {
  Os t(params(4, ThpMode::Always));
  t.os.switch_to(1);
  const VAddr base = 0x40000000;
  t.os.mmap(base, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(base).result, FaultResult::Handled);
  const PAddr huge = t.at(base).frame;
  t.os.mprotect(base + k2M - k4K, k4K, R);
  EXPECT_EQ(t.at(base).level, 1u);
  EXPECT_EQ(t.at(base).frame, huge);
  EXPECT_TRUE(t.at(base).entry & pte::kRW);
  Lookup last = t.at(base + k2M - k4K);
  EXPECT_EQ(last.frame, huge + k2M - k4K);
  EXPECT_FALSE(last.entry & pte::kRW);
  EXPECT_EQ(t.check_frames({1}), "");
}

// ---------------------------------------------------------------- brk

TEST(OsModel, BrkGrowsAndShrinksTheHeap) {
  Os t(params());
  t.os.switch_to(1);
  const std::uint64_t free0 = t.free_pages();
  t.os.brk(0x1000000);  // the first @brk names the initial break: an empty heap
  EXPECT_TRUE(t.os.process(1)->vmas.empty());
  EXPECT_TRUE(t.os.process(1)->has_brk);
  EXPECT_EQ(t.os.process(1)->brk_start, 0x1000000u);

  t.os.brk(0x1002345);  // rounded up to a page
  const auto& vmas = t.os.process(1)->vmas;
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.start, 0x1000000u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1003000u);
  EXPECT_EQ(vmas.begin()->second.prot, R | W);
  EXPECT_EQ(t.os.process(1)->brk_end, 0x1003000u);
  ASSERT_EQ(t.touch(0x1000000).result, FaultResult::Handled);
  ASSERT_EQ(t.touch(0x1002ff8).result, FaultResult::Handled);

  t.os.brk(0x1005000);  // grows: still one VMA
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1005000u);

  t.mmu.clear();
  t.os.brk(0x1001000);  // shrinks: the pages above the new break are unmapped
  ASSERT_EQ(vmas.size(), 1u);
  EXPECT_EQ(vmas.begin()->second.end, 0x1001000u);
  EXPECT_TRUE(t.at(0x1000000).present);
  EXPECT_FALSE(t.at(0x1002000).present);
  EXPECT_EQ(t.mmu.invlpgs, (std::vector<VAddr>{0x1001000, 0x1002000, 0x1003000, 0x1004000}));
  EXPECT_EQ(t.check_frames({1}), "");

  EXPECT_THROW(t.os.brk(0xfff000), OsError);  // below the start of the heap
  t.os.brk(0x1000000);  // back to empty
  EXPECT_TRUE(vmas.empty());
  EXPECT_EQ(t.free_pages(), free0);
  EXPECT_EQ(t.touch(0x1000000).result, FaultResult::Killed);  // no heap there any more
}

// ---------------------------------------------------------------- exit

TEST(OsModel, ExitFreesEverything) {
  Os t(params(4, ThpMode::Always));
  const std::uint64_t after_boot = t.free_pages();
  t.os.switch_to(2);
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  ASSERT_EQ(t.touch(0x10000000).result, FaultResult::Handled);
  const std::uint64_t with2 = t.free_pages();
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 8 * kMiB, R | W, false, false);
  t.os.mmap(0x7f0000000000ull, 40 * k4K, R | W, false, false);
  for (VAddr va = 0x40000000; va < 0x40800000; va += k2M) ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(t.touch(0x7f0000000000ull + i * k4K).result, FaultResult::Handled);
  t.os.brk(0x2000000);
  t.os.brk(0x2100000);
  ASSERT_EQ(t.touch(0x2000000).result, FaultResult::Handled);
  t.os.munmap(0x40001000, k4K);  // a split 2 MiB page too
  t.mmu.clear();
  t.os.exit_current();
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_TRUE(t.os.alive(2));
  EXPECT_TRUE(t.os.kills().empty());  // a normal exit is not a kill
  EXPECT_EQ(t.free_pages(), with2);
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root()}));
  EXPECT_THROW(t.os.switch_to(1), OsError);
  EXPECT_EQ(t.check_frames({1, 2}), "");
  t.os.switch_to(2);
  t.os.exit_current();
  EXPECT_EQ(t.free_pages(), after_boot);
  EXPECT_EQ(t.os.used_pages(), 1u);
  EXPECT_EQ(t.formula("os.pgtable_pages"), 1.0);
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
}

// ---------------------------------------------------------------- out of memory

TEST(OsModel, OomKillsTheLargestProcessThenTheFaultingOne) {
  // 8 MiB: 2048 - 256 reserved - 1 idle root = 1791 free frames.
  Os t(params(4, ThpMode::Never, 8 * kMiB));
  ASSERT_EQ(t.free_pages(), 1791u);
  const VAddr base = 0x40000000;  // 1 GiB-aligned: one PDPT, one PD, a PT per 2 MiB
  // pid 1: its task_struct (an order-3 slab, 8 frames), mm_struct (order 2,
  // 4 frames) and first vm_area_struct (one page) take 13 frames from the
  // buddy allocator; root, PDPT, PD, 2 PTs and 1000 pages = 1005 frames.
  t.os.switch_to(1);
  t.os.mmap(base, 1000 * k4K, R | W, false, false);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  EXPECT_EQ(t.os.buddy().free_pages(), 1791u - 13 - 1005);

  // A user page (GFP_HIGHUSER) never takes the zone below its min watermark
  // (__alloc_pages_slowpath has no ALLOC_HARDER/ALLOC_NO_WATERMARKS for it):
  // 8 MiB is one DMA zone of 1792 managed pages; min_free_kbytes =
  // int_sqrt(1792 * 4 * 16) = 338, pages_min = 84 = the zone's min, and
  // __zone_watermark_ok needs free > 84 before an order-0 allocation.
  // pid 2: its kernel objects fit in pid 1's slabs; its root leaves 772, of
  // which 772 - 84 = 688 can be taken: k pages (512 < k <= 1024) need PDPT,
  // PD and 2 PTs, so pages 1..684 fit (684 + 4 = 688); page 685 finds the
  // zone at min, and the OOM killer picks pid 1 (oom_badness: 1000 pages + 4
  // accounted tables = 1004 against pid 2's 684 + 4 = 688).
  t.os.switch_to(2);
  t.os.mmap(base, 2000 * k4K, R | W, false, false);
  int k = 1;
  for (; k <= 684; ++k) ASSERT_EQ(t.touch(base + (k - 1) * k4K).result, FaultResult::Handled) << k;
  EXPECT_EQ(t.os.buddy().free_pages(), 84u);
  EXPECT_EQ(t.counter("os.oom_kills"), 0u);
  EXPECT_EQ(t.check_frames({1, 2}), "");
  EXPECT_EQ(t.touch(base + (k - 1) * k4K).result, FaultResult::Handled);  // page 685
  ++k;
  EXPECT_EQ(t.counter("os.oom_kills"), 1u);
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_TRUE(t.os.alive(2));
  ASSERT_EQ(t.os.kills().size(), 1u);
  EXPECT_NE(t.os.kills()[0].find("process 1"), std::string::npos) << t.os.kills()[0];
  EXPECT_NE(t.os.kills()[0].find("out of memory"), std::string::npos) << t.os.kills()[0];
  EXPECT_EQ(t.os.buddy().free_pages(), 84u + 1005 - 1);  // pid 1's 1005 frames back, page 685 taken
  EXPECT_EQ(t.check_frames({1, 2}), "");
  // pid 2 alone: 1088 - 84 = 1004 more frames, for pages 686..N and PT3
  // (page 1025) and PT4 (page 1537): N - 685 + 2 = 1004, N = 1687.
  for (; k <= 1687; ++k) ASSERT_EQ(t.touch(base + (k - 1) * k4K).result, FaultResult::Handled) << k;
  EXPECT_EQ(t.os.buddy().free_pages(), 84u);
  EXPECT_EQ(t.check_frames({1, 2}), "");
  FaultOutcome o = t.touch(base + (k - 1) * k4K);  // page 1688: pid 2 itself is the largest
  EXPECT_EQ(o.result, FaultResult::Killed);
  EXPECT_EQ(o.cost_cycles, kMinor);
  EXPECT_NE(o.reason.find("out of memory"), std::string::npos) << o.reason;
  EXPECT_EQ(t.counter("os.oom_kills"), 2u);
  EXPECT_EQ(t.counter("os.faults.segv"), 0u);
  EXPECT_FALSE(t.os.alive(2));
  EXPECT_EQ(t.free_pages(), 1791u);  // the 13 slab frames stay with their (empty) caches
  EXPECT_EQ(t.check_frames({1, 2}), "");
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
}

TEST(OsModel, OomWhileCreatingAProcessKillsTheLargest) {
  // pid 1 takes every frame down to the zone's min watermark (84, see
  // OomKillsTheLargestProcessThenTheFaultingOne): of 1791, 13 slab frames
  // (task_struct, mm_struct, vm_area_struct), root, PDPT, PD, 4 PTs and
  // 1687 pages = 1707 = 1791 - 84. Creating pid 2 then needs a root (a
  // GFP_PGTABLE_USER page, never below min); the only candidate is pid 1.
  Os t(params(4, ThpMode::Never, 8 * kMiB));
  t.os.switch_to(1);
  const VAddr base = 0x40000000;
  t.os.mmap(base, 2000 * k4K, R | W, false, false);
  for (int i = 0; i < 1687; ++i) ASSERT_EQ(t.touch(base + i * k4K).result, FaultResult::Handled);
  ASSERT_EQ(t.os.buddy().free_pages(), 84u);
  t.os.switch_to(2);
  EXPECT_EQ(t.counter("os.oom_kills"), 1u);
  EXPECT_FALSE(t.os.alive(1));
  EXPECT_EQ(t.os.current_pid(), 2u);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(2));
  EXPECT_EQ(t.free_pages(), 1791u - 1);
  EXPECT_EQ(t.check_frames({1, 2}), "");
}

// A deterministic mix of mmap, faults (4K and 2M), munmap, mprotect
// (PROT_NONE included), brk, switches and exits over a small memory; the
// frame invariant is checked after every step. Returns the counters that
// show what was exercised.
std::map<std::string, std::uint64_t> many_processes(std::uint64_t memory) {
  Os t(params(4, ThpMode::Always, memory, true));
  std::mt19937_64 rng(12345);
  std::vector<std::uint32_t> pids;  // every pid used, once
  std::uint32_t next_pid = 1;
  int os_errors = 0;
  for (int step = 0; step < 1000; ++step) {
    const std::uint64_t r = rng();
    const unsigned op = static_cast<unsigned>(r % 16);
    if (op == 0 || !t.os.alive(t.os.current_pid()) || pids.empty()) {
      std::uint32_t pid = (pids.empty() || rng() % 3 == 0) ? next_pid++ : pids[rng() % pids.size()];
      if (!t.os.alive(pid)) pid = next_pid++;
      t.os.switch_to(pid);
      if (std::find(pids.begin(), pids.end(), pid) == pids.end()) pids.push_back(pid);
      continue;
    }
    const VAddr va = 0x40000000 + (rng() % 64) * 0x40000 + (rng() % 64) * k4K;
    try {
      if (op <= 11) {
        // What the walker would report: nothing for a permitted access to a
        // present page, P = 1 for a write it denies, P = 0 otherwise.
        const bool write = rng() % 4 != 0;  // mostly writes: reads map the zero pages and allocate nothing
        Lookup l = t.at(va);
        if (!l.present) t.touch(va, pf::kU | (write ? pf::kW : 0));
        else if (write && !(l.entry & pte::kRW)) t.touch(va, pf::kU | pf::kW | pf::kP);
      } else if (op == 12) {
        t.os.munmap(va, (1 + rng() % 600) * k4K);
      } else if (op == 13) {
        t.os.mprotect(va, (1 + rng() % 600) * k4K, static_cast<std::uint8_t>(rng() % 8));
      } else if (op == 14) {
        t.os.mmap(va & ~(k2M - 1), (1 + rng() % 4) * k2M, R | W, false, rng() % 2);
      } else if (rng() % 2) {
        t.os.brk(0x10000000 + (rng() % 16) * 0x10000);
      } else if (rng() % 4 == 0) {
        t.os.exit_current();
      }
    } catch (const OsError&) {
      ++os_errors;  // a @brk below the heap start, say: rejected like a bad trace event
    }
    const std::string e = t.check_frames(pids);
    EXPECT_EQ(e, "") << "step " << step;
    if (!e.empty()) return {};
  }
  EXPECT_EQ(t.os.buddy().check_invariants(), "");
  EXPECT_EQ(t.os.check_invariants(), "");
  EXPECT_GT(pids.size(), 3u);
  ::testing::Test::RecordProperty("os_errors", os_errors);
  std::map<std::string, std::uint64_t> c;
  for (const char* k : {"os.thp.alloc", "os.thp.fallback", "os.oom_kills", "os.faults.segv", "os.faults.minor",
                        "os.zero_page.maps", "os.zero_page.huge_maps", "os.zero_page.replaced",
                        "os.zero_page.huge_splits"})
    c[k] = t.counter(k);
  return c;
}

TEST(OsModel, ManyProcessesNeverShareAFrame) {
  // 4 MiB runs out of memory often (the huge zero page alone is 2 MiB of
  // it); 8 MiB leaves room for 2 MiB pages. Together they exercise both.
  auto small = many_processes(4 * kMiB), large = many_processes(8 * kMiB);
  for (const char* k : {"os.thp.alloc", "os.thp.fallback", "os.oom_kills", "os.faults.segv", "os.zero_page.maps",
                        "os.zero_page.huge_maps", "os.zero_page.replaced", "os.zero_page.huge_splits"})
    EXPECT_GT(small[k] + large[k], 0u) << k;
  EXPECT_GT(small["os.oom_kills"], 0u);
  EXPECT_GT(large["os.thp.alloc"], 0u);
  EXPECT_GT(small["os.faults.minor"], 100u);
}

// ---------------------------------------------------------------- statistics

TEST(OsModel, StatisticNamesAreTheContract) {
  Os t(params());
  // DESIGN.md section 8.
  for (const char* c : {"os.faults.minor", "os.faults.major", "os.faults.segv", "os.faults.cow", "os.thp.alloc",
                        "os.thp.fallback", "os.oom_kills"})
    EXPECT_NO_THROW(t.counter(c)) << c;
  for (const char* f : {"os.pgtable_pages", "os.buddy.free_pages"}) EXPECT_NO_THROW(t.formula(f)) << f;
}

TEST(OsModel, BuddyinfoStatisticsFollowTheAllocator) {
  Os t(params(4, ThpMode::Always));
  auto check = [&] {
    for (unsigned o = 0; o <= 10; ++o)
      EXPECT_EQ(t.formula("os.buddy.free_blocks." + std::to_string(o)),
                static_cast<double>(t.os.buddy().free_blocks(o)))
          << "order " << o;
    EXPECT_EQ(t.root.find("os.buddy.free_blocks.11"), nullptr);
    EXPECT_EQ(t.formula("os.buddy.free_pages"), static_cast<double>(t.os.buddy().free_pages()));
  };
  check();
  // At boot (see the top of this file): DMA has [256, 512) order 8, [512, 1024)
  // order 9 and 3 order-10 blocks; DMA32 has [4097] .. [4608, 5120), one block
  // each of orders 0..9 after the idle root, and 11 order-10 blocks.
  EXPECT_EQ(t.formula("os.buddy.free_blocks.10"), 14.0);
  EXPECT_EQ(t.formula("os.buddy.free_blocks.9"), 2.0);
  EXPECT_EQ(t.formula("os.buddy.free_blocks.8"), 2.0);
  for (unsigned o = 0; o <= 7; ++o) EXPECT_EQ(t.formula("os.buddy.free_blocks." + std::to_string(o)), 1.0) << o;
  t.os.switch_to(1);
  t.os.mmap(0x40000000, 8 * kMiB, R | W, false, false);
  for (VAddr va = 0x40000000; va < 0x40800000; va += k2M) t.touch(va);
  t.os.mmap(0x80000000, 3 * kMiB, R | W, false, false);  // [0x80200000, 0x80300000) cannot be huge
  for (VAddr va = 0x80200000; va < 0x80300000; va += k4K) t.touch(va);
  check();
  t.os.munmap(0x40000000, 3 * kMiB);
  check();
}

}  // namespace
}  // namespace mmusim

// ---------------------------------------------------------------- 32-bit modes and PCIDs
//
// The tables are read back with the layouts of SDM 4.3 (32-bit paging:
// PDE index = va bits 31:22, PTE index = bits 21:12, 4-byte entries, a
// 4 MiB page's frame = PDE bits 31:22) and 4.4 (PAE: PDPTE index = bits
// 31:30, PDE index = bits 29:21, PTE index = bits 20:12, 8-byte entries;
// a PDPTE has only P and the address, bits 2:1 and 8:5 being reserved).

namespace mmusim {
namespace {

OsParams params32(PagingMode mode, ThpMode thp = ThpMode::Never, bool pse = true,
                  std::uint64_t memory = 64 * kMiB) {
  OsParams p = params(4, thp, memory, true);
  p.mode = mode;
  p.pse = pse;
  return p;
}

TEST(OsModel32, Ia32BuildsFourByteEntries) {
  Os t(params32(PagingMode::Ia32));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr root = t.root_of(1);
  ASSERT_EQ(t.mmu.cr3_writes.back(), root);
  const VAddr va = 0x10345010;
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const std::uint64_t pde = t.mem.read(root + (va >> 22) * 4, 4);
  EXPECT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  EXPECT_FALSE(pde & pte::kPS);
  // 1024 entries of 4 bytes: the next PDE (4 bytes on) stays empty.
  EXPECT_EQ(t.mem.read(root + ((va >> 22) + 1) * 4, 4), 0u);
  const PAddr pt = pde & 0xfffff000;
  const std::uint64_t e = t.mem.read(pt + ((va >> 12) & 0x3ff) * 4, 4);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD));
  EXPECT_NE(e & 0xfffff000, 0u);
  // A 4-byte PTE whose neighbours are empty: nothing spilled into them.
  EXPECT_EQ(t.mem.read(pt + (((va >> 12) & 0x3ff) + 1) * 4, 4), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 2u);  // the page directory and one page table
}

TEST(OsModel32, Ia32WithPseMapsA4MPageAndWithoutPseDoesNot) {
  for (bool pse : {true, false}) {
    Os t(params32(PagingMode::Ia32, ThpMode::Always, pse));
    t.os.switch_to(1);
    t.os.mmap(0x10000000, 4 * kMiB, R | W, false, false);
    ASSERT_EQ(t.touch(0x10123456).result, FaultResult::Handled);
    const std::uint64_t pde = t.mem.read(t.root_of(1) + (0x10000000 >> 22) * 4, 4);
    ASSERT_TRUE(pde & pte::kP);
    if (pse) {
      EXPECT_TRUE(pde & pte::kPS);
      EXPECT_EQ(pde & 0x3ff000, 0u);  // bits 21:12 of the frame: 4 MiB aligned (PAT bit 12 clear)
      EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1024u);
    } else {
      EXPECT_FALSE(pde & pte::kPS);
      EXPECT_EQ(t.counter("os.thp.alloc"), 0u);
      EXPECT_EQ(t.os.process(1)->rss_pages, 1u);
    }
  }
}

TEST(OsModel32, Ia32UsesTheFirst4GiBOnly) {
  Os t(params32(PagingMode::Ia32, ThpMode::Never, true, 8 * kGiB));
  EXPECT_EQ(t.os.buddy().num_pages(), 4 * kGiB / k4K);
}

TEST(OsModel32, PaeBuildsAPdptWithPreallocatedPageDirectories) {
  Os t(params32(PagingMode::Pae));
  EXPECT_EQ(t.os.user_top(), 0xC0000000u);
  t.os.switch_to(1);
  const PAddr pdpt = t.root_of(1);
  EXPECT_EQ(pdpt % 32, 0u);
  EXPECT_LT(pdpt, 4 * kGiB);
  // Three user PDPTEs present with P only; the kernel quarter empty.
  for (unsigned i = 0; i < 3; ++i) {
    const std::uint64_t e = t.mem.read64(pdpt + i * 8);
    EXPECT_EQ(e & 0xfff, pte::kP) << i;
    EXPECT_NE(e & kAddrBits, 0u) << i;
  }
  EXPECT_EQ(t.mem.read64(pdpt + 3 * 8), 0u);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> before{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};

  const VAddr va = 0x10345010;
  t.os.mmap(0x10345000, k4K, R | W, false, false);  // not executable: XD with NXE
  ASSERT_EQ(t.touch(va).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(pdpt + (va >> 30) * 8) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((va >> 21) & 511) * 8);
  ASSERT_TRUE(has(pde, pte::kP | pte::kRW | pte::kUS | pte::kA));
  const std::uint64_t e = t.mem.read64((pde & kAddrBits) + ((va >> 12) & 511) * 8);
  EXPECT_TRUE(has(e, pte::kP | pte::kRW | pte::kUS | pte::kA | pte::kD | pte::kXD));
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 5u);

  // Unmapping frees the page table but never a page directory: the PDPTE
  // registers were loaded at the MOV to CR3 and must stay right.
  t.os.munmap(0x10345000, k4K);
  EXPECT_EQ(t.os.process(1)->pgtable_pages, 4u);
  const std::vector<std::uint64_t> after{t.mem.read64(pdpt), t.mem.read64(pdpt + 8), t.mem.read64(pdpt + 16)};
  EXPECT_EQ(after, before);
  t.os.exit_current();
  // Only the idle PDPT is left, and it is a pgd_cache slab object: the
  // slab owns its page, which used_pages() leaves out.
  EXPECT_EQ(t.os.used_pages(), 0u);
  EXPECT_EQ(t.idle_root() % 32, 0u);
  EXPECT_LT(t.idle_root(), 1ull << 32);
}

TEST(OsModel32, PaeTwoMegPages) {
  Os t(params32(PagingMode::Pae, ThpMode::Always));
  t.os.switch_to(1);
  t.os.mmap(0x10000000, 2 * kMiB, R | W, false, false);
  ASSERT_EQ(t.touch(0x10012345).result, FaultResult::Handled);
  const PAddr pd = t.mem.read64(t.root_of(1)) & kAddrBits;
  const std::uint64_t pde = t.mem.read64(pd + ((0x10000000 >> 21) & 511) * 8);
  EXPECT_TRUE(has(pde, pte::kP | pte::kPS));
  EXPECT_EQ(pde & kAddrBits & (2 * kMiB - 1), 0u);
  EXPECT_EQ(t.counter("os.thp.alloc"), 1u);
}

TEST(OsModel32, PcidsOnlyIn64BitModes) {
  for (PagingMode m : {PagingMode::Ia32, PagingMode::Pae}) {
    OsParams p = params32(m);
    p.pcid = true;
    PhysicalMemory mem(64 * kMiB);
    FakeMmu mmu;
    StatGroup s;
    EXPECT_THROW(OsModel(p, mem, mmu, s), std::invalid_argument);
  }
}

TEST(OsModelPcid, SwitchesUseLinuxAsidSlotsAndTheNoFlushBit) {
  OsParams p = params();
  p.pcid = true;
  Os t(p);
  constexpr std::uint64_t kNoFlush = 1ull << 63;
  t.os.switch_to(1);
  t.os.switch_to(2);
  const PAddr r1 = t.root_of(1), r2 = t.root_of(2);
  t.os.switch_to(1);
  // New mm: next slot, PCID = slot + 1, flushed; known mm: no-flush bit.
  EXPECT_EQ(t.mmu.cr3_writes, (std::vector<std::uint64_t>{t.idle_root(), r1 | 1, r2 | 2, r1 | 1 | kNoFlush}));
  EXPECT_EQ(t.os.pcid_of(1), 1u);
  EXPECT_EQ(t.os.pcid_of(2), 2u);
  // A shootdown in the current process keeps its slot's generation current.
  t.os.mmap(0x10000000, k4K, R | W, false, false);
  t.os.switch_to(2);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 1 | kNoFlush);
  // Seven processes, six slots: the seventh takes slot 0 (PCID 1) and
  // process 1, coming back, the next slot (PCID 3, process 3's), flushed.
  for (std::uint32_t pid = 3; pid <= 7; ++pid) t.os.switch_to(pid);
  EXPECT_EQ(t.mmu.cr3_writes.back(), t.root_of(7) | 1);
  EXPECT_EQ(t.os.pcid_of(1), 0u);
  t.os.switch_to(1);
  EXPECT_EQ(t.mmu.cr3_writes.back(), r1 | 2);
  EXPECT_EQ(t.os.pcid_of(2), 0u);
}

}  // namespace
}  // namespace mmusim
