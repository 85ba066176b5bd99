// The Prometheus exposition of the workers' counters and the scrape's gauges: sums over
// workers, fixed label sets (SPEC §2, §12: no ids in labels), the overload totals.

#include "traffic/http/metrics.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace traffic::http {
namespace {

// The value of the series `series` (name with its labels) in a rendering; -1 when absent.
double value_of(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const auto at = text.find(prefix);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + prefix.size()));
}

TEST(Metrics, CountersAreSummedOverEveryWorker) {
  MetricsRegistry registry;
  WorkerMetrics& a = registry.add_worker();
  WorkerMetrics& b = registry.add_worker();
  a.count_request(Route::pl, 302);
  b.count_request(Route::pl, 302);
  b.count_request(Route::pl, 299);  // not a status trafficd answers with: "other"
  a.count_decision("offerGeoRestriction");
  b.count_decision("no such type");
  a.count_truncations((1U << static_cast<unsigned>(lid::BoundedField::cid)) |
                      (1U << static_cast<unsigned>(lid::BoundedField::ad_domain)));
  b.count_truncations(1U << static_cast<unsigned>(lid::BoundedField::cid));
  WorkerMetrics::bump(a.shed_requests, 3);
  WorkerMetrics::bump(b.connections_refused);
  const std::string text = registry.render({});
  EXPECT_EQ(value_of(text, R"(trafficd_requests_total{route="pl",status="302"})"), 2);
  EXPECT_EQ(value_of(text, R"(trafficd_requests_total{route="pl",status="other"})"), 1);
  EXPECT_EQ(value_of(text, R"(trafficd_decisions_total{redirect_type="offerGeoRestriction"})"), 1);
  EXPECT_EQ(value_of(text, R"(trafficd_decisions_total{redirect_type="other"})"), 1);
  EXPECT_EQ(value_of(text, R"(trafficd_record_values_truncated_total{field="cid"})"), 2);
  EXPECT_EQ(value_of(text, R"(trafficd_record_values_truncated_total{field="ad_domain"})"), 1);
  EXPECT_EQ(value_of(text, R"(trafficd_record_values_truncated_total{field="referer"})"), 0);
  EXPECT_EQ(value_of(text, "trafficd_shed_requests_total"), 3);
  const OverloadTotals totals = registry.overload_totals();
  EXPECT_EQ(totals.shed_requests, 3U);
  EXPECT_EQ(totals.connections_refused, 1U);
}

// Every series' labels come from fixed lists (a request series appears once counted):
// whatever requests send, the series a scrape shows stay within that bound.
TEST(Metrics, TheSeriesAreBoundedWhateverWasCounted) {
  auto series = [](const std::string& text) {
    std::set<std::string> names;
    const std::regex line(R"(^([a-z_]+(\{[^}]*\})?) )");
    std::smatch match;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string one = text.substr(start, end - start);
      if (!one.starts_with("#") && std::regex_search(one, match, line)) names.insert(match[1]);
      start = end == std::string::npos ? text.size() : end + 1;
    }
    return names;
  };
  auto hammer = [](WorkerMetrics& w, int variety) {
    for (std::size_t route = 0; route < kRoutes; ++route) {
      for (unsigned status = 100; status < 600; ++status) w.count_request(static_cast<Route>(route), status);
    }
    for (int i = 0; i < variety; ++i) w.count_decision("type-" + std::to_string(i));
    w.count_truncations(0xFF);
  };
  MetricsRegistry quiet;
  quiet.add_worker();
  MetricsRegistry busy;
  hammer(busy.add_worker(), 10);
  MetricsRegistry busier;
  hammer(busier.add_worker(), 10'000);
  hammer(busier.add_worker(), 10'000);
  const auto at_rest = series(quiet.render({}));
  const auto bound = series(busy.render({}));
  EXPECT_EQ(series(busier.render({})), bound);
  EXPECT_LE(bound.size(), at_rest.size() + kRoutes * kStatuses.size());
}

TEST(Metrics, TheClickHistogramIsCumulative) {
  MetricsRegistry registry;
  WorkerMetrics& w = registry.add_worker();
  w.observe_click(5'000);        // 5 µs: the first bucket (10 µs)
  w.observe_click(70'000);       // 70 µs: the 100 µs bucket
  w.observe_click(900'000'000);  // 0.9 s: +Inf only
  const std::string text = registry.render({});
  EXPECT_EQ(value_of(text, R"(trafficd_click_duration_seconds_bucket{le="1e-05"})"), 1);
  EXPECT_EQ(value_of(text, R"(trafficd_click_duration_seconds_bucket{le="0.0001"})"), 2);
  EXPECT_EQ(value_of(text, R"(trafficd_click_duration_seconds_bucket{le="0.25"})"), 2);
  EXPECT_EQ(value_of(text, R"(trafficd_click_duration_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(value_of(text, "trafficd_click_duration_seconds_count"), 3);
  EXPECT_NEAR(value_of(text, "trafficd_click_duration_seconds_sum"), 0.900075, 1e-9);
}

}  // namespace
}  // namespace traffic::http
