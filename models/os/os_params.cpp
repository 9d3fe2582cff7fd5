#include "models/os/os_params.h"

#include <string>

namespace mmusim {

void OsParams::set_paging(const PagingParams& p) {
  levels = p.levels();
  mode = p.mode;
  pse = p.pse;
  pcid = p.pcid;
  pge = p.pge;
  phys_addr_bits = p.phys_addr_bits;
  nx = p.nx;
  highmem = p.is_32bit();
}

void OsParams::check_memory(const ParamCheck& c, const PagingParams& paging) const {
  if (memory_bytes % kPageBytes != 0)
    c.fail("memory", "must be a multiple of 4 KiB, got " + std::to_string(memory_bytes));
  if (memory_bytes < (16ull << 20)) c.fail("memory", "must be at least 16MiB, got " + format_size(memory_bytes));
  if (paging.phys_addr_bits < 64 && memory_bytes > (1ull << paging.phys_addr_bits))
    c.fail("memory", "exceeds what paging.phys_addr_bits (" + std::to_string(paging.phys_addr_bits) + ") can address");
  if (max_order > 20) c.fail("max_order", "must be at most 20, got " + std::to_string(max_order));
}

void OsParams::check_features(const ParamCheck& c, const PagingParams& paging) const {
  const std::string thp_name = name_of(kThpModeNames, thp);
  if (thp != ThpMode::Never && max_order < 9)
    c.fail("max_order", "must be at least 9 for 2 MiB pages with os.thp: " + thp_name);
  if (thp != ThpMode::Never && paging.mode == PagingMode::Ia32 && paging.pse && max_order < 10)
    c.fail("max_order", "must be at least 10 for 4 MiB pages (paging.mode ia32 with pse) with os.thp: " + thp_name);
  if (numa_nodes == 0 || numa_nodes > 64) c.fail("numa_nodes", "must be 1..64, got " + std::to_string(numa_nodes));
  else if (memory_bytes / numa_nodes < (16ull << 20))
    c.fail("numa_nodes", "leaves less than 16MiB per node with os.memory " + format_size(memory_bytes));
  if (hugetlb_1g_pages != 0 && paging.is_32bit())
    c.fail("hugetlb_1g", "needs a 64-bit paging.mode (1 GiB pages are PDPTE.PS, SDM 4.5), got " +
                             std::to_string(hugetlb_1g_pages) + " with paging.mode " + paging.mode_name());
  else if (hugetlb_1g_pages != 0 && max_order > 18)
    c.fail("max_order", "must be at most 18 with os.hugetlb_1g (a 1 GiB page is made of whole max_order blocks), got " +
                            std::to_string(max_order));
  if (fragmentation_percent > 99)
    c.fail("fragmentation", "must be a percent of 0..99, got " + std::to_string(fragmentation_percent));
  if (swappiness > 200) c.fail("swappiness", "must be 0..200, got " + std::to_string(swappiness));
  if (swap_bytes % kPageBytes != 0)
    c.fail("swap.size", "must be a multiple of 4 KiB, got " + std::to_string(swap_bytes));
}

}  // namespace mmusim
