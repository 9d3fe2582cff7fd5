#include "models/mmu/mmu_module.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace mmusim {

MmuModule::MmuModule(sc_core::sc_module_name name, const MmuParams& p, StatGroup& stats, sc_core::sc_time cycle)
    : sc_core::sc_module(name), cpu_socket("cpu_socket"), mem_socket("mem_socket"), m_cycle(cycle) {
  cpu_socket.bind(*this);
  for (Cycles i = 0; i < kFastCycles; ++i) m_fast_time.push_back(sc_core::sc_time::from_value(m_cycle.value() * i));
  m_core = std::make_unique<Mmu>(p, *this, stats);
  m_pt_trans.set_data_length(8);
  m_pt_trans.set_streaming_width(8);
  m_pt_trans.set_byte_enable_ptr(nullptr);
  m_pt_trans.set_dmi_allowed(false);
}

void MmuModule::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  auto* ext = trans.get_extension<TranslationExtension>();
  if (!ext) {
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  translate(*ext, trans.get_address(), delay);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

tlm::tlm_sync_enum MmuModule::nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase&, sc_core::sc_time&) {
  trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
  return tlm::TLM_COMPLETED;
}

bool MmuModule::get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi&) { return false; }

unsigned int MmuModule::transport_dbg(tlm::tlm_generic_payload&) { return 0; }

Cycles MmuModule::memory_access(PAddr pa, void* data, unsigned bytes, tlm::tlm_command cmd) {
  if (!m_elaborated && m_boot_mem) {
    std::uint64_t v = 0;
    if (cmd == tlm::TLM_READ_COMMAND) {
      v = m_boot_mem->read(pa, bytes);
      std::memcpy(data, &v, bytes);
    } else {
      std::memcpy(&v, data, bytes);
      m_boot_mem->write(pa, bytes, v);
    }
    return 0;
  }
  m_pt_trans.set_command(cmd);
  m_pt_trans.set_data_length(bytes);
  m_pt_trans.set_streaming_width(bytes);
  m_pt_trans.set_address(pa);
  m_pt_trans.set_data_ptr(reinterpret_cast<unsigned char*>(data));
  m_pt_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time d = sc_core::SC_ZERO_TIME;
  mem_socket->b_transport(m_pt_trans, d);
  if (!m_pt_trans.is_response_ok())
    throw std::runtime_error("page walk: memory error at physical address " + std::to_string(pa) + ": " +
                             m_pt_trans.get_response_string());
  return d.value() / m_cycle.value();
}

std::uint64_t MmuModule::read_entry(PAddr pa, Cycles& latency) {
  std::uint64_t v = 0;
  latency += memory_access(pa, &v, 8, tlm::TLM_READ_COMMAND);
  return v;
}

void MmuModule::write_entry(PAddr pa, std::uint64_t value, Cycles& latency) {
  latency += memory_access(pa, &value, 8, tlm::TLM_WRITE_COMMAND);
}

std::uint32_t MmuModule::read_entry32(PAddr pa, Cycles& latency) {
  std::uint32_t v = 0;
  latency += memory_access(pa, &v, 4, tlm::TLM_READ_COMMAND);
  return v;
}

void MmuModule::write_entry32(PAddr pa, std::uint32_t value, Cycles& latency) {
  latency += memory_access(pa, &value, 4, tlm::TLM_WRITE_COMMAND);
}

}  // namespace mmusim
