// Unit tests for the configuration as a whole (sim/config/config.h): the
// declared defaults against the README's default core, the key list, and
// every preset in configs/.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/support/config_files.h"

#ifndef MMUSIM_SOURCE_DIR
#error "config_test needs MMUSIM_SOURCE_DIR (set by CMake)"
#endif

namespace mmusim {
namespace {

using P = PageSize;

TEST(ConfigDefaults, MatchTheDesign) {
  const Config c = default_config();
  EXPECT_EQ(c.clock_hz, 3000000000ull);
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.paging.mode, PagingMode::X86_64);
  EXPECT_TRUE(c.paging.pse);
  EXPECT_TRUE(c.paging.pge);
  EXPECT_FALSE(c.paging.pcid);
  EXPECT_TRUE(c.paging.nx);
  EXPECT_TRUE(c.paging.update_ad);
  EXPECT_TRUE(c.paging.wp);
  EXPECT_EQ(c.paging.phys_addr_bits, 46u);

  ASSERT_EQ(c.mmu.tlbs.size(), 5u);
  struct Want {
    const char* name;
    unsigned level;
    TlbServes serves;
    std::vector<P> sizes;
    unsigned entries, ways;
    Cycles latency;
  };
  const Want want[] = {
      {"l1d", 1, TlbServes::Data, {P::k4K}, 64, 4, 1},
      {"l1d_2m", 1, TlbServes::Data, {P::k2M, P::k4M}, 32, 4, 1},
      {"l1d_1g", 1, TlbServes::Data, {P::k1G}, 4, 4, 1},
      {"l1i", 1, TlbServes::Inst, {P::k4K, P::k2M, P::k4M}, 128, 8, 1},
      {"l2", 2, TlbServes::Both, {P::k4K, P::k2M}, 1536, 12, 9},
  };
  for (const Want& w : want) {
    auto it = c.mmu.tlbs.find(w.name);
    ASSERT_NE(it, c.mmu.tlbs.end()) << w.name;
    const TlbParams& t = it->second;
    EXPECT_EQ(t.level, w.level) << w.name;
    EXPECT_EQ(t.serves, w.serves) << w.name;
    EXPECT_EQ(t.page_sizes, w.sizes) << w.name;
    EXPECT_EQ(t.entries, w.entries) << w.name;
    EXPECT_EQ(t.ways, w.ways) << w.name;
    EXPECT_EQ(t.latency, w.latency) << w.name;
    EXPECT_EQ(t.replacement, ReplacementPolicy::Lru) << w.name;
  }

  EXPECT_EQ(c.mmu.pwc.pml5.entries, 0u);
  EXPECT_EQ(c.mmu.pwc.pml4.entries, 2u);
  EXPECT_EQ(c.mmu.pwc.pml4.ways, 2u);
  EXPECT_EQ(c.mmu.pwc.pdpt.entries, 4u);
  EXPECT_EQ(c.mmu.pwc.pdpt.ways, 4u);
  EXPECT_EQ(c.mmu.pwc.pd.entries, 32u);
  EXPECT_EQ(c.mmu.pwc.pd.ways, 4u);
  EXPECT_EQ(c.mmu.pwc.latency, 1u);
  EXPECT_EQ(c.mmu.walker.walkers, 2u);

  EXPECT_EQ(c.memory.timing.model, MemoryTiming::Model::Dram);
  EXPECT_EQ(c.memory.timing.fixed_latency, 80u);
  EXPECT_EQ(c.memory.timing.channels, 1u);
  EXPECT_EQ(c.memory.timing.banks, 16u);
  EXPECT_EQ(c.memory.timing.row_bytes, 8192u);
  EXPECT_EQ(c.memory.timing.tRCD, 16u);
  EXPECT_EQ(c.memory.timing.tCL, 16u);
  EXPECT_EQ(c.memory.timing.tRP, 16u);
  EXPECT_EQ(c.memory.timing.tBURST, 4u);
  EXPECT_TRUE(c.memory.timing.open_page);  // policy: open

  EXPECT_EQ(c.os.memory_bytes, 8ull << 30);
  EXPECT_EQ(c.os.thp, ThpMode::Never);
  EXPECT_EQ(c.os.max_order, 10u);
  EXPECT_EQ(c.os.fault_minor_cycles, 700u);
  EXPECT_EQ(c.os.zero_page_per_4k_cycles, 300u);

  EXPECT_TRUE(c.replay.implicit_vmas);
  EXPECT_EQ(c.replay.gap_cycles, 0u);
  EXPECT_EQ(c.replay.quantum_ps, 1000000u);  // 1 us
  EXPECT_EQ(c.replay.sync, ReplaySync::Quantum);
}

TEST(ConfigDefaults, AreValidAndLoadWithoutAFile) {
  EXPECT_NO_THROW(validate(default_config(), {}));
  LoadedConfig lc = load_config("", {});
  EXPECT_EQ(to_yaml(lc.config), to_yaml(default_config()));
  EXPECT_TRUE(lc.origins.empty());
}

TEST(ConfigDefaults, AllKeysInDeclarationOrder) {
  const std::vector<std::string> keys = all_keys(default_config());
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.front(), "clock");
  EXPECT_EQ(keys[1], "seed");
  EXPECT_EQ(keys[2], "cores");
  EXPECT_EQ(keys[3], "paging.mode");
  EXPECT_EQ(keys.back(), "replay.migrate_interval");
  // 3 top-level (clock, seed, cores) + 8 paging + 5 TLBs x 11 + 4 PWCs x 2 + latency + walkers
  // + 3 controller (model, fixed_latency, remote_latency) + 8 DRAM + 9 os
  // (memory, max_order, thp, numa_nodes, swappiness, fragmentation,
  // fault_model, hugetlb_1g, pcp_lists) + 4 fault costs + 2 swap + 1 oom
  // + 6 TLB shootdown costs (os.tlb: ipi_send, ipi_delivery, ipi_handler,
  // ipi_ack, invlpg, full_flush) + 9 replay (no caches by default).
  EXPECT_EQ(keys.size(), 3u + 8 + 55 + 8 + 1 + 1 + 3 + 8 + 9 + 4 + 2 + 1 + 6 + 9);
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
  for (const char* k : {"mmu.tlbs.l2.entries", "mmu.tlbs.l1d_2m.page_sizes", "mmu.pwc.pml5.entries", "memory.dram.tRCD",
                        "os.fault_cost.zero_page_per_4k", "replay.implicit_vmas"})
    EXPECT_EQ(unique.count(k), 1u) << k;
}

TEST(ConfigCaches, NoneByDefault) { EXPECT_TRUE(default_config().memory.caches.empty()); }

std::vector<std::string> yaml_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (name == "experiments") continue;  // sweep files, not configs: tests/unit/experiment_test.cpp
      for (const std::string& p : yaml_files(path)) out.push_back(p);
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0) {
      out.push_back(path);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConfigPresets, EveryFileInConfigsLoads) {
  const std::vector<std::string> files = yaml_files(MMUSIM_SOURCE_DIR "/configs");
  ASSERT_GE(files.size(), 3u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    LoadedConfig lc;
    ASSERT_NO_THROW(lc = load_config(f, {})) << load_error(f);
    // And what it resolves to survives a round trip.
    const std::string y = to_yaml(lc.config);
    EXPECT_EQ(to_yaml(load_config(write_yaml(y, "_" + std::to_string(std::hash<std::string>()(f))), {}).config), y);
  }
}

TEST(ConfigPresets, X86_64IsTheBuiltInDefault) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/x86_64.yaml", {});
  EXPECT_EQ(to_yaml(lc.config), to_yaml(default_config()));
  // It spells out every key.
  for (const std::string& k : all_keys(default_config())) {
    if (k.rfind("mmu.tlbs.", 0) == 0) continue;  // TLBs: origins are kept per TLB and per key
    // cores and the placement keys came later; the presets leave them out
    // (defaults: one core, no pinning, no migration) so that builds from
    // before them read them (scripts/compare-stats --against).
    if (k == "cores" || k == "replay.affinity" || k == "replay.migrate_interval") continue;
    // So did the TLB shootdown costs (os.tlb.*, used only with several cores).
    if (k.rfind("os.tlb.", 0) == 0) continue;
    // And the per-CPU lists and the remote DRAM latency (off, and unused,
    // with one core and one node).
    if (k == "os.pcp_lists" || k == "memory.controller.remote_latency") continue;
    EXPECT_EQ(lc.origins.count(k), 1u) << k << " is not given in configs/x86_64.yaml";
  }
  for (const auto& kv : default_config().mmu.tlbs)
    for (const char* key : {"level", "serves", "page_sizes", "entries", "ways", "latency", "replacement"})
      EXPECT_EQ(lc.origins.count("mmu.tlbs." + kv.first + "." + key), 1u) << kv.first << "." << key;
}

TEST(ConfigPresets, La57) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/x86_64_la57.yaml", {});
  EXPECT_EQ(lc.config.paging.mode, PagingMode::X86_64_La57);
  EXPECT_GT(lc.config.mmu.pwc.pml5.entries, 0u);
  EXPECT_EQ(lc.config.mmu.tlbs.size(), 5u);
}

TEST(ConfigPresets, SmallTlbHasFullyAssociativeL1) {
  LoadedConfig lc = load_config(MMUSIM_SOURCE_DIR "/configs/small-tlb.yaml", {});
  unsigned l1 = 0;
  for (const auto& kv : lc.config.mmu.tlbs) {
    const TlbParams& t = kv.second;
    if (t.level != 1) continue;
    ++l1;
    EXPECT_TRUE(t.ways == 0 || t.ways == t.entries) << kv.first;
    EXPECT_LT(t.entries, 64u) << kv.first;
  }
  EXPECT_GE(l1, 2u);
}

}  // namespace
}  // namespace mmusim
