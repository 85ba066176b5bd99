#include "traffic/http/fleet_sampler.hpp"

#include <algorithm>

namespace traffic::http {

namespace {
// A Redis exchange this recent counts as Redis being well.
constexpr double kRedisHealthySeconds = 5;
}  // namespace

FleetSampler::FleetSampler(const App& app, const MetricsRegistry& metrics, Identity identity, fleet::HostFacts host)
    : app_(app),
      metrics_(metrics),
      identity_(std::move(identity)),
      host_(std::move(host)),
      started_(std::chrono::steady_clock::now()),
      previous_at_(started_),
      previous_(metrics.fleet_totals()),
      previous_cpu_(fleet::read_cpu_times()) {}

fleet::Sample FleetSampler::take() {
  const auto now = std::chrono::steady_clock::now();
  const FleetTotals totals = metrics_.fleet_totals();
  const fleet::CpuTimes cpu = fleet::read_cpu_times();
  const double seconds = std::max(std::chrono::duration<double>(now - previous_at_).count(), 1e-3);
  const auto rate = [&](std::uint64_t after, std::uint64_t before) {
    return after >= before ? static_cast<double>(after - before) / seconds : 0.0;
  };

  fleet::Sample s;
  s.instance = identity_.instance;
  s.version = identity_.version;
  s.host_name = host_.host_name;
  s.os = host_.os;
  s.cpu_model = host_.cpu_model;
  s.cores = host_.cores;
  s.cpu_mhz = host_.cpu_mhz;
  s.at = app_.services().clock.now();
  s.uptime_seconds = std::chrono::duration<double>(now - started_).count();
  const fleet::CpuLoad load = fleet::cpu_load(previous_cpu_, cpu, seconds);
  s.machine_cpu = load.machine;
  s.process_cpu = load.process_cores;
  const fleet::MemoryFacts memory = fleet::read_memory();
  s.resident_bytes = memory.resident_bytes;
  s.machine_available_bytes = memory.machine_available_bytes;
  s.machine_total_bytes = memory.machine_total_bytes;

  s.requests_per_second = rate(totals.requests, previous_.requests);
  s.clicks_per_second = rate(totals.clicks, previous_.clicks);
  const fleet::LatencyHistogram::Counts interval = fleet::difference(totals.request_time, previous_.request_time);
  s.p50_ms = fleet::quantile(interval, 0.50) / 1e6;
  s.p99_ms = fleet::quantile(interval, 0.99) / 1e6;
  for (std::size_t d = 0; d < kRedirectTypeLabels; ++d) {
    const double per_second = rate(totals.decisions[d], previous_.decisions[d]);
    if (per_second == 0) continue;
    const std::string_view type = d < rules::kRedirectTypes.size() ? rules::kRedirectTypes[d] : "other";
    s.decisions_per_second.emplace_back(std::string(type), per_second);
  }
  s.blocks_per_second = rate(totals.blocks, previous_.blocks);
  s.client_errors_per_second = rate(totals.client_errors, previous_.client_errors);
  s.server_errors_per_second = rate(totals.server_errors, previous_.server_errors);

  const Gauges gauges = app_.gauges();
  for (const SinkGauges& sink : gauges.sinks) {
    s.sinks.push_back({.name = sink.name,
                       .lag_bytes = sink.pending_bytes,
                       .failures = sink.failures,
                       .seconds_since_success = sink.seconds_since_success});
    s.spool_backlog_bytes = std::max(s.spool_backlog_bytes, sink.pending_bytes + sink.held_bytes);
  }
  s.recipe_version = gauges.recipe_version;
  s.recipe_age_seconds = gauges.recipe_age_seconds;
  s.redis_configured = gauges.shared_state.has_value();
  s.redis_ok = s.redis_configured && gauges.shared_state_age_seconds >= 0 &&
               gauges.shared_state_age_seconds < kRedisHealthySeconds;

  previous_ = totals;
  previous_cpu_ = cpu;
  previous_at_ = now;
  return s;
}

}  // namespace traffic::http
