#include "models/memory/physical_memory.h"

#include <algorithm>
#include <string>

namespace mmusim {

namespace {
constexpr unsigned kWordsPerFrame = kPageBytes / 8;
}

PhysicalMemory::PhysicalMemory(std::uint64_t size_bytes)
    : m_size_bytes(size_bytes), m_frames((size_bytes + kPageBytes - 1) / kPageBytes) {}

void PhysicalMemory::check(PAddr pa, unsigned bytes) const {
  if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8)
    throw std::invalid_argument("physical access of " + std::to_string(bytes) + " bytes");
  if (pa % bytes != 0) throw std::invalid_argument("misaligned physical access at " + std::to_string(pa));
  if (pa + bytes > m_size_bytes || pa + bytes < pa)
    throw std::out_of_range("physical address " + std::to_string(pa) + " beyond memory of " +
                            std::to_string(m_size_bytes) + " bytes");
}

std::uint64_t PhysicalMemory::read_word(std::uintptr_t f, unsigned word) const {
  if (!f) return 0;
  if (!is_sparse(f)) {
    std::uint64_t v;
    std::memcpy(&v, dense(f) + word * 8, 8);
    return v;
  }
  const Sparse* s = sparse(f);
  for (unsigned i = 0; i < s->count; ++i)
    if (s->index[i] == word) return s->value[i];
  return 0;
}

void PhysicalMemory::write_word(std::uintptr_t& f, unsigned word, std::uint64_t value) {
  if (!f) {
    if (value == 0) return;  // writing zeros into a zero frame changes nothing
    Sparse* s = new_sparse();
    s->count = 1;
    s->index[0] = static_cast<std::uint16_t>(word);
    s->value[0] = value;
    f = reinterpret_cast<std::uintptr_t>(s) | 1;
    return;
  }
  if (!is_sparse(f)) {
    std::memcpy(dense(f) + word * 8, &value, 8);
    return;
  }
  Sparse* s = sparse(f);
  for (unsigned i = 0; i < s->count; ++i) {
    if (s->index[i] != word) continue;
    if (value != 0) {
      s->value[i] = value;
    } else {  // the word is zero again: drop it (the last one in its place)
      --s->count;
      s->index[i] = s->index[s->count];
      s->value[i] = s->value[s->count];
      if (s->count == 0) release(f);
    }
    return;
  }
  if (value == 0) return;
  if (s->count < kSparseWords) {
    s->index[s->count] = static_cast<std::uint16_t>(word);
    s->value[s->count] = value;
    ++s->count;
    return;
  }
  // Full: the frame becomes dense.
  std::uint8_t* d = new_dense();
  for (unsigned i = 0; i < s->count; ++i) std::memcpy(d + s->index[i] * 8u, &s->value[i], 8);
  std::memcpy(d + word * 8, &value, 8);
  release(f);
  f = reinterpret_cast<std::uintptr_t>(d);
  ++m_dense_count;
}

std::uint64_t PhysicalMemory::read(PAddr pa, unsigned bytes) const {
  check(pa, bytes);
  const std::uintptr_t f = m_frames[pa >> kPageShift];
  if (!f) return 0;
  const unsigned offset = static_cast<unsigned>(pa & (kPageBytes - 1));
  std::uint64_t v = read_word(f, offset / 8);
  if (bytes == 8) return v;
  v >>= (offset % 8) * 8;  // x86 host and model: little-endian
  return v & ((1ull << (bytes * 8)) - 1);
}

void PhysicalMemory::write(PAddr pa, unsigned bytes, std::uint64_t value) {
  check(pa, bytes);
  std::uintptr_t& f = m_frames[pa >> kPageShift];
  const unsigned offset = static_cast<unsigned>(pa & (kPageBytes - 1));
  const unsigned word = offset / 8;
  if (bytes == 8) {
    write_word(f, word, value);
    return;
  }
  const unsigned shift = (offset % 8) * 8;
  const std::uint64_t mask = ((1ull << (bytes * 8)) - 1) << shift;
  const std::uint64_t old = read_word(f, word);
  write_word(f, word, (old & ~mask) | ((value << shift) & mask));
}

std::uint8_t* PhysicalMemory::carve(std::size_t bytes) {
  if (m_chunk_used + bytes > kChunkBytes) {
    m_chunks.emplace_back(new std::uint8_t[kChunkBytes]);
    m_chunk_used = 0;
    m_storage_bytes += kChunkBytes;
  }
  std::uint8_t* p = m_chunks.back().get() + m_chunk_used;
  m_chunk_used += bytes;
  return p;
}

std::uint8_t* PhysicalMemory::new_dense() {
  std::uint8_t* d;
  if (!m_free_dense.empty()) {
    d = m_free_dense.back();
    m_free_dense.pop_back();
  } else {
    d = carve(kPageBytes);
  }
  std::memset(d, 0, kPageBytes);
  return d;
}

PhysicalMemory::Sparse* PhysicalMemory::new_sparse() {
  Sparse* s;
  if (!m_free_sparse.empty()) {
    s = m_free_sparse.back();
    m_free_sparse.pop_back();
  } else {
    s = reinterpret_cast<Sparse*>(carve(sizeof(Sparse)));
  }
  s->count = 0;
  ++m_sparse_count;
  return s;
}

void PhysicalMemory::release(std::uintptr_t& f) {
  if (is_sparse(f)) {
    m_free_sparse.push_back(sparse(f));
    --m_sparse_count;
  } else {
    m_free_dense.push_back(dense(f));
    --m_dense_count;
  }
  f = 0;
}

void PhysicalMemory::copy_frame(std::uint64_t dst, std::uint64_t src) {
  if (dst >= m_frames.size() || src >= m_frames.size())
    throw std::out_of_range("frame " + std::to_string(std::max(dst, src)) + " beyond memory");
  if (dst == src) return;
  zero_frame(dst);
  const std::uintptr_t f = m_frames[src];
  if (!f) return;
  if (is_sparse(f)) {
    Sparse* s = new_sparse();
    std::memcpy(s, sparse(f), sizeof(Sparse));
    m_frames[dst] = reinterpret_cast<std::uintptr_t>(s) | 1;
  } else {
    std::uint8_t* d = new_dense();
    std::memcpy(d, dense(f), kPageBytes);
    m_frames[dst] = reinterpret_cast<std::uintptr_t>(d);
    ++m_dense_count;
  }
}

void PhysicalMemory::zero_frame(std::uint64_t pfn) {
  if (pfn >= m_frames.size()) throw std::out_of_range("frame " + std::to_string(pfn) + " beyond memory");
  if (m_frames[pfn]) release(m_frames[pfn]);
}

}  // namespace mmusim
