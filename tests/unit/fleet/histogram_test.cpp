// The request-time histogram: buckets within 1/16 of a value, quantiles of known counts.

#include "traffic/fleet/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace traffic::fleet {
namespace {

TEST(LatencyHistogram, EveryTimeFallsInABucketWhoseMiddleIsWithinASixteenth) {
  for (std::uint64_t ns = 1'100; ns < 10'000'000'000; ns = ns * 11 / 10) {
    const std::size_t bucket = LatencyHistogram::bucket_of(ns);
    ASSERT_GT(bucket, 0U) << ns;
    ASSERT_LT(bucket, LatencyHistogram::kBuckets - 1) << ns;
    const double middle = LatencyHistogram::bucket_middle(bucket);
    EXPECT_LE(std::abs(middle - static_cast<double>(ns)) / static_cast<double>(ns), 1.0 / 16 + 1e-9) << ns;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0U);
  EXPECT_EQ(LatencyHistogram::bucket_of(1'023), 0U);
  EXPECT_EQ(LatencyHistogram::bucket_of(1'024), 1U);
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
  // Buckets only grow with the time.
  for (std::uint64_t ns = 1; ns < (std::uint64_t{1} << 36); ns = ns * 3 / 2 + 1)
    EXPECT_LE(LatencyHistogram::bucket_of(ns), LatencyHistogram::bucket_of(ns * 3 / 2 + 1));
}

TEST(LatencyHistogram, QuantilesOfTheLastIntervalFromTwoSnapshots) {
  LatencyHistogram histogram;
  for (int i = 0; i < 1'000; ++i) histogram.record(500'000);  // earlier: 0.5 ms
  LatencyHistogram::Counts before{};
  histogram.add_to(before);
  for (int i = 0; i < 98; ++i) histogram.record(20'000);  // this interval: 98 at 20 µs,
  histogram.record(2'000'000);                            // one at 2 ms
  histogram.record(9'000'000);                            // and one at 9 ms
  LatencyHistogram::Counts after{};
  histogram.add_to(after);
  const LatencyHistogram::Counts interval = difference(after, before);
  EXPECT_NEAR(quantile(interval, 0.5), 20'000, 20'000 / 16.0);
  EXPECT_NEAR(quantile(interval, 0.99), 2'000'000, 2'000'000 / 16.0);
  EXPECT_NEAR(quantile(interval, 1.0), 9'000'000, 9'000'000 / 16.0);
  EXPECT_EQ(quantile(LatencyHistogram::Counts{}, 0.5), 0.0);
}

}  // namespace
}  // namespace traffic::fleet
