#include "traffic/http/request_head.hpp"

#include "common/byte_class.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// The end of the run of target bytes (kTarget) or value bytes (kValue) from `p`. Targets
// and values (the link, the agent) are most of a head: SSE2 (every x86-64 has it) tests 16
// bytes at a time; the table finishes the run.
const char* end_of_run(const char* p, const char* end, bool value) noexcept {
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi8(value ? 0x20 : 0x21);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i tab = _mm_set1_epi8(value ? '\t' : 0x7F);
  for (; end - p >= 16; p += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A signed compare: control characters and every byte from 0x80 on are below `low`.
    const __m128i outside = _mm_andnot_si128(_mm_cmpeq_epi8(bytes, tab), _mm_cmplt_epi8(bytes, low));
    const __m128i stop = _mm_or_si128(outside, _mm_cmpeq_epi8(bytes, del));
    if (const int mask = _mm_movemask_epi8(stop); mask != 0) {
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    }
  }
#endif
  const ByteClass& table = value ? kValue : kTarget;
  while (p < end && in_class(table, *p)) ++p;
  return p;
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
  auto run = [&](const ByteClass& table) {
    const char* start = p;
    while (p < end && in_class(table, *p)) ++p;
    return std::string_view(start, static_cast<std::size_t>(p - start));
  };
  auto long_run = [&](bool value) {
    const char* start = p;
    p = end_of_run(p, end, value);
    return std::string_view(start, static_cast<std::size_t>(p - start));
  };

  head.method = run(kToken);
  if (head.method.empty() || p == end || *p++ != ' ') return false;
  head.target = long_run(/*value=*/false);
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
    std::string_view value = long_run(/*value=*/true);
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
