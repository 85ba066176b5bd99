#include "traffic/config/config.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>

#include <unistd.h>  // environ

#include "traffic/common/redact.hpp"
#include "traffic/link/link.hpp"
#include "traffic/net/client_ip.hpp"
#include "traffic/pipeline/sink.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::config {
namespace {

// One option: its environment name (the old service's where it had one), flag, help, how
// to apply a value (returning an error text, "" when fine) and how to show the default.
struct Option {
  const char* env;
  const char* flag;
  const char* help;
  std::function<std::string(Config&, const std::string&)> apply;
  std::function<std::string(const Config&)> show;
  bool secret = false;
  bool is_flag = false;
};

template <class Int>
std::string parse_int(const std::string& text, Int& out, Int low, Int high) {
  long long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return "not an integer: '" + text + "'";
  if (value < static_cast<long long>(low) || value > static_cast<long long>(high)) {
    return "must be between " + std::to_string(low) + " and " + std::to_string(high);
  }
  out = static_cast<Int>(value);
  return {};
}

std::string parse_bool(const std::string& text, bool& out) {
  std::string lower;
  for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
    out = true;
  } else if (lower == "0" || lower == "false" || lower == "no" || lower == "off" || lower.empty()) {
    out = false;
  } else {
    return "not a boolean: '" + text + "' (true/false, 1/0, yes/no)";
  }
  return {};
}

template <class Int>
Option int_option(const char* env, const char* flag, const char* help, Int Config::*field, Int low, Int high) {
  return {env, flag, help, [=](Config& c, const std::string& v) { return parse_int(v, c.*field, low, high); },
          [=](const Config& c) { return std::to_string(c.*field); }};
}

template <class Int>
Option limit_option(const char* env, const char* flag, const char* help, Int HttpLimits::*field, Int low, Int high) {
  return {env, flag, help, [=](Config& c, const std::string& v) { return parse_int(v, c.limits.*field, low, high); },
          [=](const Config& c) { return std::to_string(c.limits.*field); }};
}

// A closed set of words parsed into an enum once, here: the rest of the program compares
// values, never text. `names` pairs each word with its value; the first is listed first.
template <class Enum>
Option enum_option(const char* env, const char* flag, const char* help, Enum Config::*field,
                   std::vector<std::pair<std::string, Enum>> names) {
  return {env, flag, help,
          [=](Config& c, const std::string& v) {
            for (const auto& [name, value] : names) {
              if (name == v) {
                c.*field = value;
                return std::string();
              }
            }
            std::string expected;
            for (std::size_t i = 0; i < names.size(); ++i) {
              expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i].first;
            }
            return "must be " + expected + ", not '" + v + "'";
          },
          [=](const Config& c) {
            for (const auto& [name, value] : names) {
              if (value == c.*field) return name;
            }
            return std::string();
          }};
}

Option string_option(const char* env, const char* flag, const char* help, std::string Config::*field,
                     bool secret = false) {
  return {env,
          flag,
          help,
          [=](Config& c, const std::string& v) {
            c.*field = v;
            return std::string();
          },
          [=](const Config& c) { return c.*field; },
          secret};
}

Option bool_option(const char* env, const char* flag, const char* help, bool Config::*field) {
  Option option{env, flag, help, [=](Config& c, const std::string& v) { return parse_bool(v, c.*field); },
                [=](const Config& c) { return std::string(c.*field ? "true" : "false"); }};
  option.is_flag = true;
  return option;
}

// SINKS may carry credentials (redis://:password@…, https://user:pass@…): shown without them.
Option sinks_option() {
  Option option = string_option("SINKS", "sinks",
                                "where clicks go: comma-separated sink URLs (file://, http(s)://, "
                                "aggregator+http(s)://, redis://); none: clicks are not recorded",
                                &Config::sinks);
  option.show = [](const Config& c) { return redact_credentials(c.sinks); };
  return option;
}

const std::vector<Option>& options() {
  constexpr unsigned kMaxSeconds = 86400;
  constexpr std::size_t kMaxBytes = 1 << 30;
  static const std::vector<Option> all = {
      string_option("HOST", "host", "address to listen on", &Config::host),
      int_option<std::uint16_t>("PORT", "port", "port to listen on (0: any free port)", &Config::port, 0, 65535),
      int_option<unsigned>("THREADS", "threads", "request threads, each with its own event loop (0: one per core)",
                           &Config::threads, 0, 1024),
      string_option("OFFERS_RECIPE_PATH", "offers-recipe-path", "offers recipe file (gzip'd or plain JSON)",
                    &Config::offers_recipe_path),
      string_option("CAMPAIGNS_RECIPE_PATH", "campaigns-recipe-path", "campaigns recipe file",
                    &Config::campaigns_recipe_path),
      int_option<unsigned>("RECIPE_POLL_SECONDS", "recipe-poll-seconds",
                           "how often the recipe sources are checked for changes (±10% jitter)",
                           &Config::recipe_poll_seconds, 1, kMaxSeconds),
      string_option("S3_BUCKET_NAME", "s3-bucket-name", "S3 bucket of the recipe files (none: not from S3)",
                    &Config::s3_bucket_name),
      string_option("S3_OFFERS_RECIPE_PATH", "s3-offers-recipe-path", "key of the offers recipe in the bucket",
                    &Config::s3_offers_recipe_path),
      string_option("S3_CAMPAIGNS_RECIPE_PATH", "s3-campaigns-recipe-path", "key of the campaigns recipe in the bucket",
                    &Config::s3_campaigns_recipe_path),
      string_option("S3_ENDPOINT", "s3-endpoint",
                    "base URL of an S3-compatible store (none: AWS, https://s3.<region>.amazonaws.com)",
                    &Config::s3_endpoint),
      bool_option("S3_PATH_STYLE", "s3-path-style", "path-style S3 URLs (<endpoint>/<bucket>/<key>)",
                  &Config::s3_path_style),
      string_option("AWS_REGION", "aws-region", "region of the bucket (signs the requests)", &Config::aws_region),
      string_option("AWS_ACCESS_KEY_ID", "aws-access-key-id", "access key id for S3", &Config::aws_access_key_id),
      string_option("AWS_SECRET_ACCESS_KEY", "aws-secret-access-key", "secret access key for S3",
                    &Config::aws_secret_access_key, true),
      string_option("AWS_SESSION_TOKEN", "aws-session-token", "session token of temporary S3 credentials",
                    &Config::aws_session_token, true),
      string_option("OFFERS_RECIPE_URL", "offers-recipe-url",
                    "HTTP(S) URL of the offers recipe (none: not from HTTP); downloaded to OFFERS_RECIPE_PATH",
                    &Config::offers_recipe_url, true),
      string_option("CAMPAIGNS_RECIPE_URL", "campaigns-recipe-url", "HTTP(S) URL of the campaigns recipe",
                    &Config::campaigns_recipe_url, true),
      int_option<unsigned>("RECIPE_FETCH_TIMEOUT_SECONDS", "recipe-fetch-timeout-seconds",
                           "time limit of each recipe download", &Config::recipe_fetch_timeout_seconds, 1, 3600),
      string_option("MAXMIND_PATH", "maxmind-path", "GeoIP2/GeoLite2 City (or Country) database; required",
                    &Config::maxmind_path),
      string_option("MAXMIND_PATH_ISP", "maxmind-path-isp", "GeoIP2 ISP database", &Config::maxmind_path_isp),
      string_option("MAXMIND_PATH_ASN", "maxmind-path-asn", "GeoLite2/GeoIP2 ASN database", &Config::maxmind_path_asn),
      string_option("MAXMIND_PATH_CONNECTION_TYPE", "maxmind-path-connection-type", "GeoIP2 Connection-Type database",
                    &Config::maxmind_path_connection_type),
      string_option("MAXMIND_PATH_ANONYMOUS_IP", "maxmind-path-anonymous-ip", "GeoIP2 Anonymous-IP database",
                    &Config::maxmind_path_anonymous_ip),
      int_option<unsigned>("GEO_POLL_SECONDS", "geo-poll-seconds",
                           "how often the geo databases are checked for replacement", &Config::geo_poll_seconds, 1,
                           kMaxSeconds),
      string_option("UA_REGEXES_PATH", "ua-regexes-path", "uap-core regexes.yaml", &Config::ua_regexes_path),
      string_option("ENCRIPTION_KEY", "encryption-key",
                    "v1 link key: 32 bytes or 64 hex digits (ENCRYPTION_KEY is accepted too); required",
                    &Config::encryption_key, true),
      string_option("LINK_KEYS_V2", "link-keys-v2", "v2 link keys 'kid:hex64,...', the first one signs",
                    &Config::link_keys_v2, true),
      bool_option("REFUSE_V1_LINKS", "refuse-v1-links", "answer v1 (unauthenticated) links with the 404",
                  &Config::refuse_v1_links),
      bool_option("STRICT_LINK_PAIR", "strict-link-pair", "block links whose campaign belongs to another offer",
                  &Config::strict_link_pair),
      string_option("URL_HASH_SECRET", "url-hash-secret", "secret of the landing-page URL hash (none: no hash)",
                    &Config::url_hash_secret, true),
      enum_option<url::HashMode>("URL_HASH_MODE", "url-hash-mode", "md5 (compatible) or hmac-sha256",
                                 &Config::url_hash_mode,
                                 {{"md5", url::HashMode::md5}, {"hmac-sha256", url::HashMode::hmac_sha256}}),
      string_option("NETWORK_ID", "network-id", "the network id sent as 'ap'", &Config::network_id),
      int_option<std::int64_t>("DEFAULT_OFFER_ID", "default-offer-id",
                               "where traffic goes when an exit offer is missing", &Config::default_offer_id, 1,
                               std::numeric_limits<std::int64_t>::max()),
      int_option<std::int64_t>("DEFAULT_CAMPAIGN_ID", "default-campaign-id",
                               "campaign that inactive offers switch to (default with NODE_ENV=production: 1005032)",
                               &Config::default_campaign_id, 1, std::numeric_limits<std::int64_t>::max()),
      string_option("NODE_ENV", "node-env",
                    "the old service's mode: production selects its production DEFAULT_CAMPAIGN_ID (1005032)",
                    &Config::node_env),
      string_option("FALLBACK_URL", "fallback-url", "last-resort landing page (none: 404)", &Config::fallback_url),
      string_option("ADMIN_TOKEN", "admin-token", "bearer token of the admin routes and debug answers",
                    &Config::admin_token, true),
      bool_option("DEBUG_OPEN", "debug-open", "development only: debug answers without the admin token",
                  &Config::debug_open),
      string_option("TRUST_PROXY", "trust-proxy",
                    "proxies whose X-Forwarded-For is believed: CIDRs/keywords, a hop count, or 'leftmost'",
                    &Config::trust_proxy),
      sinks_option(),
      string_option("AGGREGATOR_API", "aggregator-api", "the old aggregator API base URL (adds an aggregator sink)",
                    &Config::aggregator_api),
      string_option(
          "GATEWAY_API_SECRET", "gateway-api-secret",
          "postback secret: the hash is the MD5 of the timestamp, a pipe and this secret; none: postbacks refused",
          &Config::gateway_api_secret, true),
      string_option("POSTBACK_HMAC_KEYS", "postback-hmac-keys",
                    "HMAC-SHA256 keys accepted in X-Signature, comma-separated (rotation)", &Config::postback_hmac_keys,
                    true),
      string_option("EVENT_ORIGINS", "event-origins",
                    "origins whose pages may send events from the browser (CORS), comma-separated; * any; none: "
                    "same-origin only",
                    &Config::event_origins),
      enum_option<Config::EventVisitorId>(
          "EVENT_VISITOR_ID", "event-visitor-id",
          "how an event's visitor is known without user_id: cookie (trafficd's tid), fingerprint or none",
          &Config::event_visitor_id,
          {{"cookie", Config::EventVisitorId::cookie},
           {"fingerprint", Config::EventVisitorId::fingerprint},
           {"none", Config::EventVisitorId::none}}),
      bool_option("EVENT_ANALYTICS", "event-analytics",
                  "with REDIS_HOST: count events in Redis for /admin/stats and trafficctl stats (default on)",
                  &Config::event_analytics),
      int_option<unsigned>("EVENT_REPEAT_CLICKS", "event-repeat-clicks",
                           "clicks by one visitor on one ad in a day that make a repeat clicker",
                           &Config::event_repeat_clicks, 2, 1000),
      int_option<unsigned>("EVENT_STATS_DAYS", "event-stats-days", "days the daily event analytics are kept in Redis",
                           &Config::event_stats_days, 1, 3650),
      int_option<unsigned>("POSTBACK_WINDOW_SECONDS", "postback-window-seconds",
                           "accepted distance of a postback's timestamp from now", &Config::postback_window_seconds, 1,
                           kMaxSeconds),
      int_option<unsigned>("POSTBACK_WAIT_MS", "postback-wait-ms",
                           "with REDIS_HOST: how long a postback for a lid not yet in Redis waits for another "
                           "instance's click to arrive before 'does not exist'",
                           &Config::postback_wait_ms, 0, 10'000),
      int_option<unsigned>("LID_TTL_SECONDS", "lid-ttl-seconds", "how long a click can be converted",
                           &Config::lid_ttl_seconds, 60, 400 * kMaxSeconds),
      int_option<std::size_t>("LID_STORE_MAX", "lid-store-max", "clicks kept for postbacks in process (no Redis)",
                              &Config::lid_store_max, 1, std::size_t{1} << 32),
      int_option<std::size_t>("LID_STORE_MAX_MB", "lid-store-max-mb",
                              "MiB of click records kept for postbacks in process (no Redis); the oldest go first",
                              &Config::lid_store_max_mb, 1, std::size_t{1} << 20),
      int_option<std::size_t>("UNIQUE_VISITS_MAX", "unique-visits-max",
                              "visitor+campaign keys kept in memory for unique visits (with Redis: also the length of "
                              "its stream of recent visits)",
                              &Config::unique_visits_max, 64, std::size_t{1} << 32),
      string_option("REDIS_HOST", "redis-host",
                    "Redis of the state instances share (live caps, rotation); none: kept in process",
                    &Config::redis_host),
      int_option<std::uint16_t>("REDIS_PORT", "redis-port", "port of REDIS_HOST", &Config::redis_port, 1, 65535),
      string_option("REDIS_SENTINELS", "redis-sentinels",
                    "Redis Sentinel addresses host:port,… (instead of REDIS_HOST): the master is asked of them "
                    "and followed across failovers",
                    &Config::redis_sentinels),
      string_option("REDIS_SENTINEL_MASTER", "redis-sentinel-master", "the master's name in Redis Sentinel",
                    &Config::redis_sentinel_master),
      string_option("REDIS_SENTINEL_PASSWORD", "redis-sentinel-password", "AUTH password of the sentinels",
                    &Config::redis_sentinel_password, true),
      string_option("REDIS_USERNAME", "redis-username", "Redis 6 ACL user (none: the default user)",
                    &Config::redis_username),
      string_option("REDIS_PASSWORD", "redis-password", "Redis password (AUTH)", &Config::redis_password, true),
      int_option<unsigned>("REDIS_DB", "redis-db", "Redis database number (SELECT)", &Config::redis_db, 0, 10000),
      string_option("REDIS_KEY_PREFIX", "redis-key-prefix",
                    "prefix of every shared-state key (several networks, one Redis)", &Config::redis_key_prefix),
      int_option<unsigned>("REDIS_SYNC_MS", "redis-sync-ms",
                           "how often live counters are exchanged with Redis (other instances' clicks seen after it)",
                           &Config::redis_sync_ms, 10, 60000),
      int_option<unsigned>("REDIS_TIMEOUT_MS", "redis-timeout-ms", "timeout of each Redis connect, read and write",
                           &Config::redis_timeout_ms, 50, 60000),
      bool_option("RECIPE_MIRROR", "recipe-mirror",
                  "with REDIS_HOST: copy the recipe to offer:<id> / campaign:<id> keys, and boot from them when "
                  "the sources and files are unusable",
                  &Config::recipe_mirror),
      string_option("RECIPE_UPDATES_CHANNEL", "recipe-updates-channel",
                    "with REDIS_HOST: pub/sub channel of live record updates (none: not subscribed)",
                    &Config::recipe_updates_channel),
      string_option("SPOOL_DIR", "spool-dir", "directory of the click spool (used when a sink is configured)",
                    &Config::spool_dir),
      int_option<std::uint64_t>("SPOOL_MAX_MB", "spool-max-mb", "disk bound of the spool in MiB", &Config::spool_max_mb,
                                1, std::uint64_t{1} << 30),
      enum_option<pipeline::SpoolFullPolicy>(
          "SPOOL_FULL_POLICY", "spool-full-policy",
          "at the disk bound: reject (answer 503) or drop_oldest (delete unsent clicks)", &Config::spool_full_policy,
          {{"reject", pipeline::SpoolFullPolicy::reject}, {"drop_oldest", pipeline::SpoolFullPolicy::drop_oldest}}),
      int_option<unsigned>("SPOOL_FSYNC_MS", "spool-fsync-ms", "interval of the spool's fsync (0: every write)",
                           &Config::spool_fsync_ms, 0, 60000),
      limit_option<std::size_t>("MAX_REQUEST_LINE", "max-request-line", "longest request line (414)",
                                &HttpLimits::max_request_line, 256, kMaxBytes),
      limit_option<std::size_t>("MAX_HEADER_BYTES", "max-header-bytes", "largest header block (431)",
                                &HttpLimits::max_header_bytes, 1024, kMaxBytes),
      limit_option<std::size_t>("MAX_HEADER_FIELDS", "max-header-fields", "most header fields (431)",
                                &HttpLimits::max_header_fields, 8, 100000),
      limit_option<std::size_t>("MAX_BODY_BYTES", "max-body-bytes", "largest postback body (413)",
                                &HttpLimits::max_body_bytes, 1024, kMaxBytes),
      limit_option<unsigned>("HEADER_TIMEOUT_SECONDS", "header-timeout-seconds", "time to receive the headers",
                             &HttpLimits::header_timeout_seconds, 1, kMaxSeconds),
      limit_option<unsigned>("READ_TIMEOUT_SECONDS", "read-timeout-seconds", "longest pause between reads",
                             &HttpLimits::read_timeout_seconds, 1, kMaxSeconds),
      limit_option<unsigned>("IDLE_TIMEOUT_SECONDS", "idle-timeout-seconds", "keep-alive idle time",
                             &HttpLimits::idle_timeout_seconds, 1, kMaxSeconds),
      limit_option<std::size_t>("MAX_CONNECTIONS", "max-connections",
                                "open connections beyond which new ones get 503 and are closed (0: the fd limit "
                                "less a reserve)",
                                &HttpLimits::max_connections, 0, 10'000'000),
      int_option<std::uint64_t>("MAX_MEMORY_MB", "max-memory-mb",
                                "resident memory in MiB beyond which clicks and postbacks are shed with 503 (0: 90% "
                                "of the cgroup's limit, none without one)",
                                &Config::max_memory_mb, 0, std::uint64_t{1} << 30),
      int_option<unsigned>("SHUTDOWN_GRACE_SECONDS", "shutdown-grace-seconds",
                           "how long SIGTERM waits for in-flight requests", &Config::shutdown_grace_seconds, 0,
                           kMaxSeconds),
      string_option("LOG_LEVEL", "log-level", "trace, debug, info, warn, error or off", &Config::log_level),
      string_option("INSTANCE_ID", "instance-id",
                    "this instance's name in the fleet view (/status, trafficctl top); none: <host name>:<port>",
                    &Config::instance_id),
  };
  return all;
}

// Cross-field and format checks; the first problem, as "NAME: reason".
std::string validate(const Config& c) {
  if (c.encryption_key.empty()) return "ENCRIPTION_KEY: required (32 bytes or 64 hex digits)";
  try {
    (void)link::LinkKeys::from_config(c.encryption_key, c.link_keys_v2);
  } catch (const std::exception& e) {
    return e.what();  // names ENCRIPTION_KEY or LINK_KEYS_V2
  }
  if (c.maxmind_path.empty()) return "MAXMIND_PATH: required (a GeoIP2/GeoLite2 City or Country database)";
  try {
    (void)net::TrustProxy::parse(c.trust_proxy);
  } catch (const std::exception& e) {
    return std::string("TRUST_PROXY: ") + e.what();
  }
  if (!c.fallback_url.empty() && !url::has_scheme(c.fallback_url)) {
    return "FALLBACK_URL: must be an absolute URL (http://… or https://…)";
  }
  static constexpr const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c.log_level) == std::end(kLevels)) {
    return "LOG_LEVEL: must be trace, debug, info, warn, error or off";
  }
  if (!c.redis_sentinels.empty()) {
    try {
      (void)redis::Endpoint::parse_sentinels(c.redis_sentinels);
    } catch (const std::invalid_argument& e) {
      return std::string("REDIS_SENTINELS: ") + e.what();
    }
    if (c.redis_sentinel_master.empty()) return "REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS";
  }
  const auto sinks = pipeline::parse_sink_urls(c.sink_urls());
  if (!sinks) return (c.aggregator_api.empty() ? "SINKS: " : "SINKS/AGGREGATOR_API: ") + sinks.error().detail;
  for (const auto& sink : *sinks) {
    // The cursors trafficd keeps for itself (the lid store, the event analytics).
    if (sink.name == "lidstore" || sink.name == "analytics") {
      return "SINKS: the sink name '" + sink.name + "' is trafficd's own; give the sink another (#name=…)";
    }
  }
  if (!sinks->empty() && c.spool_dir.empty()) return "SPOOL_DIR: required when a sink is configured";
  if (c.offers_recipe_path.empty() || c.campaigns_recipe_path.empty()) {
    return "OFFERS_RECIPE_PATH/CAMPAIGNS_RECIPE_PATH: required";
  }
  if (!c.s3_bucket_name.empty()) {
    if (c.s3_offers_recipe_path.empty() || c.s3_campaigns_recipe_path.empty()) {
      return "S3_OFFERS_RECIPE_PATH/S3_CAMPAIGNS_RECIPE_PATH: required with S3_BUCKET_NAME";
    }
    if (c.aws_access_key_id.empty() != c.aws_secret_access_key.empty()) {
      return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: set both or neither";
    }
    if (c.aws_access_key_id.empty()) return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: required with S3_BUCKET_NAME";
    if (!c.s3_endpoint.empty() && !url::has_scheme(c.s3_endpoint)) {
      return "S3_ENDPOINT: must be an absolute URL (http://… or https://…)";
    }
  } else if (!c.offers_recipe_url.empty() || !c.campaigns_recipe_url.empty()) {
    if (c.offers_recipe_url.empty() || c.campaigns_recipe_url.empty()) {
      return "OFFERS_RECIPE_URL/CAMPAIGNS_RECIPE_URL: set both or neither";
    }
    if (!url::has_scheme(c.offers_recipe_url)) return "OFFERS_RECIPE_URL: must be an http:// or https:// URL";
    if (!url::has_scheme(c.campaigns_recipe_url)) return "CAMPAIGNS_RECIPE_URL: must be an http:// or https:// URL";
  }
  return {};
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace

Result<> load_dotenv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};  // no .env: nothing to do
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    if (text.rfind("export ", 0) == 0) text = trim(std::string_view(text).substr(7));
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Failure(Errc::invalid_input, path + ":" + std::to_string(number) + ": expected NAME=value");
    }
    const std::string name = trim(std::string_view(text).substr(0, eq));
    std::string value = trim(std::string_view(text).substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the configuration is read at start, before any thread
    setenv(name.c_str(), value.c_str(), 0);  // the real environment wins
  }
  if (in.bad()) return Failure(Errc::io, path + ": cannot be read");
  return {};
}

namespace {

// The old service's variables that trafficd no longer reads, and what replaces each: set,
// they get a start-up warning, never silence (an operator may be relying on them). A name
// ending in '*' is a prefix.
struct Retired {
  std::string_view name;
  std::string_view instead;
};
constexpr Retired kRetired[] = {
    {"SOCKET_HOST",
     "no socket server: each instance serves its own view (GET /metrics; the fleet view, docs/operations.md)"},
    {"REDIS_URL", "REDIS_HOST, REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD and REDIS_DB"},
    {"AWS_DYNAMODB_*", "the lid store: in Redis with REDIS_HOST, else in process (LID_STORE_MAX, LID_STORE_MAX_MB)"},
    {"AWS_SQS_QUEUE_URL", "nothing yet: there is no SQS sink; records go to the sinks of SINKS"},
    {"GRAFANA_*", "Prometheus metrics at GET /metrics"},
    {"INFLUX*", "Prometheus metrics at GET /metrics"},
    {"MAX_PIPELINED",
     "nothing: a connection's requests are answered one at a time, and those waiting behind one are "
     "bounded by the read buffer (MAX_HEADER_BYTES and a little more)"},
};

std::vector<std::string> retired_variables_set() {
  std::vector<std::string> warnings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    const std::string_view name = variable.substr(0, variable.find('='));
    for (const Retired& retired : kRetired) {
      const bool prefix = retired.name.ends_with('*');
      const std::string_view stem = prefix ? retired.name.substr(0, retired.name.size() - 1) : retired.name;
      if (prefix ? name.starts_with(stem) : name == stem) {
        warnings.push_back(std::string(name) + " is set but no longer read; instead: " + std::string(retired.instead));
      }
    }
  }
  std::sort(warnings.begin(), warnings.end());
  return warnings;
}

// A configuration that cannot be used: one line, exit status 2.
ParseOutcome refused(std::string message) {
  ParseOutcome outcome;
  outcome.message = std::move(message);
  outcome.exit_code = 2;
  return outcome;
}

// ENCRYPTION_KEY (correct spelling) stands in for the old ENCRIPTION_KEY when only it is set.
void alias_encryption_key() {
  // NOLINTBEGIN(concurrency-mt-unsafe): the configuration is read at start, before any thread
  if (!std::getenv("ENCRIPTION_KEY")) {
    if (const char* key = std::getenv("ENCRYPTION_KEY")) setenv("ENCRIPTION_KEY", key, 0);
  }
  // NOLINTEND(concurrency-mt-unsafe)
}

// The old service's NODE_ENV=production default campaign, unless one was given.
void apply_node_env(Config& config, bool default_campaign_given) {
  if (config.node_env == "production" && !default_campaign_given) {
    config.default_campaign_id = kProductionDefaultCampaignId;
  }
}

// Where an option was given a value (flag or environment), by its environment name.
bool given(const std::vector<CLI::Option*>& cli_options, std::string_view env) {
  for (std::size_t i = 0; i < options().size(); ++i) {
    if (options()[i].env == env) return cli_options[i]->count() > 0;
  }
  return false;
}

}  // namespace

Config::RecipeSource Config::recipe_source() const {
  if (!s3_bucket_name.empty()) return RecipeSource::s3;
  if (!offers_recipe_url.empty()) return RecipeSource::http;
  return RecipeSource::file;
}

ParseOutcome parse(int argc, const char* const* argv, const std::string& dotenv_path) {
  if (const Result<> loaded = load_dotenv(dotenv_path); !loaded) return refused(loaded.error().detail);
  alias_encryption_key();
  ParseOutcome outcome;
  const Config defaults;
  CLI::App app{
      "trafficd — the traffic server: decodes click links, applies the recipe's rules, records the click "
      "and answers 302. Every option can be given as a flag or as the environment variable shown "
      "(a .env file in the working directory is read too); flags win over the environment."};
  app.get_formatter()->column_width(44);
  std::vector<std::string> values(options().size());
  std::vector<CLI::Option*> cli_options;
  for (std::size_t i = 0; i < options().size(); ++i) {
    const Option& o = options()[i];
    const std::string name = std::string("--") + o.flag;
    CLI::Option* added = o.is_flag ? app.add_flag(name, values[i], o.help) : app.add_option(name, values[i], o.help);
    added->envname(o.env);
    added->default_str(o.secret ? std::string() : o.show(defaults));
    cli_options.push_back(added);
  }
  try {
    app.parse(argc, const_cast<char**>(argv));  // CLI11's signature; it does not write
  } catch (const CLI::CallForHelp&) {
    outcome.message = app.help();
    return outcome;
  } catch (const CLI::ParseError& e) {
    return refused(e.what());
  }
  Config config;
  for (std::size_t i = 0; i < options().size(); ++i) {
    if (cli_options[i]->count() == 0) continue;
    if (std::string problem = options()[i].apply(config, values[i]); !problem.empty()) {
      return refused(std::string(options()[i].env) + ": " + problem);
    }
  }
  apply_node_env(config, given(cli_options, "DEFAULT_CAMPAIGN_ID"));
  if (std::string problem = validate(config); !problem.empty()) return refused(problem);
  outcome.warnings = retired_variables_set();
  outcome.config = std::move(config);
  return outcome;
}

ParseOutcome from_environment(const std::string& dotenv_path) {
  if (const Result<> loaded = load_dotenv(dotenv_path); !loaded) return refused(loaded.error().detail);
  alias_encryption_key();
  ParseOutcome outcome;
  Config config;
  for (const Option& o : options()) {
    const char* value = std::getenv(o.env);  // NOLINT(concurrency-mt-unsafe): read at start
    if (value == nullptr) continue;
    if (std::string problem = o.apply(config, value); !problem.empty())
      return refused(std::string(o.env) + ": " + problem);
  }
  apply_node_env(config, std::getenv("DEFAULT_CAMPAIGN_ID") != nullptr);  // NOLINT(concurrency-mt-unsafe)
  outcome.config = std::move(config);
  return outcome;
}

rules::EngineSettings engine_settings(const Config& config) {
  rules::EngineSettings settings;
  settings.default_offer_id = config.default_offer_id;
  settings.default_campaign_id = config.default_campaign_id;
  settings.fallback_url = config.fallback_url;
  settings.strict_link_pair = config.strict_link_pair;
  return settings;
}

redis::Endpoint redis_endpoint(const Config& config) {
  redis::Endpoint endpoint;
  endpoint.host = config.redis_host;
  endpoint.port = config.redis_port;
  endpoint.username = config.redis_username;
  endpoint.password = config.redis_password;
  endpoint.db = static_cast<int>(config.redis_db);
  endpoint.timeout = std::chrono::milliseconds(config.redis_timeout_ms);
  if (!config.redis_sentinels.empty()) {
    endpoint.sentinels = redis::Endpoint::parse_sentinels(config.redis_sentinels);  // checked by the parser
    endpoint.sentinel_master = config.redis_sentinel_master;
    endpoint.sentinel_password = config.redis_sentinel_password;
    endpoint.host = endpoint.sentinels.front().first;  // until the sentinels are asked: only for messages
    endpoint.port = endpoint.sentinels.front().second;
  }
  return endpoint;
}

url::UrlSettings url_settings(const Config& config) {
  url::UrlSettings settings;
  settings.network_id = config.network_id;
  settings.hash_secret = config.url_hash_secret;
  settings.hash_mode = config.url_hash_mode;
  return settings;
}

std::vector<OptionInfo> list_options() {
  const Config defaults;
  std::vector<OptionInfo> list;
  for (const Option& o : options()) {
    list.push_back({o.env, std::string("--") + o.flag, o.help, o.secret ? std::string() : o.show(defaults), o.secret});
  }
  return list;
}

unsigned Config::thread_count() const {
  return threads != 0 ? threads : std::max(1U, std::thread::hardware_concurrency());
}

std::vector<std::string> Config::sink_urls() const {
  std::vector<std::string> urls;
  std::string_view rest = sinks;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string url = trim(rest.substr(0, comma));
    if (!url.empty()) urls.push_back(url);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!aggregator_api.empty()) urls.push_back("aggregator+" + aggregator_api);
  return urls;
}

std::vector<std::string> Config::describe() const {
  std::vector<std::string> lines;
  for (const Option& o : options()) {
    const std::string value = o.show(*this);
    lines.push_back(std::string(o.env) + "=" + (o.secret ? (value.empty() ? "" : "(set)") : value));
  }
  return lines;
}

}  // namespace traffic::config
