// Binary buddy allocator over a contiguous range of physical page frames: the
// model of one Linux zone's free_area[] and the page allocator's core.
//
// Models:
//  - free_area[0..max_order]: one free list per order, each block of 2^k frames
//    naturally aligned by absolute pfn (so buddies are found by pfn ^ (1 << k)
//    exactly as in the kernel, whatever the range's base is);
//  - boot hand-over as memblock_free_all() does it: the range is cut, from low to
//    high pfn, into the largest aligned blocks that fit, and each is appended to
//    the tail of its list (the kernel's __free_pages_core() frees with
//    FPI_TO_TAIL), so after boot every list is in ascending pfn order and the
//    first allocations come from low memory;
//  - allocation as __rmqueue_smallest() + expand(): take the head block of the
//    smallest non-empty order >= the request, keep the lower half going down and
//    put each upper half at the head of its order's list;
//  - freeing as __free_one_page(): merge with the buddy while the buddy is a free
//    block of the same order inside the range, up to max_order, then put the
//    result at the head of its list (LIFO, so the most recently freed, likely
//    cache-hot, block is reused first);
//  - boot-time reservations (memblock_reserve()): frames taken out of the pool
//    become individually freeable order-0 blocks, as free_reserved_page() later
//    hands them back one page at a time;
//  - /proc/buddyinfo: free_blocks(k) is one column of a zone's line.
//
// Leaves out: migrate types and pageblocks (all memory is one migrate type, so
// there is no fallback/stealing), per-CPU page lists, watermarks, reclaim and
// compaction, zones and nodes (one allocator is one zone), the "buddy of the
// next order is free, so free to the tail" heuristic of __free_one_page(),
// compound pages and split_page() (a block must be freed with the order it was
// allocated with), and memory hot(un)plug.
//
// Follows: mm/page_alloc.c (__free_one_page, expand, __rmqueue_smallest,
// __free_pages_core, find_buddy_page_pfn); Documentation/filesystems/proc.rst
// (/proc/buddyinfo); Gorman, "Understanding the Linux Virtual Memory Manager",
// ch. 6 "Physical Page Allocation". Written from those descriptions; no kernel
// code is copied.
//
// Data structure: per-frame metadata like struct page's lru list and
// PageBuddy/buddy_order, but packed into three parallel arrays (next, prev as
// 32-bit frame indices relative to base_pfn, and a one-byte state), 9 bytes per
// frame: 16 Mi frames (64 GiB of 4 KiB pages) cost 144 MiB. Every list
// insert/remove is O(1); alloc and free are O(max_order); reserve is
// O(count + max_order * blocks touched). The allocator also remembers the head
// and order of every allocated block, which is what lets free() reject double
// frees, wrong orders and interior pfns exactly instead of trusting the caller
// as the kernel does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/common/zeroed_array.h"

namespace mmusim {

class StatGroup;

class BuddyAllocator {
 public:
  // free_area[0..max_order], blocks of up to 2^10 pages = 4 MiB: x86-64's default
  // MAX_PAGE_ORDER (inclusive; kernels before 6.4 wrote it as an exclusive
  // MAX_ORDER of 11).
  static constexpr unsigned kDefaultMaxOrder = 10;
  // Bounded so that 2^max_order frames still fits the 32-bit frame indices.
  static constexpr unsigned kMaxSupportedOrder = 31;
  // One index value is the list terminator, so at most 2^32 - 1 frames (~16 TiB).
  static constexpr std::uint64_t kMaxPages = 0xFFFFFFFFull;

  // Manages frames [base_pfn, base_pfn + num_pages). All start free and are handed
  // over as Linux's memblock_free_all does: in the largest blocks that are
  // naturally aligned (by absolute pfn) and fit in the range.
  // Throws std::invalid_argument if max_order > kMaxSupportedOrder, num_pages >
  // kMaxPages or the range wraps around 2^64. num_pages may be 0 (an empty zone).
  BuddyAllocator(std::uint64_t base_pfn, std::uint64_t num_pages, unsigned max_order = kDefaultMaxOrder);

  // Returns the first pfn of a free block of 2^order pages aligned to 2^order, or
  // std::nullopt if none (never throws for exhaustion, never returns a frame
  // twice). Takes the smallest order >= order that has a free block (head of that
  // list) and splits it as expand() does. An order above max_order also yields
  // std::nullopt, as the kernel fails such a request rather than crashing.
  std::optional<std::uint64_t> alloc(unsigned order);

  // Frees a block previously returned by alloc(order) with that order (or a frame
  // taken by reserve(), with order 0); merges with its buddy while the buddy is
  // free, of the same order and inside the range, up to max_order.
  // Throws std::logic_error on a double free, a misaligned pfn, an order >
  // max_order, a pfn outside the range, or a pfn/order that is not exactly an
  // allocated block (interior frame or wrong order). Nothing changes when it throws.
  void free(std::uint64_t pfn, unsigned order);

  // Removes specific frames from the free pool at boot (e.g. reserved frames),
  // splitting blocks as needed; the leftover pieces go to the heads of their lists.
  // Each reserved frame becomes an allocated order-0 block (free(pfn, 0) returns
  // it). count == 0 does nothing. Throws std::logic_error if the range is not
  // inside the managed range or any frame in it is not free; nothing changes then.
  void reserve(std::uint64_t pfn, std::uint64_t count);
  // Takes a range made only of free max_order blocks out of the pool whole,
  // as memblock hands a boot-time gigantic page (hugepagesz=1G) to hugetlb:
  // each max_order block of [pfn, pfn + count) becomes an allocated block of
  // max_order (free(head, max_order) returns it). Returns false and changes
  // nothing if some frame of the range is not free (so not in a free
  // max_order block). Throws std::logic_error if pfn or count is not a
  // multiple of 2^max_order or the range leaves the managed range. O(count /
  // 2^max_order).
  bool take_free_range(std::uint64_t pfn, std::uint64_t count);
  // Turns an allocated block of 2^order pages into 2^order allocated order-0
  // pages that are then freed one by one (Linux split_page(), used when a
  // huge page is split). Throws std::logic_error if pfn is not the head of an
  // allocated block of that order.
  void split_page(std::uint64_t pfn, unsigned order);

  std::uint64_t free_pages() const { return m_free_pages; }
  // Number of free blocks of that order, as one column of /proc/buddyinfo; 0 for
  // orders above max_order.
  std::uint64_t free_blocks(unsigned order) const;
  // free_blocks(0) .. free_blocks(max_order) separated by single spaces: the
  // numeric part of a /proc/buddyinfo line.
  std::string buddyinfo() const;
  unsigned max_order() const { return m_max_order; }
  std::uint64_t base_pfn() const { return m_base_pfn; }
  std::uint64_t num_pages() const { return m_num_pages; }
  // The frame lies inside some free block (false outside the range).
  bool is_free(std::uint64_t pfn) const;
  // pfn is the first frame of an allocated block of exactly that order.
  bool is_allocated_block(std::uint64_t pfn, unsigned order) const {
    return pfn >= m_base_pfn && pfn - m_base_pfn < m_num_pages && order <= m_max_order &&
           m_state[static_cast<Index>(pfn - m_base_pfn)] == (kAllocatedHead | order);
  }

  // Checks every structural invariant (each free block aligned, in range, on
  // exactly one list of its order, links consistent, free and allocated blocks
  // tile the range without overlap, no two free blocks are mergeable buddies,
  // per-order counts and free_pages agree); returns an empty string if all hold,
  // else a description of the first violation. O(num_pages): for tests.
  std::string check_invariants() const;

  // Registers, as formulas reading this allocator (which must outlive the group's
  // use): free_pages, free_blocks.order<k> for k = 0..max_order, and the event
  // counts allocs, alloc_failures, frees, splits, merges, reserved_pages.
  void register_stats(StatGroup& stats) const;

  // Event counts since construction.
  std::uint64_t num_allocs() const { return m_num_allocs; }
  std::uint64_t num_alloc_failures() const { return m_num_alloc_failures; }
  std::uint64_t num_frees() const { return m_num_frees; }
  std::uint64_t num_splits() const { return m_num_splits; }
  std::uint64_t num_merges() const { return m_num_merges; }
  std::uint64_t num_reserved_pages() const { return m_num_reserved_pages; }

 private:
  using Index = std::uint32_t;  // frame index relative to m_base_pfn
  static constexpr Index kNil = 0xFFFFFFFFu;
  // Per-frame state byte. A head frame carries its block's order in the low bits;
  // every non-head frame of a block (free or allocated) is kInterior.
  static constexpr std::uint8_t kInterior = 0x00;
  static constexpr std::uint8_t kFreeHead = 0x80;       // PageBuddy
  static constexpr std::uint8_t kAllocatedHead = 0x40;  // start of a block handed out
  static constexpr std::uint8_t kOrderMask = 0x3F;

  struct FreeList {
    Index head = kNil;
    Index tail = kNil;
    std::uint64_t count = 0;
  };

  // Inserts/removes the free block whose head frame is idx and updates counts.
  void push_head(Index idx, unsigned order);
  void push_tail(Index idx, unsigned order);
  void unlink(Index idx, unsigned order);
  // Frame index of the head of the free block containing idx, or kNil.
  Index free_block_containing(Index idx, unsigned* order) const;

  std::uint64_t m_base_pfn;
  std::uint64_t m_num_pages;
  unsigned m_max_order;
  struct Link {  // free-list neighbours of a free block's head (one page: both)
    Index next, prev;
  };
  ZeroedArray<Link> m_link;
  ZeroedArray<std::uint8_t> m_state;
  std::vector<FreeList> m_free_area;  // [0..max_order]
  std::uint64_t m_free_pages = 0;

  std::uint64_t m_num_allocs = 0;
  std::uint64_t m_num_alloc_failures = 0;
  std::uint64_t m_num_frees = 0;
  std::uint64_t m_num_splits = 0;
  std::uint64_t m_num_merges = 0;
  std::uint64_t m_num_reserved_pages = 0;
};

}  // namespace mmusim
