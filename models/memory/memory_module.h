// SystemC shell of the memory side: a TLM-2.0 target in front of the
// memory controller's timing and the physical memory's bytes.
//
// b_transport reads or writes 1..8 bytes of physical memory and adds the
// controller's latency, in cycles of the core clock, to the annotated delay
// (loosely timed: no wait() here). transport_dbg is the zero-time debug
// path: same bytes, no latency, no statistics.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "models/memory/memory_controller.h"
#include "models/memory/physical_memory.h"

namespace mmusim {

class MemoryModule : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<MemoryModule> socket;

  MemoryModule(sc_core::sc_module_name name, PhysicalMemory& mem, MemoryController& ctrl, sc_core::sc_time cycle);

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  bool copy(tlm::tlm_generic_payload& trans);

  PhysicalMemory& m_mem;
  MemoryController& m_ctrl;
  sc_core::sc_time m_cycle;
};

}  // namespace mmusim
