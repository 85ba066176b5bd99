// The lid store in a real redis-server: shared by two instances, atomic de-duplication,
// expiry, and what happens when Redis is down.

#include "traffic/lid/redis_lid_store.hpp"
#include "traffic/pipeline/sinks/lid_store_sink.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::lid {
namespace {

redis::Endpoint endpoint_of(const test::RedisServer& redis) {
  redis::Endpoint endpoint;
  endpoint.port = redis.port();
  endpoint.timeout = std::chrono::milliseconds(2'000);
  return endpoint;
}

long long ttl_of(const test::RedisServer& redis, const std::string& key) {
  auto c = redis.connect();
  auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "TTL %s", key.c_str()));
  const long long ttl = reply != nullptr ? reply->integer : -3;
  if (reply) freeReplyObject(reply);
  return ttl;
}

TEST(RedisLidStore, AClickStoredByOneInstanceIsConvertedOnceAcrossInstances) {
  test::TempDir dir("redis-lid-store");
  test::RedisServer redis(dir.path());
  RedisLidStore a(endpoint_of(redis), "n1:", std::chrono::hours(24));
  RedisLidStore b(endpoint_of(redis), "n1:", std::chrono::hours(24));
  const std::vector<LidRecord> batch = {{"lid-1", R"({"lid":"lid-1","offer_id":1})"},
                                        {"lid-2", R"({"lid":"lid-2","offer_id":2})"}};
  ASSERT_EQ(test::failure_of(a.put_many(batch, 0)), "");
  EXPECT_TRUE(b.remote());
  EXPECT_EQ(b.get("lid-2", 0).value(), R"({"lid":"lid-2","offer_id":2})");
  EXPECT_EQ(b.get("lid-3", 0).value(), std::nullopt);
  EXPECT_TRUE(b.mark("lid-1", LidMark::converted, 0).value());
  EXPECT_FALSE(a.mark("lid-1", LidMark::converted, 0).value());  // the other instance's mark counts
  a.clear_mark("lid-1", LidMark::converted);
  EXPECT_TRUE(a.mark("lid-1", LidMark::converted, 0).value());
  const long long ttl = ttl_of(redis, "n1:lid:lid-1");
  EXPECT_GT(ttl, 86'000);
  EXPECT_LE(ttl, 86'400);
  EXPECT_GT(ttl_of(redis, "n1:lid:lid-1:converted"), 86'000);
}

TEST(RedisLidStore, TheSinkFeedsItAndRedisDownIsRetriedOrAnswered503) {
  test::TempDir dir("redis-lid-store");
  test::RedisServer redis(dir.path());
  RedisLidStore store(endpoint_of(redis), "", std::chrono::hours(1));
  pipeline::LidStoreSink sink(store, [] { return TimestampMs{0}; });
  const std::string click = R"({"event":"traffic-api","lid":"lid-9","offer_id":1})"
                            "\n";
  const std::string conversion = R"({"event":"traffic-bonus","lid":"lid-9","offer_id":1})"
                                 "\n";
  std::vector<std::string_view> records = {click, conversion};
  ASSERT_TRUE(sink.deliver(records));
  EXPECT_EQ(store.get("lid-9", 0).value(),
            R"({"event":"traffic-api","lid":"lid-9","offer_id":1})");  // the click, not the conversion

  redis.stop();
  const Result<> refused = sink.deliver(records);  // the emitter retries it later
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find(redis.endpoint().address()), std::string::npos) << refused.error();
  const auto lookup = store.get("lid-9", 0);
  ASSERT_FALSE(lookup);
  EXPECT_TRUE(lookup.error().is(Errc::unavailable)) << lookup.error();
  const auto marked = store.mark("lid-9", LidMark::converted, 0);
  ASSERT_FALSE(marked);
  EXPECT_TRUE(marked.error().is(Errc::unavailable)) << marked.error();
  redis.start();
  EXPECT_TRUE(sink.deliver(records));
  EXPECT_TRUE(store.get("lid-9", 0).value().has_value());
}

}  // namespace
}  // namespace traffic::lid
