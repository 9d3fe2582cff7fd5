#include "models/os/buddy_allocator.h"

#include <algorithm>
#include <stdexcept>

#include "models/common/stats.h"
#include "models/common/types.h"

namespace mmusim {

namespace {

constexpr std::uint64_t block_pages(unsigned order) { return std::uint64_t{1} << order; }
constexpr std::uint64_t align_mask(unsigned order) { return block_pages(order) - 1; }

}  // namespace

BuddyAllocator::BuddyAllocator(std::uint64_t base_pfn, std::uint64_t num_pages, unsigned max_order)
    : m_base_pfn(base_pfn), m_num_pages(num_pages), m_max_order(max_order) {
  if (max_order > kMaxSupportedOrder)
    throw std::invalid_argument("BuddyAllocator: max_order " + std::to_string(max_order) + " exceeds " +
                                std::to_string(kMaxSupportedOrder));
  if (num_pages > kMaxPages)
    throw std::invalid_argument("BuddyAllocator: " + std::to_string(num_pages) + " pages exceed the limit of " +
                                std::to_string(kMaxPages));
  if (base_pfn > UINT64_MAX - num_pages)
    throw std::invalid_argument("BuddyAllocator: range at pfn " + hex_string(base_pfn) + " wraps around");

  // Links are read only for free-block heads, which push_* writes first, so
  // they start as whatever; every state starts kInterior (0). Zeroed arrays:
  // start-up touches only the heads' pages.
  static_assert(kInterior == 0, "m_state starts all-zero");
  m_link = ZeroedArray<Link>(num_pages);
  m_state = ZeroedArray<std::uint8_t>(num_pages);
  m_free_area.assign(max_order + 1, FreeList{});

  // Greedy from the low end: the largest block that is aligned at this pfn and
  // still fits. Appending to the tail keeps each list sorted by pfn, matching the
  // kernel's FPI_TO_TAIL boot frees.
  std::uint64_t i = 0;
  while (i < num_pages) {
    const std::uint64_t pfn = base_pfn + i;
    unsigned k = max_order;
    while (k > 0 && ((pfn & align_mask(k)) != 0 || num_pages - i < block_pages(k))) --k;
    push_tail(static_cast<Index>(i), k);
    i += block_pages(k);
  }
}

void BuddyAllocator::push_head(Index idx, unsigned order) {
  FreeList& list = m_free_area[order];
  m_link[idx].prev = kNil;
  m_link[idx].next = list.head;
  if (list.head != kNil) m_link[list.head].prev = idx;
  else list.tail = idx;
  list.head = idx;
  ++list.count;
  m_state[idx] = static_cast<std::uint8_t>(kFreeHead | order);
  m_free_pages += block_pages(order);
}

void BuddyAllocator::push_tail(Index idx, unsigned order) {
  FreeList& list = m_free_area[order];
  m_link[idx].next = kNil;
  m_link[idx].prev = list.tail;
  if (list.tail != kNil) m_link[list.tail].next = idx;
  else list.head = idx;
  list.tail = idx;
  ++list.count;
  m_state[idx] = static_cast<std::uint8_t>(kFreeHead | order);
  m_free_pages += block_pages(order);
}

void BuddyAllocator::unlink(Index idx, unsigned order) {
  FreeList& list = m_free_area[order];
  const Index next = m_link[idx].next;
  const Index prev = m_link[idx].prev;
  if (prev != kNil) m_link[prev].next = next;
  else list.head = next;
  if (next != kNil) m_link[next].prev = prev;
  else list.tail = prev;
  m_link[idx].next = m_link[idx].prev = kNil;
  --list.count;
  // The caller decides what the frame becomes (interior of a merged block, or an
  // allocated head); until then it must not look like a free head.
  m_state[idx] = kInterior;
  m_free_pages -= block_pages(order);
}

BuddyAllocator::Index BuddyAllocator::free_block_containing(Index idx, unsigned* order) const {
  // Free blocks are aligned, so the only candidate head of order k is pfn rounded
  // down to 2^k: one probe per order instead of a search.
  const std::uint64_t pfn = m_base_pfn + idx;
  for (unsigned k = 0; k <= m_max_order; ++k) {
    const std::uint64_t head = pfn & ~align_mask(k);
    if (head < m_base_pfn) break;  // every larger order rounds down further still
    const Index hi = static_cast<Index>(head - m_base_pfn);
    if (m_state[hi] == (kFreeHead | k)) {
      *order = k;
      return hi;
    }
  }
  return kNil;
}

std::optional<std::uint64_t> BuddyAllocator::alloc(unsigned order) {
  if (order > m_max_order) {
    ++m_num_alloc_failures;
    return std::nullopt;
  }
  for (unsigned k = order; k <= m_max_order; ++k) {
    const Index idx = m_free_area[k].head;
    if (idx == kNil) continue;
    unlink(idx, k);
    while (k > order) {
      --k;
      push_head(static_cast<Index>(idx + block_pages(k)), k);
      ++m_num_splits;
    }
    m_state[idx] = static_cast<std::uint8_t>(kAllocatedHead | order);
    ++m_num_allocs;
    return m_base_pfn + idx;
  }
  ++m_num_alloc_failures;
  return std::nullopt;
}

void BuddyAllocator::split_page(std::uint64_t pfn, unsigned order) {
  if (pfn < m_base_pfn || pfn - m_base_pfn >= m_num_pages || order > m_max_order)
    throw std::logic_error("split_page: pfn " + std::to_string(pfn) + " order " + std::to_string(order) +
                           " is outside the allocator");
  const std::uint64_t idx = pfn - m_base_pfn;
  if (m_state[idx] != (kAllocatedHead | order))
    throw std::logic_error("split_page: pfn " + std::to_string(pfn) + " is not an allocated block of order " +
                           std::to_string(order));
  for (std::uint64_t i = idx; i < idx + (std::uint64_t{1} << order); ++i) m_state[i] = kAllocatedHead | 0;
}

void BuddyAllocator::free(std::uint64_t pfn, unsigned order) {
  const std::string what = "BuddyAllocator::free(pfn " + hex_string(pfn) + ", order " + std::to_string(order) + "): ";
  if (order > m_max_order) throw std::logic_error(what + "order exceeds max_order " + std::to_string(m_max_order));
  if (pfn < m_base_pfn || pfn - m_base_pfn >= m_num_pages || m_num_pages - (pfn - m_base_pfn) < block_pages(order))
    throw std::logic_error(what + "block outside the managed range [" + hex_string(m_base_pfn) + ", " +
                           hex_string(m_base_pfn + m_num_pages) + ")");
  if ((pfn & align_mask(order)) != 0) throw std::logic_error(what + "pfn not aligned to the order");
  const Index idx = static_cast<Index>(pfn - m_base_pfn);
  const std::uint8_t st = m_state[idx];
  if (st != (kAllocatedHead | order)) {
    if (is_free(pfn)) throw std::logic_error(what + "double free (frame is already free)");
    if (st & kAllocatedHead)
      throw std::logic_error(what + "block was allocated with order " + std::to_string(st & kOrderMask));
    throw std::logic_error(what + "not the first frame of an allocated block");
  }

  m_state[idx] = kInterior;
  std::uint64_t cur = pfn;
  unsigned k = order;
  while (k < m_max_order) {
    const std::uint64_t buddy = cur ^ block_pages(k);
    // A buddy outside the range does not exist, e.g. below an unaligned base.
    if (buddy < m_base_pfn || buddy - m_base_pfn >= m_num_pages) break;
    const Index bi = static_cast<Index>(buddy - m_base_pfn);
    if (m_state[bi] != (kFreeHead | k)) break;
    unlink(bi, k);
    cur = std::min(cur, buddy);
    ++k;
    ++m_num_merges;
  }
  push_head(static_cast<Index>(cur - m_base_pfn), k);
  ++m_num_frees;
}

void BuddyAllocator::reserve(std::uint64_t pfn, std::uint64_t count) {
  if (count == 0) return;
  const std::string what =
      "BuddyAllocator::reserve(pfn " + hex_string(pfn) + ", count " + std::to_string(count) + "): ";
  if (pfn < m_base_pfn || pfn - m_base_pfn >= m_num_pages || m_num_pages - (pfn - m_base_pfn) < count)
    throw std::logic_error(what + "range outside the managed range [" + hex_string(m_base_pfn) + ", " +
                           hex_string(m_base_pfn + m_num_pages) + ")");
  const std::uint64_t first = pfn - m_base_pfn;
  const std::uint64_t end = first + count;

  // Validate the whole range before touching anything, so a failure leaves the
  // pool as it was.
  for (std::uint64_t f = first; f < end;) {
    unsigned k = 0;
    const Index h = free_block_containing(static_cast<Index>(f), &k);
    if (h == kNil) throw std::logic_error(what + "frame " + hex_string(m_base_pfn + f) + " is not free");
    f = h + block_pages(k);
  }

  for (std::uint64_t f = first; f < end;) {
    unsigned k = 0;
    std::uint64_t h = free_block_containing(static_cast<Index>(f), &k);
    unlink(static_cast<Index>(h), k);
    // Halve until the piece holding f starts at f and lies inside the range; the
    // other halves go back. A returned upper half may itself lie partly in the
    // range; the next iteration takes it out again, which keeps this loop simple.
    while (h != f || end - h < block_pages(k)) {
      --k;
      const std::uint64_t mid = h + block_pages(k);
      if (f >= mid) {
        push_head(static_cast<Index>(h), k);
        h = mid;
      } else {
        push_head(static_cast<Index>(mid), k);
      }
      ++m_num_splits;
    }
    // One allocated order-0 block per frame, so each can be freed on its own, as
    // free_reserved_page() does for reserved memory released late.
    for (std::uint64_t i = h; i < h + block_pages(k); ++i) m_state[i] = kAllocatedHead | 0;
    m_num_reserved_pages += block_pages(k);
    f = h + block_pages(k);
  }
}

bool BuddyAllocator::take_free_range(std::uint64_t pfn, std::uint64_t count) {
  const std::string what =
      "BuddyAllocator::take_free_range(pfn " + hex_string(pfn) + ", count " + std::to_string(count) + "): ";
  const std::uint64_t step = block_pages(m_max_order);
  if ((pfn & align_mask(m_max_order)) != 0 || (count & align_mask(m_max_order)) != 0)
    throw std::logic_error(what + "pfn and count must be multiples of 2^max_order (" + std::to_string(step) + ")");
  if (count == 0) return true;
  if (pfn < m_base_pfn || pfn - m_base_pfn >= m_num_pages || m_num_pages - (pfn - m_base_pfn) < count)
    throw std::logic_error(what + "range outside the managed range [" + hex_string(m_base_pfn) + ", " +
                           hex_string(m_base_pfn + m_num_pages) + ")");
  const std::uint64_t first = pfn - m_base_pfn;
  // An aligned max_order range inside the zone whose frames are all free is
  // one free block of max_order (no two free buddies stay unmerged), so
  // checking the heads checks every frame.
  for (std::uint64_t i = first; i < first + count; i += step)
    if (m_state[i] != (kFreeHead | m_max_order)) return false;
  for (std::uint64_t i = first; i < first + count; i += step) {
    unlink(static_cast<Index>(i), m_max_order);
    m_state[i] = static_cast<std::uint8_t>(kAllocatedHead | m_max_order);
  }
  m_num_reserved_pages += count;
  return true;
}

std::uint64_t BuddyAllocator::free_blocks(unsigned order) const {
  return order <= m_max_order ? m_free_area[order].count : 0;
}

std::string BuddyAllocator::buddyinfo() const {
  std::string s;
  for (unsigned k = 0; k <= m_max_order; ++k) {
    if (k) s += ' ';
    s += std::to_string(m_free_area[k].count);
  }
  return s;
}

bool BuddyAllocator::is_free(std::uint64_t pfn) const {
  if (pfn < m_base_pfn || pfn - m_base_pfn >= m_num_pages) return false;
  unsigned k = 0;
  return free_block_containing(static_cast<Index>(pfn - m_base_pfn), &k) != kNil;
}

std::string BuddyAllocator::check_invariants() const {
  const std::uint64_t n = m_num_pages;
  std::vector<std::uint8_t> listed(n, 0);
  std::uint64_t listed_pages = 0;

  for (unsigned k = 0; k <= m_max_order; ++k) {
    const FreeList& list = m_free_area[k];
    const std::string where = "free_area[" + std::to_string(k) + "]: ";
    std::uint64_t count = 0;
    Index prev = kNil;
    for (Index cur = list.head; cur != kNil; cur = m_link[cur].next) {
      if (cur >= n) return where + "link to index " + std::to_string(cur) + " outside the range";
      const std::string at = where + "block at pfn " + hex_string(m_base_pfn + cur) + ": ";
      // Catches a block on two lists, twice on one list, and cycles.
      if (listed[cur]) return at + "reached twice while walking the lists";
      listed[cur] = 1;
      if (m_link[cur].prev != prev) return at + "prev link does not point to the previous block";
      if (m_state[cur] != (kFreeHead | k)) return at + "state byte does not mark a free head of this order";
      if (((m_base_pfn + cur) & align_mask(k)) != 0) return at + "not aligned to its order";
      if (n - cur < block_pages(k)) return at + "extends past the end of the range";
      ++count;
      prev = cur;
    }
    if (list.tail != prev) return where + "tail does not point to the last block";
    if (count != list.count)
      return where + "count " + std::to_string(list.count) + " but " + std::to_string(count) + " blocks listed";
    listed_pages += count << k;
  }
  if (listed_pages != m_free_pages)
    return "free_pages " + std::to_string(m_free_pages) + " but the lists hold " + std::to_string(listed_pages);

  // Every frame belongs to exactly one block, free or allocated: walking heads in
  // pfn order must tile the range with only interior frames inside each block.
  for (std::uint64_t i = 0; i < n;) {
    const std::uint8_t st = m_state[i];
    const std::uint64_t pfn = m_base_pfn + i;
    const std::string at = "frame " + hex_string(pfn) + ": ";
    const bool free_head = (st & kFreeHead) != 0;
    const bool alloc_head = (st & kAllocatedHead) != 0;
    if (!free_head && !alloc_head) return at + "not covered by any block";
    if (free_head && alloc_head) return at + "marked both free and allocated";
    const unsigned k = st & kOrderMask;
    if (k > m_max_order) return at + "order " + std::to_string(k) + " exceeds max_order";
    if ((pfn & align_mask(k)) != 0) return at + "block not aligned to its order " + std::to_string(k);
    if (n - i < block_pages(k)) return at + "block of order " + std::to_string(k) + " extends past the range";
    if (free_head && !listed[i]) return at + "free head not on any free list";
    for (std::uint64_t j = i + 1; j < i + block_pages(k); ++j)
      if (m_state[j] != kInterior)
        return at + "block of order " + std::to_string(k) + " overlaps the block at " + hex_string(m_base_pfn + j);
    if (free_head && k < m_max_order) {
      const std::uint64_t buddy = pfn ^ block_pages(k);
      if (buddy >= m_base_pfn && buddy - m_base_pfn < n && m_state[buddy - m_base_pfn] == (kFreeHead | k))
        return at + "free block and its buddy " + hex_string(buddy) + " are both free at order " + std::to_string(k);
    }
    i += block_pages(k);
  }
  return "";
}

void BuddyAllocator::register_stats(StatGroup& stats) const {
  stats.formula("free_pages", "frames in free blocks", [this] { return static_cast<double>(m_free_pages); });
  StatGroup& blocks = stats.group("free_blocks");
  for (unsigned k = 0; k <= m_max_order; ++k)
    blocks.formula("order" + std::to_string(k), "free blocks of 2^" + std::to_string(k) + " pages (/proc/buddyinfo)",
                   [this, k] { return static_cast<double>(m_free_area[k].count); });
  stats.formula("allocs", "successful alloc() calls", [this] { return static_cast<double>(m_num_allocs); });
  stats.formula("alloc_failures", "alloc() calls that found no block",
                [this] { return static_cast<double>(m_num_alloc_failures); });
  stats.formula("frees", "free() calls", [this] { return static_cast<double>(m_num_frees); });
  stats.formula("splits", "blocks halved by alloc() or reserve()",
                [this] { return static_cast<double>(m_num_splits); });
  stats.formula("merges", "buddy pairs coalesced by free()", [this] { return static_cast<double>(m_num_merges); });
  stats.formula("reserved_pages", "frames taken out by reserve()",
                [this] { return static_cast<double>(m_num_reserved_pages); });
}

}  // namespace mmusim
