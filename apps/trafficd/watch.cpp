#include "watch.hpp"

#include <algorithm>

#include "log.hpp"
#include "traffic/common/file.hpp"
#include "traffic/common/system.hpp"

namespace trafficd {
namespace {

constexpr std::chrono::seconds kEvery{10};
// Descriptors kept for everything but client connections: spool lanes and their retired
// segments, cursors, sinks' sockets and files, Redis connections, recipe fetches, geo files.
constexpr std::uint64_t kReservedFiles = 256;

}  // namespace

OverloadLimits overload_limits(const traffic::config::Config& config) {
  OverloadLimits limits;
  limits.open_files = traffic::raise_open_files_limit();
  limits.max_connections = config.limits.max_connections;
  if (limits.max_connections == 0) {
    limits.max_connections = static_cast<std::size_t>(limits.open_files > 2 * kReservedFiles
                                                          ? limits.open_files - kReservedFiles
                                                          : std::max<std::uint64_t>(limits.open_files / 2, 16));
  }
  limits.max_memory_bytes =
      config.max_memory_mb != 0 ? config.max_memory_mb << 20 : traffic::cgroup_memory_limit_bytes() / 10 * 9;
  return limits;
}

Watch::Watch(traffic::http::App& app, traffic::http::MetricsRegistry& metrics, const traffic::pipeline::Spool* spool,
             SinkStatsFn sinks, std::uint64_t max_memory_bytes)
    : app_(app), metrics_(metrics), spool_(spool), sinks_(std::move(sinks)), max_memory_bytes_(max_memory_bytes) {
  app_.memory_limit_bytes.store(max_memory_bytes_);
}

bool Watch::due(Rate& rate, std::uint64_t counter, std::chrono::steady_clock::time_point now, std::uint64_t& since) {
  const bool grew = counter > rate.seen;
  rate.seen = counter;
  if (grew) rate.last_growth = now;
  if (!grew || now - rate.last_warning < kEvery) return false;
  since = counter - rate.logged;
  rate.logged = counter;
  rate.last_warning = now;
  rate.active = true;
  return true;
}

// Shedding starts above the bound and stops below 90% of it, so that it does not flap
// around the line.
void Watch::check_memory() {
  if (max_memory_bytes_ == 0) return;
  const std::uint64_t resident = traffic::resident_memory_bytes();
  const bool shedding = app_.shedding.load();
  if (!shedding && resident > max_memory_bytes_) {
    app_.shedding.store(true);
    log::warn("memory over MAX_MEMORY_MB: clicks and postbacks are answered 503 until it falls",
              {{"resident_mb", resident >> 20}, {"max_memory_mb", max_memory_bytes_ >> 20}});
  } else if (shedding && resident < max_memory_bytes_ / 10 * 9) {
    app_.shedding.store(false);
    log::info("memory back under MAX_MEMORY_MB: clicks are taken again", {{"resident_mb", resident >> 20}});
  }
}

void Watch::tick(std::chrono::steady_clock::time_point now) {
  check_memory();
  const traffic::http::OverloadTotals totals = metrics_.overload_totals();
  std::uint64_t since = 0;
  if (due(paused_fds_, totals.accept_paused_fd_limit, now, since)) {
    log::warn("out of file descriptors: accepting connections paused", {{"pauses", since}});
  }
  if (due(paused_memory_, totals.accept_paused_kernel_memory, now, since)) {
    log::warn("out of kernel memory for sockets: accepting connections paused", {{"pauses", since}});
  }
  if (due(refused_, totals.connections_refused, now, since)) {
    log::warn("MAX_CONNECTIONS reached: new connections answered 503 and closed", {{"refused", since}});
  }
  if (due(shed_, totals.shed_requests, now, since)) {
    log::warn("memory over MAX_MEMORY_MB: requests shed with 503", {{"shed", since}});
  }
  if (due(unrecorded_, totals.unrecorded_clicks, now, since)) {
    log::warn("clicks answered 503: the spool could not take their records", {{"clicks", since}});
  }
  if (spool_ != nullptr) {
    const traffic::pipeline::SpoolStats stats = spool_->stats();
    if (due(spool_errors_, stats.write_errors, now, since)) {
      log::warn("the spool cannot write: clicks are refused until it can",
                {{"errors", since}, {"reason", traffic::errno_text(stats.last_write_errno)}});
    } else if (spool_errors_.active && now - spool_errors_.last_growth >= kEvery) {
      spool_errors_.active = false;
      log::info("the spool has written without error for 10 s");
    }
  }
  if (sinks_) {
    for (const auto& sink : sinks_()) {
      Rate& rate = sink_failures_[sink.name];
      if (due(rate, sink.failures, now, since)) {
        log::warn("sink failing: its records wait in the spool and are retried",
                  {{"sink", sink.name},
                   {"failures", since},
                   {"reason", sink.last_failure},
                   {"pending_bytes", sink.pending_bytes},
                   {"cursor_behind", sink.cursor_behind}});
      } else if (rate.active && rate.last_growth != now && !sink.cursor_behind && sink.seconds_since_success >= 0 &&
                 sink.seconds_since_success < 2) {
        rate.active = false;
        log::info("sink delivering again", {{"sink", sink.name}, {"pending_bytes", sink.pending_bytes}});
      }
    }
  }
}

}  // namespace trafficd
