#include "traffic/http/message.hpp"

#include "traffic/common/hex.hpp"

namespace traffic::http {
namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Percent-decoding, '+' as a space. Runs without either are appended at once: a push_back
// per byte of the link (the longest parameter) showed in profiles.
void append_decoded(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && text[run] != '%' && text[run] != '+') ++run;
    out.append(text.data() + i, run - i);
    if (run == text.size()) return;
    if (text[run] == '+') {
      out.push_back(' ');
      i = run + 1;
    } else if (run + 2 < text.size() && hex_value(text[run + 1]) >= 0 && hex_value(text[run + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[run + 1]) * 16 + hex_value(text[run + 2])));
      i = run + 3;
    } else {
      out.push_back('%');
      i = run + 1;
    }
  }
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view Request::header(std::string_view name) const noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

bool query_param(std::string_view query, std::string_view key, std::string& out) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    // Keys are compared as sent; ours are plain ASCII and never escaped by link builders.
    if (name == key) {
      out.clear();
      if (eq != std::string_view::npos) append_decoded(out, pair.substr(eq + 1));
      return true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> query_params(std::string_view query, std::size_t max_params) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty() && params.size() < max_params) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      auto& [name, value] = params.emplace_back();
      append_decoded(name, pair.substr(0, eq));
      if (eq != std::string_view::npos) append_decoded(value, pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

Target split_target(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool path_is(std::string_view path, std::string_view route) noexcept {
  if (path.size() == route.size() + 1 && path.back() == '/') path.remove_suffix(1);
  return iequals(path, route);
}

}  // namespace traffic::http
