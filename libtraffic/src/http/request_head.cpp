#include "traffic/http/request_head.hpp"

#include "common/byte_class.hpp"

#include <array>
#include <cstring>

namespace traffic::http {
namespace {

// RFC 9110 tchar.
constexpr ByteClass kToken = make_class([](unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
});
// Visible ASCII (a general parser also takes bytes from 0x80 on: declined here).
constexpr ByteClass kTarget = make_class([](unsigned char c) { return c > 0x20 && c < 0x7F; });
// Field values: visible ASCII, space and tab.
constexpr ByteClass kValue = make_class([](unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; });

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

// The end of the target (kTarget) or field value (kValue) that starts at `p`.
const char* end_of_target(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  return end_of_run(p, end, kTarget, [](__m128i bytes) {
    // A signed compare: space, control characters and every byte from 0x80 on are below '!'.
    return _mm_or_si128(_mm_cmplt_epi8(bytes, _mm_set1_epi8('!')), _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7F)));
  });
#else
  return end_of_run(p, end, kTarget);
#endif
}

const char* end_of_value(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  return end_of_run(p, end, kValue, [](__m128i bytes) {
    // Below ' ' (signed: control characters and 0x80 on) but for the tab, and DEL.
    const __m128i control =
        _mm_andnot_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\t')), _mm_cmplt_epi8(bytes, _mm_set1_epi8(' ')));
    return _mm_or_si128(control, _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7F)));
  });
#else
  return end_of_run(p, end, kValue);
#endif
}

// The fields whose meaning is framing or connection management, by name (compared only
// when the length matches).
enum class Special { none, framing, connection };
Special special(std::string_view name) noexcept {
  switch (name.size()) {
    case 7: return iequals(name, "Upgrade") ? Special::framing : Special::none;
    case 10: return iequals(name, "Connection") ? Special::connection : Special::none;
    case 14: return iequals(name, "Content-Length") ? Special::framing : Special::none;
    case 16: return iequals(name, "Proxy-Connection") ? Special::framing : Special::none;
    case 17: return iequals(name, "Transfer-Encoding") ? Special::framing : Special::none;
    default: return Special::none;
  }
}

}  // namespace

bool parse_simple_head(std::string_view data, const HeadLimits& limits, std::vector<Header>& headers,
                       RequestHead& head) {
  if (data.size() > limits.max_head_bytes) data = data.substr(0, limits.max_head_bytes);
  const char* p = data.data();
  const char* const end = p + data.size();
  // The piece from `p` to where `find_end` says it ends; `p` moves past it.
  auto take = [&](auto find_end) {
    const char* start = p;
    p = find_end(p, end);
    return std::string_view(start, static_cast<std::size_t>(p - start));
  };
  auto token_end = [](const char* from, const char* to) { return end_of_run(from, to, kToken); };

  head.method = take(token_end);
  if (head.method.empty() || p == end || *p++ != ' ') return false;
  head.target = take(end_of_target);
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
    const std::string_view name = take(token_end);
    if (name.empty() || p == end || *p++ != ':') return false;
    while (p < end && is_space(*p)) ++p;
    std::string_view value = take(end_of_value);
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return false;
    p += 2;
    if (p < end && is_space(*p)) return false;  // a folded line continues this field
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);

    const Special kind = special(name);
    if (kind == Special::framing) return false;
    if (kind == Special::connection) {
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
