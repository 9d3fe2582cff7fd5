// Unit tests of the OOM killer (models/os/mm/oom_kill.h, mm/oom_kill.c):
// oom_badness with oom_score_adj and mm_pgtables_bytes, victim choice, and
// many processes under memory pressure.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/physical_memory.h"
#include "models/os/os_model.h"
#include "models/walker/walker.h"
#include "tests/support/os_fixture.h"

namespace mmusim {
namespace {

using namespace ostest;
using Os = OsFixture;

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
  for (const char* k :
       {"os.thp.alloc", "os.thp.fallback", "os.oom_kills", "os.faults.segv", "os.faults.minor", "os.zero_page.maps",
        "os.zero_page.huge_maps", "os.zero_page.replaced", "os.zero_page.huge_splits"})
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

// Linux 6.1 oom_badness(): points = get_mm_rss + MM_SWAPENTS +
// mm_pgtables_bytes / PAGE_SIZE, then "adj *= totalpages / 1000; points +=
// adj". mm_pgtables_bytes counts PTE, PMD and PUD pages (mm_inc_nr_ptes/
// pmds/puds), not the PGD. totalpages (constrained_alloc, no constraint) =
// totalram_pages() + total_swap_pages: 16 MiB is 4096 frames, all ZONE_DMA,
// of which the low 1 MiB (256 frames) is reserved at boot, so 3840 managed
// pages and no swap: totalpages / 1000 = 3.
TEST(Oom, VictimByBadnessWithOomScoreAdj) {
  MachineOs t(16 * kMiB);
  // pid 1: 10 pages + 3 accounted tables (PDPT = PUD, PD = PMD, PT; not the
  // PML4 = PGD), adj +100 -> 13 + 100 * 3 = 313.
  t.os.switch_to(1);
  t.os.set_oom_score_adj(100);
  t.os.mmap(kHeap, 10 * 4096, R | W, false, false);
  for (int i = 0; i < 10; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  // pid 2: 20 pages + 3 tables, adj 0 -> 23.
  t.os.switch_to(2);
  t.os.mmap(kHeap, 20 * 4096, R | W, false, false);
  for (int i = 0; i < 20; ++i) t.os.handle_fault(kHeap + i * 4096, kWriteFault);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(1)), 313);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(2)), 23);
  EXPECT_THROW(t.os.set_oom_score_adj(1001), OsError);
  // pid 3 is unkillable and grows until memory runs out.
  t.os.switch_to(3);
  t.os.set_oom_score_adj(-1000);
  EXPECT_EQ(t.os.oom_badness(*t.os.process(3)), INT64_MIN);
  t.os.mmap(kHeap, 16 * kMiB, R | W, false, false);
  std::vector<std::uint32_t> order;
  for (VAddr va = kHeap; va < kHeap + 16 * kMiB; va += 4096) {
    const std::size_t before = t.os.kills().size();
    FaultOutcome o = t.os.handle_fault(va, kWriteFault);
    if (t.os.kills().size() > before)
      order.push_back(!t.os.alive(1) && order.empty() ? 1 : !t.os.alive(2) && order.size() == 1 ? 2 : 3);
    if (o.result == FaultResult::Killed) break;
  }
  // First the larger score (pid 1 despite its smaller rss), then pid 2, then
  // with nobody killable left the faulting process itself.
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], 1u);
  EXPECT_EQ(order[1], 2u);
  EXPECT_EQ(order[2], 3u);
  EXPECT_EQ(t.stat("os.oom_kills"), 3.0);
  EXPECT_EQ(t.os.check_invariants(), "");
}

// mm_pgtables_bytes / PAGE_SIZE in every mode, one page touched at kHeap.
// Linux accounts PTE pages (mm_inc_nr_ptes in pmd_install), PMD pages
// (mm_inc_nr_pmds: __pmd_alloc, and with PAE the three user PMDs that
// pgd_prepopulate_pmd installs) and PUD pages (mm_inc_nr_puds), never the
// PGD nor a P4D page. totalpages = 3840 managed pages (16 MiB less the
// reserved low 1 MiB) + 16383 usable swap slots (64 MiB = 16384 slots less
// the header, setup_swap_map_and_extents) = 20223; adj 50 adds 50 * 20.
struct OomCase {
  PagingMode mode;
  unsigned levels;
  std::uint64_t tables;     // every page table of the process, root included
  std::uint64_t accounted;  // of them, mm_pgtables_bytes / PAGE_SIZE
};
class OomTables : public testing::TestWithParam<OomCase> {};
TEST_P(OomTables, BadnessCountsWhatLinuxAccounts) {
  const OomCase c = GetParam();
  PhysicalMemory mem(16 * kMiB);
  FakeMmu mmu;
  StatGroup root;
  OsParams p;
  p.memory_bytes = 16 * kMiB;
  p.mode = c.mode;
  p.levels = c.levels;
  p.highmem = c.mode == PagingMode::Ia32 || c.mode == PagingMode::Pae;
  p.swap_bytes = 64 * kMiB;
  p.implicit_vmas = false;
  OsModel os(p, mem, mmu, root.group("os"));
  os.switch_to(1);
  os.set_oom_score_adj(50);
  os.mmap(kHeap, 4096, R | W, false, false);
  ASSERT_EQ(os.handle_fault(kHeap, kWriteFault).result, FaultResult::Handled);
  EXPECT_EQ(os.process(1)->pgtable_pages, c.tables);
  EXPECT_EQ(os.mm_pgtables_pages(*os.process(1)), c.accounted);
  EXPECT_EQ(os.oom_badness(*os.process(1)), static_cast<std::int64_t>(1 + c.accounted + 50 * 20));
}
INSTANTIATE_TEST_SUITE_P(Modes, OomTables,
                         testing::Values(OomCase{PagingMode::X86_64, 4, 4, 3},       // PML4 | PDPT PD PT
                                         OomCase{PagingMode::X86_64_La57, 5, 5, 3},  // PML5 P4D | PUD PMD PT
                                         OomCase{PagingMode::Pae, 3, 5, 4},          // PDPT | 3 PMDs PT
                                         OomCase{PagingMode::Ia32, 2, 2, 1}),        // PD | PT
                         [](const testing::TestParamInfo<OomCase>& i) {
                           return std::string(paging_mode_name(i.param.mode));
                         });

// ---------------------------------------------------------------- OomKiller

// mm/oom_kill.c oom_evaluate_task(): "if (points == LONG_MIN || points <
// oc->chosen_points) goto next;" - an equal score replaces the task chosen
// so far, so of equal badness the later pid in the task list is the victim.
// out_of_memory() never picks the task that asks (here: the caller kills it).
TEST(OomKiller, TiesGoToTheLaterPidAndTheAskingProcessIsNeverAVictim) {
  Os t(params());
  for (std::uint32_t pid : {1u, 2u}) {
    t.os.switch_to(pid);
    t.os.mmap(0x10000000, 3 * k4K, R | W, false, false);
    for (unsigned i = 0; i < 3; ++i) ASSERT_EQ(t.touch(0x10000000 + i * k4K).result, FaultResult::Handled);
  }
  OomKiller& oom = t.os.oom_killer();
  EXPECT_EQ(oom.badness(*t.os.process(1)), oom.badness(*t.os.process(2)));
  EXPECT_EQ(oom.badness(*t.os.process(1)), 3 + 3);  // 3 pages + PDPT, PD, PT
  ASSERT_NE(oom.select_victim(), nullptr);
  EXPECT_EQ(oom.select_victim()->pid, 2u);
  EXPECT_FALSE(oom.kill_other(t.os.process(2)));
  EXPECT_TRUE(t.os.alive(2));
  EXPECT_TRUE(oom.kill_other(nullptr));
  EXPECT_FALSE(t.os.alive(2));
  EXPECT_EQ(t.os.kills().back(), "process 2 killed: out of memory (OOM killer)");
  EXPECT_EQ(t.counter("os.oom_kills"), 1u);
  EXPECT_EQ(oom.select_victim()->pid, 1u);
}

}  // namespace
}  // namespace mmusim
