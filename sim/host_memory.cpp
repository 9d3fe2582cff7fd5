#include "sim/host_memory.h"

#include "sim/command_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mmusim {

std::uint64_t host_physical_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemTotal:") return kib * 1024;
  return 0;
}

std::uint64_t host_resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t effective_host_memory_limit(std::uint64_t limit) {
  if (limit) return limit;
  return host_physical_memory() / 5 * 4;
}

HostMemoryWatch::HostMemoryWatch(std::uint64_t limit_bytes) : m_limit(limit_bytes) {
  if (m_limit) m_thread = std::thread([this] { run(); });
}

HostMemoryWatch::~HostMemoryWatch() {
  if (!m_thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

void HostMemoryWatch::run() {
  std::unique_lock<std::mutex> lock(m_mutex);
  while (!m_cv.wait_for(lock, std::chrono::milliseconds(20), [this] { return m_stop; })) {
    const std::uint64_t rss = host_resident_bytes();
    if (rss <= m_limit) continue;
    std::fprintf(stderr,
                 "mmusim: the run uses %llu MiB of host memory, beyond its budget of %llu MiB "
                 "(replay.host_memory_limit; 0, the default, is 80%% of the host's memory)\n"
                 "mmusim: no statistics written: the run did not complete\n",
                 static_cast<unsigned long long>((rss + (1u << 20) - 1) >> 20),
                 static_cast<unsigned long long>(m_limit >> 20));
    std::fflush(stderr);
    std::_Exit(kExitHostMemory);
  }
}

}  // namespace mmusim
