// Sink URLs: every kind with its options, and the one-line refusals.

#include <gtest/gtest.h>

#include "traffic/pipeline/sink.hpp"

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

}  // namespace
}  // namespace traffic::pipeline
