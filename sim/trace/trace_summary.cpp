#include "sim/trace/trace_summary.h"

#include <cstdio>

namespace mmusim {
namespace {

constexpr unsigned kRegionShift = 21;

void line(std::string& out, const std::string& label, std::uint64_t v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%-16s%llu\n", (label + ":").c_str(), static_cast<unsigned long long>(v));
  out += buf;
}

}  // namespace

static_assert(static_cast<unsigned>(RecordKind::Thread) + 1 == TraceSummary::kKinds);

void TraceSummary::add(const TraceRecord& r) {
  ++m_records;
  ++m_by_kind[static_cast<unsigned>(r.kind)];
  if (r.kind != RecordKind::Access) return;
  ++m_by_access[static_cast<unsigned>(r.access)];
  const std::uint64_t last = r.addr + (r.size - 1);
  m_pages.insert(r.addr >> kPageShift);
  m_regions.insert(r.addr >> kRegionShift);
  if ((last >> kPageShift) != (r.addr >> kPageShift)) {
    m_pages.insert(last >> kPageShift);
    m_regions.insert(last >> kRegionShift);
  }
}

void TraceSummary::add_all(TraceReader& reader) {
  TraceRecord rec;
  while (reader.next(rec)) add(rec);
}

std::string TraceSummary::report() const {
  std::string out;
  line(out, "records", records());
  line(out, "accesses", accesses());
  line(out, "  R (load)", accesses(AccessKind::Load));
  line(out, "  W (store)", accesses(AccessKind::Store));
  line(out, "  X (ifetch)", accesses(AccessKind::IFetch));
  line(out, "  M (modify)", accesses(AccessKind::Modify));
  line(out, "events", events());
  static constexpr RecordKind kOrder[] = {
      RecordKind::Mmap,        RecordKind::Munmap, RecordKind::Mprotect, RecordKind::Brk,   RecordKind::Fork,
      RecordKind::Exit,        RecordKind::Proc,   RecordKind::Invlpg,   RecordKind::Mark,  RecordKind::Invpcid,
      RecordKind::OomScoreAdj, RecordKind::Cr4Pge, RecordKind::Clone,    RecordKind::Thread};
  for (RecordKind k : kOrder) {
    const bool always = k == RecordKind::Mmap || k == RecordKind::Munmap || k == RecordKind::Mprotect ||
                        k == RecordKind::Brk || k == RecordKind::Exit;
    if (always || events(k) != 0) line(out, std::string("  @") + record_kind_name(k), events(k));
  }
  line(out, "4 KiB pages", pages());
  line(out, "2 MiB regions", regions());
  return out;
}

}  // namespace mmusim
