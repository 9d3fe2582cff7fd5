#include "models/memory/memory_controller.h"

#include <algorithm>

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
      m_reads(stats.counter(
          "reads", "physical reads reaching the controller (page-walk references; with memory.caches, line fills)")),
      m_writes(stats.counter(
          "writes",
          "physical writes reaching the controller (accessed/dirty updates; with memory.caches, write-backs)")),
      m_row_hits(stats.counter("row_hits", "DRAM accesses that found their row open")),
      m_row_misses(stats.counter("row_misses", "DRAM accesses that had to activate a row (closed bank or conflict)")),
      m_row_conflicts(stats.counter("row_conflicts", "row misses that first precharged another open row")) {}

MemoryController::Decoded MemoryController::decode(PAddr pa) const {
  std::uint64_t a = pa >> m_col_bits;
  const std::uint64_t channel = a & ((std::uint64_t{1} << m_chan_bits) - 1);
  a >>= m_chan_bits;
  const std::uint64_t bank = a & ((std::uint64_t{1} << m_bank_bits) - 1);
  return Decoded{static_cast<std::size_t>(channel * m_t.banks + bank), static_cast<std::size_t>(channel),
                 static_cast<std::int64_t>(a >> m_bank_bits)};
}

namespace {
Cycles& slot(std::vector<std::pair<std::size_t, Cycles>>& v, std::size_t key) {
  for (auto& kv : v)
    if (kv.first == key) return kv.second;
  v.emplace_back(key, 0);
  return v.back().second;
}
}  // namespace

Cycles MemoryController::serve(const MemRequest* reqs, std::size_t n) {
  m_order.clear();
  if (n == 0) return 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (reqs[i].is_write) ++m_writes;
    else ++m_reads;
  }
  if (m_t.model == MemoryTiming::Model::Fixed) {
    for (std::size_t i = 0; i < n; ++i) m_order.push_back(i);
    return m_t.fixed_latency;
  }

  m_dec.clear();
  m_done.assign(n, 0);
  m_bank_ready.clear();
  m_bus_ready.clear();
  for (std::size_t i = 0; i < n; ++i) m_dec.push_back(decode(reqs[i].pa));
  Cycles demand_done = 0;
  for (std::size_t served = 0; served < n; ++served) {
    // First ready (row hit, oldest first), else first come.
    std::size_t pick = n;
    for (std::size_t i = 0; i < n && pick == n; ++i)
      if (!m_done[i] && m_open_row[m_dec[i].bank] == m_dec[i].row) pick = i;
    for (std::size_t i = 0; i < n && pick == n; ++i)
      if (!m_done[i]) pick = i;
    m_done[pick] = 1;
    m_order.push_back(pick);
    const Decoded& d = m_dec[pick];
    std::int64_t& open = m_open_row[d.bank];
    Cycles cmd;
    if (open == d.row) {
      ++m_row_hits;
      cmd = m_t.tCL;
    } else {
      ++m_row_misses;
      cmd = m_t.tRCD + m_t.tCL;
      if (open >= 0) {
        ++m_row_conflicts;
        cmd += m_t.tRP;
      }
    }
    open = m_t.open_page ? d.row : -1;
    Cycles& bank_ready = slot(m_bank_ready, d.bank);
    Cycles& bus_ready = slot(m_bus_ready, d.channel);
    const Cycles data_start = std::max(bank_ready + cmd, bus_ready);
    const Cycles done = data_start + m_t.tBURST;
    bank_ready = done;
    bus_ready = done;
    if (pick == 0) demand_done = done;
  }
  return demand_done;
}

}  // namespace mmusim
