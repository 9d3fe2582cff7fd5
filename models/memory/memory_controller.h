// Memory controller timing: how many cycles a physical access takes.
//
// Two models, chosen by memory.controller.model:
//  - fixed: every access takes fixed_latency cycles.
//  - dram:  one rank of banks per channel with a row buffer each. Address
//           mapping, low to high bits: column (row_bytes), channel, bank, row
//           (row-interleaved). With the open policy a row stays open after an
//           access: a row hit costs tCL + tBURST, an access to a closed bank
//           tRCD + tCL + tBURST, a row conflict tRP + tRCD + tCL + tBURST. The
//           closed policy precharges after every access, so each costs
//           tRCD + tCL + tBURST (the precharge is hidden).
//
// Left out (for the memory-hierarchy work): request queues and FR-FCFS
// scheduling, bank-level parallelism between concurrent requests, refresh,
// tRAS/tWR/tFAW. The replay issues one request at a time, so a queue would
// always hold one request and the latencies above are exact for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

struct MemoryTiming {
  enum class Model { Fixed, Dram } model = Model::Fixed;
  Cycles fixed_latency = 80;
  unsigned channels = 1, banks = 16;
  std::uint64_t row_bytes = 8192;
  Cycles tRCD = 16, tCL = 16, tRP = 16, tBURST = 4;
  bool open_page = true;
};

class MemoryController {
 public:
  MemoryController(const MemoryTiming& t, StatGroup& stats);
  // Latency of one access (a cache line or smaller) at pa.
  Cycles access(PAddr pa, bool is_write);

 private:
  MemoryTiming m_t;
  unsigned m_col_bits, m_chan_bits, m_bank_bits;
  std::vector<std::int64_t> m_open_row;  // per (channel, bank); -1 when closed
  Counter& m_reads;
  Counter& m_writes;
  Counter& m_row_hits;
  Counter& m_row_misses;
  Counter& m_row_conflicts;
};

}  // namespace mmusim
