// Table tests per rule of SPEC.md §7, on records built in the test.

#include <gtest/gtest.h>

#include <deque>
#include <memory>

#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/rules/explain.hpp"
#include "traffic/testing/fake_clock.hpp"
#include "traffic/testing/fake_counters.hpp"
#include "traffic/testing/fake_random.hpp"

namespace traffic::rules {
namespace {

using recipe::Campaign;
using recipe::CapInfo;
using recipe::Offer;
using recipe::RecordId;

constexpr RecordId kDefaultOffer = 36303;
constexpr RecordId kDefaultCampaign = 1000976;

Money money(std::string_view text) {
  return *Money::parse(text);
}
CountryCode cc(std::string_view text) {
  return *CountryCode::parse(text);
}
TimestampMs at(std::string_view text) {
  return *parse_iso8601(text);
}

std::shared_ptr<const CapInfo> clicks_cap(std::int64_t current, std::int64_t day_limit, RecordId redirect = 0) {
  auto info = std::make_shared<CapInfo>();
  info->clicks.day = {current, day_limit};
  info->offer_caps_offer_id_redirect = redirect;
  return info;
}

// A small recipe: records get sensible defaults and the test changes what it is about.
class World {
 public:
  World() {
    offer(kDefaultOffer).landing_page_url = "https://default.example.com/";
    campaign(kDefaultCampaign, kDefaultOffer).affiliate_id = 1;
  }
  Offer& offer(RecordId id) {
    Offer& o = offers_.emplace_back();
    o.id = id;
    o.name = "Offer " + std::to_string(id);
    o.status = recipe::OfferStatus::public_;
    o.payin = money("2");
    o.payout = money("1");
    o.landing_page_url = "https://o" + std::to_string(id) + ".example.com/";
    return o;
  }
  Campaign& campaign(RecordId id, RecordId offer_id) {
    Campaign& c = campaigns_.emplace_back();
    c.id = id;
    c.offer_id = offer_id;
    c.affiliate_id = 7;
    c.affiliate_status = recipe::AffiliateStatus::active;
    c.campaign_status = recipe::CampaignStatus::active;
    return c;
  }
  Offer& get(RecordId id) {
    for (Offer& o : offers_) {
      if (o.id == id) return o;
    }
    throw std::out_of_range("no offer " + std::to_string(id));
  }
  // Freezes the records into a snapshot (kept alive by the World for the decisions).
  const recipe::Snapshot& snapshot() {
    if (!snapshot_) {
      snapshot_ = recipe::Snapshot::build({offers_.begin(), offers_.end()}, {campaigns_.begin(), campaigns_.end()}, 3);
    }
    return *snapshot_;
  }

 private:
  std::deque<Offer> offers_;
  std::deque<Campaign> campaigns_;
  std::shared_ptr<const recipe::Snapshot> snapshot_;
};

class EngineTest : public ::testing::Test {
 protected:
  Decision decide(RecordId offer, RecordId campaign, std::string_view country = "US", DecideOptions options = {}) {
    Context context;
    context.offer_id = offer;
    context.campaign_id = campaign;
    if (!country.empty()) context.country = cc(country);
    context.device = device;
    context.os = os;
    context.browser = browser;
    context.region = region;
    // The decision may point at the engine's fallback URL: the engine outlives it.
    engine = std::make_unique<Engine>(settings);
    return engine->decide(context, world.snapshot(), counters, clock, random, options);
  }

  World world;
  EngineSettings settings;
  std::unique_ptr<Engine> engine;
  test::FakeCounters counters;
  test::FakeClock clock{at("2026-06-15T12:00:00Z")};
  test::FakeRandom random;
  std::string_view device = "desktop";
  std::string_view os = "Windows";
  std::string_view browser = "Chrome";
  std::string_view region = "WA";
};

// ---- blocks and the inactive-offer switch (§4.1) ----

TEST_F(EngineTest, UnknownOfferOrCampaignIsBlocked) {
  world.offer(100);
  world.campaign(10, 100);
  EXPECT_EQ(decide(999, 10).block, BlockReason::unknown_offer);
  EXPECT_EQ(decide(100, 999).block, BlockReason::unknown_campaign);
  EXPECT_EQ(decide(100, 999).outcome, Outcome::blocked);
}

TEST_F(EngineTest, BlacklistedAffiliateAndInactiveCampaignStatusesAreBlocked) {
  world.offer(100);
  world.campaign(10, 100).affiliate_status = recipe::AffiliateStatus::blacklisted;
  using recipe::CampaignStatus;
  RecordId id = 11;
  for (auto status :
       {CampaignStatus::inactive, CampaignStatus::pending, CampaignStatus::blocked, CampaignStatus::rejected}) {
    world.campaign(id++, 100).campaign_status = status;
  }
  world.campaign(20, 100).affiliate_status = recipe::AffiliateStatus::suspended;  // not a block in §4.1
  EXPECT_EQ(decide(100, 10).block, BlockReason::affiliate_blacklisted);
  for (RecordId c = 11; c < id; ++c) EXPECT_EQ(decide(100, c).block, BlockReason::campaign_not_active) << c;
  EXPECT_TRUE(decide(100, 20).redirects());
}

TEST_F(EngineTest, BlacklistedAffiliateIsBlockedBeforeTheInactiveOfferSwitch) {
  world.offer(300).status = recipe::OfferStatus::inactive;
  world.campaign(32, 300).affiliate_status = recipe::AffiliateStatus::blacklisted;
  const Decision d = decide(300, 32);
  EXPECT_EQ(d.block, BlockReason::affiliate_blacklisted);
  EXPECT_FALSE(d.switched_inactive_offer);
}

TEST_F(EngineTest, InactiveOfferSwitchesToTheDefaultCampaignAndKeepsTheOrigin) {
  world.offer(300).status = recipe::OfferStatus::inactive;
  world.campaign(32, 300).payout = money("9");
  const Decision d = decide(300, 32);
  ASSERT_TRUE(d.redirects());
  EXPECT_TRUE(d.switched_inactive_offer);
  EXPECT_EQ(d.offer->id, kDefaultOffer);
  EXPECT_EQ(d.campaign->id, kDefaultCampaign);
  EXPECT_EQ(d.origin_offer->id, 300);
  EXPECT_EQ(d.origin_campaign->id, 32);
  EXPECT_EQ(d.origin_campaign->affiliate_id, 7);
  EXPECT_EQ(d.payout, money("1"));  // the link campaign's payout does not follow the switch
}

TEST_F(EngineTest, DefaultCampaignIsCheckedAfterTheSwitch) {
  world.offer(300).status = recipe::OfferStatus::inactive;
  world.campaign(32, 300);
  settings.default_campaign_id = 5;
  world.campaign(5, kDefaultOffer).campaign_status = recipe::CampaignStatus::blocked;
  EXPECT_EQ(decide(300, 32).block, BlockReason::campaign_not_active);
  settings.default_campaign_id = 6;  // not in the recipe
  EXPECT_EQ(decide(300, 32).block, BlockReason::default_campaign_missing);
}

TEST_F(EngineTest, MismatchedLinkPairIsServedAndFlaggedOrBlockedInStrictMode) {
  world.offer(100);
  world.offer(101);
  world.campaign(10, 101);
  Decision d = decide(100, 10);
  EXPECT_TRUE(d.redirects());
  EXPECT_TRUE(d.link_mismatch);
  EXPECT_EQ(d.offer->id, 100);  // the link's offer, as the old service served it
  settings.strict_link_pair = true;
  EXPECT_EQ(decide(100, 10).block, BlockReason::link_mismatch);
}

// ---- default rule and payouts (§7.1.9, §7.9) ----

TEST_F(EngineTest, DefaultRuleUsesCampaignPayoutWhenSetAndOfferPayoutOtherwise) {
  world.offer(100).payin = money("2.5");
  world.campaign(10, 100).payout = money("0.80000000");
  world.campaign(11, 100);
  Decision d = decide(100, 10);
  EXPECT_EQ(d.redirect_type, "defaultRedirection");
  EXPECT_EQ(d.redirect_reason, "defaultRedirection-no-rules");
  EXPECT_EQ(d.payin, money("2.5"));
  EXPECT_EQ(d.payout.micros(), 800'000);
  EXPECT_EQ(decide(100, 11).payout, money("1"));
  EXPECT_TRUE(d.exit_steps.empty());
  EXPECT_EQ(d.recipe_version, 3U);
  EXPECT_EQ(d.decided_at, clock.now());
}

TEST_F(EngineTest, MoneyStaysExact) {
  Offer& o = world.offer(100);
  o.payout_per_geo = std::vector<recipe::GeoPayout>{{cc("US"), money("0.10000000"), money("0.20000000"), "", {}}};
  world.campaign(10, 100);
  const Decision d = decide(100, 10);
  EXPECT_EQ((d.payin.micros() + d.payout.micros()), 300'000);  // 0.1 + 0.2 == 0.3, exactly
  EXPECT_EQ(d.payout.to_string(), "0.2");
}

// ---- rule 1: aggregated rotation (§7.3) ----

class RotationTest : public EngineTest {
 protected:
  void SetUp() override {
    Offer& aggregated = world.offer(200);
    aggregated.type = recipe::OfferType::aggregated;
    aggregated.exit_offer_id = 101;
    aggregated.payout = money("5");
    for (RecordId child : {130, 131, 132}) {
      world.offer(child);
      aggregated.aggregated_children.push_back({child, {}, {}, {}, {}, {}});
    }
    world.offer(101);
    world.campaign(21, 200).payout = money("0.5");
    world.campaign(22, 200);
  }
  recipe::AggregatedChild& child(std::size_t i) { return world.get(200).aggregated_children.at(i); }
};

TEST_F(RotationTest, LeastServedChildWinsAndBalanceNeverDiffersByMoreThanOne) {
  std::map<RecordId, std::int64_t> served;
  for (int click = 0; click < 300; ++click) {
    const Decision d = decide(200, 21);
    ASSERT_EQ(d.redirect_type, "offerAggregatedBestOffer");
    EXPECT_EQ(d.redirect_reason, "Offers Aggregated");
    EXPECT_EQ(d.origin_offer->id, 200);
    EXPECT_TRUE(d.overridden);
    EXPECT_EQ(d.payout, money("1"));  // the child's payout: the campaign's applies only to its own offer
    ++served[d.offer->id];
    const auto [least, most] = std::minmax({served[130], served[131], served[132]});
    ASSERT_LE(most - least, 1) << "after click " << click;
  }
  EXPECT_EQ(served[130], 100);
  // Counters are per campaign: campaign 22 starts from zero.
  EXPECT_EQ(counters.rotation().served(22, 130), 0);
  EXPECT_EQ(counters.rotation().served(21, 131), 100);
}

TEST_F(RotationTest, TiesAreBrokenByTheRandomSource) {
  random = test::FakeRandom({2});
  EXPECT_EQ(decide(200, 21).offer->id, 132);  // 3 tied children, 2 % 3 = the third
  random = test::FakeRandom({4});
  EXPECT_EQ(decide(200, 22).offer->id, 131);  // 4 % 3 = the second
}

TEST_F(RotationTest, IneligibleChildrenAreSkipped) {
  child(0).countries_restrictions = {cc("CA"), cc("US")};
  child(1).caps_over_limit_clicks = true;
  Decision d = decide(200, 21, "US");
  EXPECT_EQ(d.offer->id, 132);
  EXPECT_TRUE(d.trace.contains(Step::aggregated, Note::child_country));
  EXPECT_TRUE(d.trace.contains(Step::aggregated, Note::child_capped));
  ASSERT_EQ(counters.picks().size(), 1U);
  EXPECT_EQ(counters.picks()[0].children, (std::vector<RecordId>{132}));
}

TEST_F(RotationTest, ChildDatesAreEvaluatedNowAndDescriptorFlagsAreTheFallback) {
  Offer& ended = world.get(130);
  ended.use_start_end_date = true;
  ended.end_date = at("2026-06-01T00:00:00Z");
  child(0).date_range_not_pass = false;  // stale producer flag: the dates decide
  child(1).date_range_not_pass = true;   // no dates on 131: the flag decides
  EXPECT_EQ(decide(200, 21).offer->id, 132);
}

TEST_F(RotationTest, ChildOverItsLiveCapIsSkipped) {
  world.get(130).cap_info = clicks_cap(0, 10);
  world.get(131).cap_info = clicks_cap(0, 10);
  counters.set_live(counters::CounterScope::offer, 130, {{10, 10, 10}, {}});
  EXPECT_EQ(decide(200, 21).offer->id, 131);
}

TEST_F(RotationTest, NoEligibleChildSendsTrafficToTheExitOffer) {
  for (std::size_t i = 0; i < 3; ++i) child(i).caps_over_limit_sales = true;
  const Decision d = decide(200, 21);
  EXPECT_EQ(d.offer->id, 101);
  EXPECT_EQ(d.redirect_type, "offerAggregatedExitTrafficTpRegularOffer");
  EXPECT_TRUE(counters.picks().empty());
}

TEST_F(RotationTest, DryRunDoesNotCountThePick) {
  const Decision d = decide(200, 21, "US", DecideOptions{.dry_run = true});
  EXPECT_TRUE(d.redirects());
  ASSERT_EQ(counters.picks().size(), 1U);
  EXPECT_FALSE(counters.picks()[0].count_pick);
  EXPECT_EQ(counters.rotation().served(21, d.offer->id), 0);
}

// ---- rule 2: start/end date (§7.4) ----

class DateWindowTest : public EngineTest {
 protected:
  void SetUp() override {
    Offer& o = world.offer(112);
    o.use_start_end_date = true;
    o.start_date = at("2026-06-01T00:00:00Z");
    o.end_date = at("2026-06-30T00:00:00Z");
    o.exit_offer_id = 101;
    world.offer(101);
    world.campaign(15, 112);
  }
  std::string_view type_at(std::string_view when) {
    clock.set(at(when));
    decision = decide(112, 15);
    return decision.redirect_type;
  }
  Decision decision;
};

TEST_F(DateWindowTest, BoundariesAreInclusiveInstantsInUtc) {
  EXPECT_EQ(type_at("2026-05-31T23:59:59.999Z"), "OfferStartEndDataRangeNotPass");
  EXPECT_EQ(decision.offer->id, 101);
  EXPECT_EQ(type_at("2026-06-01T00:00:00.000Z"), "defaultRedirection");
  EXPECT_EQ(type_at("2026-06-01T02:00:00+02:00"), "defaultRedirection");  // = 00:00Z
  EXPECT_EQ(type_at("2026-06-01T01:59:59.999+02:00"), "OfferStartEndDataRangeNotPass");
  EXPECT_EQ(type_at("2026-06-30T00:00:00.000Z"), "defaultRedirection");
  EXPECT_EQ(type_at("2026-06-30T00:00:00.001Z"), "OfferStartEndDataRangeNotPass");
}

TEST_F(DateWindowTest, OpenEndedWindowsAndTheProducerFlag) {
  Offer& o = world.get(112);
  o.end_date.reset();
  EXPECT_EQ(type_at("2099-01-01T00:00:00Z"), "defaultRedirection");
  EXPECT_TRUE(decision.trace.contains(Step::date_window, Note::window_open));
}

TEST_F(DateWindowTest, ProducerFlagDecidesOnlyWithoutDates) {
  Offer& o = world.get(112);
  o.start_date.reset();
  o.end_date.reset();
  o.start_end_date_setting = recipe::DateWindowSetting{{}, {}, false};
  EXPECT_EQ(type_at("2026-06-15T00:00:00Z"), "OfferStartEndDataRangeNotPass");
  EXPECT_TRUE(decision.trace.contains(Step::date_window, Note::window_flag_fail));
}

TEST_F(DateWindowTest, SettingDatesAreUsedWhenTopLevelDatesAreMissing) {
  Offer& o = world.get(112);
  o.start_date.reset();
  o.end_date.reset();
  o.start_end_date_setting = recipe::DateWindowSetting{at("2020-01-01T00:00:00Z"), at("2020-12-31T00:00:00Z"), true};
  EXPECT_EQ(type_at("2026-06-15T00:00:00Z"), "OfferStartEndDataRangeNotPass");  // the stale flag says pass
}

TEST_F(DateWindowTest, WithoutUseStartEndDateTheDatesAreIgnored) {
  world.get(112).use_start_end_date = false;
  EXPECT_EQ(type_at("2030-01-01T00:00:00Z"), "defaultRedirection");
}

TEST_F(DateWindowTest, NoExitOfferMeansTheDefaultOffer) {
  world.get(112).exit_offer_id = 0;
  EXPECT_EQ(type_at("2027-01-01T00:00:00Z"), "OfferStartEndDataRangeNotPass");
  EXPECT_EQ(decision.offer->id, kDefaultOffer);
  EXPECT_EQ(decision.exit_steps.to_string(), "112,36303");
}

// ---- rule 3: geo restriction (§7.5) ----

class GeoTest : public EngineTest {
 protected:
  void SetUp() override {
    world.offer(101);
    Offer& o = world.offer(110);
    o.exit_offer_id = 101;
    world.campaign(12, 110);
  }
  void rules(std::vector<recipe::GeoRule> geo_rules) { world.get(110).geo_rules = std::move(geo_rules); }
  bool restricted(std::string_view country) {
    const Decision d = decide(110, 12, country);
    return d.redirect_type == "offerGeoRestriction" && d.offer->id == 101;
  }
};

TEST_F(GeoTest, BlockListRestrictsListedCountriesOnly) {
  rules({{cc("US"), false}, {cc("CA"), false}});
  EXPECT_TRUE(restricted("US"));
  EXPECT_TRUE(restricted("CA"));
  EXPECT_FALSE(restricted("SE"));
  EXPECT_FALSE(restricted(""));  // unknown country: a block-list does not restrict it
  EXPECT_EQ(decide(110, 12, "US").redirect_reason, "geoRestriction by country:US");
}

TEST_F(GeoTest, AllowListRestrictsEveryOtherCountryAndUnknown) {
  rules({{cc("GB"), true}, {cc("DE"), true}});
  EXPECT_FALSE(restricted("GB"));
  EXPECT_FALSE(restricted("DE"));
  EXPECT_TRUE(restricted("US"));
  EXPECT_TRUE(restricted(""));
  EXPECT_EQ(decide(110, 12, "").redirect_reason, "geoRestriction by country:");
}

TEST_F(GeoTest, MixedListsBlockListedAndRequireAllowed) {
  rules({{cc("GB"), true}, {cc("US"), false}});
  EXPECT_FALSE(restricted("GB"));
  EXPECT_TRUE(restricted("US"));
  EXPECT_TRUE(restricted("SE"));
}

TEST_F(GeoTest, LegacyCountriesRestrictionsIsABlockListUsedOnlyWithoutGeoRules) {
  world.get(110).countries_restrictions = {cc("US")};
  EXPECT_TRUE(restricted("US"));
  EXPECT_FALSE(restricted("GB"));
}

TEST_F(GeoTest, GeoRulesTakePrecedenceOverTheLegacyList) {
  world.get(110).countries_restrictions = {cc("GB")};  // derived list, ignoring include
  rules({{cc("GB"), true}});
  EXPECT_FALSE(restricted("GB"));  // the old service blocked GB here
}

TEST_F(GeoTest, MissingExitOfferGoesToTheDefaultOfferNeverTheRestrictedOne) {
  rules({{cc("US"), false}});
  world.get(110).exit_offer_id = 999999;
  const Decision d = decide(110, 12, "US");
  EXPECT_EQ(d.offer->id, kDefaultOffer);
  EXPECT_EQ(d.landing_page, "https://default.example.com/");
  EXPECT_TRUE(d.trace.contains(Step::exit_chain, Note::target_missing));
}

// ---- rule 4: custom landing pages (§7.6) ----

TEST_F(EngineTest, CustomLandingPageFirstMatchingRuleOnTheExitOffersBooking) {
  world.offer(101).payin = money("3");
  Offer& o = world.offer(111);
  o.exit_offer_id = 101;
  o.custom_lp_rules = std::vector<recipe::CustomLpRule>{
      {1, 0, cc("CA"), "ca", "https://ca.example.com/"},
      {2, 1, cc("US"), "us1", "https://us1.example.com/?s={subid}"},
      {3, 2, cc("US"), "us2", "https://us2.example.com/"},
  };
  world.campaign(14, 111);
  Decision d = decide(111, 14, "US");
  EXPECT_EQ(d.redirect_type, "customLandingPages");
  EXPECT_EQ(d.offer->id, 101);
  EXPECT_EQ(d.landing_page, "https://us1.example.com/?s={subid}");
  EXPECT_EQ(d.payin, money("3"));
  d = decide(111, 14, "SE");
  EXPECT_EQ(d.redirect_type, "defaultRedirection");
  EXPECT_EQ(d.offer->id, 111);
  EXPECT_TRUE(d.trace.contains(Step::custom_lp, Note::no_rule_for_country));
}

// ---- rules 5 and 6: caps (§7.7) ----

class CapsTest : public EngineTest {
 protected:
  void SetUp() override {
    world.offer(101).landing_page_url = "https://exit.example.com/";
    world.offer(102).landing_page_url = "https://capredirect.example.com/";
    Offer& o = world.offer(117);
    o.exit_offer_id = 101;
    world.campaign(20, 117);
  }
  Offer& offer() { return world.get(117); }
};

TEST_F(CapsTest, OfferOverItsLimitGoesToTheCapRedirectElseTheExitOffer) {
  offer().cap_info = clicks_cap(1200, 1000, 102);
  Decision d = decide(117, 20);
  EXPECT_EQ(d.redirect_type, "capsOffersClicksOverLimit");
  EXPECT_EQ(d.redirect_reason, "capsOffersClicksOverLimitCapRedirect");
  EXPECT_EQ(d.caps_type, "offerOverLimitClicks");
  EXPECT_EQ(d.offer->id, 102);
  EXPECT_EQ(d.cap_override_offer_id, 102);
  EXPECT_EQ(d.offer_caps, CapsVerdict::over_clicks);
}

TEST_F(CapsTest, ExitOfferWhenNoCapRedirect) {
  offer().cap_info = clicks_cap(1200, 1000);
  EXPECT_EQ(decide(117, 20).offer->id, 101);
}

TEST_F(CapsTest, LiveCountAboveTheRecipesCurrentFillsTheCap) {
  offer().cap_info = clicks_cap(0, 5);
  counters.set_live(counters::CounterScope::offer, 117, {{4, 4, 4}, {}});
  EXPECT_EQ(decide(117, 20).redirect_type, "capsOfferUnderLimit");
  counters.set_live(counters::CounterScope::offer, 117, {{5, 5, 5}, {}});
  const Decision d = decide(117, 20);
  EXPECT_EQ(d.offer->id, 101);
  EXPECT_EQ(counters.last_read_at(), clock.now());
  EXPECT_TRUE(d.trace.contains(Step::offer_caps, Note::over_limit));
}

TEST_F(CapsTest, RecipeCurrentCountsWhenItIsAheadOfTheLiveCount) {
  offer().cap_info = clicks_cap(5, 5);
  EXPECT_EQ(decide(117, 20).offer->id, 101);
}

TEST_F(CapsTest, WeeklyAndMonthlySalesLimits) {
  auto info = std::make_shared<CapInfo>();
  info->sales.week = {0, 3};
  info->sales.month = {0, 10};
  offer().cap_info = info;
  counters.set_live(counters::CounterScope::offer, 117, {{}, {0, 2, 9}});
  EXPECT_EQ(decide(117, 20).redirect_type, "capsOfferUnderLimit");
  counters.set_live(counters::CounterScope::offer, 117, {{}, {0, 2, 10}});
  const Decision d = decide(117, 20);
  EXPECT_EQ(d.redirect_type, "capsOffersSalesOverLimit");
  EXPECT_EQ(d.caps_type, "offerOverLimitSales");
  EXPECT_EQ((d.trace.end() - 1)->step, Step::payout);
}

TEST_F(CapsTest, ProducerFlagsStandInOnlyWithoutLimits) {
  auto info = std::make_shared<CapInfo>();
  info->clicks_over_limit = true;
  offer().cap_info = info;
  EXPECT_EQ(decide(117, 20).redirect_type, "capsOffersClicksOverLimit");
  info->clicks.day = {0, 100};  // a configured limit with room beats the stale flag
  EXPECT_EQ(decide(117, 20).redirect_type, "capsOfferUnderLimit");
}

TEST_F(CapsTest, ClosedCapWindowMeansTheCapsDoNotApply) {
  auto info = std::make_shared<CapInfo>(*clicks_cap(5000, 10));
  info->date_range_set_up = true;
  info->date_start = at("2026-07-01T00:00:00Z");
  offer().cap_info = info;
  const Decision d = decide(117, 20);
  EXPECT_EQ(d.redirect_type, "defaultRedirection");
  EXPECT_EQ(d.offer_caps, CapsVerdict::window_closed);
}

TEST_F(CapsTest, CapsDisabledAreIgnored) {
  offer().cap_info = clicks_cap(5000, 10);
  offer().caps_enabled = false;
  EXPECT_EQ(decide(117, 20).redirect_type, "defaultRedirection");
}

TEST_F(CapsTest, UnderCapsWithAPerGeoRateReportsThePerGeoRate) {
  offer().cap_info = clicks_cap(10, 1000);
  offer().payout_per_geo = std::vector<recipe::GeoPayout>{{cc("US"), money("5.00"), money("4.00"), "fixed", {}}};
  Decision d = decide(117, 20, "US");
  EXPECT_EQ(d.redirect_type, "customPayOutPerGeo");
  EXPECT_EQ(d.payin, money("5"));
  EXPECT_EQ(d.payout, money("4"));
  d = decide(117, 20, "SE");
  EXPECT_EQ(d.redirect_type, "capsOfferUnderLimit");
  EXPECT_EQ(d.payin, money("2"));
}

TEST_F(CapsTest, CampaignOverItsCapChangesOnlyTheLandingPage) {
  world.offer(150).exit_offer_id = 101;
  Campaign& c = world.campaign(24, 150);
  c.cap_info = clicks_cap(600, 500);
  c.payout = money("0.7");
  const Decision d = decide(150, 24);
  EXPECT_EQ(d.redirect_type, "capsCampaignOverLimit");
  EXPECT_EQ(d.caps_type, "campaignOverLimitClicks");
  EXPECT_EQ(d.offer->id, 150);
  EXPECT_EQ(d.landing_page, "https://exit.example.com/");
  EXPECT_EQ(d.payout, money("0.7"));  // booked on its own offer: the campaign payout applies
  EXPECT_FALSE(d.overridden);
}

TEST_F(CapsTest, CampaignLiveCountsAreReadForTheCampaign) {
  world.offer(150).exit_offer_id = 101;
  world.campaign(24, 150).cap_info = clicks_cap(0, 3);
  counters.set_live(counters::CounterScope::campaign, 24, {{3, 3, 3}, {}});
  counters.set_live(counters::CounterScope::offer, 24, {{0, 0, 0}, {}});  // same id, other scope: not read
  EXPECT_EQ(decide(150, 24).redirect_type, "capsCampaignOverLimit");
}

TEST_F(CapsTest, CampaignUnderItsCapUsesTheConfiguredLandingPageElseFallsThrough) {
  world.offer(150);
  auto info = std::make_shared<CapInfo>(*clicks_cap(1, 500));
  info->campaign_caps_offer_id_redirect = 102;
  world.campaign(24, 150).cap_info = info;
  world.campaign(25, 150).cap_info = clicks_cap(1, 500);
  Decision d = decide(150, 24);
  EXPECT_EQ(d.redirect_type, "capsCampaignUnderLimit");
  EXPECT_EQ(d.landing_page, "https://capredirect.example.com/");
  EXPECT_EQ(d.offer->id, 150);
  d = decide(150, 25);
  EXPECT_EQ(d.redirect_type, "defaultRedirection");
  EXPECT_EQ(d.campaign_caps, CapsVerdict::under);
}

// ---- exit chains (§7.2) ----

class ChainTest : public EngineTest {
 protected:
  // Offer `id` capped, its exit `next`.
  void capped(RecordId id, RecordId next) {
    Offer& o = world.offer(id);
    o.cap_info = clicks_cap(50, 10);
    o.exit_offer_id = next;
  }
};

TEST_F(ChainTest, CappedTargetsAreFollowedAndRecorded) {
  capped(140, 141);
  capped(141, 142);
  world.offer(142).payin = money("7");
  world.campaign(23, 140);
  const Decision d = decide(140, 23);
  EXPECT_EQ(d.offer->id, 142);
  EXPECT_EQ(d.exit_steps.to_string(), "140,141,142");
  EXPECT_EQ(d.payin, money("7"));
  EXPECT_EQ(d.origin_offer->id, 140);
}

TEST_F(ChainTest, CycleEndsAtTheDefaultOffer) {
  capped(140, 141);
  capped(141, 140);
  world.campaign(23, 140);
  const Decision d = decide(140, 23);
  EXPECT_EQ(d.offer->id, kDefaultOffer);
  EXPECT_TRUE(d.trace.contains(Step::exit_chain, Note::target_cycle));
  EXPECT_EQ(d.exit_steps.to_string(), "140,141,36303");
}

TEST_F(ChainTest, SelfExitIsACycle) {
  capped(140, 140);
  world.campaign(23, 140);
  EXPECT_EQ(decide(140, 23).offer->id, kDefaultOffer);
}

TEST_F(ChainTest, LongChainStopsAfterTenHops) {
  for (RecordId id = 400; id < 420; ++id) capped(id, id + 1);
  world.offer(420);
  world.campaign(40, 400);
  const Decision d = decide(400, 40);
  EXPECT_EQ(d.offer->id, kDefaultOffer);
  EXPECT_TRUE(d.trace.contains(Step::exit_chain, Note::hop_limit));
  EXPECT_LE(d.exit_steps.size(), ExitSteps::kCapacity);
}

TEST_F(ChainTest, NineHopsAreFollowed) {
  for (RecordId id = 400; id < 409; ++id) capped(id, id + 1);
  world.offer(409);
  world.campaign(40, 400);
  EXPECT_EQ(decide(400, 40).offer->id, 409);
}

TEST_F(ChainTest, MissingDefaultOfferFallsBackToTheFallbackUrlElseNoLandingPage) {
  capped(140, 999);
  world.campaign(23, 140);
  settings.default_offer_id = 5;  // not in the recipe
  Decision d = decide(140, 23);
  EXPECT_EQ(d.outcome, Outcome::no_landing_page);
  settings.fallback_url = "https://fallback.example.com/";
  d = decide(140, 23);
  EXPECT_EQ(d.outcome, Outcome::redirect);
  EXPECT_EQ(d.landing_page, "https://fallback.example.com/");
}

TEST_F(ChainTest, AggregatedTargetRotatesAmongItsChildren) {
  Offer& aggregated = world.offer(200);
  aggregated.type = recipe::OfferType::aggregated;
  aggregated.aggregated_children.push_back({130, {}, {}, {}, {}, {}});
  world.offer(130);
  capped(140, 200);
  world.campaign(23, 140);
  const Decision d = decide(140, 23);
  EXPECT_EQ(d.offer->id, 130);
  EXPECT_EQ(d.redirect_type, "offerAggregatedExitTrafficToAggregatedOffer");
  EXPECT_EQ(d.redirect_reason, "Offers Aggregated exit traffic to aggregatedOffer");
  EXPECT_EQ(d.exit_steps.to_string(), "140,200,130");
}

// ---- rule 7: payout per geo (§7.8) ----

TEST_F(EngineTest, PayoutPerGeoOfTheOfferThatFinallyReceivesTheClick) {
  world.offer(101).payout_per_geo =
      std::vector<recipe::GeoPayout>{{cc("US"), money("3.25"), money("1.75"), "fixed", {}}};
  Offer& o = world.offer(110);
  o.exit_offer_id = 101;
  o.geo_rules = std::vector<recipe::GeoRule>{{cc("US"), false}};
  o.payout_per_geo = std::vector<recipe::GeoPayout>{{cc("US"), money("9"), money("9"), "fixed", {}}};
  world.campaign(12, 110).payout = money("0.1");
  const Decision d = decide(110, 12, "US");
  EXPECT_EQ(d.offer->id, 101);
  EXPECT_EQ(d.payin, money("3.25"));
  EXPECT_EQ(d.payout, money("1.75"));
}

TEST_F(EngineTest, PayoutPerGeoRuleAndPartialEntries) {
  Offer& o = world.offer(115);
  o.payout_per_geo = std::vector<recipe::GeoPayout>{{cc("US"), money("5"), std::nullopt, "fixed", {}}};
  world.campaign(19, 115).payout = money("0.3");
  const Decision d = decide(115, 19, "US");
  EXPECT_EQ(d.redirect_type, "customPayOutPerGeo");
  EXPECT_EQ(d.redirect_reason, "customPayOutPerGeo by country:US");
  EXPECT_EQ(d.payin, money("5"));
  EXPECT_EQ(d.payout, money("0.3"));  // no per-geo payout: the campaign's, since the click stayed
  EXPECT_EQ(decide(115, 19, "SE").redirect_type, "defaultRedirection");
}

// ---- rule 8: campaign target rules ----

TEST_F(EngineTest, TargetRulesMatchOnEveryConditionIgnoringCase) {
  world.offer(100);
  world.offer(105).landing_page_url = "https://mobile.example.com/";
  Campaign& c = world.campaign(10, 100);
  recipe::TargetRule mobile_us;
  mobile_us.conditions = {{recipe::TargetDimension::device, false, {"smartphone", "tablet"}},
                          {recipe::TargetDimension::country, false, {"us"}}};
  mobile_us.offer_id = 105;
  recipe::TargetRule not_windows;
  not_windows.conditions = {{recipe::TargetDimension::os, true, {"windows"}}};
  not_windows.lp_url = "https://other-os.example.com/";
  c.target_rules = {mobile_us, not_windows};

  device = "smartphone";
  os = "iOS";
  Decision d = decide(100, 10, "US");
  EXPECT_EQ(d.redirect_type, "campaignTargetRules");
  EXPECT_EQ(d.redirect_reason, "campaignTargetRules rule:0");
  EXPECT_EQ(d.offer->id, 105);
  d = decide(100, 10, "SE");  // rule 0 fails on country; rule 1 holds (iOS is not Windows)
  EXPECT_EQ(d.redirect_reason, "campaignTargetRules rule:1");
  EXPECT_EQ(d.offer->id, 100);
  EXPECT_EQ(d.landing_page, "https://other-os.example.com/");
  device = "desktop";
  os = "WINDOWS";
  EXPECT_EQ(decide(100, 10, "US").redirect_type, "defaultRedirection");
}

// ---- landing page (§8.1) ----

TEST_F(EngineTest, EmptyLandingPageFallsBackToTheDefaultOffersThenTheFallbackUrl) {
  world.offer(100).landing_page_url.clear();
  world.campaign(10, 100);
  Decision d = decide(100, 10);
  EXPECT_EQ(d.landing_page, "https://default.example.com/");
  EXPECT_EQ(d.offer->id, 100);  // booking unchanged
}

// ---- the trace and explain ----

TEST_F(EngineTest, TraceNamesEveryRuleInOrderAndExplainRendersIt) {
  world.offer(100);
  world.campaign(10, 100);
  world.campaign(11, 100).payout = money("0.8");
  const Decision d = decide(100, 10);
  std::vector<Step> steps;
  for (const TraceEntry& e : d.trace) steps.push_back(e.step);
  const std::vector<Step> expected{
      Step::lookup,         Step::blocks,       Step::link_pair,    Step::inactive_offer, Step::aggregated,
      Step::date_window,    Step::geo,          Step::custom_lp,    Step::campaign_caps,  Step::offer_caps,
      Step::payout_per_geo, Step::target_rules, Step::default_rule, Step::landing_page,   Step::payout};
  EXPECT_EQ(steps, expected);
  const auto json = to_json(d, "https://o100.example.com/?offer_id=100");
  EXPECT_EQ(json.at("offer_id").as_int64(), 100);
  EXPECT_EQ(json.at("payout").as_string(), "1");
  EXPECT_EQ(json.at("trace").as_array().size(), expected.size());
  const std::string text = to_text(d);
  EXPECT_NE(text.find("default_rule: offer 100: matched"), std::string::npos) << text;
  EXPECT_NE(to_text(decide(100, 11)).find("payout: campaign 11: payin 2, campaign payout 0.8"), std::string::npos);
}

TEST_F(EngineTest, EveryTraceNoteHasText) {
  for (int note = 0; note <= static_cast<int>(Note::offer_payout); ++note) {
    TraceEntry entry{Step::exit_chain, static_cast<Note>(note), CapPeriod::clicks_day, 1, 2, 3};
    EXPECT_FALSE(describe(entry).empty()) << note;
  }
}

}  // namespace
}  // namespace traffic::rules
