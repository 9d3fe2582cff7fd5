#include "sim/topology.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mmusim {

MmuParams make_mmu_params(const Config& c) {
  MmuParams p;
  for (const auto& kv : c.mmu.tlbs) {
    const TlbConfig& t = kv.second;
    TlbSpec s;
    s.name = kv.first;
    s.level = t.level;
    s.serves_data = t.serves != "inst";
    s.serves_inst = t.serves != "data";
    s.geometry.entries = t.entries;
    s.geometry.ways = t.ways == 0 ? t.entries : t.ways;
    s.geometry.page_sizes = t.page_sizes;
    s.geometry.policy = parse_replacement_policy(t.replacement);
    // Each TLB gets its own deterministic stream derived from the seed.
    std::uint64_t h = c.seed;
    for (char ch : kv.first) h = h * 1099511628211ull + static_cast<unsigned char>(ch);
    s.geometry.seed = h | 1;
    s.latency = t.latency;
    s.fracture = t.fracture;
    p.tlbs.push_back(s);
  }
  WalkerParams& w = p.walker;
  w.mode = paging_mode(c);
  w.levels = c.paging.mode == "x86_64_la57" ? 5 : 4;
  w.pse = c.paging.pse;
  w.phys_addr_bits = c.paging.phys_addr_bits;
  w.nxe = c.paging.nx;
  w.wp = c.paging.wp;
  w.update_ad = c.paging.update_ad;
  const auto& pwc = c.mmu.pwc;
  w.pwc_entries = {0, 0, pwc.pd.entries, pwc.pdpt.entries, pwc.pml4.entries, pwc.pml5.entries};
  w.pwc_ways = {0, 0, pwc.pd.ways, pwc.pdpt.ways, pwc.pml4.ways, pwc.pml5.ways};
  w.pwc_latency = pwc.latency;
  p.pge = c.paging.pge;
  p.pcid = c.paging.pcid;
  return p;
}

OsParams make_os_params(const Config& c) {
  OsParams p;
  p.memory_bytes = c.os.memory.bytes;
  p.max_order = c.os.max_order;
  p.levels = c.paging.mode == "x86_64_la57" ? 5 : 4;
  p.mode = paging_mode(c);
  p.pse = c.paging.pse;
  p.pcid = c.paging.pcid;
  p.phys_addr_bits = c.paging.phys_addr_bits;
  p.nx = c.paging.nx;
  p.thp = c.os.thp == "always" ? ThpMode::Always : c.os.thp == "madvise" ? ThpMode::Madvise : ThpMode::Never;
  p.fault_minor_cycles = c.os.fault_cost.minor;
  p.zero_page_per_4k_cycles = c.os.fault_cost.zero_page_per_4k;
  p.implicit_vmas = c.replay.implicit_vmas;
  p.numa_nodes = c.os.numa_nodes;
  p.highmem = c.paging.mode == "ia32" || c.paging.mode == "pae";
  p.fault_major_cycles = c.os.fault_cost.major;
  p.cow_copy_per_4k_cycles = c.os.fault_cost.cow_copy_per_4k;
  p.swap_bytes = c.os.swap.size.bytes;
  p.swap_latency_cycles = c.os.swap.latency;
  p.swappiness = c.os.swappiness;
  p.oom_enabled = c.os.oom.enabled;
  p.fragmentation_percent = c.os.fragmentation;
  p.pge = c.paging.pge;
  p.fault_model = c.os.fault_model == "accesses" ? FaultModel::Accesses : FaultModel::Cycles;
  p.hugetlb_1g_pages = c.os.hugetlb_1g;
  p.seed = c.seed;
  return p;
}

MemoryTiming make_memory_timing(const Config& c) {
  MemoryTiming t;
  t.model = c.memory.controller.model == "dram" ? MemoryTiming::Model::Dram : MemoryTiming::Model::Fixed;
  t.fixed_latency = c.memory.controller.fixed_latency;
  const DramConfig& d = c.memory.dram;
  t.channels = d.channels;
  t.banks = d.banks;
  t.row_bytes = d.row_bytes.bytes;
  t.tRCD = d.tRCD;
  t.tCL = d.tCL;
  t.tRP = d.tRP;
  t.tBURST = d.tBURST;
  t.open_page = d.policy == "open";
  return t;
}

std::vector<CacheLevelSpec> make_cache_levels(const Config& c) {
  std::vector<std::pair<unsigned, CacheLevelSpec>> by_level;
  for (const auto& kv : c.memory.caches) {
    const CacheConfig& k = kv.second;
    CacheLevelSpec s;
    s.name = kv.first;
    s.geometry.size_bytes = k.size.bytes;
    s.geometry.line_bytes = k.line_bytes;
    s.geometry.ways = k.ways == 0 ? static_cast<unsigned>(k.size.bytes / k.line_bytes) : k.ways;
    s.latency = k.latency;
    by_level.emplace_back(k.level, s);
  }
  std::sort(by_level.begin(), by_level.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<CacheLevelSpec> out;
  for (auto& l : by_level) out.push_back(l.second);
  return out;
}

sc_core::sc_time cycle_time(const Config& c) {
  const double ps = std::max(1.0, std::round(1e12 / static_cast<double>(c.clock.hz)));
  return sc_core::sc_time(ps, sc_core::SC_PS);
}

unsigned va_bits(const Config& c) {
  return c.paging.mode == "x86_64_la57" ? 57 : (c.paging.mode == "ia32" || c.paging.mode == "pae") ? 32 : 48;
}

PagingMode paging_mode(const Config& c) {
  const std::string& m = c.paging.mode;
  return m == "ia32" ? PagingMode::Ia32 : m == "pae" ? PagingMode::Pae
         : m == "x86_64_la57" ? PagingMode::X86_64_La57 : PagingMode::X86_64;
}

Topology::Topology(const Config& c, const std::vector<TraceReader*>& traces, const ReplayParams& rp) {
  const sc_core::sc_time cycle = cycle_time(c);
  StatGroup& replay_stats = m_stats.group("replay");
  StatGroup& mmu_stats = m_stats.group("mmu");
  StatGroup& memory_stats = m_stats.group("memory");
  StatGroup& os_stats = m_stats.group("os");

  m_phys = std::make_unique<PhysicalMemory>(c.os.memory.bytes);
  m_ctrl = std::make_unique<MemoryController>(make_memory_timing(c), memory_stats);
  const std::vector<CacheLevelSpec> caches = make_cache_levels(c);
  // The cache group exists only with caches, so runs without them keep their statistics.
  m_hier = std::make_unique<MemoryHierarchy>(caches, *m_ctrl,
                                             caches.empty() ? m_unused_stats : memory_stats.group("cache"));
  m_memory = std::make_unique<MemoryModule>("memory", *m_phys, *m_hier, cycle);
  m_mmu = std::make_unique<MmuModule>("mmu", make_mmu_params(c), mmu_stats, cycle);
  m_mmu->set_boot_memory(m_phys.get());
  for (const auto& t : m_mmu->core().tlbs()) {
    const TlbConfig& tc = c.mmu.tlbs.at(t->name());
    if (!tc.curves) continue;
    TlbCurves tcv;
    tcv.tlb = t->name();
    tcv.host = t.get();
    tcv.walks = walks_follow_tlb(c, t->name());
    tcv.curves = std::make_unique<MissCurves>(tc.page_sizes, tc.curves);
    if (tc.curves_sample_rate > 0.0 && tc.curves_sample_rate < 1.0) tcv.curves->set_sample_rate(tc.curves_sample_rate);
    if (tc.curves_opt) tcv.curves->record_opt();
    t->set_curves(tcv.curves.get());
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
    m_checker = std::make_unique<TranslationChecker>(
        mmu.walker().params(), mmu.params().walker.update_ad,
        [phys](PAddr pa, unsigned bytes) { return phys->read(pa, bytes); });
    const OsModel* os = m_os.get();
    m_checker->set_deferred_flush([os](std::uint16_t pcid) { return os->tlb_flush_deferred(pcid); });
    mmu.set_checker(m_checker.get());
  }
  ReplayParams p = rp;
  p.va_bits = va_bits(c);
  p.mode_name = c.paging.mode;
  p.switch_interval = c.replay.switch_interval;
  p.time_data = !caches.empty();
  p.outstanding = c.replay.outstanding;
  m_replay = std::make_unique<Replay>("replay", traces, *m_os, m_mmu->core(), p, replay_stats, m_stats, cycle);
  if (osp.fault_model == FaultModel::Accesses) m_os->set_kernel_port(m_replay.get());

  if (c.replay.outstanding > 1)
    m_replay->set_scheduler(std::make_unique<WalkScheduler>(c.replay.outstanding, c.mmu.walker.walkers,
                                                            c.replay.gap_cycles, mmu_stats.group("walker")));
  m_replay->socket.bind(m_mmu->cpu_socket);
  m_mmu->mem_socket.bind(m_memory->socket);
  m_replay->data_socket.bind(m_memory->data_socket);
}

}  // namespace mmusim
