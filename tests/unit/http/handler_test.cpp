// trafficd's routes as function calls: every case of cases.json through the /pl handler,
// plus the admin, debug, readiness and hostile-input behaviour of SPEC.md §2.

#include "traffic/http/handler.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "case_check.hpp"
#include "digest.hpp"
#include "redis_server.hpp"
#include "test_support.hpp"
#include "traffic/http/fleet_sampler.hpp"
#include "traffic/lid/lid.hpp"
#include "traffic/lid/lid_store.hpp"
#include "traffic/link/link.hpp"
#include "traffic/pipeline/emitter.hpp"
#include "traffic/pipeline/sinks/lid_store_sink.hpp"
#include "traffic/pipeline/spool.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/testing/fake_clock.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::http {
namespace {
namespace json = boost::json;

constexpr std::string_view kAdminToken = "admin-token-for-tests";

const json::object& cases_file() {
  static const json::object cases = json::parse(test::read_data("recipes/cases.json")).as_object();
  return cases;
}

// The long-lived services, loaded once for the whole binary.
struct Shared {
  recipe::Store store;
  std::unique_ptr<geo::GeoResolver> geo;
  std::unique_ptr<device::DeviceDetector> device;
  static Shared& get() {
    static Shared shared;
    return shared;
  }

 private:
  Shared() {
    recipe::LoadReport report;
    auto offers = recipe::load_offers(test::read_data("recipes/offersRecipe.json.gz"), report);
    auto campaigns = recipe::load_campaigns(test::read_data("recipes/campaignsRecipe.json.gz"), report);
    (void)store.replace(std::move(*offers), std::move(*campaigns));
    geo::GeoPaths paths;
    paths.city = test::data_path("geoip/test-data/GeoIP2-City-Test.mmdb");
    paths.isp = test::data_path("geoip/test-data/GeoIP2-ISP-Test.mmdb");
    geo = std::make_unique<geo::GeoResolver>(paths);
    device = std::make_unique<device::DeviceDetector>();
  }
};

config::Config test_config() {
  config::Config c;
  c.encryption_key = std::string(cases_file().at("encryption_key").as_string());
  c.url_hash_secret = std::string(cases_file().at("url_hash_secret").as_string());
  c.maxmind_path = "unused";
  c.admin_token = std::string(kAdminToken);
  c.trust_proxy = "loopback";
  return c;
}

// One trafficd's worth of handler state: its own counters and metrics.
class Instance {
 public:
  explicit Instance(config::Config config = test_config(), recipe::Store* store = nullptr,
                    pipeline::Spool* spool = nullptr, lid::LidStore* lid_store = nullptr,
                    lid::UniqueVisits* unique_visits = nullptr,
                    std::function<bool(std::chrono::milliseconds)> lid_store_catch_up = {},
                    events::AnalyticsReader* analytics = nullptr)
      : app_(app_settings(config), App::Services{.store = store ? *store : Shared::get().store,
                                                 .geo = *Shared::get().geo,
                                                 .device = *Shared::get().device,
                                                 .counters = counters_,
                                                 .clock = clock_,
                                                 .metrics = metrics_,
                                                 .reload_recipe = [] { return std::string("reloaded"); },
                                                 .spool = spool,
                                                 .lid_store = lid_store,
                                                 .unique_visits = unique_visits,
                                                 .lid_store_catch_up = std::move(lid_store_catch_up),
                                                 .analytics = analytics}),
        worker_(app_) {}

  Response send(std::string_view method, std::string target, std::vector<Header> headers = {},
                std::string_view body = {}, std::string_view peer = "127.0.0.1") {
    Request request;
    request.method = method;
    request.target = target;
    request.headers = headers;
    request.peer = *net::IpAddress::parse(peer);
    request.body = body;
    Response response;
    worker_.handle(request, response);
    return response;
  }

  Worker& worker() { return worker_; }
  App& app() { return app_; }
  counters::InMemoryCounters& counters() { return counters_; }
  test::FakeClock& clock() { return clock_; }
  MetricsRegistry& metrics() { return metrics_; }

 private:
  counters::InMemoryCounters counters_;
  test::FakeClock clock_{*parse_iso8601("2026-06-15T12:00:00Z")};
  MetricsRegistry metrics_;
  App app_;
  Worker worker_;
};

// A GET answered by `worker` (one made with may_block, say), from the loopback.
Response get_from(Worker& worker, std::string_view target, const std::vector<Header>& headers = {}) {
  Request request;
  request.method = "GET";
  request.target = target;
  request.headers = headers;
  request.peer = *net::IpAddress::parse("127.0.0.1");
  Response response;
  worker.handle(request, response);
  return response;
}

std::string encode_component(std::string_view value) {
  std::string out;
  url::append_component(out, value);
  return out;
}

std::string click_target(const json::object& c, std::string_view extra = {}) {
  std::string target = "/pl?o=" + encode_component(c.at("o").as_string());
  for (const auto& [key, value] : c.at("query").as_object()) {
    target += "&" + std::string(key) + "=" + encode_component(value.as_string());
  }
  return target + std::string(extra);
}

std::vector<Header> visitor_headers(const json::object& c, bool admin = false) {
  std::vector<Header> headers{{"X-Forwarded-For", c.at("ip").as_string()},
                              {"User-Agent", c.at("user_agent").as_string()}};
  static const std::string bearer = "Bearer " + std::string(kAdminToken);
  if (admin) headers.push_back({"Authorization", bearer});
  return headers;
}

TEST(Handler, EveryCaseThroughTheClickRoute) {
  std::map<std::string, std::unique_ptr<Instance>> instances;  // a fresh instance per sequence
  std::size_t n = 0;
  for (const auto& entry : cases_file().at("cases").as_array()) {
    const json::object& c = entry.as_object();
    const json::value* sequence = c.at("expect").as_object().if_contains("sequence");
    auto& instance = instances[sequence ? std::string(sequence->as_string()) : "case " + std::to_string(n++)];
    if (!instance) instance = std::make_unique<Instance>();
    const std::string method(c.at("method").as_string());

    // The debug dry run first (it moves nothing), for the fields a Location does not show.
    const Response debug = instance->send("GET", click_target(c, "&debugging=debugging"), visitor_headers(c, true));
    const auto live_before =
        instance->counters().live_counts(counters::CounterScope::offer, 100, instance->clock().now());
    const Response response = instance->send(method, click_target(c), visitor_headers(c));

    test::ObservedClick seen;
    seen.status = static_cast<int>(response.status);
    seen.body = response.body;
    if (response.status == 302) {
      EXPECT_EQ(response.body, "Found. Redirecting to " + response.location);
      ASSERT_EQ(debug.status, 200U) << debug.body;
      test::observe_redirect(seen, response.location, debug.body, "urlsecret");
    } else {
      EXPECT_EQ(response.content_type.substr(0, 16), "application/json");
    }
    test::expect_case(c, seen);
    if (method == "HEAD") {  // answered, not counted as a click
      const auto after = instance->counters().live_counts(counters::CounterScope::offer, 100, instance->clock().now());
      EXPECT_EQ(after.clicks.day, live_before.clicks.day);
    }
  }
}

TEST(Handler, BlockedAndUndecodableClicksGetIdenticalBytes) {
  Instance instance;
  const Response no_link = instance.send("GET", "/pl");
  const Response garbage = instance.send("GET", "/pl?o=%00%ff%0d%0a");
  const Response unknown = instance.send(
      "GET", "/pl?o=" + std::string(cases_file().at("cases").as_array()[0].at("o").as_string()).replace(0, 2, "00"));
  for (const Response* r : {&no_link, &garbage, &unknown}) {
    EXPECT_EQ(r->status, 404U);
    EXPECT_EQ(r->body, kCampaignNotFound);
    EXPECT_TRUE(r->location.empty());
  }
}

TEST(Handler, PathsMatchIgnoringCaseWithOneTrailingSlash) {
  Instance instance;
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  std::string target = click_target(c);
  EXPECT_EQ(instance.send("GET", "/PL/" + target.substr(3), visitor_headers(c)).status, 302U);
  EXPECT_EQ(instance.send("GET", "/pl//" + target.substr(3), visitor_headers(c)).status, 404U);
  EXPECT_EQ(instance.send("GET", "/API/V1/HEALTH/").body, "Ok");
  const Response other = instance.send("GET", "/nothing-here");
  EXPECT_EQ(other.status, 404U);
  EXPECT_EQ(other.body, R"({"error":"not found"})");
}

TEST(Handler, OnlyGetAndHeadClick) {
  Instance instance;
  const Response r = instance.send("POST", "/pl?o=x");
  EXPECT_EQ(r.status, 405U);
  EXPECT_EQ(r.allow, "GET, HEAD");
}

// Health, readiness and metrics are read, never written: other methods get 405 with Allow.
TEST(Handler, HealthReadyAndMetricsAnswerGetAndHeadOnly) {
  Instance instance;
  for (const std::string path : {"/api/v1/health", "/ready", "/metrics"}) {
    EXPECT_NE(instance.send("GET", path).status, 405U) << path;
    EXPECT_NE(instance.send("HEAD", path).status, 405U) << path;
    for (const std::string method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
      const Response r = instance.send(method, path);
      EXPECT_EQ(r.status, 405U) << method << " " << path;
      EXPECT_EQ(r.allow, "GET, HEAD") << method << " " << path;
    }
  }
}

TEST(Handler, FirstQueryValueWins) {
  Instance instance;
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const Response r = instance.send("GET", click_target(c) + "&subid=second&o=garbage", visitor_headers(c));
  ASSERT_EQ(r.status, 302U);
  EXPECT_EQ(test::split_url(r.location).params.at("sub"), "S1");
}

TEST(Handler, DebugAnswersOnlyWithTheAdminTokenAndRecordsNothing) {
  Instance instance;
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string target = click_target(c, "&debugging=debugging");
  auto headers = visitor_headers(c);
  EXPECT_EQ(instance.send("GET", target, headers).status, 302U);  // no token: a normal click
  headers.push_back({"Authorization", "Bearer wrong"});
  EXPECT_EQ(instance.send("GET", target, headers).status, 302U);
  const auto before = instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now());
  EXPECT_EQ(before.clicks.day, 2);
  const Response debug = instance.send("GET", target, visitor_headers(c, true));
  ASSERT_EQ(debug.status, 200U);
  EXPECT_TRUE(debug.location.empty());
  const json::object answer = json::parse(debug.body).as_object();
  EXPECT_EQ(answer.at("status").as_string(), "success");
  EXPECT_EQ(answer.at("data").at("offer_id").as_int64(), 100);
  EXPECT_FALSE(answer.at("data").at("trace").as_array().empty());
  EXPECT_TRUE(lid::is_lid(answer.at("data").at("lid").as_string()));
  const auto after = instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now());
  EXPECT_EQ(after.clicks.day, before.clicks.day);
}

// Everything lane 0 of `spool` holds, as parsed JSON records.
std::vector<json::object> spooled(pipeline::Spool& spool) {
  std::vector<json::object> out;  // lane by lane
  for (std::size_t lane = 0; lane < spool.lanes(); ++lane) {
    spool.read(lane, {}, 1000, [&](std::string_view record) { out.push_back(json::parse(record).as_object()); });
  }
  return out;
}

pipeline::SpoolSettings spool_settings(const test::TempDir& dir) {
  pipeline::SpoolSettings settings;
  settings.directory = dir.path();
  settings.fsync_interval = std::chrono::milliseconds(0);
  settings.sinks = {"file"};
  settings.lanes = 2;  // a request thread's and the blocking worker's
  return settings;
}

// An in-process lid store that can say it waits on the network (as RedisLidStore does)
// and can be "down" (every lookup fails, as RedisLidStore's do when Redis is unreachable).
class TestLidStore final : public lid::LidStore {
 public:
  bool is_remote = false;
  bool down = false;
  Result<> put_many(std::span<const lid::LidRecord> records, TimestampMs now) override {
    return local_.put_many(records, now);
  }
  Result<std::optional<std::string>> get(std::string_view lid, TimestampMs now) override {
    if (down) return unreachable();
    return local_.get(lid, now);
  }
  Result<bool> mark(std::string_view lid, lid::LidMark which, TimestampMs now) override {
    if (down) return unreachable();
    return local_.mark(lid, which, now);
  }
  Result<> clear_mark(std::string_view lid, lid::LidMark which) override {
    if (down) return unreachable();
    return local_.clear_mark(lid, which);
  }
  [[nodiscard]] bool remote() const noexcept override { return is_remote; }

 private:
  static Failure unreachable() { return {Errc::unavailable, "127.0.0.1:6379: Connection refused"}; }
  lid::InMemoryLidStore local_{1000, SIZE_MAX, std::chrono::hours(24)};
};

TEST(Handler, ARecordedClickWaitsForItsCommit) {
  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  auto headers = visitor_headers(c);
  headers.push_back({"Host", "track.example"});
  headers.push_back({"Referer", "https://publisher.example/page"});
  Response response = instance.send("GET", click_target(c), headers);
  ASSERT_EQ(response.status, 302U);
  EXPECT_TRUE(response.awaits_commit);
  // Staged, not written: nothing readable and the live counters have not moved.
  EXPECT_TRUE(spooled(spool).empty());
  EXPECT_EQ(instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now()).clicks.day, 0);

  ASSERT_TRUE(instance.worker().commit_clicks());
  instance.worker().complete(response, true);
  EXPECT_EQ(response.status, 302U);
  EXPECT_FALSE(response.awaits_commit);
  EXPECT_EQ(instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now()).clicks.day, 1);
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 1U);
  const json::object& record = records[0];
  const auto params = test::split_url(response.location).params;
  EXPECT_EQ(record.at("lid").as_string(), params.at("lid"));
  EXPECT_EQ(record.at("landing_page").as_string(), response.location);
  EXPECT_EQ(record.at("offer_id").as_int64(), 100);
  EXPECT_EQ(record.at("domain").as_string(), "track.example");
  EXPECT_EQ(record.at("referer").as_string(), "https://publisher.example/page");
  EXPECT_EQ(record.at("ip").as_string(), c.at("ip").as_string());
  EXPECT_EQ(record.at("user_agent").as_string(), c.at("user_agent").as_string());
  EXPECT_EQ(record.at("ad_path").as_string(), click_target(c));
  EXPECT_EQ(record.at("event").as_string(), "traffic-api");
  EXPECT_EQ(record.at("date_added").as_int64(), instance.clock().now());
  EXPECT_EQ(record.at("sub_campaign").as_string(), c.at("query").at("subid").as_string());
  EXPECT_NE(instance.metrics().render({}).find("trafficd_requests_total{route=\"pl\",status=\"302\"} 1"),
            std::string::npos);
}

// A click whose values pass their bounds is recorded with them cut (a 4 KB subid made
// 25 KB records before), and each cut field is counted in /metrics.
TEST(Handler, LongVisitorValuesAreCutInTheRecordAndCounted) {
  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  auto headers = visitor_headers(c);
  const std::string host = std::string(300, 'h') + ".example";
  headers.push_back({"Host", host});
  const std::string target = click_target(c) + "&pad=" + std::string(3000, 'p');
  Response response = instance.send("GET", target, headers);
  ASSERT_EQ(response.status, 302U);
  ASSERT_TRUE(instance.worker().commit_clicks());
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].at("domain").as_string(), host.substr(0, 256));
  EXPECT_EQ(records[0].at("ad_path").as_string(), target.substr(0, 2048));
  EXPECT_EQ(records[0].at("sub_campaign").as_string(), c.at("query").at("subid").as_string());  // within its bound
  const std::string metrics = instance.metrics().render({});
  EXPECT_NE(metrics.find("trafficd_record_values_truncated_total{field=\"domain\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("trafficd_record_values_truncated_total{field=\"ad_path\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("trafficd_record_values_truncated_total{field=\"sub_campaign\"} 0"), std::string::npos);
}

// The request context a record carries (issue: it was ignored): Client Hints refine the
// device (a desktop Linux agent whose hints say Android and mobile is an Android
// smartphone); `ad_domain` is recorded; a link whose campaign names another offer is
// served (STRICT_LINK_PAIR off), marked `link_mismatch` and counted.
TEST(Handler, HintsAdDomainAndAMismatchedLinkAreRecorded) {
  test::TempDir dir("handler-context");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string agent =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
  const std::string ip(c.at("ip").as_string());
  auto click = [&](const std::string& target, std::vector<Header> headers) {
    headers.push_back({"X-Forwarded-For", ip});
    headers.push_back({"User-Agent", agent});
    Response r = instance.send("GET", target, headers);
    EXPECT_EQ(r.status, 302U) << r.body;
    instance.worker().complete(r, instance.worker().commit_clicks());
  };
  click(click_target(c), {});
  click(click_target(c) + "&ad_domain=news.example",
        {{"Sec-CH-UA-Platform", "\"Android\""}, {"Sec-CH-UA-Mobile", "?1"}, {"Sec-CH-UA-Model", "\"Pixel 8\""}});
  const std::string mismatched = link::encode_v1({.offer_id = 110, .campaign_id = 10}, instance.app().settings().keys);
  click("/pl?o=" + encode_component(mismatched), {});
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0].at("os").as_string(), "Linux");
  EXPECT_EQ(records[0].at("device").as_string(), "desktop");
  EXPECT_EQ(records[0].at("ad_domain").as_string(), "");
  EXPECT_FALSE(records[0].at("link_mismatch").as_bool());
  EXPECT_EQ(records[1].at("os").as_string(), "Android");
  EXPECT_EQ(records[1].at("device").as_string(), "smartphone");
  EXPECT_EQ(records[1].at("ad_domain").as_string(), "news.example");
  EXPECT_TRUE(records[2].at("link_mismatch").as_bool());
  EXPECT_EQ(records[2].at("origin_offer_id").as_int64(), 110);  // the link's offer
  EXPECT_NE(instance.metrics().render({}).find("trafficd_link_mismatches_total 1\n"), std::string::npos);
}

TEST(Handler, TheFirstVisitOfADayIsUniqueUnlessTheLinkDisablesIt) {
  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  lid::InMemoryUniqueVisits visits(1000);
  Instance instance(test_config(), nullptr, &spool, nullptr, &visits);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  auto headers = visitor_headers(c);
  headers.push_back({"Accept-Language", "en-US"});
  for (const std::string extra : {"", "", "&fp=disabled"}) {
    Response r = instance.send("GET", click_target(c, extra), headers);
    ASSERT_TRUE(instance.worker().commit_clicks());
    instance.worker().complete(r, true);
  }
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 3U);
  EXPECT_TRUE(records[0].at("is_unique_visit").as_bool());
  EXPECT_FALSE(records[1].at("is_unique_visit").as_bool());
  EXPECT_EQ(records[0].at("fingerprint").as_string().size(), 16U);
  EXPECT_EQ(records[0].at("fingerprint"), records[1].at("fingerprint"));
  EXPECT_EQ(records[2].at("fingerprint").as_string(), "");
  EXPECT_FALSE(records[2].at("is_unique_visit").as_bool());
}

TEST(Handler, HeadDebugAndBlockedClicksWriteNothing) {
  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const Response head = instance.send("HEAD", click_target(c), visitor_headers(c));
  const Response debug = instance.send("GET", click_target(c, "&debugging=debugging"), visitor_headers(c, true));
  const Response blocked = instance.send("GET", "/pl?o=garbage", visitor_headers(c));
  EXPECT_EQ(head.status, 302U);
  EXPECT_EQ(debug.status, 200U);
  EXPECT_EQ(blocked.status, 404U);
  for (const Response* r : {&head, &debug, &blocked}) EXPECT_FALSE(r->awaits_commit);
  ASSERT_TRUE(instance.worker().commit_clicks());
  EXPECT_TRUE(spooled(spool).empty());
  EXPECT_EQ(spool.stats().appended, 0U);
}

TEST(Handler, ClicksOfOneTurnShareOneWriteInOrder) {
  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  std::vector<Response> responses;
  for (int i = 0; i < 5; ++i) responses.push_back(instance.send("GET", click_target(c), visitor_headers(c)));
  ASSERT_TRUE(instance.worker().commit_clicks());
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(records[i].at("lid").as_string(), test::split_url(responses[i].location).params.at("lid"));
  }
  EXPECT_EQ(instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now()).clicks.day, 5);
}

// Rotation counts served clicks: a click the spool refuses (503) gives its turn back; a
// recorded one keeps it.
TEST(Handler, ARefusedClickGivesItsRotationTurnBack) {
  const auto& c = cases_file().at("cases").as_array()[22].as_object();  // an aggregated offer's rotation
  ASSERT_EQ(c.at("expect").at("sequence"), "rotation");
  auto turns = [&](Instance& instance) {
    const auto ids = link::decode(c.at("o").as_string(), instance.app().settings().keys, true);
    return instance.counters().served(ids->campaign_id, 130) + instance.counters().served(ids->campaign_id, 131);
  };
  test::TempDir full_dir("handler-full-spool");
  pipeline::SpoolSettings full = spool_settings(full_dir);
  full.max_bytes = 100;  // smaller than any click record; policy reject
  pipeline::Spool full_spool(full);
  Instance refusing(test_config(), nullptr, &full_spool);
  EXPECT_EQ(refusing.send("GET", click_target(c), visitor_headers(c)).status, 503U);
  EXPECT_EQ(turns(refusing), 0);

  test::TempDir dir("handler-spool");
  pipeline::Spool spool(spool_settings(dir));
  Instance serving(test_config(), nullptr, &spool);
  Response served = serving.send("GET", click_target(c), visitor_headers(c));
  ASSERT_EQ(served.status, 302U);
  serving.worker().complete(served, serving.worker().commit_clicks());
  EXPECT_EQ(turns(serving), 1);
}

TEST(Handler, AClickTheSpoolRefusesIsNotAcknowledged) {
  test::TempDir dir("handler-spool");
  pipeline::SpoolSettings settings = spool_settings(dir);
  settings.max_bytes = 100;  // smaller than any click record; policy reject
  pipeline::Spool spool(settings);
  Instance instance(test_config(), nullptr, &spool);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const Response refused = instance.send("GET", click_target(c), visitor_headers(c));
  EXPECT_EQ(refused.status, 503U);
  EXPECT_TRUE(refused.location.empty());
  EXPECT_FALSE(refused.awaits_commit);
  EXPECT_EQ(refused.body, R"({"error":"temporarily unavailable"})");
  ASSERT_TRUE(instance.worker().commit_clicks());
  EXPECT_EQ(instance.counters().live_counts(counters::CounterScope::offer, 100, instance.clock().now()).clicks.day, 0);
  const std::string metrics = instance.metrics().render({});
  EXPECT_NE(metrics.find("trafficd_unrecorded_clicks_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("trafficd_requests_total{route=\"pl\",status=\"503\"} 1"), std::string::npos);

  // A write that fails after staging: complete() turns the staged 302 into the same 503.
  Response staged;
  staged.status = 302;
  staged.location = "https://lp.example/";
  staged.awaits_commit = true;
  instance.worker().complete(staged, false);
  EXPECT_EQ(staged.status, 503U);
  EXPECT_TRUE(staged.location.empty());
}

// A click → its record in the spool → the lid store (fed as the emitter would) → postbacks.
class PostbackFlow : public ::testing::Test {
 protected:
  PostbackFlow() : spool_(spool_settings(dir_)), instance_(config(), nullptr, &spool_, &store_) {}
  static config::Config config() {
    config::Config c = test_config();
    c.gateway_api_secret = "gateway-secret";
    c.postback_hmac_keys = "old-key,new-key";
    return c;
  }
  // One recorded click; returns its lid.
  std::string click() {
    const auto& c = cases_file().at("cases").as_array()[0].as_object();
    Response r = instance_.send("GET", click_target(c), visitor_headers(c));
    EXPECT_EQ(r.status, 302U);
    commit(r);
    spool_.read(0, read_, 1000, [&](std::string_view record) { records_.emplace_back(record); });
    read_ = spool_.read(0, read_, 1000, [](std::string_view) {});
    std::vector<std::string_view> views(records_.begin(), records_.end());
    pipeline::LidStoreSink(store_, [&] { return instance_.clock().now(); }).deliver(views);
    return test::split_url(r.location).params.at("lid");
  }
  void commit(Response& r) {
    if (!r.awaits_commit) return;
    instance_.worker().complete(r, instance_.worker().commit_clicks());
  }
  Response post(const std::string& body, std::vector<Header> headers = {}) {
    Response r = instance_.send("POST", "/lid", std::move(headers), body);
    commit(r);
    return r;
  }
  std::string signed_body(const std::string& lid, TimestampMs ts, std::string_view secret = "gateway-secret") {
    const std::string t = std::to_string(ts);
    return R"({"lid":")" + lid + R"(","hash":")" + test::md5_hex(t + "|" + std::string(secret)) + R"(","timestamp":)" +
           t + "}";
  }
  // Every record the spool holds, parsed.
  std::vector<json::object> all_records() { return spooled(spool_); }
  std::int64_t sales() {
    return instance_.counters().live_counts(counters::CounterScope::offer, 100, instance_.clock().now()).sales.day;
  }

  test::TempDir dir_{"postback"};
  pipeline::Spool spool_;
  TestLidStore store_;
  Instance instance_;
  pipeline::SpoolPosition read_;
  std::vector<std::string> records_;
};

TEST_F(PostbackFlow, ConvertOnceThenEveryRefusal) {
  const std::string lid = click();
  const TimestampMs now = instance_.clock().now();
  Response ok = post(signed_body(lid, now));
  EXPECT_EQ(ok.status, 200U);
  EXPECT_EQ(json::parse(ok.body),
            json::parse(R"({"success":true,"lid":")" + lid + R"(","message":"Lid successfully created in redshift"})"));
  EXPECT_EQ(sales(), 1);
  const auto records = all_records();
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[1].at("event").as_string(), "traffic-bonus");
  EXPECT_EQ(records[1].at("lid").as_string(), lid);
  EXPECT_EQ(records[1].at("date_added").as_int64(), now);

  auto errors_of = [&](const Response& r) {
    EXPECT_EQ(r.status, 200U);
    const json::object answer = json::parse(r.body).as_object();
    EXPECT_EQ(answer.at("success").as_bool(), false);
    return std::string(answer.at("errors").as_string());
  };
  EXPECT_EQ(errors_of(post(signed_body(lid, now))), "LID already added");
  EXPECT_EQ(errors_of(post(signed_body(lid, now, "wrong-secret"))), "Broken hash");
  EXPECT_EQ(errors_of(post(signed_body(lid, now - 301'000))), "Broken hash");  // stale
  EXPECT_EQ(errors_of(post(signed_body(lid, now + 301'000))), "Broken hash");  // from the future
  EXPECT_EQ(errors_of(post(signed_body("00000000-0000-4000-8000-000000000000", now))),
            "Lid does not exists in dynamodb");
  const Response malformed = post("{not json");
  EXPECT_EQ(malformed.status, 400U);
  EXPECT_NO_THROW((void)json::parse(malformed.body));
  EXPECT_EQ(instance_.send("GET", "/lid").status, 405U);
  EXPECT_EQ(all_records().size(), 2U);  // the conversion record is there once
  EXPECT_EQ(sales(), 1);
}

// A POST /lid handled by a Worker that may block (trafficd's http-blocking thread), its
// records committed as the server would.
Response post_on(Worker& blocking, std::string_view body) {
  Request request;
  request.method = "POST";
  request.target = "/lid";
  request.body = body;
  Response answer;
  blocking.handle(request, answer);
  if (answer.awaits_commit) blocking.complete(answer, blocking.commit_clicks());
  return answer;
}

// Read-your-writes: a postback sent the moment its click's 302 left, before the lid
// store's sink has run (it starts only after the first attempt here), misses on the request
// thread, is handed to a Worker that may block, which waits for the sink and converts the
// click. (That the wait wakes a sink in its poll: EmitterTest.AwaitTaken….)
TEST(Handler, APostbackRightAfterItsClickAwaitsTheLidStoreAndConverts) {
  test::TempDir dir("postback-ryw");
  pipeline::Spool spool(spool_settings(dir));
  lid::InMemoryLidStore store(1000, SIZE_MAX, std::chrono::hours(24));
  test::FakeClock* clock = nullptr;
  std::vector<pipeline::Emitter::NamedSink> sinks;
  sinks.push_back({"file", std::make_unique<pipeline::LidStoreSink>(store, [&] { return clock->now(); })});
  pipeline::EmitterSettings slow;
  slow.poll = std::chrono::seconds(10);
  pipeline::Emitter emitter(spool, std::move(sinks), slow);
  config::Config config = test_config();
  config.gateway_api_secret = "gateway-secret";
  Instance instance(config, nullptr, &spool, &store, nullptr,
                    [&](std::chrono::milliseconds limit) { return emitter.await_taken("file", limit); });
  clock = &instance.clock();

  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  Response click = instance.send("GET", click_target(c), visitor_headers(c));
  ASSERT_EQ(click.status, 302U);
  instance.worker().complete(click, instance.worker().commit_clicks());
  const std::string lid = test::split_url(click.location).params.at("lid");
  const std::string t = std::to_string(instance.clock().now());
  const std::string body =
      R"({"lid":")" + lid + R"(","hash":")" + test::md5_hex(t + "|gateway-secret") + R"(","timestamp":)" + t + "}";

  Response handed = instance.send("POST", "/lid", {}, body);
  EXPECT_TRUE(handed.offload);  // not in the store yet: not "does not exist"
  emitter.start();
  Worker blocking(instance.app(), 1, /*may_block=*/true);
  const Response answer = post_on(blocking, body);
  EXPECT_NE(answer.body.find("Lid successfully created in redshift"), std::string::npos) << answer.body;

  // A lid that is nowhere: the sink has caught up, so "does not exist" comes at once.
  const std::string unknown = R"({"lid":"00000000-0000-4000-8000-000000000000","hash":")" +
                              test::md5_hex(t + "|gateway-secret") + R"(","timestamp":)" + t + "}";
  EXPECT_NE(post_on(blocking, unknown).body.find("Lid does not exists in dynamodb"), std::string::npos);
  emitter.stop(std::chrono::milliseconds(0));
}

// A lid-store sink that cannot catch up (failing: Redis away, a failover) may hold the click:
// a miss is then a 503 to retry, never a final "does not exist".
TEST(Handler, APostbackMissWhileTheLidStoreIsBehindIsRetried) {
  test::TempDir dir("postback-behind");
  pipeline::Spool spool(spool_settings(dir));
  lid::InMemoryLidStore store(1000, SIZE_MAX, std::chrono::hours(24));
  config::Config config = test_config();
  config.gateway_api_secret = "gateway-secret";
  Instance instance(config, nullptr, &spool, &store, nullptr, [](std::chrono::milliseconds) { return false; });
  const std::string t = std::to_string(instance.clock().now());
  const std::string body = R"({"lid":"00000000-0000-4000-8000-000000000000","hash":")" +
                           test::md5_hex(t + "|gateway-secret") + R"(","timestamp":)" + t + "}";
  Worker blocking(instance.app(), 1, /*may_block=*/true);
  const Response answer = post_on(blocking, body);
  EXPECT_EQ(answer.status, 503U) << answer.body;
  EXPECT_EQ(answer.retry_after, "1");
}

// With the lid store in Redis a request thread does nothing for a postback but say so; a
// Worker that may block (trafficd's http-blocking thread) answers it.
TEST_F(PostbackFlow, ARemoteLidStoreIsOnlyReachedByAWorkerThatMayBlock) {
  const std::string lid = click();
  store_.is_remote = true;
  const std::string body = signed_body(lid, instance_.clock().now());
  Response handed = post(body);
  EXPECT_TRUE(handed.offload);
  EXPECT_FALSE(handed.awaits_commit);
  EXPECT_EQ(all_records().size(), 1U);
  const std::string bearer = "Bearer " + std::string(kAdminToken);  // Header holds views
  EXPECT_TRUE(instance_.send("GET", "/getRecipeData?resendLid=yes&lid=" + lid, {{"Authorization", bearer}}).offload);

  Worker blocking(instance_.app(), 1, /*may_block=*/true);
  Request request;
  request.method = "POST";
  request.target = "/lid";
  request.body = body;
  Response answer;
  blocking.handle(request, answer);
  EXPECT_FALSE(answer.offload);
  ASSERT_TRUE(answer.awaits_commit);
  blocking.complete(answer, blocking.commit_clicks());
  EXPECT_NE(answer.body.find("successfully"), std::string::npos) << answer.body;
  EXPECT_EQ(all_records().size(), 2U);
  EXPECT_EQ(sales(), 1);

  // Redis unreachable: a 503 the advertiser retries, nothing recorded, no internal text.
  store_.down = true;
  blocking.handle(request, answer);
  EXPECT_EQ(answer.status, 503U);
  EXPECT_EQ(json::parse(answer.body), json::parse(R"({"error":"temporarily unavailable"})"));
  EXPECT_FALSE(answer.awaits_commit);
  EXPECT_EQ(all_records().size(), 2U);
}

TEST_F(PostbackFlow, HmacSignatureInsteadOfTheHash) {
  const std::string lid = click();
  const std::string t = std::to_string(instance_.clock().now());
  const std::string body = R"({"lid":")" + lid + R"(","timestamp":)" + t + "}";
  const std::string wrong = test::hmac_sha256_hex("unknown-key", t + "." + body);
  EXPECT_NE(post(body, {{"X-Signature", wrong}}).body.find("Broken hash"), std::string::npos);
  const std::string right = test::hmac_sha256_hex("new-key", t + "." + body);
  EXPECT_NE(post(body, {{"X-Signature", right}}).body.find("successfully"), std::string::npos);
}

TEST_F(PostbackFlow, ResendLidEmitsTheClickOnceAndDelAllowsAnotherConversionAndResend) {
  const std::string lid = click();
  const TimestampMs now = instance_.clock().now();
  ASSERT_NE(post(signed_body(lid, now)).body.find("successfully"), std::string::npos);
  const std::string bearer = "Bearer " + std::string(kAdminToken);  // Header holds views
  const std::vector<Header> admin{{"Authorization", bearer}};
  EXPECT_EQ(instance_.send("GET", "/getRecipeData?resendLid=yes&lid=" + lid).status, 401U);
  Response resent = instance_.send("GET", "/getRecipeData?resendLid=yes&lid=" + lid, admin);
  commit(resent);
  ASSERT_EQ(resent.status, 200U) << resent.body;
  EXPECT_EQ(json::parse(resent.body).at("success").as_bool(), true) << resent.body;
  auto records = all_records();
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[2].at("event").as_string(), "traffic-manually");
  EXPECT_EQ(records[2].at("click_date_added").as_int64(), records[0].at("date_added").as_int64());
  // Once (SPEC §9): a second resend is refused and writes nothing.
  Response again = instance_.send("GET", "/getRecipeData?resendLid=yes&lid=" + lid, admin);
  commit(again);
  EXPECT_EQ(json::parse(again.body).at("errors").as_string(), "Lid already resent") << again.body;
  EXPECT_EQ(all_records().size(), 3U);

  EXPECT_NE(post(signed_body(lid, now)).body.find("LID already added"), std::string::npos);
  Response del = instance_.send("GET", "/getRecipeData?resendLid=del&lid=" + lid, admin);
  EXPECT_EQ(json::parse(del.body).at("success").as_bool(), true);
  EXPECT_NE(post(signed_body(lid, now)).body.find("successfully"), std::string::npos);
  EXPECT_EQ(sales(), 2);
  Response after_del = instance_.send("GET", "/getRecipeData?resendLid=yes&lid=" + lid, admin);  // del cleared it too
  commit(after_del);
  EXPECT_NE(after_del.body.find("Lid resent"), std::string::npos) << after_del.body;
  EXPECT_EQ(instance_.send("GET", "/getRecipeData?resendLid=maybe&lid=" + lid, admin).status, 400U);
}

TEST_F(PostbackFlow, AConversionTheSpoolRefusesCanBeRetried) {
  test::TempDir full_dir("postback-full");
  pipeline::SpoolSettings settings = spool_settings(full_dir);
  settings.max_bytes = 100;  // refuses every record
  pipeline::Spool full(settings);
  Instance instance(config(), nullptr, &full, &store_);
  const std::string lid = "11111111-1111-4111-8111-111111111111";
  store_.put(lid, R"({"lid":")" + lid + R"(","offer_id":100,"campaign_id":10,"event":"traffic-api"})",
             instance.clock().now());
  const std::string t = std::to_string(instance.clock().now());
  const std::string body =
      R"({"lid":")" + lid + R"(","hash":")" + test::md5_hex(t + "|gateway-secret") + R"(","timestamp":)" + t + "}";
  const Response refused = instance.send("POST", "/lid", {}, body);
  EXPECT_EQ(refused.status, 503U);
  EXPECT_TRUE(store_.mark(lid, lid::LidMark::converted, instance.clock().now()));  // the mark was undone
}

TEST(Handler, DebugCanBeOpenedForDevelopment) {
  config::Config config = test_config();
  config.debug_open = true;
  Instance instance(config);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  EXPECT_EQ(instance.send("GET", click_target(c, "&debugging=debugging"), visitor_headers(c)).status, 200U);
}

TEST(Handler, ForwardedForFromAnUntrustedPeerIsIgnored) {
  Instance instance;
  // Offer 110 blocks US; the header claims a US address, but the peer is not a trusted proxy.
  const json::object* geo_case = nullptr;
  for (const auto& entry : cases_file().at("cases").as_array()) {
    if (entry.at("name").as_string() == "geo block-list sends the visitor to the exit offer") {
      geo_case = &entry.as_object();
    }
  }
  ASSERT_NE(geo_case, nullptr);
  const Response trusted = instance.send("GET", click_target(*geo_case), visitor_headers(*geo_case));
  EXPECT_EQ(test::split_url(trusted.location).params.at("offer_id"), "101");
  const Response spoofed = instance.send("GET", click_target(*geo_case), visitor_headers(*geo_case), {}, "203.0.113.5");
  EXPECT_EQ(test::split_url(spoofed.location).params.at("offer_id"), "110");
}

TEST(Handler, RequestIdIsEchoedWhenSafeAndGeneratedOtherwise) {
  Instance instance;
  EXPECT_EQ(instance.send("GET", "/api/v1/health", {{"X-Request-Id", "abc-123_x.y:z"}}).request_id, "abc-123_x.y:z");
  const Response hostile = instance.send("GET", "/api/v1/health", {{"X-Request-Id", "a\r\nSet-Cookie: x"}});
  EXPECT_TRUE(lid::is_lid(hostile.request_id)) << hostile.request_id;
  EXPECT_TRUE(lid::is_lid(instance.send("GET", "/api/v1/health").request_id));
  EXPECT_TRUE(
      lid::is_lid(instance.send("GET", "/api/v1/health", {{"X-Request-Id", std::string(200, 'a')}}).request_id));
}

TEST(Handler, ReadinessNeedsARecipeAndSaysWhyNot) {
  Instance instance;
  EXPECT_EQ(instance.send("GET", "/ready").status, 200U);
  instance.app().draining = true;
  const Response draining = instance.send("GET", "/ready");
  EXPECT_EQ(draining.status, 503U);
  EXPECT_EQ(json::parse(draining.body).at("reason").as_string(), "shutting down");

  recipe::Store empty;
  Instance without_recipe(test_config(), &empty);
  const Response r = without_recipe.send("GET", "/ready");
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(json::parse(r.body).at("reason").as_string(), "no recipe loaded yet");
}

TEST(Handler, AdminRoutesNeedTheToken) {
  Instance instance;
  for (const char* target : {"/admin/explain?o=x", "/getRecipeData?offerId=100", "/admin/records"}) {
    const Response r = instance.send("GET", target);
    EXPECT_EQ(r.status, 401U) << target;
    EXPECT_EQ(r.body, R"({"error":"unauthorized"})");
  }
  config::Config closed = test_config();
  closed.admin_token.clear();  // no token configured: closed to everyone
  Instance locked(closed);
  EXPECT_EQ(locked.send("GET", "/getRecipeData?offerId=100", {{"Authorization", "Bearer "}}).status, 401U);
}

TEST(Handler, AdminExplainRecipeDataAndRecordUpdates) {
  Instance instance;
  const std::string bearer = "Bearer " + std::string(kAdminToken);  // Header holds views
  const std::vector<Header> admin{{"Authorization", bearer}};
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  const Response explain = instance.send(
      "GET", "/admin/explain?o=" + encode_component(c.at("o").as_string()) + "&ip=216.160.83.56&ua=curl%2F8", admin);
  ASSERT_EQ(explain.status, 200U) << explain.body;
  const json::object answer = json::parse(explain.body).as_object();
  EXPECT_EQ(answer.at("geo").as_string(), "US");
  EXPECT_EQ(answer.at("redirect_type").as_string(), "defaultRedirection");
  EXPECT_EQ(instance.send("GET", "/admin/explain?o=nonsense", admin).status, 400U);

  const Response data = instance.send("GET", "/getRecipeData?offerId=100&campaignId=10", admin);
  ASSERT_EQ(data.status, 200U);
  EXPECT_TRUE(std::string_view(json::parse(data.body).at("offer").at("landingPageUrl").as_string())
                  .starts_with("https://lp.example.com"));
  EXPECT_EQ(json::parse(data.body).at("offer").at("status").as_string(), "public");
  EXPECT_EQ(json::parse(data.body).at("campaign").at("affiliateStatus").as_string(), "active");
  EXPECT_EQ(instance.send("GET", "/getRecipeData?offerId=abc", admin).status, 400U);

  // A record update through the admin route changes the next click (own store: the
  // shared one stays as the other tests expect it).
  recipe::Store store;
  (void)store.replace(*Shared::get().store.current());
  Instance updated(test_config(), &store);
  const std::string update =
      R"({"type":"offer","id":100,"action":"updateOrCreate","timestamp":1750000000000,)"
      R"("body":"{\"offerId\":100,\"status\":\"public\",\"landingPageUrl\":\"https://new.example.com/\",\"payin\":1,\"payout\":1}"})";
  EXPECT_EQ(updated.send("GET", "/admin/records", admin, update).status, 405U);
  const Response applied = updated.send("POST", "/admin/records", admin, update);
  ASSERT_EQ(applied.status, 200U) << applied.body;
  EXPECT_EQ(json::parse(applied.body).at("status").as_string(), "applied");
  const Response click = updated.send("GET", click_target(c), visitor_headers(c));
  EXPECT_EQ(test::split_url(click.location).host, "new.example.com");
  const Response stale = updated.send("POST", "/admin/records", admin,
                                      R"({"type":"offer","id":100,"action":"delete","timestamp":1700000000000})");
  EXPECT_EQ(json::parse(stale.body).at("status").as_string(), "ignored_stale");
  EXPECT_EQ(updated.send("POST", "/admin/records", admin, "{not json").status, 400U);
  // A reload may download the recipe: a request thread hands it to a Worker that may block.
  EXPECT_TRUE(updated.send("POST", "/admin/recipe/reload", admin).offload);
  Worker blocking(updated.app(), 0, /*may_block=*/true);
  Request reload;
  reload.method = "POST";
  reload.target = "/admin/recipe/reload";
  reload.headers = admin;
  reload.peer = *net::IpAddress::parse("127.0.0.1");
  Response reloaded;
  blocking.handle(reload, reloaded);
  EXPECT_EQ(reloaded.body, R"({"status":"done","message":"reloaded"})");
}

TEST(Handler, RefusingV1LinksAnswersThemLikeAnyBadLink) {
  config::Config config = test_config();
  config.refuse_v1_links = true;
  Instance instance(config);
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  EXPECT_EQ(instance.send("GET", click_target(c), visitor_headers(c)).body, kCampaignNotFound);
}

TEST(Handler, MetricsCountByRouteStatusDecisionAndBlock) {
  Instance instance;
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  instance.send("GET", click_target(c), visitor_headers(c));
  instance.send("HEAD", click_target(c), visitor_headers(c));
  instance.send("GET", "/pl?o=bad");
  const Response metrics = instance.send("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200U);
  const std::string& text = metrics.body;
  EXPECT_NE(text.find("trafficd_requests_total{route=\"pl\",status=\"302\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("trafficd_requests_total{route=\"pl\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("trafficd_decisions_total{redirect_type=\"defaultRedirection\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("trafficd_blocked_clicks_total{reason=\"undecodable_link\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("trafficd_head_requests_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("trafficd_click_duration_seconds_count 2\n"), std::string::npos);  // GET and HEAD
  EXPECT_NE(text.find("trafficd_recipe_offers 22\n"), std::string::npos);
}

// ---- site events (SPEC §13, docs/events.md) ----

constexpr std::string_view kDesktopAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

Response commit(Instance& instance, Response response) {
  if (response.awaits_commit) instance.worker().complete(response, instance.worker().commit_clicks());
  return response;
}

TEST(Handler, EventsAreRecordedWithTheVisitorAndAnsweredOnceWritten) {
  test::TempDir dir("handler-events");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const std::vector<Header> headers = {
      {"Content-Type", "text/plain;charset=UTF-8"}, {"User-Agent", kDesktopAgent}, {"X-Forwarded-For", "81.2.69.142"}};
  Response response = instance.send("POST", "/event", headers,
                                    R"([{"type":"pageView","website":"news.example","page":"/story"},
                        {"type":"adImpression","website":"news.example","ad_id":"a1","user_id":"u-9"}])");
  ASSERT_EQ(response.status, 202U) << response.body;
  EXPECT_TRUE(response.awaits_commit);
  EXPECT_TRUE(spooled(spool).empty());  // staged, not written: not answered yet
  response = commit(instance, std::move(response));
  EXPECT_EQ(response.status, 202U);
  EXPECT_EQ(json::parse(response.body).at("accepted").as_int64(), 2);

  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].at("event").as_string(), "traffic-event");
  EXPECT_EQ(records[0].at("event_type").as_string(), "pageView");
  EXPECT_EQ(records[0].at("page").as_string(), "/story");
  EXPECT_EQ(records[0].at("geo").as_string(), "GB");  // X-Forwarded-For from the trusted loopback
  EXPECT_EQ(records[0].at("device").as_string(), "desktop");
  // No user_id: the visitor is the tid cookie minted for this answer.
  ASSERT_EQ(response.set_cookie.rfind("tid=", 0), 0U) << response.set_cookie;
  const std::string tid = response.set_cookie.substr(4, 36);
  EXPECT_EQ(records[0].at("visitor_id").as_string(), tid);
  EXPECT_EQ(records[0].at("visitor_id_source").as_string(), "cookie");
  EXPECT_EQ(records[1].at("visitor_id").as_string(), "u-9");
  EXPECT_EQ(records[1].at("visitor_id_source").as_string(), "user_id");
  EXPECT_NE(records[0].at("event_id"), records[1].at("event_id"));

  // The returning visitor brings the cookie: no new one, the same visitor.
  std::vector<Header> returning = headers;
  const std::string cookie = "other=1; tid=" + tid;
  returning.push_back({"Cookie", cookie});
  response =
      commit(instance, instance.send("POST", "/event", returning, R"({"type":"adClick","website":"w","ad_id":"a1"})"));
  ASSERT_EQ(response.status, 202U) << response.body;
  EXPECT_EQ(response.set_cookie, "");
  EXPECT_EQ(spooled(spool).back().at("visitor_id").as_string(), tid);
}

TEST(Handler, ARequestWithOneBadEventIsRefusedWholeAndRecordsNothing) {
  test::TempDir dir("handler-events");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  const Response refused = instance.send("POST", "/event", {{"Content-Type", "application/json"}},
                                         R"([{"type":"pageView","website":"w","page":"/"},
                                             {"type":"adClick","website":"w"}])");
  EXPECT_EQ(refused.status, 400U);
  EXPECT_FALSE(refused.awaits_commit);
  const json::object answer = json::parse(refused.body).as_object();
  EXPECT_EQ(answer.at("index").as_int64(), 1);
  EXPECT_EQ(answer.at("field").as_string(), "ad_id");
  EXPECT_TRUE(instance.worker().commit_clicks());
  EXPECT_TRUE(spooled(spool).empty());

  EXPECT_EQ(
      instance.send("POST", "/event", {{"Content-Type", "application/x-www-form-urlencoded"}}, "type=pageView").status,
      415U);
  EXPECT_EQ(instance.send("POST", "/event", {}, std::string(65 * 1024, ' ')).status, 413U);
  EXPECT_EQ(instance.send("PUT", "/event", {}, "{}").status, 405U);
  EXPECT_NE(instance.metrics().render({}).find("trafficd_event_requests_refused_total 3\n"), std::string::npos);
}

TEST(Handler, WhenTheSpoolRefusesAnEventNoneOfTheRequestIsRecorded) {
  test::TempDir dir("handler-events");
  pipeline::SpoolSettings settings = spool_settings(dir);
  settings.max_bytes = 64 << 10;  // room for a few events, not for a hundred
  settings.segment_bytes = 8 << 10;
  pipeline::Spool spool(settings);
  Instance instance(test_config(), nullptr, &spool);
  std::string hundred = "[";
  for (int i = 0; i < 100; ++i) {
    hundred +=
        (i ? "," : "") + std::string(R"({"type":"pageView","website":"w","page":"/)") + std::string(400, 'p') + R"("})";
  }
  hundred += "]";
  const Response response = instance.send("POST", "/event", {}, hundred);
  EXPECT_EQ(response.status, 503U);
  EXPECT_FALSE(response.awaits_commit);
  EXPECT_TRUE(instance.worker().commit_clicks());
  EXPECT_TRUE(spooled(spool).empty());  // not the first ones either
}

TEST(Handler, APixelAnswersTheGifWhateverTheEvent) {
  test::TempDir dir("handler-events");
  pipeline::Spool spool(spool_settings(dir));
  Instance instance(test_config(), nullptr, &spool);
  Response good = commit(instance, instance.send("GET", "/event?type=adImpression&website=w&ad_id=a%201&props.slot=top",
                                                 {{"User-Agent", kDesktopAgent}}));
  EXPECT_EQ(good.status, 200U);
  EXPECT_EQ(good.content_type, "image/gif");
  EXPECT_EQ(good.cache_control, "no-store");
  EXPECT_EQ(good.body.substr(0, 6), "GIF89a");
  const auto records = spooled(spool);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].at("ad_id").as_string(), "a 1");
  EXPECT_EQ(records[0].at("props").at("slot").as_string(), "top");

  const Response bad = commit(instance, instance.send("GET", "/event?type=adClick&website=w"));
  EXPECT_EQ(bad.status, 200U);
  EXPECT_EQ(bad.body, good.body);
  EXPECT_EQ(spooled(spool).size(), 1U);
  EXPECT_NE(instance.metrics().render({}).find("trafficd_event_pixels_refused_total 1\n"), std::string::npos);
}

TEST(Handler, CorsOnlyForTheConfiguredOrigins) {
  config::Config config = test_config();
  config.event_origins = "https://news.example, https://blog.example";
  Instance instance(config);
  const Response preflight = instance.send("OPTIONS", "/event", {{"Origin", "https://blog.example"}});
  EXPECT_EQ(preflight.status, 204U);
  EXPECT_EQ(preflight.cors_origin, "https://blog.example");
  EXPECT_TRUE(preflight.cors_preflight);
  const Response stranger = instance.send("OPTIONS", "/event", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(stranger.status, 204U);
  EXPECT_EQ(stranger.cors_origin, "");
  const Response posted = instance.send("POST", "/event", {{"Origin", "https://news.example"}},
                                        R"({"type":"pageView","website":"w","page":"/"})");
  EXPECT_EQ(posted.status, 202U);
  EXPECT_EQ(posted.cors_origin, "https://news.example");
}

TEST(Handler, TheSiteSnippetIsServedSmallAndCached) {
  Instance instance;
  const Response script = instance.send("GET", "/t.js");
  EXPECT_EQ(script.status, 200U);
  EXPECT_EQ(script.content_type, "application/javascript; charset=utf-8");
  EXPECT_EQ(script.cache_control, "public, max-age=3600");
  EXPECT_LE(script.body.size(), 3072U);  // SPEC §13: ≤ 3 KB
  for (const char* part : {"sendBeacon", "IntersectionObserver", "data-ad-id", "pageView", "adImpression", "adClick"}) {
    EXPECT_NE(script.body.find(part), std::string::npos) << part;
  }
  EXPECT_EQ(instance.send("POST", "/t.js").status, 405U);
}

// Events posted through the route are counted by the analytics sink reading the spool, and
// read back by /admin/stats on a Worker that may block.
TEST(Handler, EventsAreCountedAndTheStatsRoutesReadThem) {
  test::TempDir dir("handler-stats");
  test::RedisServer redis(dir.path() / "redis");
  pipeline::SpoolSettings settings = spool_settings(dir);
  settings.sinks = {"analytics"};
  pipeline::Spool spool(settings);
  events::AnalyticsReader reader(redis.endpoint(), "t:");
  Instance instance(test_config(), nullptr, &spool, nullptr, nullptr, {}, &reader);
  // Days past their retention are gone at once (EXPIREAT in the past): events of today.
  instance.clock().set(SystemClock().now());
  const events::Day today = events::day_of(instance.clock().now());
  std::vector<pipeline::Emitter::NamedSink> sinks;
  sinks.push_back({.name = "analytics",
                   .sink = std::make_unique<events::AnalyticsSink>(events::AnalyticsSettings{
                       .endpoint = redis.endpoint(), .key_prefix = "t:", .source = spool.id() + ":analytics"})});
  pipeline::Emitter emitter(spool, std::move(sinks));
  emitter.start();

  const std::vector<Header> visitor = {{"Content-Type", "application/json"}, {"User-Agent", kDesktopAgent}};
  ASSERT_EQ(commit(instance, instance.send("POST", "/event", visitor,
                                           R"([{"type":"pageView","website":"news.example","page":"/a","user_id":"u1"},
                                               {"type":"adImpression","website":"news.example","ad_id":"a1","user_id":"u1"},
                                               {"type":"adClick","website":"news.example","ad_id":"a1","user_id":"u1"}])"))
                .status,
            202U);
  ASSERT_TRUE(emitter.await_taken("analytics", std::chrono::seconds(10)));

  static const std::string bearer = "Bearer " + std::string(kAdminToken);
  const std::vector<Header> admin = {{"Authorization", bearer}};
  // A request thread's Worker hands the query over rather than wait on Redis.
  EXPECT_TRUE(instance.send("GET", "/admin/stats/pages", admin).offload);
  Worker blocking(instance.app(), 1, /*may_block=*/true);
  const auto ask = [&](std::string target, std::vector<Header> headers) {
    const Response response = get_from(blocking, target, headers);
    return std::pair(response.status, response.body);
  };
  EXPECT_EQ(ask("/admin/stats/pages", {}).first, 401U);
  EXPECT_EQ(ask("/admin/stats/pages?website=news.example", admin),
            std::pair(200U, std::string(R"({"from":")" + events::day_text(today - 6) + R"(","to":")" +
                                        events::day_text(today) +
                                        R"(","websites":[{"website":"news.example",)"
                                        R"("views":1,"unique_visitors":1,"pages":[{"page":"/a","views":1}]}]})")));
  EXPECT_EQ(
      ask("/admin/stats/ads?from=" + events::day_text(today) + "&to=" + events::day_text(today), admin),
      std::pair(200U, std::string(R"({"from":")" + events::day_text(today) + R"(","to":")" + events::day_text(today) +
                                  R"(","ads":[{"website":"news.example",)"
                                  R"("ad_id":"a1","impressions":1,"clicks":1,"ctr":1E0,"unique_clickers":1,)"
                                  R"("repeat_clickers":0,"unique_visitors":1}]})")));
  // Bad parameters are named, before anything is asked of Redis.
  EXPECT_EQ(instance.send("GET", "/admin/stats/ads?from=2026-06-31", admin).body,
            R"({"error":"from: must be a date, YYYY-MM-DD"})");
  EXPECT_EQ(instance.send("GET", "/admin/stats/ads?webiste=x", admin).status, 400U);
  EXPECT_EQ(instance.send("POST", "/admin/stats/ads", admin).status, 405U);
  // Redis down: a 503 to retry, no internal text.
  redis.stop();
  EXPECT_EQ(ask("/admin/stats/ads", admin),
            std::pair(503U, std::string(R"({"error":"the analytics store (Redis) is not answering"})")));
  emitter.stop(std::chrono::milliseconds(0));
}

TEST(Handler, WithoutAnalyticsTheStatsRoutesSaySo) {
  Instance instance;
  static const std::string bearer = "Bearer " + std::string(kAdminToken);
  const Response response = instance.send("GET", "/admin/stats/pages", {{"Authorization", bearer}});
  EXPECT_EQ(response.status, 404U);
  EXPECT_EQ(response.body, R"({"error":"event analytics are kept with REDIS_HOST"})");
}

// ---- the fleet view (SPEC §14, docs/fleet.md) ----

// The sample's rates and times come from the requests this instance answered.
TEST(FleetSampler, RatesAndTimesOfTheRequestsAnswered) {
  Instance instance;
  FleetSampler sampler(instance.app(), instance.metrics(), {.instance = "edge-1", .version = "9.9"},
                       fleet::read_host_facts());
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  for (int i = 0; i < 20; ++i) {
    const Response click = instance.send("GET", click_target(c), visitor_headers(c));
    ASSERT_EQ(click.status, 302U);
  }
  EXPECT_EQ(instance.send("GET", "/nowhere").status, 404U);
  const fleet::Sample sample = sampler.take();
  EXPECT_EQ(sample.instance, "edge-1");
  EXPECT_EQ(sample.version, "9.9");
  EXPECT_EQ(sample.at, instance.clock().now());
  EXPECT_GT(sample.clicks_per_second, 0);
  EXPECT_NEAR(sample.requests_per_second / sample.clicks_per_second, 21.0 / 20.0, 1e-9);
  EXPECT_NEAR(sample.client_errors_per_second / sample.clicks_per_second, 1.0 / 20.0, 1e-9);
  EXPECT_GT(sample.p50_ms, 0);
  EXPECT_GE(sample.p99_ms, sample.p50_ms);
  ASSERT_EQ(sample.decisions_per_second.size(), 1U);
  EXPECT_EQ(sample.decisions_per_second[0].second, sample.clicks_per_second);
  EXPECT_EQ(sample.recipe_version, instance.app().gauges().recipe_version);
  EXPECT_FALSE(sample.redis_configured);
  // The next sample covers only what came after this one.
  const fleet::Sample quiet = sampler.take();
  EXPECT_EQ(quiet.clicks_per_second, 0);
  EXPECT_EQ(quiet.p99_ms, 0);
}

TEST(Handler, TheFleetRouteListsTheFleetOnTheBlockingThread) {
  config::Config config = test_config();
  Instance instance(config);
  static const std::string bearer = "Bearer " + std::string(kAdminToken);
  const std::vector<Header> admin = {{"Authorization", bearer}};
  EXPECT_EQ(instance.send("GET", "/admin/fleet", admin).status, 404U);  // no fleet view given

  recipe::Store store;
  counters::InMemoryCounters counters;
  MetricsRegistry metrics;
  bool asked_series = false;
  App app(app_settings(config),
          App::Services{.store = Shared::get().store,
                        .geo = *Shared::get().geo,
                        .device = *Shared::get().device,
                        .counters = counters,
                        .clock = instance.clock(),
                        .metrics = metrics,
                        .fleet = [&](TimestampMs, bool series) -> Result<std::vector<fleet::InstanceView>> {
                          asked_series = series;
                          if (series) return Failure(Errc::unavailable, "127.0.0.1:1: Connection refused");
                          fleet::InstanceView view;
                          view.latest.instance = "edge-1";
                          view.online = true;
                          return std::vector<fleet::InstanceView>{view};
                        }});
  const auto ask = [&](Worker& worker, std::string target, std::vector<Header> headers) {
    return get_from(worker, target, headers);
  };
  Worker loop(app);
  EXPECT_EQ(ask(loop, "/admin/fleet", {}).status, 401U);
  EXPECT_TRUE(ask(loop, "/admin/fleet", admin).offload);
  Worker blocking(app, 1, /*may_block=*/true);
  const Response listed = ask(blocking, "/admin/fleet", admin);
  ASSERT_EQ(listed.status, 200U);
  const json::object answer = json::parse(listed.body).as_object();
  EXPECT_EQ(answer.at("instances").at(0).at("instance").as_string(), "edge-1");
  EXPECT_TRUE(answer.at("instances").at(0).at("online").as_bool());
  EXPECT_FALSE(asked_series);
  const Response down = ask(blocking, "/admin/fleet?series=1", admin);
  EXPECT_TRUE(asked_series);
  EXPECT_EQ(down.status, 503U);
  EXPECT_EQ(down.body.find("127.0.0.1"), std::string::npos);  // no internal text
}

// The dashboard: the page for an admin, the login form for anyone else; the login sets a
// session cookie that is not the token and that the admin routes then accept.
TEST(Handler, TheDashboardNeedsTheTokenOrItsSessionCookie) {
  Instance instance;
  static const std::string bearer = "Bearer " + std::string(kAdminToken);
  const Response form = instance.send("GET", "/status");
  EXPECT_EQ(form.status, 200U);
  EXPECT_EQ(form.content_type, "text/html; charset=utf-8");
  EXPECT_NE(form.body.find("action=\"/status/login\""), std::string::npos);
  EXPECT_EQ(form.body.find("EventSource"), std::string::npos);  // not the dashboard
  EXPECT_EQ(instance.send("GET", "/status/events").status, 401U);
  EXPECT_FALSE(instance.send("GET", "/status/events").event_stream);

  const Response page = instance.send("GET", "/status", {{"Authorization", bearer}});
  EXPECT_NE(page.body.find("EventSource(\"/status/events\")"), std::string::npos);
  for (const char* elsewhere : {"src=\"http", "href=\"http", "<link", "<script src", "import "}) {
    EXPECT_EQ(page.body.find(elsewhere), std::string::npos) << elsewhere;  // nothing fetched from elsewhere
  }

  const std::vector<Header> form_body = {{"Content-Type", "application/x-www-form-urlencoded"}};
  const Response refused = instance.send("POST", "/status/login", form_body, "token=guess");
  EXPECT_EQ(refused.status, 401U);
  EXPECT_TRUE(refused.set_cookie.empty());
  EXPECT_NE(refused.body.find("not the admin token"), std::string::npos);
  const Response signed_in =
      instance.send("POST", "/status/login", form_body, "token=" + encode_component(std::string(kAdminToken)));
  ASSERT_EQ(signed_in.status, 302U);
  EXPECT_EQ(signed_in.location, "/status");
  const std::string& cookie = signed_in.set_cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find(std::string(kAdminToken)), std::string::npos);  // a proof of the token, not the token
  const std::string session = cookie.substr(0, cookie.find(';'));

  const std::string cookies = "tid=x; " + session;  // Header holds views: the text must outlive it
  const std::vector<Header> with_cookie = {{"Cookie", cookies}};
  EXPECT_NE(instance.send("GET", "/status", with_cookie).body.find("EventSource"), std::string::npos);
  const Response stream = instance.send("GET", "/status/events", with_cookie);
  EXPECT_EQ(stream.status, 200U);
  EXPECT_TRUE(stream.event_stream);
  EXPECT_EQ(instance.send("GET", "/admin/explain?o=x", with_cookie).status, 400U);  // admitted, then a bad link
  const std::string longer = session + "0";
  EXPECT_EQ(instance.send("GET", "/status/events", {{"Cookie", longer}}).status, 401U);
  EXPECT_EQ(instance.send("GET", "/status/events", {{"Cookie", "trafficd_admin="}}).status, 401U);

  // Without ADMIN_TOKEN nobody signs in, whatever they send.
  config::Config closed = test_config();
  closed.admin_token.clear();
  Instance no_token(closed);
  EXPECT_EQ(no_token.send("POST", "/status/login", form_body, "token=").status, 401U);
  EXPECT_EQ(no_token.send("GET", "/status/events", {{"Cookie", "trafficd_admin="}}).status, 401U);
}

}  // namespace
}  // namespace traffic::http
