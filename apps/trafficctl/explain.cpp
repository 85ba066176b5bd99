#include "explain.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "traffic/common/clock.hpp"
#include "traffic/common/file.hpp"
#include "traffic/config/config.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/link/link.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/rules/explain.hpp"
#include "traffic/url/explain.hpp"

namespace trafficctl {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): trafficctl has one thread
  return value ? std::string(value) : fallback;
}

std::string configured_v1_key() {
  return env_or("ENCRIPTION_KEY", env_or("ENCRYPTION_KEY"));
}

namespace {

// A clock stopped at the instant the operator asked about.
class FixedClock final : public traffic::Clock {
 public:
  explicit FixedClock(traffic::TimestampMs at) : at_(at) {}
  [[nodiscard]] traffic::TimestampMs now() const noexcept override { return at_; }

 private:
  traffic::TimestampMs at_;
};

// The recipe as trafficd would load it; a refused file stops the explanation.
std::shared_ptr<const traffic::recipe::Snapshot> load_recipe(const std::string& offers_path,
                                                             const std::string& campaigns_path) {
  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  auto offers = traffic::recipe::load_offers(traffic::read_file(offers_path), offers_report);
  if (!offers) throw std::runtime_error(offers_path + ": refused: " + offers_report.error_detail);
  auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(campaigns_path), campaigns_report);
  if (!campaigns) throw std::runtime_error(campaigns_path + ": refused: " + campaigns_report.error_detail);
  return traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns));
}

}  // namespace

void ExplainOptions::add_to(CLI::App& command) {
  command.add_option("--offers", offers_path, "offersRecipe.json[.gz]")->required()->check(CLI::ExistingFile);
  command.add_option("--campaigns", campaigns_path, "campaignsRecipe.json[.gz]")->required()->check(CLI::ExistingFile);
  auto* link_option = command.add_option("--link", link, "the click's o= value");
  auto* offer_option = command.add_option("--offer", offer_id, "offer id (instead of --link)");
  command.add_option("--campaign", campaign_id, "campaign id (instead of --link)")->needs(offer_option);
  offer_option->excludes(link_option);
  command.add_option("--ip", ip, "visitor's IP address (looked up in the geo databases)");
  command.add_option("--ua", user_agent, "visitor's User-Agent");
  command.add_option("--at", at, "click time, ISO-8601 (default: now)");
  command.add_option("--country", country, "visitor's country, instead of the geo lookup");
  command.add_option("--subid", subid, "the click's subid query parameter");
  command.add_option("--cid", cid, "the click's cid query parameter");
  command.add_option("--city-db", city_db, "GeoIP2/GeoLite2 City database (default: $MAXMIND_PATH)");
  command.add_option("--isp-db", isp_db, "GeoIP2 ISP database (default: $MAXMIND_PATH_ISP)");
  command.add_option("--ua-regexes", ua_regexes, "uap-core regexes.yaml")
      ->default_str(std::string(traffic::device::kDefaultRegexesPath));
  command.add_option("--key", v1_key, "v1 link key (default: $ENCRIPTION_KEY)");
  command.add_option("--v2-keys", v2_keys, "v2 link keys (default: $LINK_KEYS_V2)");
  command.add_option("--url-hash-secret", hash_secret, "URL hash secret (default: $URL_HASH_SECRET)");
  command.add_option("--default-offer", default_offer, "default offer id (default: $DEFAULT_OFFER_ID, as trafficd)");
  command.add_option("--default-campaign", default_campaign,
                     "default campaign id (default: $DEFAULT_CAMPAIGN_ID and NODE_ENV, as trafficd)");
  command.add_option("--fallback-url", fallback_url, "last-resort landing page (default: $FALLBACK_URL)");
  command.add_flag("--json", json, "print JSON (what /admin/explain answers)");
}

int explain(const ExplainOptions& o) {
  // trafficd's own configuration (NETWORK_ID, URL_HASH_MODE, STRICT_LINK_PAIR, …), the
  // flags on top: the same settings, assembled by the same functions, as /admin/explain.
  auto environment = traffic::config::from_environment();
  if (!environment.config) {
    std::cerr << environment.message << "\n";
    return 2;
  }
  traffic::config::Config config = std::move(*environment.config);
  if (!o.hash_secret.empty()) config.url_hash_secret = o.hash_secret;
  if (o.default_offer > 0) config.default_offer_id = o.default_offer;
  if (o.default_campaign > 0) config.default_campaign_id = o.default_campaign;
  if (!o.fallback_url.empty()) config.fallback_url = o.fallback_url;
  const auto snapshot = load_recipe(o.offers_path, o.campaigns_path);

  traffic::rules::Context context;
  if (!o.link.empty()) {
    const auto keys = traffic::link::LinkKeys::from_config(o.v1_key.empty() ? config.encryption_key : o.v1_key,
                                                           o.v2_keys.empty() ? config.link_keys_v2 : o.v2_keys);
    auto ids = traffic::link::decode(o.link, keys);
    if (!ids) {
      std::cerr << "invalid link (a visitor would get the 404)\n";
      return 1;
    }
    context.offer_id = ids->offer_id;
    context.campaign_id = ids->campaign_id;
  } else if (o.offer_id > 0 && o.campaign_id > 0) {
    context.offer_id = o.offer_id;
    context.campaign_id = o.campaign_id;
  } else {
    std::cerr << "give --link, or --offer and --campaign\n";
    return 2;
  }

  // Geo: the real databases when configured, --country on top.
  traffic::geo::GeoPaths paths;
  paths.city = o.city_db.empty() ? config.maxmind_path : o.city_db;
  paths.isp = o.isp_db.empty() ? config.maxmind_path_isp : o.isp_db;
  std::unique_ptr<traffic::geo::GeoResolver> resolver;
  std::shared_ptr<const traffic::geo::Databases> hold;
  traffic::geo::GeoInfo where;
  if (!o.ip.empty()) {
    auto address = traffic::net::IpAddress::parse(o.ip);
    if (!address) {
      std::cerr << "--ip: not an IP address\n";
      return 2;
    }
    if (!paths.city.empty() || !paths.isp.empty()) {
      resolver = std::make_unique<traffic::geo::GeoResolver>(paths);
      where = resolver->lookup(*address, hold);
    }
  }
  if (!o.country.empty()) {
    auto code = traffic::CountryCode::parse(o.country);
    if (!code) {
      std::cerr << "--country: not a two-letter code\n";
      return 2;
    }
    where.country = *code;
  }

  traffic::device::DeviceInfo what;
  std::unique_ptr<traffic::device::DeviceDetector> detector;
  if (!o.user_agent.empty()) {
    detector = std::make_unique<traffic::device::DeviceDetector>(
        o.ua_regexes.empty() ? std::string(traffic::device::kDefaultRegexesPath) : o.ua_regexes, 0);
    what = detector->parse(o.user_agent);
  }
  context = traffic::rules::make_context(context.offer_id, context.campaign_id, where, what);

  traffic::TimestampMs at = traffic::SystemClock().now();
  if (!o.at.empty()) {
    auto parsed = traffic::parse_iso8601(o.at);
    if (!parsed) {
      std::cerr << "--at: not an ISO-8601 time\n";
      return 2;
    }
    at = *parsed;
  }

  const traffic::rules::Engine engine(traffic::config::engine_settings(config));
  // Offline there are no live counts: caps use the recipe's `current` values.
  traffic::counters::InMemoryCounters counters;
  traffic::FastRandom random;
  const FixedClock clock(at);
  const traffic::url::UrlBuilder urls(traffic::config::url_settings(config));
  const auto explanation =
      traffic::url::explain_click(engine, urls, *snapshot, counters, clock, random, context, o.subid, o.cid);
  if (o.json) {
    std::cout << boost::json::serialize(traffic::url::to_json(explanation, context)) << "\n";
  } else {
    std::cout << "visitor: country=" << where.country.view() << " region=" << where.region << " city=" << where.city
              << " isp=" << where.isp << " device=" << context.device << " os=" << context.os
              << " browser=" << context.browser << "\n"
              << traffic::rules::to_text(explanation.decision, explanation.redirect_url);
  }
  return explanation.decision.redirects() ? 0 : 1;
}

}  // namespace trafficctl
