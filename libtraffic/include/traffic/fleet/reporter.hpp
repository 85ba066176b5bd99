#pragma once
// The fleet view's moving parts (SPEC.md §14, docs/fleet.md):
//   Reporter — on a thread of its own, takes this instance's sample once a second, keeps
//              the last 15 minutes of them, and publishes them to Redis when configured;
//   FleetReader — lists every instance (from Redis, or this one alone without it), each
//              online or offline (silent for 5 s), with its 15-minute series.
//
// Keys, under REDIS_KEY_PREFIX:
//   fleet:instances        ZSET instance → the time of its last sample (ms)
//   fleet:instance:<id>    the last sample's JSON, expiring after an hour of silence
//   fleet:series:<id>      LIST of the last 900 points (JSON), expiring likewise
//   fleet:samples          pub/sub channel: every sample as it is published

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "traffic/common/clock.hpp"
#include "traffic/common/error.hpp"
#include "traffic/common/ticker.hpp"
#include "traffic/fleet/sample.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::fleet {

/// One second of an instance's series: what the dashboard charts.
struct Point {
  TimestampMs at = 0;
  double requests_per_second = 0;
  double clicks_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double server_errors_per_second = 0;
  double process_cpu = 0;
  std::uint64_t resident_bytes = 0;
  std::uint64_t spool_backlog_bytes = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
[[nodiscard]] Point point_of(const Sample& sample);
[[nodiscard]] std::string to_json(const Point& point);
[[nodiscard]] Result<Point> point_from_json(std::string_view text);

/// How long things last (SPEC §14).
struct FleetTimes {
  static constexpr std::chrono::milliseconds kOffline{5'000};        ///< silent this long: offline
  static constexpr std::chrono::milliseconds kForgotten{3'600'000};  ///< silent this long: gone
  static constexpr std::size_t kSeriesPoints = 900;                  ///< 15 minutes of seconds
};

struct ReporterSettings {
  /// Where to publish; nullopt: nowhere (a lone instance shows itself from memory).
  std::optional<redis::Endpoint> redis;
  std::string key_prefix;  ///< REDIS_KEY_PREFIX
  std::chrono::milliseconds interval{1'000};
};

/// Thread-safe. `take` is called on the reporter's thread, once per interval.
class Reporter {
 public:
  Reporter(ReporterSettings settings, const Clock& clock, std::function<Sample()> take);
  ~Reporter();  ///< stop()
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  /// Starts the thread (`fleet`): a sample now, then one each interval.
  void start();
  /// Takes a last sample and stops the thread; the instance's key is left to expire (it
  /// shows offline 5 s after that sample).
  void stop();

  /// Takes one sample now and publishes it (what the thread does each interval).
  Result<> report_once();

  /// This instance's last sample and series, oldest first (for a dashboard without Redis).
  [[nodiscard]] std::optional<Sample> latest() const;
  [[nodiscard]] std::vector<Point> series() const;
  /// How publishing to Redis is doing.
  [[nodiscard]] const redis::ExchangeHealth& health() const noexcept { return health_; }

 private:
  Result<> publish(const Sample& sample, const Point& point);
  ReporterSettings settings_;
  const Clock& clock_;
  std::function<Sample()> take_;
  std::optional<redis::Connection> connection_;
  std::vector<redis::Reply> replies_;
  redis::ExchangeHealth health_;

  mutable std::mutex mutex_;
  std::optional<Sample> latest_;
  std::deque<Point> series_;

  Ticker ticker_;
};

/// An instance as the dashboard shows it.
struct InstanceView {
  Sample latest;
  bool online = false;  ///< a sample within the last 5 s
  std::vector<Point> series;
};

/// `{"instances":[{…the sample…,"online":true,"series":[{…point…},…]},…]}`: what
/// `/admin/fleet` answers and the dashboard draws.
[[nodiscard]] std::string fleet_json(const std::vector<InstanceView>& instances);
/// Reads fleet_json() back (a dashboard or `trafficctl top --url` reading /admin/fleet).
[[nodiscard]] Result<std::vector<InstanceView>> fleet_from_json(std::string_view text);

/// Thread-safe (one connection under a lock); waits on Redis, so never on a request thread.
class FleetReader {
 public:
  /// From Redis: every instance that published in the last hour.
  FleetReader(redis::Endpoint endpoint, std::string key_prefix);
  /// Without Redis: this instance alone, from its reporter.
  explicit FleetReader(const Reporter& self);
  ~FleetReader();
  FleetReader(const FleetReader&) = delete;
  FleetReader& operator=(const FleetReader&) = delete;

  /// Every instance, by id; with `series`, each one's last 15 minutes too. Instances silent
  /// for an hour are dropped from the index on the way.
  Result<std::vector<InstanceView>> instances(TimestampMs now, bool series);

 private:
  const Reporter* self_ = nullptr;
  std::string key_prefix_;
  std::mutex mutex_;
  std::optional<redis::Connection> connection_;
  std::vector<redis::Reply> replies_;
};

}  // namespace traffic::fleet
