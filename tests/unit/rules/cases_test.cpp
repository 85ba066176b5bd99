// Every click of tests/data/recipes/cases.json evaluated at library level: link decode,
// geo and device lookups on the real test databases, the rule engine and the URL builder.
// (The HTTP-level run of the same cases belongs to trafficd's integration tests.)

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>

#include "case_check.hpp"
#include "test_support.hpp"
#include "traffic/common/time.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/link/link.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/testing/fake_clock.hpp"
#include "traffic/testing/fake_random.hpp"
#include "traffic/url/click_values.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic {
namespace {
namespace json = boost::json;

constexpr std::string_view kLid = "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10";

struct Fixture {
  json::object settings;
  std::shared_ptr<const recipe::Snapshot> snapshot;
  std::unique_ptr<geo::GeoResolver> geo;
  std::unique_ptr<device::DeviceDetector> device;
  std::unique_ptr<link::LinkKeys> keys;
  std::unique_ptr<rules::Engine> engine;
  std::unique_ptr<url::UrlBuilder> urls;

  static const Fixture& get() {
    static const Fixture fixture;
    return fixture;
  }

 private:
  Fixture() {
    settings = json::parse(test::read_data("recipes/cases.json")).as_object();
    recipe::LoadReport offers_report;
    recipe::LoadReport campaigns_report;
    auto offers = recipe::load_offers(test::read_data("recipes/offersRecipe.json.gz"), offers_report);
    auto campaigns = recipe::load_campaigns(test::read_data("recipes/campaignsRecipe.json.gz"), campaigns_report);
    snapshot = recipe::Snapshot::build(std::move(offers.value()), std::move(campaigns.value()), 7);
    geo::GeoPaths paths;
    paths.city = test::data_path("geoip/test-data/GeoIP2-City-Test.mmdb");
    paths.isp = test::data_path("geoip/test-data/GeoIP2-ISP-Test.mmdb");
    geo = std::make_unique<geo::GeoResolver>(paths);
    device = std::make_unique<device::DeviceDetector>();
    keys = std::make_unique<link::LinkKeys>(
        link::LinkKeys::from_config(std::string(settings.at("encryption_key").as_string()), ""));
    rules::EngineSettings engine_settings;
    engine_settings.default_offer_id = settings.at("default_offer_id").to_number<std::int64_t>();
    engine_settings.default_campaign_id = settings.at("default_campaign_id").to_number<std::int64_t>();
    engine = std::make_unique<rules::Engine>(engine_settings);
    url::UrlSettings url_settings;
    url_settings.network_id = std::string(settings.at("network_id_ap").as_string());
    url_settings.hash_secret = std::string(settings.at("url_hash_secret").as_string());
    urls = std::make_unique<url::UrlBuilder>(url_settings);
  }
};

struct Click {
  int status = 404;
  rules::Decision decision;
  std::string url;
  std::string device;
  std::string os;
};

// One click through the library, as trafficd will run it.
Click run_click(const json::object& c, counters::CountersView& counters, const Clock& clock, Random& random) {
  const Fixture& f = Fixture::get();
  Click click;
  auto ids = link::decode(c.at("o").as_string(), *f.keys);
  if (!ids) return click;
  std::shared_ptr<const geo::Databases> hold;
  const geo::GeoInfo where = f.geo->lookup(*net::IpAddress::parse(c.at("ip").as_string()), hold);
  const auto what = f.device->detect(c.at("user_agent").as_string());
  click.device = std::string(device::to_string(what->type));
  click.os = what->os_family;
  const rules::Context context = rules::make_context(ids->offer_id, ids->campaign_id, where, *what);
  click.decision = f.engine->decide(context, *f.snapshot, counters, clock, random);
  if (!click.decision.redirects()) return click;
  click.status = 302;

  const json::object& query = c.at("query").as_object();
  auto query_value = [&](const char* key) -> std::string_view {
    const json::value* v = query.if_contains(key);
    return v ? std::string_view(v->as_string()) : std::string_view();
  };
  const url::ClickValues values(click.decision, context, query_value("subid"), query_value("cid"), kLid);
  click.url = f.urls->build(click.decision.landing_page, values.placeholders(), values.tracking());
  return click;
}

void check(const json::object& c, const Click& click) {
  test::ObservedClick seen;
  seen.status = click.status;
  seen.url = click.url;
  seen.lid = std::string(kLid);
  seen.device = click.device;
  seen.os = click.os;
  if (const rules::Decision& d = click.decision; d.redirects()) {
    seen.offer_id = d.offer->id;
    seen.campaign_id = d.campaign->id;
    seen.affiliate_id = d.campaign->affiliate_id;
    seen.redirect_type = std::string(d.redirect_type);
    seen.payin = d.payin;
    seen.payout = d.payout;
    seen.origin_campaign_id = d.origin_campaign->id;
    seen.exit_steps = d.exit_steps.to_string();
  }
  test::expect_case(c, seen);
}

const TimestampMs kNow = *parse_iso8601("2026-06-15T12:00:00Z");

TEST(Cases, EveryCaseDecidesAsSpecified) {
  const Fixture& f = Fixture::get();
  std::map<std::string, std::unique_ptr<counters::InMemoryCounters>> sequences;  // fresh counters per sequence
  test::FakeClock clock(kNow);
  test::FakeRandom random({3, 1, 4, 1, 5, 9, 2, 6});
  std::size_t run = 0;
  for (const auto& entry : f.settings.at("cases").as_array()) {
    const json::object& c = entry.as_object();
    const json::value* sequence = c.at("expect").as_object().if_contains("sequence");
    auto& counters = sequences[sequence ? std::string(sequence->as_string()) : "case " + std::to_string(run)];
    if (!counters) counters = std::make_unique<counters::InMemoryCounters>();
    const Click click = run_click(c, *counters, clock, random);
    check(c, click);
    // A click that redirects is recorded, which is what moves the live counters. HEAD is
    // not recorded (trafficd's concern; the decision is the same).
    if (click.status == 302 && c.at("method").as_string() == "GET") {
      counters->record_click(click.decision.offer->id, click.decision.campaign->id, clock.now());
    }
    ++run;
  }
  EXPECT_GE(run, 57U);  // the shared 51 and the 6 added here
}

TEST(Cases, RotationSequenceIsBalanced) {
  const Fixture& f = Fixture::get();
  counters::InMemoryCounters counters;
  test::FakeClock clock(kNow);
  FastRandom random(42);
  std::map<std::int64_t, int> served;
  for (const auto& entry : f.settings.at("cases").as_array()) {
    const json::object& c = entry.as_object();
    const json::value* sequence = c.at("expect").as_object().if_contains("sequence");
    if (!sequence || sequence->as_string() != "rotation") continue;
    const Click click = run_click(c, counters, clock, random);
    ASSERT_EQ(click.status, 302);
    ++served[click.decision.offer->id];
    EXPECT_LE(std::abs(served[130] - served[131]), 1);
  }
  EXPECT_EQ(served[130], 5);
  EXPECT_EQ(served[131], 5);
}

}  // namespace
}  // namespace traffic
