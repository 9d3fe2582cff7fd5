// The run's host-memory budget (replay.host_memory_limit): a watcher thread
// reads the process's resident set size (/proc/self/statm) every 20 ms and,
// past the budget, stops the run with a clear message and exit code 5 before
// the host's memory runs out. Nothing is written for a stopped run (the
// statistics files are written whole at the end, and only then).
//
// The budget never changes a statistic: a run that stays within it gives the
// same bytes whatever the budget, and one that does not gives none.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace mmusim {

// Bytes of physical memory of the host (MemTotal of /proc/meminfo), 0 if unknown.
std::uint64_t host_physical_memory();
// Resident set size of this process in bytes, 0 if unknown.
std::uint64_t host_resident_bytes();
// The budget a limit of 0 (the default) stands for: 80% of the host's memory.
std::uint64_t effective_host_memory_limit(std::uint64_t limit);

class HostMemoryWatch {
 public:
  // limit_bytes: the budget; 0 turns the watch off.
  explicit HostMemoryWatch(std::uint64_t limit_bytes);
  ~HostMemoryWatch();
  HostMemoryWatch(const HostMemoryWatch&) = delete;
  HostMemoryWatch& operator=(const HostMemoryWatch&) = delete;

 private:
  void run();
  std::uint64_t m_limit;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace mmusim
