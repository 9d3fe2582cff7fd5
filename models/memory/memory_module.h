// SystemC shell of the memory side: TLM-2.0 targets in front of the memory
// hierarchy's timing (caches, then the controller) and the physical memory's
// bytes.
//
// socket (the page walker's): b_transport reads or writes 1..8 bytes of
// physical memory and adds the hierarchy's latency, in cycles of the core
// clock, to the annotated delay (loosely timed: no wait() here); these are
// the "walk" references of the cache statistics. transport_dbg is the
// zero-time debug path: same bytes, no latency, no statistics.
//
// data_socket (the replay's, bound only when memory.caches is configured):
// the trace's data accesses, physical address and length, no bytes (a trace
// has no values). Every line the access covers is looked up; the lines are
// accessed in parallel, so the delay added is the longest of their latencies.
#pragma once

#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/memory/memory_hierarchy.h"
#include "models/memory/physical_memory.h"

namespace mmusim {

class MemoryModule : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<MemoryModule> socket;
  tlm_utils::simple_target_socket<MemoryModule> data_socket;

  MemoryModule(sc_core::sc_module_name name, PhysicalMemory& mem, MemoryHierarchy& hier, sc_core::sc_time cycle);
  // The NUMA node of the core this shell serves (MemoryHierarchy::set_numa).
  void set_node(unsigned node) { m_node = node; }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void data_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  bool copy(tlm::tlm_generic_payload& trans);

  PhysicalMemory& m_mem;
  MemoryHierarchy& m_hier;
  sc_core::sc_time m_cycle;
  unsigned m_node = 0;
};

}  // namespace mmusim
