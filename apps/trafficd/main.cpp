// trafficd: wires libtraffic into an HTTP server. Configuration, services, the server and
// the signal loop; all request behaviour lives in libtraffic (traffic::http).

#include <csignal>
#include <ctime>
#include <iostream>

#include "log.hpp"
#include "recipe_updater.hpp"
#include "server.hpp"
#include "traffic/common/redact.hpp"
#include "traffic/common/ticker.hpp"
#include "traffic/counters/counters.hpp"
#include "traffic/counters/redis_counters.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/events/analytics.hpp"
#include "traffic/fleet/reporter.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/http/fleet_sampler.hpp"
#include "traffic/http/handler.hpp"
#include "traffic/lid/redis_lid_store.hpp"
#include "traffic/lid/redis_unique_visits.hpp"
#include "traffic/pipeline/emitter.hpp"
#include "traffic/pipeline/sinks/file_sink.hpp"
#include "traffic/pipeline/sinks/http_sink.hpp"
#include "traffic/pipeline/sinks/lid_store_sink.hpp"
#include "traffic/pipeline/sinks/redis_sink.hpp"
#include "watch.hpp"

namespace {

traffic::geo::GeoPaths geo_paths(const traffic::config::Config& c) {
  traffic::geo::GeoPaths paths;
  paths.city = c.maxmind_path;
  paths.isp = c.maxmind_path_isp;
  paths.asn = c.maxmind_path_asn;
  paths.connection_type = c.maxmind_path_connection_type;
  paths.anonymous_ip = c.maxmind_path_anonymous_ip;
  return paths;
}

void reload_geo(traffic::geo::GeoResolver& geo, std::atomic<traffic::TimestampMs>& installed_at,
                const traffic::Clock& clock) {
  const auto result = geo.reload();
  if (result.reloaded) {
    installed_at = clock.now();
    trafficd::log::info("geo databases reloaded", {{"files", result.reloaded}});
  }
  for (const auto& error : result.errors) {
    trafficd::log::error("geo database refused; the previous one stays in service", {{"reason", error}});
  }
}

// The click pipeline: the spool (one lane per request thread) and a thread per sink.
// The spool cursor of the sink feeding the lid store.
constexpr std::string_view kLidStore = "lidstore";
// The spool cursor of the event analytics (with REDIS_HOST).
constexpr std::string_view kAnalytics = "analytics";

struct Pipeline {
  std::unique_ptr<traffic::lid::LidStore> lid_store;
  std::unique_ptr<traffic::lid::UniqueVisits> unique_visits;
  std::unique_ptr<traffic::pipeline::Spool> spool;
  std::unique_ptr<traffic::pipeline::Emitter> emitter;
};

traffic::pipeline::Emitter::NamedSink make_sink(const traffic::pipeline::SinkUrl& url,
                                                const traffic::config::Config& config) {
  using traffic::pipeline::SinkKind;
  try {
    switch (url.kind) {
      case SinkKind::file:
        return {url.name,
                std::make_unique<traffic::pipeline::FileSink>(traffic::pipeline::FileSinkSettings::from_url(url))};
      case SinkKind::http:
      case SinkKind::aggregator: {
        auto settings = traffic::pipeline::HttpSinkSettings::from_url(url);
        settings.bonus_secret = config.gateway_api_secret;  // signs conversions to /lidBonus
        const std::size_t batch = settings.batch;
        const auto mode = url.kind == SinkKind::aggregator ? traffic::pipeline::HttpSink::Mode::aggregator
                                                           : traffic::pipeline::HttpSink::Mode::ndjson_batch;
        return {url.name, std::make_unique<traffic::pipeline::HttpSink>(std::move(settings), mode), batch};
      }
      case SinkKind::redis: {
        auto settings = traffic::pipeline::RedisSinkSettings::from_url(url);
        const std::size_t batch = settings.batch;
        return {url.name, std::make_unique<traffic::pipeline::RedisSink>(std::move(settings)), batch};
      }
    }
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("SINKS: sink '" + url.name + "': " + e.what());
  }
  throw std::logic_error("unknown sink kind");
}

// Unique visits: shared through Redis when REDIS_HOST is set (docs/shared-state.md).
std::unique_ptr<traffic::lid::UniqueVisits> open_unique_visits(const traffic::config::Config& config,
                                                               const traffic::Clock& clock) {
  if (!config.redis_configured()) return std::make_unique<traffic::lid::InMemoryUniqueVisits>(config.unique_visits_max);
  traffic::lid::RedisUniqueVisitsSettings settings;
  settings.key_prefix = config.redis_key_prefix;
  settings.max_visits = config.unique_visits_max;
  auto shared =
      std::make_unique<traffic::lid::RedisUniqueVisits>(traffic::config::redis_endpoint(config), std::move(settings));
  shared->start(clock, std::chrono::milliseconds(config.redis_sync_ms));
  return shared;
}

// Read-your-writes for postbacks: a wait until the lid-store sink has taken every click
// recorded so far; empty without a lid store.
std::function<bool(std::chrono::milliseconds)> lid_store_catch_up(Pipeline& pipeline) {
  if (!pipeline.lid_store || !pipeline.emitter) return {};
  return [&pipeline](std::chrono::milliseconds limit) { return pipeline.emitter->await_taken(kLidStore, limit); };
}

Pipeline open_pipeline(const traffic::config::Config& config, const traffic::Clock& clock) {
  const auto urls = traffic::pipeline::parse_sink_urls(config.sink_urls()).value();  // validated by the parser
  if (urls.empty()) {
    // The event analytics read the spool like a sink; without SINKS there is none (an
    // instance that records nothing should not need a SPOOL_DIR it never had).
    trafficd::log::warn(config.analytics_enabled()
                            ? "no SINKS configured: clicks and events are answered but not recorded, nor counted"
                            : "no SINKS configured: clicks are answered but not recorded");
    return {};
  }
  const bool analytics = config.analytics_enabled();
  traffic::pipeline::SpoolSettings settings;
  settings.directory = config.spool_dir;
  settings.lanes = config.thread_count() + 1;  // + the thread of blocking work (postbacks)
  settings.max_bytes = config.spool_max_mb << 20;
  settings.full_policy = config.spool_full_policy;
  settings.fsync_interval = std::chrono::milliseconds(config.spool_fsync_ms);
  for (const auto& url : urls) settings.sinks.push_back(url.name);
  // The lid store for postbacks is fed like a sink, and only when postbacks can be
  // authenticated at all: in Redis when REDIS_HOST is set (shared by every instance), else
  // in process — empty after a restart, so its cursor is not kept: it reads what the spool
  // still holds.
  const bool postbacks = !config.gateway_api_secret.empty() || !config.postback_hmac_keys.empty();
  if (postbacks) settings.sinks.emplace_back(kLidStore);
  if (analytics) settings.sinks.emplace_back(kAnalytics);
  Pipeline pipeline;
  pipeline.spool = std::make_unique<traffic::pipeline::Spool>(settings);  // throws naming SPOOL_DIR
  pipeline.unique_visits = open_unique_visits(config, clock);
  std::vector<traffic::pipeline::Emitter::NamedSink> sinks;
  sinks.reserve(urls.size());
  for (const auto& url : urls) {
    traffic::pipeline::Emitter::NamedSink sink = make_sink(url, config);
    // Only the kinds of records the sink takes (`#kinds=`; aggregators: clicks and conversions).
    if (const auto kinds = traffic::pipeline::record_kinds(url).value(); kinds != traffic::pipeline::kAllRecordKinds) {
      sink.sink = std::make_unique<traffic::pipeline::KindFilter>(std::move(sink.sink), kinds);
    }
    sinks.push_back(std::move(sink));
  }
  if (postbacks && config.redis_configured()) {
    pipeline.lid_store = std::make_unique<traffic::lid::RedisLidStore>(
        traffic::config::redis_endpoint(config), config.redis_key_prefix, std::chrono::seconds(config.lid_ttl_seconds));
  } else if (postbacks) {
    pipeline.spool->commit(kLidStore, {}).value();  // throws naming the spool's directory
    pipeline.lid_store = std::make_unique<traffic::lid::InMemoryLidStore>(
        config.lid_store_max, config.lid_store_max_mb << 20, std::chrono::seconds(config.lid_ttl_seconds));
  }
  if (postbacks) {
    // Shared through Redis, a click must reach the store soon for a postback to another
    // instance (docs/click-pipeline.md): the sink looks every 10 ms, not every 100.
    const auto poll = !config.redis_configured() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(10);
    sinks.push_back(
        {std::string(kLidStore),
         std::make_unique<traffic::pipeline::LidStoreSink>(*pipeline.lid_store, [&clock] { return clock.now(); }), 0,
         poll});
  }
  if (analytics) {
    traffic::events::AnalyticsSettings counting{.endpoint = traffic::config::redis_endpoint(config),
                                                .key_prefix = config.redis_key_prefix,
                                                .source = pipeline.spool->id() + ":" + std::string(kAnalytics),
                                                .repeat_clicks = config.event_repeat_clicks,
                                                .retention_days = config.event_stats_days};
    // The sink passes over records that are not events, and sends Redis nothing for them.
    sinks.push_back({std::string(kAnalytics), std::make_unique<traffic::events::AnalyticsSink>(std::move(counting))});
  }
  pipeline.emitter = std::make_unique<traffic::pipeline::Emitter>(*pipeline.spool, std::move(sinks));
  pipeline.emitter->start();
  trafficd::log::info("click pipeline started",
                      {{"spool", config.spool_dir}, {"sinks", traffic::redact_credentials(config.sinks)}});
  return pipeline;
}

// Live caps and rotation counters: shared through Redis when REDIS_HOST is set.
struct Counters {
  std::unique_ptr<traffic::counters::InMemoryCounters> local;
  std::unique_ptr<traffic::counters::RedisCounters> shared;
  traffic::counters::CountersView& view() {
    return shared ? static_cast<traffic::counters::CountersView&>(*shared) : *local;
  }
};

Counters open_counters(const traffic::config::Config& config, const traffic::Clock& clock) {
  Counters counters;
  if (!config.redis_configured()) {
    counters.local = std::make_unique<traffic::counters::InMemoryCounters>();
    return counters;
  }
  const traffic::redis::Endpoint endpoint = traffic::config::redis_endpoint(config);
  counters.shared = std::make_unique<traffic::counters::RedisCounters>(endpoint, config.redis_key_prefix);
  // Not reachable at start is not fatal: counts stay local and catch up (docs/shared-state.md).
  if (!counters.shared->sync(clock.now())) {
    trafficd::log::warn("Redis not reachable; live counters are kept locally until it answers",
                        {{"redis", endpoint.address()}, {"reason", counters.shared->last_failure()}});
  }
  counters.shared->start(clock, std::chrono::milliseconds(config.redis_sync_ms));
  trafficd::log::info("live counters shared through Redis", {{"redis", endpoint.address()}});
  return counters;
}

std::vector<traffic::http::SinkGauges> sink_gauges(const traffic::pipeline::Emitter& emitter) {
  std::vector<traffic::http::SinkGauges> out;
  for (const auto& s : emitter.stats()) {
    out.push_back({s.name, s.delivered, s.failures, s.pending_bytes, s.held_bytes, s.seconds_since_success});
  }
  return out;
}

// The signals the main loop waits for: SIGTERM and SIGINT stop, SIGHUP reloads.
sigset_t control_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

int run(const traffic::config::Config& config) {
  using trafficd::log::info;
  traffic::SystemClock clock;
  // Open everything configured before listening: a bad file stops start-up with one line.
  traffic::geo::GeoResolver geo(geo_paths(config));
  std::atomic<traffic::TimestampMs> geo_installed_at{clock.now()};
  std::unique_ptr<traffic::device::DeviceDetector> device;
  try {
    device = std::make_unique<traffic::device::DeviceDetector>(config.ua_regexes_path);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("UA_REGEXES_PATH: ") + e.what());
  }
  traffic::recipe::Store store;
  trafficd::RecipeUpdater recipe(
      config, store, clock,
      !config.redis_configured() ? std::nullopt : std::optional(traffic::config::redis_endpoint(config)));
  recipe.boot();  // not ready until a recipe is installed; the recipe-sync thread keeps trying
  recipe.start();

  Pipeline pipeline = open_pipeline(config, clock);
  Counters counters = open_counters(config, clock);
  traffic::http::MetricsRegistry metrics;
  // The fleet view's reader: assigned once the server listens (a lone instance reads its own
  // reporter, which needs the port for its name); the route asks it only after that.
  std::unique_ptr<traffic::fleet::FleetReader> fleet_reader;
  // Another instance may count events even where this one does not (EVENT_ANALYTICS off).
  std::unique_ptr<traffic::events::AnalyticsReader> analytics;
  if (config.redis_configured()) {
    analytics = std::make_unique<traffic::events::AnalyticsReader>(traffic::config::redis_endpoint(config),
                                                                   config.redis_key_prefix);
  }
  traffic::http::App::Services services{
      .store = store,
      .geo = geo,
      .device = *device,
      .counters = counters.view(),
      .clock = clock,
      .metrics = metrics,
      .reload_recipe = [&] { return recipe.reload(); },
      .recipe_sync = [&] { return recipe.stats(); },
      .geo_installed_at = [&] { return geo_installed_at.load(); },
      .spool = pipeline.spool.get(),
      .sink_gauges = [&]() -> std::vector<traffic::http::SinkGauges> {
        if (!pipeline.emitter) return {};
        return sink_gauges(*pipeline.emitter);
      },
      .lid_store = pipeline.lid_store.get(),
      .unique_visits = pipeline.unique_visits.get(),
      .lid_store_catch_up = lid_store_catch_up(pipeline),
      .analytics = analytics.get(),
      .fleet = [&](traffic::TimestampMs now,
                   bool series) -> traffic::Result<std::vector<traffic::fleet::InstanceView>> {
        if (!fleet_reader) return std::vector<traffic::fleet::InstanceView>{};
        return fleet_reader->instances(now, series);
      }};
  if (counters.shared) services.shared_state = [&] { return counters.shared->stats(); };
  if (recipe.updates()) services.recipe_updates = [&] { return recipe.updates()->stats(); };
  traffic::http::App app(traffic::http::app_settings(config), std::move(services));

  // Blocked since main() began, in every thread: taken here, synchronously.
  const sigset_t signals = control_signals();

  const trafficd::OverloadLimits overload = trafficd::overload_limits(config);
  trafficd::Watch watch(app, metrics, pipeline.spool.get(),
                        pipeline.emitter ? trafficd::Watch::SinkStatsFn([&] { return pipeline.emitter->stats(); })
                                         : trafficd::Watch::SinkStatsFn(),
                        overload.max_memory_bytes);
  trafficd::Server server(app, config, overload.max_connections);
  server.start();
  // The fleet view (docs/fleet.md): this instance's sample once a second, in Redis when
  // REDIS_HOST is set. Declared after the app and server it reads: destroyed before them.
  traffic::fleet::HostFacts host = traffic::fleet::read_host_facts();
  traffic::http::FleetSampler sampler(
      app, metrics,
      {.instance =
           config.instance_id.empty() ? host.host_name + ":" + std::to_string(server.port()) : config.instance_id,
       .version = TRAFFIC_VERSION},
      host);
  traffic::fleet::Reporter reporter(
      {.redis = !config.redis_configured() ? std::nullopt : std::optional(traffic::config::redis_endpoint(config)),
       .key_prefix = config.redis_key_prefix,
       .interval = std::chrono::milliseconds(1'000)},
      clock, [&sampler] { return sampler.take(); });
  fleet_reader = !config.redis_configured() ? std::make_unique<traffic::fleet::FleetReader>(reporter)
                                            : std::make_unique<traffic::fleet::FleetReader>(
                                                  traffic::config::redis_endpoint(config), config.redis_key_prefix);
  reporter.start();
  // The dashboards' stream (/status/events): the fleet read once a second, only while one
  // is open, and sent to all of them (50 dashboards cost one read of Redis a second).
  traffic::Ticker fleet_feed;
  fleet_feed.start("fleet-feed", std::chrono::milliseconds(1'000), [&] {
    if (server.streams() == 0) return;
    const auto fleet = fleet_reader->instances(clock.now(), false);
    server.publish(std::make_shared<const std::string>(fleet ? "data: " + traffic::fleet::fleet_json(*fleet) + "\n\n"
                                                             : ": the fleet store is not answering\n\n"));
  });
  for (const auto& line : config.describe())
    trafficd::log::write(trafficd::log::Level::debug, "config", {{"option", line}});
  info("listening", {{"host", config.host},
                     {"port", server.port()},
                     {"threads", config.threads ? config.threads : std::thread::hardware_concurrency()},
                     {"max_connections", overload.max_connections},
                     {"open_files", overload.open_files},
                     {"max_memory_mb", overload.max_memory_bytes >> 20}});

  auto next_geo_poll = std::chrono::steady_clock::now() + std::chrono::seconds(config.geo_poll_seconds);
  for (;;) {
    const timespec tick{1, 0};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    watch.tick(now);
    if (signal == SIGHUP) {
      info("SIGHUP: checking the recipe sources and reloading the geo databases");
      recipe.check_now();
      reload_geo(geo, geo_installed_at, clock);
    }
    if (now >= next_geo_poll) {
      reload_geo(geo, geo_installed_at, clock);
      next_geo_poll = now + std::chrono::seconds(config.geo_poll_seconds);
    }
  }
  app.draining = true;
  fleet_feed.stop();
  reporter.stop();
  recipe.stop();
  server.stop(std::chrono::seconds(config.shutdown_grace_seconds));
  if (pipeline.emitter) {
    // Every acknowledged click is in the spool; hand the sinks what they can take in the
    // grace time. The rest stays on disk for the next start.
    pipeline.emitter->stop(std::chrono::seconds(config.shutdown_grace_seconds));
    const auto stats = pipeline.emitter->stats();
    for (const auto& s : stats) {
      info("sink stopped", {{"sink", s.name}, {"delivered", s.delivered}, {"pending_bytes", s.pending_bytes}});
    }
  }
  if (counters.shared) counters.shared->stop();  // one last exchange: the last clicks counted
  info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts (sinks, spool, Redis and recipe watchers start before the
  // server): threads inherit the mask, so a SIGTERM can only reach the signal loop, never
  // a thread where its default action would kill the process.
  const sigset_t signals = control_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer that went away (a client, Redis, a collector) is an error on that connection,
  // never the end of the process: every socket write then fails with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  auto outcome = traffic::config::parse(argc, argv);
  if (!outcome.config) {
    if (outcome.exit_code == 0) {
      std::cout << outcome.message;
    } else {
      std::cerr << "trafficd: " << outcome.message << "\n";
    }
    return outcome.exit_code;
  }
  trafficd::log::init(outcome.config->log_level);
  for (const std::string& warning : outcome.warnings) trafficd::log::warn(warning);
  try {
    return run(*outcome.config);
  } catch (const std::exception& e) {
    std::cerr << "trafficd: " << e.what() << "\n";
    return 2;
  }
}
