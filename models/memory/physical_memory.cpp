#include "models/memory/physical_memory.h"

#include <algorithm>
#include <string>

namespace mmusim {

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

std::uint64_t PhysicalMemory::read(PAddr pa, unsigned bytes) const {
  check(pa, bytes);
  const std::uint8_t* frame = m_frames[pa >> kPageShift];
  if (!frame) return 0;
  std::uint64_t v = 0;
  std::memcpy(&v, frame + (pa & (kPageBytes - 1)), bytes);  // x86 host: little-endian
  return v;
}

void PhysicalMemory::write(PAddr pa, unsigned bytes, std::uint64_t value) {
  check(pa, bytes);
  std::uint8_t*& frame = m_frames[pa >> kPageShift];
  if (!frame) {
    if (value == 0) return;  // writing zeros into a zero frame changes nothing
    frame = new_frame();
  }
  std::memcpy(frame + (pa & (kPageBytes - 1)), &value, bytes);
}

std::uint8_t* PhysicalMemory::new_frame() {
  std::uint8_t* f;
  if (!m_free_frames.empty()) {
    f = m_free_frames.back();
    m_free_frames.pop_back();
  } else {
    if (m_chunk_used == kChunkFrames) {
      m_chunks.emplace_back(new std::uint8_t[kChunkFrames * kPageBytes]);
      m_chunk_used = 0;
    }
    f = m_chunks.back().get() + m_chunk_used++ * kPageBytes;
  }
  std::memset(f, 0, kPageBytes);
  ++m_populated;
  return f;
}

void PhysicalMemory::release_frame(std::uint64_t pfn) {
  m_free_frames.push_back(m_frames[pfn]);
  m_frames[pfn] = nullptr;
  --m_populated;
}

void PhysicalMemory::copy_frame(std::uint64_t dst, std::uint64_t src) {
  if (dst >= m_frames.size() || src >= m_frames.size())
    throw std::out_of_range("frame " + std::to_string(std::max(dst, src)) + " beyond memory");
  if (dst == src) return;
  if (!m_frames[src]) {
    zero_frame(dst);
    return;
  }
  if (!m_frames[dst]) m_frames[dst] = new_frame();
  std::memcpy(m_frames[dst], m_frames[src], kPageBytes);
}

void PhysicalMemory::zero_frame(std::uint64_t pfn) {
  if (pfn >= m_frames.size()) throw std::out_of_range("frame " + std::to_string(pfn) + " beyond memory");
  if (m_frames[pfn]) release_frame(pfn);
}

}  // namespace mmusim
