// trafficd: wires libtraffic into an HTTP server. Configuration, services, the server and
// the signal loop; all request behaviour lives in libtraffic (traffic::http).

#include <csignal>
#include <ctime>
#include <iostream>

#include "log.hpp"
#include "recipe_files.hpp"
#include "server.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/http/handler.hpp"
#include "traffic/rules/counters.hpp"

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
  trafficd::RecipeFiles recipe(config, store, clock);
  recipe.reload(true);  // not ready until this succeeds; polling keeps trying

  traffic::rules::InMemoryCounters counters;
  traffic::http::MetricsRegistry metrics;
  traffic::http::App app(config, {store, geo, *device, counters, clock, metrics, [&] { return recipe.reload(true); },
                                  [&] { return recipe.installed_at(); }, [&] { return geo_installed_at.load(); },
                                  [&] { return recipe.refused(); }});

  // Signals are taken synchronously by this thread; the server threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  trafficd::Server server(app, config);
  server.start();
  for (const auto& line : config.describe())
    trafficd::log::write(trafficd::log::Level::debug, "config", {{"option", line}});
  info("listening", {{"host", config.host},
                     {"port", server.port()},
                     {"threads", config.threads ? config.threads : std::thread::hardware_concurrency()}});

  auto next_recipe_poll = std::chrono::steady_clock::now() + std::chrono::seconds(config.recipe_poll_seconds);
  auto next_geo_poll = std::chrono::steady_clock::now() + std::chrono::seconds(config.geo_poll_seconds);
  for (;;) {
    const timespec tick{1, 0};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (signal == SIGHUP) {
      info("SIGHUP: reloading the recipe and the geo databases");
      recipe.reload(false);
      reload_geo(geo, geo_installed_at, clock);
    }
    if (now >= next_recipe_poll) {
      recipe.reload(false);
      next_recipe_poll = now + std::chrono::seconds(config.recipe_poll_seconds);
    }
    if (now >= next_geo_poll) {
      reload_geo(geo, geo_installed_at, clock);
      next_geo_poll = now + std::chrono::seconds(config.geo_poll_seconds);
    }
  }
  app.draining = true;
  server.stop(std::chrono::seconds(config.shutdown_grace_seconds));
  info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  try {
    return run(*outcome.config);
  } catch (const std::exception& e) {
    std::cerr << "trafficd: " << e.what() << "\n";
    return 2;
  }
}
