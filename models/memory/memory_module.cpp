#include "models/memory/memory_module.h"

#include <algorithm>
#include <cstring>

namespace mmusim {

MemoryModule::MemoryModule(sc_core::sc_module_name name, PhysicalMemory& mem, MemoryHierarchy& hier,
                           sc_core::sc_time cycle)
    : sc_core::sc_module(name), socket("socket"), data_socket("data_socket"), m_mem(mem), m_hier(hier), m_cycle(cycle) {
  socket.register_b_transport(this, &MemoryModule::b_transport);
  socket.register_transport_dbg(this, &MemoryModule::transport_dbg);
  data_socket.register_b_transport(this, &MemoryModule::data_b_transport);
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
  delay += sc_core::sc_time::from_value(m_cycle.value() *
                                        m_hier.access(trans.get_address(), trans.is_write(), MemSource::Walk, m_node));
}

void MemoryModule::data_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const std::uint64_t pa = trans.get_address();
  const unsigned len = std::max(1u, trans.get_data_length());
  if (pa + len > m_mem.size_bytes() || pa + len < pa) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const std::uint64_t line = m_hier.line_bytes();
  const bool write = trans.is_write();
  Cycles worst = 0;
  for (std::uint64_t a = pa & ~(line - 1); a <= pa + len - 1; a += line)
    worst = std::max(worst, m_hier.access(a, write, MemSource::Data, m_node));
  delay += sc_core::sc_time::from_value(m_cycle.value() * worst);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int MemoryModule::transport_dbg(tlm::tlm_generic_payload& trans) {
  return copy(trans) ? trans.get_data_length() : 0;
}

}  // namespace mmusim
