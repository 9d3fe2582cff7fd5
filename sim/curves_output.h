// The output of `mmusim run --curves`: OUTDIR/curves.csv, one row per TLB
// geometry the one-pass analysis covers (models/tlb/miss_curves.h).
//
// Columns: tlb, sets, ways, entries (sets x ways), accesses, hits, misses.
// Rows by TLB (mmu.tlbs order), then sets ascending (1, 2, 4, ...), then
// ways ascending (1 .. bound / sets). Integers only, so the file is
// byte-identical across runs of the same input.
#pragma once

#include <string>
#include <vector>

#include "sim/topology.h"

namespace mmusim {

std::string curves_csv(const std::vector<TlbCurves>& curves);

// The point of each TLB's own geometry against its statistics (LRU TLBs
// whose geometry lies within the bound): the analysis sees exactly what the
// TLB sees, so they must agree. Throws std::logic_error naming the TLB and
// both counts if they do not.
void check_curves_against_stats(const std::vector<TlbCurves>& curves, const StatGroup& root);

}  // namespace mmusim
