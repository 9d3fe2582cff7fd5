// A xorshift64 generator for tests (Marsaglia 2003, "Xorshift RNGs",
// shifts 13, 7, 17): random streams that do not depend on the standard
// library's distributions. The caller chooses the starting state (not 0);
// each test file keeps the seed mixing its expectations were worked out on.
#pragma once

#include <cstdint>

namespace mmusim {
namespace testing_support {

class TestRng {
 public:
  explicit TestRng(std::uint64_t state) : m_state(state) {}
  std::uint64_t next() {
    m_state ^= m_state << 13;
    m_state ^= m_state >> 7;
    m_state ^= m_state << 17;
    return m_state;
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t m_state;
};

}  // namespace testing_support
}  // namespace mmusim
