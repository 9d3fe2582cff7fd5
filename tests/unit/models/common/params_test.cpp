// Unit tests for the parameter declarations (models/common/params.h): the
// defaults a declaration gives, the enum name tables, ParamCheck and the
// shared set-geometry rules, the value formats; and the model structs that
// declare keys (OsParams, PagingParams, TlbParams, MemoryParams): their
// defaults and what they give the models.
#include "models/common/params.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "models/memory/memory_params.h"
#include "models/mmu/mmu_params.h"
#include "models/mmu/paging_params.h"
#include "models/os/os_params.h"

namespace mmusim {
namespace {

enum class Colour { Red, Green };
constexpr NamedValue<Colour> kColourNames[] = {{Colour::Red, "red"}, {Colour::Green, "green"}};

struct Inner {
  unsigned a = 0;
  template <class V>
  void visit(V& v, unsigned default_a) {
    v.param("a", a, default_a, "", "a");
  }
};

struct Toy {
  unsigned count = 0;
  std::uint64_t bytes = 0;
  Colour colour = Colour::Green;
  Inner left, right;
  std::map<std::string, int> named;
  template <class V>
  void visit(V& v) {
    v.param("count", count, 7u, "entries", "a count");
    v.param("bytes", bytes, std::uint64_t{4096}, kSize, "a size");
    v.choice("colour", colour, Colour::Red, kColourNames, "a colour");
    v.group("left", "", [&] { left.visit(v, 1u); });
    v.group("right", "", [&] { right.visit(v, 2u); });
    v.named_map("named", named, std::map<std::string, int>{{"x", 1}}, "a map");
  }
};

TEST(Params, ApplyDefaultsGivesEveryDeclaredDefault) {
  Toy t;
  apply_defaults(t);
  EXPECT_EQ(t.count, 7u);
  EXPECT_EQ(t.bytes, 4096u);
  EXPECT_EQ(t.colour, Colour::Red);
  EXPECT_EQ(t.left.a, 1u);  // one struct, a default per place it is declared
  EXPECT_EQ(t.right.a, 2u);
  EXPECT_EQ(t.named, (std::map<std::string, int>{{"x", 1}}));
}

TEST(Params, NamesOfEnumValues) {
  EXPECT_STREQ(name_of(kColourNames, Colour::Green), "green");
  EXPECT_STREQ(name_of(kPagingModeNames, PagingMode::X86_64_La57), "x86_64_la57");
  EXPECT_STREQ(name_of(kThpModeNames, ThpMode::Madvise), "madvise");
  EXPECT_STREQ(name_of(kRowPolicyNames, false), "closed");
}

TEST(Params, CheckNamesTheKeyUnderItsPrefix) {
  std::string key, rule;
  const ParamCheck c([&](const std::string& k, const std::string& r) {
    key = k;
    rule = r;
    throw std::runtime_error("handled");
  });
  EXPECT_THROW(c.at("mmu.").at("tlbs.l1d.").fail("ways", "is wrong"), std::runtime_error);
  EXPECT_EQ(key, "mmu.tlbs.l1d.ways");
  EXPECT_EQ(rule, "is wrong");
  // Without a handler: std::invalid_argument naming the key.
  try {
    ParamCheck().at("os.").fail("memory", "must be at least 16MiB");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "os.memory must be at least 16MiB");
  }
}

TEST(Params, SetGeometryRules) {
  const ParamCheck c = ParamCheck().at("t.");
  auto error = [&](unsigned entries, unsigned ways, bool allow_zero, bool plru) -> std::string {
    try {
      check_set_geometry(c, entries, ways, allow_zero, plru);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error(64, 4, false, false), "");
  EXPECT_EQ(error(48, 0, false, false), "");  // fully associative
  EXPECT_EQ(error(0, 4, true, false), "");    // disabled
  EXPECT_EQ(error(0, 4, false, false), "t.entries must be at least 1, got 0");
  EXPECT_EQ(error(8, 16, false, false), "t.ways must not exceed entries (8), got 16");
  EXPECT_EQ(error(64, 6, false, false), "t.ways must divide entries (64), got 6");
  EXPECT_EQ(error(48, 4, false, false),
            "t.ways must leave a power-of-two number of sets; entries 48 / ways 4 = 12 sets");
  EXPECT_EQ(error(1536, 12, false, true), "t.ways must be a power of two with replacement: plru, got 12");
}

TEST(Params, Formats) {
  EXPECT_EQ(format_size(8ull << 30), "8GiB");
  EXPECT_EQ(format_size(1536ull << 20), "1536MiB");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_frequency(2400000000ull), "2400MHz");
  EXPECT_EQ(format_duration(0), "0");
  EXPECT_EQ(format_duration(1500), "1500ps");
  EXPECT_EQ(format_number(0.25), "0.25");
}

TEST(Params, ModelStructsStartFromTheirDeclaredDefaults) {
  const OsParams os;
  EXPECT_EQ(os.memory_bytes, 8ull << 30);
  EXPECT_EQ(os.thp, ThpMode::Never);
  EXPECT_EQ(os.fault_minor_cycles, 700u);
  EXPECT_EQ(os.zero_page_per_4k_cycles, 300u);
  EXPECT_EQ(os.fault_major_cycles, 40000u);
  EXPECT_EQ(os.cow_copy_per_4k_cycles, 300u);
  EXPECT_EQ(os.swap_latency_cycles, 40000u);
  EXPECT_EQ(os.swappiness, 60u);
  EXPECT_TRUE(os.oom_enabled);
  EXPECT_EQ(os.fault_model, FaultModel::Cycles);
  // The paging state an OsParams starts with is PagingParams' defaults.
  EXPECT_EQ(os.mode, PagingMode::X86_64);
  EXPECT_EQ(os.levels, 4u);
  EXPECT_TRUE(os.pse);
  EXPECT_TRUE(os.pge);
  EXPECT_FALSE(os.pcid);
  EXPECT_TRUE(os.nx);
  EXPECT_EQ(os.phys_addr_bits, 46u);
  EXPECT_FALSE(os.highmem);

  const TlbParams t;
  EXPECT_EQ(t.entries, 64u);
  EXPECT_EQ(t.serves, TlbServes::Both);
  EXPECT_EQ(t.replacement, ReplacementPolicy::Lru);
  const MemoryParams m;
  EXPECT_EQ(m.timing.model, MemoryTiming::Model::Dram);
  EXPECT_TRUE(m.caches.empty());
}

TEST(Params, PagingModeSetsTheOsAndWalkerView) {
  PagingParams p;
  p.mode = PagingMode::X86_64_La57;
  EXPECT_EQ(p.levels(), 5u);
  EXPECT_EQ(p.va_bits(), 57u);
  OsParams os;
  os.set_paging(p);
  EXPECT_EQ(os.levels, 5u);
  EXPECT_FALSE(os.highmem);
  p.mode = PagingMode::Pae;
  EXPECT_EQ(p.va_bits(), 32u);
  os.set_paging(p);
  EXPECT_TRUE(os.highmem);
  WalkerParams w;
  p.nx = false;
  p.apply(w);
  EXPECT_EQ(w.mode, PagingMode::Pae);
  EXPECT_FALSE(w.nxe);
}

TEST(Params, TlbSpecFromItsKeys) {
  TlbParams t;
  t.serves = TlbServes::Inst;
  t.ways = 0;
  t.entries = 32;
  const TlbSpec s = t.spec("itlb", 1);
  EXPECT_EQ(s.name, "itlb");
  EXPECT_FALSE(s.serves_data);
  EXPECT_TRUE(s.serves_inst);
  EXPECT_EQ(s.geometry.ways, 32u);  // 0: fully associative
  EXPECT_EQ(s.geometry.seed & 1, 1u);
  EXPECT_NE(t.spec("dtlb", 1).geometry.seed, s.geometry.seed);  // a stream per TLB
}

}  // namespace
}  // namespace mmusim
