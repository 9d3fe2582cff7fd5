// The slab allocator and kmalloc, after SLUB (mm/slub.c, mm/slab_common.c):
// caches of equal-sized objects carved out of slabs, each slab 2^order
// contiguous frames taken from the page allocator.
//
// Models:
//  - kmem_cache_create(name, size, align): the object stride is the size
//    rounded up to the alignment (at least 8, ARCH_SLAB_MINALIGN); the slab
//    order comes from calculate_order(): min_objects = 4 * (fls(nr_cpus) + 1)
//    = 8 with the one simulated CPU, capped at what an order-3
//    (slub_max_order) slab holds; then the smallest order from
//    get_order(min_objects * size) up to 3 whose leftover is at most 1/16 of
//    the slab, else 1/8, else 1/4 (calc_slab_order); else get_order(size).
//    objects per slab = (4096 << order) / stride.
//  - kmem_cache_alloc: an object from a partial slab (lowest-addressed first,
//    standing in for the per-CPU slab), else a new slab; within a slab the
//    free list is LIFO and starts in address order (no freelist
//    randomisation).
//  - kmem_cache_free: back to its slab; an empty slab is returned to the
//    page allocator unless the cache keeps fewer than min_partial partial
//    slabs (min_partial = ilog2(stride) / 2 clamped to [5, 10]), as
//    __slab_free() / discard_slab() do.
//  - kmem_cache_destroy: fails while objects are live (the kernel's "Slab
//    cache still has objects" warning), else frees every slab.
//  - kmalloc (kmalloc_index, kmalloc_caches[]): classes 8, 16, 32, 64, 96,
//    128, 192, 256, 512, ..., 8192 (KMALLOC_MAX_CACHE_SIZE = 2 pages);
//    larger sizes come straight from the page allocator at get_order(size)
//    (kmalloc_large). kfree finds either by address.
//  - /proc/slabinfo columns: active_objs (objects), num_slabs (slabs),
//    objperslab, pagesperslab.
//
// Leaves out: per-CPU slabs and their lockless fast path, per-node partial
// lists (slabs come from the preferred node), cache merging (aliases),
// debugging redzones/poisoning, memcg accounting, object constructors.
// Objects hold no simulated bytes of their own: a cache hands out physical
// addresses inside its slabs, which is what page-table code needs (the PAE
// page-directory-pointer tables come from a 32-byte "pgd_cache", as
// arch/x86/mm/pgtable.c creates it).
// Written from those descriptions; no kernel code is copied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/common/types.h"
#include "models/os/zone.h"

namespace mmusim {

class StatGroup;

struct KmemCache {
  std::string name;
  unsigned object_size = 0;  // as requested
  unsigned size = 0;         // stride: object_size rounded up to align
  unsigned align = 8;
  unsigned order = 0;
  unsigned objects_per_slab = 0;
  unsigned min_partial = 5;
  ZoneType highest_zone = ZoneType::Normal;
  std::uint64_t objects = 0;  // allocated (active_objs)
  std::uint64_t allocs = 0, frees = 0;

  struct Slab {
    unsigned inuse = 0;
    std::vector<std::uint32_t> free;  // object indices; back() is the next handed out
  };
  std::map<std::uint64_t, Slab> slabs;  // by first pfn
  std::set<std::uint64_t> partial;      // slabs with a free object
};

class SlabAllocator {
 public:
  // Page source: returns the first pfn of 2^order frames from zones up to
  // `highest`, or nullopt; and its inverse.
  using AllocPages = std::function<std::optional<std::uint64_t>(unsigned order, ZoneType highest)>;
  using FreePages = std::function<void(std::uint64_t pfn, unsigned order)>;

  static constexpr unsigned kMaxOrder = 3;         // slub_max_order
  static constexpr unsigned kMaxCacheSize = 8192;  // KMALLOC_MAX_CACHE_SIZE
  static constexpr unsigned kMinObjects = 8;       // 4 * (fls(1) + 1)

  SlabAllocator(AllocPages alloc, FreePages free, ZoneType kernel_zone);

  // The slab order and objects per slab calculate_order() picks for a stride.
  static unsigned slab_order(unsigned size);
  // The kmalloc class for a request: 8..8192, or 0 if it goes to the page allocator.
  static unsigned kmalloc_class(std::uint64_t size);

  // Throws std::invalid_argument on a duplicate name, size 0 or above
  // 8 pages, or an alignment that is not a power of two.
  KmemCache* create(const std::string& name, unsigned size, unsigned align = 8);
  KmemCache* create(const std::string& name, unsigned size, unsigned align, ZoneType highest);
  // Throws std::logic_error while objects are allocated.
  void destroy(KmemCache* c);
  KmemCache* find(const std::string& name) const;

  // Physical address of a free object, or nullopt when no slab can be had.
  std::optional<PAddr> alloc(KmemCache* c);
  // Throws std::logic_error for an address that is not an allocated object of c.
  void free(KmemCache* c, PAddr obj);

  // kmalloc/kfree: size 0 or an allocation failure give nullopt.
  std::optional<PAddr> kmalloc(std::uint64_t size);
  void kfree(PAddr obj);

  // Frames held in slabs and kmalloc_large blocks.
  std::uint64_t pages() const { return m_pages; }
  const std::vector<std::unique_ptr<KmemCache>>& caches() const { return m_caches; }
  // "name active_objs num_objs objsize objperslab pagesperslab : slabdata
  // active_slabs num_slabs" lines, as /proc/slabinfo (version 2.1).
  std::string slabinfo() const;
  // Registers os.slab.<cache>.objects/.slabs for the caches existing now and
  // for those created later.
  void register_stats(StatGroup& slab_group);
  // Every object counted once, slab occupancy consistent; "" if all hold.
  std::string check_invariants() const;
  // Calls f(pfn) for every frame held by a slab or a kmalloc_large block.
  void for_each_page(const std::function<void(std::uint64_t)>& f) const;

 private:
  void register_cache_stats(KmemCache* c);
  AllocPages m_alloc;
  FreePages m_free;
  ZoneType m_kernel_zone;
  std::vector<std::unique_ptr<KmemCache>> m_caches;
  std::vector<KmemCache*> m_kmalloc;  // by class index
  std::map<PAddr, unsigned> m_large;  // kmalloc_large blocks: address -> order
  std::uint64_t m_pages = 0;
  StatGroup* m_stats = nullptr;
};

}  // namespace mmusim
