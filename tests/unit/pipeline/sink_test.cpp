// Sink URLs: every kind with its options, and the one-line refusals.

#include <gtest/gtest.h>

#include "traffic/pipeline/sink.hpp"

#include <memory>

#include "traffic/testing/memory_sink.hpp"

namespace traffic::pipeline {
namespace {

// The URLs, or none and the one-line refusal in `error`.
std::vector<SinkUrl> parse(std::vector<std::string> urls, std::string& error) {
  Result<std::vector<SinkUrl>> parsed = parse_sink_urls(urls);
  if (!parsed) {
    EXPECT_TRUE(parsed.error().is(Errc::invalid_input));
    error = parsed.error().detail;
    return {};
  }
  error.clear();
  return std::move(*parsed);
}

TEST(SinkUrls, EveryKindWithItsOptions) {
  std::string error;
  const auto sinks = parse({"file:///var/lib/trafficd/clicks#rotate_seconds=60&rotate_mb=16",
                            "file://relative/dir#name=archive", "https://collector.example:8443/ingest?x=1#batch=500",
                            "aggregator+https://aggregator.example/", "redis://:secret@127.0.0.1:6379/clicks"},
                           error);
  ASSERT_EQ(sinks.size(), 5U) << error;
  EXPECT_EQ(sinks[0].kind, SinkKind::file);
  EXPECT_EQ(sinks[0].name, "file");
  EXPECT_EQ(sinks[0].target, "/var/lib/trafficd/clicks");
  EXPECT_EQ(sinks[0].number("rotate_seconds", 0, 1, 100), 60U);
  EXPECT_EQ(sinks[0].number("absent", 7, 1, 100), 7U);
  EXPECT_THROW((void)sinks[0].number("rotate_seconds", 0, 1, 59), std::invalid_argument);
  EXPECT_EQ(sinks[1].target, "relative/dir");
  EXPECT_EQ(sinks[1].name, "archive");
  EXPECT_EQ(sinks[2].kind, SinkKind::http);
  EXPECT_EQ(sinks[2].target, "https://collector.example:8443/ingest?x=1");  // the fragment is ours, not sent
  EXPECT_EQ(sinks[3].kind, SinkKind::aggregator);
  EXPECT_EQ(sinks[3].target, "https://aggregator.example/");
  EXPECT_EQ(sinks[4].kind, SinkKind::redis);
  EXPECT_EQ(sinks[4].path, "/clicks");
}

TEST(SinkUrls, MalformedOnesAreRefusedWithOneLineAndNoSecret) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"clicks", "not a URL"},
      {"ftp://host/x", "unknown kind"},
      {"file://", "no directory"},
      {"http:///path", "no host"},
      {"https://user:hunter2@/x", "no host"},
      {"redis://127.0.0.1:6379", "no stream key"},
      {"redis://:hunter2@127.0.0.1:6379/", "no stream key"},
      {"file:///a#name=Bad Name", "name must be"},
      {"file:///a#=x", "malformed options"},
  };
  for (const auto& [url, reason] : table) {
    std::string error;
    EXPECT_TRUE(parse({url}, error).empty()) << url;
    EXPECT_NE(error.find(reason), std::string::npos) << url << " → " << error;
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
  std::string error;
  EXPECT_TRUE(parse({"file:///a", "file:///b"}, error).empty());
  EXPECT_NE(error.find("second sink named 'file'"), std::string::npos) << error;
  EXPECT_EQ(parse({"file:///a", "file:///b#name=b"}, error).size(), 2U) << error;
}

// Record kinds (`#kinds=`): what each record is, each sink's default, and the filter.
TEST(SinkKinds, EachRecordIsAKind) {
  EXPECT_EQ(record_kind(R"({"lid":"l","event":"traffic-api"})"), RecordKind::click);
  EXPECT_EQ(record_kind(R"({"event":"traffic-manually"})"), RecordKind::click);  // a resend is its click again
  EXPECT_EQ(record_kind(R"({"event":"traffic-bonus"})"), RecordKind::conversion);
  EXPECT_EQ(record_kind(R"({"event":"traffic-event","event_type":"pageView"})"), RecordKind::event);
  EXPECT_EQ(record_kind(R"({"event":"other"})"), std::nullopt);
}

TEST(SinkKinds, TheOptionAndEachSinksDefault) {
  std::string error;
  const auto sinks = parse({"file:///a", "aggregator+http://agg.example/", "http://c.example/#kinds=event",
                            "redis://h/s#kinds=click,conversion"},
                           error);
  ASSERT_EQ(sinks.size(), 4U) << error;
  constexpr auto bit = [](RecordKind kind) { return static_cast<RecordKinds>(1U << static_cast<unsigned>(kind)); };
  EXPECT_EQ(record_kinds(sinks[0]).value(), kAllRecordKinds);
  // The old aggregator API knows clicks and conversions: site events would look like clicks.
  EXPECT_EQ(record_kinds(sinks[1]).value(), bit(RecordKind::click) | bit(RecordKind::conversion));
  EXPECT_EQ(record_kinds(sinks[2]).value(), bit(RecordKind::event));
  EXPECT_EQ(record_kinds(sinks[3]).value(), bit(RecordKind::click) | bit(RecordKind::conversion));
  for (const std::string url : {"file:///a#kinds=clicks", "file:///a#kinds=", "file:///a#kinds=click,,event"}) {
    EXPECT_TRUE(parse({url}, error).empty()) << url;
    EXPECT_NE(error.find("kinds"), std::string::npos) << error;
  }
}

TEST(SinkKinds, TheFilterPassesOnlyItsKinds) {
  test::MemorySink::Shared delivered;
  KindFilter filter(std::make_unique<test::MemorySink>(delivered),
                    static_cast<RecordKinds>(1U << static_cast<unsigned>(RecordKind::event)));
  const std::string click = R"({"event":"traffic-api"})"
                            "\n";
  const std::string event = R"({"event":"traffic-event"})"
                            "\n";
  const std::vector<std::string_view> batch = {click, event, click};
  ASSERT_TRUE(filter.deliver(batch));
  EXPECT_EQ(delivered.records, std::vector<std::string>{event});
  const std::vector<std::string_view> clicks_only = {click, click};
  ASSERT_TRUE(filter.deliver(clicks_only));  // taken, and nothing reaches the sink
  EXPECT_EQ(delivered.records.size(), 1U);
  delivered.fail_next = 1;
  const std::vector<std::string_view> one_event = {event};
  EXPECT_FALSE(filter.deliver(one_event));  // the wrapped sink's failure is the filter's
}

// Records that pass keep their origins in the spool, paired as before.
TEST(SinkKinds, TheFilterKeepsTheOriginsOfWhatPasses) {
  struct Origins final : Sink {
    std::vector<std::pair<std::string, std::uint64_t>> seen;
    Result<> deliver(std::span<const std::string_view>) override { return fail(Errc::io, "origins expected"); }
    Result<> deliver_with_origins(std::span<const std::string_view> records,
                                  std::span<const RecordOrigin> origins) override {
      for (std::size_t i = 0; i < records.size(); ++i) seen.emplace_back(records[i], origins[i].end.offset);
      return {};
    }
  };
  auto sink = std::make_unique<Origins>();
  Origins& origins = *sink;
  KindFilter filter(std::move(sink), static_cast<RecordKinds>(1U << static_cast<unsigned>(RecordKind::event)));
  const std::string click = R"({"event":"traffic-api"})";
  const std::string event = R"({"event":"traffic-event","n":1})";
  const std::vector<std::string_view> batch = {click, event, click, event};
  const std::vector<RecordOrigin> where = {{0, {1, 10}}, {0, {1, 20}}, {1, {1, 30}}, {1, {1, 40}}};
  ASSERT_TRUE(filter.deliver_with_origins(batch, where));
  EXPECT_EQ(origins.seen, (std::vector<std::pair<std::string, std::uint64_t>>{{event, 20}, {event, 40}}));
}

}  // namespace
}  // namespace traffic::pipeline
