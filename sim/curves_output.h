// The output of `mmusim run --curves`: OUTDIR/curves.csv, one row per TLB
// geometry the one-pass analysis covers (models/tlb/miss_curves.h).
//
// Columns: tlb, sets, ways, entries (sets x ways), accesses, hits, misses,
// walks. walks is the run's mmu.walker.walks had the TLB had that geometry,
// given when every walk follows a lookup of this TLB (walks_follow_tlb) and
// empty otherwise: the run's walks plus the walk-free hits of the TLB's own
// geometry minus those of the other (MissCurves::walk_free_hits).
// With sampling (mmu.tlbs.<name>.curves_sample_rate) on for any TLB, three
// columns follow: sample_rate (the rate used, T / P, 6 decimals),
// sampled_accesses (the lookups of sampled pages) and misses_bound (3
// standard errors of the misses estimate, rounded up); a sampled TLB's
// hits, misses and walks are estimates scaled to all its lookups (accesses
// stays exact), rounded; an exact TLB's rows in that file give 1, its
// accesses and 0. Sampling off, the file is as before.
// With OPT on for any TLB (mmu.tlbs.<name>.curves_opt), a last column
// opt_misses: in the fully associative rows (sets 1) of a TLB with OPT, the
// misses of Belady's MIN with that many entries; empty elsewhere.
// Rows by TLB (mmu.tlbs order), then sets ascending (1, 2, 4, ...), then
// ways ascending (1 .. bound / sets). Integers only, so the file is
// byte-identical across runs of the same input.
#pragma once

#include <string>
#include <vector>

#include "sim/topology.h"

namespace mmusim {

std::string curves_csv(const std::vector<TlbCurves>& curves, const StatGroup& root);

// The point of each TLB's own geometry against its statistics (LRU TLBs
// whose geometry lies within the bound): the analysis sees exactly what the
// TLB sees, so they must agree. Throws std::logic_error naming the TLB and
// both counts if they do not.
void check_curves_against_stats(const std::vector<TlbCurves>& curves, const StatGroup& root);

}  // namespace mmusim
