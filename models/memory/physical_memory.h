// Simulated physical memory: the bytes that page tables (and anything else
// the OS model writes) live in.
//
// Storage follows the 8-byte words in use, not the frames. A frame never
// written reads as zeros and costs one null pointer (the per-frame pointer
// table is a ZeroedArray: its pages cost nothing until used). A written frame
// starts sparse: up to kSparseWords nonzero words, each with its index, in
// 168 bytes; a frame that gets more nonzero words than that becomes a dense
// 4 KiB copy. A page table that maps one page of its 2 MiB (or 4 MiB) -
// the common case of a sparse address space - then costs 168 bytes of host
// memory instead of 4 KiB, so a machine of 1 TiB with a large sparse
// footprint is practical. Data pages, whose contents the trace never shows,
// cost nothing. zero_frame() drops a frame's storage (to free lists of
// frame buffers, carved from chunks), which is how a freshly allocated page
// is cleared.
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
  // Nonzero words a sparse frame holds before it becomes dense.
  static constexpr unsigned kSparseWords = 16;

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

  // Frames with storage (sparse or dense), and how many of them are dense.
  std::size_t populated_frames() const { return m_sparse_count + m_dense_count; }
  std::size_t dense_frames() const { return m_dense_count; }
  // Host bytes of the frames' contents: chunks carved so far (in use or on
  // a free list), the per-frame table's pages excepted.
  std::uint64_t storage_bytes() const { return m_storage_bytes; }

 private:
  // A frame with few nonzero words: word index (0..511) and value, unsorted.
  struct Sparse {
    std::uint16_t count;
    std::uint16_t index[kSparseWords];
    std::uint64_t value[kSparseWords];
  };
  // A frame pointer with its low bit set is a Sparse*, else a dense 4 KiB.
  static bool is_sparse(std::uintptr_t f) { return f & 1; }
  static Sparse* sparse(std::uintptr_t f) { return reinterpret_cast<Sparse*>(f & ~std::uintptr_t{1}); }
  static std::uint8_t* dense(std::uintptr_t f) { return reinterpret_cast<std::uint8_t*>(f); }

  void check(PAddr pa, unsigned bytes) const;
  std::uint64_t read_word(std::uintptr_t f, unsigned word) const;
  void write_word(std::uintptr_t& f, unsigned word, std::uint64_t value);

  std::uint8_t* new_dense();
  Sparse* new_sparse();
  void release(std::uintptr_t& f);

  static constexpr std::size_t kChunkBytes = 256 * 1024;
  std::uint8_t* carve(std::size_t bytes);

  std::uint64_t m_size_bytes;
  ZeroedArray<std::uintptr_t> m_frames;  // 0: never written since zeroed (reads as zeros)
  std::vector<std::unique_ptr<std::uint8_t[]>> m_chunks;
  std::size_t m_chunk_used = kChunkBytes;  // bytes handed out of m_chunks.back()
  std::vector<std::uint8_t*> m_free_dense;
  std::vector<Sparse*> m_free_sparse;
  std::size_t m_sparse_count = 0;
  std::size_t m_dense_count = 0;
  std::uint64_t m_storage_bytes = 0;
};

}  // namespace mmusim
