#include "models/memory/memory_module.h"

#include <cstring>

namespace mmusim {

MemoryModule::MemoryModule(sc_core::sc_module_name name, PhysicalMemory& mem, MemoryController& ctrl,
                           sc_core::sc_time cycle)
    : sc_core::sc_module(name), socket("socket"), m_mem(mem), m_ctrl(ctrl), m_cycle(cycle) {
  socket.register_b_transport(this, &MemoryModule::b_transport);
  socket.register_transport_dbg(this, &MemoryModule::transport_dbg);
}

bool MemoryModule::copy(tlm::tlm_generic_payload& trans) {
  const unsigned len = trans.get_data_length();
  const std::uint64_t pa = trans.get_address();
  if (len != 1 && len != 2 && len != 4 && len != 8) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  if (pa + len > m_mem.size_bytes() || pa % len != 0) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (trans.is_read()) {
    std::uint64_t v = m_mem.read(pa, len);
    std::memcpy(trans.get_data_ptr(), &v, len);
  } else if (trans.is_write()) {
    std::uint64_t v = 0;
    std::memcpy(&v, trans.get_data_ptr(), len);
    m_mem.write(pa, len, v);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

void MemoryModule::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!copy(trans)) return;
  delay += sc_core::sc_time::from_value(m_cycle.value() * m_ctrl.access(trans.get_address(), trans.is_write()));
}

unsigned int MemoryModule::transport_dbg(tlm::tlm_generic_payload& trans) {
  return copy(trans) ? trans.get_data_length() : 0;
}

}  // namespace mmusim
