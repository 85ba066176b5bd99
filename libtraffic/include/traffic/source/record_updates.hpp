#pragma once
// Live record updates (SPEC.md §6): the update messages published on a Redis pub/sub
// channel, applied to the Store as they arrive — each one a new snapshot version, an
// older timestamp than the record's last update ignored (Store::apply).
//
// A thread of its own (`recipe-updates`) holds the subscription: connection lost →
// reconnects with a backoff (0.5 s doubling to max_backoff). Pub/sub does not keep
// messages for an absent subscriber, so every re-subscription is a possible gap; it is
// counted and reported, and the next recipe file carries what was missed.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "traffic/common/clock.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::redis {
class Subscriber;
}

namespace traffic::source {

struct RecordUpdateSettings {
  redis::Endpoint endpoint;
  std::string channel = "recipe:updates";  ///< RECIPE_UPDATES_CHANNEL
  std::chrono::milliseconds max_backoff{30'000};
};

struct RecordUpdateStats {
  std::uint64_t received = 0;       ///< messages on the channel
  std::uint64_t applied = 0;        ///< became a new recipe version
  std::uint64_t stale = 0;          ///< older than the record's last update: ignored
  std::uint64_t invalid = 0;        ///< not an update message (refused)
  std::uint64_t subscriptions = 0;  ///< successful SUBSCRIBEs; each after the first followed a gap
  bool subscribed = false;
  TimestampMs last_message = 0;  ///< 0: none yet
  std::string last_failure;      ///< of the connection; "" while subscribed
};

class RecordUpdates {
 public:
  enum class Event : std::uint8_t {
    subscribed,       ///< detail: the channel
    connection_lost,  ///< detail: why (reported once per outage)
    invalid_message,  ///< detail: why the message was refused
  };
  /// For logs; called on the updates thread.
  using Report = std::function<void(Event, std::string_view detail)>;

  /// `store` and `clock` must outlive this. Nothing happens until start().
  RecordUpdates(recipe::Store& store, const Clock& clock, RecordUpdateSettings settings, Report report = {});
  ~RecordUpdates();  ///< stops
  RecordUpdates(const RecordUpdates&) = delete;
  RecordUpdates& operator=(const RecordUpdates&) = delete;

  void start();
  /// Returns once the thread has ended (within the endpoint's connect timeout).
  void stop();

  /// Parses and applies one message (what the thread does with each; also public for
  /// tests and other feeds). Thread-safe.
  void handle(std::string_view message);

  [[nodiscard]] RecordUpdateStats stats() const;

 private:
  void run();
  void wait_for(std::chrono::milliseconds delay);

  recipe::Store& store_;
  const Clock& clock_;
  RecordUpdateSettings settings_;
  Report report_;
  std::unique_ptr<redis::Subscriber> subscriber_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  RecordUpdateStats stats_;
  std::thread thread_;
};

}  // namespace traffic::source
