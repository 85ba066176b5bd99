#pragma once
// trafficd's routes as functions of (request, services) → response (SPEC.md §2). The
// daemon's HTTP server parses bytes into a Request and writes the Response back; all the
// behaviour lives here, so it is tested without sockets.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/common/random.hpp"
#include "traffic/config/config.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/events/analytics.hpp"
#include "traffic/fleet/reporter.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/http/message.hpp"
#include "traffic/http/metrics.hpp"
#include "traffic/lid/lid_store.hpp"
#include "traffic/lid/unique_visits.hpp"
#include "traffic/link/link.hpp"
#include "traffic/net/client_ip.hpp"
#include "traffic/pipeline/spool.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::http {

/// The answer to every undecodable or blocked click: identical bytes whatever the cause.
inline constexpr std::string_view kCampaignNotFound = "\"404 Campaign not found\"";

/// What the routes need from the configuration. trafficd builds it with app_settings(); a
/// service embedding the handler may fill it directly (examples/embed_handler.cpp).
struct AppSettings {
  link::LinkKeys keys;           ///< ENCRIPTION_KEY, LINK_KEYS_V2; none: every link is refused
  bool refuse_v1_links = false;  ///< REFUSE_V1_LINKS
  rules::EngineSettings engine;
  url::UrlSettings urls;
  net::TrustProxy trust_proxy;                  ///< TRUST_PROXY; default: X-Forwarded-For ignored
  std::string admin_token;                      ///< ADMIN_TOKEN; "" = admin routes and debug answers closed
  bool debug_open = false;                      ///< DEBUG_OPEN: debug answers without the token (development)
  std::string gateway_api_secret;               ///< postback MD5 authentication; "" = MD5 postbacks refused
  std::vector<std::string> postback_hmac_keys;  ///< X-Signature keys (several, for rotation)
  std::chrono::seconds postback_window{config::kDefaultPostbackWindowSeconds};  ///< accepted |now - timestamp|
  /// A shared lid store's miss is asked again this long.
  std::chrono::milliseconds postback_wait{config::kDefaultPostbackWaitMs};
  std::vector<std::string> event_origins;  ///< EVENT_ORIGINS; "*" = any; empty: same-origin only
  config::Config::EventVisitorId event_visitor_id = config::Config::EventVisitorId::cookie;  ///< EVENT_VISITOR_ID
};

/// The routes' settings from trafficd's configuration. Throws std::invalid_argument for
/// keys or TRUST_PROXY the configuration's parser should have refused.
[[nodiscard]] AppSettings app_settings(const config::Config& config);

/// What the handlers share: the settings and the long-lived services. Built once at
/// start-up; thread-safe to share (its parts are).
class App {
 public:
  /// What the handler uses, filled by name (`{.store = …, .geo = …}`); the optional ones
  /// (functions, pointers) may be left out.
  struct Services {
    recipe::Store& store;
    geo::GeoResolver& geo;
    device::DeviceDetector& device;
    counters::CountersView& counters;
    const Clock& clock;
    MetricsRegistry& metrics;
    /// Reloads the recipe files now (admin route); returns a one-line outcome.
    std::function<std::string()> reload_recipe{};
    /// How the recipe sync is doing (last change, failures, refusals), for gauges.
    std::function<source::RecipeSyncStats()> recipe_sync{};
    /// When the geo databases were last installed (ms), for gauges.
    std::function<TimestampMs()> geo_installed_at{};
    /// Where clicks are recorded; nullptr: not recorded (no sink configured).
    pipeline::Spool* spool = nullptr;
    /// Delivery state of the sinks, for /metrics.
    std::function<std::vector<SinkGauges>()> sink_gauges{};
    /// Click records by lid, for postbacks; nullptr: postbacks find no lid.
    lid::LidStore* lid_store = nullptr;
    /// First visits per fingerprint and campaign; nullptr: no fingerprint in the records.
    lid::UniqueVisits* unique_visits = nullptr;
    /// State of the exchanges with Redis, for /metrics; empty function: no Redis.
    std::function<::traffic::counters::SyncStats()> shared_state{};
    /// Live record updates from Redis pub/sub, for /metrics; empty function: not subscribed.
    std::function<source::RecordUpdateStats()> recipe_updates{};
    /// Waits until the lid store has every click this instance recorded before the call, at
    /// most the given time; true when it has (read-your-writes for postbacks). Empty: the
    /// store is not fed by this instance's spool.
    std::function<bool(std::chrono::milliseconds)> lid_store_catch_up{};
    /// The event analytics in Redis, for /admin/stats/…; nullptr: not kept (no REDIS_HOST).
    /// Asked only from a Worker that may block.
    events::AnalyticsReader* analytics = nullptr;
    /// The fleet view (fleet/reporter.hpp): every instance at `now`, with series when
    /// asked; asked only from a Worker that may block. Empty: no fleet view.
    std::function<Result<std::vector<fleet::InstanceView>>(TimestampMs now, bool series)> fleet{};
  };

  App(AppSettings settings, Services services);

  [[nodiscard]] const Services& services() const noexcept { return services_; }
  [[nodiscard]] const AppSettings& settings() const noexcept { return settings_; }
  [[nodiscard]] const rules::Engine& engine() const noexcept { return engine_; }
  [[nodiscard]] const url::UrlBuilder& urls() const noexcept { return urls_; }
  /// The dashboard's session cookie value: HMAC-SHA256 of a fixed text under ADMIN_TOKEN, in
  /// hex — proof of the token without the token itself in the browser; "" without a token.
  [[nodiscard]] const std::string& status_session() const noexcept { return status_session_; }
  /// `/ready`: a recipe and the geo databases are loaded, and the instance is neither
  /// draining nor shedding; else fails with the reason /ready shows.
  [[nodiscard]] Result<> ready() const;
  [[nodiscard]] Gauges gauges() const;

  /// Set at shutdown: `/ready` answers 503 so load balancers drain the instance.
  std::atomic<bool> draining{false};
  /// Set while memory is over MAX_MEMORY_MB (the daemon watches it): clicks and postbacks
  /// are answered 503 with Retry-After, counted in shed_requests (docs/reliability.md).
  std::atomic<bool> shedding{false};
  /// The bound itself, in bytes, for /metrics (0 = none).
  std::atomic<std::uint64_t> memory_limit_bytes{0};

 private:
  AppSettings settings_;
  Services services_;
  rules::Engine engine_;
  url::UrlBuilder urls_;
  std::string status_session_;
};

/// One request thread's handler: its own snapshot cache, geo reader, random source,
/// metrics and scratch buffers. Not thread-safe; one per event loop.
///
/// A request thread's Worker never waits on the network: a request that would (a postback
/// when the lid store is remote) comes back with `response.offload` set and nothing done,
/// for the server to hand to a Worker made with `may_block` on a thread of its own.
class Worker {
 public:
  /// `lane`: this worker's spool lane (one per thread).
  explicit Worker(App& app, std::size_t lane = 0, bool may_block = false);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Answers one request. Never throws; internal errors become a 500 without details.
  /// A recorded click comes back with `response.awaits_commit`: its record is staged in
  /// this thread's spool lane and the answer must wait for commit_clicks() and complete().
  void handle(const Request& request, Response& response) noexcept;

  /// Writes the staged clicks to the spool in one write(2) and moves their live counters.
  /// False when the write failed: none of them may be acknowledged. Called once per event
  /// loop turn, after the turn's requests were handled.
  bool commit_clicks() noexcept;
  /// Finishes a response that awaited the commit: unchanged when `recorded`, else the 503
  /// of a click (or conversion) that could not be recorded. Counts it in the request metrics.
  void complete(Response& response, bool recorded) noexcept;

  /// Sets `response.request_id`: `given` (the request's X-Request-Id) when it is safe to
  /// echo, else a new id. For answers the server gives without the handler (400, 413, 414,
  /// 431) as well as the handler's own.
  void assign_request_id(Response& response, std::string_view given = {}) noexcept;

  [[nodiscard]] WorkerMetrics& metrics() noexcept { return metrics_; }

  struct State;  ///< per-thread caches and buffers (handler.cpp)

 private:
  App& app_;
  WorkerMetrics& metrics_;
  std::unique_ptr<State> state_;
};

}  // namespace traffic::http
