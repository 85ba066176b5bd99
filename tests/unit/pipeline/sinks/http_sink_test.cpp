// The http and aggregator sinks against a real local HTTP server.

#include "traffic/pipeline/sinks/http_sink.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <set>

#include "digest.hpp"
#include "http_collector.hpp"
#include "test_support.hpp"
#include "traffic/pipeline/emitter.hpp"
#include "traffic/testing/fake_clock.hpp"

namespace traffic::pipeline {
namespace {
namespace json = boost::json;

HttpSinkSettings settings_for(const std::string& url) {
  HttpSinkSettings settings;
  settings.url = url;
  settings.timeout = std::chrono::milliseconds(5000);
  settings.concurrency = 4;
  return settings;
}

Result<> deliver(Sink& sink, const std::vector<std::string>& lines) {
  std::vector<std::string_view> views(lines.begin(), lines.end());
  return sink.deliver(views);
}

std::string record(int n) {
  return R"({"lid":"l-)" + std::to_string(n) + R"(","date_added":)" + std::to_string(1700000000000 + n) +
         R"(,"ua":"é \" \\"})" + "\n";
}

std::string unbase64(std::string_view text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n) - (text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0));
  return out;
}

TEST(HttpSink, ABatchIsOneNdjsonPost) {
  test::HttpCollector collector;
  HttpSink sink(settings_for(collector.url("/ingest?table=clicks")), HttpSink::Mode::ndjson_batch);
  ASSERT_EQ(test::failure_of(deliver(sink, {record(1), record(2), record(3)})), "");
  ASSERT_EQ(test::failure_of(deliver(sink, {record(4)})), "");
  const auto received = collector.received();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_EQ(received[0].target, "/ingest?table=clicks");
  EXPECT_EQ(received[0].body, record(1) + record(2) + record(3));
  EXPECT_EQ(received[1].body, record(4));
}

TEST(HttpSink, RefusalsAndAnUnreachableCollectorAreFailures) {
  test::HttpCollector collector;
  collector.answer_with(503);
  HttpSink sink(settings_for(collector.url("/ingest")), HttpSink::Mode::ndjson_batch);
  EXPECT_EQ(test::failure_of(deliver(sink, {record(1)})), "HTTP 503");
  collector.stop();
  const std::string refused = test::failure_of(deliver(sink, {record(1)}));
  EXPECT_FALSE(refused.empty());
  EXPECT_EQ(refused.find("HTTP"), std::string::npos) << refused;  // a connection error
}

TEST(HttpSink, TheAggregatorGetsEachRecordBase64dAsTheOldServiceSentIt) {
  test::HttpCollector collector;
  HttpSink sink(settings_for(collector.url("/api/")), HttpSink::Mode::aggregator);
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back(record(i));
  ASSERT_EQ(test::failure_of(deliver(sink, lines)), "");
  const auto received = collector.received();
  ASSERT_EQ(received.size(), 20U);
  std::set<std::string> records;
  for (const auto& r : received) {
    EXPECT_EQ(r.target, "/api/offer");
    const json::object body = json::parse(r.body).as_object();
    EXPECT_EQ(body.at("event").as_string(), "click");
    EXPECT_EQ(body.at("count").as_int64(), 1);
    const std::string original = unbase64(body.at("key").as_string());
    const json::object parsed = json::parse(original).as_object();
    EXPECT_EQ(body.at("time").as_int64(), parsed.at("date_added").as_int64());
    records.insert(original + "\n");
  }
  EXPECT_EQ(records, std::set<std::string>(lines.begin(), lines.end()));  // each once, byte for byte

  collector.answer_with(500);
  EXPECT_EQ(test::failure_of(deliver(sink, lines)), "HTTP 500");
}

// As the old service: a conversion goes to /lidBonus as {"stats", "timestamp", "hash":
// md5("<timestamp>|<GATEWAY_API_SECRET>")} and counts only if the answer says success;
// clicks still go to /offer.
TEST(HttpSink, TheAggregatorGetsConversionsAtLidBonusAndNeedsSuccess) {
  test::HttpCollector collector;
  collector.answer_body(R"({"success":true})");
  HttpSinkSettings settings = settings_for(collector.url("/api/"));
  settings.bonus_secret = "gateway-secret";
  const test::FakeClock clock(1'700'000'123'456);
  settings.clock = &clock;
  HttpSink sink(settings, HttpSink::Mode::aggregator);
  const std::string conversion = R"({"lid":"l-9","event":"traffic-bonus","date_added":1700000000009,"payout":0.8})";
  ASSERT_EQ(test::failure_of(deliver(sink, {record(1), conversion + "\n"})), "");
  const auto received = collector.received();
  ASSERT_EQ(received.size(), 2U);
  const auto bonus =
      std::find_if(received.begin(), received.end(), [](const auto& r) { return r.target == "/api/lidBonus"; });
  ASSERT_NE(bonus, received.end());
  EXPECT_EQ(std::count_if(received.begin(), received.end(), [](const auto& r) { return r.target == "/api/offer"; }), 1);
  const json::object body = json::parse(bonus->body).as_object();
  EXPECT_EQ(body.at("stats"), json::parse(conversion));
  EXPECT_EQ(body.at("timestamp").as_int64(), 1'700'000'123'456);  // by the sink's clock
  EXPECT_EQ(body.at("hash").as_string(), test::md5_hex("1700000123456|gateway-secret"));

  for (const std::string answer : {R"({"success":false})", "ok", R"({"success":"yes"})"}) {
    collector.answer_body(answer);
    EXPECT_EQ(test::failure_of(deliver(sink, {conversion})), "lidBonus answered without success") << answer;
  }
  EXPECT_TRUE(deliver(sink, {record(2)}));  // clicks need only a 2xx
}

TEST(HttpSink, BadOptionsAreRefused) {
  for (const std::string url : {"http://c/x#timeout_ms=5", "http://c/x#batch=0", "aggregator+http://c/#concurrency=0",
                                "http://c/x#batch=many"}) {
    const auto sinks = parse_sink_urls({url}).value();
    ASSERT_EQ(sinks.size(), 1U);
    EXPECT_THROW((void)HttpSinkSettings::from_url(sinks[0]), std::invalid_argument) << url;
  }
}

// SPEC §9's promise for a collector that goes away: the backlog waits in the spool and
// arrives, in order, when it is back; duplicates only of whole records (same lid).
TEST(HttpSink, ACollectorThatWasDownGetsTheBacklogInOrder) {
  test::TempDir dir("http-sink");
  SpoolSettings spool_settings;
  spool_settings.directory = dir.path();
  spool_settings.fsync_interval = std::chrono::milliseconds(0);
  spool_settings.sinks = {"http"};
  Spool spool(spool_settings);
  test::HttpCollector collector;
  collector.answer_with(503);
  EmitterSettings emitter_settings;
  emitter_settings.poll = std::chrono::milliseconds(5);
  emitter_settings.backoff_first = std::chrono::milliseconds(2);
  emitter_settings.backoff_max = std::chrono::milliseconds(20);
  std::vector<Emitter::NamedSink> sinks;
  sinks.push_back(
      {"http", std::make_unique<HttpSink>(settings_for(collector.url("/ingest")), HttpSink::Mode::ndjson_batch), 7});
  Emitter emitter(spool, std::move(sinks), emitter_settings);
  emitter.start();
  auto put = [&](int n) {
    spool.writer(0).buffer().append(record(n));
    ASSERT_TRUE(spool.writer(0).append());
  };
  for (int i = 0; i < 30; ++i) put(i);
  ASSERT_TRUE(collector.await_attempts(3));  // refusing: retried with backoff
  const unsigned short port = collector.port();
  collector.stop();  // down: connections refused
  for (int i = 30; i < 60; ++i) put(i);
  collector.start(port);
  collector.answer_with(200);
  ASSERT_TRUE(collector.await([](const auto& received) {
    std::size_t lines = 0;
    for (const auto& r : received) lines += static_cast<std::size_t>(std::count(r.body.begin(), r.body.end(), '\n'));
    return lines >= 60;
  }));
  emitter.stop(std::chrono::seconds(5));
  std::string all;
  for (const auto& r : collector.received()) all += r.body;
  std::string expected;
  for (int i = 0; i < 60; ++i) expected += record(i);
  EXPECT_EQ(all, expected);  // nothing was acknowledged by the refusing collector: no duplicate
  // libcurl may resend a request itself when a kept-alive connection turns out closed, so
  // the collector's three refusals are at least two failed deliveries, not exactly three.
  EXPECT_GE(emitter.stats()[0].failures, 2U);
  EXPECT_EQ(emitter.stats()[0].pending_bytes, 0U);
}

}  // namespace
}  // namespace traffic::pipeline
