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
  const auto& frame = m_frames[pa >> kPageShift];
  if (!frame) return 0;
  std::uint64_t v = 0;
  std::memcpy(&v, frame.get() + (pa & (kPageBytes - 1)), bytes);  // x86 host: little-endian
  return v;
}

void PhysicalMemory::write(PAddr pa, unsigned bytes, std::uint64_t value) {
  check(pa, bytes);
  auto& frame = m_frames[pa >> kPageShift];
  if (!frame) {
    if (value == 0) return;  // writing zeros into a zero frame changes nothing
    frame.reset(new std::uint8_t[kPageBytes]());
    ++m_populated;
  }
  std::memcpy(frame.get() + (pa & (kPageBytes - 1)), &value, bytes);
}

void PhysicalMemory::copy_frame(std::uint64_t dst, std::uint64_t src) {
  if (dst >= m_frames.size() || src >= m_frames.size())
    throw std::out_of_range("frame " + std::to_string(std::max(dst, src)) + " beyond memory");
  if (dst == src) return;
  if (!m_frames[src]) {
    zero_frame(dst);
    return;
  }
  if (!m_frames[dst]) {
    m_frames[dst].reset(new std::uint8_t[kPageBytes]);
    ++m_populated;
  }
  std::memcpy(m_frames[dst].get(), m_frames[src].get(), kPageBytes);
}

void PhysicalMemory::zero_frame(std::uint64_t pfn) {
  if (pfn >= m_frames.size()) throw std::out_of_range("frame " + std::to_string(pfn) + " beyond memory");
  if (m_frames[pfn]) {
    m_frames[pfn].reset();
    --m_populated;
  }
}

}  // namespace mmusim
