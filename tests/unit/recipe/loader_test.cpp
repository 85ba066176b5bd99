#include "traffic/recipe/loader.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace traffic::recipe {
namespace {

using test::gzip;

std::vector<Offer> offers_from(std::string_view json, LoadReport& report) {
  auto offers = load_offers(json, report);
  EXPECT_TRUE(offers.has_value()) << report.error_detail;
  return offers ? std::move(*offers) : std::vector<Offer>{};
}

Offer one_offer(std::string_view fields, LoadReport& report) {
  const std::string json = std::string(R"([{"offerId":1,)") + std::string(fields) + "}]";
  auto offers = offers_from(json, report);
  EXPECT_EQ(offers.size(), 1u);
  return offers.empty() ? Offer{} : offers[0];
}

Offer one_offer(std::string_view fields) {
  LoadReport report;
  return one_offer(fields, report);
}

Campaign one_campaign(std::string_view fields, LoadReport& report) {
  const std::string json = std::string(R"([{"campaignId":5,)") + std::string(fields) + "}]";
  auto campaigns = load_campaigns(json, report);
  EXPECT_TRUE(campaigns.has_value()) << report.error_detail;
  return campaigns && !campaigns->empty() ? (*campaigns)[0] : Campaign{};
}

bool has_problem(const LoadReport& report, std::string_view field) {
  for (const auto& p : report.problems) {
    if (p.field == field) return true;
  }
  return false;
}

TEST(Loader, SampleRecipeLoadsWithExpectedCounts) {
  LoadReport offers_report;
  LoadReport campaigns_report;
  auto offers = load_offers(test::read_data("recipes/offersRecipe.json.gz"), offers_report);
  auto campaigns = load_campaigns(test::read_data("recipes/campaignsRecipe.json.gz"), campaigns_report);
  ASSERT_TRUE(offers.has_value()) << offers_report.error_detail;
  ASSERT_TRUE(campaigns.has_value()) << campaigns_report.error_detail;
  EXPECT_EQ(offers->size(), 22u);
  EXPECT_EQ(campaigns->size(), 20u);
  EXPECT_EQ(offers_report.malformed_fields, 0u);
  EXPECT_EQ(campaigns_report.malformed_fields, 0u);
  EXPECT_GT(offers_report.json_bytes, offers_report.input_bytes);  // it was gzip'd
}

TEST(Loader, SampleRecipeFieldsAreTyped) {
  LoadReport report;
  auto offers = load_offers(test::read_data("recipes/offersRecipe.json.gz"), report);
  ASSERT_TRUE(offers.has_value());
  auto find = [&](RecordId id) -> const Offer& {
    for (const auto& o : *offers) {
      if (o.id == id) return o;
    }
    throw std::runtime_error("offer missing");
  };
  const Offer& geo = find(110);
  ASSERT_TRUE(geo.geo_rules.has_value());
  ASSERT_EQ(geo.geo_rules->size(), 2u);
  EXPECT_EQ((*geo.geo_rules)[0].country.view(), "US");
  EXPECT_FALSE((*geo.geo_rules)[0].include);
  EXPECT_EQ(geo.exit_offer_id, 101);
  ASSERT_EQ(geo.countries_restrictions.size(), 2u);
  EXPECT_EQ(geo.countries_restrictions[1].view(), "CA");

  const Offer& per_geo = find(115);
  ASSERT_TRUE(per_geo.payout_per_geo.has_value());
  EXPECT_EQ((*per_geo.payout_per_geo)[0].payin, Money::parse("5"));
  EXPECT_EQ((*per_geo.payout_per_geo)[0].payout, Money::parse("4"));
  EXPECT_EQ(per_geo.payin, Money::parse("2"));

  const Offer& capped = find(113);
  ASSERT_NE(capped.cap_info, nullptr);
  EXPECT_EQ(capped.cap_info->clicks.day.current, 1200);
  EXPECT_EQ(capped.cap_info->clicks.day.limit, 1000);
  EXPECT_EQ(capped.cap_info->clicks_over_limit, true);
  EXPECT_EQ(capped.cap_info->offer_caps_offer_id_redirect, 101);
  EXPECT_EQ(capped.redirect_type, "capsOffersClicksOverLimit");

  const Offer& dated = find(112);
  EXPECT_TRUE(dated.use_start_end_date);
  EXPECT_EQ(dated.start_date, parse_iso8601("2020-01-01T00:00:00Z"));
  ASSERT_TRUE(dated.start_end_date_setting.has_value());
  EXPECT_EQ(dated.start_end_date_setting->date_range_pass, true);

  const Offer& aggregated = find(200);
  EXPECT_EQ(aggregated.type, OfferType::aggregated);
  ASSERT_EQ(aggregated.aggregated_children.size(), 2u);
  EXPECT_EQ(aggregated.aggregated_children[0].offer_id, 130);
  EXPECT_EQ(aggregated.aggregated_children[1].margin, Money::parse("0.5"));

  const Offer& chained = find(141);
  EXPECT_EQ(chained.exit_offers_nested, std::vector<RecordId>{142});
  EXPECT_EQ(chained.exit_offer_detected, 142);

  EXPECT_EQ(find(300).status, OfferStatus::inactive);
  EXPECT_NE(find(36303).extras.find("sflOfferGeoId"), std::string::npos);  // unknown keys kept
}

TEST(Loader, MoneyInEveryShape) {
  EXPECT_EQ(one_offer(R"("payin":2.5)").payin, Money::parse("2.5"));
  EXPECT_EQ(one_offer(R"("payin":"4.00000000")").payin, Money::parse("4"));
  EXPECT_EQ(one_offer(R"("payin":3)").payin, Money::parse("3"));
  EXPECT_EQ(one_offer(R"("payin":null)").payin, Money());
  EXPECT_EQ(one_offer(R"("payin":"")").payin, Money());
  LoadReport report;
  EXPECT_EQ(one_offer(R"("payin":"abc")", report).payin, Money());
  EXPECT_TRUE(has_problem(report, "payin"));
  LoadReport campaign_report;
  EXPECT_EQ(one_campaign(R"("payout":"0.80000000")", campaign_report).payout, Money::parse("0.8"));
  EXPECT_FALSE(one_campaign(R"("payout":null)", campaign_report).payout.has_value());
  EXPECT_EQ(campaign_report.malformed_fields, 0u);
}

TEST(Loader, BooleansInEveryShape) {
  EXPECT_TRUE(one_offer(R"("useStartEndDate":1)").use_start_end_date);
  EXPECT_TRUE(one_offer(R"("useStartEndDate":true)").use_start_end_date);
  EXPECT_TRUE(one_offer(R"("useStartEndDate":"1")").use_start_end_date);
  EXPECT_FALSE(one_offer(R"("useStartEndDate":0)").use_start_end_date);
  EXPECT_FALSE(one_offer(R"("useStartEndDate":null)").use_start_end_date);
  EXPECT_EQ(one_offer(R"("capsEnabled":null)").caps_enabled, std::nullopt);
  EXPECT_EQ(one_offer(R"("capsEnabled":false)").caps_enabled, false);
  LoadReport report;
  one_offer(R"("capsEnabled":7)", report);
  EXPECT_TRUE(has_problem(report, "capsEnabled"));
}

TEST(Loader, IdsMayBeNumbersOrDigitStrings) {
  EXPECT_EQ(one_offer(R"("offerIdRedirectExitTraffic":"101")").exit_offer_id, 101);
  EXPECT_EQ(one_offer(R"("offerIdRedirectExitTraffic":101.0)").exit_offer_id, 101);
  EXPECT_EQ(one_offer(R"("offerIdRedirectExitTraffic":null)").exit_offer_id, 0);
  LoadReport report;
  auto offers = offers_from(
      R"([{"offerId":"42"},{"offerId":0},{"offerId":-3},{"offerId":"x"},{"name":"no id"},7,"s",null,[]])", report);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].id, 42);
  EXPECT_EQ(report.elements, 9u);
  EXPECT_EQ(report.skipped_bad_id, 4u);
  EXPECT_EQ(report.skipped_not_object, 4u);
}

TEST(Loader, DatesInEveryShape) {
  EXPECT_EQ(one_offer(R"("startDate":"2020-01-01T00:00:00.000Z")").start_date, 1577836800000);
  EXPECT_EQ(one_offer(R"("startDate":"2020-01-01 00:00:00")").start_date, 1577836800000);
  EXPECT_EQ(one_offer(R"("startDate":null)").start_date, std::nullopt);
  LoadReport report;
  EXPECT_EQ(one_offer(R"("startDate":"next tuesday")", report).start_date, std::nullopt);
  EXPECT_TRUE(has_problem(report, "startDate"));
}

TEST(Loader, JsonInsideStringsOrAsValues) {
  auto as_string = one_offer(R"("geoRules":"{\"geo\":[{\"country\":\"us\",\"include\":true}]}")");
  auto as_value = one_offer(R"("geoRules":{"geo":[{"country":"US","include":1}]})");
  for (const Offer* o : {&as_string, &as_value}) {
    ASSERT_TRUE(o->geo_rules.has_value());
    ASSERT_EQ(o->geo_rules->size(), 1u);
    EXPECT_EQ((*o->geo_rules)[0].country.view(), "US");
    EXPECT_TRUE((*o->geo_rules)[0].include);
  }
  auto lp = one_offer(
      R"("customLpRules":"{\"customLPRules\":[{\"id\":3,\"pos\":1,\"country\":\"CA\",\"lpName\":\"n\",\"lpUrl\":\"https://ca.example.com/\"}]}")");
  ASSERT_TRUE(lp.custom_lp_rules.has_value());
  EXPECT_EQ((*lp.custom_lp_rules)[0].lp_url, "https://ca.example.com/");
  EXPECT_EQ((*lp.custom_lp_rules)[0].country.view(), "CA");
  auto pay =
      one_offer(R"("customPayOutPerGeo":"[{\"offerId\":1,\"geo\":\"US\",\"payIn\":\"3.00\",\"payOut\":\"2.00\"}]")");
  ASSERT_TRUE(pay.payout_per_geo.has_value());
  EXPECT_EQ((*pay.payout_per_geo)[0].payout, Money::parse("2"));
}

TEST(Loader, MalformedRuleFieldDisablesOnlyThatRule) {
  LoadReport report;
  auto offer = one_offer(R"("name":"kept","geoRules":"{\"geo\":[{\"country\":\"USA\"}]}",
                            "customLpRules":"{not json","customPayOutPerGeo":"[{\"geo\":\"US\",\"payIn\":\"x\"}]",
                            "capInfo":{"clicks":7},"payin":"1.5")",
                         report);
  EXPECT_FALSE(offer.geo_rules.has_value());
  EXPECT_FALSE(offer.custom_lp_rules.has_value());
  EXPECT_FALSE(offer.payout_per_geo.has_value());
  EXPECT_EQ(offer.cap_info, nullptr);
  EXPECT_EQ(offer.name, "kept");
  EXPECT_EQ(offer.payin, Money::parse("1.5"));
  EXPECT_TRUE(has_problem(report, "geoRules"));
  EXPECT_TRUE(has_problem(report, "customLpRules"));
  EXPECT_TRUE(has_problem(report, "customPayOutPerGeo.payIn"));
  EXPECT_TRUE(has_problem(report, "capInfo"));
  for (const auto& p : report.problems) EXPECT_EQ(p.id, 1);
}

TEST(Loader, GeoRuleWithoutIncludeIsABlockEntry) {
  auto offer = one_offer(R"("geoRules":{"geo":[{"country":"US"}]})");
  ASSERT_TRUE(offer.geo_rules.has_value());
  EXPECT_FALSE((*offer.geo_rules)[0].include);
}

TEST(Loader, CountryListsSkipBadTokens) {
  LoadReport report;
  auto offer = one_offer(R"("countriesRestrictions":"US, ca,,XYZ,1")", report);
  ASSERT_EQ(offer.countries_restrictions.size(), 2u);
  EXPECT_EQ(offer.countries_restrictions[1].view(), "CA");
  EXPECT_EQ(report.malformed_fields, 2u);
}

TEST(Loader, CampaignFields) {
  LoadReport report;
  auto c = one_campaign(R"("offerId":100,"affiliateId":"7","affiliateStatus":"blacklisted","campaignStatus":"pending",
                           "name":"Pub","affiliateType":"Marketer","affiliateManagerId":3,"capsEnabled":1,
                           "capInfo":{"clicks":{"day":{"current":600,"limit":500}},"campaignCapsOfferIdRedirect":"101"})",
                        report);
  EXPECT_EQ(c.offer_id, 100);
  EXPECT_EQ(c.affiliate_id, 7);
  EXPECT_EQ(c.affiliate_status, AffiliateStatus::blacklisted);
  EXPECT_EQ(c.campaign_status, CampaignStatus::pending);
  ASSERT_NE(c.cap_info, nullptr);
  EXPECT_EQ(c.cap_info->clicks.day.limit, 500);
  EXPECT_EQ(c.cap_info->sales.day.limit, 0);
  EXPECT_EQ(c.cap_info->campaign_caps_offer_id_redirect, 101);
  EXPECT_EQ(report.malformed_fields, 0u);
  LoadReport bad;
  auto unknown = one_campaign(R"("campaignStatus":"frozen")", bad);
  EXPECT_EQ(unknown.campaign_status, CampaignStatus::other);
  EXPECT_TRUE(has_problem(bad, "campaignStatus"));
}

TEST(Loader, CampaignTargetRules) {
  LoadReport report;
  auto c = one_campaign(
      R"("targetRules":[{"conditions":[{"field":"country","op":"in","values":["US","ca"]},
                                       {"field":"device","op":"not_in","values":["Desktop"]}],"offerId":"105"},
                        {"conditions":[{"field":"os","values":["iOS"]}],"lpUrl":"https://ios.example.com/"}])",
      report);
  EXPECT_EQ(report.malformed_fields, 0u);
  ASSERT_EQ(c.target_rules.size(), 2u);
  const TargetRule& first = c.target_rules[0];
  ASSERT_EQ(first.conditions.size(), 2u);
  EXPECT_EQ(first.conditions[0].dimension, TargetDimension::country);
  EXPECT_FALSE(first.conditions[0].negate);
  EXPECT_EQ(first.conditions[0].values, (std::vector<std::string>{"us", "ca"}));
  EXPECT_EQ(first.conditions[1].dimension, TargetDimension::device);
  EXPECT_TRUE(first.conditions[1].negate);
  EXPECT_EQ(first.offer_id, 105);
  EXPECT_EQ(c.target_rules[1].conditions[0].negate, false);  // op defaults to "in"
  EXPECT_EQ(c.target_rules[1].lp_url, "https://ios.example.com/");

  // Also as JSON inside a string, like the other rule fields.
  LoadReport embedded;
  auto e = one_campaign(
      R"("targetRules":"[{\"conditions\":[{\"field\":\"isp\",\"values\":[\"Telstra\"]}],\"offerId\":9}]")", embedded);
  ASSERT_EQ(e.target_rules.size(), 1u);
  EXPECT_EQ(e.target_rules[0].conditions[0].values[0], "telstra");
}

TEST(Loader, MalformedTargetRulesDisableTheWholeField) {
  for (const char* bad : {
           R"("targetRules":{"conditions":[]})",
           R"("targetRules":[{"conditions":[],"offerId":1}])",
           R"("targetRules":[{"conditions":[{"field":"planet","values":["x"]}],"offerId":1}])",
           R"("targetRules":[{"conditions":[{"field":"os","op":"like","values":["x"]}],"offerId":1}])",
           R"("targetRules":[{"conditions":[{"field":"os","values":[1]}],"offerId":1}])",
           R"("targetRules":[{"conditions":[{"field":"os","values":["x"]}]}])",
           R"("targetRules":[{"conditions":[{"field":"os","values":["x"]}],"offerId":1},"junk"])",
       }) {
    LoadReport report;
    auto c = one_campaign(bad, report);
    EXPECT_TRUE(c.target_rules.empty()) << bad;
    EXPECT_TRUE(has_problem(report, "targetRules")) << bad;
  }
}

TEST(Loader, DuplicateIdsLaterWins) {
  LoadReport report;
  auto offers = offers_from(R"([{"offerId":1,"name":"a"},{"offerId":2},{"offerId":1,"name":"b"}])", report);
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].name, "b");
  EXPECT_EQ(report.duplicate_ids, 1u);
}

TEST(Loader, PlainAndGzipGiveTheSameRecords) {
  const std::string json = R"([{"offerId":1,"name":"x","payin":"1.5"}])";
  LoadReport plain_report;
  LoadReport gzip_report;
  auto plain = load_offers(json, plain_report);
  auto zipped = load_offers(gzip(json), gzip_report);
  ASSERT_TRUE(plain && zipped);
  EXPECT_EQ((*plain)[0].name, (*zipped)[0].name);
  EXPECT_EQ((*plain)[0].payin, (*zipped)[0].payin);
  // Concatenated gzip members are one stream.
  LoadReport concat_report;
  auto concatenated = load_offers(gzip("[{\"offerId\":1},") + gzip("{\"offerId\":2}]"), concat_report);
  ASSERT_TRUE(concatenated.has_value()) << concat_report.error_detail;
  EXPECT_EQ(concatenated->size(), 2u);
}

// Gzip'd input is parsed from a 4 MiB window; these inputs are large enough for elements
// (and bare numbers, which could be cut between digits) to straddle its edges, and one
// element is larger than the window itself.
TEST(Loader, GzipWindowBoundariesDoNotChangeTheResult) {
  std::string json = "[";
  for (int i = 1; i <= 60000; ++i) {
    json += (i > 1 ? ",\n" : "") + std::string(R"({"offerId":)") + std::to_string(i) + R"(,"name":")" +
            std::string(static_cast<std::size_t>(i % 97), 'n') + R"(","payin":")" + std::to_string(i % 13) + R"(.25"})";
    if (i % 7 == 0) json += "," + std::to_string(1234567890123LL + i);  // bare numbers, skipped
  }
  json += R"(,{"offerId":60001,"name":")" + std::string(9'000'000, 'x') + R"("}])";
  LoadReport plain_report;
  LoadReport gzip_report;
  auto plain = load_offers(json, plain_report);
  auto zipped = load_offers(gzip(json), gzip_report);
  ASSERT_TRUE(plain.has_value()) << plain_report.error_detail;
  ASSERT_TRUE(zipped.has_value()) << gzip_report.error_detail;
  EXPECT_GT(gzip_report.json_bytes, 3 * (std::size_t{4} << 20));
  EXPECT_EQ(gzip_report.json_bytes, json.size());
  EXPECT_EQ(gzip_report.elements, plain_report.elements);
  EXPECT_EQ(gzip_report.skipped_not_object, 60000u / 7);
  ASSERT_EQ(zipped->size(), 60001u);
  for (std::size_t i = 0; i < zipped->size(); ++i) {
    ASSERT_EQ((*zipped)[i].id, (*plain)[i].id);
    ASSERT_EQ((*zipped)[i].name, (*plain)[i].name);
    ASSERT_EQ((*zipped)[i].payin, (*plain)[i].payin);
  }
  EXPECT_EQ(zipped->back().name.size(), 9'000'000u);
  // The same text cut at every tenth of its length is refused, never misread.
  const std::string zipped_bytes = gzip(json);
  for (int tenth = 1; tenth < 10; ++tenth) {
    LoadReport report;
    auto cut = load_offers(
        std::string_view(zipped_bytes).substr(0, zipped_bytes.size() * static_cast<std::size_t>(tenth) / 10), report);
    EXPECT_FALSE(cut.has_value()) << tenth;
  }
}

struct BadFile {
  const char* name;
  std::string bytes;
  LoadError expected;
};

TEST(Loader, HostileFilesAreRefusedWithClearErrors) {
  const std::string good = gzip(R"([{"offerId":1}])");
  std::string truncated = gzip(std::string(5000, ' ') + R"([{"offerId":1}])");
  truncated.resize(truncated.size() / 2);
  std::string corrupt = good;
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0x55);
  corrupt[13] = static_cast<char>(corrupt[13] ^ 0x55);
  const std::vector<BadFile> cases = {
      {"empty input", "", LoadError::invalid_json},
      {"whitespace", "  \n ", LoadError::invalid_json},
      {"truncated gzip", truncated, LoadError::truncated_gzip},
      {"gzip magic only", "\x1f\x8b", LoadError::truncated_gzip},
      {"corrupt gzip", corrupt, LoadError::invalid_gzip},
      {"garbage after gzip", good + "garbage", LoadError::invalid_gzip},
      {"invalid JSON", R"([{"offerId":1,}])", LoadError::invalid_json},
      {"unterminated array", R"([{"offerId":1})", LoadError::invalid_json},
      {"unterminated string", R"([{"offerId":1,"name":"abc)", LoadError::invalid_json},
      {"missing comma", R"([{"offerId":1} {"offerId":2}])", LoadError::invalid_json},
      {"trailing text", R"([{"offerId":1}] x)", LoadError::invalid_json},
      {"object at top", R"({"offerId":1})", LoadError::not_an_array},
      {"number at top", "42", LoadError::not_an_array},
      {"deep nesting", "[" + std::string(10000, '[') + std::string(10000, ']') + "]", LoadError::too_deep},
      {"deep object", R"([{"offerId":1,"x":)" + std::string(100, '[') + std::string(100, ']') + "}]",
       LoadError::too_deep},
      {"binary", std::string("\x00\x01\x02\xff", 4), LoadError::invalid_json},
  };
  for (const auto& c : cases) {
    LoadReport report;
    auto result = load_offers(c.bytes, report);
    ASSERT_FALSE(result.has_value()) << c.name;
    EXPECT_EQ(result.error(), make_error_code(c.expected)) << c.name << ": " << result.error().message();
    EXPECT_FALSE(report.error_detail.empty()) << c.name;
  }
}

TEST(Loader, SizeLimitStopsAGzipBomb) {
  const std::string bomb = gzip("[" + std::string(50'000'000, ' ') + "]");
  ASSERT_LT(bomb.size(), 100'000u);
  LoadReport report;
  LoadLimits limits;
  limits.max_json_bytes = 1'000'000;
  auto result = load_offers(bomb, report, limits);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), make_error_code(LoadError::too_large));
  // Plain JSON is held to the same limit.
  LoadReport plain_report;
  auto plain = load_offers("[" + std::string(2'000'000, ' ') + "]", plain_report, limits);
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error(), make_error_code(LoadError::too_large));
  EXPECT_NE(plain_report.error_detail.find("exceeds"), std::string::npos);
}

TEST(Loader, HugeStringsAndWrongTypesDoNotFailTheFile) {
  const std::string huge(5'000'000, 'x');
  LoadReport report;
  auto offer = one_offer(R"("name":")" + huge + R"(","payin":[1],"status":{},"capInfo":"[[[","offersAggregatedIds":"x",
                          "exitOffersNested":7,"landingPageUrl":true)",
                         report);
  EXPECT_EQ(offer.name.size(), huge.size());
  EXPECT_EQ(offer.payin, Money());
  EXPECT_TRUE(offer.aggregated_children.empty());
  EXPECT_GE(report.malformed_fields, 5u);
}

TEST(Loader, ProblemListIsBounded) {
  std::string json = "[";
  for (int i = 1; i <= 1000; ++i)
    json += (i > 1 ? "," : "") + std::string(R"({"offerId":)") + std::to_string(i) + R"(,"payin":"x"})";
  json += "]";
  LoadReport report;
  auto offers = load_offers(json, report);
  ASSERT_TRUE(offers.has_value());
  EXPECT_EQ(offers->size(), 1000u);
  EXPECT_EQ(report.malformed_fields, 1000u);
  EXPECT_EQ(report.problems.size(), LoadReport::kMaxProblemsKept);
}

TEST(Update, ParsesUpsertAndDelete) {
  LoadReport report;
  auto upsert = parse_update(
      R"({"type":"offer","id":7,"action":"updateOrCreate","body":"{\"offerId\":7,\"name\":\"new\"}","timestamp":1700000000000,"comments":"edit"})",
      report);
  ASSERT_TRUE(upsert.has_value()) << report.error_detail;
  EXPECT_EQ(upsert->kind, RecordKind::offer);
  EXPECT_EQ(upsert->offer->name, "new");
  EXPECT_EQ(upsert->timestamp, 1700000000000);
  auto remove =
      parse_update(R"({"type":"campaign","id":"9","action":"delete","timestamp":"2023-11-14T22:13:20Z"})", report);
  ASSERT_TRUE(remove.has_value()) << report.error_detail;
  EXPECT_EQ(remove->action, UpdateAction::remove);
  EXPECT_EQ(remove->id, 9);
  EXPECT_EQ(remove->timestamp, 1700000000000);
  auto object_body = parse_update(
      R"({"type":"campaign","id":9,"action":"updateOrCreate","body":{"campaignId":9,"offerId":1},"timestamp":1})",
      report);
  ASSERT_TRUE(object_body.has_value());
  EXPECT_EQ(object_body->campaign->offer_id, 1);
}

TEST(Update, RefusesMalformedMessages) {
  for (const char* bad : {
           "",
           "[]",
           "not json",
           R"({"type":"offer"})",
           R"({"type":"user","id":1,"action":"delete","timestamp":1})",
           R"({"type":"offer","id":0,"action":"delete","timestamp":1})",
           R"({"type":"offer","id":1,"action":"merge","timestamp":1})",
           R"({"type":"offer","id":1,"action":"delete"})",
           R"({"type":"offer","id":1,"action":"updateOrCreate","timestamp":1})",
           R"({"type":"offer","id":1,"action":"updateOrCreate","timestamp":1,"body":"{broken"})",
           R"({"type":"offer","id":1,"action":"updateOrCreate","timestamp":1,"body":"{\"offerId\":2}"})",
       }) {
    LoadReport report;
    auto update = parse_update(bad, report);
    ASSERT_FALSE(update.has_value()) << bad;
    EXPECT_EQ(update.error(), make_error_code(LoadError::invalid_update));
    EXPECT_FALSE(report.error_detail.empty());
  }
}

}  // namespace
}  // namespace traffic::recipe
