#pragma once
// Prometheus metrics with bounded label sets (SPEC §2, §12: no ids in labels).
//
// Each worker thread owns a WorkerMetrics (relaxed atomic counters on its own cache lines,
// so counting never contends); a scrape sums every registered worker.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/counters/redis_counters.hpp"
#include "traffic/events/event.hpp"
#include "traffic/fleet/histogram.hpp"
#include "traffic/lid/click_record.hpp"
#include "traffic/lid/unique_visits.hpp"
#include "traffic/pipeline/spool.hpp"
#include "traffic/rules/decision.hpp"
#include "traffic/source/recipe_sync.hpp"
#include "traffic/source/record_updates.hpp"

namespace traffic::http {

enum class Route : std::uint8_t { pl, lid, recipe_data, health, ready, metrics, admin, event, other };
inline constexpr std::size_t kRoutes = 9;
std::string_view to_string(Route route) noexcept;

/// The status codes trafficd answers with; anything else is counted as "other".
inline constexpr std::array<unsigned, 16> kStatuses = {200, 202, 204, 302, 400, 401, 404, 405,
                                                       413, 414, 415, 417, 431, 500, 503, 0};

/// The decisions metric's label values: the engine's redirect types, then "other" (which
/// should stay at zero).
inline constexpr std::size_t kRedirectTypeLabels = rules::kRedirectTypes.size() + 1;
/// Index 0 counts undecodable links; the others are rules::BlockReason values.
inline constexpr std::size_t kBlockReasons = 7;

/// Latency buckets (seconds) of the click histogram.
inline constexpr std::array<double, 12> kLatencyBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                                           0.001,   0.0025,   0.005,   0.01,   0.05,    0.25};

/// One worker's counters. Each has a single writer, the worker's thread (a Worker belongs
/// to one thread); /metrics reads and sums them from another.
struct WorkerMetrics {
  using Counter = std::atomic<std::uint64_t>;
  /// Adds `n` to one of these counters: a relaxed load and store, since only this worker's
  /// thread writes it; fetch_add's locked instruction cost ~20 cycles per count per click.
  static void bump(Counter& counter, std::uint64_t n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::array<Counter, kStatuses.size()>, kRoutes> requests{};
  std::array<Counter, kRedirectTypeLabels> decisions{};
  std::array<Counter, kBlockReasons> blocks{};
  Counter head_requests{0};
  Counter debug_requests{0};
  Counter unrecorded_clicks{0};  ///< answered 503: the spool refused the record
  Counter link_mismatches{0};    ///< clicks served whose campaign names another offer (STRICT_LINK_PAIR off)
  std::array<Counter, lid::kBoundedFields> truncated_values{};  ///< record values cut to their bound, by field
  std::array<Counter, events::kEventTypes> events{};            ///< site events accepted, by events::EventType
  Counter refused_event_requests{0};  ///< POST /event requests refused (400, 413, 415): nothing of them recorded
  Counter refused_event_pixels{0};    ///< GET /event pixels with a bad event: the GIF, nothing recorded
  std::array<Counter, kLatencyBuckets.size() + 1> latency{};  ///< last = +Inf
  Counter latency_sum_ns{0};
  /// Every request's handling time, from its parsed head to its answer (a recorded click's
  /// share of the spool write included), for the fleet view's p50/p99.
  fleet::LatencyHistogram request_time;
  // The connection layer: counted by trafficd's server on this worker's loop thread.
  Counter connections_opened{0};
  Counter connections_closed{0};
  Counter connections_refused{0};          ///< answered 503 and closed at once: MAX_CONNECTIONS reached
  Counter accept_paused_fd_limit{0};       ///< accepting paused: EMFILE / ENFILE
  Counter accept_paused_kernel_memory{0};  ///< accepting paused: ENOBUFS / ENOMEM
  Counter shed_requests{0};                ///< clicks and postbacks answered 503: over MAX_MEMORY_MB

  void count_request(Route route, unsigned status) noexcept;
  void count_decision(std::string_view redirect_type) noexcept;
  void observe_click(std::uint64_t nanoseconds) noexcept;
  void count_truncations(lid::TruncatedFields fields) noexcept;
};

/// One sink's delivery state (the label is the sink's name, one per configured sink).
struct SinkGauges {
  std::string name;
  std::uint64_t delivered = 0;      ///< records acknowledged by the destination since start
  std::uint64_t failures = 0;       ///< failed delivery attempts since start
  std::uint64_t pending_bytes = 0;  ///< spool bytes this sink has not taken yet
  std::uint64_t held_bytes = 0;     ///< spool bytes taken, held by the sink (its open file), not yet durable
  double seconds_since_success = -1;
};

/// Gauges the scrape reads from the services.
struct Gauges {
  std::uint64_t recipe_version = 0;
  double recipe_age_seconds = -1;                           ///< since the current recipe was installed; -1 = none
  std::optional<source::RecipeSyncStats> recipe_sync;       ///< empty: no recipe sync
  double recipe_sync_age_seconds = -1;                      ///< since a round last reached the sources
  double recipe_source_age_seconds = -1;                    ///< since the newest file in service was written
  std::optional<source::RecordUpdateStats> recipe_updates;  ///< empty: not subscribed
  std::uint64_t offers = 0;
  std::uint64_t campaigns = 0;
  std::uint64_t geo_generation = 0;
  double geo_age_seconds = -1;
  std::uint64_t geo_data_errors = 0;
  std::uint64_t geo_refused_reloads = 0;
  std::uint64_t device_cache_hits = 0;
  std::uint64_t device_cache_misses = 0;
  std::optional<pipeline::SpoolStats> spool;  ///< empty: clicks are not recorded
  std::vector<SinkGauges> sinks;
  std::optional<counters::SyncStats> shared_state;     ///< empty: no Redis configured
  double shared_state_age_seconds = -1;                ///< since the last exchange with Redis
  std::optional<lid::UniqueVisitStats> unique_visits;  ///< empty: not tracked
  double unique_visits_age_seconds = -1;               ///< since their last exchange with Redis
  std::uint64_t resident_bytes = 0;                    ///< the process's RSS at the scrape
  std::uint64_t memory_limit_bytes = 0;                ///< MAX_MEMORY_MB in bytes; 0 = none
  bool shedding = false;                               ///< over the memory bound now
};

/// Sums of the overload counters, for the daemon's warnings (docs/reliability.md).
struct OverloadTotals {
  std::uint64_t connections_refused = 0;
  std::uint64_t accept_paused_fd_limit = 0;
  std::uint64_t accept_paused_kernel_memory = 0;
  std::uint64_t shed_requests = 0;
  std::uint64_t unrecorded_clicks = 0;
};

/// Sums since start of what the fleet view turns into rates (SPEC §14).
struct FleetTotals {
  std::uint64_t requests = 0;
  std::uint64_t clicks = 0;  ///< `/pl` requests answered
  std::array<std::uint64_t, kRedirectTypeLabels> decisions{};
  std::uint64_t blocks = 0;
  std::uint64_t client_errors = 0;  ///< 4xx
  std::uint64_t server_errors = 0;  ///< 5xx
  fleet::LatencyHistogram::Counts request_time{};
};

/// All workers' metrics. Thread-safe.
class MetricsRegistry {
 public:
  [[nodiscard]] OverloadTotals overload_totals() const;
  [[nodiscard]] FleetTotals fleet_totals() const;
  /// A new worker's counters, alive as long as the registry.
  WorkerMetrics& add_worker();
  /// The Prometheus text exposition of every counter plus `gauges`.
  [[nodiscard]] std::string render(const Gauges& gauges) const;

 private:
  /// One counter summed over every worker; the caller holds mutex_.
  template <class Pick>
  [[nodiscard]] std::uint64_t sum(Pick pick) const {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += pick(*w).load(std::memory_order_relaxed);
    return total;
  }
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
};

}  // namespace traffic::http
