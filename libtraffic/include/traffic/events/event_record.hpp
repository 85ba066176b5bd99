#pragma once
// The event record: one JSON line per site event, through the spool and the sinks like a
// click's (SPEC.md §13, docs/events.md).

#include <string>
#include <string_view>

#include "traffic/common/time.hpp"
#include "traffic/events/event.hpp"

namespace traffic::events {

/// How the visitor of an event was recognised (EVENT_VISITOR_ID, docs/events.md).
enum class VisitorSource : std::uint8_t {
  user_id,      ///< the site's own `user_id`
  cookie,       ///< trafficd's first-party `tid` cookie
  fingerprint,  ///< browser features, when cookies are off
  none,         ///< not recognised: counts as no unique visitor
};
[[nodiscard]] std::string_view to_string(VisitorSource source) noexcept;

/// What the request knows about the visitor, as a click record carries it.
struct EventFacts {
  std::string_view event_id;   ///< a fresh UUID: the consumer counts each event once by it
  TimestampMs date_added = 0;  ///< the server's time, authoritative
  std::string_view visitor_id;
  VisitorSource visitor_source = VisitorSource::none;
  std::string_view ip;
  std::string_view country;  ///< ISO code, "" when unknown
  std::string_view region;
  std::string_view city;
  std::string_view isp;
  std::string_view device;
  std::string_view os;
  std::string_view browser;
  std::string_view user_agent;
};

/// The `event` field of event records, beside clicks' "traffic-api".
inline constexpr std::string_view kEventRecord = "traffic-event";

/// Appends the record of `event` to `out` as one line of JSON with its '\n': `event`
/// "traffic-event", `event_type` the type's name, the event's fields (`client_ts` for
/// `ts`, `props` as an object), the facts. Every string is escaped and made valid UTF-8.
void append_event_record(std::string& out, const Event& event, const EventFacts& facts);

}  // namespace traffic::events
