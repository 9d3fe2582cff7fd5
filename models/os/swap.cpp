#include "models/os/swap.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mmusim {

SwapDevice::SwapDevice(std::uint64_t slots) : m_count(slots, 0) {}

std::optional<std::uint64_t> SwapDevice::alloc() {
  const std::uint64_t n = m_count.size();
  if (n <= 1 || m_used == n - 1) return std::nullopt;
  for (std::uint64_t i = 0; i < n - 1; ++i) {
    const std::uint64_t s = m_cursor;
    m_cursor = m_cursor + 1 < n ? m_cursor + 1 : 1;
    if (m_count[s] == 0) {
      m_count[s] = 1;
      ++m_used;
      return s;
    }
  }
  return std::nullopt;
}

void SwapDevice::dup(std::uint64_t slot) {
  if (count(slot) == 0) throw std::logic_error("swap_duplicate of free slot " + std::to_string(slot));
  if (m_count[slot] == UINT16_MAX) throw std::logic_error("swap slot " + std::to_string(slot) + " count overflow");
  ++m_count[slot];
}

void SwapDevice::free(std::uint64_t slot) {
  if (count(slot) == 0) throw std::logic_error("swap_free of free slot " + std::to_string(slot));
  if (--m_count[slot] == 0) {
    m_data.erase(slot);
    --m_used;
  }
}

void SwapDevice::write(std::uint64_t slot, const std::vector<std::uint64_t>& words) {
  if (count(slot) == 0) throw std::logic_error("swap write to free slot " + std::to_string(slot));
  // The model keeps no user data, so nearly every page written out is all
  // zeros: it is kept as an empty vector (no host memory for its 4 KiB).
  const bool zero = std::all_of(words.begin(), words.end(), [](std::uint64_t w) { return w == 0; });
  m_data[slot] = zero ? std::vector<std::uint64_t>{} : words;
}

std::vector<std::uint64_t> SwapDevice::read(std::uint64_t slot) const {
  auto it = m_data.find(slot);
  if (count(slot) == 0 || it == m_data.end())
    throw std::logic_error("swap read of slot " + std::to_string(slot) + " that holds no page");
  if (it->second.empty()) return std::vector<std::uint64_t>(kWordsPerPage, 0);
  return it->second;
}

}  // namespace mmusim
