// What a trace holds, for `mmusim stats TRACE`: records, accesses by kind,
// events by kind, and the footprint, the distinct 4 KiB pages and 2 MiB
// regions the accesses touch.
//
// An access covers the bytes addr .. addr+size-1 and touches the page (and
// the region) of its first byte and of its last byte: sizes are at most
// 4096, so there is nothing in between. Pages are virtual and counted over
// all processes together (the same address in two processes is one page).
// Any format mmusim reads (sim/trace/open_trace.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "sim/trace/trace_reader.h"

namespace mmusim {

class TraceSummary {
 public:
  static constexpr unsigned kKinds = 15;  // RecordKind values

  void add(const TraceRecord& r);
  // Reads the rest of the trace (TraceError on bad input).
  void add_all(TraceReader& reader);

  std::uint64_t records() const { return m_records; }
  std::uint64_t accesses() const { return m_by_kind[static_cast<unsigned>(RecordKind::Access)]; }
  std::uint64_t accesses(AccessKind k) const { return m_by_access[static_cast<unsigned>(k)]; }
  std::uint64_t events() const { return m_records - accesses(); }
  std::uint64_t events(RecordKind k) const { return m_by_kind[static_cast<unsigned>(k)]; }
  std::uint64_t pages() const { return m_pages.size(); }
  std::uint64_t regions() const { return m_regions.size(); }

  // "label:  value" lines: records, accesses by kind (R/W/X/M), events by
  // kind (@mmap, @munmap, @mprotect, @brk and @exit always, the others when
  // present), 4 KiB pages, 2 MiB regions.
  std::string report() const;

 private:
  std::uint64_t m_records = 0;
  std::array<std::uint64_t, kKinds> m_by_kind{};
  std::array<std::uint64_t, 4> m_by_access{};
  std::unordered_set<std::uint64_t> m_pages, m_regions;
};

}  // namespace mmusim
