#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "traffic/counters/counters.hpp"

namespace traffic::counters {
namespace {

TimestampMs at(std::string_view text) {
  return *parse_iso8601(text);
}

TEST(Periods, DaysWeeksFromMondayAndMonthsInUtc) {
  const Periods sunday = Periods::at(at("2026-11-22T23:59:59.999Z"));
  const Periods monday = Periods::at(at("2026-11-23T00:00:00Z"));
  EXPECT_EQ(monday.day, sunday.day + 1);
  EXPECT_EQ(monday.week, sunday.week + 1);
  EXPECT_EQ(monday.month, sunday.month);
  const Periods tuesday = Periods::at(at("2026-11-24T10:00:00Z"));
  EXPECT_EQ(tuesday.week, monday.week);
  EXPECT_EQ(Periods::at(at("2026-12-01T00:00:00Z")).month, monday.month + 1);
  EXPECT_EQ(Periods::at(at("2026-11-30T23:59:59.999Z")).month, monday.month);
  EXPECT_EQ(Periods::at(at("2027-01-01T00:00:00Z")).month, 2027 * 12);
  EXPECT_EQ(Periods::at(at("2024-02-29T12:00:00Z")).month, 2024 * 12 + 1);
  // Local offsets do not move the period: it is the UTC instant that counts.
  EXPECT_EQ(Periods::at(at("2026-11-23T01:00:00+02:00")).day, sunday.day);
  EXPECT_EQ(Periods::at(0).day, 0);
  EXPECT_EQ(Periods::at(-1).day, -1);  // before the epoch rounds down, not toward zero
}

TEST(InMemoryCounters, CountsPerScopeAndIdAndRollsOverEachPeriod) {
  InMemoryCounters counters;
  const TimestampMs monday = at("2026-11-23T10:00:00Z");
  counters.record_click(117, 20, monday);
  counters.record_click(117, 20, monday);
  counters.record_sale(117, 20, monday);
  LiveCounts offer = counters.live_counts(CounterScope::offer, 117, monday);
  EXPECT_EQ(offer.clicks.day, 2);
  EXPECT_EQ(offer.clicks.month, 2);
  EXPECT_EQ(offer.sales.week, 1);
  EXPECT_EQ(counters.live_counts(CounterScope::campaign, 20, monday).clicks.day, 2);
  EXPECT_EQ(counters.live_counts(CounterScope::campaign, 117, monday).clicks.day, 0);

  const TimestampMs tuesday = at("2026-11-24T00:00:00Z");
  offer = counters.live_counts(CounterScope::offer, 117, tuesday);
  EXPECT_EQ(offer.clicks.day, 0);
  EXPECT_EQ(offer.clicks.week, 2);
  counters.record_click(117, 20, tuesday);
  offer = counters.live_counts(CounterScope::offer, 117, tuesday);
  EXPECT_EQ(offer.clicks.day, 1);
  EXPECT_EQ(offer.clicks.week, 3);
  EXPECT_EQ(offer.clicks.month, 3);

  const TimestampMs next_month = at("2026-12-01T00:00:00Z");  // a Tuesday: same week
  counters.record_click(117, 20, next_month);
  offer = counters.live_counts(CounterScope::offer, 117, next_month);
  EXPECT_EQ(offer.clicks.day, 1);
  EXPECT_EQ(offer.clicks.week, 1);  // 2026-12-01 is in the next week (Mon 30 Nov)
  EXPECT_EQ(offer.clicks.month, 1);
}

TEST(InMemoryCounters, PickLeastServedHonoursTheTieBreakerAndCountsOnlyWhenAsked) {
  InMemoryCounters counters;
  const std::vector<recipe::RecordId> children{130, 131, 132};
  EXPECT_EQ(counters.pick_least_served(21, children, 1, false), 1U);
  EXPECT_EQ(counters.served(21, 131), 0);
  EXPECT_EQ(counters.pick_least_served(21, children, 1, true), 1U);
  EXPECT_EQ(counters.served(21, 131), 1);
  EXPECT_EQ(counters.pick_least_served(21, children, 1, true), 2U);  // 130 and 132 tied: 1 % 2 → 132
  EXPECT_EQ(counters.pick_least_served(21, children, 7, true), 0U);  // 130 alone is least served
  EXPECT_EQ(counters.pick_least_served(21, children, 7, true), 1U);  // all tied at 1: 7 % 3 → 131
}

TEST(InMemoryCounters, ConcurrentPicksStayBalancedAndNoneIsLost) {
  InMemoryCounters counters;
  const std::vector<recipe::RecordId> children{1, 2, 3, 4, 5};
  constexpr int kThreads = 4;
  constexpr int kPicksPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPicksPerThread; ++i) {
        counters.pick_least_served(77, children, static_cast<std::uint64_t>(i * kThreads + t), true);
        counters.record_click(1, 77, 0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::int64_t> served;
  for (auto child : children) served.push_back(counters.served(77, child));
  const auto [least, most] = std::minmax_element(served.begin(), served.end());
  EXPECT_EQ(*least, kThreads * kPicksPerThread / 5);
  EXPECT_EQ(*most, *least);
  EXPECT_EQ(counters.live_counts(CounterScope::campaign, 77, 0).clicks.day, kThreads * kPicksPerThread);
}

}  // namespace
}  // namespace traffic::counters
