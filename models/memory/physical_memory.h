// Simulated physical memory: the bytes that page tables (and anything else
// the OS model writes) live in.
//
// Storage is sparse, one 4 KiB frame at a time, allocated on the first
// write; a frame never written reads as zeros. So an 8 GiB machine costs
// only the frames actually written (page-table pages, in practice), and data
// pages whose contents the trace never shows cost nothing. zero_frame() drops
// a frame's storage (to a free list of frame buffers, carved from 256 KiB
// chunks), which is how a freshly allocated page is cleared. The per-frame
// pointer table is a ZeroedArray: its pages cost nothing until used.
//
// Accesses here take no time: this is the store behind the memory
// controller's timing and the OS model's zero-time debug path.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "models/common/types.h"
#include "models/common/zeroed_array.h"

namespace mmusim {

class PhysicalMemory {
 public:
  explicit PhysicalMemory(std::uint64_t size_bytes);

  std::uint64_t size_bytes() const { return m_size_bytes; }
  std::uint64_t num_frames() const { return m_frames.size(); }

  // Little-endian reads and writes of 1, 2, 4 or 8 naturally aligned bytes
  // (paging-structure entries are 4 or 8 bytes). Throws std::out_of_range
  // for addresses beyond the memory, std::invalid_argument for misalignment.
  std::uint64_t read(PAddr pa, unsigned bytes) const;
  void write(PAddr pa, unsigned bytes, std::uint64_t value);
  std::uint64_t read64(PAddr pa) const { return read(pa, 8); }
  void write64(PAddr pa, std::uint64_t value) { write(pa, 8, value); }

  void zero_frame(std::uint64_t pfn);
  // Copies frame src into frame dst; an unpopulated src leaves dst unpopulated
  // (all zeros), so copying a mostly untouched 1 GiB page costs little.
  void copy_frame(std::uint64_t dst, std::uint64_t src);
  std::size_t populated_frames() const { return m_populated; }

 private:
  void check(PAddr pa, unsigned bytes) const;

  // A populated frame's storage: from the free list, else carved from a chunk
  // of kChunkFrames frames; zeroed.
  std::uint8_t* new_frame();
  void release_frame(std::uint64_t pfn);

  static constexpr std::size_t kChunkFrames = 64;
  std::uint64_t m_size_bytes;
  ZeroedArray<std::uint8_t*> m_frames;  // nullptr: never written since zeroed (reads as zeros)
  std::vector<std::unique_ptr<std::uint8_t[]>> m_chunks;
  std::size_t m_chunk_used = kChunkFrames;  // frames handed out of m_chunks.back()
  std::vector<std::uint8_t*> m_free_frames;
  std::size_t m_populated = 0;
};

}  // namespace mmusim
