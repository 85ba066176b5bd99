// The analytics of site events against a real redis-server: what is counted, how it reads
// back, that a batch offered again counts once, and the HyperLogLog's accuracy.

#include "traffic/events/analytics.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"
#include "test_support.hpp"
#include "traffic/common/clock.hpp"
#include "traffic/events/event_record.hpp"
#include "traffic/pipeline/emitter.hpp"

namespace traffic::events {
namespace {

constexpr TimestampMs kDec8 = 1'796'688'000'000;  // 2026-12-08T00:00:00Z
constexpr Day kDec8Day = kDec8 / 86'400'000;
// Events are counted on the day the test runs: keys of days past their retention expire at once.
const TimestampMs kToday = day_of(SystemClock().now()) * 86'400'000;
const Day kTodayDay = day_of(kToday);

std::string record(EventType type, std::string_view website, std::string_view page, std::string_view ad,
                   std::string_view visitor, TimestampMs at = kToday + 3'600'000) {
  Event event;
  event.type = type;
  event.website = std::string(website);
  event.page = std::string(page);
  event.ad_id = std::string(ad);
  EventFacts facts;
  facts.event_id = "00000000-0000-4000-8000-000000000001";
  facts.date_added = at;
  facts.visitor_id = visitor;
  facts.visitor_source = visitor.empty() ? VisitorSource::none : VisitorSource::cookie;
  std::string out;
  append_event_record(out, event, facts);
  return out;
}
std::string view(std::string_view website, std::string_view page, std::string_view visitor) {
  return record(EventType::page_view, website, page, {}, visitor);
}
std::string impression(std::string_view website, std::string_view ad, std::string_view visitor) {
  return record(EventType::ad_impression, website, "/", ad, visitor);
}
std::string click(std::string_view website, std::string_view ad, std::string_view visitor) {
  return record(EventType::ad_click, website, "/", ad, visitor);
}

// Records at consecutive positions of lane 0, from `first` on (ends 100, 200, …).
std::vector<pipeline::RecordOrigin> origins(std::size_t count, std::size_t first = 0) {
  std::vector<pipeline::RecordOrigin> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back({0, {1, (first + i + 1) * 100}});
  return out;
}

struct Fixture {
  test::TempDir dir{"analytics"};
  test::RedisServer redis{dir.path()};

  AnalyticsSettings settings() const {
    return {.endpoint = redis.endpoint(), .key_prefix = "t:", .source = "spool1:analytics", .repeat_clicks = 3};
  }
  Result<> deliver(AnalyticsSink& sink, const std::vector<std::string>& lines,
                   const std::vector<pipeline::RecordOrigin>& where) {
    const std::vector<std::string_view> views(lines.begin(), lines.end());
    return sink.deliver_with_origins(views, where);
  }
  StatsQuery day(std::string website = {}, std::string ad = {}) const {
    return {.website = std::move(website), .ad_id = std::move(ad), .from = kTodayDay, .to = kTodayDay};
  }
};

TEST(AnalyticsDays, KeysAndTextOfDays) {
  EXPECT_EQ(day_key(kDec8Day), "20261208");
  EXPECT_EQ(month_key(kDec8Day), "202612");
  EXPECT_EQ(day_text(kDec8Day), "2026-12-08");
  EXPECT_EQ(parse_day("2026-12-08"), kDec8Day);
  EXPECT_EQ(day_of(kDec8 - 1), kDec8Day - 1);
  EXPECT_EQ(next_month(kDec8Day), days_from_civil(2027, 1, 1));
  EXPECT_EQ(next_month(days_from_civil(2026, 1, 31)), days_from_civil(2026, 2, 1));
  for (const char* bad : {"2026-12-8", "2026-02-30", "20261208", "2026-12-08T00:00:00Z", "", "yesterday"})
    EXPECT_FALSE(parse_day(bad)) << bad;
}

TEST(AnalyticsKeys, NoWebsiteOrAdIdMakesTwoKeysAlike) {
  const AnalyticsKeys keys{"p:"};
  EXPECT_EQ(keys.clickers("20261208", "news.example", "a-7"), "p:an:uc:20261208:3:a-7:news.example");
  EXPECT_NE(keys.clickers("20261208", "b:c", "a"), keys.clickers("20261208", "c", "a:b"));
  EXPECT_NE(keys.ad_visitors("202612", "x:1", "2"), keys.ad_visitors("202612", "1", "2:x"));
}

TEST(AnalyticsSink, CountsPageViewsImpressionsClicksAndRepeatClickers) {
  Fixture f;
  AnalyticsSink sink(f.settings());
  std::vector<std::string> lines = {
      view("news.example", "/a", "v1"), view("news.example", "/a", "v2"), view("news.example", "/b", "v1"),
      view("blog.example", "/", "v3"), impression("news.example", "a-7", "v1"), impression("news.example", "a-7", "v2"),
      impression("news.example", "a-8", "v1"), click("news.example", "a-7", "v1"), click("news.example", "a-7", "v1"),
      // Not an event: passed over.
      R"({"event":"traffic-api","lid":"x"})"
      "\n"};
  ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(lines.size()))), "");
  // The third click of v1 on a-7 makes a repeat clicker, in a later batch; a fourth does not count again.
  std::vector<std::string> more = {click("news.example", "a-7", "v1"), click("news.example", "a-7", "v1"),
                                   click("news.example", "a-7", "v2"), click("news.example", "a-7", "")};
  ASSERT_EQ(test::failure_of(f.deliver(sink, more, origins(more.size(), lines.size()))), "");
  EXPECT_EQ(sink.stats().counted, 13U);

  AnalyticsReader reader(f.redis.endpoint(), "t:");
  const auto pages = reader.pages(f.day());
  ASSERT_TRUE(pages) << test::failure_of(pages);
  ASSERT_EQ(pages->size(), 2U);
  const SiteStats& news = (*pages)[0];
  EXPECT_EQ(news.website, "news.example");
  EXPECT_EQ(news.views, 3U);
  EXPECT_EQ(news.unique_visitors, 2U);  // v1 and v2; the anonymous click counts no visitor
  ASSERT_EQ(news.pages.size(), 2U);
  EXPECT_EQ(news.pages[0].page, "/a");
  EXPECT_EQ(news.pages[0].views, 2U);
  EXPECT_EQ((*pages)[1].website, "blog.example");
  EXPECT_EQ((*pages)[1].unique_visitors, 1U);

  const auto ads = reader.ads(f.day());
  ASSERT_TRUE(ads) << test::failure_of(ads);
  ASSERT_EQ(ads->size(), 2U);
  const AdStats& a7 = (*ads)[0];
  EXPECT_EQ(a7.ad_id, "a-7");
  EXPECT_EQ(a7.impressions, 2U);
  EXPECT_EQ(a7.clicks, 6U);
  EXPECT_EQ(a7.unique_clickers, 2U);
  EXPECT_EQ(a7.repeat_clickers, 1U);
  EXPECT_EQ(a7.unique_visitors, 2U);
  EXPECT_DOUBLE_EQ(a7.ctr(), 3.0);
  EXPECT_EQ((*ads)[1].ad_id, "a-8");
  EXPECT_EQ((*ads)[1].clicks, 0U);

  // Filters.
  const auto only = reader.ads(f.day("news.example", "a-8"));
  ASSERT_TRUE(only);
  ASSERT_EQ(only->size(), 1U);
  EXPECT_EQ((*only)[0].impressions, 1U);
  const auto blog = reader.pages(f.day("blog.example"));
  ASSERT_TRUE(blog);
  ASSERT_EQ(blog->size(), 1U);
  EXPECT_EQ((*blog)[0].views, 1U);
  // Another day has nothing.
  StatsQuery before = f.day();
  before.from = before.to = kTodayDay - 1;
  EXPECT_TRUE(reader.pages(before)->empty());
}

TEST(AnalyticsSink, KeysExpireAfterTheirRetention) {
  Fixture f;
  AnalyticsSink sink(f.settings());
  ASSERT_EQ(test::failure_of(f.deliver(sink, {view("s", "/", "v"), click("s", "a", "v")}, origins(2))), "");
  const AnalyticsKeys keys{"t:"};
  const std::int64_t day_end = (kTodayDay + 1) * 86'400;
  EXPECT_EQ(f.redis.command("EXPIRETIME " + keys.page_views(day_key(kTodayDay), "s")),
            std::to_string(day_end + 90 * 86'400));
  EXPECT_EQ(f.redis.command("EXPIRETIME " + keys.clicks_by_visitor(day_key(kTodayDay), "s", "a")),
            std::to_string(day_end + 86'400));
  const std::int64_t month_end = next_month(kTodayDay) * 86'400;
  EXPECT_EQ(f.redis.command("EXPIRETIME " + keys.site_visitors(month_key(kTodayDay), "s")),
            std::to_string(month_end + 400 * 86'400));
}

TEST(AnalyticsSink, ABatchOfferedAgainCountsOnce) {
  Fixture f;
  const std::vector<std::string> lines = {view("s", "/", "v1"), click("s", "a", "v1"), click("s", "a", "v2")};
  {
    AnalyticsSink sink(f.settings());
    ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(3))), "");
    ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(3))), "");  // offered again in-process
    EXPECT_EQ(sink.stats().replayed, 3U);
  }
  // A restarted process offers the batch again, as one more record came in after it.
  AnalyticsSink restarted(f.settings());
  std::vector<std::string> replay = lines;
  replay.push_back(click("s", "a", "v3"));
  ASSERT_EQ(test::failure_of(f.deliver(restarted, replay, origins(4))), "");
  EXPECT_EQ(restarted.stats().replayed, 3U);
  EXPECT_EQ(restarted.stats().counted, 1U);

  AnalyticsReader reader(f.redis.endpoint(), "t:");
  const auto ads = reader.ads(f.day());
  ASSERT_TRUE(ads);
  ASSERT_EQ(ads->size(), 1U);
  EXPECT_EQ((*ads)[0].clicks, 3U);
  EXPECT_EQ((*ads)[0].unique_clickers, 3U);
  EXPECT_EQ((*reader.pages(f.day()))[0].views, 1U);
}

// Clicks and conversions pass through the same spool: a delivery without events costs
// Redis nothing, not even a mark.
TEST(AnalyticsSink, ADeliveryWithoutEventsSendsRedisNothing) {
  Fixture f;
  AnalyticsSink sink(f.settings());
  const std::vector<std::string> clicks = {R"({"event":"traffic-api","lid":"a"})"
                                           "\n",
                                           R"({"event":"traffic-bonus","lid":"a"})"
                                           "\n"};
  ASSERT_EQ(test::failure_of(f.deliver(sink, clicks, origins(2))), "");
  EXPECT_EQ(f.redis.command("DBSIZE"), "0");
  EXPECT_EQ(sink.stats().counted, 0U);
}

TEST(AnalyticsSink, ARedisThatWasDownGetsTheBatchOnce) {
  Fixture f;
  AnalyticsSink sink(f.settings());
  ASSERT_EQ(test::failure_of(f.deliver(sink, {view("s", "/", "v1")}, origins(1))), "");
  f.redis.stop();
  const std::vector<std::string> lines = {view("s", "/", "v2"), view("s", "/", "v3")};
  EXPECT_NE(test::failure_of(f.deliver(sink, lines, origins(2, 1))), "");
  f.redis.start();  // no persistence: the first batch and its marks are gone with it
  ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(2, 1))), "");
  ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(2, 1))), "");
  AnalyticsReader reader(f.redis.endpoint(), "t:");
  EXPECT_EQ((*reader.pages(f.day()))[0].views, 2U);
}

// Through a real spool and emitter: everything is delivered, then the cursor is put back
// where a crash before its save would have left it; the next run counts nothing twice.
TEST(AnalyticsSink, ACrashBeforeTheCursorMovedCountsNothingTwice) {
  Fixture f;
  const std::filesystem::path spool_dir = f.dir.path() / "spool";
  pipeline::SpoolSettings spool_settings{
      .directory = spool_dir, .lanes = 2, .fsync_interval = std::chrono::milliseconds(0), .sinks = {"analytics"}};
  auto run = [&](int first, int count) {
    pipeline::Spool spool(spool_settings);
    for (int i = first; i < first + count; ++i) {
      auto& writer = spool.writer(static_cast<std::size_t>(i % 2));
      writer.buffer() += view("s", "/p" + std::to_string(i % 5), "v" + std::to_string(i));
      ASSERT_TRUE(writer.append());
    }
    AnalyticsSettings settings = f.settings();
    settings.source = spool.id() + ":analytics";
    std::vector<pipeline::Emitter::NamedSink> sinks;
    sinks.push_back({.name = "analytics", .sink = std::make_unique<AnalyticsSink>(settings), .batch_records = 7});
    pipeline::Emitter emitter(spool, std::move(sinks));
    emitter.start();
    ASSERT_TRUE(emitter.await_taken("analytics", std::chrono::seconds(20)));
    emitter.stop(std::chrono::seconds(5));
    // The crash: the cursor is back at the start, as if never saved.
    ASSERT_TRUE(spool.commit("analytics", std::vector<pipeline::SpoolPosition>(spool.lanes())));
  };
  run(0, 40);
  run(40, 10);
  AnalyticsReader reader(f.redis.endpoint(), "t:");
  const auto pages = reader.pages(f.day());
  ASSERT_TRUE(pages);
  ASSERT_EQ(pages->size(), 1U);
  EXPECT_EQ((*pages)[0].views, 50U);
  EXPECT_EQ((*pages)[0].unique_visitors, 50U);
}

TEST(AnalyticsSink, UniqueVisitorsWithinTwoPercentOfTheTruth) {
  Fixture f;
  AnalyticsSink sink(f.settings());
  constexpr std::size_t kVisitors = 100'000;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < kVisitors; ++i) {
    lines.push_back(impression("s", "a", "visitor-" + std::to_string(i * 7919)));
    if (lines.size() == 4096 || i + 1 == kVisitors) {
      ASSERT_EQ(test::failure_of(f.deliver(sink, lines, origins(lines.size(), i + 1 - lines.size()))), "");
      lines.clear();
    }
  }
  AnalyticsReader reader(f.redis.endpoint(), "t:");
  const auto ads = reader.ads(f.day());
  ASSERT_TRUE(ads);
  ASSERT_EQ(ads->size(), 1U);
  EXPECT_EQ((*ads)[0].impressions, kVisitors);
  EXPECT_NEAR(static_cast<double>((*ads)[0].unique_visitors), kVisitors, kVisitors * 0.02);
  const auto pages = reader.pages(f.day());
  EXPECT_NEAR(static_cast<double>((*pages)[0].unique_visitors), kVisitors, kVisitors * 0.02);
}

TEST(AnalyticsReader, ARedisThatIsDownFailsTheQuery) {
  Fixture f;
  AnalyticsReader reader(f.redis.endpoint(), "t:");
  f.redis.stop();
  const auto pages = reader.pages(f.day());
  ASSERT_FALSE(pages);
  EXPECT_TRUE(pages.error().is(Errc::unavailable));
}

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(StatsQuery, DefaultsAndFilters) {
  const auto none = parse_stats_query(Params{}, kDec8Day);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->to, kDec8Day);
  EXPECT_EQ(none->from, kDec8Day - 6);
  const auto given = parse_stats_query(
      Params{{"website", "news.example"}, {"ad_id", "a-7"}, {"from", "2026-11-01"}, {"to", "2026-11-30"}}, kDec8Day);
  ASSERT_TRUE(given) << test::failure_of(given);
  EXPECT_EQ(given->website, "news.example");
  EXPECT_EQ(given->ad_id, "a-7");
  EXPECT_EQ(given->to - given->from, 29);
}

TEST(StatsQuery, BadParametersAreNamed) {
  const std::vector<std::pair<Params, std::string>> cases = {
      {{{"form", "2026-11-01"}}, "form: unknown parameter (website, ad_id, from, to)"},
      {{{"from", "2026-13-01"}}, "from: must be a date, YYYY-MM-DD"},
      {{{"to", "yesterday"}}, "to: must be a date, YYYY-MM-DD"},
      {{{"from", "2026-12-09"}, {"to", "2026-12-08"}}, "from: must not be after to"},
      {{{"from", "2024-01-01"}}, "from: the range is longer than 366 days"},
      {{{"website", ""}}, "website: must be 1..256 bytes"},
      {{{"ad_id", std::string(129, 'a')}}, "ad_id: must be 1..128 bytes"},
  };
  for (const auto& [params, expected] : cases) {
    const auto query = parse_stats_query(params, kDec8Day);
    ASSERT_FALSE(query) << expected;
    EXPECT_TRUE(query.error().is(Errc::invalid_input));
    EXPECT_EQ(query.error().detail, expected);
  }
}

TEST(StatsJson, AnswersNameTheRangeAndEveryCount) {
  const StatsQuery query{.website = {}, .ad_id = {}, .from = kDec8Day - 1, .to = kDec8Day};
  EXPECT_EQ(pages_json(query, {{.website = "s", .views = 3, .unique_visitors = 2, .pages = {{"/a", 3}}}}),
            R"({"from":"2026-12-07","to":"2026-12-08","websites":[{"website":"s","views":3,"unique_visitors":2,)"
            R"("pages":[{"page":"/a","views":3}]}]})");
  AdStats ad{.website = "s",
             .ad_id = "a",
             .impressions = 4,
             .clicks = 1,
             .unique_clickers = 1,
             .repeat_clickers = 0,
             .unique_visitors = 3};
  EXPECT_EQ(ads_json(query, {ad}),
            R"({"from":"2026-12-07","to":"2026-12-08","ads":[{"website":"s","ad_id":"a","impressions":4,"clicks":1,)"
            R"("ctr":2.5E-1,"unique_clickers":1,"repeat_clickers":0,"unique_visitors":3}]})");
}

}  // namespace
}  // namespace traffic::events
