#include "models/os/slab.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "models/common/stats.h"

namespace mmusim {
namespace {

constexpr unsigned kClasses[] = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192};

unsigned get_order(std::uint64_t bytes) {
  unsigned o = 0;
  while ((kPageBytes << o) < bytes) ++o;
  return o;
}

unsigned ilog2(unsigned v) {
  unsigned r = 0;
  while (v >>= 1) ++r;
  return r;
}

std::string class_name(unsigned size) {
  return size >= 1024 ? "kmalloc-" + std::to_string(size / 1024) + "k" : "kmalloc-" + std::to_string(size);
}

}  // namespace

unsigned SlabAllocator::slab_order(unsigned size) {
  const unsigned max_objects = static_cast<unsigned>((kPageBytes << kMaxOrder) / size);
  const unsigned min_objects = std::max(1u, std::min(kMinObjects, max_objects));
  const unsigned min_order = get_order(std::uint64_t{min_objects} * size);
  for (unsigned fraction : {16u, 8u, 4u}) {
    for (unsigned order = min_order; order <= kMaxOrder; ++order) {
      const std::uint64_t slab = kPageBytes << order;
      if (slab % size <= slab / fraction) return order;
    }
  }
  return get_order(size);
}

unsigned SlabAllocator::kmalloc_class(std::uint64_t size) {
  if (size == 0 || size > kMaxCacheSize) return 0;
  for (unsigned c : kClasses)
    if (size <= c) return c;
  return 0;
}

SlabAllocator::SlabAllocator(AllocPages alloc, FreePages free, ZoneType kernel_zone)
    : m_alloc(std::move(alloc)), m_free(std::move(free)), m_kernel_zone(kernel_zone) {
  for (unsigned c : kClasses) m_kmalloc.push_back(create(class_name(c), c, 8));
}

KmemCache* SlabAllocator::create(const std::string& name, unsigned size, unsigned align) {
  return create(name, size, align, m_kernel_zone);
}

KmemCache* SlabAllocator::create(const std::string& name, unsigned size, unsigned align, ZoneType highest) {
  if (find(name)) throw std::invalid_argument("kmem_cache_create: a cache named " + name + " exists");
  if (size == 0 || size > (kPageBytes << kMaxOrder))
    throw std::invalid_argument("kmem_cache_create(" + name + "): object size " + std::to_string(size) +
                                " is not in 1.." + std::to_string(kPageBytes << kMaxOrder));
  if (align == 0 || (align & (align - 1)))
    throw std::invalid_argument("kmem_cache_create(" + name + "): alignment " + std::to_string(align) +
                                " is not a power of two");
  auto c = std::make_unique<KmemCache>();
  c->name = name;
  c->object_size = size;
  c->align = std::max(8u, align);
  c->size = (size + c->align - 1) / c->align * c->align;
  c->order = slab_order(c->size);
  c->objects_per_slab = static_cast<unsigned>((kPageBytes << c->order) / c->size);
  c->min_partial = std::clamp(ilog2(c->size) / 2, 5u, 10u);
  c->highest_zone = highest;
  KmemCache* raw = c.get();
  m_caches.push_back(std::move(c));
  if (m_stats) register_cache_stats(raw);
  return raw;
}

KmemCache* SlabAllocator::find(const std::string& name) const {
  for (const auto& c : m_caches)
    if (c->name == name) return c.get();
  return nullptr;
}

void SlabAllocator::destroy(KmemCache* c) {
  if (c->objects)
    throw std::logic_error("kmem_cache_destroy(" + c->name + "): cache still has " + std::to_string(c->objects) +
                           " objects");
  for (const auto& kv : c->slabs) {
    m_free(kv.first, c->order);
    m_pages -= 1ull << c->order;
  }
  c->slabs.clear();
  c->partial.clear();
  // The statistics keep reading the (now empty) cache object, so it stays
  // allocated; only its name is freed for reuse.
  c->name += " (destroyed)";
}

std::optional<PAddr> SlabAllocator::alloc(KmemCache* c) {
  if (c->partial.empty()) {
    auto pfn = m_alloc(c->order, c->highest_zone);
    if (!pfn) return std::nullopt;
    m_pages += 1ull << c->order;
    KmemCache::Slab s;
    s.free.reserve(c->objects_per_slab);
    for (unsigned i = c->objects_per_slab; i-- > 0;) s.free.push_back(i);  // object 0 first
    c->slabs[*pfn] = std::move(s);
    c->partial.insert(*pfn);
  }
  const std::uint64_t pfn = *c->partial.begin();
  KmemCache::Slab& s = c->slabs.at(pfn);
  const std::uint32_t idx = s.free.back();
  s.free.pop_back();
  ++s.inuse;
  if (s.free.empty()) c->partial.erase(pfn);
  ++c->objects;
  ++c->allocs;
  return (pfn << kPageShift) + std::uint64_t{idx} * c->size;
}

void SlabAllocator::free(KmemCache* c, PAddr obj) {
  const std::string what = "kmem_cache_free(" + c->name + ", " + hex_string(obj) + "): ";
  auto it = c->slabs.upper_bound(obj >> kPageShift);
  if (it == c->slabs.begin()) throw std::logic_error(what + "not in any slab of the cache");
  --it;
  const PAddr base = it->first << kPageShift;
  const std::uint64_t off = obj - base;
  if (off >= std::uint64_t{c->objects_per_slab} * c->size)
    throw std::logic_error(what + "not in any slab of the cache");
  if (off % c->size) throw std::logic_error(what + "not the start of an object");
  const std::uint32_t idx = static_cast<std::uint32_t>(off / c->size);
  KmemCache::Slab& s = it->second;
  if (std::find(s.free.begin(), s.free.end(), idx) != s.free.end()) throw std::logic_error(what + "double free");
  s.free.push_back(idx);
  --s.inuse;
  --c->objects;
  ++c->frees;
  if (s.inuse == 0 && c->partial.size() >= c->min_partial) {
    c->partial.erase(it->first);
    m_free(it->first, c->order);
    m_pages -= 1ull << c->order;
    c->slabs.erase(it);
    return;
  }
  c->partial.insert(it->first);
}

std::optional<PAddr> SlabAllocator::kmalloc(std::uint64_t size) {
  if (size == 0) return std::nullopt;
  if (unsigned cls = kmalloc_class(size)) {
    for (std::size_t i = 0; i < std::size(kClasses); ++i)
      if (kClasses[i] == cls) return alloc(m_kmalloc[i]);
  }
  const unsigned order = get_order(size);
  auto pfn = m_alloc(order, m_kernel_zone);
  if (!pfn) return std::nullopt;
  m_pages += 1ull << order;
  m_large[*pfn << kPageShift] = order;
  return *pfn << kPageShift;
}

void SlabAllocator::kfree(PAddr obj) {
  auto l = m_large.find(obj);
  if (l != m_large.end()) {
    m_free(obj >> kPageShift, l->second);
    m_pages -= 1ull << l->second;
    m_large.erase(l);
    return;
  }
  for (KmemCache* c : m_kmalloc) {
    auto it = c->slabs.upper_bound(obj >> kPageShift);
    if (it == c->slabs.begin()) continue;
    --it;
    if (obj < (it->first << kPageShift) + (kPageBytes << c->order)) {
      free(c, obj);
      return;
    }
  }
  throw std::logic_error("kfree(" + hex_string(obj) + "): not a kmalloc object");
}

std::string SlabAllocator::slabinfo() const {
  std::string s;
  for (const auto& c : m_caches) {
    char line[256];
    std::snprintf(line, sizeof line, "%-18s %6llu %6llu %6u %4u %4u : slabdata %6zu %6zu\n", c->name.c_str(),
                  static_cast<unsigned long long>(c->objects),
                  static_cast<unsigned long long>(c->slabs.size() * c->objects_per_slab), c->size, c->objects_per_slab,
                  1u << c->order, c->slabs.size(), c->slabs.size());
    s += line;
  }
  return s;
}

void SlabAllocator::register_cache_stats(KmemCache* c) {
  StatGroup& g = m_stats->group(c->name);
  g.formula("objects", "allocated objects (slabinfo active_objs)", [c] { return static_cast<double>(c->objects); });
  g.formula("slabs", "slabs held (slabinfo num_slabs)", [c] { return static_cast<double>(c->slabs.size()); });
  g.formula("objperslab", "objects per slab", [c] { return static_cast<double>(c->objects_per_slab); });
  g.formula("pagesperslab", "4 KiB frames per slab", [c] { return static_cast<double>(1u << c->order); });
}

void SlabAllocator::register_stats(StatGroup& slab_group) {
  m_stats = &slab_group;
  slab_group.formula("pages", "frames held by slabs and large kmalloc blocks",
                     [this] { return static_cast<double>(m_pages); });
  for (const auto& c : m_caches) register_cache_stats(c.get());
}

void SlabAllocator::for_each_page(const std::function<void(std::uint64_t)>& f) const {
  for (const auto& c : m_caches)
    for (const auto& kv : c->slabs)
      for (std::uint64_t i = 0; i < (1ull << c->order); ++i) f(kv.first + i);
  for (const auto& kv : m_large)
    for (std::uint64_t i = 0; i < (1ull << kv.second); ++i) f((kv.first >> kPageShift) + i);
}

std::string SlabAllocator::check_invariants() const {
  std::uint64_t pages = 0;
  for (const auto& c : m_caches) {
    std::uint64_t inuse = 0;
    for (const auto& kv : c->slabs) {
      const auto& s = kv.second;
      if (s.inuse + s.free.size() != c->objects_per_slab)
        return c->name + ": slab at pfn " + std::to_string(kv.first) + " counts " + std::to_string(s.inuse) +
               " used + " + std::to_string(s.free.size()) + " free of " + std::to_string(c->objects_per_slab);
      if (!s.free.empty() != (c->partial.count(kv.first) == 1))
        return c->name + ": slab at pfn " + std::to_string(kv.first) + " partial-list membership is wrong";
      std::vector<std::uint32_t> f = s.free;
      std::sort(f.begin(), f.end());
      if (std::adjacent_find(f.begin(), f.end()) != f.end())
        return c->name + ": slab at pfn " + std::to_string(kv.first) + " has an object free twice";
      inuse += s.inuse;
      pages += 1ull << c->order;
    }
    if (inuse != c->objects)
      return c->name + ": " + std::to_string(c->objects) + " objects but slabs hold " + std::to_string(inuse);
  }
  for (const auto& kv : m_large) pages += 1ull << kv.second;
  if (pages != m_pages) return "slab pages " + std::to_string(m_pages) + " but caches hold " + std::to_string(pages);
  return "";
}

}  // namespace mmusim
