// One JSON object → one typed record (recipe/record_parser.hpp, private to the component):
// the producer's loose shapes read, malformed fields reported by name and their rule left
// disabled, the record kept.

#include "recipe/record_parser.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace traffic::recipe::detail {
namespace {

namespace json = boost::json;
constexpr std::size_t kDepth = 64;

json::object object(std::string_view text) {
  return json::parse(text).as_object();
}

TEST(RecordParser, AnOfferInTheProducersLooseShapes) {
  LoadReport report;
  FieldSink sink(report, RecordKind::offer);
  // Ids and money as strings or numbers, booleans as 0/1, embedded JSON inside a string.
  const auto offer = parse_offer(object(R"({"offerId":"117","name":"Offer 117","status":"public","payin":"2.50",
      "payout":1.2,"useStartEndDate":1,"startDate":"2026-06-01T00:00:00Z","landingPageUrl":"lp.example.com/{lid}",
      "geoRules":"{\"geo\":[{\"country\":\"US\",\"include\":true}]}","offerIdRedirectExitTraffic":101})"),
                                 sink, kDepth);
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->id, 117);
  EXPECT_EQ(offer->name, "Offer 117");
  EXPECT_EQ(offer->status, OfferStatus::public_);
  EXPECT_EQ(offer->payin, *Money::parse("2.5"));
  EXPECT_EQ(offer->payout, *Money::parse("1.2"));
  EXPECT_TRUE(offer->use_start_end_date);
  EXPECT_EQ(offer->start_date, parse_iso8601("2026-06-01T00:00:00Z"));
  EXPECT_EQ(offer->landing_page_url, "lp.example.com/{lid}");
  EXPECT_EQ(offer->exit_offer_id, 101);
  ASSERT_TRUE(offer->geo_rules.has_value());
  ASSERT_EQ(offer->geo_rules->size(), 1U);
  EXPECT_EQ((*offer->geo_rules)[0].country, *CountryCode::parse("US"));
  EXPECT_EQ(report.malformed_fields, 0U) << (report.problems.empty() ? "" : report.problems[0].field);
}

TEST(RecordParser, AMalformedFieldIsReportedByNameAndTheRecordKept) {
  LoadReport report;
  FieldSink sink(report, RecordKind::offer);
  const auto offer = parse_offer(
      object(R"({"offerId":5,"payout":"a lot","startDate":"yesterday","geoRules":"[not json"})"), sink, kDepth);
  ASSERT_TRUE(offer);  // one bad field does not lose the offer
  EXPECT_EQ(offer->id, 5);
  EXPECT_FALSE(offer->start_date.has_value());
  EXPECT_FALSE(offer->geo_rules.has_value());  // the rule is disabled, not half-read
  EXPECT_EQ(report.malformed_fields, 3U);
  std::vector<std::string> fields;
  for (const Problem& problem : report.problems) {
    EXPECT_EQ(problem.id, 5);
    EXPECT_FALSE(problem.reason.empty());
    fields.push_back(problem.field);
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"payout", "startDate", "geoRules"}));
}

TEST(RecordParser, NoPositiveIdIsNoRecord) {
  for (const std::string_view text : {R"({})", R"({"offerId":0})", R"({"offerId":-3})", R"({"offerId":"x"})",
                                      R"({"offerId":1.5})", R"({"offerId":null})"}) {
    LoadReport report;
    FieldSink sink(report, RecordKind::offer);
    EXPECT_FALSE(parse_offer(object(text), sink, kDepth)) << text;
  }
}

TEST(RecordParser, ACampaignWithItsPayoutOverrideAndCap) {
  LoadReport report;
  FieldSink sink(report, RecordKind::campaign);
  const auto campaign = parse_campaign(object(R"({"campaignId":20,"offerId":"117","affiliateId":7,
      "affiliateStatus":"active","campaignStatus":"active","payout":"0.90","capsEnabled":"1",
      "capInfo":{"clicks":{"day":{"current":3,"limit":10}}}})"),
                                       sink, kDepth);
  ASSERT_TRUE(campaign);
  EXPECT_EQ(campaign->id, 20);
  EXPECT_EQ(campaign->offer_id, 117);
  EXPECT_EQ(campaign->affiliate_status, AffiliateStatus::active);
  EXPECT_EQ(campaign->payout, Money::parse("0.9"));
  EXPECT_EQ(campaign->caps_enabled, true);
  ASSERT_NE(campaign->cap_info, nullptr);
  EXPECT_EQ(campaign->cap_info->clicks.day.current, 3);
  EXPECT_EQ(campaign->cap_info->clicks.day.limit, 10);
  EXPECT_EQ(report.malformed_fields, 0U) << (report.problems.empty() ? "" : report.problems[0].field);
}

}  // namespace
}  // namespace traffic::recipe::detail
