#pragma once
// Live caps counters and rotation counters shared by every instance through Redis
// (SPEC.md §5.4, §7.3, §11), without a round trip on the click path.
//
// A request thread reads and moves local state only: each counter is the shared total last
// read from Redis plus this instance's increments not yet acknowledged by Redis. sync(),
// run by a background thread every interval (default 100 ms), pushes the increments with
// INCRBY/HINCRBY — whose replies are the new shared totals — and re-reads the totals of the
// counters the rule engine consulted lately (one MGET), all in one pipelined exchange.
//
// What this means for an operator:
// - Another instance's clicks are seen within about one interval plus a round trip, so a
//   cap shared by N instances can be overshot by the clicks they take in that time.
// - Redis down: every instance keeps serving on its own counts (the last shared totals
//   plus its own clicks since) and pushes the increments it kept once Redis answers again;
//   nothing is lost. A connection that breaks mid-exchange may count that exchange's
//   increments twice in Redis (never fewer): they cannot be told apart from unsent ones.
//
// Redis keys (prefix from the configuration, "" by default), UTC periods:
//   cap:<offer|campaign>:<id>:<clicks|sales>:day:<YYYY-MM-DD>     expires after 2 days
//   cap:<offer|campaign>:<id>:<clicks|sales>:week:<YYYY-MM-DD>    (the Monday) 9 days
//   cap:<offer|campaign>:<id>:<clicks|sales>:month:<YYYY-MM>      33 days
//   rot:<campaign>  hash: child offer id → picks (no expiry: rotation is never reset)

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/common/ticker.hpp"
#include "traffic/counters/counters.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::counters {

struct SyncStats {
  std::uint64_t rounds = 0;         ///< exchanges with Redis that succeeded
  std::uint64_t failed_rounds = 0;  ///< exchanges that could not reach Redis
  std::int64_t unsynced = 0;        ///< increments kept locally, not yet acknowledged
  TimestampMs last_success = 0;     ///< ms; 0 = never
};

/// Thread-safety: the CountersView methods may be called from any thread (64 lock shards,
/// one short lock per call, never held across I/O); sync() from one thread at a time.
/// Memory: one entry per counter counted or read in a current period.
class RedisCounters final : public counters::CountersView {
 public:
  /// `watch_rounds`: a counter the rule engine read is re-read from Redis in each of the
  /// next `watch_rounds` exchanges (600 × 100 ms: a minute), so a cap consulted now and
  /// then still sees the other instances' clicks.
  explicit RedisCounters(redis::Endpoint endpoint, std::string key_prefix = {}, std::uint64_t watch_rounds = 600);
  ~RedisCounters() override;
  RedisCounters(const RedisCounters&) = delete;
  RedisCounters& operator=(const RedisCounters&) = delete;

  [[nodiscard]] counters::LiveCounts live_counts(counters::CounterScope scope, recipe::RecordId id,
                                                 TimestampMs at) const override;
  std::size_t pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                std::uint64_t tie_breaker, bool count_pick) override;
  void return_pick(recipe::RecordId campaign, recipe::RecordId child) override;
  void record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override;
  void record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override;

  /// One exchange with Redis (see above). `now` decides which periods are over. Fails when
  /// Redis could not be reached; the increments stay local for the next round.
  Result<> sync(TimestampMs now);

  /// Runs sync() every `interval` on a thread named `redis-counters` until stop() (or the
  /// destructor), then one last round so a clean shutdown leaves nothing unsynced.
  void start(const Clock& clock, std::chrono::milliseconds interval);
  void stop();

  [[nodiscard]] SyncStats stats() const;
  /// The last round's failure talking to Redis ("" after a success), for logs.
  [[nodiscard]] std::string last_failure() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  Ticker ticker_;  // after state_: stopped before the state it uses goes
};

}  // namespace traffic::counters
