// Unique visits shared through a real redis-server (started by the test, so it can be
// stopped to check the "Redis down" behaviour).

#include "traffic/lid/redis_unique_visits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::lid {
namespace {

constexpr TimestampMs kNoon = 1'795'000'000'000;
constexpr TimestampMs kDay = 86'400'000;
constexpr std::string_view kVisitor = "0123456789abcdef";

RedisUniqueVisitsSettings small(std::string prefix = {}) {
  RedisUniqueVisitsSettings settings;
  settings.key_prefix = std::move(prefix);
  settings.max_visits = 10'000;
  return settings;
}

TEST(RedisUniqueVisits, AVisitTakenByOneInstanceIsNotFirstOnAnotherAfterAnExchange) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisits a(redis.endpoint(), small());
  RedisUniqueVisits b(redis.endpoint(), small());
  EXPECT_TRUE(a.first_visit(kVisitor, 10, kNoon));
  EXPECT_FALSE(a.first_visit(kVisitor, 10, kNoon + 5));  // answered locally, at once
  EXPECT_EQ(a.stats().unshared, 1U);
  ASSERT_TRUE(a.sync(kNoon + 100)) << a.last_failure();
  EXPECT_EQ(a.stats().unshared, 0U);
  ASSERT_TRUE(b.sync(kNoon + 100)) << b.last_failure();

  EXPECT_FALSE(b.first_visit(kVisitor, 10, kNoon + 200));
  EXPECT_TRUE(b.first_visit(kVisitor, 11, kNoon + 200));  // another campaign
  EXPECT_EQ(b.stats().learned, 1U);
  EXPECT_EQ(a.stats().learned, 0U);  // its own entries are skipped
  EXPECT_EQ(b.stats().conflicts + a.stats().conflicts, 0U);

  // The key of the old service, expiring a day after the visit.
  EXPECT_EQ(redis.command("GET fp:0123456789abcdef-10"), std::to_string(kNoon));
  const long pttl = std::stol(redis.command("PTTL fp:0123456789abcdef-10"));
  EXPECT_GT(pttl, kDay - 100 - 5'000);
  EXPECT_LE(pttl, kDay - 100);
  EXPECT_EQ(redis.command("XLEN fp:recent"), "1");

  // A day after the first visit, it is a first visit again, on either instance.
  EXPECT_TRUE(b.first_visit(kVisitor, 10, kNoon + kDay + 1));
}

TEST(RedisUniqueVisits, TwoInstancesSeeingOneVisitorAtOnceBothAnswerUniqueAndTheSecondCountsAConflict) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisits a(redis.endpoint(), small());
  RedisUniqueVisits b(redis.endpoint(), small());
  EXPECT_TRUE(a.first_visit(kVisitor, 10, kNoon));
  EXPECT_TRUE(b.first_visit(kVisitor, 10, kNoon + 20));  // within one interval: not known yet
  ASSERT_TRUE(a.sync(kNoon + 100));
  ASSERT_TRUE(b.sync(kNoon + 100));
  EXPECT_EQ(a.stats().conflicts, 0U);
  EXPECT_EQ(b.stats().conflicts, 1U);
  EXPECT_EQ(redis.command("GET fp:0123456789abcdef-10"), std::to_string(kNoon));  // the first one's
}

TEST(RedisUniqueVisits, ARestartedInstanceLearnsTheLastDaysVisitsButNotOlderOnes) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  {
    RedisUniqueVisits before(redis.endpoint(), small());
    EXPECT_TRUE(before.first_visit("aaaaaaaaaaaaaaaa", 10, kNoon - kDay - 1));  // older than a day by then
    ASSERT_TRUE(before.sync(kNoon - kDay));
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(before.first_visit(kVisitor, 20 + i, kNoon - 3'600'000));
    ASSERT_TRUE(before.sync(kNoon - 3'600'000));
  }
  RedisUniqueVisitsSettings settings = small();
  settings.read_batch = 2;  // several reads to catch up
  RedisUniqueVisits restarted(redis.endpoint(), settings);
  ASSERT_TRUE(restarted.sync(kNoon)) << restarted.last_failure();
  EXPECT_EQ(restarted.stats().learned, 3U);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(restarted.first_visit(kVisitor, 20 + i, kNoon));
  EXPECT_TRUE(restarted.first_visit("aaaaaaaaaaaaaaaa", 10, kNoon));
}

TEST(RedisUniqueVisits, RedisDownKeepsAnsweringAndWritesTheQueuedVisitsWhenItReturns) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisits a(redis.endpoint(), small());
  ASSERT_TRUE(a.sync(kNoon));
  redis.stop();
  EXPECT_TRUE(a.first_visit(kVisitor, 10, kNoon));
  EXPECT_FALSE(a.first_visit(kVisitor, 10, kNoon + 1));
  EXPECT_TRUE(a.first_visit("bbbbbbbbbbbbbbbb", 10, kNoon + 2));
  EXPECT_FALSE(a.sync(kNoon + 100));
  EXPECT_FALSE(a.last_failure().empty());
  EXPECT_EQ(a.stats().failed_rounds, 1U);
  EXPECT_EQ(a.stats().unshared, 2U);

  redis.start();
  const TimestampMs later = kNoon + 3'600'000;
  ASSERT_TRUE(a.sync(later)) << a.last_failure();
  EXPECT_EQ(a.stats().unshared, 0U);
  EXPECT_EQ(a.stats().conflicts, 0U);
  EXPECT_EQ(a.last_failure(), "");
  EXPECT_EQ(redis.command("XLEN fp:recent"), "2");
  // Written with what is left of their day, not a fresh one.
  const long pttl = std::stol(redis.command("PTTL fp:0123456789abcdef-10"));
  EXPECT_LE(pttl, kDay - 3'600'000);
  EXPECT_GT(pttl, kDay - 3'600'000 - 5'000);
}

TEST(RedisUniqueVisits, TheWaitingQueueIsBoundedAndWhatItDropsIsCounted) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisitsSettings settings = small();
  settings.max_unshared = 2;
  RedisUniqueVisits a(redis.endpoint(), settings);
  for (const char* visitor : {"1111111111111111", "2222222222222222", "3333333333333333"}) {
    EXPECT_TRUE(a.first_visit(visitor, 10, kNoon));
  }
  EXPECT_EQ(a.stats().unshared, 2U);
  EXPECT_EQ(a.stats().dropped, 1U);
  EXPECT_FALSE(a.first_visit("3333333333333333", 10, kNoon + 1));  // still known here
  ASSERT_TRUE(a.sync(kNoon + 100));
  EXPECT_EQ(redis.command("XLEN fp:recent"), "2");
}

TEST(RedisUniqueVisits, KeysCarryThePrefix) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisits a(redis.endpoint(), small("eu1:"));
  RedisUniqueVisits other_prefix(redis.endpoint(), small("us1:"));
  EXPECT_TRUE(a.first_visit(kVisitor, 10, kNoon));
  ASSERT_TRUE(a.sync(kNoon));
  ASSERT_TRUE(other_prefix.sync(kNoon));
  EXPECT_EQ(redis.command("EXISTS eu1:fp:0123456789abcdef-10"), "1");
  EXPECT_EQ(redis.command("XLEN eu1:fp:recent"), "1");
  EXPECT_EQ(other_prefix.stats().learned, 0U);
  EXPECT_TRUE(other_prefix.first_visit(kVisitor, 10, kNoon + 1));
}

TEST(RedisUniqueVisits, HostileStreamEntriesAreSkipped) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  for (const char* entry : {"XADD fp:recent * v nonsense", "XADD fp:recent * v a-b 1 x", "XADD fp:recent * v -5 1 x",
                            "XADD fp:recent * v abc-5 notatime x", "XADD fp:recent * other field",
                            "XADD fp:recent * v abc-5", "XADD fp:recent * v abc-99999999999999999999 1 x"}) {
    ASSERT_NE(redis.command(entry), "<no reply>");
  }
  ASSERT_EQ(redis.command("SET fp:0123456789abcdef-10 x"), "OK");  // someone else's key
  RedisUniqueVisits a(redis.endpoint(), small());
  ASSERT_TRUE(a.sync(kNoon)) << a.last_failure();
  EXPECT_EQ(a.stats().learned, 0U);
  EXPECT_TRUE(a.first_visit(kVisitor, 10, kNoon));
  ASSERT_TRUE(a.sync(kNoon));
  EXPECT_EQ(a.stats().conflicts, 1U);  // the key existed
}

TEST(RedisUniqueVisits, ConcurrentVisitsDuringExchangesAreAllWrittenOnce) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  RedisUniqueVisits a(redis.endpoint(), small());
  constexpr int kThreads = 4;
  constexpr int kVisits = 500;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kVisits; ++i) EXPECT_TRUE(a.first_visit("visitor", t * kVisits + i, kNoon));
      running.fetch_sub(1);
    });
  }
  while (running.load() > 0) ASSERT_TRUE(a.sync(kNoon)) << a.last_failure();
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(a.sync(kNoon));
  EXPECT_EQ(a.stats().unshared, 0U);
  EXPECT_EQ(redis.command("XLEN fp:recent"), std::to_string(kThreads * kVisits));
  EXPECT_EQ(redis.command("DBSIZE"), std::to_string(kThreads * kVisits + 1));
}

TEST(RedisUniqueVisits, TheBackgroundThreadWritesAndStopsWithALastRound) {
  test::TempDir dir("redis-visits");
  test::RedisServer redis(dir.path());
  const SystemClock clock;
  RedisUniqueVisits a(redis.endpoint(), small());
  a.start(clock, std::chrono::hours(1));  // only the first and the last round run
  EXPECT_TRUE(a.first_visit(kVisitor, 10, clock.now()));
  a.stop();
  EXPECT_EQ(a.stats().unshared, 0U);
  EXPECT_EQ(redis.command("EXISTS fp:0123456789abcdef-10"), "1");
}

}  // namespace
}  // namespace traffic::lid
