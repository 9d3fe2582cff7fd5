#include "models/memory/memory_params.h"

#include <algorithm>
#include <utility>

namespace mmusim {

void CacheParams::check(const ParamCheck& c) const {
  if (level == 0) c.fail("level", "must be at least 1, got 0");
}

CacheLevelSpec CacheParams::spec(const std::string& name) const {
  CacheLevelSpec s;
  s.name = name;
  s.geometry.size_bytes = size_bytes;
  s.geometry.line_bytes = line_bytes;
  s.geometry.ways = ways == 0 ? static_cast<unsigned>(size_bytes / line_bytes) : ways;
  s.latency = latency;
  s.shared = shared;
  return s;
}

void MemoryParams::check(const ParamCheck& c) const {
  const MemoryTiming& d = timing;
  if (d.channels == 0 || !is_pow2(d.channels) || d.channels > 64)
    c.fail("dram.channels", "must be a power of two in 1..64, got " + std::to_string(d.channels));
  if (d.banks == 0 || !is_pow2(d.banks) || d.banks > 1024)
    c.fail("dram.banks", "must be a power of two in 1..1024, got " + std::to_string(d.banks));
  if (d.row_bytes < 64 || !is_pow2(d.row_bytes) || d.row_bytes > (1u << 20))
    c.fail("dram.row_bytes", "must be a power of two in 64..1MiB, got " + std::to_string(d.row_bytes));

  constexpr std::uint64_t kMaxCacheLines = 1u << 24;  // 1 GiB of 64-byte lines
  std::map<unsigned, std::string> levels;
  for (const auto& kv : caches) {
    const ParamCheck at = c.at("caches." + kv.first + ".");
    const CacheParams& k = kv.second;
    k.check(at);
    auto ins = levels.emplace(k.level, kv.first);
    if (!ins.second)
      at.fail("level", "must differ from every other cache's (one cache per level), but " + ins.first->second +
                           " has level " + std::to_string(k.level) + " too");
    if (k.line_bytes < 8 || k.line_bytes > 4096 || !is_pow2(k.line_bytes))
      at.fail("line_bytes", "must be a power of two in 8..4096, got " + std::to_string(k.line_bytes));
    const std::uint64_t lines = k.size_bytes / k.line_bytes;
    if (k.size_bytes == 0 || k.size_bytes % k.line_bytes != 0)
      at.fail("size", "must be a non-zero multiple of line_bytes (" + std::to_string(k.line_bytes) + "), got " +
                          format_size(k.size_bytes));
    if (lines > kMaxCacheLines)
      at.fail("size", "must hold at most " + std::to_string(kMaxCacheLines) + " lines (1GiB of 64-byte lines), got " +
                          std::to_string(lines) + " lines of " + std::to_string(k.line_bytes) + " bytes");
    const std::uint64_t w = k.ways == 0 ? lines : k.ways;
    if (w > lines)
      at.fail("ways",
              "must not exceed the number of lines (" + std::to_string(lines) + "), got " + std::to_string(k.ways));
    if (lines % w != 0 || !is_pow2(lines / w))
      at.fail("ways", "must leave a power-of-two number of sets; " + std::to_string(lines) + " lines / " +
                          std::to_string(w) + " ways is not");
  }
  unsigned expect = 1;
  for (const auto& kv : levels) {
    const ParamCheck at = c.at("caches." + kv.second + ".");
    if (kv.first != expect)
      at.fail("level", "must continue the levels 1, 2, ... without gaps: level " + std::to_string(expect) +
                           " is missing, got " + std::to_string(kv.first));
    const CacheParams& k = caches.at(kv.second);
    const CacheParams& first = caches.at(levels.begin()->second);
    if (k.line_bytes != first.line_bytes)
      at.fail("line_bytes", "must equal every level's line size (" + std::to_string(first.line_bytes) + "), got " +
                                std::to_string(k.line_bytes));
    ++expect;
  }
}

std::vector<CacheLevelSpec> MemoryParams::cache_levels() const {
  std::vector<std::pair<unsigned, CacheLevelSpec>> by_level;
  for (const auto& kv : caches) by_level.emplace_back(kv.second.level, kv.second.spec(kv.first));
  std::sort(by_level.begin(), by_level.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<CacheLevelSpec> out;
  for (auto& l : by_level) out.push_back(l.second);
  return out;
}

}  // namespace mmusim
