#pragma once
// The counters the rule engine reads (live caps) and moves (rotation), SPEC.md §5.4, §7.3.

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "traffic/common/time.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::counters {

enum class CounterScope : std::uint8_t { offer, campaign };
enum class Metric : std::uint8_t { clicks, sales };

/// Which day, week and month (UTC) an instant falls in. Days count from the epoch; weeks
/// start on Monday (ISO 8601); months count from year 0. Counters of a period that is over
/// read as 0 — the cap starts afresh at midnight UTC, on Monday, on the 1st.
struct Periods {
  std::int64_t day = 0;
  std::int64_t week = 0;
  std::int64_t month = 0;
  static Periods at(TimestampMs at) noexcept;
  friend bool operator==(const Periods&, const Periods&) = default;
};

struct PeriodCounts {
  std::int64_t day = 0;
  std::int64_t week = 0;
  std::int64_t month = 0;
};

/// Live clicks and sales of one offer or campaign in the periods containing an instant.
struct LiveCounts {
  PeriodCounts clicks;
  PeriodCounts sales;
};

/// What the rule engine needs from the live counters. The engine compares
/// max(recipe `current`, live count) with each cap's limit, so a cap that fills up
/// reroutes the next click rather than minutes later when the producer catches up.
///
/// Implementations: InMemoryCounters (one process), the Redis-backed counters of the click
/// pipeline (shared by instances), tests/fakes/fake_counters.hpp. All methods may be called
/// concurrently from request threads and must not block on I/O.
class CountersView {
 public:
  virtual ~CountersView() = default;

  /// Clicks and sales of `id` in the day, week and month containing `at`.
  [[nodiscard]] virtual LiveCounts live_counts(CounterScope scope, recipe::RecordId id, TimestampMs at) const = 0;

  /// Rotation (§7.3): the index in `children` of the child least served so far for
  /// `campaign`. Among equally served children the `tie_breaker % ties`-th wins. When
  /// `count_pick`, the pick is counted in the same atomic step as the choice, so concurrent
  /// clicks cannot both take the same "least served" child. `children` is never empty.
  virtual std::size_t pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                        std::uint64_t tie_breaker, bool count_pick) = 0;

  /// A pick counted by pick_least_served whose click was then not recorded (refused with a
  /// 503): it goes back, so rotation balances the clicks served.
  virtual void return_pick(recipe::RecordId campaign, recipe::RecordId child) = 0;

  /// A recorded click counts for the offer it was booked on and for its campaign, in the
  /// periods containing `at`. (The engine never calls these: recording is the caller's.)
  virtual void record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) = 0;
  /// A recorded conversion, likewise.
  virtual void record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) = 0;
};

/// The rotation rule shared by every CountersView: the index of the least served of `n`
/// children (`served(i)` gives child i's count); among equally served ones the
/// `tie_breaker % ties`-th. Two passes, no allocation. `n` > 0.
template <class ServedOf>
std::size_t least_served_index(std::size_t n, ServedOf served, std::uint64_t tie_breaker) {
  std::int64_t least = std::numeric_limits<std::int64_t>::max();
  std::size_t ties = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t count = served(i);
    if (count < least) {
      least = count;
      ties = 1;
    } else if (count == least) {
      ++ties;
    }
  }
  std::size_t wanted = ties == 0 ? 0 : static_cast<std::size_t>(tie_breaker % ties);
  for (std::size_t i = 0; i < n; ++i) {
    if (served(i) == least && wanted-- == 0) return i;
  }
  return 0;
}

/// Counters held in this process: the single-instance mode, and the local state a
/// Redis-backed implementation builds on.
///
/// Thread-safety: all methods may be called concurrently (64 lock shards; one short lock
/// per call, never held across calls). Memory: one entry per offer/campaign ever counted
/// and per (campaign, child) rotated; a period that is over is overwritten in place.
class InMemoryCounters final : public CountersView {
 public:
  InMemoryCounters();
  ~InMemoryCounters() override;
  InMemoryCounters(const InMemoryCounters&) = delete;
  InMemoryCounters& operator=(const InMemoryCounters&) = delete;

  [[nodiscard]] LiveCounts live_counts(CounterScope scope, recipe::RecordId id, TimestampMs at) const override;
  std::size_t pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                std::uint64_t tie_breaker, bool count_pick) override;
  void return_pick(recipe::RecordId campaign, recipe::RecordId child) override;

  /// Adds `n` to the day, week and month counters of `id` that contain `at`.
  void add(CounterScope scope, recipe::RecordId id, Metric metric, TimestampMs at, std::int64_t n = 1);
  void record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override;
  void record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override;
  /// How many times `child` was picked for `campaign`.
  [[nodiscard]] std::int64_t served(recipe::RecordId campaign, recipe::RecordId child) const;

 private:
  struct Shards;
  std::unique_ptr<Shards> shards_;
};

}  // namespace traffic::counters
