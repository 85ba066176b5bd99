#pragma once
// Real-time analytics of site events (SPEC.md §13, docs/events.md "Analytics"): a sink
// that counts event records in Redis, shared by every instance, and the reader behind
// `/admin/stats/…` and `trafficctl stats`. The request path never waits on Redis: the sink
// reads the spool on its own thread, like every sink.
//
// Replays do not count twice: every batch is applied by one Lua script that also stores,
// per spool lane, the end of the last record it counted (the applied marks). The sink
// skips what is at or before its marks, so a batch offered again — after a crash before the
// spool cursor moved, or a reply lost after the script ran — changes nothing.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/common/time.hpp"
#include "traffic/pipeline/sink.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::events {

/// A UTC calendar day, as days since 1970-01-01.
using Day = std::int64_t;
[[nodiscard]] constexpr Day day_of(TimestampMs at) noexcept {
  return at >= 0 ? at / 86'400'000 : (at - 86'399'999) / 86'400'000;
}
/// "20261208", as the keys spell a day.
[[nodiscard]] std::string day_key(Day day);
/// "202612", as the keys spell a day's month.
[[nodiscard]] std::string month_key(Day day);
/// The first day of the month after `day`'s.
[[nodiscard]] Day next_month(Day day);
/// "2026-12-08", as queries and answers spell a day.
[[nodiscard]] std::string day_text(Day day);
/// Parses "2026-12-08"; nullopt for anything else (a real date, years 1970..9999).
[[nodiscard]] std::optional<Day> parse_day(std::string_view text) noexcept;

/// The analytics keys in Redis, every one under `<REDIS_KEY_PREFIX>an:`. Days are
/// "YYYYMMDD", months "YYYYMM" (UTC). An ad's id comes length-prefixed where more follows
/// it, so no website or ad id can make two keys alike.
struct AnalyticsKeys {
  std::string prefix;  ///< REDIS_KEY_PREFIX
  /// SET: the websites that had events on `day`.
  [[nodiscard]] std::string sites(std::string_view day) const;
  /// HASH page → views on `day`.
  [[nodiscard]] std::string page_views(std::string_view day, std::string_view website) const;
  /// HASH `imp:<ad>` / `clk:<ad>` / `rep:<ad>` → impressions, clicks, repeat clickers on `day`.
  [[nodiscard]] std::string ads(std::string_view day, std::string_view website) const;
  /// HyperLogLog: the visitors who clicked the ad on `day`.
  [[nodiscard]] std::string clickers(std::string_view day, std::string_view website, std::string_view ad) const;
  /// HASH visitor → clicks on the ad on `day` (kept one day: what repeat clickers are counted from).
  [[nodiscard]] std::string clicks_by_visitor(std::string_view day, std::string_view website,
                                              std::string_view ad) const;
  /// HyperLogLog: the website's visitors in `month`.
  [[nodiscard]] std::string site_visitors(std::string_view month, std::string_view website) const;
  /// HyperLogLog: the visitors who saw or clicked the ad in `month`.
  [[nodiscard]] std::string ad_visitors(std::string_view month, std::string_view website, std::string_view ad) const;
  /// HASH lane → "<segment> <offset>": where the sink of `source` ("<spool id>:<sink>")
  /// last applied, per spool lane.
  [[nodiscard]] std::string applied(std::string_view source) const;
};

struct AnalyticsSettings {
  redis::Endpoint endpoint;
  std::string key_prefix;  ///< REDIS_KEY_PREFIX
  /// Whose spool positions the applied marks are: "<spool id>:<sink name>".
  std::string source;
  unsigned repeat_clicks =
      3;  ///< EVENT_REPEAT_CLICKS: a visitor's clicks on one ad in a day that make a repeat clicker
  unsigned retention_days = 90;  ///< EVENT_STATS_DAYS: daily keys live this long after their day
  /// Monthly unique visitors live this long after their month (13 months of history).
  static constexpr unsigned kMonthRetentionDays = 400;
};

/// Counts event records (`traffic-event`; other records are passed over) into the keys of
/// AnalyticsKeys, one Lua script per delivery. Not thread-safe: one sink thread.
class AnalyticsSink final : public pipeline::Sink {
 public:
  explicit AnalyticsSink(AnalyticsSettings settings);
  ~AnalyticsSink() override;
  AnalyticsSink(const AnalyticsSink&) = delete;
  AnalyticsSink& operator=(const AnalyticsSink&) = delete;

  /// Without origins nothing tells a replay: every record is counted (library use only;
  /// the Emitter always passes origins).
  Result<> deliver(std::span<const std::string_view> records) override;
  Result<> deliver_with_origins(std::span<const std::string_view> records,
                                std::span<const pipeline::RecordOrigin> origins) override;

  struct Stats {
    std::uint64_t counted = 0;     ///< events applied
    std::uint64_t replayed = 0;    ///< records skipped as already applied
    std::uint64_t unreadable = 0;  ///< event records without a website or a known type (never written by trafficd)
  };
  [[nodiscard]] Stats stats() const noexcept { return stats_; }

 private:
  struct Batch;
  Result<> apply(std::span<const std::string_view> records, std::span<const pipeline::RecordOrigin> origins);
  void gather(std::span<const std::string_view> records, std::span<const pipeline::RecordOrigin> origins);
  void script_arguments(const std::vector<std::optional<pipeline::SpoolPosition>>& before);
  Result<> load_marks();
  AnalyticsSettings settings_;
  AnalyticsKeys keys_;
  redis::Connection connection_;
  std::unique_ptr<Batch> batch_;
  /// Per lane, the end of the last record applied; loaded from Redis before the first
  /// delivery and after every failure (a script may have run whose reply was lost).
  std::vector<std::optional<pipeline::SpoolPosition>> marks_;
  bool marks_known_ = false;
  std::unordered_map<std::string, std::int64_t> expiries_set_;  // key → the EXPIREAT it was given
  std::vector<redis::Reply> replies_;
  Stats stats_;
};

/// What `/admin/stats/…` and `trafficctl stats` ask: UTC days `from`..`to`, inclusive.
struct StatsQuery {
  std::string website;  ///< "" = every website
  std::string ad_id;    ///< "" = every ad (ads only)
  Day from = 0;
  Day to = 0;
  static constexpr Day kMaxDays = 366;
  static constexpr Day kDefaultDays = 7;  ///< without `from`: the week up to `to`
};
/// From query parameters `website`, `ad_id`, `from`, `to` (YYYY-MM-DD; `to` defaults to
/// `today`, `from` to six days before `to`). Fails with Errc::invalid_input naming the
/// parameter: an unknown one, a malformed date, `from` after `to`, a range over kMaxDays.
[[nodiscard]] Result<StatsQuery> parse_stats_query(std::span<const std::pair<std::string, std::string>> params,
                                                   Day today);

struct PageViews {
  std::string page;
  std::uint64_t views = 0;
};
struct SiteStats {
  std::string website;
  std::uint64_t views = 0;            ///< page views over the range
  std::uint64_t unique_visitors = 0;  ///< over the calendar months the range touches (HyperLogLog)
  std::vector<PageViews> pages;       ///< most viewed first
};
struct AdStats {
  std::string website;
  std::string ad_id;
  std::uint64_t impressions = 0;
  std::uint64_t clicks = 0;
  std::uint64_t unique_clickers = 0;  ///< over the range (HyperLogLog)
  std::uint64_t repeat_clickers = 0;  ///< visitor-days with at least EVENT_REPEAT_CLICKS clicks
  std::uint64_t unique_visitors = 0;  ///< saw or clicked it, over the months the range touches
  /// clicks / impressions; 0 without impressions.
  [[nodiscard]] double ctr() const noexcept {
    return impressions == 0 ? 0.0 : static_cast<double>(clicks) / static_cast<double>(impressions);
  }
};

/// Reads the analytics back. Thread-safe (one connection, under a lock); it waits on Redis,
/// so never on a request thread.
class AnalyticsReader {
 public:
  AnalyticsReader(redis::Endpoint endpoint, std::string key_prefix);
  ~AnalyticsReader();
  AnalyticsReader(const AnalyticsReader&) = delete;
  AnalyticsReader& operator=(const AnalyticsReader&) = delete;

  /// Websites by page views, most first.
  Result<std::vector<SiteStats>> pages(const StatsQuery& query);
  /// Ads by clicks, then impressions, most first.
  Result<std::vector<AdStats>> ads(const StatsQuery& query);

 private:
  Result<std::vector<std::string>> websites(const StatsQuery& query);
  Result<> exchange();
  void append_count(const std::vector<std::string>& keys);
  std::mutex mutex_;
  AnalyticsKeys keys_;
  redis::Connection connection_;
  std::vector<redis::Reply> replies_;
};

/// The answers of `/admin/stats/pages` and `/admin/stats/ads` (docs/events.md).
[[nodiscard]] std::string pages_json(const StatsQuery& query, const std::vector<SiteStats>& sites);
[[nodiscard]] std::string ads_json(const StatsQuery& query, const std::vector<AdStats>& ads);

}  // namespace traffic::events
