// Site events (SPEC §13): every field's shape and bound, all-or-nothing requests, and the
// refusal naming the event and the field.

#include "traffic/events/event.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace traffic::events {
namespace {

TEST(Events, OneObjectWithEveryField) {
  const auto parsed = parse_events(R"({"type":"adClick","website":"news.example","page":"/a","ad_id":42,
      "user_id":"u-1","referrer":"https://search.example/","ts":1781524800000,
      "props":{"slot":"top","w":300,"house":false,"none":null}})");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 1U);
  const Event& e = (*parsed)[0];
  EXPECT_EQ(e.type, EventType::ad_click);
  EXPECT_EQ(e.website, "news.example");
  EXPECT_EQ(e.page, "/a");
  EXPECT_EQ(e.ad_id, "42");  // an integer id is kept as its digits
  EXPECT_EQ(e.user_id, "u-1");
  EXPECT_EQ(e.referrer, "https://search.example/");
  EXPECT_EQ(e.client_ts, 1781524800000);
  using Prop = std::pair<std::string, std::string>;
  EXPECT_EQ(e.props, (std::vector<Prop>{{"slot", "\"top\""}, {"w", "300"}, {"house", "false"}, {"none", "null"}}));
}

TEST(Events, AnArrayOfEventsAndTheOriginalSystemsTypeNames) {
  const auto parsed = parse_events(R"([{"type":"pageView","website":"w","page":"/"},
      {"type":"AdImpression","website":"w","ad_id":"a1","ts":"2026-06-15T12:00:00Z"},
      {"type":"AdClick","website":"w","ad_id":"a1","ts":"1781524800000"}])");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 3U);
  EXPECT_EQ((*parsed)[1].type, EventType::ad_impression);
  EXPECT_EQ((*parsed)[1].client_ts, parse_iso8601("2026-06-15T12:00:00Z"));
  EXPECT_EQ((*parsed)[2].client_ts, 1781524800000);
  EXPECT_EQ(to_string((*parsed)[2].type), "adClick");
}

// Each hostile event, alone and as the third of an array: refused, naming index and field.
TEST(Events, EveryBadFieldIsNamed) {
  const std::string long_page(2049, 'p');
  const std::string long_value(257, 'v');
  const std::string long_key(65, 'k');
  std::string many_props = R"({"type":"pageView","website":"w","page":"/","props":{)";
  for (int i = 0; i < 21; ++i) many_props += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  many_props += "}}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"website":"w","page":"/"})", "type"},
      {R"({"type":"purchase","website":"w"})", "type"},
      {R"({"type":7,"website":"w"})", "type"},
      {R"({"type":"pageView","page":"/"})", "website"},
      {R"({"type":"pageView","website":"","page":"/"})", "website"},
      {R"({"type":"pageView","website":["w"],"page":"/"})", "website"},
      {R"({"type":"pageView","website":")" + std::string(257, 'w') + R"(","page":"/"})", "website"},
      {R"({"type":"adClick","website":"w","ad_id":")" + std::string(129, 'a') + R"("})", "ad_id"},
      {R"({"type":"adClick","website":"w","ad_id":"a","user_id":")" + std::string(129, 'u') + R"("})", "user_id"},
      {R"({"type":"pageView","website":"w","page":"/","referrer":")" + std::string(2049, 'r') + R"("})", "referrer"},
      {R"({"type":"pageView","website":"w"})", "page"},
      {R"({"type":"pageView","website":"w","page":")" + long_page + R"("})", "page"},
      {R"({"type":"adClick","website":"w"})", "ad_id"},
      {R"({"type":"adImpression","website":"w","ad_id":1.5})", "ad_id"},
      {R"({"type":"adClick","website":"w","ad_id":"a","user_id":{}})", "user_id"},
      {R"({"type":"pageView","website":"w","page":"/","referrer":5})", "referrer"},
      {R"({"type":"pageView","website":"w","page":"/","ts":"yesterday"})", "ts"},
      {R"({"type":"pageView","website":"w","page":"/","ts":-5})", "ts"},
      {R"({"type":"pageView","website":"w","page":"/","props":[1]})", "props"},
      {R"({"type":"pageView","website":"w","page":"/","props":{"a":{"b":1}}})", "props.a"},
      {R"({"type":"pageView","website":"w","page":"/","props":{"a":")" + long_value + R"("}})", "props.a"},
      {R"({"type":"pageView","website":"w","page":"/","props":{")" + long_key + R"(":1}})", "props"},
      {many_props, "props"},
  };
  for (const auto& [event, field] : cases) {
    const auto alone = parse_events(event);
    ASSERT_FALSE(alone) << event;
    EXPECT_EQ(alone.error().index, 0U) << event;
    EXPECT_EQ(alone.error().field, field) << event;
    EXPECT_FALSE(alone.error().reason.empty());

    const std::string good = R"({"type":"pageView","website":"w","page":"/"})";
    const auto third = parse_events("[" + good + "," + good + "," + event + "]");
    ASSERT_FALSE(third) << event;  // all or nothing: the good ones are not kept either
    EXPECT_EQ(third.error().index, 2U) << event;
    EXPECT_EQ(third.error().field, field) << event;
    EXPECT_EQ(third.error().message().find("event 2: " + field + ": "), 0U) << third.error().message();
  }
}

// Each bound is inclusive: a value of exactly the bound is taken (one more is refused above).
TEST(Events, ValuesAtTheirBoundsAreTaken) {
  std::string props = "{";
  for (std::size_t i = 0; i < EventLimits::kProps; ++i) {
    props += (i ? "," : "") +
             ("\"" + std::string(EventLimits::kPropKeyBytes - 2, 'k') + std::to_string(10 + i) + "\"") + ":\"" +
             std::string(EventLimits::kPropValueBytes, 'v') + "\"";
  }
  props += "}";
  const std::string event = R"({"type":"adClick","website":")" + std::string(EventLimits::kWebsiteBytes, 'w') +
                            R"(","page":")" + std::string(EventLimits::kPageBytes, 'p') + R"(","ad_id":")" +
                            std::string(EventLimits::kAdIdBytes, 'a') + R"(","user_id":")" +
                            std::string(EventLimits::kUserIdBytes, 'u') + R"(","referrer":")" +
                            std::string(EventLimits::kReferrerBytes, 'r') + R"(","props":)" + props + "}";
  const auto parsed = parse_events(event);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ((*parsed)[0].website.size(), EventLimits::kWebsiteBytes);
  EXPECT_EQ((*parsed)[0].props.size(), EventLimits::kProps);
}

TEST(Events, BodiesThatAreNoEvents) {
  const std::string good = R"({"type":"pageView","website":"w","page":"/"})";
  std::string hundred_and_one = "[";
  for (int i = 0; i < 101; ++i) hundred_and_one += (i ? "," : "") + good;
  hundred_and_one += "]";
  std::string hundred = "[";
  for (int i = 0; i < 100; ++i) hundred += (i ? "," : "") + good;
  hundred += "]";
  ASSERT_LE(hundred.size(), EventLimits::kBodyBytes);
  EXPECT_TRUE(parse_events(hundred));
  const std::string over(EventLimits::kBodyBytes + 1, ' ');
  const std::string deep = std::string(50, '[') + std::string(50, ']');
  for (const std::string& body : {std::string(), std::string("null"), std::string("[]"), std::string("[1]"),
                                  std::string("{"), std::string("\"pageView\""), hundred_and_one, over, deep,
                                  std::string("{\"type\":\"pageView\",\"website\":\"\xff\",\"page\":\"/\"}")}) {
    const auto refused = parse_events(body);
    ASSERT_FALSE(refused) << body.substr(0, 80);
    EXPECT_FALSE(refused.error().message().empty());
  }
}

TEST(Events, APixelsParametersAreOneEvent) {
  const std::vector<std::pair<std::string, std::string>> params = {
      {"type", "adImpression"}, {"website", "w"},    {"ad_id", "a9"},          {"ts", "1781524800000"},
      {"props.slot", "side"},   {"type", "adClick"}, {"props.slot", "ignored"}};
  const auto parsed = parse_event_params(params);
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 1U);
  const Event& e = (*parsed)[0];
  EXPECT_EQ(e.type, EventType::ad_impression);  // the first occurrence wins
  EXPECT_EQ(e.client_ts, 1781524800000);
  EXPECT_EQ(e.props, (std::vector<std::pair<std::string, std::string>>{{"slot", "\"side\""}}));
  const std::vector<std::pair<std::string, std::string>> missing = {{"type", "adClick"}, {"website", "w"}};
  const auto refused = parse_event_params(missing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "ad_id");
}

}  // namespace
}  // namespace traffic::events
