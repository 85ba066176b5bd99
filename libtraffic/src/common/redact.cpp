#include "traffic/common/redact.hpp"

#include <algorithm>

namespace traffic {

std::string redact_credentials(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto scheme = text.find("://", i);
    if (scheme == std::string_view::npos) break;
    const std::size_t start = scheme + 3;
    std::size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != ',' && text[end] != '#' && text[end] != '?') ++end;
    const auto at = text.substr(start, end - start).rfind('@');
    out.append(text.substr(i, start - i));
    if (at != std::string_view::npos) {
      out.append("***");
      out.append(text.substr(start + at, end - start - at));
    } else {
      out.append(text.substr(start, end - start));
    }
    i = end;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

}  // namespace traffic
