// Helpers the fuzz targets share. No GoogleTest: on failure they abort,
// which libFuzzer and the corpus replays report as a crash.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace mmusim {

// An error message is bounded (max_bytes) and has no NUL byte.
inline void check_message(const std::string& m, std::size_t max_bytes) {
  if (m.size() > max_bytes || m.find('\0') != std::string::npos) {
    std::fprintf(stderr, "message of %zu bytes: %.300s\n", m.size(), m.c_str());
    std::abort();
  }
}

// Writes text to path (created or truncated).
inline void write_file_or_abort(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), f) != text.size()) std::abort();
  if (std::fclose(f) != 0) std::abort();
}

}  // namespace mmusim
