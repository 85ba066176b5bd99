#pragma once
// Site events (SPEC.md §13): what a publisher's page reports — a page view, an ad seen, an
// ad clicked — parsed and bounded before anything is recorded. Pure functions; the route
// in http/handler.cpp records them through the spool like clicks.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "traffic/common/time.hpp"

namespace traffic::events {

enum class EventType : std::uint8_t { page_view, ad_impression, ad_click };
inline constexpr std::size_t kEventTypes = 3;
/// "pageView", "adImpression", "adClick": the names sites send and records carry.
[[nodiscard]] std::string_view to_string(EventType type) noexcept;
/// The type named `name`; "AdImpression"/"AdClick" (the original system's spelling) too.
[[nodiscard]] std::optional<EventType> event_type(std::string_view name) noexcept;

/// Bounds of one request and of each field, in bytes. A value over its bound refuses the
/// request (a site sending 5 KB page paths has a bug worth seeing), unlike a click's
/// visitor values, which are cut: a click must be answered whatever it carries.
struct EventLimits {
  static constexpr std::size_t kBodyBytes = 64 * 1024;
  static constexpr std::size_t kEvents = 100;
  static constexpr std::size_t kWebsiteBytes = 256;
  static constexpr std::size_t kPageBytes = 2048;
  static constexpr std::size_t kAdIdBytes = 128;
  static constexpr std::size_t kUserIdBytes = 128;
  static constexpr std::size_t kReferrerBytes = 2048;
  static constexpr std::size_t kProps = 20;
  static constexpr std::size_t kPropKeyBytes = 64;
  static constexpr std::size_t kPropValueBytes = 256;
};

struct Event {
  EventType type = EventType::page_view;
  std::string website;  ///< site id or host; required
  std::string page;     ///< path; required for pageView
  std::string ad_id;    ///< required for adImpression and adClick
  std::string user_id;  ///< the site's own user id; "" = none given
  std::string referrer;
  std::optional<TimestampMs> client_ts;  ///< `ts`: the page's clock, kept beside the server's
  /// `props`: free scalar values, each as JSON text (a string with its quotes, a number,
  /// true/false/null), in the order sent.
  std::vector<std::pair<std::string, std::string>> props;
};

/// Why a request was refused: the first bad event's index (0 for a single object) and
/// field, and the reason — what the 400 tells the site's developer.
struct EventError {
  std::size_t index = 0;
  std::string field;  ///< "" when the body as a whole is wrong
  std::string reason;
  [[nodiscard]] std::string message() const;
  friend bool operator==(const EventError&, const EventError&) = default;
};
[[noreturn]] void throw_exception_from_error(const EventError& error, const boost::source_location& location);

using ParsedEvents = boost::system::result<std::vector<Event>, EventError>;

/// A `POST /event` body: one JSON object or an array of 1..100 of them. All or nothing: the
/// first bad event refuses the request. Never throws but std::bad_alloc.
[[nodiscard]] ParsedEvents parse_events(std::string_view body);

/// A `GET /event?…` pixel's parameters, already percent-decoded, in order: the same fields
/// as strings (`ts` as digits or ISO-8601), props as `props.<key>=value`. One event; the
/// first occurrence of a parameter wins.
[[nodiscard]] ParsedEvents parse_event_params(std::span<const std::pair<std::string, std::string>> params);

}  // namespace traffic::events
