// A fixed-size array whose elements start as all-zero bits, backed by
// calloc(). For large sizes the C library takes fresh pages from the kernel,
// which are zero already, so a page of the array costs nothing until it is
// written. Per-frame tables of a large simulated memory (8 GiB = 2 Mi frames)
// then cost start-up time only for the entries a run uses, where a
// std::vector would fill (and fault in) all of them.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace mmusim {

template <class T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "ZeroedArray holds plain values whose all-zero bit pattern is a valid start");

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(std::size_t n) : m_data(static_cast<T*>(std::calloc(n ? n : 1, sizeof(T)))), m_size(n) {
    if (!m_data) throw std::bad_alloc();
  }
  ~ZeroedArray() { std::free(m_data); }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
  ZeroedArray(ZeroedArray&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    std::swap(m_data, o.m_data);
    std::swap(m_size, o.m_size);
    return *this;
  }

  T& operator[](std::size_t i) { return m_data[i]; }
  const T& operator[](std::size_t i) const { return m_data[i]; }
  std::size_t size() const { return m_size; }

 private:
  T* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace mmusim
