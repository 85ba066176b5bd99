#include "traffic/events/event_record.hpp"

#include <charconv>

#include "traffic/common/json_text.hpp"

namespace traffic::events {
namespace {

// Writes the record's fields in order, managing the commas.
class Line {
 public:
  explicit Line(std::string& out) : out_(out) { out_.push_back('{'); }
  void finish() { out_.append("}\n"); }
  void string(std::string_view name, std::string_view value) {
    key(name);
    append_json_string(out_, value);
  }
  // An optional string: left out when empty.
  void text(std::string_view name, std::string_view value) {
    if (!value.empty()) string(name, value);
  }
  void number(std::string_view name, std::int64_t value) {
    key(name);
    char digits[24];
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
  }
  void raw(std::string_view name, std::string_view json) {
    key(name);
    out_.append(json);
  }
  void key(std::string_view name) {
    if (out_.back() != '{') out_.push_back(',');
    out_.push_back('"');
    out_.append(name);
    out_.append("\":");
  }

 private:
  std::string& out_;
};

}  // namespace

std::string_view to_string(VisitorSource source) noexcept {
  switch (source) {
    case VisitorSource::user_id: return "user_id";
    case VisitorSource::cookie: return "cookie";
    case VisitorSource::fingerprint: return "fingerprint";
    case VisitorSource::none: return "none";
  }
  return "none";
}

void append_event_record(std::string& out, const Event& event, const EventFacts& facts) {
  Line line(out);
  line.string("event", kEventRecord);
  line.string("event_type", to_string(event.type));
  line.string("event_id", facts.event_id);
  line.number("date_added", facts.date_added);
  if (event.client_ts) line.number("client_ts", *event.client_ts);
  line.string("website", event.website);
  line.text("page", event.page);
  line.text("ad_id", event.ad_id);
  line.text("user_id", event.user_id);
  line.string("visitor_id", facts.visitor_id);
  line.string("visitor_id_source", to_string(facts.visitor_source));
  line.text("referrer", event.referrer);
  if (!event.props.empty()) {
    line.key("props");
    out.push_back('{');
    for (std::size_t i = 0; i < event.props.size(); ++i) {
      if (i > 0) out.push_back(',');
      append_json_string(out, event.props[i].first);
      out.push_back(':');
      out.append(event.props[i].second);  // a scalar's JSON text, from the parser
    }
    out.push_back('}');
  }
  line.string("ip", facts.ip);
  line.string("geo", facts.country);
  line.string("region", facts.region);
  line.string("city", facts.city);
  line.string("isp", facts.isp);
  line.string("device", facts.device);
  line.string("os", facts.os);
  line.string("browser", facts.browser);
  line.string("ua", facts.user_agent);
  line.finish();
}

}  // namespace traffic::events
