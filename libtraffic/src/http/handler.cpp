#include "traffic/http/handler.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <thread>

#include "traffic/common/hex.hpp"
#include "traffic/common/system.hpp"
#include "traffic/events/event_record.hpp"
#include "traffic/events/snippet.hpp"
#include "traffic/http/postback.hpp"
#include "traffic/http/status_page.hpp"
#include "traffic/lid/click_record.hpp"
#include "traffic/lid/lid.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/rules/explain.hpp"
#include "traffic/url/click_values.hpp"
#include "traffic/url/explain.hpp"

namespace traffic::http {
namespace json = boost::json;
namespace {

constexpr std::string_view kJson = "application/json; charset=utf-8";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
// The fleet dashboard's session cookie (/status/login).
constexpr std::string_view kSessionCookie = "trafficd_admin";
constexpr std::string_view kText = "text/plain; charset=utf-8";
// A postback's wait for this instance's own clicks to reach the lid store: the sink is
// woken at once, so this bounds a stalled sink, not the usual ~1 ms.
constexpr std::chrono::milliseconds kOwnClicksWait{2'000};
// How often a shared lid store is asked again for a click of another instance.
constexpr std::chrono::milliseconds kSharedStorePoll{10};

void answer_json(Response& response, unsigned status, const json::value& body) {
  response.status = status;
  response.content_type = kJson;
  response.body = json::serialize(body);
}

void answer_error(Response& response, unsigned status, std::string_view message) {
  answer_json(response, status, json::object{{"error", message}});
}

void answer_not_found(Response& response) {
  response.status = 404;
  response.content_type = kJson;
  response.body.assign(kCampaignNotFound);
}

// Never internal text in an answer (SPEC §2); the server logs the request id.
void answer_internal_error(Response& response) {
  response.location.clear();
  response.status = 500;
  response.content_type = kJson;
  response.body = R"({"error":"internal error"})";
}

// A 503 that a retry a moment later may get past (the spool, Redis or memory recovering).
void answer_unavailable(Response& response) {
  response.location.clear();
  response.awaits_commit = false;
  answer_error(response, 503, "temporarily unavailable");
  response.retry_after = "1";
}

// A click that could not be recorded is not acknowledged: the visitor (or the ad server in
// front) retries, and no 302 leaves without its record.
void unrecorded(Response& response, WorkerMetrics& metrics) {
  WorkerMetrics::bump(metrics.unrecorded_clicks);
  answer_unavailable(response);
}

// An X-Request-Id worth echoing: short and made of characters safe in any log or header.
bool echoable_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

double age_seconds(TimestampMs since, TimestampMs now) {
  return since > 0 ? static_cast<double>(now - since) / 1000.0 : -1.0;
}

json::object record_json(const recipe::Offer& o) {
  return {{"offerId", o.id},
          {"name", o.name},
          {"status", recipe::to_string(o.status)},
          {"type", o.type == recipe::OfferType::aggregated ? "aggregated" : "regular"},
          {"landingPageUrl", o.landing_page_url},
          {"payin", o.payin.to_string()},
          {"payout", o.payout.to_string()},
          {"offerIdRedirectExitTraffic", o.exit_offer_id},
          {"advertiserId", o.advertiser_id}};
}

json::object record_json(const recipe::Campaign& c) {
  json::object out{{"campaignId", c.id},
                   {"name", c.name},
                   {"offerId", c.offer_id},
                   {"affiliateId", c.affiliate_id},
                   {"campaignStatus", recipe::to_string(c.campaign_status)},
                   {"affiliateStatus", recipe::to_string(c.affiliate_status)}};
  out["payout"] = c.payout ? json::value(c.payout->to_string()) : json::value(nullptr);
  return out;
}

}  // namespace

AppSettings app_settings(const config::Config& config) {
  AppSettings settings;
  settings.keys = link::LinkKeys::from_config(config.encryption_key, config.link_keys_v2);
  settings.refuse_v1_links = config.refuse_v1_links;
  settings.engine = config::engine_settings(config);
  settings.urls = config::url_settings(config);
  settings.trust_proxy = net::TrustProxy::parse(config.trust_proxy);
  settings.admin_token = config.admin_token;
  settings.debug_open = config.debug_open;
  settings.gateway_api_secret = config.gateway_api_secret;
  settings.postback_hmac_keys = split_keys(config.postback_hmac_keys);
  settings.postback_window = std::chrono::seconds(config.postback_window_seconds);
  settings.postback_wait = std::chrono::milliseconds(config.postback_wait_ms);
  settings.event_origins = split_keys(config.event_origins);
  settings.event_visitor_id = config.event_visitor_id;
  return settings;
}

namespace {
std::string session_of(const std::string& token) {
  if (token.empty()) return {};
  static constexpr std::string_view kSessionText = "trafficd fleet dashboard session";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
           reinterpret_cast<const unsigned char*>(kSessionText.data()), kSessionText.size(), digest, &size) == nullptr)
    return {};
  return to_hex(digest, size);
}
}  // namespace

App::App(AppSettings settings, Services services)
    : settings_(std::move(settings)),
      services_(std::move(services)),
      engine_(settings_.engine),
      urls_(settings_.urls),
      status_session_(session_of(settings_.admin_token)) {}

Result<> App::ready() const {
  if (draining.load()) return Failure(Errc::unavailable, "shutting down");
  if (shedding.load()) return Failure(Errc::unavailable, "memory over MAX_MEMORY_MB");
  if (!services_.store.loaded()) return Failure(Errc::unavailable, "no recipe loaded yet");
  if (!services_.geo.has(geo::DatabaseKind::city)) return Failure(Errc::unavailable, "geo databases not loaded");
  return {};
}

Gauges App::gauges() const {
  Gauges g;
  const TimestampMs now = services_.clock.now();
  const auto snapshot = services_.store.current();
  g.recipe_version = snapshot->version();
  g.offers = snapshot->offer_count();
  g.campaigns = snapshot->campaign_count();
  if (services_.recipe_sync) {
    g.recipe_sync = services_.recipe_sync();
    g.recipe_age_seconds = age_seconds(g.recipe_sync->last_change, now);
    g.recipe_sync_age_seconds = age_seconds(g.recipe_sync->last_success, now);
    g.recipe_source_age_seconds = age_seconds(g.recipe_sync->last_modified, now);
  }
  if (services_.recipe_updates) g.recipe_updates = services_.recipe_updates();
  g.geo_generation = services_.geo.generation();
  g.geo_age_seconds = services_.geo_installed_at ? age_seconds(services_.geo_installed_at(), now) : -1;
  g.geo_data_errors = services_.geo.data_errors();
  g.geo_refused_reloads = services_.geo.refused_reloads();
  g.device_cache_hits = services_.device.cache_hits();
  g.device_cache_misses = services_.device.cache_misses();
  if (services_.spool) g.spool = services_.spool->stats();
  if (services_.sink_gauges) g.sinks = services_.sink_gauges();
  if (services_.shared_state) {
    g.shared_state = services_.shared_state();
    g.shared_state_age_seconds = age_seconds(g.shared_state->last_success, now);
  }
  if (services_.unique_visits) {
    g.unique_visits = services_.unique_visits->stats();
    g.unique_visits_age_seconds = age_seconds(g.unique_visits->last_success, now);
  }
  g.resident_bytes = resident_memory_bytes();
  g.memory_limit_bytes = memory_limit_bytes.load(std::memory_order_relaxed);
  g.shedding = shedding.load(std::memory_order_relaxed);
  return g;
}

struct Worker::State {
  State(App& app, std::size_t lane, bool blocking_allowed)
      : may_block(blocking_allowed),
        snapshots(app.services().store),
        geo(app.services().geo.reader()),
        records(app.services().spool ? &app.services().spool->writer(lane) : nullptr) {}
  bool may_block;  // may wait on the network (remote lid store)
  recipe::SnapshotCache snapshots;
  geo::GeoResolver::Reader geo;
  FastRandom random;
  pipeline::Spool::Writer* records;  // nullptr: clicks are not recorded
  // Live counter updates of the staged clicks, applied once they are written.
  struct StagedClick {
    recipe::RecordId offer;
    recipe::RecordId campaign;
    TimestampMs at;
  };
  std::vector<StagedClick> staged;
  // Their rotation picks, given back if the write fails (rotation counts served clicks).
  std::vector<rules::RotationPick> staged_picks;
  // Conversions staged with them: their sales counters move once written; their
  // de-duplication marks are undone if the write fails (the advertiser retries).
  struct StagedConversion {
    std::string lid;
    recipe::RecordId offer;
    recipe::RecordId campaign;
    TimestampMs at;
  };
  std::vector<StagedConversion> conversions;
  // Resends staged with them: their marks are undone if the write fails.
  std::vector<std::string> resends;
  // Scratch buffers reused by every request of this thread.
  std::string o, subid, cid, ad_domain, debugging, value;
  // The device of the current click refined by its Client Hints (docs/context.md).
  device::DeviceInfo hinted;
};

Worker::Worker(App& app, std::size_t lane, bool may_block)
    : app_(app), metrics_(app.services().metrics.add_worker()), state_(std::make_unique<State>(app, lane, may_block)) {}
Worker::~Worker() = default;

namespace {

// Everything one request needs, so the route functions stay small.
class Exchange {
 public:
  Exchange(App& app, Worker::State& state, WorkerMetrics& metrics, const Request& request, Response& response)
      : app_(app), state_(state), metrics_(metrics), request_(request), response_(response) {}

  Route route() {
    const Target target = split_target(request_.target);
    query_ = target.query;
    if (path_is(target.path, "/pl")) return shed() ? Route::pl : (click(), Route::pl);
    if (path_is(target.path, "/api/v1/health")) return health(), Route::health;
    if (path_is(target.path, "/ready")) return ready(), Route::ready;
    if (path_is(target.path, "/metrics")) return metrics(), Route::metrics;
    if (path_is(target.path, "/lid")) return shed() ? Route::lid : (postback(), Route::lid);
    if (path_is(target.path, "/event")) return site_event(), Route::event;
    if (path_is(target.path, "/t.js")) return snippet(), Route::event;
    if (path_is(target.path, "/getRecipeData")) return recipe_data(), Route::recipe_data;
    if (path_is(target.path, "/admin/explain")) return admin_explain(), Route::admin;
    if (path_is(target.path, "/admin/recipe/reload")) return admin_reload(), Route::admin;
    if (path_is(target.path, "/admin/records")) return admin_records(), Route::admin;
    if (path_is(target.path, "/admin/stats/pages")) return admin_stats(Stats::pages), Route::admin;
    if (path_is(target.path, "/admin/stats/ads")) return admin_stats(Stats::ads), Route::admin;
    if (path_is(target.path, "/admin/fleet")) return admin_fleet(), Route::admin;
    if (path_is(target.path, "/status")) return status(), Route::admin;
    if (path_is(target.path, "/status/login")) return status_login(), Route::admin;
    if (path_is(target.path, "/status/events")) return status_events(), Route::admin;
    answer_error(response_, 404, "not found");
    return Route::other;
  }

 private:
  // Over the memory bound (App::shedding): work that would add to memory (a click's record,
  // a postback's) is refused with a 503 the client may retry; health and metrics still answer.
  bool shed() {
    if (!app_.shedding.load(std::memory_order_relaxed)) return false;
    WorkerMetrics::bump(metrics_.shed_requests);
    answer_unavailable(response_);
    return true;
  }

  bool method_is(std::string_view a, std::string_view b = {}) const {
    return request_.method == a || (!b.empty() && request_.method == b);
  }

  bool allow(std::string_view a, std::string_view b, std::string_view allow_header) {
    if (method_is(a, b)) return true;
    answer_error(response_, 405, "method not allowed");
    response_.allow = allow_header;
    return false;
  }

  // `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. No token configured:
  // nobody is an admin.
  // Or the dashboard's session cookie (set by /status/login; HttpOnly, SameSite=Strict, so
  // never sent by another site's page).
  bool is_admin() const {
    const std::string& token = app_.settings().admin_token;
    if (token.empty()) return false;
    std::string_view given = request_.header("Authorization");
    if (given.size() >= 7 && iequals(given.substr(0, 7), "Bearer ")) {
      given.remove_prefix(7);
      return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
    }
    const std::string_view session = cookie(request_.header("Cookie"), kSessionCookie);
    const std::string& expected = app_.status_session();
    return !session.empty() && session.size() == expected.size() &&
           CRYPTO_memcmp(session.data(), expected.data(), expected.size()) == 0;
  }

  bool require_admin() {
    if (is_admin()) return true;
    answer_error(response_, 401, "unauthorized");
    return false;
  }

  std::string_view param(std::string_view key, std::string& into) const {
    return query_param(query_, key, into) ? std::string_view(into) : std::string_view();
  }

  // The context's views point into the geo database (held by this thread's reader) and into
  // the device result, which `what` keeps alive.
  struct Visitor {
    std::shared_ptr<const device::DeviceInfo> what;
    rules::Context context;
  };

  // A click's Client Hints (Chromium sends the first three on HTTPS by default).
  device::ClientHints client_hints() const {
    return {.brands = request_.header("Sec-CH-UA"),
            .mobile = request_.header("Sec-CH-UA-Mobile"),
            .platform = request_.header("Sec-CH-UA-Platform"),
            .platform_version = request_.header("Sec-CH-UA-Platform-Version"),
            .model = request_.header("Sec-CH-UA-Model")};
  }

  // The visitor: its device from the agent (cached), refined by `hints` when there are any
  // (a copy in this thread's State, not cached: hints vary per visitor), and its geo.
  Visitor look_up(const link::LinkIds& ids, const net::IpAddress& ip, std::string_view user_agent,
                  const device::ClientHints& hints = {}) {
    Visitor v;
    if (hints.empty()) {
      v.what = app_.services().device.detect(user_agent);
    } else {
      state_.hinted = app_.services().device.detect(user_agent, hints);
      v.what = std::shared_ptr<const device::DeviceInfo>(std::shared_ptr<void>(), &state_.hinted);  // not owned
    }
    v.context = rules::make_context(ids.offer_id, ids.campaign_id, state_.geo.lookup(ip), *v.what);
    return v;
  }

  // ---- POST|GET|OPTIONS /event: site events (SPEC §13, docs/events.md) ----
  void site_event() {
    allow_origin();
    if (method_is("OPTIONS")) {  // the CORS preflight of a cross-origin POST
      response_.cors_preflight = !response_.cors_origin.empty();
      response_.status = 204;
      return;
    }
    if (!allow("POST", "GET", "POST, GET, OPTIONS")) return;
    if (method_is("GET")) return event_pixel();
    if (shed()) return;
    const std::string_view type = request_.header("Content-Type");
    if (!type.empty() && !media_type_is(type, "application/json") && !media_type_is(type, "text/plain")) {
      WorkerMetrics::bump(metrics_.refused_event_requests);
      return answer_error(response_, 415, "events are application/json (or text/plain, as sendBeacon sends them)");
    }
    if (request_.body.size() > events::EventLimits::kBodyBytes) {
      WorkerMetrics::bump(metrics_.refused_event_requests);
      return answer_error(response_, 413, "body over 64 KiB");
    }
    const events::ParsedEvents parsed = events::parse_events(request_.body);
    if (!parsed) {
      WorkerMetrics::bump(metrics_.refused_event_requests);
      const events::EventError& error = parsed.error();
      json::object body{{"error", error.message()}, {"index", error.index}};
      if (!error.field.empty()) body["field"] = error.field;
      return answer_json(response_, 400, std::move(body));
    }
    if (!record_events(*parsed)) return;
    answer_json(response_, 202, json::object{{"accepted", parsed->size()}});
  }

  // GET /t.js: the site snippet, cached by browsers for an hour.
  void snippet() {
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    response_.status = 200;
    response_.content_type = "application/javascript; charset=utf-8";
    response_.cache_control = "public, max-age=3600";
    response_.body.assign(events::site_snippet());
  }

  // GET /event?type=…: a 1×1 GIF whatever the event was; a bad one is counted, not recorded.
  void event_pixel() {
    static constexpr unsigned char kGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
                                             0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
                                             0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01,
                                             0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
    const auto parsed = events::parse_event_params(query_params(query_, 64));
    if (!parsed) {
      WorkerMetrics::bump(metrics_.refused_event_pixels);
    } else if (app_.shedding.load(std::memory_order_relaxed)) {
      WorkerMetrics::bump(metrics_.shed_requests);  // shed, yet still the image
    } else if (!record_events(*parsed)) {
      return;  // the spool refused it: a 503, so the page may try again
    }
    response_.status = 200;
    response_.content_type = "image/gif";
    response_.cache_control = "no-store";
    response_.body.assign(reinterpret_cast<const char*>(kGif), sizeof kGif);
  }

  // EVENT_ORIGINS: echo the request's Origin when it is one of them ("*": any).
  void allow_origin() {
    const std::string_view origin = request_.header("Origin");
    if (origin.empty()) return;
    for (const std::string& allowed : app_.settings().event_origins) {
      if (allowed == "*" || allowed == origin) {
        response_.cors_origin.assign(origin);
        return;
      }
    }
  }

  static bool media_type_is(std::string_view value, std::string_view type) {
    const std::string_view given = value.substr(0, value.find(';'));
    return iequals(given.substr(0, given.find_last_not_of(' ') + 1), type);
  }

  // Stages every event's record, all or none: a refusal drops those already staged and
  // answers 503. The answer then waits for the write, like a click's.
  bool record_events(const std::vector<events::Event>& parsed) {
    const auto& services = app_.services();
    pipeline::Spool::Writer* records = state_.records;
    const auto count = [&] {
      for (const events::Event& event : parsed) {
        WorkerMetrics::bump(metrics_.events[static_cast<std::size_t>(event.type)]);
      }
    };
    if (records == nullptr) {  // no sink: answered, not recorded (as clicks)
      count();
      return true;
    }
    const net::IpAddress ip =
        net::client_ip(request_.peer, request_.header("X-Forwarded-For"), app_.settings().trust_proxy);
    const Visitor visitor = look_up({}, ip, request_.header("User-Agent"), client_hints());
    char ip_text[64];
    events::EventFacts facts;
    facts.date_added = services.clock.now();
    facts.ip = std::string_view(ip_text, ip.format(ip_text));
    facts.country = visitor.context.country.view();
    facts.region = visitor.context.region;
    facts.city = visitor.context.city;
    facts.isp = visitor.context.isp;
    facts.device = visitor.context.device;
    facts.os = visitor.context.os;
    facts.browser = visitor.context.browser;
    facts.user_agent = request_.header("User-Agent");
    const Recognised recognised = recognise(*visitor.what, visitor.context);
    const pipeline::Spool::Writer::Mark before = records->mark();
    for (const events::Event& event : parsed) {
      const lid::Lid id = lid::new_lid(state_.random);
      facts.event_id = id.view();
      if (!event.user_id.empty()) {
        facts.visitor_id = event.user_id;
        facts.visitor_source = events::VisitorSource::user_id;
      } else {
        facts.visitor_id = recognised.id;
        facts.visitor_source = recognised.source;
      }
      events::append_event_record(records->buffer(), event, facts);
      if (!records->stage()) {
        records->drop_since(before);
        unrecorded(response_, metrics_);
        return false;
      }
    }
    count();
    response_.awaits_commit = true;
    response_.commit_route = static_cast<unsigned char>(Route::event);
    return true;
  }

  // The visitor of events without a user_id (EVENT_VISITOR_ID): trafficd's first-party
  // `tid` cookie (set now when absent), a fingerprint, or nobody.
  struct Recognised {
    std::string id;
    events::VisitorSource source = events::VisitorSource::none;
  };
  Recognised recognise(const device::DeviceInfo& what, const rules::Context& context) {
    using Mode = config::Config::EventVisitorId;
    switch (app_.settings().event_visitor_id) {
      case Mode::cookie: {
        std::string_view tid = cookie(request_.header("Cookie"), "tid");
        if (lid::is_lid(tid)) return {std::string(tid), events::VisitorSource::cookie};
        const lid::Lid fresh = lid::new_lid(state_.random);
        // A year, first-party: sites embed t.js from trafficd's host, so the cookie is
        // third-party there and needs SameSite=None; Secure (ignored over plain HTTP).
        response_.set_cookie.assign("tid=")
            .append(fresh.view())
            .append("; Max-Age=31536000; Path=/; HttpOnly; SameSite=None; Secure");
        return {std::string(fresh.view()), events::VisitorSource::cookie};
      }
      case Mode::fingerprint: {
        const lid::Fingerprint print = lid::fingerprint(what, request_.header("Accept"),
                                                        request_.header("Accept-Language"), context.country.view());
        return {std::string(print.data(), print.size()), events::VisitorSource::fingerprint};
      }
      case Mode::none: break;
    }
    return {};
  }

  // The value of cookie `name` in a Cookie header; "" when absent.
  static std::string_view cookie(std::string_view header, std::string_view name) {
    while (!header.empty()) {
      const std::size_t semicolon = header.find(';');
      std::string_view pair = header.substr(0, semicolon);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
        return pair.substr(name.size() + 1);
      }
      if (semicolon == std::string_view::npos) break;
      header.remove_prefix(semicolon + 1);
    }
    return {};
  }

  // ---- GET|HEAD /pl ----
  void click() {
    const auto started = std::chrono::steady_clock::now();
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    const bool head = method_is("HEAD");
    if (!query_param(query_, "o", state_.o)) return blocked(0);
    const auto ids = link::decode(state_.o, app_.settings().keys, !app_.settings().refuse_v1_links);
    if (!ids) return blocked(0);

    const net::IpAddress ip =
        net::client_ip(request_.peer, request_.header("X-Forwarded-For"), app_.settings().trust_proxy);
    const Visitor visitor = look_up(*ids, ip, request_.header("User-Agent"), client_hints());
    const bool debug =
        param("debugging", state_.debugging) == "debugging" && (app_.settings().debug_open || is_admin());
    const auto& services = app_.services();
    const recipe::Snapshot& snapshot = state_.snapshots.get();
    const rules::Decision decision = app_.engine().decide(visitor.context, snapshot, services.counters, services.clock,
                                                          state_.random, {.dry_run = debug || head});
    if (decision.outcome == rules::Outcome::blocked) return blocked(static_cast<std::size_t>(decision.block));
    if (decision.outcome != rules::Outcome::redirect) return blocked(0);
    // Served although the campaign names another offer than the link (not STRICT_LINK_PAIR):
    // counted, and marked in the record.
    if (decision.link_mismatch && !head && !debug) WorkerMetrics::bump(metrics_.link_mismatches);

    const lid::Lid lid = lid::new_lid(state_.random);
    const Passed passed{lid.view(), param("subid", state_.subid), param("cid", state_.cid)};
    const url::ClickValues values(decision, visitor.context, passed.subid, passed.cid, passed.lid);
    app_.urls().build(decision.landing_page, values.placeholders(), values.tracking(), response_.location);
    if (debug) {
      WorkerMetrics::bump(metrics_.debug_requests);
      json::object data = rules::to_json(decision, response_.location);
      data["lid"] = lid.view();
      data["ip"] = ip.to_string();
      url::add_visitor(data, visitor.context);
      data["user_agent"] = request_.header("User-Agent");
      response_.location.clear();
      answer_json(response_, 200, json::object{{"status", "success"}, {"data", std::move(data)}});
      return;
    }
    response_.status = 302;
    response_.content_type = kText;
    response_.body.assign("Found. Redirecting to ").append(response_.location);
    metrics_.count_decision(decision.redirect_type);
    const auto decision_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
    if (head) {
      WorkerMetrics::bump(metrics_.head_requests);
    } else if (!record(decision, visitor, ip, passed, decision_ns)) {
      return;
    }
    metrics_.observe_click(decision_ns);
  }

  // What the click passes on to the landing page and the record: read from the query once.
  struct Passed {
    std::string_view lid;
    std::string_view subid;
    std::string_view cid;
  };

  // Stages the click's record in this thread's spool lane; the answer waits for the write
  // (Worker::commit_clicks). Without a spool the live counters move at once.
  bool record(const rules::Decision& decision, const Visitor& visitor, const net::IpAddress& ip, const Passed& passed,
              std::uint64_t decision_ns) {
    pipeline::Spool::Writer* records = state_.records;
    if (records == nullptr) {
      app_.services().counters.record_click(decision.offer->id, decision.campaign->id, decision.decided_at);
      return true;
    }
    char ip_text[64];
    lid::ClickFacts facts;
    facts.lid = passed.lid;
    facts.landing_page = response_.location;
    facts.sub_campaign = passed.subid;
    facts.cid = passed.cid;
    facts.domain = request_.header("Host");
    facts.ad_domain = param("ad_domain", state_.ad_domain);
    facts.ad_path = request_.target;
    facts.ip = std::string_view(ip_text, ip.format(ip_text));
    facts.user_agent = request_.header("User-Agent");
    facts.referer = request_.header("Referer");
    facts.date_added = decision.decided_at;
    facts.decision_ns = decision_ns;
    // Unique visit (SPEC §9), unless the link says fp=disabled.
    lid::Fingerprint print;
    lid::UniqueVisits* visits = app_.services().unique_visits;
    if (visits != nullptr && param("fp", state_.value) != "disabled") {
      print = lid::fingerprint(*visitor.what, request_.header("Accept"), request_.header("Accept-Language"),
                               visitor.context.country.view());
      facts.fingerprint = std::string_view(print.data(), print.size());
      facts.is_unique_visit = visits->first_visit(facts.fingerprint, decision.campaign->id, decision.decided_at);
    }
    if (const lid::TruncatedFields cut =
            lid::append_click_record(records->buffer(), decision, visitor.context, *visitor.what, facts);
        cut != 0) [[unlikely]] {
      metrics_.count_truncations(cut);
    }
    if (!stage(*records, Route::pl)) {  // refused with a 503: its rotation turn goes back
      for (const auto& pick : decision.rotation_picks) app_.services().counters.return_pick(pick.campaign, pick.child);
      return false;
    }
    state_.staged.push_back({decision.offer->id, decision.campaign->id, decision.decided_at});
    state_.staged_picks.insert(state_.staged_picks.end(), decision.rotation_picks.begin(),
                               decision.rotation_picks.end());
    return true;
  }

  // Stages the record just built in `records`' buffer: the answer waits for the write
  // (Worker::commit_clicks) and is then counted under `route`. False, with the 503 set,
  // when the spool refuses it.
  bool stage(pipeline::Spool::Writer& records, Route route) {
    if (!records.stage()) {
      unrecorded(response_, metrics_);
      return false;
    }
    response_.awaits_commit = true;
    response_.commit_route = static_cast<unsigned char>(route);
    return true;
  }

  // The old service's postback answers: {"success", "lid", "message" | "errors"}, with 200.
  void answer_lid(std::string_view lid, bool success, std::string_view text) {
    answer_json(response_, 200,
                json::object{{"success", success}, {"lid", lid}, {success ? "message" : "errors", text}});
  }

  // ---- POST /lid: a conversion postback (SPEC §9) ----
  // The old service's answers (texts kept for clients that match them) come with 200;
  // a body that is not the postback object is a 400.
  // A remote lid store is reached only from a Worker that may block (handler.hpp).
  bool offloaded() {
    const lid::LidStore* store = app_.services().lid_store;
    if (state_.may_block || store == nullptr || !store->remote()) return false;
    response_.offload = true;
    return true;
  }

  void postback() {
    if (!allow("POST", {}, "POST") || offloaded()) return;
    const auto& services = app_.services();
    const AppSettings& settings = app_.settings();
    const Result<Postback> postback = parse_postback(request_.body);
    if (!postback) return answer_error(response_, 400, postback.error().detail);
    const TimestampMs now = services.clock.now();
    const std::string_view signature = request_.header("X-Signature");
    const bool authentic = !signature.empty()
                               ? signature_matches(signature, *postback, request_.body, settings.postback_hmac_keys)
                               : md5_hash_matches(*postback, settings.gateway_api_secret);
    const TimestampMs window = std::chrono::duration_cast<std::chrono::milliseconds>(settings.postback_window).count();
    const bool fresh = postback->timestamp >= now - window && postback->timestamp <= now + window;
    if (!authentic || !fresh) return answer_lid(postback->lid, false, "Broken hash");
    const Result<std::optional<std::string>> stored = find_click(postback->lid, now);
    if (!stored) return answer_unavailable(response_);  // the lid store cannot answer now: retried
    if (response_.offload) return;                      // to look again where waiting is allowed
    if (!*stored) return answer_lid(postback->lid, false, "Lid does not exists in dynamodb");
    // Everything that could fail comes before the de-duplication mark.
    const Result<DerivedRecord> conversion = derived_record(**stored, "traffic-bonus", now);
    if (!conversion) return answer_internal_error(response_);  // our stored record is unreadable
    const Result<bool> first = services.lid_store->mark(postback->lid, lid::LidMark::converted, now);
    if (!first) return answer_unavailable(response_);
    if (!*first) return answer_lid(postback->lid, false, "LID already added");
    if (!emit(conversion->record, Route::lid)) {
      (void)services.lid_store->clear_mark(postback->lid, lid::LidMark::converted);  // see commit_clicks()
      return;
    }
    state_.conversions.push_back({postback->lid, conversion->offer_id, conversion->campaign_id, now});
    answer_lid(postback->lid, true, "Lid successfully created in redshift");
  }

  // The stored click of `lid`. A miss may be a click still on its way to the store, and an
  // advertiser does not retry "does not exist": this instance's own clicks are awaited
  // (its lid-store sink is woken and waited for), and with a store shared through Redis,
  // another instance's for up to POSTBACK_WAIT_MS. Waiting needs a Worker that may block:
  // elsewhere a miss sets response_.offload and the postback is handled again there.
  // Fails when the store cannot answer now.
  Result<std::optional<std::string>> find_click(std::string_view lid, TimestampMs now) {
    const auto& services = app_.services();
    lid::LidStore* store = services.lid_store;
    if (store == nullptr) return std::optional<std::string>();
    Result<std::optional<std::string>> stored = store->get(lid, now);
    const bool may_wait = services.lid_store_catch_up || store->remote();
    if (!stored || *stored || !may_wait) return stored;
    if (!state_.may_block) {
      response_.offload = true;
      return stored;
    }
    // This instance's clicks not yet in the store (its sink failing: Redis away, a failover)
    // may hold this one: "does not exist" would be final to the advertiser, a 503 is retried.
    const bool caught_up = !services.lid_store_catch_up || services.lid_store_catch_up(kOwnClicksWait);
    if (services.lid_store_catch_up && caught_up) stored = store->get(lid, services.clock.now());
    if (!stored || *stored) return stored;
    if (store->remote()) {
      const auto deadline = std::chrono::steady_clock::now() + app_.settings().postback_wait;
      while (stored && !*stored && std::chrono::steady_clock::now() < deadline) {
        // No event tells of another instance's write: the store is asked again, briefly.
        std::this_thread::sleep_for(kSharedStorePoll);
        stored = store->get(lid, services.clock.now());
      }
    }
    if (stored && !*stored && !caught_up)
      return Failure(Errc::unavailable, "the lid store is behind this instance's clicks");
    return stored;
  }

  // Stages a derived record (conversion, resend) in this thread's spool lane: the answer
  // waits for the write like a click's. False (the 503 is set) when it cannot be recorded.
  bool emit(const std::string& record, Route route) {
    if (state_.records == nullptr) {
      unrecorded(response_, metrics_);
      return false;
    }
    state_.records->buffer().append(record);
    return stage(*state_.records, route);
  }

  // /getRecipeData?resendLid=yes&lid=…: the stored click once more with event
  // "traffic-manually", once (SPEC §9; a resend mark like the conversion's); resendLid=del:
  // forget the lid's conversion and resend marks, so it can be converted and resent again.
  void resend_lid(std::string_view mode) {
    if (offloaded()) return;
    std::string lid;
    if (!query_param(query_, "lid", lid) || lid.empty()) return answer_error(response_, 400, "lid is required");
    const auto& services = app_.services();
    if (services.lid_store == nullptr) return answer_lid(lid, false, "Lid does not exists in dynamodb");
    if (mode == "del") {
      if (!services.lid_store->clear_mark(lid, lid::LidMark::converted) ||
          !services.lid_store->clear_mark(lid, lid::LidMark::resent)) {
        return answer_unavailable(response_);
      }
      return answer_lid(lid, true, "Lid conversion mark deleted");
    }
    if (mode != "yes") return answer_error(response_, 400, "resendLid is yes or del");
    const Result<std::optional<std::string>> stored = find_click(lid, services.clock.now());
    if (!stored) return answer_unavailable(response_);
    if (response_.offload) return;
    if (!*stored) return answer_lid(lid, false, "Lid does not exists in dynamodb");
    const Result<DerivedRecord> resend = derived_record(**stored, "traffic-manually", services.clock.now());
    if (!resend) return answer_internal_error(response_);
    const Result<bool> first = services.lid_store->mark(lid, lid::LidMark::resent, services.clock.now());
    if (!first) return answer_unavailable(response_);
    if (!*first) return answer_lid(lid, false, "Lid already resent");
    if (!emit(resend->record, Route::recipe_data)) {
      (void)services.lid_store->clear_mark(lid, lid::LidMark::resent);  // see commit_clicks()
      return;
    }
    state_.resends.push_back(lid);
    answer_lid(lid, true, "Lid resent");
  }

  void blocked(std::size_t reason) {
    WorkerMetrics::bump(metrics_.blocks[reason]);
    answer_not_found(response_);
  }

  // ---- health and readiness ----
  void health() {
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    response_.status = 200;
    response_.content_type = kText;
    response_.body = "Ok";
  }

  void ready() {
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    if (const Result<> ready = app_.ready(); ready) {
      answer_json(response_, 200,
                  json::object{{"status", "ready"}, {"recipe_version", app_.services().store.version()}});
    } else {
      answer_json(response_, 503, json::object{{"status", "not ready"}, {"reason", ready.error().detail}});
    }
  }

  void metrics() {
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    response_.status = 200;
    response_.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response_.body = app_.services().metrics.render(app_.gauges());
  }

  // ---- admin ----
  void recipe_data() {
    if (!require_admin()) return;
    if (query_param(query_, "resendLid", state_.value)) return resend_lid(std::string(state_.value));
    const auto snapshot = app_.services().store.current();
    json::object out{{"recipeVersion", snapshot->version()},
                     {"offers", snapshot->offer_count()},
                     {"campaigns", snapshot->campaign_count()}};
    auto id_param = [&](std::string_view key) -> std::int64_t {
      if (!query_param(query_, key, state_.value)) return 0;
      std::int64_t id = 0;
      const auto [ptr, ec] = std::from_chars(state_.value.data(), state_.value.data() + state_.value.size(), id);
      return ec == std::errc() && ptr == state_.value.data() + state_.value.size() ? id : -1;
    };
    const std::int64_t offer_id = id_param("offerId");
    const std::int64_t campaign_id = id_param("campaignId");
    if (offer_id < 0 || campaign_id < 0) return answer_error(response_, 400, "offerId and campaignId are integers");
    if (offer_id > 0) {
      const recipe::Offer* offer = snapshot->offer(offer_id);
      out["offer"] = offer ? json::value(record_json(*offer)) : json::value(nullptr);
    }
    if (campaign_id > 0) {
      const recipe::Campaign* campaign = snapshot->campaign(campaign_id);
      out["campaign"] = campaign ? json::value(record_json(*campaign)) : json::value(nullptr);
    }
    answer_json(response_, 200, out);
  }

  // /admin/explain?o=<link>&ip=<address>&ua=<user agent>[&subid=&cid=]: a dry run for any
  // visitor, with the decision's trace.
  void admin_explain() {
    if (!require_admin()) return;
    std::string ip_text;
    std::string user_agent;
    if (!query_param(query_, "o", state_.o)) return answer_error(response_, 400, "o (the link) is required");
    const auto ids = link::decode(state_.o, app_.settings().keys, !app_.settings().refuse_v1_links);
    if (!ids) return answer_error(response_, 400, "invalid link");
    query_param(query_, "ip", ip_text);
    query_param(query_, "ua", user_agent);
    const auto ip = ip_text.empty() ? std::optional<net::IpAddress>(request_.peer) : net::IpAddress::parse(ip_text);
    if (!ip) return answer_error(response_, 400, "ip is not an IP address");
    const Visitor visitor = look_up(*ids, *ip, user_agent);
    const auto snapshot = app_.services().store.current();
    const auto& services = app_.services();
    const url::Explanation explanation =
        url::explain_click(app_.engine(), app_.urls(), *snapshot, services.counters, services.clock, state_.random,
                           visitor.context, param("subid", state_.subid), param("cid", state_.cid));
    answer_json(response_, 200, url::to_json(explanation, visitor.context));
  }

  // Reloading may download the recipe (S3, HTTP): done by a Worker that may block.
  void admin_reload() {
    if (!require_admin() || !allow("POST", {}, "POST")) return;
    if (!state_.may_block) {
      response_.offload = true;
      return;
    }
    const auto& reload = app_.services().reload_recipe;
    answer_json(response_, 200, json::object{{"status", "done"}, {"message", reload ? reload() : "no reloader"}});
  }

  // GET /admin/stats/pages|ads?website=&ad_id=&from=&to=: the event analytics (docs/events.md).
  // They are read from Redis, so on the blocking thread.
  enum class Stats : std::uint8_t { pages, ads };
  void admin_stats(Stats which) {
    if (!require_admin() || !allow("GET", "HEAD", "GET, HEAD")) return;
    events::AnalyticsReader* analytics = app_.services().analytics;
    if (analytics == nullptr) return answer_error(response_, 404, "event analytics are kept with REDIS_HOST");
    const Result<events::StatsQuery> query =
        events::parse_stats_query(query_params(query_, 16), events::day_of(app_.services().clock.now()));
    if (!query) return answer_error(response_, 400, query.error().detail);
    if (!state_.may_block) {
      response_.offload = true;
      return;
    }
    if (which == Stats::pages) {
      const auto sites = analytics->pages(*query);
      if (!sites) return stats_unavailable();
      response_.body = events::pages_json(*query, *sites);
    } else {
      const auto ads = analytics->ads(*query);
      if (!ads) return stats_unavailable();
      response_.body = events::ads_json(*query, *ads);
    }
    response_.status = 200;
    response_.content_type = kJson;
    response_.cache_control = "no-store";
  }

  // GET /admin/fleet[?series=1]: every instance's last sample, online or not, and with
  // `series` its last 15 minutes (docs/fleet.md). Read from Redis: on the blocking thread.
  void admin_fleet() {
    if (!require_admin() || !allow("GET", "HEAD", "GET, HEAD")) return;
    const auto& fleet = app_.services().fleet;
    if (!fleet) return answer_error(response_, 404, "no fleet view");
    if (!state_.may_block) {
      response_.offload = true;
      return;
    }
    const bool series = param("series", state_.value) == "1";
    const auto instances = fleet(app_.services().clock.now(), series);
    if (!instances) {
      answer_error(response_, 503, "the fleet store (Redis) is not answering");
      response_.retry_after = "1";
      return;
    }
    response_.status = 200;
    response_.content_type = kJson;
    response_.cache_control = "no-store";
    response_.body = fleet::fleet_json(*instances);
  }

  // ---- the fleet dashboard (docs/fleet.md) ----
  // GET /status: the page for an admin, the login form for anyone else.
  void status() {
    if (!allow("GET", "HEAD", "GET, HEAD")) return;
    response_.content_type = kHtml;
    response_.cache_control = "no-store";
    response_.body.assign(is_admin() ? status_page() : status_login_page(false));
  }

  // POST /status/login, a form with `token`: the session cookie and back to /status.
  void status_login() {
    if (!allow("POST", {}, "POST")) return;
    const std::string& token = app_.settings().admin_token;
    const bool matches = !token.empty() && query_param(request_.body, "token", state_.value) &&
                         state_.value.size() == token.size() &&
                         CRYPTO_memcmp(state_.value.data(), token.data(), token.size()) == 0;
    response_.content_type = kHtml;
    response_.cache_control = "no-store";
    if (!matches) {
      response_.status = 401;
      response_.body.assign(status_login_page(true));
      return;
    }
    response_.status = 302;
    response_.location = "/status";
    response_.set_cookie.assign(kSessionCookie)
        .append("=")
        .append(app_.status_session())
        .append("; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict");
  }

  // GET /status/events: the fleet as Server-Sent Events, one a second (the server streams).
  void status_events() {
    if (!require_admin() || !allow("GET", {}, "GET")) return;
    response_.event_stream = true;
    response_.content_type = "text/event-stream";
  }

  void stats_unavailable() {
    answer_error(response_, 503, "the analytics store (Redis) is not answering");
    response_.retry_after = "5";
  }

  // POST /admin/records with the update message of SPEC §6 as the body.
  void admin_records() {
    if (!require_admin() || !allow("POST", {}, "POST")) return;
    recipe::LoadReport report;
    auto update = recipe::parse_update(request_.body, report);
    if (!update) {
      return answer_error(response_, 400, report.error_detail.empty() ? update.error().message() : report.error_detail);
    }
    const auto outcome = app_.services().store.apply(*update);
    answer_json(response_, 200,
                json::object{{"status", outcome == recipe::Store::ApplyOutcome::applied ? "applied" : "ignored_stale"},
                             {"recipe_version", app_.services().store.version()}});
  }

  App& app_;
  Worker::State& state_;
  WorkerMetrics& metrics_;
  const Request& request_;
  Response& response_;
  std::string_view query_;
};

}  // namespace

bool Worker::commit_clicks() noexcept {
  State& state = *state_;
  if (state.records == nullptr || state.records->staged() == 0) return true;
  const bool written = state.records->flush();
  auto& services = app_.services();
  if (written) {
    for (const auto& click : state.staged) services.counters.record_click(click.offer, click.campaign, click.at);
    for (const auto& sale : state.conversions) services.counters.record_sale(sale.offer, sale.campaign, sale.at);
  } else {
    // The marks of what was not written are undone, so the advertiser's (or operator's)
    // retry is taken.
    // With Redis down as well the mark stays, and a retry is answered "LID already added"
    // (or "already resent"); `resendLid=del` clears it (docs/shared-state.md).
    const auto undo = [&](const std::string& lid, lid::LidMark mark) {
      (void)services.lid_store->clear_mark(lid, mark);
    };
    for (const auto& pick : state.staged_picks) services.counters.return_pick(pick.campaign, pick.child);
    for (const auto& sale : state.conversions) undo(sale.lid, lid::LidMark::converted);
    for (const auto& resent : state.resends) undo(resent, lid::LidMark::resent);
  }
  state.staged.clear();
  state.staged_picks.clear();
  state.conversions.clear();
  state.resends.clear();
  return written;
}

namespace {
std::uint64_t steady_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}
}  // namespace

void Worker::complete(Response& response, bool recorded) noexcept {
  if (!recorded) unrecorded(response, metrics_);
  response.awaits_commit = false;
  metrics_.count_request(static_cast<Route>(response.commit_route), response.status);
  metrics_.request_time.record(steady_ns() - response.started_ns);  // with its share of the spool write
}

void Worker::assign_request_id(Response& response, std::string_view given) noexcept {
  if (echoable_request_id(given)) {
    response.request_id.assign(given);
  } else {
    response.request_id.assign(lid::new_lid(state_->random).view());
  }
}

void Worker::handle(const Request& request, Response& response) noexcept {
  Route route = Route::other;
  const std::uint64_t started = steady_ns();
  try {
    response.reset();
    response.started_ns = started;
    assign_request_id(response, request.header("X-Request-Id"));
    route = Exchange(app_, *state_, metrics_, request, response).route();
  } catch (...) {
    // Nothing on the request path throws (docs/architecture.md, "Error policy"); this is
    // the last line against what may anyway (std::bad_alloc): a 500, never internal text.
    answer_internal_error(response);
  }
  if (!response.awaits_commit && !response.offload) {
    metrics_.count_request(route, response.status);
    metrics_.request_time.record(steady_ns() - started);
  }
}

}  // namespace traffic::http
