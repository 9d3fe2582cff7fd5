#include "models/os/os_model.h"

#include <algorithm>
#include <stdexcept>

#include "models/os/invariants.h"

namespace mmusim {

const OsParams& OsModel::checked(const OsParams& p, const PhysicalMemory& mem) {
  if (p.mode == PagingMode::X86_64 && p.levels != 4 && p.levels != 5)
    throw std::invalid_argument("OS model: levels must be 4 or 5");
  if (p.memory_bytes > mem.size_bytes()) throw std::invalid_argument("OS model: more memory than physical memory");
  if (p.pcid && (p.mode == PagingMode::Ia32 || p.mode == PagingMode::Pae))
    throw std::invalid_argument("OS model: PCIDs exist only with 4-level and 5-level paging (SDM 4.10.1)");
  if (p.numa_nodes == 0) throw std::invalid_argument("OS model: numa_nodes must be at least 1");
  return p;
}

OsModel::OsModel(const OsParams& p, PhysicalMemory& mem, MmuControl& mmu, StatGroup& stats)
    : m_p(checked(p, mem)),
      m_mem(mem),
      m_mmu(mmu),
      m_ports(1, nullptr),
      m_pt(m_p, mem, m_alloc, m_kspace, m_cost, m_thp, m_slab, m_rmap),
      m_kspace(m_p, mem, m_pt, m_alloc),
      m_cost(m_p, m_mmu, m_pt, m_kspace),
      m_alloc(m_p, m_oom, m_reclaim),
      // Slab pages are GFP_KERNEL (allocate_slab -> alloc_pages): never from
      // HIGHMEM, the low watermark first, then kswapd, the min watermark,
      // direct reclaim and the OOM killer, as for any GFP_KERNEL page.
      m_slab(
          [this](unsigned order, ZoneType highest) -> std::optional<std::uint64_t> {
            std::uint64_t pfn = 0;
            if (m_alloc.alloc_frame(order, &pfn, nullptr, highest)) return pfn;
            return std::nullopt;
          },
          [this](std::uint64_t pfn, unsigned order) { m_alloc.buddy().free(pfn, order); }, ZoneType::Normal),
      m_rmap(m_alloc, m_reclaim),
      m_swap(m_p, m_pt),
      m_reclaim(m_p, mem, m_pt, m_alloc, m_rmap, m_swap, m_tasks, m_asids, m_kspace, m_thp),
      m_oom(m_p, m_tasks, m_alloc, m_swap, m_pt),
      m_thp(m_p, mem, m_pt, m_alloc, m_kspace, m_tasks, m_cost, m_reclaim, m_fault_stats, m_rmap),
      m_hugetlb(m_p, mem, m_mmu, m_pt, m_alloc, m_rmap, m_tasks, m_oom, m_cost, m_fault_stats),
      m_as(m_p, m_pt, m_tasks, m_rmap, m_swap, m_hugetlb, m_thp, m_asids, m_slab),
      m_asids(m_p, m_mmu, m_tasks, m_kspace),
      m_tasks(m_p, m_mmu, m_pt, m_as, m_asids, m_kspace, m_slab, m_rmap, m_swap, m_hugetlb, m_thp),
      m_cache(m_p, mem, m_pt, m_alloc, m_tasks, m_asids, m_kspace, m_reclaim, m_oom, m_cost, m_fault_stats),
      m_fault(m_p, mem, m_mmu, m_tasks, m_as, m_pt, m_alloc, m_thp, m_hugetlb, m_rmap, m_reclaim, m_swap, m_oom,
              m_kspace, m_cost, m_asids, m_cache, m_fault_stats) {
  m_hugetlb.set_asids(m_asids);
  m_rmap.set_page_cache(&m_cache);
  m_reclaim.set_page_cache(&m_cache);
  boot(stats);
  m_alloc.buddy().set_cpus(std::max(1u, m_p.cpus));
  // With more than one node (registered only then: one-node statistics
  // stay as they were).
  if (m_p.numa_nodes > 1) m_alloc.buddy().register_numa_stats(stats);
  // setup_per_cpu_pageset() after boot; before it the boot pagesets (batch
  // 1, high 0) pass every page straight through, as no lists do.
  if (m_p.pcp_on()) {
    m_alloc.buddy().enable_pcp(m_pt.huge_order());  // pageblock_order = HPAGE_PMD_ORDER
    m_alloc.buddy().register_pcp_stats(stats);
  }
}

void OsModel::boot(StatGroup& stats) {
  m_stats = &stats;
  m_fault.register_stats(stats);
  m_thp.register_stats(stats);
  m_oom.register_stats(stats);
  m_as.register_stats(stats);
  m_tasks.register_processes_counter(stats);
  m_pt.register_alloc_counter(stats);
  m_tasks.register_forks_counter(stats);
  m_alloc.boot(stats);
  m_hugetlb.boot(stats);  // at boot, before os.fragmentation
  StatGroup& zero_page = stats.group("zero_page");
  m_tasks.register_enomem(stats.group("enomem"));
  m_fault.register_zero_page_stats(zero_page);
  m_thp.register_zero_stat(zero_page);
  m_tasks.create_caches();
  m_as.create_cache();
  m_slab.register_stats(stats.group("slab"));
  m_swap.swapon();
  m_reclaim.register_stats(stats, {m_fault_stats.pgfault, m_fault_stats.major, &m_thp.alloc_counter(),
                                   &m_thp.fallback_counter(), &m_oom.kills()});
  m_alloc.fragment_memory();
  m_kspace.register_kmap_stats(stats);
  m_alloc.register_fragmentation_stats(stats);
#ifndef NDEBUG
  // Debug builds check after every fault; the check is O(memory), so only for
  // memories up to 1 GiB (tests and pressure runs), else --check-invariants.
  if (m_p.memory_bytes <= (1ull << 30)) m_p.check_invariants = true;
#endif
  m_pt.register_pages_stat(stats);
  m_alloc.register_buddy_stats(stats);
  m_kspace.alloc_idle_root();
  m_kspace.register_stats(stats);
  m_cost.register_stats(stats);
  m_pt.register_split_counter(stats.group("thp"));
  m_cache.register_stats(stats);  // last: the statistics before it keep their order
  m_kspace.build();               // before the CR3 write: with PAE it loads the PDPTEs
  m_mmu.write_cr3(m_kspace.idle_root());
}

unsigned OsModel::add_cpu(MmuControl& mmu) {
  const unsigned cpu = m_mmu.add(mmu);
  m_ports.push_back(nullptr);
  m_asids.add_cpu();
  // os.tlb.*: registered with the second CPU, so a one-core run's
  // statistics are those it always had.
  if (cpu == 1) m_asids.register_stats(m_stats->group("tlb"));
  mmu.write_cr3(m_kspace.idle_root());
  return cpu;
}

void OsModel::enter_lazy_tlb(unsigned cpu) {
  if (cpu >= cpus()) throw std::out_of_range("enter_lazy_tlb: no CPU " + std::to_string(cpu));
  m_asids.enter_lazy_tlb(cpu);
}

void OsModel::set_cpu(unsigned cpu) {
  if (cpu == m_mmu.cpu()) return;
  m_mmu.select(cpu);
  m_alloc.buddy().set_cpu(cpu);
  m_tasks.set_cpu(cpu);
  m_asids.set_cpu(cpu);
  m_cost.set_kernel_port(m_ports[cpu]);
}

void OsModel::set_kernel_port(KernelAccessPort* port) {
  m_ports[m_mmu.cpu()] = port;
  m_cost.set_kernel_port(port);
}

FaultOutcome OsModel::handle_fault(VAddr cr2, std::uint32_t error_code) {
  m_reclaim.reset_cost();
  m_cost.begin_fault();
  FaultOutcome o;
  try {
    o = m_fault.handle(cr2, error_code);
  } catch (...) {
    m_cost.end_fault();
    throw;
  }
  // Direct reclaim's swap writes, the handler's kernel accesses and the
  // wait for the acknowledgements of its TLB shootdowns (several cores).
  o.cost_cycles += m_reclaim.take_cost() + m_cost.end_fault() + m_asids.take_wait_cycles();
  verify_invariants("a page fault");
  return o;
}

std::uint64_t OsModel::used_pages() const {
  const ZonedPageAllocator& b = m_alloc.buddy();
  return b.num_pages() - kReservedLowPages - b.free_pages() - b.pcp_pages() - m_slab.pages() - m_alloc.pinned().size() -
         m_kspace.tables().size() - m_hugetlb.free() * kHugetlbPages - (m_thp.huge_zero_pfn() ? m_pt.huge_pages() : 0);
}

void OsModel::verify_invariants(const char* after, const char* name) const {
  if (!m_p.check_invariants) return;
  const std::string e = check_invariants();
  if (!e.empty()) throw InvariantViolation(std::string("OS model invariant violated after ") + after + name + ": " + e);
}

std::string OsModel::check_invariants() const {
  std::string e = check_os_invariants(
      {m_alloc, m_slab, m_pt, m_kspace, m_thp, m_hugetlb, m_tasks, m_rmap, m_swap, m_reclaim, m_cache});
  if (e.empty()) e = m_asids.check_invariants();  // mm_cpumask against the CPUs' loaded mm
  return e;
}

}  // namespace mmusim
