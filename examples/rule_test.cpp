// Example 3 — unit-testing a rule of your own network with libtraffic's fakes.
//
// Every network has rules it must never break: "a publisher's campaign capped at N clicks a
// day sends click N+1 to the cap's redirect offer, and starts afresh at midnight UTC". The
// rule engine is pure — the clock, the random source and the live counters are parameters —
// so such a rule is a plain, fast, deterministic unit test: build the records the rule is
// about, set the time, set the counts, decide.
//
// The fakes ship with the library (traffic/testing/, header-only):
//   FakeClock     a clock that shows what the test sets, and moves when told;
//   FakeRandom    a random source that plays back a script (rotation ties);
//   FakeCounters  live counts the test sets directly; rotation calls remembered;
//   MemorySink    a pipeline sink that keeps records in memory and fails when told.
//
// CMake:  find_package(traffic REQUIRED COMPONENTS rules counters)  +  GTest::gtest_main

#include <gtest/gtest.h>
#include <traffic/common/time.hpp>
#include <traffic/counters/counters.hpp>
#include <traffic/recipe/snapshot.hpp>
#include <traffic/rules/engine.hpp>
#include <traffic/testing/fake_clock.hpp>
#include <traffic/testing/fake_counters.hpp>
#include <traffic/testing/fake_random.hpp>

#include <memory>
#include <vector>

namespace {

using traffic::recipe::RecordId;

constexpr RecordId kCappedOffer = 117;
constexpr RecordId kCapRedirectOffer = 102;
constexpr RecordId kCampaign = 20;

// The records the rule is about, as the recipe files would give them. The engine also needs
// the network's default offer and campaign (EngineSettings' defaults), where traffic goes
// when a target is missing.
std::shared_ptr<const traffic::recipe::Snapshot> recipe_with_a_daily_cap(std::int64_t clicks_per_day) {
  std::vector<traffic::recipe::Offer> offers(3);
  const RecordId ids[] = {traffic::rules::EngineSettings{}.default_offer_id, kCappedOffer, kCapRedirectOffer};
  for (std::size_t i = 0; i < offers.size(); ++i) {
    offers[i].id = ids[i];
    offers[i].name = "Offer " + std::to_string(ids[i]);
    offers[i].status = traffic::recipe::OfferStatus::public_;
    offers[i].payin = *traffic::Money::parse("2.00");
    offers[i].payout = *traffic::Money::parse("1.20");
    offers[i].landing_page_url = "https://offer" + std::to_string(ids[i]) + ".example.com/";
  }
  auto cap = std::make_shared<traffic::recipe::CapInfo>();
  cap->clicks.day = {0, clicks_per_day};  // {the producer's count, the limit}
  cap->offer_caps_offer_id_redirect = kCapRedirectOffer;
  offers[1].cap_info = cap;

  std::vector<traffic::recipe::Campaign> campaigns(2);
  const RecordId campaign_ids[] = {traffic::rules::EngineSettings{}.default_campaign_id, kCampaign};
  const RecordId campaign_offers[] = {offers[0].id, kCappedOffer};
  for (std::size_t i = 0; i < campaigns.size(); ++i) {
    campaigns[i].id = campaign_ids[i];
    campaigns[i].offer_id = campaign_offers[i];
    campaigns[i].affiliate_id = 7;
    campaigns[i].affiliate_status = traffic::recipe::AffiliateStatus::active;
    campaigns[i].campaign_status = traffic::recipe::CampaignStatus::active;
  }
  return traffic::recipe::Snapshot::build(std::move(offers), std::move(campaigns), 1);
}

traffic::rules::Context a_click() {
  traffic::rules::Context click;
  click.offer_id = kCappedOffer;
  click.campaign_id = kCampaign;
  click.country = *traffic::CountryCode::parse("US");
  click.device = "desktop";
  return click;
}

// With live counts set directly: the cap is a function of the count, nothing else.
TEST(OurCapRule, ClickOverTheDailyCapGoesToTheCapRedirectOffer) {
  const auto recipe = recipe_with_a_daily_cap(1000);
  const traffic::rules::Engine engine;
  traffic::test::FakeCounters counters;
  const traffic::test::FakeClock clock(*traffic::parse_iso8601("2026-06-15T12:00:00Z"));
  traffic::test::FakeRandom random;

  counters.set_live(traffic::counters::CounterScope::offer, kCappedOffer, {.clicks = {999, 999, 999}, .sales = {}});
  traffic::rules::Decision under = engine.decide(a_click(), *recipe, counters, clock, random);
  EXPECT_EQ(under.offer->id, kCappedOffer);

  counters.set_live(traffic::counters::CounterScope::offer, kCappedOffer, {.clicks = {1000, 1000, 1000}, .sales = {}});
  traffic::rules::Decision over = engine.decide(a_click(), *recipe, counters, clock, random);
  EXPECT_EQ(over.offer->id, kCapRedirectOffer);
  EXPECT_EQ(over.caps_type, "offerOverLimitClicks");
}

// With the in-process counters and a clock the test moves: the cap starts afresh at
// midnight UTC, whatever the time zone of the machine running the test.
TEST(OurCapRule, TheCapStartsAfreshAtMidnightUtc) {
  const auto recipe = recipe_with_a_daily_cap(3);
  const traffic::rules::Engine engine;
  traffic::counters::InMemoryCounters counters;
  traffic::test::FakeClock clock(*traffic::parse_iso8601("2026-06-15T23:59:58Z"));
  traffic::test::FakeRandom random;

  for (int i = 0; i < 3; ++i) {
    const auto click = engine.decide(a_click(), *recipe, counters, clock, random);
    ASSERT_EQ(click.offer->id, kCappedOffer) << i;
    counters.record_click(click.offer->id, click.campaign->id, clock.now());  // trafficd does this once recorded
  }
  EXPECT_EQ(engine.decide(a_click(), *recipe, counters, clock, random).offer->id, kCapRedirectOffer);

  clock.advance(2'000);  // 00:00:00 UTC
  EXPECT_EQ(engine.decide(a_click(), *recipe, counters, clock, random).offer->id, kCappedOffer);
}

}  // namespace
