#pragma once
// trafficd's configuration (SPEC.md §10): command-line flags, environment variables with the
// old service's names, and a `.env` file — in that order of precedence. docs/configuration.md
// lists every option; a test checks it against `trafficd --help`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/pipeline/spool.hpp"
#include "traffic/redis/connection.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::config {

/// HTTP limits and timeouts (SPEC §2).
struct HttpLimits {
  std::size_t max_request_line = 8u << 10;   ///< 414 beyond
  std::size_t max_header_bytes = 16u << 10;  ///< 431 beyond
  std::size_t max_header_fields = 100;       ///< 431 beyond
  std::size_t max_body_bytes = 64u << 10;    ///< 413 beyond (postbacks)
  unsigned header_timeout_seconds = 10;
  unsigned read_timeout_seconds = 5;
  unsigned idle_timeout_seconds = 60;
  /// Open connections beyond which new ones get a 503 and are closed; 0 = the process's
  /// file-descriptor limit less a reserve for the spool, sinks and Redis (docs/reliability.md).
  std::size_t max_connections = 0;
};

/// Defaults of the postback route's settings (http::AppSettings), here so that the
/// configuration and the route share them.
inline constexpr unsigned kDefaultPostbackWindowSeconds = 300;
inline constexpr unsigned kDefaultPostbackWaitMs = 250;

struct Config {
  std::string host = "0.0.0.0";
  std::uint16_t port = 5000;
  unsigned threads = 0;  ///< 0 = one per core

  std::string offers_recipe_path = "offersRecipe.json.gz";
  std::string campaigns_recipe_path = "campaignsRecipe.json.gz";
  unsigned recipe_poll_seconds = 20;
  /// Where the recipe files come from (docs/recipe-sync.md): S3 when S3_BUCKET_NAME is set,
  /// else HTTP(S) URLs when set, else the local files themselves.
  std::string s3_bucket_name;
  std::string s3_offers_recipe_path;
  std::string s3_campaigns_recipe_path;
  std::string s3_endpoint;  ///< S3-compatible store; "" = AWS
  bool s3_path_style = false;
  std::string aws_region = "us-east-1";
  std::string aws_access_key_id;
  std::string aws_secret_access_key;  ///< Secret.
  std::string aws_session_token;      ///< Secret.
  std::string offers_recipe_url;      ///< may carry credentials (user:password@)
  std::string campaigns_recipe_url;
  unsigned recipe_fetch_timeout_seconds = 30;

  std::string maxmind_path;  ///< City/Country; required
  std::string maxmind_path_isp;
  std::string maxmind_path_asn;
  std::string maxmind_path_connection_type;
  std::string maxmind_path_anonymous_ip;
  unsigned geo_poll_seconds = 60;
  std::string ua_regexes_path = "/usr/share/uap-core/regexes.yaml";

  std::string encryption_key;  ///< ENCRIPTION_KEY (or ENCRYPTION_KEY); required. Secret.
  std::string link_keys_v2;    ///< Secret.
  bool refuse_v1_links = false;
  bool strict_link_pair = false;

  std::string url_hash_secret;                                 ///< Secret.
  url::HashMode url_hash_mode = url::UrlSettings{}.hash_mode;  ///< md5 | hmac-sha256
  std::string network_id = url::UrlSettings{}.network_id;

  // The defaults are the components' own, written once there.
  std::int64_t default_offer_id = rules::EngineSettings{}.default_offer_id;
  std::int64_t default_campaign_id =
      rules::EngineSettings{}.default_campaign_id;  ///< kProductionDefaultCampaignId with NODE_ENV=production
  /// The old service's deployment mode: "production" selects its production default
  /// campaign unless DEFAULT_CAMPAIGN_ID is set.
  std::string node_env;
  std::string fallback_url;

  std::string admin_token;  ///< Secret. Empty: admin routes and debug answers are closed.
  bool debug_open = false;  ///< development only: debug answers without the token
  std::string trust_proxy;  ///< "" = ignore X-Forwarded-For

  /// Sink URLs, comma-separated (SPEC §9, docs/click-pipeline.md). None: clicks are not
  /// recorded (a warning at start).
  std::string sinks;
  std::string aggregator_api;  ///< the old variable: adds the sink `aggregator+<url>`
  std::string spool_dir = "/var/lib/trafficd/spool";
  std::uint64_t spool_max_mb = 8192;
  pipeline::SpoolFullPolicy spool_full_policy = pipeline::SpoolFullPolicy::reject;  ///< reject | drop_oldest
  unsigned spool_fsync_ms = 200;                                                    ///< 0: fsync every write

  std::string gateway_api_secret;  ///< Secret. Postback MD5 authentication; empty: postbacks refused
  std::string postback_hmac_keys;  ///< Secret. Comma-separated HMAC-SHA256 keys for X-Signature
  /// EVENT_ORIGINS: origins (`https://news.example`) whose pages may post events from the
  /// browser (CORS), comma-separated; `*` any; "" none (same-origin only).
  std::string event_origins;
  /// EVENT_VISITOR_ID: how an event's visitor is recognised when the site sends no user_id.
  enum class EventVisitorId : std::uint8_t { cookie, fingerprint, none };
  EventVisitorId event_visitor_id = EventVisitorId::cookie;
  /// EVENT_ANALYTICS: with REDIS_HOST, events are counted in Redis (docs/events.md).
  bool event_analytics = true;
  unsigned event_repeat_clicks = 3;  ///< EVENT_REPEAT_CLICKS: clicks on one ad in a day that make a repeat clicker
  unsigned event_stats_days = 90;    ///< EVENT_STATS_DAYS: how long daily analytics are kept
  /// Whether events are counted: EVENT_ANALYTICS with REDIS_HOST. The counting reads the
  /// spool, which is open when SINKS are configured.
  [[nodiscard]] bool analytics_enabled() const noexcept { return event_analytics && redis_configured(); }
  unsigned postback_window_seconds = kDefaultPostbackWindowSeconds;  ///< accepted |now - timestamp|
  unsigned postback_wait_ms = kDefaultPostbackWaitMs;  ///< a miss in a shared lid store is asked again this long
  unsigned lid_ttl_seconds = 30 * 86400;               ///< how long a click can be converted
  std::size_t lid_store_max = 200'000;                 ///< in-process lid store bound (records)
  std::size_t lid_store_max_mb = 512;                  ///< in-process lid store bound (MiB of records)
  std::size_t unique_visits_max = 4'000'000;           ///< in-process unique-visit keys (~40 bytes each)

  /// Shared state (live counters, rotation; docs/shared-state.md): in Redis when REDIS_HOST
  /// is set, else in process.
  std::string redis_host;
  std::uint16_t redis_port = 6379;
  /// REDIS_SENTINELS (`host:port,…`): the master is found through Redis Sentinel instead of
  /// REDIS_HOST, and followed across failovers (docs/shared-state.md).
  std::string redis_sentinels;
  std::string redis_sentinel_master = "mymaster";  ///< REDIS_SENTINEL_MASTER
  std::string redis_sentinel_password;             ///< REDIS_SENTINEL_PASSWORD. Secret.
  /// Whether the shared state is in Redis: REDIS_HOST or REDIS_SENTINELS is set.
  [[nodiscard]] bool redis_configured() const noexcept { return !redis_host.empty() || !redis_sentinels.empty(); }
  std::string redis_username;  ///< Redis 6 ACL user; "" = the default user
  std::string redis_password;  ///< Secret.
  unsigned redis_db = 0;
  std::string redis_key_prefix;
  unsigned redis_sync_ms = 100;      ///< how often counters are exchanged with Redis
  unsigned redis_timeout_ms = 1000;  ///< connect/read/write timeout of each exchange
  bool recipe_mirror = true;         ///< with Redis: the recipe mirrored in offer:<id> / campaign:<id>
  std::string recipe_updates_channel = "recipe:updates";  ///< with Redis; "" = no live updates

  /// THREADS, or one per core when 0.
  [[nodiscard]] unsigned thread_count() const;
  /// "s3", "http" or "file": where the recipe comes from.
  /// Where the recipe comes from, by which variables are set: S3 (S3_BUCKET_NAME), HTTP
  /// (OFFERS_RECIPE_URL) or the files alone.
  enum class RecipeSource : std::uint8_t { file, http, s3 };
  [[nodiscard]] RecipeSource recipe_source() const;
  /// Every configured sink URL: SINKS, then AGGREGATOR_API as an aggregator sink.
  [[nodiscard]] std::vector<std::string> sink_urls() const;

  HttpLimits limits;
  /// Resident memory beyond which clicks and postbacks are shed with 503 + Retry-After
  /// until it falls back (docs/reliability.md). 0 = 90% of the cgroup's memory.max, or
  /// none without one.
  std::uint64_t max_memory_mb = 0;
  unsigned shutdown_grace_seconds = 10;
  std::string log_level = "info";
  /// INSTANCE_ID: this instance's name in the fleet view; "" = "<host name>:<port>".
  std::string instance_id;

  /// The options as "NAME=value" lines for the start-up log, secrets shown as "(set)".
  [[nodiscard]] std::vector<std::string> describe() const;
};

/// What parsing produced: a configuration to run with, or a text to print and an exit code
/// (`--help`: the option list and 0; a bad value: one line naming the variable and 2).
/// The default campaign the old service used with NODE_ENV=production.
inline constexpr std::int64_t kProductionDefaultCampaignId = 1005032;

struct ParseOutcome {
  std::optional<Config> config;
  std::string message;
  int exit_code = 0;
  /// One line per old variable that is set but no longer read, naming what replaces it
  /// (docs/compatibility.md); trafficd logs each at start-up.
  std::vector<std::string> warnings;
};

/// The configuration from the environment (and the `.env` file at `dotenv_path`) alone,
/// with the same names, parsing and NODE_ENV rule as parse() but without its checks of
/// what trafficd needs: for tools that read trafficd's variables and add flags of their
/// own (`trafficctl explain`). `config` is empty and `message` names the variable when a
/// value does not parse.
[[nodiscard]] ParseOutcome from_environment(const std::string& dotenv_path = ".env");

/// Each component's settings from the configuration: assembled here only, so that trafficd
/// and trafficctl decide and build URLs alike.
[[nodiscard]] rules::EngineSettings engine_settings(const Config& config);
[[nodiscard]] url::UrlSettings url_settings(const Config& config);
/// The shared Redis (REDIS_HOST, REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_DB,
/// REDIS_TIMEOUT_MS); meaningful when REDIS_HOST is set.
[[nodiscard]] redis::Endpoint redis_endpoint(const Config& config);

/// One option as `--help` and docs/configuration.md show it.
struct OptionInfo {
  std::string env;   ///< "PORT"
  std::string flag;  ///< "--port"
  std::string help;
  std::string default_value;  ///< "" for secrets and empty defaults
  bool secret = false;
};
[[nodiscard]] std::vector<OptionInfo> list_options();

/// Reads `.env` (KEY=VALUE lines, `#` comments, optional quotes, `export` prefix) into the
/// environment without overriding variables already set, then parses flags and environment,
/// then validates. Never throws.
ParseOutcome parse(int argc, const char* const* argv, const std::string& dotenv_path = ".env");

/// Applies one `.env` file to the process environment (existing variables win). Fails when
/// the file exists but cannot be read or has a malformed line (named with its number).
Result<> load_dotenv(const std::string& path);

}  // namespace traffic::config
