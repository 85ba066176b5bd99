// The fleet reporter and reader against a real redis-server: instances listed with their
// series, online then offline after 5 s of silence, forgotten after an hour; a lone
// instance without Redis shows itself.

#include "traffic/fleet/reporter.hpp"

#include <gtest/gtest.h>

#include <condition_variable>

#include "redis_server.hpp"
#include "test_support.hpp"
#include "traffic/testing/fake_clock.hpp"

namespace traffic::fleet {
namespace {

constexpr TimestampMs kStart = 1'796'688'000'000;

Sample sample_of(std::string id, TimestampMs at, double clicks = 10) {
  Sample s;
  s.instance = std::move(id);
  s.at = at;
  s.clicks_per_second = clicks;
  s.p99_ms = 1.5;
  return s;
}

TEST(FleetReporter, InstancesAreListedOnlineThenOfflineThenForgotten) {
  test::TempDir dir("fleet");
  test::RedisServer redis(dir.path());
  test::FakeClock clock{kStart};
  TimestampMs at = kStart;
  const ReporterSettings settings{.redis = redis.endpoint(), .key_prefix = "t:", .interval = {}};
  Reporter a(settings, clock, [&] { return sample_of("a", at, 10); });
  Reporter b(settings, clock, [&] { return sample_of("b", at, 20); });
  ASSERT_EQ(test::failure_of(a.report_once()), "");
  ASSERT_EQ(test::failure_of(b.report_once()), "");

  FleetReader reader(redis.endpoint(), "t:");
  auto fleet = reader.instances(kStart + 1'000, true);
  ASSERT_TRUE(fleet) << test::failure_of(fleet);
  ASSERT_EQ(fleet->size(), 2U);
  EXPECT_EQ((*fleet)[0].latest.instance, "a");
  EXPECT_TRUE((*fleet)[0].online);
  EXPECT_EQ((*fleet)[1].latest.clicks_per_second, 20);
  ASSERT_EQ((*fleet)[1].series.size(), 1U);
  EXPECT_EQ((*fleet)[1].series[0], point_of(sample_of("b", kStart, 20)));

  // b goes on; a falls silent: offline past 5 s.
  at = kStart + 4'000;
  ASSERT_TRUE(b.report_once());
  fleet = reader.instances(kStart + 5'500, false);
  ASSERT_TRUE(fleet);
  ASSERT_EQ(fleet->size(), 2U);
  EXPECT_FALSE((*fleet)[0].online);
  EXPECT_TRUE((*fleet)[1].online);
  EXPECT_TRUE((*fleet)[1].series.empty());  // not asked for

  // An hour after its last sample, a is forgotten.
  at = kStart + 3'600'500;
  ASSERT_TRUE(b.report_once());
  fleet = reader.instances(kStart + 3'600'600, false);
  ASSERT_TRUE(fleet);
  ASSERT_EQ(fleet->size(), 1U);
  EXPECT_EQ((*fleet)[0].latest.instance, "b");
  EXPECT_EQ(b.health().rounds(), 3U);
}

TEST(FleetReporter, TheSeriesKeepsTheLastFifteenMinutes) {
  test::TempDir dir("fleet");
  test::RedisServer redis(dir.path());
  test::FakeClock clock{kStart};
  TimestampMs at = kStart;
  Reporter a({.redis = redis.endpoint(), .key_prefix = "t:", .interval = {}}, clock,
             [&] { return sample_of("a", at); });
  for (std::size_t i = 0; i < FleetTimes::kSeriesPoints + 5; ++i, at += 1'000) ASSERT_TRUE(a.report_once());
  FleetReader reader(redis.endpoint(), "t:");
  const auto fleet = reader.instances(at, true);
  ASSERT_TRUE(fleet);
  ASSERT_EQ((*fleet)[0].series.size(), FleetTimes::kSeriesPoints);
  EXPECT_EQ((*fleet)[0].series.front().at, kStart + 5'000);  // the first five dropped, oldest first
  EXPECT_EQ(a.series().size(), FleetTimes::kSeriesPoints);
  EXPECT_EQ(a.series().back().at, at - 1'000);
}

TEST(FleetReporter, ALoneInstanceWithoutRedisShowsItself) {
  test::FakeClock clock{kStart};
  std::mutex mutex;
  std::condition_variable taken;
  int samples = 0;
  Reporter self({.redis = std::nullopt, .key_prefix = "", .interval = std::chrono::milliseconds(10)}, clock, [&] {
    std::lock_guard lock(mutex);
    ++samples;
    taken.notify_all();
    return sample_of("self", kStart + samples);
  });
  FleetReader reader(self);
  EXPECT_TRUE(reader.instances(kStart, true)->empty());  // nothing taken yet
  self.start();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(taken.wait_for(lock, std::chrono::seconds(10), [&] { return samples >= 3; }));
  }
  self.stop();
  const auto fleet = reader.instances(kStart + 100, true);
  ASSERT_TRUE(fleet);
  ASSERT_EQ(fleet->size(), 1U);
  EXPECT_EQ((*fleet)[0].latest.instance, "self");
  EXPECT_TRUE((*fleet)[0].online);
  EXPECT_GE((*fleet)[0].series.size(), 3U);
}

TEST(FleetReporter, ARedisThatIsDownIsAFailedRoundAndTheSampleIsKept) {
  test::TempDir dir("fleet");
  test::RedisServer redis(dir.path());
  test::FakeClock clock{kStart};
  Reporter a({.redis = redis.endpoint(), .key_prefix = "t:", .interval = {}}, clock,
             [&] { return sample_of("a", kStart); });
  redis.stop();
  const Result<> published = a.report_once();
  ASSERT_FALSE(published);
  EXPECT_TRUE(published.error().is(Errc::unavailable));
  EXPECT_EQ(a.health().failed_rounds(), 1U);
  ASSERT_TRUE(a.latest());
  FleetReader reader(redis.endpoint(), "t:");
  EXPECT_FALSE(reader.instances(kStart, false));
  redis.start();
  ASSERT_TRUE(a.report_once());
  EXPECT_EQ(reader.instances(kStart, false)->size(), 1U);
}

}  // namespace
}  // namespace traffic::fleet
