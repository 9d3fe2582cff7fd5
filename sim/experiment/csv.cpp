#include "sim/experiment/csv.h"

#include <fstream>

namespace mmusim {

std::map<std::string, std::string> read_stats_csv(const std::string& path, std::vector<std::string>* order) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string line;
  bool header = true;
  while (std::getline(f, line)) {
    if (header) {
      header = false;
      continue;
    }
    size_t comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    std::string key = line.substr(0, comma);
    if (order && !m.count(key)) order->push_back(key);
    m[key] = line.substr(comma + 1);
  }
  return m;
}

std::string csv_field(const std::string& s) {
  // RFC 4180: a field with a comma, a quote or a line break is quoted.
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::map<std::string, std::map<std::string, std::string>> read_curves_csv(const std::string& path,
                                                                          const std::string& tlb) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& l) {
    std::vector<std::string> f;
    std::string cur;
    for (char ch : l) {
      if (ch == ',') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    f.push_back(cur);
    return f;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split(line);
    if (f.size() != header.size() || f[0] != tlb) continue;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < f.size(); ++i) row[header[i]] = f[i];
    out[f[1] + "," + f[2]] = row;
  }
  return out;
}

}  // namespace mmusim
