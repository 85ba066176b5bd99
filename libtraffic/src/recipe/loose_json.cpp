#include "loose_json.hpp"

#include <charconv>
#include <cmath>

namespace traffic::recipe::detail {
namespace json = boost::json;

std::optional<std::int64_t> read_int(const json::value& v, std::string_view field, FieldSink& sink) {
  switch (v.kind()) {
    case json::kind::null: return std::nullopt;
    case json::kind::int64: return v.get_int64();
    case json::kind::uint64:
      if (v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v.get_uint64());
      break;
    case json::kind::double_: {
      const double d = v.get_double();
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
      break;
    }
    case json::kind::string: {
      const json::string& s = v.get_string();
      if (s.empty()) return std::nullopt;
      std::int64_t out = 0;
      const char* end = s.data() + s.size();
      auto [ptr, ec] = std::from_chars(s.data(), end, out);
      if (ec == std::errc() && ptr == end) return out;
      break;
    }
    default: break;
  }
  sink.malformed(field, "not an integer");
  return std::nullopt;
}

std::optional<RecordId> read_id(const json::value& v, std::string_view field, FieldSink& sink) {
  auto id = read_int(v, field, sink);
  if (!id) return v.is_null() || (v.is_string() && v.get_string().empty()) ? std::optional<RecordId>(0) : std::nullopt;
  if (*id < 0) {
    sink.malformed(field, "negative id");
    return std::nullopt;
  }
  return id;
}

std::optional<Money> read_money(const json::value& v, std::string_view field, FieldSink& sink) {
  std::optional<Money> out;
  switch (v.kind()) {
    case json::kind::null: return std::nullopt;
    case json::kind::int64:
      if (std::llabs(v.get_int64()) < INT64_MAX / Money::kMicrosPerUnit) {
        out = Money::from_micros(v.get_int64() * Money::kMicrosPerUnit);
      }
      break;
    case json::kind::uint64:
      if (v.get_uint64() < static_cast<std::uint64_t>(INT64_MAX / Money::kMicrosPerUnit)) {
        out = Money::from_micros(static_cast<std::int64_t>(v.get_uint64()) * Money::kMicrosPerUnit);
      }
      break;
    case json::kind::double_: out = Money::from_double(v.get_double()); break;
    case json::kind::string:
      if (v.get_string().empty()) return std::nullopt;
      out = Money::parse(v.get_string());
      break;
    default: break;
  }
  if (!out) sink.malformed(field, "not a decimal amount");
  return out;
}

std::optional<bool> read_bool(const json::value& v, std::string_view field, FieldSink& sink) {
  switch (v.kind()) {
    case json::kind::null: return std::nullopt;
    case json::kind::bool_: return v.get_bool();
    case json::kind::int64:
      if (v.get_int64() == 0 || v.get_int64() == 1) return v.get_int64() == 1;
      break;
    case json::kind::uint64:
      if (v.get_uint64() <= 1) return v.get_uint64() == 1;
      break;
    case json::kind::double_:
      if (v.get_double() == 0.0 || v.get_double() == 1.0) return v.get_double() == 1.0;
      break;
    case json::kind::string: {
      const std::string_view s = v.get_string();
      if (s.empty()) return std::nullopt;
      if (s == "1" || s == "true") return true;
      if (s == "0" || s == "false") return false;
      break;
    }
    default: break;
  }
  sink.malformed(field, "not a boolean");
  return std::nullopt;
}

std::string read_string(const json::value& v, std::string_view field, FieldSink& sink) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::null: return {};
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return json::serialize(v);
    default: sink.malformed(field, "not a string"); return {};
  }
}

std::optional<TimestampMs> read_time(const json::value& v, std::string_view field, FieldSink& sink) {
  if (v.is_null() || (v.is_string() && v.get_string().empty())) return std::nullopt;
  if (v.is_string()) {
    if (auto at = parse_iso8601(v.get_string())) return at;
  } else if (v.is_int64() || v.is_uint64()) {
    return read_int(v, field, sink);
  }
  sink.malformed(field, "not an ISO-8601 date");
  return std::nullopt;
}

std::optional<json::value> read_embedded_json(const json::value& v, std::string_view field, FieldSink& sink,
                                              std::size_t max_depth) {
  if (!v.is_string()) return v;
  const std::string_view text = v.get_string();
  if (text.empty()) return json::value();
  json::parse_options options;
  options.max_depth = max_depth;
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec, {}, options);
  if (ec) {
    sink.malformed(field, "JSON inside the string does not parse");
    return std::nullopt;
  }
  return parsed;
}

std::vector<CountryCode> read_country_list(const json::value& v, std::string_view field, FieldSink& sink) {
  std::vector<CountryCode> out;
  auto add = [&](std::string_view token) {
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return;
    if (auto code = CountryCode::parse(token)) {
      out.push_back(*code);
    } else {
      sink.malformed(field, "not a two-letter country code");
    }
  };
  if (v.is_string()) {
    std::string_view rest = v.get_string();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      add(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (item.is_string()) {
        add(item.get_string());
      } else {
        sink.malformed(field, "not a two-letter country code");
      }
    }
  } else if (!v.is_null()) {
    sink.malformed(field, "not a country list");
  }
  return out;
}

}  // namespace traffic::recipe::detail
