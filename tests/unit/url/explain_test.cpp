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

// Explains a click on the link (offer, campaign) of the two-offer recipe.
Explanation explain(recipe::RecordId offer, recipe::RecordId campaign, std::string_view subid, rules::Context& click) {
  static const auto snapshot = two_offers();
  static const rules::Engine engine;
  static const UrlBuilder urls(UrlSettings{});
  test::FakeCounters counters;
  const test::FakeClock clock(1'781'524'800'000);
  test::FakeRandom random;
  click.offer_id = offer;
  click.campaign_id = campaign;
  return explain_click(engine, urls, *snapshot, counters, clock, random, click, subid, "");
}

TEST(ExplainClick, TheDecisionAndItsUrlWithTheExampleLid) {
  rules::Context click;
  const Explanation explained = explain(100, 10, "sub-7", click);
  ASSERT_TRUE(explained.decision.redirects());
  EXPECT_EQ(explained.decision.offer->id, 100);
  EXPECT_EQ(explained.redirect_url.rfind("https://lp100.example.com/?s=sub-7", 0), 0U) << explained.redirect_url;
  EXPECT_NE(explained.redirect_url.find("lid=" + std::string(kExampleLid)), std::string::npos)
      << explained.redirect_url;
  const auto json = to_json(explained, click);
  EXPECT_EQ(json.at("redirect_url").as_string(), explained.redirect_url);
}

TEST(ExplainClick, ABlockedClickHasNoUrl) {
  rules::Context click;
  const Explanation explained = explain(999, 999, "", click);  // no such offer, no such campaign
  EXPECT_FALSE(explained.decision.redirects());
  EXPECT_EQ(explained.redirect_url, "");
}

}  // namespace
}  // namespace traffic::url
