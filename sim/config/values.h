// Configuration values as text: parsing numbers with their unit suffixes
// (sizes, frequencies, durations; the parsers themselves are in config.h),
// formatting a declared field for the writers, and key suggestions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/common/params.h"
#include "models/common/types.h"

namespace mmusim {

std::string ascii_lower(std::string s);
std::string trim_blanks(const std::string& s);
// Decimal, 0x hexadecimal or 0o octal, as YAML 1.2's core schema reads
// integers: a leading zero does not make a number octal.
bool parse_u64(const std::string& text, std::uint64_t* out);
// "; did you mean 'KEY'?" for the nearest candidate, or nothing.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

// A declared field's value as the resolved config and `mmusim params` write it.
std::string format_value(unsigned v, Unit u);
std::string format_value(std::uint64_t v, Unit u);
std::string format_value(double v, Unit u);
std::string format_value(bool v, Unit u);
std::string format_value(const std::vector<PageSize>& v, Unit u);
std::string format_value(const std::vector<unsigned>& v, Unit u);

}  // namespace mmusim
