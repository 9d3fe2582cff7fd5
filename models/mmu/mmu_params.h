// The mmu.* keys: the TLBs by name (mmu.tlbs.<name>.*, each a TlbSpec of the
// Mmu, Intel SDM 4.10.2), the paging-structure caches (mmu.pwc.*) and the
// walkers (mmu.walker.*); mmu_params() assembles the Mmu's MmuParams from
// them and the paging.* keys.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"
#include "models/mmu/mmu.h"
#include "models/mmu/paging_params.h"
#include "models/tlb/replacement.h"
#include "models/walker/walker_params.h"

namespace mmusim {

// The access kinds a TLB serves: data (loads, stores), inst (fetches) or both.
enum class TlbServes : std::uint8_t { Data, Inst, Both };
inline constexpr NamedValue<TlbServes> kTlbServesNames[] = {
    {TlbServes::Data, "data"}, {TlbServes::Inst, "inst"}, {TlbServes::Both, "both"}};

struct TlbParams {
  static constexpr const char* kNoun = "TLB";                // in messages about mmu.tlbs
  static constexpr const char* kExampleKey = "l1d.entries";  // in the --set KEY form message
  static constexpr bool kListForm = false;
  // A larger bound costs memory (16 bytes x bound x log2 bound) for little use.
  static constexpr unsigned kMaxCurvesEntries = 65536;

  unsigned level;
  TlbServes serves;
  std::vector<PageSize> page_sizes;
  unsigned entries;
  unsigned ways;
  Cycles latency;
  ReplacementPolicy replacement;
  bool fracture;
  unsigned curves;
  double curves_sample_rate;
  bool curves_opt;

  TlbParams() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.param("level", level, 1u, "",
            "lookup level: all level-1 TLBs serving the access are probed in parallel, then level 2, ...");
    v.choice("serves", serves, TlbServes::Both, kTlbServesNames,
             "access kinds served: data (loads, stores), inst (fetches) or both");
    v.param("page_sizes", page_sizes, std::vector<PageSize>{PageSize::k4K}, "",
            "page sizes held: any of 4K, 2M, 4M, 1G");
    v.param("entries", entries, 64u, "entries", "number of entries");
    v.param("ways", ways, 4u, "ways", "associativity; equal to entries (or 0) for fully associative");
    v.param("latency", latency, Cycles{1}, "cycles", "lookup latency");
    v.choice("replacement", replacement, ReplacementPolicy::Lru, kReplacementPolicyNames,
             "replacement policy (random is seeded by the top-level seed)");
    v.param("fracture", fracture, true, "",
            "cache a page of a size not held as a piece of the largest smaller held size (SDM 4.10.2.3), as current "
            "Intel cores do; false: such pages are not cached");
    v.param(
        "curves", curves, 0u, "entries",
        "LRU miss curves of this TLB's input stream, from one pass, in OUTDIR/curves.csv: every power-of-two number of "
        "sets and every associativity up to this many entries (mmusim run --curves sets 4 x entries); 0: off");
    v.param("curves_sample_rate", curves_sample_rate, 0.0, "",
            "SHARDS spatial sampling of the curves: track only the pages whose hash falls below this rate, scale the "
            "rest (curves.csv then gives estimates and an error bound per point: 3 sigma + 1% of the lookups, see "
            "README 'Sampled miss curves'); 0 or 1: exact, no sampling");
    v.param("curves_opt", curves_opt, false, "",
            "with curves on: also the OPT (Belady MIN) misses of every fully associative size up to the bound, a lower "
            "bound for any policy, as the column opt_misses of curves.csv (recorded in the run, computed at its end; "
            "exact curves only, see README 'OPT and other policies')");
  }
  // Rules on one TLB's keys; c is at "mmu.tlbs.<name>.".
  void check(const ParamCheck& c) const;

  bool serves_data() const { return serves != TlbServes::Inst; }
  bool serves_inst() const { return serves != TlbServes::Data; }
  // The Mmu's TlbSpec; its random-replacement stream is derived from seed and name.
  TlbSpec spec(const std::string& name, std::uint64_t seed) const;
};

struct MmuConfig {
  std::map<std::string, TlbParams> tlbs;
  PwcParams pwc;
  WalkerPoolParams walker;

  MmuConfig() { apply_defaults(*this); }

  template <class V>
  void visit(V& v) {
    v.named_map("tlbs", tlbs, default_tlbs(),
                "TLBs by name; a config file that gives mmu.tlbs replaces the whole default set");
    v.group("pwc", "paging-structure caches (Intel SDM 4.10.3)", [&] { pwc.visit(v); });
    v.group("walker", "page-table walker", [&] { walker.visit(v); });
  }
  // The default TLB set: a current x86_64 server core.
  static std::map<std::string, TlbParams> default_tlbs();
  // c is at "mmu.".
  void check(const ParamCheck& c) const;
  // The Mmu's parameters: its TLBs, the walker's paging mode, control
  // registers and paging-structure caches.
  MmuParams mmu_params(const PagingParams& paging, std::uint64_t seed) const;
  // Whether every page walk but those independent of this TLB's geometry (a
  // rights check failing in another TLB, the retry after a fault) follows a
  // lookup of TLB `tlb`: it is the only TLB of the last level for every access
  // kind it serves. Then its miss curves give mmu.walker.walks too.
  bool walks_follow_tlb(const std::string& tlb) const;
};

}  // namespace mmusim
