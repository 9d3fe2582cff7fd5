// SystemC shell of the MMU: a TLM-2.0 target for translation requests from
// the core side and an initiator towards memory for the walker's reads and
// accessed/dirty updates.
//
// A translation request is a generic payload whose address is the linear
// address, carrying a TranslationExtension (kind, privilege, demand flag in;
// the Translation out). b_transport runs the plain Mmu core and adds its
// cycles to the annotated delay. The walker's memory references go out as
// 8-byte generic payloads (4-byte ones for the entries of 32-bit paging)
// through mem_socket; their annotated delays, divided by the clock period,
// are the cycles the walker accounts.
//
// The target side implements tlm_fw_transport_if itself instead of using
// simple_target_socket: translation is the simulator's hot path, and this
// makes a request one virtual call. Latencies up to kFastCycles are added
// from a table of precomputed sc_time values (no call into the library).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/memory/physical_memory.h"
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

class MmuModule : public sc_core::sc_module,
                  public PageTableMemory,
                  public tlm::tlm_fw_transport_if<tlm::tlm_base_protocol_types> {
 public:
  tlm::tlm_target_socket<> cpu_socket;
  tlm_utils::simple_initiator_socket<MmuModule> mem_socket;

  MmuModule(sc_core::sc_module_name name, const MmuParams& p, StatGroup& stats, sc_core::sc_time cycle);
  Mmu& core() { return *m_core; }

  // What b_transport does for a translation, called directly by an
  // initiator that holds the module (Replay's in-order path): the same
  // Mmu::translate and the same delay added, without the socket's virtual
  // call and the extension lookup. Inline: once per access.
  void translate(TranslationExtension& ext, VAddr va, sc_core::sc_time& delay) {
    m_core->translate(ext.result, va, ext.kind, ext.user, ext.demand);
    const Cycles c = ext.result.cycles;
    // Integer arithmetic (sc_time * double goes through floating point).
    delay += c < kFastCycles ? m_fast_time[c] : sc_core::sc_time::from_value(m_cycle.value() * c);
  }
  // Mmu::translate_repeat<true> (lazy statistics: the caller settles them,
  // Mmu::settle_repeats), the same delay added when it repeats (true).
  bool translate_repeat(Translation& out, VAddr va, AccessKind kind, bool user, sc_core::sc_time& delay) {
    if (!m_core->translate_repeat<true>(out, va, kind, user)) return false;
    const Cycles c = out.cycles;
    delay += c < kFastCycles ? m_fast_time[c] : sc_core::sc_time::from_value(m_cycle.value() * c);
    return true;
  }

  // Before the end of elaboration the sockets cannot be used; the OS
  // model's boot-time CR3 load (which, with PAE paging, reads the four
  // PDPTEs) then reads this memory directly, in zero time and uncounted.
  void set_boot_memory(PhysicalMemory* mem) { m_boot_mem = mem; }

 private:
  void end_of_elaboration() override { m_elaborated = true; }
  PhysicalMemory* m_boot_mem = nullptr;
  bool m_elaborated = false;
  // tlm_fw_transport_if: only the blocking (loosely-timed) path is offered.
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) override;
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                     sc_core::sc_time& delay) override;
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) override;
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans) override;
  std::uint64_t read_entry(PAddr pa, Cycles& latency) override;
  void write_entry(PAddr pa, std::uint64_t value, Cycles& latency) override;
  std::uint32_t read_entry32(PAddr pa, Cycles& latency) override;
  void write_entry32(PAddr pa, std::uint32_t value, Cycles& latency) override;
  // bytes: 8 or 4; data points at that many bytes (host order, little-endian).
  Cycles memory_access(PAddr pa, void* data, unsigned bytes, tlm::tlm_command cmd);

  std::unique_ptr<Mmu> m_core;
  sc_core::sc_time m_cycle;
  static constexpr Cycles kFastCycles = 64;
  std::vector<sc_core::sc_time> m_fast_time;  // i cycles as sc_time, i < kFastCycles
  tlm::tlm_generic_payload m_pt_trans;
};

}  // namespace mmusim
