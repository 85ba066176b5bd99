#pragma once
// This instance's fleet sample (SPEC.md §14, docs/fleet.md), built once a second from the
// request metrics and the services' gauges: the rates and the p50/p99 are over the interval
// since the previous take().

#include <chrono>
#include <string>

#include "traffic/fleet/histogram.hpp"
#include "traffic/fleet/sample.hpp"
#include "traffic/http/handler.hpp"
#include "traffic/http/metrics.hpp"

namespace traffic::http {

/// Not thread-safe: called by the fleet reporter's thread only.
class FleetSampler {
 public:
  struct Identity {
    std::string instance;  ///< INSTANCE_ID, or host name and port
    std::string version;
  };
  FleetSampler(const App& app, const MetricsRegistry& metrics, Identity identity, fleet::HostFacts host);

  /// The sample now, its rates over the time since the previous call (or since
  /// construction, for the first).
  [[nodiscard]] fleet::Sample take();

 private:
  const App& app_;
  const MetricsRegistry& metrics_;
  Identity identity_;
  fleet::HostFacts host_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point previous_at_;
  FleetTotals previous_;
  fleet::CpuTimes previous_cpu_;
};

}  // namespace traffic::http
