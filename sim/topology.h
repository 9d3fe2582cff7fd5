// The one place where the simulated system is built and wired from a Config:
//
//   Replay --TLM--> MmuModule (Mmu core: TLBs, PWCs, walker) --TLM--> MemoryModule
//      |  \              ^ MmuControl (CR3, INVLPG)        (MemoryHierarchy: caches,
//      |   +----------- data accesses (TLM) ------------->  MemoryController; PhysicalMemory)
//      +--> OsModel -----+---------------- debug path -------------------^
//
// Statistics are rooted here; groups are created in output order (replay,
// mmu, memory, os) so that every writer lists them the same way.
//
// With cores: N > 1 there are N MmuModules and N Replays (core<i>.mmu,
// core<i>.replay, after os), running the traces' tasks from their run
// queues (sim/scheduler.h: trace i on core i mod N by default, its threads
// round-robin over the next cores; cores without a task stay idle);
// replay.* and mmu.* are then the totals over the cores
// (StatGroup::sum_of). Memory (one MemoryHierarchy: every cache level is
// shared, DRAM too; each core reaches it through its own MemoryModule shell;
// with a private level, memory.caches.<name>.shared false, one
// MemoryHierarchy per core holding its own instance of that level, under
// core<i>.memory.cache.<name>, and the shared levels' common instances) and
// the OS model are shared; the OS model gets each core's MMU as a CPU.
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "models/common/stats.h"
#include "models/memory/memory_controller.h"
#include "models/memory/memory_hierarchy.h"
#include "models/memory/memory_module.h"
#include "models/memory/physical_memory.h"
#include "models/mmu/mmu_module.h"
#include "models/os/os_model.h"
#include "models/tlb/miss_curves.h"
#include "sim/config/config.h"
#include "sim/replay.h"

namespace mmusim {

// The OS model's parameters: the os.* keys, the paging mode and control
// registers, replay.implicit_vmas and the seed.
OsParams make_os_params(const Config& c);
// One clock cycle, rounded to a whole picosecond (the SystemC time resolution).
sc_core::sc_time cycle_time(const Config& c);

// The miss curves of one TLB (mmu.tlbs.<name>.curves).
struct TlbCurves {
  std::string tlb;
  const Tlb* host = nullptr;
  std::unique_ptr<MissCurves> curves;
  bool walks = false;  // walks_follow_tlb: curves.csv gives each geometry's walks
};

class Topology {
 public:
  Topology(const Config& c, const std::vector<TraceReader*>& traces, const ReplayParams& rp);
  StatGroup& stats() { return m_stats; }
  // Core 0's replay and MMU.
  Replay& replay() { return *m_replays[0]; }
  Mmu& mmu() { return m_mmus[0]->core(); }
  unsigned cores() const { return static_cast<unsigned>(m_mmus.size()); }
  Replay& replay(unsigned core) { return *m_replays.at(core); }
  Mmu& mmu(unsigned core) { return m_mmus.at(core)->core(); }
  // The first error of any core's replay (core order), or null.
  std::exception_ptr error() const;
  bool complete() const;
  // Every core's @mark snapshots.
  const std::vector<MarkSnapshot>& marks() const { return m_replays[0]->marks(); }
  OsModel& os() { return *m_os; }
  // One per TLB with curves on, in mmu.tlbs order.
  const std::vector<TlbCurves>& curves() const { return m_curves; }

 private:
  StatGroup m_stats;
  std::unique_ptr<PhysicalMemory> m_phys;
  std::unique_ptr<MemoryController> m_ctrl;
  StatGroup m_unused_stats;
  // One path shared by every core, or one per core when a memory.caches
  // level is private (shared: false) and cores > 1.
  std::vector<std::unique_ptr<MemoryHierarchy>> m_hiers;
  std::vector<std::unique_ptr<MemoryModule>> m_memories;  // one shell per core
  std::vector<std::unique_ptr<MmuModule>> m_mmus;
  std::unique_ptr<OsModel> m_os;
  std::vector<std::unique_ptr<TranslationChecker>> m_checkers;  // --check-invariants only
  std::unique_ptr<Scheduler> m_sched;                           // several cores
  ReplayShared m_shared;
  std::unique_ptr<OsArbiter> m_arbiter;  // several cores
  std::vector<std::unique_ptr<Replay>> m_replays;
  std::vector<TlbCurves> m_curves;
};

}  // namespace mmusim
