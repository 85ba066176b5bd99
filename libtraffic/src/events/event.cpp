#include "traffic/events/event.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <stdexcept>

namespace traffic::events {
namespace {

namespace json = boost::json;
using Limits = EventLimits;

// Reads one event object; the first problem is returned, naming the field.
class EventReader {
 public:
  EventReader(const json::object& object, std::size_t index) : object_(object), index_(index) {}

  boost::system::result<Event, EventError> read() {
    Event event;
    const json::value* type = object_.if_contains("type");
    if (type == nullptr || type->is_null()) return refuse("type", "required (pageView, adImpression or adClick)");
    if (!type->is_string()) return refuse("type", "must be a string");
    const auto known = event_type(type->get_string());
    if (!known) return refuse("type", "unknown; pageView, adImpression or adClick");
    event.type = *known;
    if (!text("website", Limits::kWebsiteBytes, event.website)) return *error_;
    if (event.website.empty()) return refuse("website", "required");
    if (!text("page", Limits::kPageBytes, event.page)) return *error_;
    if (event.type == EventType::page_view && event.page.empty()) return refuse("page", "required for pageView");
    if (!text("ad_id", Limits::kAdIdBytes, event.ad_id, /*integer_too=*/true)) return *error_;
    if (event.type != EventType::page_view && event.ad_id.empty()) {
      return refuse("ad_id", "required for " + std::string(to_string(event.type)));
    }
    if (!text("user_id", Limits::kUserIdBytes, event.user_id, /*integer_too=*/true)) return *error_;
    if (!text("referrer", Limits::kReferrerBytes, event.referrer)) return *error_;
    if (!timestamp(event.client_ts)) return *error_;
    if (!props(event.props)) return *error_;
    return event;
  }

 private:
  EventError refuse(std::string field, std::string reason) {
    error_ = EventError{index_, std::move(field), std::move(reason)};
    return *error_;
  }
  bool fail(std::string field, std::string reason) {
    refuse(std::move(field), std::move(reason));
    return false;
  }

  // A string field (or, for ids, an integer written as its digits) within `bound` bytes;
  // absent and null leave `out` empty.
  bool text(const char* field, std::size_t bound, std::string& out, bool integer_too = false) {
    const json::value* value = object_.if_contains(field);
    if (value == nullptr || value->is_null()) return true;
    if (value->is_string()) {
      const json::string& s = value->get_string();
      if (s.size() > bound) return fail(field, "longer than " + std::to_string(bound) + " bytes");
      out.assign(s.data(), s.size());
      return true;
    }
    if (integer_too && (value->is_int64() || value->is_uint64())) {
      out = json::serialize(*value);
      return true;
    }
    return fail(field, integer_too ? "must be a string or an integer" : "must be a string");
  }

  // `ts`: epoch milliseconds as a number or digits, or ISO-8601 text.
  bool timestamp(std::optional<TimestampMs>& out) {
    const json::value* value = object_.if_contains("ts");
    if (value == nullptr || value->is_null()) return true;
    if (value->is_int64() && value->get_int64() >= 0) {
      out = value->get_int64();
      return true;
    }
    if (value->is_string()) {
      const std::string_view s = value->get_string();
      TimestampMs ms = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty() && ms >= 0) {
        out = ms;
        return true;
      }
      if (auto parsed = parse_iso8601(s)) {
        out = *parsed;
        return true;
      }
    }
    return fail("ts", "must be epoch milliseconds or ISO-8601 time");
  }

  // `props`: an object of up to 20 scalar values.
  bool props(std::vector<std::pair<std::string, std::string>>& out) {
    const json::value* value = object_.if_contains("props");
    if (value == nullptr || value->is_null()) return true;
    if (!value->is_object()) return fail("props", "must be an object");
    const json::object& props = value->get_object();
    if (props.size() > Limits::kProps) {
      return fail("props", "more than " + std::to_string(Limits::kProps) + " entries");
    }
    for (const auto& [key, prop] : props) {
      const std::string field = "props." + std::string(key.data(), std::min<std::size_t>(key.size(), 64));
      if (key.empty() || key.size() > Limits::kPropKeyBytes) {
        return fail("props", "keys must be 1.." + std::to_string(Limits::kPropKeyBytes) + " bytes");
      }
      if (prop.is_object() || prop.is_array()) return fail(field, "must be a string, number, boolean or null");
      if (prop.is_string() && prop.get_string().size() > Limits::kPropValueBytes) {
        return fail(field, "longer than " + std::to_string(Limits::kPropValueBytes) + " bytes");
      }
      out.emplace_back(std::string(key), json::serialize(prop));
    }
    return true;
  }

  const json::object& object_;
  std::size_t index_;
  std::optional<EventError> error_;
};

}  // namespace

std::string_view to_string(EventType type) noexcept {
  switch (type) {
    case EventType::page_view: return "pageView";
    case EventType::ad_impression: return "adImpression";
    case EventType::ad_click: return "adClick";
  }
  return "pageView";
}

std::optional<EventType> event_type(std::string_view name) noexcept {
  if (name == "pageView") return EventType::page_view;
  if (name == "adImpression" || name == "AdImpression") return EventType::ad_impression;
  if (name == "adClick" || name == "AdClick") return EventType::ad_click;
  return std::nullopt;
}

std::string EventError::message() const {
  if (field.empty()) return reason;
  return "event " + std::to_string(index) + ": " + field + ": " + reason;
}

void throw_exception_from_error(const EventError& error, const boost::source_location&) {
  throw std::invalid_argument(error.message());
}

ParsedEvents parse_events(std::string_view body) {
  if (body.size() > EventLimits::kBodyBytes) {
    return EventError{0, "", "body over " + std::to_string(EventLimits::kBodyBytes) + " bytes"};
  }
  json::parse_options options;
  options.max_depth = 8;  // an event is an object of scalars and one object of scalars
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec, {}, options);
  if (ec) return EventError{0, "", "not JSON: " + ec.message()};
  std::vector<Event> events;
  auto read = [&](const json::value& element, std::size_t index) -> std::optional<EventError> {
    if (!element.is_object()) return EventError{index, "", "event " + std::to_string(index) + " is not an object"};
    auto event = EventReader(element.get_object(), index).read();
    if (!event) return event.error();
    events.push_back(std::move(*event));
    return std::nullopt;
  };
  if (value.is_array()) {
    const json::array& array = value.get_array();
    if (array.empty()) return EventError{0, "", "no events"};
    if (array.size() > EventLimits::kEvents) {
      return EventError{0, "", "more than " + std::to_string(EventLimits::kEvents) + " events"};
    }
    events.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (auto refused = read(array[i], i)) return *refused;
    }
  } else if (auto refused = read(value, 0)) {
    return *refused;
  }
  return events;
}

ParsedEvents parse_event_params(std::span<const std::pair<std::string, std::string>> params) {
  json::object object;
  json::object props;
  for (const auto& [key, value] : params) {
    if (key.starts_with("props.")) {
      const std::string_view name = std::string_view(key).substr(6);
      if (!props.contains(name)) props[name] = value;
    } else if (!object.contains(key)) {
      object[key] = value;
    }
  }
  if (!props.empty()) object["props"] = std::move(props);
  auto event = EventReader(object, 0).read();
  if (!event) return event.error();
  return std::vector<Event>{std::move(*event)};
}

}  // namespace traffic::events
