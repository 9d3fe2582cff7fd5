// The end-to-end tests' helpers: the bundled traces, a run of the mmusim
// binary in a directory and its stats.json, and the independent derivations
// the statistics are checked against (the pages a trace touches, Linux's
// demand faults, a brute-force LRU TLB).
#pragma once

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/trace/open_trace.h"
#include "tests/support/run_mmusim.h"
#include "tests/support/temp_file.h"

namespace mmusim {
namespace e2e {

using nlohmann::json;

inline const std::string kSource = MMUSIM_SOURCE_DIR;
inline const std::string kBundled = kSource + "/traces/xz-compress.lackey.zst";
inline const std::string kSmall = kSource + "/traces/ls-small.lackey.zst";

using Result = RunResult;

inline Result run(const std::string& args, const std::string& dir) {
  return run_mmusim(args, dir + "/out.txt", dir + "/err.txt");
}

inline json stats(const std::string& dir) {
  std::ifstream f(dir + "/stats.json");
  return json::parse(f);
}

// Every access of a trace, with page-crossing accesses split in two as the
// simulator translates them.
struct Touch {
  std::uint64_t page;
  bool data;
};
inline std::vector<Touch> touches(const std::string& trace) {
  std::vector<Touch> v;
  auto r = open_trace(trace, "auto");
  TraceRecord rec;
  while (r->next(rec)) {
    if (rec.kind != RecordKind::Access) continue;
    const bool data = rec.access != AccessKind::IFetch;
    const std::uint64_t first = rec.addr >> 12, last = (rec.addr + rec.size - 1) >> 12;
    v.push_back({first, data});
    if (last != first) v.push_back({last, data});
  }
  return v;
}

// Minor faults of demand paging with 4 KiB pages and no memory pressure, as
// Linux 6.1 takes them: the first touch of a page faults; if it is a load or
// a fetch in anonymous memory, do_anonymous_page maps the zero page
// read-only, and the first store later faults again (do_wp_page ->
// wp_page_copy). So: distinct pages + anonymous pages read before their
// first write. (A store's first touch, or a file page, faults once: file
// pages are mapped as the VMA allows.) Memory is anonymous unless the
// latest @mmap covering it said file; the first max accesses are counted.
inline std::uint64_t demand_faults(const std::string& trace, std::uint64_t max = UINT64_MAX) {
  std::map<std::uint64_t, bool> file_page;  // page -> in a file mapping
  std::map<std::uint64_t, int> state;       // page -> 1 zero page, 2 its own page
  std::uint64_t faults = 0, n = 0;
  auto r = open_trace(trace, "auto");
  TraceRecord rec;
  while (n < max && r->next(rec)) {
    if (rec.kind == RecordKind::Mmap) {
      for (std::uint64_t p = rec.addr >> 12; p < (rec.addr + rec.len + 4095) >> 12; ++p) file_page[p] = rec.file;
      continue;
    }
    if (rec.kind != RecordKind::Access) continue;
    ++n;
    const bool write = rec.access == AccessKind::Store || rec.access == AccessKind::Modify;
    const std::uint64_t first = rec.addr >> 12, last = (rec.addr + rec.size - 1) >> 12;
    for (std::uint64_t p = first; p <= last; ++p) {
      int& st = state[p];
      const bool anon = !file_page[p];
      if (st == 0) {
        ++faults;
        st = (!write && anon) ? 1 : 2;
      } else if (st == 1 && write) {
        ++faults;
        st = 2;
      }
    }
  }
  return faults;
}

// A fully associative LRU TLB, the obvious way: a list in recency order.
inline std::uint64_t brute_force_lru_misses(const std::vector<Touch>& t, std::size_t entries) {
  std::list<std::uint64_t> order;  // front = most recent
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  std::uint64_t misses = 0;
  for (const auto& x : t) {
    if (!x.data) continue;
    auto it = where.find(x.page);
    if (it != where.end()) {
      order.erase(it->second);
    } else {
      ++misses;
      if (order.size() == entries) {
        where.erase(order.back());
        order.pop_back();
      }
    }
    order.push_front(x.page);
    where[x.page] = order.begin();
  }
  return misses;
}

inline const char* const kOneDtlb =
    "mmu:\n"
    "  tlbs:\n"
    "    dtlb: {level: 1, serves: data, page_sizes: [4K], entries: 64, ways: 64, replacement: lru}\n"
    "os: {thp: never}\n";

// The value of PATH in a stats.csv ("path,value" lines), or "" if absent.
inline std::string csv_value(const std::string& csv, const std::string& path) {
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, path.size() + 1, path + ",") == 0) return line.substr(path.size() + 1);
  return "";
}

// One fully associative 4 KiB data TLB, no paging-structure caches, fixed
// memory latency, 4 KiB pages only: every walk reads one entry per level it
// reaches, which makes the reference counts easy to derive by hand.
inline const char* const kPlainWalks =
    "mmu:\n"
    "  tlbs: {d: {level: 1, serves: data, page_sizes: [4K], entries: 64, ways: 64, latency: 1}}\n"
    "  pwc: {pml5: {entries: 0}, pml4: {entries: 0}, pdpt: {entries: 0}, pd: {entries: 0}}\n"
    "memory: {controller: {model: fixed, fixed_latency: 100}}\n"
    "os: {thp: never}\n";

inline std::uint64_t u64(const json& s, std::initializer_list<const char*> path) {
  const json* j = &s;
  for (const char* k : path) j = &(*j)[k];
  return j->get<std::uint64_t>();
}

}  // namespace e2e
}  // namespace mmusim
