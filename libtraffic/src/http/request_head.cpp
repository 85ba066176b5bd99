#include "traffic/http/request_head.hpp"

#include <array>
#include <cstring>

namespace traffic::http {
namespace {

using ByteClass = std::array<bool, 256>;

template <class Predicate>
constexpr ByteClass make_class(Predicate predicate) {
  ByteClass table{};
  for (unsigned c = 0; c < 256; ++c) table[c] = predicate(static_cast<unsigned char>(c));
  return table;
}

// RFC 9110 tchar.
constexpr ByteClass kToken = make_class([](unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
});
// Visible ASCII (a general parser also takes bytes from 0x80 on: declined here).
constexpr ByteClass kTarget = make_class([](unsigned char c) { return c > 0x20 && c < 0x7F; });
// Field values: visible ASCII, space and tab.
constexpr ByteClass kValue = make_class([](unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; });

bool is(const ByteClass& table, char c) noexcept {
  return table[static_cast<unsigned char>(c)];
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

}  // namespace

bool parse_simple_head(std::string_view data, const HeadLimits& limits, std::vector<Header>& headers,
                       RequestHead& head) {
  if (data.size() > limits.max_head_bytes) data = data.substr(0, limits.max_head_bytes);
  const char* p = data.data();
  const char* const end = p + data.size();
  auto run = [&](const ByteClass& table) {
    const char* start = p;
    while (p < end && is(table, *p)) ++p;
    return std::string_view(start, static_cast<std::size_t>(p - start));
  };

  head.method = run(kToken);
  if (head.method.empty() || p == end || *p++ != ' ') return false;
  head.target = run(kTarget);
  if (head.target.empty() || head.target.size() > limits.max_target || p == end || *p++ != ' ') return false;
  if (end - p < 10) return false;
  if (std::memcmp(p, "HTTP/1.1\r\n", 10) == 0) {
    head.version = 11;
  } else if (std::memcmp(p, "HTTP/1.0\r\n", 10) == 0) {
    head.version = 10;
  } else {
    return false;
  }
  p += 10;

  headers.clear();
  std::size_t field_bytes = 0;
  enum class Connection { absent, close, keep_alive } connection = Connection::absent;
  for (;;) {
    if (end - p < 2) return false;
    if (p[0] == '\r') {
      if (p[1] != '\n') return false;
      p += 2;
      break;
    }
    const std::string_view name = run(kToken);
    if (name.empty() || p == end || *p++ != ':') return false;
    while (p < end && is_space(*p)) ++p;
    std::string_view value = run(kValue);
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return false;
    p += 2;
    if (p < end && is_space(*p)) return false;  // a folded line continues this field
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);

    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Upgrade") ||
        iequals(name, "Proxy-Connection")) {
      return false;
    }
    if (iequals(name, "Connection")) {
      if (connection != Connection::absent) return false;
      if (iequals(value, "close")) {
        connection = Connection::close;
      } else if (iequals(value, "keep-alive")) {
        connection = Connection::keep_alive;
      } else {
        return false;
      }
    }
    field_bytes += name.size() + value.size() + 4;
    if (headers.size() == limits.max_fields || field_bytes > limits.max_field_bytes) return false;
    headers.push_back({name, value});
  }
  head.keep_alive = head.version == 11 ? connection != Connection::close : connection == Connection::keep_alive;
  head.size = static_cast<std::size_t>(p - data.data());
  return true;
}

}  // namespace traffic::http
