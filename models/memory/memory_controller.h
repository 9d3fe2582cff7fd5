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
// Scheduling (memory.caches in front): one trace access can put several
// requests into the queue at once - the demand fill of the last cache level
// and the write-backs of the dirty victims it evicted (the victim is chosen
// when the miss is detected, so its write-back is queued with the fill).
// serve() orders such a batch FR-FCFS (Rixner et al., "Memory Access
// Scheduling", ISCA 2000): among the waiting requests, the oldest one whose
// row is open in its bank goes first (first ready), else the oldest
// (first come). Each request occupies its bank from its first command to its
// last data beat, and its channel's data bus for tBURST; a request waits for
// its bank and bus. The demand's latency is the time until its last data beat,
// so a write-back that is scheduled first delays it. Assumption: each batch
// starts with every bank idle and every bus free (the in-order replay issues
// the next miss only after the previous one completed; write-backs scheduled
// after the demand are taken to drain in the background), while the
// row-buffer state carries over.
//
// Timing parameters as JEDEC DDR4 (JESD79-4) defines them: tRCD = ACTIVATE to
// READ/WRITE, tCL (CAS latency) = READ to first data, tRP = PRECHARGE to the
// next ACTIVATE, tBURST = the data burst (BL8 on a DDR bus: 4 clocks). All are
// given in core cycles here. Left out: refresh, tRAS/tWR/tWTR/tFAW/tRRD,
// ranks, read/write turnaround, write-queue draining policies.
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
  // Extra cycles of a DRAM access to another NUMA node's memory (os.numa_nodes
  // > 1): MemoryHierarchy adds it to the demand fill.
  Cycles remote_latency = 80;
};

struct MemRequest {
  PAddr pa = 0;
  bool is_write = false;
};

class MemoryController {
 public:
  MemoryController(const MemoryTiming& t, StatGroup& stats);
  // Latency of one access (a cache line or smaller) at pa.
  Cycles access(PAddr pa, bool is_write) {
    MemRequest r{pa, is_write};
    return serve(&r, 1);
  }
  // Serves n requests queued together, in FR-FCFS order; reqs[0] is the
  // demand (arrival order = index order). Returns the demand's latency. With
  // model: fixed that is fixed_latency (the other requests are posted and
  // delay nothing).
  Cycles serve(const MemRequest* reqs, std::size_t n);
  // The order in which the last serve() scheduled its requests (indices).
  const std::vector<std::size_t>& last_order() const { return m_order; }

 private:
  MemoryTiming m_t;
  unsigned m_col_bits, m_chan_bits, m_bank_bits;
  std::vector<std::int64_t> m_open_row;  // per (channel, bank); -1 when closed
  struct Decoded {
    std::size_t bank;  // channel * banks + bank
    std::size_t channel;
    std::int64_t row;
  };
  Decoded decode(PAddr pa) const;
  std::vector<std::size_t> m_order;
  std::vector<Decoded> m_dec;
  std::vector<std::uint8_t> m_done;
  std::vector<std::pair<std::size_t, Cycles>> m_bank_ready;  // batch-local
  std::vector<std::pair<std::size_t, Cycles>> m_bus_ready;   // batch-local
  Counter& m_reads;
  Counter& m_writes;
  Counter& m_row_hits;
  Counter& m_row_misses;
  Counter& m_row_conflicts;
};

}  // namespace mmusim
