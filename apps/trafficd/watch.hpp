#pragma once
// What trafficd watches once a second from its signal loop (docs/reliability.md): its
// resident memory against MAX_MEMORY_MB (shedding clicks above it), and the counters of
// trouble — accepting paused at the descriptor limit, connections refused, clicks the spool
// could not take, sinks failing — each put into a warning at most every 10 seconds, with
// how many times it happened since the last one, and a line when it clears.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "traffic/config/config.hpp"
#include "traffic/http/handler.hpp"
#include "traffic/pipeline/emitter.hpp"
#include "traffic/pipeline/spool.hpp"

namespace trafficd {

/// The bounds of the overload protection, decided once at start.
struct OverloadLimits {
  std::uint64_t open_files = 0;        ///< the descriptor limit, raised to the hard limit
  std::size_t max_connections = 0;     ///< MAX_CONNECTIONS, or the descriptor limit less a reserve
  std::uint64_t max_memory_bytes = 0;  ///< MAX_MEMORY_MB, or 90% of the cgroup's limit; 0 = none
};
/// Raises the descriptor limit and derives the defaults of MAX_CONNECTIONS and MAX_MEMORY_MB.
OverloadLimits overload_limits(const traffic::config::Config& config);

class Watch {
 public:
  using SinkStatsFn = std::function<std::vector<traffic::pipeline::SinkStats>()>;
  Watch(traffic::http::App& app, traffic::http::MetricsRegistry& metrics, const traffic::pipeline::Spool* spool,
        SinkStatsFn sinks, std::uint64_t max_memory_bytes);

  /// Once a second: memory, then the counters' warnings.
  void tick(std::chrono::steady_clock::time_point now);

 private:
  // A warning about a counter: logged when it grew, at most every `kEvery`.
  struct Rate {
    std::uint64_t seen = 0;    // the counter at the last tick
    std::uint64_t logged = 0;  // the counter at the last warning
    std::chrono::steady_clock::time_point last_warning{};
    std::chrono::steady_clock::time_point last_growth{};
    bool active = false;  // warned, not yet cleared
  };
  // True when a warning for `counter` is due now; `since` is how much it grew since the last.
  bool due(Rate& rate, std::uint64_t counter, std::chrono::steady_clock::time_point now, std::uint64_t& since);
  void check_memory();

  traffic::http::App& app_;
  traffic::http::MetricsRegistry& metrics_;
  const traffic::pipeline::Spool* spool_;
  SinkStatsFn sinks_;
  std::uint64_t max_memory_bytes_;
  Rate refused_, paused_fds_, paused_memory_, unrecorded_, shed_, spool_errors_;
  std::map<std::string, Rate> sink_failures_;
};

}  // namespace trafficd
