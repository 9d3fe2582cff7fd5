#include "sim/topology.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mmusim {

OsParams make_os_params(const Config& c) {
  OsParams p = c.os;
  p.set_paging(c.paging);
  p.implicit_vmas = c.replay.implicit_vmas;
  p.seed = c.seed;
  p.cpus = c.cores;
  return p;
}

sc_core::sc_time cycle_time(const Config& c) {
  const double ps = std::max(1.0, std::round(1e12 / static_cast<double>(c.clock_hz)));
  return sc_core::sc_time(ps, sc_core::SC_PS);
}

Topology::Topology(const Config& c, const std::vector<TraceReader*>& traces, const ReplayParams& rp) {
  const sc_core::sc_time cycle = cycle_time(c);
  const unsigned cores = c.cores;
  StatGroup& replay_stats = m_stats.group("replay");
  StatGroup& mmu_stats = m_stats.group("mmu");
  StatGroup& memory_stats = m_stats.group("memory");
  StatGroup& os_stats = m_stats.group("os");
  // Each core's groups; with one core the top-level ones.
  std::vector<StatGroup*> core_replay{&replay_stats}, core_mmu{&mmu_stats};
  if (cores > 1) {
    core_replay.clear();
    core_mmu.clear();
    for (unsigned i = 0; i < cores; ++i) {
      StatGroup& g = m_stats.group("core" + std::to_string(i));
      core_replay.push_back(&g.group("replay"));
      core_mmu.push_back(&g.group("mmu"));
    }
  }
  // SystemC names: the single-core ones as before, core<i>_* with several.
  auto name = [cores](const char* what, unsigned i) {
    return cores == 1 ? std::string(what) : "core" + std::to_string(i) + "_" + what;
  };

  m_phys = std::make_unique<PhysicalMemory>(c.os.memory_bytes);
  m_ctrl = std::make_unique<MemoryController>(c.memory.timing, memory_stats);
  const std::vector<CacheLevelSpec> caches = c.memory.cache_levels();
  // The cache group exists only with caches, so runs without them keep their statistics.
  StatGroup& cache_stats = caches.empty() ? m_unused_stats : memory_stats.group("cache");
  const bool private_levels =
      cores > 1 && std::any_of(caches.begin(), caches.end(), [](const CacheLevelSpec& l) { return !l.shared; });
  if (!private_levels) m_hiers.push_back(std::make_unique<MemoryHierarchy>(caches, *m_ctrl, cache_stats));
  for (unsigned i = 0; private_levels && i < cores; ++i)
    m_hiers.push_back(
        std::make_unique<MemoryHierarchy>(caches, *m_ctrl, cache_stats, i ? m_hiers[0].get() : nullptr,
                                          m_stats.group("core" + std::to_string(i)).group("memory").group("cache")));
  for (unsigned i = 0; i < cores; ++i) {
    m_memories.push_back(std::make_unique<MemoryModule>(name("memory", i).c_str(), *m_phys,
                                                        *m_hiers[std::min<std::size_t>(i, m_hiers.size() - 1)], cycle));
    m_mmus.push_back(
        std::make_unique<MmuModule>(name("mmu", i).c_str(), c.mmu.mmu_params(c.paging, c.seed), *core_mmu[i], cycle));
    m_mmus.back()->set_boot_memory(m_phys.get());
  }
  Mmu& mmu0 = m_mmus[0]->core();
  for (const auto& t : mmu0.tlbs()) {
    const TlbParams& tc = c.mmu.tlbs.at(t->name());
    if (!tc.curves) continue;
    if (cores > 1) throw std::invalid_argument("miss curves (mmu.tlbs.<TLB>.curves) need cores: 1");
    TlbCurves tcv;
    tcv.tlb = t->name();
    tcv.host = t.get();
    tcv.walks = c.mmu.walks_follow_tlb(t->name());
    tcv.curves = std::make_unique<MissCurves>(tc.page_sizes, tc.curves);
    if (tc.curves_sample_rate > 0.0 && tc.curves_sample_rate < 1.0) tcv.curves->set_sample_rate(tc.curves_sample_rate);
    if (tc.curves_opt) tcv.curves->record_opt();
    mmu0.set_curves(*t, tcv.curves.get());
    m_curves.push_back(std::move(tcv));
  }
  OsParams osp = make_os_params(c);
  osp.check_invariants = rp.check_invariants;
  m_os = std::make_unique<OsModel>(osp, *m_phys, mmu0, os_stats);
  for (unsigned i = 1; i < cores; ++i) m_os->add_cpu(m_mmus[i]->core());
  if (c.os.numa_nodes > 1) {
    // The memory side splits physical memory as the OS model's nodes do and
    // knows each core's node (remote DRAM latency).
    std::vector<PAddr> starts(c.os.numa_nodes, ~PAddr{0});
    for (const Zone& z : m_os->buddy().zones())
      starts[z.node] = std::min<PAddr>(starts[z.node], z.base_pfn() << kPageShift);
    Counter *local = nullptr, *remote = nullptr;
    MemoryHierarchy::register_numa_stats(memory_stats.group("numa"), &local, &remote);
    for (auto& h : m_hiers) h->set_numa(starts, c.memory.timing.remote_latency, *local, *remote);
    for (unsigned i = 0; i < cores; ++i) m_memories[i]->set_node(m_os->buddy().cpu_node(i));
  }
  if (rp.check_invariants) {
    // TLB transparency (models/mmu/translation_checker.h): cached
    // translations against zero-time walks of the tables in memory.
    for (unsigned i = 0; i < cores; ++i) {
      Mmu& mmu = m_mmus[i]->core();
      const PhysicalMemory* phys = m_phys.get();
      m_checkers.push_back(
          std::make_unique<TranslationChecker>(mmu.walker().params(), mmu.params().walker.update_ad,
                                               [phys](PAddr pa, unsigned bytes) { return phys->read(pa, bytes); }));
      const OsModel* os = m_os.get();
      if (cores == 1)
        m_checkers.back()->set_deferred_flush([os](std::uint16_t pcid) { return os->tlb_flush_deferred(pcid); });
      else
        m_checkers.back()->set_deferred_flush([os, i](std::uint16_t pcid) { return os->tlb_flush_deferred(pcid, i); });
      mmu.set_checker(m_checkers.back().get());
    }
  }
  ReplayParams p = rp;
  p.va_bits = c.paging.va_bits();
  p.mode_name = c.paging.mode_name();
  c.replay.apply(p);
  p.time_data = !caches.empty();
  if (cores == 1) {
    m_replays.push_back(std::make_unique<Replay>("replay", traces, *m_os, mmu0, p, replay_stats, m_stats, cycle));
  } else {
    m_shared.map_pids = traces.size() > 1;
    m_shared.running = cores;
    // The traces' tasks on the cores' run queues (sim/scheduler.h).
    m_sched = std::make_unique<Scheduler>(traces, cores, c.replay.affinity, c.replay.migrate_interval);
    m_shared.sched = m_sched.get();
    m_arbiter = std::make_unique<OsArbiter>("os_arbiter", cores);
    for (unsigned i = 0; i < cores; ++i)
      m_replays.push_back(std::make_unique<Replay>(name("replay", i).c_str(), std::vector<TraceReader*>{}, *m_os,
                                                   m_mmus[i]->core(), p, *core_replay[i], m_stats, cycle, m_shared,
                                                   *m_arbiter, i));
  }
  if (cores > 1) {
    // A shootdown's IPI handler runs on the remote core: its replay is delayed.
    m_os->set_cpu_stall_sink([this](unsigned cpu, Cycles c) { m_replays.at(cpu)->stall(c); });
  }
  if (osp.fault_model == FaultModel::Accesses) {
    for (unsigned i = 0; i < cores; ++i) {
      m_os->set_cpu(i);
      m_os->set_kernel_port(m_replays[i].get());
    }
    m_os->set_cpu(0);
  }

  if (c.replay.outstanding > 1)
    m_replays[0]->set_scheduler(std::make_unique<WalkScheduler>(c.replay.outstanding, c.mmu.walker.walkers,
                                                                c.replay.gap_cycles, mmu_stats.group("walker")));
  for (unsigned i = 0; i < cores; ++i) {
    m_replays[i]->socket.bind(m_mmus[i]->cpu_socket);
    m_replays[i]->set_direct_mmu(m_mmus[i].get());
    if (cores > 1) m_shared.mmus.push_back(&m_mmus[i]->core());
    m_mmus[i]->mem_socket.bind(m_memories[i]->socket);
    m_replays[i]->data_socket.bind(m_memories[i]->data_socket);
  }
  if (cores > 1) {
    replay_stats.sum_of({core_replay.begin(), core_replay.end()});
    mmu_stats.sum_of({core_mmu.begin(), core_mmu.end()});
  }
}

std::exception_ptr Topology::error() const {
  for (const auto& r : m_replays)
    if (r->error()) return r->error();
  return nullptr;
}

bool Topology::complete() const {
  for (const auto& r : m_replays)
    if (!r->complete()) return false;
  return true;
}

}  // namespace mmusim
