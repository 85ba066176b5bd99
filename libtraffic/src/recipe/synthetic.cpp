#include "traffic/recipe/synthetic.hpp"

#include <zlib.h>

#include <boost/json.hpp>
#include <random>
#include <stdexcept>

namespace traffic::recipe {
namespace json = boost::json;
namespace {

constexpr std::int64_t kFirstOffer = 1000;
constexpr std::int64_t kFirstCampaign = 1000000;
constexpr const char* kCountries[] = {"US", "GB", "CA", "DE", "FR", "SE", "CN", "BR", "IN", "AU", "ES", "IT"};

class GzipWriter {
 public:
  GzipWriter(const std::filesystem::path& path, int level) : file_(gzopen(path.c_str(), "wb")) {
    if (!file_) throw std::runtime_error("cannot create " + path.string());
    gzsetparams(file_, level, Z_DEFAULT_STRATEGY);
    gzbuffer(file_, 1 << 20);
  }
  ~GzipWriter() {
    if (file_) gzclose(file_);
  }
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  void write(std::string_view text) {
    if (text.empty()) return;
    if (gzwrite(file_, text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size())) {
      throw std::runtime_error("gzip write failed");
    }
    bytes_ += text.size();
  }
  void close() {
    if (gzclose(file_) != Z_OK) throw std::runtime_error("gzip close failed");
    file_ = nullptr;
  }
  std::size_t bytes() const { return bytes_; }

 private:
  gzFile file_;
  std::size_t bytes_ = 0;
};

// A capInfo object as the producer writes it.
json::object cap_info(std::int64_t click_current, std::int64_t click_limit, std::int64_t redirect_key_value,
                      const char* redirect_key) {
  auto period = [](std::int64_t current, std::int64_t limit) {
    return json::object{{"current", current}, {"limit", limit}};
  };
  json::object info{
      {"sales", json::object{{"day", period(0, 0)}, {"week", period(0, 0)}, {"month", period(0, 0)}}},
      {"clicks",
       json::object{{"day", period(click_current, click_limit)}, {"week", period(0, 0)}, {"month", period(0, 0)}}},
      {"dateRangeSetUp", nullptr},
      {"dateStart", nullptr},
      {"dateEnd", nullptr},
      {"dateRangePass", nullptr},
      {"capsType", click_current > click_limit ? "offerOverLimitClicks" : "offerUnderLimitClicks"},
      {"capsSalesUnderLimit", false},
      {"capsSalesOverLimit", false},
      {"capsClicksUnderLimit", click_current <= click_limit},
      {"capsClicksOverLimit", click_current > click_limit},
      {"isExitTraffic", false},
  };
  if (redirect_key_value > 0) info[redirect_key] = redirect_key_value;
  return info;
}

json::object make_offer(std::int64_t id, std::size_t offer_count, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto country = [&] { return kCountries[pick(std::size(kCountries))]; };
  auto other_offer = [&] { return kFirstOffer + static_cast<std::int64_t>(pick(offer_count)); };
  const unsigned kind = static_cast<unsigned>(rng() % 100);
  const bool as_strings = rng() % 2 == 0;  // the producer mixes numbers and decimal strings
  json::object o{
      {"offerId", id},
      {"name", "Offer " + std::to_string(id)},
      {"advertiserId", 50 + static_cast<std::int64_t>(pick(500))},
      {"advertiserName", "Advertiser " + std::to_string(pick(500))},
      {"advertiserManagerId", static_cast<std::int64_t>(pick(40))},
      {"verticalId", static_cast<std::int64_t>(pick(12))},
      {"verticalName", "Vertical"},
      {"currencyId", 1},
      {"status", kind == 99 ? "inactive" : (kind % 7 == 0 ? "private" : "public")},
      {"payin", as_strings ? json::value("2.50000000") : json::value(2.5)},
      {"payout", as_strings ? json::value("1.25000000") : json::value(1.25)},
      {"isCpmOptionEnabled", 0},
      {"payoutPercent", nullptr},
      {"landingPageId", id * 10},
      {"landingPageUrl", (kind % 5 == 0 ? std::string("lp") : std::string("https://lp")) + std::to_string(id) +
                             ".example.com/landing?sub={subid}&click={lid}&geo={country}"},
      {"conversionType", kind % 3 == 0 ? "cpa" : "cpl"},
      {"type", "regular"},
      {"useStartEndDate", 0},
      {"startDate", nullptr},
      {"endDate", nullptr},
      {"descriptions", "Synthetic offer for benchmarks"},
      {"offerIdRedirectExitTraffic", kind % 4 == 0 ? json::value(nullptr) : json::value(other_offer())},
      {"geoRules", nullptr},
      {"customLpRules", nullptr},
      {"capsEnabled", nullptr},
      {"customPayOutCount", 0},
      {"sflOfferGeoId", nullptr},
  };
  if (kind < 8) {  // geo allow- or block-list
    const bool include = kind < 3;
    json::array geo;
    std::string restrictions;
    for (int i = 0; i < 3; ++i) {
      const char* c = country();
      geo.push_back(json::object{{"country", c}, {"include", include}});
      restrictions += (i ? "," : "") + std::string(c);
    }
    o["geoRules"] = json::serialize(json::object{{"geo", geo}});
    o["countriesRestrictions"] = restrictions;
  } else if (kind < 13) {  // custom landing pages
    json::array rules;
    rules.push_back(json::object{{"id", 1},
                                 {"pos", 1},
                                 {"country", country()},
                                 {"lpName", "LP"},
                                 {"lpUrl", "https://custom.example.com/lp?s={subid}"}});
    o["customLpRules"] = json::serialize(json::object{{"customLPRules", rules}});
  } else if (kind < 18) {  // payout per geo
    json::array table;
    table.push_back(json::object{{"offerId", id},
                                 {"geo", country()},
                                 {"payIn", "5.00000000"},
                                 {"payOut", "4.00000000"},
                                 {"paymentType", "fixed"},
                                 {"payoutPercent", nullptr}});
    o["customPayOutPerGeo"] = json::serialize(table);
    o["customPayOutCount"] = 1;
  } else if (kind < 23) {  // date window
    o["useStartEndDate"] = 1;
    o["startDate"] = "2020-01-01T00:00:00.000Z";
    o["endDate"] = kind % 2 ? "2099-12-31T00:00:00.000Z" : "2021-12-31T00:00:00.000Z";
    o["startEndDateSetup"] = true;
    o["startEndDateSetting"] =
        json::object{{"startDate", o["startDate"]}, {"endDate", o["endDate"]}, {"dateRangePass", kind % 2 == 1}};
  } else if (kind < 28) {  // offer caps, some over the limit
    const std::int64_t limit = 1000;
    const std::int64_t current = kind % 2 ? 1200 : 10;
    o["capsEnabled"] = 1;
    o["capSetup"] = true;
    o["capInfo"] = cap_info(current, limit, other_offer(), "offerCapsOfferIdRedirect");
    if (current > limit) {
      o["redirectType"] = "capsOffersClicksOverLimit";
      o["redirectReason"] = "capsOffersClicksOverLimitCapRedirect";
    }
  } else if (kind < 30) {  // aggregated
    o["type"] = "aggregated";
    o["landingPageUrl"] = nullptr;
    json::array children;
    for (int i = 0; i < 3; ++i) {
      children.push_back(json::object{{"aggregatedOfferId", other_offer()}, {"margin", 0.5}});
    }
    o["offersAggregatedIds"] = std::move(children);
  }
  return o;
}

json::object make_campaign(std::int64_t id, std::size_t offer_count, std::mt19937_64& rng) {
  const unsigned kind = static_cast<unsigned>(rng() % 100);
  const std::int64_t affiliate = 1 + static_cast<std::int64_t>(rng() % 20000);
  json::object c{
      {"campaignId", id},
      {"name", "Pub " + std::to_string(affiliate) + " - " + std::to_string(id)},
      {"offerId", kFirstOffer + static_cast<std::int64_t>(rng() % offer_count)},
      {"affiliateId", affiliate},
      {"affiliateStatus", kind == 0 ? "blacklisted" : "active"},
      {"affiliateType", "Marketer"},
      {"campaignStatus", kind == 1 ? "inactive" : (kind == 2 ? "pending" : "active")},
      {"payout", kind % 4 == 0 ? json::value("0.80000000") : json::value(nullptr)},
      {"payoutPercent", nullptr},
      {"affiliateManagerId", static_cast<std::int64_t>(rng() % 50)},
      {"capsEnabled", nullptr},
  };
  if (kind >= 95) {
    c["capsEnabled"] = 1;
    c["capSetup"] = true;
    c["capInfo"] = cap_info(kind % 2 ? 600 : 5, 500, 0, "campaignCapsOfferIdRedirect");
  }
  return c;
}

template <class Make>
std::size_t write_array(const std::filesystem::path& path, int level, std::size_t count, std::int64_t first_id,
                        Make&& make) {
  GzipWriter out(path, level);
  std::string chunk = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) chunk += ",\n";
    chunk += json::serialize(make(first_id + static_cast<std::int64_t>(i)));
    if (chunk.size() > (1 << 20)) {
      out.write(chunk);
      chunk.clear();
    }
  }
  chunk += "]\n";
  out.write(chunk);
  const std::size_t bytes = out.bytes();
  out.close();
  return bytes;
}

}  // namespace

SyntheticFiles write_synthetic_recipe(const SyntheticOptions& options, const std::filesystem::path& dir) {
  if (options.offers == 0) throw std::invalid_argument("a synthetic recipe needs at least one offer");
  std::filesystem::create_directories(dir);
  SyntheticFiles files{dir / "offersRecipe.json.gz", dir / "campaignsRecipe.json.gz", 0, 0};
  std::mt19937_64 rng(options.seed);
  files.offers_json_bytes = write_array(files.offers, options.gzip_level, options.offers, kFirstOffer,
                                        [&](std::int64_t id) { return make_offer(id, options.offers, rng); });
  files.campaigns_json_bytes = write_array(files.campaigns, options.gzip_level, options.campaigns, kFirstCampaign,
                                           [&](std::int64_t id) { return make_campaign(id, options.offers, rng); });
  return files;
}

}  // namespace traffic::recipe
