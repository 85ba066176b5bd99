// Example 2 — deciding a click: the rule engine on a real recipe with real geo and device data.
//
// This is the heart of trafficd without the HTTP around it: who is the visitor (country from
// MaxMind, device from uap-core), what do the offer's and the campaign's rules say (caps, geo
// restrictions, landing-page rules, payouts, rotation, exit offers), and which URL does the
// visitor go to. A batch job re-deciding yesterday's traffic, or a "what would happen" tool,
// is built from exactly these calls.
//
//   decide_click <offersRecipe.json.gz> <campaignsRecipe.json.gz> <GeoIP2-City.mmdb>
//                <offer id> <campaign id> <ip> [user agent]
//
// CMake:  find_package(traffic REQUIRED COMPONENTS recipe geo device rules counters url lid)

#include <traffic/common/clock.hpp>
#include <traffic/common/file.hpp>
#include <traffic/common/random.hpp>
#include <traffic/counters/counters.hpp>
#include <traffic/device/detector.hpp>
#include <traffic/geo/resolver.hpp>
#include <traffic/lid/lid.hpp>
#include <traffic/net/ip_address.hpp>
#include <traffic/recipe/loader.hpp>
#include <traffic/recipe/snapshot.hpp>
#include <traffic/rules/context.hpp>
#include <traffic/rules/engine.hpp>
#include <traffic/url/click_values.hpp>
#include <traffic/url/redirect_url.hpp>

#include <charconv>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kChromeOnWindows =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

traffic::recipe::RecordId number(std::string_view text) {
  traffic::recipe::RecordId value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::cerr << "usage: decide_click <offers.json.gz> <campaigns.json.gz> <City.mmdb> <offer> <campaign> <ip> [ua]\n";
    return 2;
  }
  namespace traffic = ::traffic;

  // 1. The recipe: every offer and campaign, parsed once into typed records and indexed.
  //    A Snapshot is immutable; trafficd swaps in a new one when the files change (RCU), so
  //    a decision never sees half a recipe. Loading fails on a broken file, with a reason.
  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  auto offers = traffic::recipe::load_offers(traffic::read_file(argv[1]), offers_report);
  auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(argv[2]), campaigns_report);
  if (!offers || !campaigns) {
    std::cerr << "recipe: " << (offers ? campaigns.error() : offers.error()).message() << "\n";
    return 1;
  }
  const auto snapshot = traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns), 1);

  // 2. Who is the visitor. The resolver memory-maps the MaxMind files (opening a missing or
  //    corrupt file throws at start-up, naming it); lookups never throw. The string views in
  //    GeoInfo point into the mapped file, kept alive by `hold`.
  traffic::geo::GeoPaths paths;
  paths.city = argv[3];
  const traffic::geo::GeoResolver geo(paths);
  const auto address = traffic::net::IpAddress::parse(argv[6]);
  if (!address) {
    std::cerr << "not an IP address: " << argv[6] << "\n";
    return 2;
  }
  std::shared_ptr<const traffic::geo::Databases> hold;
  const traffic::geo::GeoInfo where = geo.lookup(*address, hold);

  // The device detector compiles uap-core's regexes once (Debian's uap-core package) and
  // caches answers per user agent.
  const traffic::device::DeviceDetector devices;
  const auto what = devices.detect(argc == 8 ? std::string_view(argv[7]) : kChromeOnWindows);

  // 3. The decision. The engine is pure: time, randomness (rotation ties) and the live
  //    counters (caps, rotation) are parameters, so the same inputs always decide the same.
  //    InMemoryCounters is the single-instance mode; trafficd shares them through Redis.
  const traffic::rules::Context context = traffic::rules::make_context(number(argv[4]), number(argv[5]), where, *what);
  const traffic::rules::Engine engine;  // default offer and campaign, no fallback URL
  traffic::counters::InMemoryCounters counters;
  const traffic::SystemClock clock;
  traffic::FastRandom random;
  const traffic::rules::Decision decision = engine.decide(context, *snapshot, counters, clock, random);

  std::cout << "visitor: " << (context.country.empty() ? "??" : context.country.view()) << ", " << context.device
            << ", " << context.os << ", " << context.browser << "\n";
  if (!decision.redirects()) {
    // A blocked click gets trafficd's 404 "Campaign not found", whatever the reason.
    std::cout << "blocked: " << traffic::rules::to_string(decision.block) << "\n";
    return 0;
  }
  std::cout << "offer " << decision.offer->id << " (" << decision.offer->name << "), campaign " << decision.campaign->id
            << "\n"
            << "redirect type " << decision.redirect_type << " (" << decision.redirect_reason.view() << ")\n"
            << "payin " << decision.payin.to_string() << ", payout " << decision.payout.to_string() << "\n";

  // 4. The redirect URL: the landing page's placeholders filled in, the tracking parameters
  //    appended, and the click id (lid) that postbacks will name later.
  const traffic::lid::Lid lid = traffic::lid::new_lid(random);
  const traffic::url::ClickValues values(decision, context, /*subid=*/"sub-1", /*cid=*/"", lid.view());
  const traffic::url::UrlBuilder urls(traffic::url::UrlSettings{});
  std::cout << "302 Location: " << urls.build(decision.landing_page, values.placeholders(), values.tracking()) << "\n";
  return 0;
}
