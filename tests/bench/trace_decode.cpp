// The benchmark's decoder probe: reads every record of a trace with the
// simulator's readers and does nothing else, so scripts/benchmark can
// report decoding throughput per format and compression.
//
// usage: mmusim-trace-decode TRACE [FORMAT]
// prints: records=N accesses=N seconds=S rate=R   (rate in records/s)
#include <chrono>
#include <cstdio>

#include "sim/trace/open_trace.h"

using namespace mmusim;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TRACE [FORMAT]\n", argv[0]);
    return 2;
  }
  try {
    auto reader = open_trace(argv[1], argc > 2 ? argv[2] : "auto");
    TraceRecord rec;
    std::uint64_t records = 0, accesses = 0, checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    while (reader->next(rec)) {
      ++records;
      if (rec.kind == RecordKind::Access) {
        ++accesses;
        checksum += rec.addr ^ rec.size;  // keeps the loop from being optimised away
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("records=%llu accesses=%llu seconds=%.6f rate=%.1f checksum=%llx\n",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(accesses), secs,
                secs > 0 ? static_cast<double>(records) / secs : 0.0, static_cast<unsigned long long>(checksum));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmusim-trace-decode: %s\n", e.what());
    return 3;
  }
  return 0;
}
