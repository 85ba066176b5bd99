#include "traffic/pipeline/sink.hpp"

#include "traffic/lid/click_record.hpp"

#include "traffic/common/redact.hpp"

#include <charconv>
#include <set>
#include <stdexcept>

namespace traffic::pipeline {
namespace {

// "key=value&key=value" of a fragment; false on an empty key.
bool parse_options(std::string_view fragment, std::map<std::string, std::string, std::less<>>& out) {
  while (!fragment.empty()) {
    const auto amp = fragment.find('&');
    const std::string_view item = fragment.substr(0, amp);
    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    if (key.empty()) return false;
    out[std::string(key)] = eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    fragment.remove_prefix(amp + 1);
  }
  return true;
}

// What follows "scheme://": the authority (host[:port], with optional user-info) and the path.
struct Authority {
  std::string_view host;  // may include user-info and port
  std::string_view path;
};
Authority split_authority(std::string_view rest) {
  const auto slash = rest.find('/');
  return {rest.substr(0, slash), slash == std::string_view::npos ? std::string_view() : rest.substr(slash)};
}

bool host_present(std::string_view authority) {
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return !authority.empty() && authority.front() != ':';
}

}  // namespace

std::string_view to_string(SinkKind kind) noexcept {
  switch (kind) {
    case SinkKind::file: return "file";
    case SinkKind::http: return "http";
    case SinkKind::aggregator: return "aggregator";
    case SinkKind::redis: return "redis";
  }
  return "file";
}

bool valid_sink_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

std::uint64_t SinkUrl::number(std::string_view key, std::uint64_t fallback, std::uint64_t low,
                              std::uint64_t high) const {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  const std::string& text = it->second;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || value < low || value > high) {
    throw std::invalid_argument(std::string(key) + " must be " + std::to_string(low) + ".." + std::to_string(high));
  }
  return value;
}

Result<std::vector<SinkUrl>> parse_sink_urls(const std::vector<std::string>& urls) {
  std::vector<SinkUrl> sinks;
  std::set<std::string> names;
  for (const std::string& text : urls) {
    auto fail = [&](std::string_view reason) {
      return Failure(Errc::invalid_input, "sink '" + redact_credentials(text) + "': " + std::string(reason));
    };
    SinkUrl sink;
    std::string_view url = text;
    if (const auto hash = url.find('#'); hash != std::string_view::npos) {
      if (!parse_options(url.substr(hash + 1), sink.options)) return fail("malformed options after '#'");
      url = url.substr(0, hash);
    }
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return fail("not a URL (expected scheme://…)");
    const std::string_view scheme = url.substr(0, scheme_end);
    const std::string_view rest = url.substr(scheme_end + 3);
    if (scheme == "file") {
      sink.kind = SinkKind::file;
      if (rest.empty()) return fail("no directory (file:///absolute/dir or file://relative/dir)");
      sink.target = std::string(rest);
      sink.path = sink.target;
    } else if (scheme == "http" || scheme == "https" || scheme == "aggregator+http" || scheme == "aggregator+https") {
      sink.kind = scheme.starts_with("aggregator+") ? SinkKind::aggregator : SinkKind::http;
      const Authority authority = split_authority(rest);
      if (!host_present(authority.host)) return fail("no host");
      sink.target = std::string(sink.kind == SinkKind::aggregator ? url.substr(11) : url);
      sink.path = std::string(authority.path);
    } else if (scheme == "redis") {
      sink.kind = SinkKind::redis;
      const Authority authority = split_authority(rest);
      if (!host_present(authority.host)) return fail("no host");
      if (authority.path.size() < 2) return fail("no stream key (redis://host:6379/<stream key>)");
      sink.target = std::string(url);
      sink.path = std::string(authority.path);
    } else {
      return fail("unknown kind '" + std::string(scheme) + "' (file, http, https, aggregator+http(s), redis)");
    }
    const auto name = sink.options.find("name");
    sink.name = name != sink.options.end() ? name->second : std::string(to_string(sink.kind));
    if (!valid_sink_name(sink.name)) return fail("name must be 1-64 of a-z 0-9 - _");
    if (const Result<RecordKinds> kinds = record_kinds(sink); !kinds) return fail(kinds.error().detail);
    if (!names.insert(sink.name).second) {
      return fail("a second sink named '" + sink.name + "' (give each one #name=…)");
    }
    sinks.push_back(std::move(sink));
  }
  return sinks;
}

std::optional<RecordKind> record_kind(std::string_view record) noexcept {
  const std::string_view event = lid::record_field(record, "event");
  if (event == "traffic-api" || event == "traffic-manually") return RecordKind::click;
  if (event == "traffic-bonus") return RecordKind::conversion;
  if (event == "traffic-event") return RecordKind::event;
  return std::nullopt;
}

Result<RecordKinds> record_kinds(const SinkUrl& url) {
  const auto option = url.options.find("kinds");
  if (option == url.options.end()) {
    constexpr auto bit = [](RecordKind kind) { return static_cast<RecordKinds>(1U << static_cast<unsigned>(kind)); };
    return url.kind == SinkKind::aggregator
               ? static_cast<RecordKinds>(bit(RecordKind::click) | bit(RecordKind::conversion))
               : kAllRecordKinds;
  }
  RecordKinds kinds = 0;
  std::string_view list = option->second;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view word = list.substr(0, comma);
    if (word == "click") {
      kinds |= 1U << static_cast<unsigned>(RecordKind::click);
    } else if (word == "conversion") {
      kinds |= 1U << static_cast<unsigned>(RecordKind::conversion);
    } else if (word == "event") {
      kinds |= 1U << static_cast<unsigned>(RecordKind::event);
    } else {
      return Failure(Errc::invalid_input, "kinds: '" + std::string(word) + "' is not click, conversion or event");
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (kinds == 0) return Failure(Errc::invalid_input, "kinds: none given (click, conversion, event)");
  return kinds;
}

namespace {
bool wanted(RecordKinds kinds, std::string_view record) noexcept {
  const std::optional<RecordKind> kind = record_kind(record);
  return kind && (kinds & (1U << static_cast<unsigned>(*kind))) != 0;
}
}  // namespace

Result<> KindFilter::deliver(std::span<const std::string_view> records) {
  kept_.clear();
  for (const std::string_view record : records) {
    if (wanted(kinds_, record)) kept_.push_back(record);
  }
  if (kept_.empty()) return {};
  return sink_->deliver(kept_);
}

Result<> KindFilter::deliver_with_origins(std::span<const std::string_view> records,
                                          std::span<const RecordOrigin> origins) {
  kept_.clear();
  kept_origins_.clear();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!wanted(kinds_, records[i])) continue;
    kept_.push_back(records[i]);
    kept_origins_.push_back(origins[i]);
  }
  if (kept_.empty()) return {};
  return sink_->deliver_with_origins(kept_, kept_origins_);
}

}  // namespace traffic::pipeline
