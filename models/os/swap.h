// A swap device: numbered 4 KiB slots holding real page contents, with a
// use count per slot, after mm/swapfile.c.
//
// Models:
//  - swap_map[]: one count per slot; slot 0 holds the swap header and is
//    never handed out (as in mkswap's layout);
//  - get_swap_page(): slots are allocated next-fit from a cursor that moves
//    forward and wraps, so consecutive swap-outs get consecutive slots (the
//    kernel's cluster allocator has the same effect for one CPU);
//  - swap_duplicate() when fork copies a swap PTE, swap_free() when a PTE
//    holding the slot goes away or the page is read back; the slot is free
//    again at count 0;
//  - the data: a page written out is read back byte for byte; an all-zero
//    page (every user page: the model keeps no user data) costs no host
//    memory for its contents.
//
// Leaves out: the swap cache (a page read back is not kept associated with
// its slot, so two processes sharing a slot after fork each get a copy),
// swap priorities and several devices, discard, readahead, zswap, and the
// device's queueing: each page costs the configured latency.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mmusim {

class SwapDevice {
 public:
  static constexpr unsigned kWordsPerPage = 512;  // 4 KiB as 64-bit words

  // slots includes the header slot 0; 0 or 1 slot means no usable swap.
  explicit SwapDevice(std::uint64_t slots);

  std::optional<std::uint64_t> alloc();  // count 1
  void dup(std::uint64_t slot);          // count + 1
  void free(std::uint64_t slot);         // count - 1; frees at 0; throws on a free slot
  unsigned count(std::uint64_t slot) const { return slot < m_count.size() ? m_count[slot] : 0; }

  void write(std::uint64_t slot, const std::vector<std::uint64_t>& words);
  std::vector<std::uint64_t> read(std::uint64_t slot) const;

  std::uint64_t slots() const { return m_count.size(); }
  std::uint64_t usable_slots() const { return m_count.size() > 1 ? m_count.size() - 1 : 0; }
  std::uint64_t used() const { return m_used; }
  std::uint64_t free_slots() const { return usable_slots() - m_used; }

 private:
  std::vector<std::uint16_t> m_count;
  // Contents of slots in use; empty for an all-zero page.
  std::map<std::uint64_t, std::vector<std::uint64_t>> m_data;
  std::uint64_t m_cursor = 1;
  std::uint64_t m_used = 0;
};

}  // namespace mmusim
