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
  return p;
}

sc_core::sc_time cycle_time(const Config& c) {
  const double ps = std::max(1.0, std::round(1e12 / static_cast<double>(c.clock_hz)));
  return sc_core::sc_time(ps, sc_core::SC_PS);
}

Topology::Topology(const Config& c, const std::vector<TraceReader*>& traces, const ReplayParams& rp) {
  const sc_core::sc_time cycle = cycle_time(c);
  StatGroup& replay_stats = m_stats.group("replay");
  StatGroup& mmu_stats = m_stats.group("mmu");
  StatGroup& memory_stats = m_stats.group("memory");
  StatGroup& os_stats = m_stats.group("os");

  m_phys = std::make_unique<PhysicalMemory>(c.os.memory_bytes);
  m_ctrl = std::make_unique<MemoryController>(c.memory.timing, memory_stats);
  const std::vector<CacheLevelSpec> caches = c.memory.cache_levels();
  // The cache group exists only with caches, so runs without them keep their statistics.
  m_hier =
      std::make_unique<MemoryHierarchy>(caches, *m_ctrl, caches.empty() ? m_unused_stats : memory_stats.group("cache"));
  m_memory = std::make_unique<MemoryModule>("memory", *m_phys, *m_hier, cycle);
  m_mmu = std::make_unique<MmuModule>("mmu", c.mmu.mmu_params(c.paging, c.seed), mmu_stats, cycle);
  m_mmu->set_boot_memory(m_phys.get());
  for (const auto& t : m_mmu->core().tlbs()) {
    const TlbParams& tc = c.mmu.tlbs.at(t->name());
    if (!tc.curves) continue;
    TlbCurves tcv;
    tcv.tlb = t->name();
    tcv.host = t.get();
    tcv.walks = c.mmu.walks_follow_tlb(t->name());
    tcv.curves = std::make_unique<MissCurves>(tc.page_sizes, tc.curves);
    if (tc.curves_sample_rate > 0.0 && tc.curves_sample_rate < 1.0) tcv.curves->set_sample_rate(tc.curves_sample_rate);
    if (tc.curves_opt) tcv.curves->record_opt();
    m_mmu->core().set_curves(*t, tcv.curves.get());
    m_curves.push_back(std::move(tcv));
  }
  OsParams osp = make_os_params(c);
  osp.check_invariants = rp.check_invariants;
  m_os = std::make_unique<OsModel>(osp, *m_phys, m_mmu->core(), os_stats);
  if (rp.check_invariants) {
    // TLB transparency (models/mmu/translation_checker.h): cached
    // translations against zero-time walks of the tables in memory.
    Mmu& mmu = m_mmu->core();
    const PhysicalMemory* phys = m_phys.get();
    m_checker =
        std::make_unique<TranslationChecker>(mmu.walker().params(), mmu.params().walker.update_ad,
                                             [phys](PAddr pa, unsigned bytes) { return phys->read(pa, bytes); });
    const OsModel* os = m_os.get();
    m_checker->set_deferred_flush([os](std::uint16_t pcid) { return os->tlb_flush_deferred(pcid); });
    mmu.set_checker(m_checker.get());
  }
  ReplayParams p = rp;
  p.va_bits = c.paging.va_bits();
  p.mode_name = c.paging.mode_name();
  c.replay.apply(p);
  p.time_data = !caches.empty();
  m_replay = std::make_unique<Replay>("replay", traces, *m_os, m_mmu->core(), p, replay_stats, m_stats, cycle);
  if (osp.fault_model == FaultModel::Accesses) m_os->set_kernel_port(m_replay.get());

  if (c.replay.outstanding > 1)
    m_replay->set_scheduler(std::make_unique<WalkScheduler>(c.replay.outstanding, c.mmu.walker.walkers,
                                                            c.replay.gap_cycles, mmu_stats.group("walker")));
  m_replay->socket.bind(m_mmu->cpu_socket);
  m_replay->set_direct_mmu(m_mmu.get());
  m_mmu->mem_socket.bind(m_memory->socket);
  m_replay->data_socket.bind(m_memory->data_socket);
}

}  // namespace mmusim
