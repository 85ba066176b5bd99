#include "traffic/http/metrics.hpp"

#include "traffic/events/event.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace traffic::http {
namespace {

std::size_t status_index(unsigned status) noexcept {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

constexpr std::size_t kOtherType = rules::kRedirectTypes.size();  // the last label, "other"

}  // namespace

std::string_view to_string(Route route) noexcept {
  switch (route) {
    case Route::pl: return "pl";
    case Route::lid: return "lid";
    case Route::recipe_data: return "getRecipeData";
    case Route::health: return "health";
    case Route::ready: return "ready";
    case Route::metrics: return "metrics";
    case Route::admin: return "admin";
    case Route::event: return "event";
    case Route::other: return "other";
  }
  return "other";
}

void WorkerMetrics::count_request(Route route, unsigned status) noexcept {
  bump(requests[static_cast<std::size_t>(route)][status_index(status)]);
}

void WorkerMetrics::count_decision(std::string_view redirect_type) noexcept {
  std::size_t index = kOtherType;
  for (std::size_t i = 0; i < kOtherType; ++i) {
    if (rules::kRedirectTypes[i] == redirect_type) {
      index = i;
      break;
    }
  }
  bump(decisions[index]);
}

void WorkerMetrics::observe_click(std::uint64_t nanoseconds) noexcept {
  const double seconds = static_cast<double>(nanoseconds) / 1e9;
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) - kLatencyBuckets.begin());
  bump(latency[bucket]);
  bump(latency_sum_ns, nanoseconds);
}

void WorkerMetrics::count_truncations(lid::TruncatedFields fields) noexcept {
  for (std::size_t f = 0; fields != 0; ++f, fields >>= 1U) {
    if ((fields & 1U) != 0) bump(truncated_values[f]);
  }
}

WorkerMetrics& MetricsRegistry::add_worker() {
  std::lock_guard lock(mutex_);
  workers_.push_back(std::make_unique<WorkerMetrics>());
  return *workers_.back();
}

OverloadTotals MetricsRegistry::overload_totals() const {
  std::lock_guard lock(mutex_);
  OverloadTotals totals;
  totals.connections_refused = sum([](const WorkerMetrics& w) -> auto& { return w.connections_refused; });
  totals.accept_paused_fd_limit = sum([](const WorkerMetrics& w) -> auto& { return w.accept_paused_fd_limit; });
  totals.accept_paused_kernel_memory =
      sum([](const WorkerMetrics& w) -> auto& { return w.accept_paused_kernel_memory; });
  totals.shed_requests = sum([](const WorkerMetrics& w) -> auto& { return w.shed_requests; });
  totals.unrecorded_clicks = sum([](const WorkerMetrics& w) -> auto& { return w.unrecorded_clicks; });
  return totals;
}

FleetTotals MetricsRegistry::fleet_totals() const {
  std::lock_guard lock(mutex_);
  FleetTotals totals;
  for (const auto& worker : workers_) {
    const WorkerMetrics& w = *worker;
    for (std::size_t r = 0; r < kRoutes; ++r) {
      for (std::size_t s = 0; s < kStatuses.size(); ++s) {
        const std::uint64_t n = w.requests[r][s].load(std::memory_order_relaxed);
        totals.requests += n;
        if (r == static_cast<std::size_t>(Route::pl)) totals.clicks += n;
        if (kStatuses[s] >= 400 && kStatuses[s] < 500) totals.client_errors += n;
        if (kStatuses[s] >= 500) totals.server_errors += n;
      }
    }
    for (std::size_t d = 0; d < kRedirectTypeLabels; ++d)
      totals.decisions[d] += w.decisions[d].load(std::memory_order_relaxed);
    for (const auto& block : w.blocks) totals.blocks += block.load(std::memory_order_relaxed);
    w.request_time.add_to(totals.request_time);
  }
  return totals;
}

std::string MetricsRegistry::render(const Gauges& g) const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP trafficd_requests_total HTTP requests by route and status.\n";
  out += "# TYPE trafficd_requests_total counter\n";
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const std::uint64_t n = sum([&](const WorkerMetrics& w) -> auto& { return w.requests[r][s]; });
      if (n == 0) continue;
      const std::string status = kStatuses[s] ? std::to_string(kStatuses[s]) : std::string("other");
      out += fmt::format("trafficd_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", to_string(static_cast<Route>(r)),
                         status, n);
    }
  }
  out += "# HELP trafficd_decisions_total Clicks redirected, by redirect type.\n";
  out += "# TYPE trafficd_decisions_total counter\n";
  for (std::size_t t = 0; t <= kOtherType; ++t) {
    out += fmt::format("trafficd_decisions_total{{redirect_type=\"{}\"}} {}\n",
                       t < kOtherType ? rules::kRedirectTypes[t] : std::string_view("other"),
                       sum([&](const WorkerMetrics& w) -> auto& { return w.decisions[t]; }));
  }
  out += "# HELP trafficd_blocked_clicks_total Clicks answered 404, by reason.\n";
  out += "# TYPE trafficd_blocked_clicks_total counter\n";
  static constexpr std::string_view kUndecodable = "undecodable_link";
  for (std::size_t b = 0; b < kBlockReasons; ++b) {
    const std::string_view reason = b == 0 ? kUndecodable : rules::to_string(static_cast<rules::BlockReason>(b));
    out += fmt::format("trafficd_blocked_clicks_total{{reason=\"{}\"}} {}\n", reason,
                       sum([&](const WorkerMetrics& w) -> auto& { return w.blocks[b]; }));
  }
  out += "# HELP trafficd_head_requests_total HEAD /pl requests (answered, not recorded).\n";
  out += "# TYPE trafficd_head_requests_total counter\n";
  out += fmt::format("trafficd_head_requests_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.head_requests; }));
  out += "# HELP trafficd_debug_requests_total Debug dry runs answered.\n";
  out += "# TYPE trafficd_debug_requests_total counter\n";
  out += fmt::format("trafficd_debug_requests_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.debug_requests; }));
  out += "# HELP trafficd_unrecorded_clicks_total Clicks answered 503 because the spool refused them.\n";
  out += "# TYPE trafficd_unrecorded_clicks_total counter\n";
  out += fmt::format("trafficd_unrecorded_clicks_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.unrecorded_clicks; }));
  out += "# HELP trafficd_link_mismatches_total Clicks served whose campaign names another offer than the link.\n";
  out += "# TYPE trafficd_link_mismatches_total counter\n";
  out += fmt::format("trafficd_link_mismatches_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.link_mismatches; }));
  out += "# HELP trafficd_events_total Site events accepted (written to the spool with a sink), by type.\n";
  out += "# TYPE trafficd_events_total counter\n";
  for (std::size_t t = 0; t < events::kEventTypes; ++t) {
    out +=
        fmt::format("trafficd_events_total{{type=\"{}\"}} {}\n", events::to_string(static_cast<events::EventType>(t)),
                    sum([&](const WorkerMetrics& w) -> auto& { return w.events[t]; }));
  }
  out += "# HELP trafficd_event_requests_refused_total POST /event requests refused whole (400, 413, 415).\n";
  out += "# TYPE trafficd_event_requests_refused_total counter\n";
  out += fmt::format("trafficd_event_requests_refused_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.refused_event_requests; }));
  out += "# HELP trafficd_event_pixels_refused_total GET /event pixels whose event was bad (answered, not recorded).\n";
  out += "# TYPE trafficd_event_pixels_refused_total counter\n";
  out += fmt::format("trafficd_event_pixels_refused_total {}\n",
                     sum([](const WorkerMetrics& w) -> auto& { return w.refused_event_pixels; }));
  out += "# HELP trafficd_record_values_truncated_total Click record values cut to their bound, by field.\n";
  out += "# TYPE trafficd_record_values_truncated_total counter\n";
  for (std::size_t f = 0; f < lid::kBoundedFields; ++f) {
    out += fmt::format("trafficd_record_values_truncated_total{{field=\"{}\"}} {}\n",
                       lid::to_string(static_cast<lid::BoundedField>(f)),
                       sum([&](const WorkerMetrics& w) -> auto& { return w.truncated_values[f]; }));
  }
  out += "# HELP trafficd_click_duration_seconds Time to decide and answer a click, in the process.\n";
  out += "# TYPE trafficd_click_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
    cumulative += sum([&](const WorkerMetrics& w) -> auto& { return w.latency[b]; });
    const std::string le = b < kLatencyBuckets.size() ? fmt::format("{}", kLatencyBuckets[b]) : "+Inf";
    out += fmt::format("trafficd_click_duration_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("trafficd_click_duration_seconds_sum {}\n",
                     static_cast<double>(sum([](const WorkerMetrics& w) -> auto& { return w.latency_sum_ns; })) / 1e9);
  out += fmt::format("trafficd_click_duration_seconds_count {}\n", cumulative);

  auto gauge = [&](std::string_view name, std::string_view help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
  };
  auto counter = [&](std::string_view name, std::string_view help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  // A counter with one label, a line per value.
  auto counter_by = [&](std::string_view name, std::string_view help, std::string_view label,
                        std::initializer_list<std::pair<std::string_view, std::uint64_t>> values) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [value, n] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, value, n);
  };
  const std::uint64_t opened = sum([](const WorkerMetrics& w) -> auto& { return w.connections_opened; });
  const std::uint64_t closed = sum([](const WorkerMetrics& w) -> auto& { return w.connections_closed; });
  gauge("trafficd_open_connections", "Client connections open now.", opened > closed ? opened - closed : 0);
  counter("trafficd_connections_total", "Client connections accepted since start.", opened);
  counter_by("trafficd_connections_refused_total", "Connections answered 503 and closed at once, by reason.", "reason",
             {{"max_connections", sum([](const WorkerMetrics& w) -> auto& { return w.connections_refused; })}});
  counter_by("trafficd_accept_paused_total", "Times accepting paused for lack of a resource, by reason.", "reason",
             {{"fd_limit", sum([](const WorkerMetrics& w) -> auto& { return w.accept_paused_fd_limit; })},
              {"kernel_memory", sum([](const WorkerMetrics& w) -> auto& { return w.accept_paused_kernel_memory; })}});
  counter("trafficd_shed_requests_total", "Clicks and postbacks answered 503 because memory was over MAX_MEMORY_MB.",
          sum([](const WorkerMetrics& w) -> auto& { return w.shed_requests; }));
  gauge("trafficd_resident_memory_bytes", "Resident memory of the process.", g.resident_bytes);
  gauge("trafficd_memory_limit_bytes", "MAX_MEMORY_MB in bytes (0: no bound).", g.memory_limit_bytes);
  gauge("trafficd_shedding", "1 while memory is over MAX_MEMORY_MB and clicks are shed.", g.shedding ? 1 : 0);
  gauge("trafficd_recipe_version", "Version of the recipe in service.", g.recipe_version);
  gauge("trafficd_recipe_age_seconds", "Seconds since the recipe in service was installed (-1: none).",
        g.recipe_age_seconds);
  gauge("trafficd_recipe_offers", "Offers in the recipe.", g.offers);
  gauge("trafficd_recipe_campaigns", "Campaigns in the recipe.", g.campaigns);
  gauge("trafficd_recipe_refused_reloads", "Recipe files refused since start.",
        g.recipe_sync ? g.recipe_sync->refused : 0);
  if (g.recipe_sync) {
    const source::RecipeSyncStats& r = *g.recipe_sync;
    counter("trafficd_recipe_sync_failures_total", "Recipe polls that could not reach a source.", r.failures);
    gauge("trafficd_recipe_sync_consecutive_failures", "Recipe polls failed in a row (backing off while > 0).",
          r.consecutive_failures);
    gauge("trafficd_recipe_sync_seconds_since_success",
          "Seconds since a recipe poll last reached the sources (-1: never).", g.recipe_sync_age_seconds);
    gauge("trafficd_recipe_source_age_seconds",
          "Seconds since the newest recipe file in service was written at its source (-1: unknown).",
          g.recipe_source_age_seconds);
    counter("trafficd_recipe_mirror_failures_total", "Installed recipes the Redis mirror could not take.",
            r.mirror_failures);
  }
  if (g.recipe_updates) {
    const source::RecordUpdateStats& u = *g.recipe_updates;
    counter_by("trafficd_recipe_updates_total", "Record update messages from Redis pub/sub, by outcome.", "outcome",
               {{"applied", u.applied}, {"stale", u.stale}, {"invalid", u.invalid}});
    gauge("trafficd_recipe_updates_subscribed", "1 while subscribed to the record updates channel.",
          u.subscribed ? 1 : 0);
    counter("trafficd_recipe_updates_subscriptions_total",
            "Subscriptions to the record updates channel (each after the first followed a gap).", u.subscriptions);
  }
  gauge("trafficd_geo_generation", "Geo database generation in service.", g.geo_generation);
  gauge("trafficd_geo_database_age_seconds", "Seconds since the geo databases were (re)opened (-1: none).",
        g.geo_age_seconds);
  gauge("trafficd_geo_data_errors", "Lookups that hit corrupt geo data.", g.geo_data_errors);
  gauge("trafficd_geo_refused_reloads", "Geo database files refused since start.", g.geo_refused_reloads);
  gauge("trafficd_device_cache_hits", "User-agent cache hits.", g.device_cache_hits);
  gauge("trafficd_device_cache_misses", "User-agent cache misses.", g.device_cache_misses);
  if (g.spool) {
    const pipeline::SpoolStats& s = *g.spool;
    counter("trafficd_spool_appended_records_total", "Records written to the spool since start.", s.appended);
    counter("trafficd_spool_rejected_records_total", "Records the spool refused (disk bound or write error).",
            s.rejected);
    counter("trafficd_spool_dropped_segments_total", "Unsent segments deleted at the disk bound (drop_oldest).",
            s.dropped_segments);
    counter("trafficd_spool_corrupt_tails_total", "Segments whose torn or corrupt end was skipped.", s.corrupt_tails);
    counter("trafficd_spool_write_errors_total", "Failed writes of record batches (a full disk, an I/O error).",
            s.write_errors);
    gauge("trafficd_spool_bytes", "Bytes of spool segments on disk.", s.bytes_on_disk);
    counter("trafficd_spool_fsyncs_total", "fdatasync calls of the spool since start.", s.fsyncs);
  }
  if (!g.sinks.empty()) {
    auto per_sink = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
      for (const SinkGauges& sink : g.sinks)
        out += fmt::format("{}{{sink=\"{}\"}} {}\n", name, sink.name, value_of(sink));
    };
    per_sink("trafficd_sink_delivered_records_total", "counter", "Records acknowledged by the sink since start.",
             [](const SinkGauges& s) { return s.delivered; });
    per_sink("trafficd_sink_failures_total", "counter", "Failed delivery attempts since start.",
             [](const SinkGauges& s) { return s.failures; });
    per_sink("trafficd_sink_pending_bytes", "gauge", "Spool bytes the sink has not taken yet (its lag).",
             [](const SinkGauges& s) { return s.pending_bytes; });
    per_sink("trafficd_sink_held_bytes", "gauge",
             "Spool bytes the sink has taken but not yet made durable (a file sink's open file).",
             [](const SinkGauges& s) { return s.held_bytes; });
    per_sink("trafficd_sink_seconds_since_success", "gauge", "Seconds since the sink last delivered (-1: never).",
             [](const SinkGauges& s) { return s.seconds_since_success; });
  }
  if (g.shared_state) {
    const counters::SyncStats& s = *g.shared_state;
    counter("trafficd_shared_state_syncs_total", "Exchanges of live counters with Redis that succeeded.", s.rounds);
    counter("trafficd_shared_state_failed_syncs_total", "Exchanges of live counters that could not reach Redis.",
            s.failed_rounds);
    gauge("trafficd_shared_state_unsynced_increments", "Counter increments kept locally, not yet in Redis.",
          s.unsynced);
    gauge("trafficd_shared_state_seconds_since_sync", "Seconds since the last exchange with Redis (-1: never).",
          g.shared_state_age_seconds);
  }
  if (g.unique_visits) {
    const lid::UniqueVisitStats& v = *g.unique_visits;
    counter("trafficd_unique_visits_forced_resets_total",
            "Times the memory bound dropped the remembered visits (later visits count as unique again).",
            v.forced_resets);
    if (v.shared) {
      counter("trafficd_unique_visits_syncs_total", "Exchanges of unique visits with Redis that succeeded.", v.rounds);
      counter("trafficd_unique_visits_failed_syncs_total", "Exchanges of unique visits that could not reach Redis.",
              v.failed_rounds);
      gauge("trafficd_unique_visits_unshared", "First visits waiting to be written to Redis.", v.unshared);
      counter("trafficd_unique_visits_conflicts_total",
              "Visits recorded as unique here that another instance had recorded first.", v.conflicts);
      counter("trafficd_unique_visits_learned_total", "First visits learned from the other instances.", v.learned);
      counter("trafficd_unique_visits_dropped_total", "First visits never shared: the waiting queue was full.",
              v.dropped);
      gauge("trafficd_unique_visits_seconds_since_sync",
            "Seconds since the last exchange of unique visits with Redis (-1: never).", g.unique_visits_age_seconds);
    }
  }
  return out;
}

}  // namespace traffic::http
