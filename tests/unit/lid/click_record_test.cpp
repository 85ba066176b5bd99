#include "traffic/lid/click_record.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace traffic::lid {
namespace {

namespace json = boost::json;

struct Sample {
  recipe::Offer offer;
  recipe::Offer origin;
  recipe::Campaign campaign;
  rules::Decision decision;
  rules::Context context;
  device::DeviceInfo device;
  ClickFacts facts;

  Sample() {
    offer.id = 140;
    offer.name = "Exit \"offer\"";
    offer.description = "line\nbreak";
    offer.advertiser_id = 7;
    offer.vertical_id = 4;
    offer.vertical_name = "Sweepstakes";
    offer.conversion_type = "cpa";
    offer.landing_page_id = 901;
    offer.type = recipe::OfferType::regular;
    origin.id = 100;
    origin.landing_page_id = 800;
    origin.landing_page_url = "https://lp.example.com/{lid}";
    origin.conversion_type = "cpl";
    origin.is_cpm_option_enabled = true;
    campaign.id = 10;
    campaign.affiliate_id = 55;
    campaign.affiliate_type = "network";
    campaign.affiliate_manager_id = 3;
    decision.outcome = rules::Outcome::redirect;
    decision.offer = &offer;
    decision.origin_offer = &origin;
    decision.campaign = &campaign;
    decision.origin_campaign = &campaign;
    decision.payin = *Money::parse("9.5");
    decision.payout = *Money::parse("8.25");
    decision.redirect_type = "offerOverLimitClicks";
    decision.redirect_reason.assign("caps: ", "clicks per day");
    decision.exit_steps.push(100);
    decision.exit_steps.push(140);
    decision.recipe_version = 12;
    decision.cap_override_offer_id = 140;
    context.country = *CountryCode::parse("US");
    context.region = "WA";
    context.city = "Milton";
    context.device = "desktop";
    context.os = "Linux";
    context.browser = "Chrome";
    device.browser_major = "94";
    device.browser_minor = "0";
    facts.lid = "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10";
    facts.landing_page = "https://lp.example.com/x?lid=4c9c54a6";
    facts.sub_campaign = "sub";
    facts.domain = "t.example.com";
    facts.ad_path = "/pl?o=abc&subid=sub";
    facts.ip = "216.160.83.56";
    facts.user_agent = "Mozilla/5.0 \"quoted\" \x01 caf\xC3\xA9 \xFF\xFE bad";
    facts.date_added = 1700000000123;
    facts.decision_ns = 4200;
  }
  json::object record() const {
    std::string out;
    append_click_record(out, decision, context, device, facts);
    EXPECT_EQ(out.back(), '\n');
    EXPECT_EQ(out.find('\n'), out.size() - 1);  // one line
    return json::parse(out).as_object();
  }
};

TEST(ClickRecord, EveryFieldOfTheSpecInOneJsonLine) {
  const json::object r = Sample().record();
  for (const char* field : {"lid",
                            "affiliate_id",
                            "affiliate_type",
                            "campaign_id",
                            "sub_campaign",
                            "cid",
                            "domain",
                            "offer_id",
                            "offer_name",
                            "offer_type",
                            "offer_description",
                            "landing_page",
                            "landing_page_id",
                            "payin",
                            "payout",
                            "geo",
                            "cap_override_offer_id",
                            "is_cpm_option_enabled",
                            "landing_page_id_origin",
                            "landing_page_url_origin",
                            "advertiser_id",
                            "advertiser_manager_id",
                            "affiliate_manager_id",
                            "origin_advertiser_id",
                            "origin_conversion_type",
                            "origin_is_cpm_option_enabled",
                            "origin_offer_id",
                            "origin_vertical_id",
                            "verticals",
                            "vertical_name",
                            "conversion_type",
                            "platform",
                            "payout_percent",
                            "device",
                            "os",
                            "isp",
                            "referer",
                            "date_added",
                            "click",
                            "event_type",
                            "event",
                            "fingerprint",
                            "is_unique_visit",
                            "ad_path",
                            "ad_domain",
                            "ip",
                            "user_agent",
                            "browser",
                            "browser_version",
                            "region",
                            "city",
                            "redirect_type",
                            "redirect_reason",
                            "caps_type",
                            "nested_exit_offer_steps",
                            "origin_campaign_id",
                            "origin_affiliate_id",
                            "recipe_version",
                            "is_bot",
                            "link_mismatch",
                            "decision_ns"}) {
    EXPECT_TRUE(r.contains(field)) << field;
  }
  EXPECT_EQ(r.size(), 61u);
}

TEST(ClickRecord, ValuesAreTheDecisionsAndTheRequests) {
  const json::object r = Sample().record();
  EXPECT_EQ(r.at("offer_id").as_int64(), 140);
  EXPECT_EQ(r.at("origin_offer_id").as_int64(), 100);
  EXPECT_EQ(r.at("offer_name").as_string(), "Exit \"offer\"");
  EXPECT_EQ(r.at("offer_description").as_string(), "line\nbreak");
  EXPECT_EQ(r.at("landing_page_url_origin").as_string(), "https://lp.example.com/{lid}");
  EXPECT_EQ(r.at("origin_conversion_type").as_string(), "cpl");
  EXPECT_TRUE(r.at("origin_is_cpm_option_enabled").as_bool());
  EXPECT_EQ(r.at("geo").as_string(), "US");
  EXPECT_EQ(r.at("nested_exit_offer_steps").as_string(), "100,140");
  EXPECT_EQ(r.at("redirect_reason").as_string(), "caps: clicks per day");
  EXPECT_EQ(r.at("browser_version").as_string(), "94.0");
  EXPECT_EQ(r.at("click").as_int64(), 1);
  EXPECT_EQ(r.at("event").as_string(), "traffic-api");
  EXPECT_EQ(r.at("date_added").as_int64(), 1700000000123);
  EXPECT_TRUE(r.at("payout_percent").is_null());
}

TEST(ClickRecord, MoneyIsPrintedExactly) {
  Sample sample;
  std::string out;
  append_click_record(out, sample.decision, sample.context, sample.device, sample.facts);
  EXPECT_NE(out.find("\"payin\":9.5,"), std::string::npos);
  EXPECT_NE(out.find("\"payout\":8.25,"), std::string::npos);
}

TEST(ClickRecord, HostileTextStaysValidJson) {
  const json::object r = Sample().record();
  EXPECT_EQ(r.at("user_agent").as_string(), "Mozilla/5.0 \"quoted\" \x01 caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD bad");
}

// Fields far larger than the first reservation, at the worst escape ratio, after other
// records in the same buffer (a spool batch): the buffer grows field by field, and each
// value is cut to its bound first.
TEST(ClickRecord, HugeHostileFieldsGrowTheBufferAndStayValid) {
  Sample sample;
  const std::string controls(100'000, '\x01');  // each becomes \u0001: six bytes
  std::string invalid(50'000, '\xFF');
  sample.facts.user_agent = controls;
  sample.facts.referer = invalid;
  std::string out = "earlier record\n";
  append_click_record(out, sample.decision, sample.context, sample.device, sample.facts);
  append_click_record(out, sample.decision, sample.context, sample.device, sample.facts);
  ASSERT_TRUE(out.starts_with("earlier record\n{"));
  const std::string_view rest = std::string_view(out).substr(15);
  const auto newline = rest.find('\n');
  ASSERT_EQ(newline + 1 + newline + 1, rest.size());  // two equal lines, each ending in \n
  const json::object r = json::parse(rest.substr(0, newline)).as_object();
  const std::size_t ua_bound = kBoundedFieldBytes[static_cast<std::size_t>(BoundedField::user_agent)];
  const std::size_t referer_bound = kBoundedFieldBytes[static_cast<std::size_t>(BoundedField::referer)];
  EXPECT_EQ(r.at("user_agent").as_string(), controls.substr(0, ua_bound));
  EXPECT_EQ(r.at("referer").as_string().size(), referer_bound * 3);  // U+FFFD is three bytes of UTF-8
}

// Every value a visitor controls is cut at its bound, never inside a UTF-8 character, and
// the cut is reported for the metric; values within their bounds are kept whole.
TEST(ClickRecord, VisitorValuesAreCutToTheirBoundsAndReported) {
  Sample sample;
  std::string long_values[kBoundedFields];
  for (std::size_t f = 0; f < kBoundedFields; ++f) {
    // "é" (two bytes) after an odd prefix: the bound falls inside a character.
    long_values[f] = "x" + std::string(kBoundedFieldBytes[f] + 100, 'a');
    for (std::size_t i = 1; i + 1 < long_values[f].size(); i += 2) long_values[f].replace(i, 2, "\xC3\xA9");
  }
  sample.facts.sub_campaign = long_values[0];
  sample.facts.cid = long_values[1];
  sample.facts.domain = long_values[2];
  sample.facts.referer = long_values[3];
  sample.facts.ad_path = long_values[4];
  sample.facts.user_agent = long_values[5];
  sample.facts.landing_page = long_values[6];
  sample.facts.ad_domain = long_values[7];
  std::string out;
  const TruncatedFields cut = append_click_record(out, sample.decision, sample.context, sample.device, sample.facts);
  EXPECT_EQ(cut, (1U << kBoundedFields) - 1);
  const json::object r = json::parse(out).as_object();
  for (std::size_t f = 0; f < kBoundedFields; ++f) {
    const std::string_view name = to_string(static_cast<BoundedField>(f));
    const std::string_view value = r.at(name).as_string();
    SCOPED_TRACE(std::string(name));
    // Odd bounds end on a whole "é"; even ones lose the split one (one byte short).
    EXPECT_EQ(value.size(), kBoundedFieldBytes[f] - (kBoundedFieldBytes[f] % 2 == 0 ? 1 : 0));
    EXPECT_EQ(value, std::string_view(long_values[f]).substr(0, value.size()));
    EXPECT_EQ(value.find("\xEF\xBF\xBD"), std::string_view::npos);  // no replacement character: nothing split
  }

  Sample within;
  out.clear();
  EXPECT_EQ(append_click_record(out, within.decision, within.context, within.device, within.facts), 0);
  EXPECT_EQ(json::parse(out).as_object().at("sub_campaign").as_string(), "sub");
}

}  // namespace
}  // namespace traffic::lid
