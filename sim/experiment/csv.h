// CSV for `mmusim sweep` and `mmusim check`: reading a run's stats.csv and
// curves.csv, writing RFC 4180 fields (results.csv).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mmusim {

// Reads a stats.csv (path,value) into a map; empty if the file is missing.
// order receives the paths in file order when not null.
std::map<std::string, std::string> read_stats_csv(const std::string& path, std::vector<std::string>* order = nullptr);
// The rows of one TLB in a curves.csv (sim/curves_output.h): "sets,ways" ->
// column -> value; empty if the file is missing.
std::map<std::string, std::map<std::string, std::string>> read_curves_csv(const std::string& path,
                                                                          const std::string& tlb);
// A CSV field, quoted when it holds a comma, a quote or a newline.
std::string csv_field(const std::string& s);

}  // namespace mmusim
