// libFuzzer target for the configuration loader (sim/config): the YAML file
// and --set KEY=VALUE. scripts/fuzz builds and runs it as "config"; seeds are
// in tests/fuzz/corpus/config/.
//
// An input is a YAML document, optionally followed by a line "#--set" and
// then one --set override a line (KEY=VALUE). The YAML goes to a temporary
// file, as load_config reads files. ConfigError is the expected answer to bad
// input; any other exception escapes and libFuzzer reports it as a crash, as
// it does for sanitizer reports (std::bad_alloc included: the limits of
// validate() must stop a huge TLB before it is built). Checked promises:
//   - a message quotes at most 100 bytes of a value (shown_value), so it is
//     never longer than a few KiB whatever the input, and holds no NUL;
//   - a loaded config's resolved YAML (to_yaml) loads again to the same YAML,
//     and `mmusim params` (describe_params) can describe it;
//   - every TLB and cache name is a safe name (1-64 of [A-Za-z0-9_-]);
//   - every latency is within kMaxLatencyCycles, every TLB within kMaxTlbEntries.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/config/config.h"
#include "tests/support/fuzz_support.h"

namespace {

const std::string& temp_path() {
  static const std::string p = "/tmp/mmusim-fuzz-config-" + std::to_string(::getpid()) + ".yaml";
  return p;
}

// A value is quoted up to 100 bytes; keys and file names are short here.
constexpr std::size_t kMaxMessage = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string yaml = input;
  std::vector<std::string> sets;
  const std::size_t mark = input.find("#--set\n");
  if (mark != std::string::npos) {
    yaml = input.substr(0, mark);
    std::string rest = input.substr(mark + 7);
    for (std::size_t pos = 0; pos <= rest.size();) {
      std::size_t nl = rest.find('\n', pos);
      if (nl == std::string::npos) nl = rest.size();
      if (nl > pos) sets.push_back(rest.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  const std::string& path = temp_path();
  mmusim::write_file_or_abort(path, yaml);
  mmusim::LoadedConfig lc;
  try {
    lc = mmusim::load_config(path, sets);
  } catch (const mmusim::ConfigError& e) {
    mmusim::check_message(e.what(), kMaxMessage);
    return 0;
  }
  const mmusim::Config& c = lc.config;
  for (const auto& kv : c.mmu.tlbs) {
    if (!mmusim::is_safe_name(kv.first) || kv.second.entries > mmusim::kMaxTlbEntries ||
        kv.second.latency > mmusim::kMaxLatencyCycles)
      std::abort();
  }
  for (const auto& kv : c.memory.caches)
    if (!mmusim::is_safe_name(kv.first) || kv.second.latency > mmusim::kMaxLatencyCycles) std::abort();
  if (c.replay.gap_cycles > mmusim::kMaxLatencyCycles || c.clock_hz < mmusim::kMinClockHz ||
      c.clock_hz > mmusim::kMaxClockHz)
    std::abort();
  // The resolved config reloads to itself.
  const std::string resolved = mmusim::to_yaml(c);
  mmusim::write_file_or_abort(path, resolved);
  try {
    const mmusim::LoadedConfig again = mmusim::load_config(path, {});
    if (mmusim::to_yaml(again.config) != resolved) {
      std::fprintf(stderr, "the resolved config does not reload to itself:\n%s\n", resolved.c_str());
      std::abort();
    }
  } catch (const mmusim::ConfigError& e) {
    std::fprintf(stderr, "the resolved config does not load: %s\n%s\n", e.what(), resolved.c_str());
    std::abort();
  }
  (void)mmusim::describe_params(c);
  return 0;
}
