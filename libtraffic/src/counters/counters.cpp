#include "traffic/counters/counters.hpp"

#include <boost/unordered/unordered_flat_map.hpp>
#include <limits>
#include <mutex>

namespace traffic::counters {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Month number (year * 12 + month - 1) of a day count (H. Hinnant's civil_from_days).
std::int64_t month_of_day(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const std::int64_t day_of_era = days - era * 146097;
  const std::int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return year * 12 + month - 1;
}

struct LiveEntry {
  Periods periods{std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min(),
                  std::numeric_limits<std::int64_t>::min()};
  LiveCounts counts;
};

std::uint64_t live_key(CounterScope scope, recipe::RecordId id) noexcept {
  return (static_cast<std::uint64_t>(id) << 1) | static_cast<std::uint64_t>(scope);
}

struct RotationKey {
  recipe::RecordId campaign = 0;
  recipe::RecordId child = 0;
  friend bool operator==(const RotationKey&, const RotationKey&) = default;
};

struct RotationKeyHash {
  std::size_t operator()(const RotationKey& key) const noexcept {
    return boost::hash_value(key.campaign) * 0x9e3779b97f4a7c15ULL ^ boost::hash_value(key.child);
  }
};

// The counts of `entry` as seen at `now`: a period that has moved on reads as 0.
PeriodCounts current(const PeriodCounts& counts, const Periods& stored, const Periods& now) noexcept {
  return {stored.day == now.day ? counts.day : 0, stored.week == now.week ? counts.week : 0,
          stored.month == now.month ? counts.month : 0};
}

}  // namespace

Periods Periods::at(TimestampMs at) noexcept {
  const std::int64_t day = floor_div(at, kMsPerDay);
  // 1970-01-01 was a Thursday: day + 3 counts from Monday 1969-12-29.
  return {day, floor_div(day + 3, 7), month_of_day(day)};
}

struct InMemoryCounters::Shards {
  static constexpr std::size_t kCount = 64;
  struct Shard {
    mutable std::mutex mutex;
    boost::unordered_flat_map<std::uint64_t, LiveEntry> live;
    boost::unordered_flat_map<RotationKey, std::int64_t, RotationKeyHash> rotation;
  };
  std::array<Shard, kCount> shards;
  Shard& of(std::uint64_t key) noexcept { return shards[(key * 0x9e3779b97f4a7c15ULL) >> 58]; }
  const Shard& of(std::uint64_t key) const noexcept { return shards[(key * 0x9e3779b97f4a7c15ULL) >> 58]; }
};

InMemoryCounters::InMemoryCounters() : shards_(std::make_unique<Shards>()) {}
InMemoryCounters::~InMemoryCounters() = default;

LiveCounts InMemoryCounters::live_counts(CounterScope scope, recipe::RecordId id, TimestampMs at) const {
  const std::uint64_t key = live_key(scope, id);
  const auto& shard = shards_->of(key);
  const Periods now = Periods::at(at);
  std::lock_guard lock(shard.mutex);
  auto it = shard.live.find(key);
  if (it == shard.live.end()) return {};
  const LiveEntry& entry = it->second;
  return {current(entry.counts.clicks, entry.periods, now), current(entry.counts.sales, entry.periods, now)};
}

void InMemoryCounters::add(CounterScope scope, recipe::RecordId id, Metric metric, TimestampMs at, std::int64_t n) {
  const std::uint64_t key = live_key(scope, id);
  auto& shard = shards_->of(key);
  const Periods now = Periods::at(at);
  std::lock_guard lock(shard.mutex);
  LiveEntry& entry = shard.live[key];
  // Roll each period that is over; a late event for a past period (clock skew between the
  // request and the count) is added to the current one rather than lost.
  entry.counts.clicks = current(entry.counts.clicks, entry.periods, now);
  entry.counts.sales = current(entry.counts.sales, entry.periods, now);
  entry.periods = now;
  PeriodCounts& counts = metric == Metric::clicks ? entry.counts.clicks : entry.counts.sales;
  counts.day += n;
  counts.week += n;
  counts.month += n;
}

void InMemoryCounters::record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) {
  add(CounterScope::offer, offer, Metric::clicks, at);
  add(CounterScope::campaign, campaign, Metric::clicks, at);
}

void InMemoryCounters::record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) {
  add(CounterScope::offer, offer, Metric::sales, at);
  add(CounterScope::campaign, campaign, Metric::sales, at);
}

std::size_t InMemoryCounters::pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                                std::uint64_t tie_breaker, bool count_pick) {
  auto& shard = shards_->of(static_cast<std::uint64_t>(campaign));
  std::lock_guard lock(shard.mutex);
  const std::size_t pick = least_served_index(
      children.size(),
      [&](std::size_t i) {
        auto it = shard.rotation.find(RotationKey{campaign, children[i]});
        return it == shard.rotation.end() ? std::int64_t{0} : it->second;
      },
      tie_breaker);
  if (count_pick) ++shard.rotation[RotationKey{campaign, children[pick]}];
  return pick;
}

void InMemoryCounters::return_pick(recipe::RecordId campaign, recipe::RecordId child) {
  auto& shard = shards_->of(static_cast<std::uint64_t>(campaign));
  std::lock_guard lock(shard.mutex);
  const auto it = shard.rotation.find(RotationKey{campaign, child});
  if (it != shard.rotation.end() && it->second > 0) --it->second;
}

std::int64_t InMemoryCounters::served(recipe::RecordId campaign, recipe::RecordId child) const {
  const auto& shard = shards_->of(static_cast<std::uint64_t>(campaign));
  std::lock_guard lock(shard.mutex);
  auto it = shard.rotation.find(RotationKey{campaign, child});
  return it == shard.rotation.end() ? 0 : it->second;
}

}  // namespace traffic::counters
