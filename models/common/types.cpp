#include "models/common/types.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace mmusim {

std::string hex_string(std::uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

const char* access_kind_name(AccessKind k) {
  switch (k) {
    case AccessKind::Load: return "load";
    case AccessKind::Store: return "store";
    case AccessKind::IFetch: return "ifetch";
    case AccessKind::Modify: return "modify";
  }
  return "?";
}

const char* page_size_name(PageSize s) {
  switch (s) {
    case PageSize::k4K: return "4K";
    case PageSize::k2M: return "2M";
    case PageSize::k4M: return "4M";
    case PageSize::k1G: return "1G";
  }
  return "?";
}

bool parse_page_size(const std::string& text, PageSize* out) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (t.size() > 3 && t.compare(t.size() - 2, 2, "IB") == 0) t.resize(t.size() - 2);
  if (t == "4K") *out = PageSize::k4K;
  else if (t == "2M") *out = PageSize::k2M;
  else if (t == "4M") *out = PageSize::k4M;
  else if (t == "1G") *out = PageSize::k1G;
  else return false;
  return true;
}

}  // namespace mmusim
