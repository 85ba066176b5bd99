// Live caps and rotation counters shared through a real redis-server (started by the test,
// so it can be stopped to check the "Redis down" behaviour).

#include "traffic/counters/redis_counters.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::counters {
namespace {

using counters::CounterScope;

// Wednesday 2026-11-25 12:00 UTC: its week began on Monday 2026-11-23.
constexpr TimestampMs kWednesday = days_from_civil(2026, 11, 25) * 86'400'000 + 12 * 3'600'000;
constexpr TimestampMs kDay = 86'400'000;

TEST(RedisCounters, ClicksOfTwoInstancesAddUpInRedisAndInEachView) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters a(redis.endpoint());
  RedisCounters b(redis.endpoint());
  for (int i = 0; i < 3; ++i) a.record_click(117, 2001, kWednesday);
  for (int i = 0; i < 2; ++i) b.record_click(117, 2002, kWednesday);
  // Before any exchange each instance sees only its own clicks.
  EXPECT_EQ(a.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 3);
  EXPECT_EQ(b.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 2);
  ASSERT_TRUE(a.sync(kWednesday)) << a.last_failure();
  ASSERT_TRUE(b.sync(kWednesday)) << b.last_failure();
  // A counter the rule engine read is re-read in the next exchange: both now see 5.
  EXPECT_EQ(a.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 3);
  (void)a.live_counts(CounterScope::campaign, 2002, kWednesday);
  ASSERT_TRUE(a.sync(kWednesday)) << a.last_failure();
  ASSERT_TRUE(b.sync(kWednesday)) << b.last_failure();

  for (RedisCounters* view : {&a, &b}) {
    const auto offer = view->live_counts(CounterScope::offer, 117, kWednesday);
    EXPECT_EQ(offer.clicks.day, 5);
    EXPECT_EQ(offer.clicks.week, 5);
    EXPECT_EQ(offer.clicks.month, 5);
    EXPECT_EQ(offer.sales.day, 0);
  }
  EXPECT_EQ(a.live_counts(CounterScope::campaign, 2001, kWednesday).clicks.day, 3);
  EXPECT_EQ(a.live_counts(CounterScope::campaign, 2002, kWednesday).clicks.day, 2);

  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:day:2026-11-25"), "5");
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:week:2026-11-23"), "5");
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:month:2026-11"), "5");
  EXPECT_EQ(redis.command("GET cap:campaign:2002:clicks:day:2026-11-25"), "2");
  const long ttl = std::stol(redis.command("TTL cap:offer:117:clicks:day:2026-11-25"));
  EXPECT_GT(ttl, 86'400);
  EXPECT_LE(ttl, 172'800);
  EXPECT_EQ(a.stats().unsynced, 0);
  EXPECT_GE(a.stats().rounds, 2U);
}

TEST(RedisCounters, ACounterReadLatelyIsReReadEachExchangeThenLeftAlone) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters reader(redis.endpoint(), "", /*watch_rounds=*/2);
  RedisCounters writer(redis.endpoint());
  EXPECT_EQ(reader.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 0);
  writer.record_click(117, 2001, kWednesday);
  ASSERT_TRUE(writer.sync(kWednesday));
  ASSERT_TRUE(reader.sync(kWednesday));  // read in the last 2 exchanges: re-read
  writer.record_click(117, 2001, kWednesday);
  ASSERT_TRUE(writer.sync(kWednesday));
  ASSERT_TRUE(reader.sync(kWednesday));  // still within 2
  ASSERT_TRUE(reader.sync(kWednesday));  // no longer: not re-read
  writer.record_click(117, 2001, kWednesday);
  ASSERT_TRUE(writer.sync(kWednesday));
  ASSERT_TRUE(reader.sync(kWednesday));
  EXPECT_EQ(reader.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 2);  // as last read
  ASSERT_TRUE(reader.sync(kWednesday));
  EXPECT_EQ(reader.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 3);
}

TEST(RedisCounters, SalesCountSeparatelyAndAPrefixNamesTheKeys) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters counters(redis.endpoint(), "net7:");
  counters.record_sale(117, 2001, kWednesday);
  ASSERT_TRUE(counters.sync(kWednesday));
  EXPECT_EQ(redis.command("GET net7:cap:offer:117:sales:day:2026-11-25"), "1");
  EXPECT_EQ(redis.command("GET net7:cap:campaign:2001:sales:month:2026-11"), "1");
  EXPECT_EQ(redis.command("EXISTS net7:cap:offer:117:clicks:day:2026-11-25"), "0");
  const auto counts = counters.live_counts(CounterScope::offer, 117, kWednesday);
  EXPECT_EQ(counts.sales.week, 1);
  EXPECT_EQ(counts.clicks.week, 0);
}

TEST(RedisCounters, APeriodThatIsOverReadsAsZeroAndItsKeyStays) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters counters(redis.endpoint());
  counters.record_click(117, 2001, kWednesday);
  ASSERT_TRUE(counters.sync(kWednesday));
  const auto thursday = counters.live_counts(CounterScope::offer, 117, kWednesday + kDay);
  EXPECT_EQ(thursday.clicks.day, 0);
  EXPECT_EQ(thursday.clicks.week, 1);
  ASSERT_TRUE(counters.sync(kWednesday + kDay));
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:day:2026-11-25"), "1");
  const auto next_monday = counters.live_counts(CounterScope::offer, 117, kWednesday + 5 * kDay);
  EXPECT_EQ(next_monday.clicks.week, 0);
  EXPECT_EQ(next_monday.clicks.month, 1);
}

TEST(RedisCounters, RedisDownKeepsCountingLocallyAndCatchesUp) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters counters(redis.endpoint());
  counters.record_click(117, 2001, kWednesday);
  ASSERT_TRUE(counters.sync(kWednesday));

  redis.stop();
  for (int i = 0; i < 4; ++i) counters.record_click(117, 2001, kWednesday);
  EXPECT_FALSE(counters.sync(kWednesday));
  EXPECT_FALSE(counters.last_failure().empty());
  EXPECT_EQ(counters.stats().failed_rounds, 1U);
  EXPECT_EQ(counters.stats().unsynced, 24);  // 4 clicks × (offer, campaign) × (day, week, month)
  EXPECT_EQ(counters.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 5);
  counters.record_click(117, 2001, kWednesday);
  EXPECT_FALSE(counters.sync(kWednesday));
  EXPECT_EQ(counters.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 6);

  redis.start();  // empty: --save "" — the increments kept since the outage arrive
  ASSERT_TRUE(counters.sync(kWednesday)) << counters.last_failure();
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:day:2026-11-25"), "5");
  EXPECT_EQ(counters.stats().unsynced, 0);
  EXPECT_EQ(counters.last_failure(), "");
}

TEST(RedisCounters, AnErrorReplyKeepsTheIncrementForLater) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  ASSERT_EQ(redis.command("HSET cap:offer:117:clicks:day:2026-11-25 x 1"), "1");  // the wrong type: INCRBY fails
  RedisCounters counters(redis.endpoint());
  counters.record_click(117, 2001, kWednesday);
  EXPECT_TRUE(counters.sync(kWednesday));  // Redis answered …
  EXPECT_NE(counters.last_failure().find("WRONGTYPE"), std::string::npos) << counters.last_failure();
  EXPECT_EQ(counters.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, 1);  // … and kept
  ASSERT_EQ(redis.command("DEL cap:offer:117:clicks:day:2026-11-25"), "1");
  ASSERT_TRUE(counters.sync(kWednesday));
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:day:2026-11-25"), "1");
  EXPECT_EQ(counters.stats().unsynced, 0);
}

TEST(RedisCounters, RotationIsBalancedAcrossInstances) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters a(redis.endpoint());
  RedisCounters b(redis.endpoint());
  const std::vector<recipe::RecordId> children = {11, 12, 13, 14};
  std::vector<int> picked(children.size(), 0);
  // Each instance syncs after each pick: the picks spread over all children equally.
  for (int round = 0; round < 8; ++round) {
    RedisCounters& instance = round % 2 == 0 ? a : b;
    ASSERT_TRUE(instance.sync(kWednesday));  // reads the other's picks
    ++picked[instance.pick_least_served(2001, children, static_cast<std::uint64_t>(round), true)];
    ASSERT_TRUE(instance.sync(kWednesday));  // pushes its own
  }
  EXPECT_EQ(picked, (std::vector<int>{2, 2, 2, 2}));
  for (const recipe::RecordId child : children) EXPECT_EQ(redis.command("HGET rot:2001 " + std::to_string(child)), "2");
}

TEST(RedisCounters, ADryRunPickIsNotCounted) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters counters(redis.endpoint());
  const std::vector<recipe::RecordId> children = {11, 12};
  EXPECT_EQ(counters.pick_least_served(2001, children, 0, false), 0U);
  EXPECT_EQ(counters.pick_least_served(2001, children, 0, false), 0U);
  ASSERT_TRUE(counters.sync(kWednesday));
  EXPECT_EQ(redis.command("EXISTS rot:2001"), "0");
}

TEST(RedisCounters, ConcurrentClicksDuringExchangesAreAllCounted) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  RedisCounters counters(redis.endpoint());
  constexpr int kThreads = 4;
  constexpr int kClicks = 2'000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kClicks; ++i) {
        counters.record_click(117, 2001, kWednesday);
        (void)counters.live_counts(CounterScope::offer, 117, kWednesday);
      }
      running.fetch_sub(1);
    });
  }
  while (running.load() > 0) ASSERT_TRUE(counters.sync(kWednesday)) << counters.last_failure();
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(counters.sync(kWednesday));
  EXPECT_EQ(redis.command("GET cap:offer:117:clicks:day:2026-11-25"), std::to_string(kThreads * kClicks));
  EXPECT_EQ(counters.live_counts(CounterScope::offer, 117, kWednesday).clicks.day, kThreads * kClicks);
}

TEST(RedisCounters, TheBackgroundThreadPushesAndStopsWithALastRound) {
  test::TempDir dir("redis-counters");
  test::RedisServer redis(dir.path());
  const SystemClock clock;
  const TimestampMs now = clock.now();
  {
    RedisCounters counters(redis.endpoint());
    counters.start(clock, std::chrono::hours(1));  // only the first and the last round run
    counters.record_click(117, 2001, now);
    counters.stop();
    EXPECT_EQ(counters.stats().unsynced, 0);
  }
  RedisCounters reader(redis.endpoint());
  (void)reader.live_counts(CounterScope::offer, 117, now);
  ASSERT_TRUE(reader.sync(now));
  EXPECT_EQ(reader.live_counts(CounterScope::offer, 117, now).clicks.day, 1);
}

TEST(RedisEndpoint, AuthoritiesParseAndRefuseWithoutTheSecret) {
  const auto endpoint = redis::Endpoint::from_authority("app:s3cret@cache.internal:6380");
  EXPECT_EQ(endpoint.host, "cache.internal");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.username, "app");
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.address(), "cache.internal:6380");
  EXPECT_EQ(redis::Endpoint::from_authority("[::1]:7000").address(), "[::1]:7000");
  EXPECT_EQ(redis::Endpoint::from_authority(":pw@h").port, 6379);
  for (const char* bad : {"h:x", ":pw@h:0", "h:65536", "[::1", "", ":pw@"}) {
    try {
      (void)redis::Endpoint::from_authority(bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace traffic::counters
