#pragma once
// Unique visits shared by every instance through Redis (SPEC.md §9), without a round trip
// on the click path.
//
// A request thread answers from this instance's memory (an InMemoryUniqueVisits holding
// its own visits and those learned from the other instances). A visit it finds new is
// queued; sync(), run by a background thread every interval (default 100 ms), writes the
// queued visits in one pipelined exchange —
//   SET <prefix>fp:<fingerprint>-<campaignId> <ms> NX PX <rest of the 24 h>
//        the key the old service kept; a nil reply means another instance had the visit
//        first (counted as a conflict: both instances recorded it as unique)
//   XADD <prefix>fp:recent MAXLEN ~ <max visits> * v "<fingerprint>-<campaignId> <ms> <instance>"
//        the stream every instance tails (XREAD from its cursor, same exchange) to learn
//        the others' visits; a restarted instance reads it from the start, so it knows the
//        last day's visits (as many as it keeps in memory) within seconds.
//
// What this means for an operator: two clicks of one visitor on two instances within
// about one interval plus a round trip can both be recorded as unique (counted in
// trafficd_unique_visits_conflicts_total). Redis down: each instance answers on what it
// knows, queues its new visits (bounded; beyond, they stay local and are counted) and
// writes them when Redis answers again, with what is left of their 24 hours.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "traffic/common/clock.hpp"
#include "traffic/common/ticker.hpp"
#include "traffic/lid/unique_visits.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::lid {

struct RedisUniqueVisitsSettings {
  std::string key_prefix;
  std::size_t max_visits = 4'000'000;  ///< kept in memory, and the stream's length
  std::chrono::seconds window{86'400};
  std::size_t max_unshared = 1'000'000;  ///< queued while Redis does not answer
  std::size_t read_batch = 10'000;       ///< stream entries per XREAD
  std::size_t reads_per_round = 20;      ///< XREADs per exchange while catching up
};

/// Thread-safety: first_visit() and stats() from any thread (sharded locks, never held
/// across I/O); sync() from one thread at a time.
class RedisUniqueVisits final : public UniqueVisits {
 public:
  RedisUniqueVisits(redis::Endpoint endpoint, RedisUniqueVisitsSettings settings);
  ~RedisUniqueVisits() override;
  RedisUniqueVisits(const RedisUniqueVisits&) = delete;
  RedisUniqueVisits& operator=(const RedisUniqueVisits&) = delete;

  bool first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) override;
  [[nodiscard]] UniqueVisitStats stats() const override;

  /// One exchange with Redis (see above). Fails when Redis could not be reached; the
  /// visits not written stay queued.
  Result<> sync(TimestampMs now);
  /// Runs sync() every `interval` on a thread named `redis-visits` until stop() (or the
  /// destructor), then one last round.
  void start(const Clock& clock, std::chrono::milliseconds interval);
  void stop();
  /// The last round's failure talking to Redis ("" after a success), for logs.
  [[nodiscard]] std::string last_failure() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  Ticker ticker_;  // after state_: stopped before the state it uses goes
};

}  // namespace traffic::lid
