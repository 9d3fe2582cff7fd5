// The benchmark's plain-C++ baseline (README, Speed): reads a trace
// with the same readers as mmusim and does the same TLB lookups on the
// default TLB hierarchy - every level-1 TLB serving the access kind, then
// level 2, fill on a miss - with no SystemC, no page walk, no OS model: the
// translation of a missing page is made up (identity). scripts/benchmark
// divides mmusim's rate by this loop's.
//
// usage: mmusim-tlb-loop TRACE [FORMAT] [--threads 1|2]
// --threads 2 decodes on a thread of its own (PrefetchReader), as
// `mmusim run --threads 2` does; 1 (the default) on the loop's thread.
// prints: accesses=N misses=N seconds=S rate=R
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "models/common/stats.h"
#include "models/tlb/tlb.h"
#include "sim/trace/open_trace.h"
#include "sim/trace/prefetch_reader.h"

using namespace mmusim;

namespace {

struct Spec {
  const char* name;
  unsigned level;
  bool data, inst;
  std::vector<PageSize> sizes;
  unsigned entries, ways;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool prefetch = false;
  bool bad = false;
  if (args.size() >= 2 && args[args.size() - 2] == "--threads") {
    prefetch = args.back() == "2";
    bad = !prefetch && args.back() != "1";
    args.resize(args.size() - 2);
  }
  if (bad || args.empty() || args.size() > 2) {
    std::fprintf(stderr, "usage: %s TRACE [FORMAT] [--threads 1|2]\n", argv[0]);
    return 2;
  }
  // The default hierarchy (configs/x86_64.yaml) (and MmuConfig::default_tlbs).
  using P = PageSize;
  const std::vector<Spec> specs = {
      {"l1d", 1, true, false, {P::k4K}, 64, 4},          {"l1d_2m", 1, true, false, {P::k2M, P::k4M}, 32, 4},
      {"l1d_1g", 1, true, false, {P::k1G}, 4, 4},        {"l1i", 1, false, true, {P::k4K, P::k2M, P::k4M}, 128, 8},
      {"l2", 2, true, true, {P::k4K, P::k2M}, 1536, 12},
  };
  StatGroup stats;
  std::vector<std::unique_ptr<Tlb>> tlbs;
  std::vector<Tlb*> levels[2][2];  // [data/inst][level-1]
  for (const auto& s : specs) {
    TlbGeometry g;
    g.entries = s.entries;
    g.ways = s.ways;
    g.page_sizes = s.sizes;
    tlbs.push_back(std::make_unique<Tlb>(s.name, g, stats.group(s.name)));
    if (s.data) levels[0][s.level - 1].push_back(tlbs.back().get());
    if (s.inst) levels[1][s.level - 1].push_back(tlbs.back().get());
  }

  try {
    auto inner = open_trace(args[0], args.size() > 1 ? args[1] : "auto");
    std::unique_ptr<PrefetchReader> pre;
    if (prefetch) pre = std::make_unique<PrefetchReader>(*inner);
    TraceReader* reader = pre ? static_cast<TraceReader*>(pre.get()) : inner.get();
    TraceRecord rec;
    std::uint64_t accesses = 0, misses = 0;
    const auto start = std::chrono::steady_clock::now();
    while (reader->next(rec)) {
      if (rec.kind != RecordKind::Access) continue;
      ++accesses;
      const unsigned cls = rec.access == AccessKind::IFetch ? 1 : 0;
      const VAddr first = rec.addr, last = rec.addr + rec.size - 1;
      // A page-crossing access translates both pages, as mmusim does.
      for (VAddr va = first;; va = last) {
        bool hit = false;
        for (unsigned l = 0; l < 2 && !hit; ++l) {
          for (Tlb* t : levels[cls][l])
            if (t->lookup(va, 0)) hit = true;
        }
        if (!hit) {
          ++misses;
          TlbEntry e;
          e.vpn = va >> 12;
          e.pfn = va >> 12;
          e.valid = e.writable = e.user = e.dirty = true;
          for (unsigned l = 0; l < 2; ++l)
            for (Tlb* t : levels[cls][l])
              if (t->holds(PageSize::k4K)) t->insert(e);
        }
        if (va == last || (first >> 12) == (last >> 12)) break;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("accesses=%llu misses=%llu seconds=%.6f rate=%.1f\n", static_cast<unsigned long long>(accesses),
                static_cast<unsigned long long>(misses), secs, secs > 0 ? static_cast<double>(accesses) / secs : 0.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmusim-tlb-loop: %s\n", e.what());
    return 3;
  }
  return 0;
}
