// explain_click: the decision as a dry run and the URL it gives, with the example lid —
// what /admin/explain and `trafficctl explain` show.

#include "traffic/url/explain.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "traffic/recipe/snapshot.hpp"
#include "traffic/testing/fake_clock.hpp"
#include "traffic/testing/fake_counters.hpp"
#include "traffic/testing/fake_random.hpp"

namespace traffic::url {
namespace {

std::shared_ptr<const recipe::Snapshot> two_offers() {
  std::vector<recipe::Offer> offers(2);
  offers[0].id = rules::EngineSettings{}.default_offer_id;
  offers[1].id = 100;
  for (auto& offer : offers) {
    offer.status = recipe::OfferStatus::public_;
    offer.landing_page_url = "https://lp" + std::to_string(offer.id) + ".example.com/?s={subid}";
  }
  std::vector<recipe::Campaign> campaigns(2);
  campaigns[0].id = rules::EngineSettings{}.default_campaign_id;
  campaigns[0].offer_id = offers[0].id;
  campaigns[1].id = 10;
  campaigns[1].offer_id = 100;
  for (auto& campaign : campaigns) {
    campaign.affiliate_id = 7;
    campaign.affiliate_status = recipe::AffiliateStatus::active;
    campaign.campaign_status = recipe::CampaignStatus::active;
  }
  return recipe::Snapshot::build(std::move(offers), std::move(campaigns), 1);
}

TEST(ExplainClick, TheDecisionAndItsUrlWithTheExampleLid) {
  const auto snapshot = two_offers();
  const rules::Engine engine;
  const UrlBuilder urls(UrlSettings{});
  test::FakeCounters counters;
  const test::FakeClock clock(1'781'524'800'000);
  test::FakeRandom random;
  rules::Context click;
  click.offer_id = 100;
  click.campaign_id = 10;
  const Explanation explained = explain_click(engine, urls, *snapshot, counters, clock, random, click, "sub-7", "");
  ASSERT_TRUE(explained.decision.redirects());
  EXPECT_EQ(explained.decision.offer->id, 100);
  EXPECT_EQ(explained.redirect_url.rfind("https://lp100.example.com/?s=sub-7", 0), 0U) << explained.redirect_url;
  EXPECT_NE(explained.redirect_url.find("lid=" + std::string(kExampleLid)), std::string::npos)
      << explained.redirect_url;
  const auto json = to_json(explained, click);
  EXPECT_EQ(json.at("redirect_url").as_string(), explained.redirect_url);
}

TEST(ExplainClick, ABlockedClickHasNoUrl) {
  const auto snapshot = two_offers();
  const rules::Engine engine;
  const UrlBuilder urls(UrlSettings{});
  test::FakeCounters counters;
  const test::FakeClock clock(1'781'524'800'000);
  test::FakeRandom random;
  rules::Context click;
  click.offer_id = 999;  // no such offer, no such campaign
  click.campaign_id = 999;
  const Explanation explained = explain_click(engine, urls, *snapshot, counters, clock, random, click, "", "");
  EXPECT_FALSE(explained.decision.redirects());
  EXPECT_EQ(explained.redirect_url, "");
}

}  // namespace
}  // namespace traffic::url
