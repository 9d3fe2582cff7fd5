// Basic vocabulary shared by every model: cycles, access kinds, page sizes.
//
// Addresses are plain 64-bit integers named by role (VAddr: linear address,
// PAddr: physical address); page sizes are an enum so that a TLB entry,
// a walk result and a config value all speak the same units.
#pragma once

#include <cstdint>
#include <string>

namespace mmusim {

using Cycles = std::uint64_t;
using VAddr = std::uint64_t;  // linear (virtual) address
using PAddr = std::uint64_t;  // physical address

// What the access does to the page it touches. Modify is a read-modify-write:
// one translation with write intent (valgrind lackey's "M").
enum class AccessKind : std::uint8_t { Load = 0, Store = 1, IFetch = 2, Modify = 3 };

constexpr bool is_write(AccessKind k) { return k == AccessKind::Store || k == AccessKind::Modify; }
constexpr bool is_fetch(AccessKind k) { return k == AccessKind::IFetch; }
const char* access_kind_name(AccessKind k);
// "0x" and v in lower-case hex, for messages: hex_string(0x1f000) is "0x1f000".
std::string hex_string(std::uint64_t v);

// Page sizes of the x86 paging modes (Intel SDM Vol. 3A, 4.3, 4.4, 4.5).
enum class PageSize : std::uint8_t { k4K = 0, k2M = 1, k4M = 2, k1G = 3 };
constexpr int kNumPageSizes = 4;

constexpr unsigned page_shift(PageSize s) {
  switch (s) {
    case PageSize::k4K: return 12;
    case PageSize::k2M: return 21;
    case PageSize::k4M: return 22;
    case PageSize::k1G: return 30;
  }
  return 12;
}
constexpr std::uint64_t page_bytes(PageSize s) { return std::uint64_t{1} << page_shift(s); }
constexpr std::uint64_t page_mask(PageSize s) { return page_bytes(s) - 1; }

// "4K", "2M", "4M", "1G".
const char* page_size_name(PageSize s);
// Parses "4K", "4KiB", "2M", "2MiB", "4M", "1G", "1GiB" (case-insensitive);
// returns false for anything else.
bool parse_page_size(const std::string& text, PageSize* out);

constexpr std::uint64_t kPageBytes = 4096;
constexpr unsigned kPageShift = 12;

}  // namespace mmusim
