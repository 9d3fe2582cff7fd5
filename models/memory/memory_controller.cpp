#include "models/memory/memory_controller.h"

namespace mmusim {

static unsigned log2u(std::uint64_t v) {
  unsigned n = 0;
  while ((std::uint64_t{1} << n) < v) ++n;
  return n;
}

MemoryController::MemoryController(const MemoryTiming& t, StatGroup& stats)
    : m_t(t),
      m_col_bits(log2u(t.row_bytes)),
      m_chan_bits(log2u(t.channels)),
      m_bank_bits(log2u(t.banks)),
      m_open_row(static_cast<std::size_t>(t.channels) * t.banks, -1),
      m_reads(stats.counter("reads", "physical reads (page-walk references)")),
      m_writes(stats.counter("writes", "physical writes (accessed/dirty flag updates)")),
      m_row_hits(stats.counter("row_hits", "DRAM accesses that found their row open")),
      m_row_misses(stats.counter("row_misses", "DRAM accesses that had to activate a row (closed bank or conflict)")),
      m_row_conflicts(stats.counter("row_conflicts", "row misses that first precharged another open row")) {}

Cycles MemoryController::access(PAddr pa, bool is_write) {
  if (is_write) ++m_writes;
  else ++m_reads;
  if (m_t.model == MemoryTiming::Model::Fixed) return m_t.fixed_latency;

  std::uint64_t a = pa >> m_col_bits;
  std::uint64_t channel = a & ((std::uint64_t{1} << m_chan_bits) - 1);
  a >>= m_chan_bits;
  std::uint64_t bank = a & ((std::uint64_t{1} << m_bank_bits) - 1);
  auto row = static_cast<std::int64_t>(a >> m_bank_bits);
  std::int64_t& open = m_open_row[channel * m_t.banks + bank];

  Cycles lat;
  if (open == row) {
    ++m_row_hits;
    lat = m_t.tCL + m_t.tBURST;
  } else {
    ++m_row_misses;
    lat = m_t.tRCD + m_t.tCL + m_t.tBURST;
    if (open >= 0) {
      ++m_row_conflicts;
      lat += m_t.tRP;
    }
  }
  open = m_t.open_page ? row : -1;
  return lat;
}

}  // namespace mmusim
