#pragma once
// Splits a redirect URL into the parts the tests check.

#include <map>
#include <string>
#include <string_view>

namespace traffic::test {

struct UrlParts {
  std::string scheme;
  std::string host;
  std::string path;
  std::string query;  ///< raw, without '?'
  std::string fragment;
  std::map<std::string, std::string> params;  ///< decoded; first value wins
};

inline std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

inline UrlParts split_url(std::string_view url) {
  UrlParts parts;
  if (auto hash = url.find('#'); hash != std::string_view::npos) {
    parts.fragment = std::string(url.substr(hash + 1));
    url = url.substr(0, hash);
  }
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    parts.scheme = std::string(url.substr(0, scheme));
    url = url.substr(scheme + 3);
  }
  if (auto q = url.find('?'); q != std::string_view::npos) {
    parts.query = std::string(url.substr(q + 1));
    url = url.substr(0, q);
  }
  const auto slash = url.find('/');
  parts.host = std::string(url.substr(0, slash));
  parts.path = slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
  std::string_view query = parts.query;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    parts.params.emplace(key, value);
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return parts;
}

}  // namespace traffic::test
