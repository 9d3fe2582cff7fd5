// SystemC shell of the MMU: a TLM-2.0 target for translation requests from
// the core side and an initiator towards memory for the walker's reads and
// accessed/dirty updates.
//
// A translation request is a generic payload whose address is the linear
// address, carrying a TranslationExtension (kind, privilege, demand flag in;
// the Translation out). b_transport runs the plain Mmu core and adds its
// cycles to the annotated delay. The walker's memory references go out as
// 8-byte generic payloads through mem_socket; their annotated delays,
// divided by the clock period, are the cycles the walker accounts.
#pragma once

#include <memory>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/mmu/mmu.h"

namespace mmusim {

struct TranslationExtension : tlm::tlm_extension<TranslationExtension> {
  AccessKind kind = AccessKind::Load;
  bool user = true;
  bool demand = true;
  Translation result;

  tlm::tlm_extension_base* clone() const override { return new TranslationExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const TranslationExtension&>(other);
  }
};

class MmuModule : public sc_core::sc_module, public PageTableMemory {
 public:
  tlm_utils::simple_target_socket<MmuModule> cpu_socket;
  tlm_utils::simple_initiator_socket<MmuModule> mem_socket;

  MmuModule(sc_core::sc_module_name name, const MmuParams& p, StatGroup& stats, sc_core::sc_time cycle);
  Mmu& core() { return *m_core; }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  std::uint64_t read_entry(PAddr pa, Cycles& latency) override;
  void write_entry(PAddr pa, std::uint64_t value, Cycles& latency) override;
  Cycles memory_access(PAddr pa, std::uint64_t* data, tlm::tlm_command cmd);

  std::unique_ptr<Mmu> m_core;
  sc_core::sc_time m_cycle;
  tlm::tlm_generic_payload m_pt_trans;
};

}  // namespace mmusim
