// The event record: one valid JSON line whatever the visitor sent, with every field.

#include "traffic/events/event_record.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace traffic::events {
namespace {

namespace json = boost::json;

TEST(EventRecord, EveryFieldInOneJsonLine) {
  Event event;
  event.type = EventType::ad_click;
  event.website = "news.example";
  event.page = "/story";
  event.ad_id = "a-7";
  event.user_id = "u-1";
  event.referrer = "https://search.example/?q=x";
  event.client_ts = 1'781'524'799'000;
  event.props = {{"slot", "\"top\""}, {"w", "300"}, {"house", "false"}};
  EventFacts facts;
  facts.event_id = "00000000-0000-4000-8000-000000000001";
  facts.date_added = 1'781'524'800'000;
  facts.visitor_id = "u-1";
  facts.visitor_source = VisitorSource::user_id;
  facts.ip = "81.2.69.142";
  facts.country = "GB";
  facts.city = "London";
  facts.device = "desktop";
  facts.os = "Windows";
  facts.browser = "Chrome";
  facts.user_agent = "Mozilla/5.0 \"quoted\" \xff";  // an invalid byte stays valid JSON

  std::string out = "previous line\n";
  append_event_record(out, event, facts);
  const std::string line = out.substr(14);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  const json::object record = json::parse(line).as_object();
  EXPECT_EQ(record.at("event").as_string(), "traffic-event");
  EXPECT_EQ(record.at("event_type").as_string(), "adClick");
  EXPECT_EQ(record.at("event_id").as_string(), facts.event_id);
  EXPECT_EQ(record.at("date_added").as_int64(), 1'781'524'800'000);
  EXPECT_EQ(record.at("client_ts").as_int64(), 1'781'524'799'000);
  EXPECT_EQ(record.at("website").as_string(), "news.example");
  EXPECT_EQ(record.at("page").as_string(), "/story");
  EXPECT_EQ(record.at("ad_id").as_string(), "a-7");
  EXPECT_EQ(record.at("visitor_id").as_string(), "u-1");
  EXPECT_EQ(record.at("visitor_id_source").as_string(), "user_id");
  EXPECT_EQ(record.at("props"), json::parse(R"({"slot":"top","w":300,"house":false})"));
  EXPECT_EQ(record.at("geo").as_string(), "GB");
  EXPECT_EQ(record.at("city").as_string(), "London");
  EXPECT_EQ(record.at("ua").as_string(), "Mozilla/5.0 \"quoted\" \xEF\xBF\xBD");
}

TEST(EventRecord, AbsentOptionalFieldsAreLeftOut) {
  Event event;
  event.website = "w";
  event.page = "/";
  EventFacts facts;
  std::string out;
  append_event_record(out, event, facts);
  const json::object record = json::parse(out).as_object();
  EXPECT_EQ(record.at("event_type").as_string(), "pageView");
  EXPECT_FALSE(record.contains("ad_id"));
  EXPECT_FALSE(record.contains("client_ts"));
  EXPECT_FALSE(record.contains("props"));
  EXPECT_EQ(record.at("visitor_id_source").as_string(), "none");
}

}  // namespace
}  // namespace traffic::events
