// The redis sink against a real redis-server (started by the test, so it can also be
// stopped and restarted).

#include "traffic/pipeline/sinks/redis_sink.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"
#include "test_support.hpp"
#include "traffic/pipeline/emitter.hpp"

namespace traffic::pipeline {
namespace {

std::string record(int n) {
  return R"({"lid":"lid-)" + std::to_string(n) + R"(","n":)" + std::to_string(n) + "}\n";
}

RedisSinkSettings settings_for(const test::RedisServer& redis, std::string stream = "clicks") {
  const auto urls =
      parse_sink_urls({"redis://127.0.0.1:" + std::to_string(redis.port()) + "/" + stream + "#maxlen=100000"}).value();
  return RedisSinkSettings::from_url(urls[0]);
}

// The stream's entries as (lid, record) pairs, oldest first.
std::vector<std::pair<std::string, std::string>> entries(const test::RedisServer& redis, const std::string& stream) {
  auto c = redis.connect();
  auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "XRANGE %s - +", stream.c_str()));
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; reply != nullptr && i < reply->elements; ++i) {
    const redisReply* fields = reply->element[i]->element[1];
    out.emplace_back(fields->element[1]->str, fields->element[3]->str);
  }
  if (reply) freeReplyObject(reply);
  return out;
}

Result<> deliver(Sink& sink, const std::vector<std::string>& lines) {
  std::vector<std::string_view> views(lines.begin(), lines.end());
  return sink.deliver(views);
}

TEST(RedisSink, RecordsAreAddedToTheStreamWithTheirLid) {
  test::TempDir dir("redis-sink");
  test::RedisServer redis(dir.path());
  RedisSink sink(settings_for(redis));
  ASSERT_EQ(test::failure_of(deliver(sink, {record(1), record(2), record(3)})), "");
  const auto stored = entries(redis, "clicks");
  ASSERT_EQ(stored.size(), 3U);
  EXPECT_EQ(stored[0].first, "lid-1");
  EXPECT_EQ(stored[2].second + "\n", record(3));
}

TEST(RedisSink, AnErrorReplyFailsTheBatch) {
  test::TempDir dir("redis-sink");
  test::RedisServer redis(dir.path());
  auto c = redis.connect();
  freeReplyObject(redisCommand(c.get(), "SET notastream x"));  // XADD to a string: WRONGTYPE
  RedisSink sink(settings_for(redis, "notastream"));
  const std::string refused = test::failure_of(deliver(sink, {record(1), record(2)}));
  EXPECT_NE(refused.find("WRONGTYPE"), std::string::npos) << refused;
}

TEST(RedisSink, UrlsWithCredentialsAndBadOptions) {
  auto urls = parse_sink_urls({"redis://app:s3cret@cache.internal:6380/clicks#db=2&maxlen=5000"}).value();
  ASSERT_EQ(urls.size(), 1U);
  const auto settings = RedisSinkSettings::from_url(urls[0]);
  EXPECT_EQ(settings.endpoint.host, "cache.internal");
  EXPECT_EQ(settings.endpoint.port, 6380);
  EXPECT_EQ(settings.endpoint.username, "app");
  EXPECT_EQ(settings.endpoint.password, "s3cret");
  EXPECT_EQ(settings.endpoint.db, 2);
  EXPECT_EQ(settings.maxlen, 5000U);
  EXPECT_EQ(settings.stream, "clicks");
  urls = parse_sink_urls({"redis://[::1]:7000/s"}).value();
  EXPECT_EQ(RedisSinkSettings::from_url(urls[0]).endpoint.host, "::1");
  for (const std::string url :
       {"redis://h:notaport/s", "redis://h:70000/s", "redis://h/s#maxlen=0", "redis://:pw@h:x/s", "redis://[::1/s"}) {
    urls = parse_sink_urls({url}).value();
    ASSERT_EQ(urls.size(), 1U) << url;
    try {
      (void)RedisSinkSettings::from_url(urls[0]);
      ADD_FAILURE() << url;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos);
    }
  }
}

TEST(RedisSink, ARedisThatWasDownGetsTheBacklogInOrder) {
  test::TempDir dir("redis-sink");
  test::RedisServer redis(dir.path() / "redis");
  SpoolSettings spool_settings;
  spool_settings.directory = dir.path() / "spool";
  spool_settings.fsync_interval = std::chrono::milliseconds(0);
  spool_settings.sinks = {"redis"};
  Spool spool(spool_settings);
  EmitterSettings emitter_settings;
  emitter_settings.poll = std::chrono::milliseconds(5);
  emitter_settings.backoff_first = std::chrono::milliseconds(2);
  emitter_settings.backoff_max = std::chrono::milliseconds(20);
  std::vector<Emitter::NamedSink> sinks;
  sinks.push_back({"redis", std::make_unique<RedisSink>(settings_for(redis)), 9});
  Emitter emitter(spool, std::move(sinks), emitter_settings);
  auto put = [&](int n) {
    spool.writer(0).buffer().append(record(n));
    ASSERT_TRUE(spool.writer(0).append());
  };
  redis.stop();  // down before the first record: every delivery fails until it is back
  emitter.start();
  for (int i = 0; i < 40; ++i) put(i);
  redis.start();
  for (int i = 40; i < 50; ++i) put(i);
  emitter.stop(std::chrono::seconds(10));  // drains what the spool holds
  const auto stored = entries(redis, "clicks");
  ASSERT_EQ(stored.size(), 50U);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(stored[static_cast<std::size_t>(i)].first, "lid-" + std::to_string(i));
  EXPECT_EQ(emitter.stats()[0].pending_bytes, 0U);
}

}  // namespace
}  // namespace traffic::pipeline
