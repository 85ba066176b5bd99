#include "stats.hpp"

#include <iostream>
#include <vector>

#include "traffic/common/clock.hpp"
#include "traffic/config/config.hpp"
#include "traffic/events/analytics.hpp"

namespace trafficctl {

void StatsOptions::add_to(CLI::App& command) {
  command.add_option("--website", website, "only this website");
  command.add_option("--ad-id", ad_id, "only this ad (ads)");
  command.add_option("--from", from, "first day, YYYY-MM-DD (UTC; default: six days before --to)");
  command.add_option("--to", to, "last day, YYYY-MM-DD (UTC; default: today)");
  command.add_flag("--json", json, "print JSON (what /admin/stats/… answers)");
}

namespace {

// A table whose columns are as wide as their widest cell; numbers to the right.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out, std::size_t text_columns) const {
    std::vector<std::size_t> widths(rows_[0].size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t c = 0; c < row.size(); ++c) {
        const std::string pad(widths[c] - row[c].size(), ' ');
        if (c > 0) line += "  ";
        line += c < text_columns ? row[c] + pad : pad + row[c];
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string percent(double ratio) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", ratio * 100.0);
  return text;
}

}  // namespace

int stats(StatsReport report, const StatsOptions& options) {
  auto environment = traffic::config::from_environment();
  if (!environment.config) {
    std::cerr << environment.message << "\n";
    return 2;
  }
  const traffic::config::Config& config = *environment.config;
  if (!config.redis_configured()) {
    std::cerr << "REDIS_HOST or REDIS_SENTINELS: not set; the event analytics are kept in Redis\n";
    return 2;
  }
  // The same parameters, checked by the same function, as /admin/stats/….
  std::vector<std::pair<std::string, std::string>> params;
  if (!options.website.empty()) params.emplace_back("website", options.website);
  if (!options.ad_id.empty()) params.emplace_back("ad_id", options.ad_id);
  if (!options.from.empty()) params.emplace_back("from", options.from);
  if (!options.to.empty()) params.emplace_back("to", options.to);
  const auto query = traffic::events::parse_stats_query(params, traffic::events::day_of(traffic::SystemClock().now()));
  if (!query) {
    std::string message = query.error().detail;  // "ad_id: …" is --ad-id's
    for (std::size_t i = 0; i < message.find(':') && i < message.size(); ++i) {
      if (message[i] == '_') message[i] = '-';
    }
    std::cerr << "--" << message << "\n";
    return 2;
  }
  traffic::events::AnalyticsReader reader(traffic::config::redis_endpoint(config), config.redis_key_prefix);
  const std::string range = traffic::events::day_text(query->from) + " .. " + traffic::events::day_text(query->to);
  if (report == StatsReport::pages) {
    const auto sites = reader.pages(*query);
    if (!sites) {
      std::cerr << "trafficctl: " << sites.error().detail << "\n";
      return 2;
    }
    if (options.json) {
      std::cout << traffic::events::pages_json(*query, *sites) << "\n";
      return 0;
    }
    std::cout << "page views, " << range << " (UTC)\n";
    Table table({"WEBSITE", "PAGE", "VIEWS", "VISITORS"});
    for (const auto& site : *sites) {
      table.add({site.website, "(all)", std::to_string(site.views), std::to_string(site.unique_visitors)});
      for (const auto& page : site.pages) table.add({site.website, page.page, std::to_string(page.views), ""});
    }
    table.print(std::cout, 2);
    return 0;
  }
  const auto ads = reader.ads(*query);
  if (!ads) {
    std::cerr << "trafficctl: " << ads.error().detail << "\n";
    return 2;
  }
  if (options.json) {
    std::cout << traffic::events::ads_json(*query, *ads) << "\n";
    return 0;
  }
  std::cout << "ads, " << range << " (UTC)\n";
  Table table({"WEBSITE", "AD", "IMPRESSIONS", "CLICKS", "CTR", "CLICKERS", "REPEAT", "VISITORS"});
  for (const auto& ad : *ads) {
    table.add({ad.website, ad.ad_id, std::to_string(ad.impressions), std::to_string(ad.clicks), percent(ad.ctr()),
               std::to_string(ad.unique_clickers), std::to_string(ad.repeat_clickers),
               std::to_string(ad.unique_visitors)});
  }
  table.print(std::cout, 2);
  return 0;
}

}  // namespace trafficctl
