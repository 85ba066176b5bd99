// Recipe sources against real HTTP over sockets: the S3 fake (which checks every SigV4
// signature), a plain HTTP server, local files.

#include "traffic/source/object_source.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>

#include "http_server.hpp"
#include "s3_fake.hpp"
#include "test_support.hpp"
#include "traffic/common/file.hpp"

namespace traffic::source {
namespace {

const sigv4::Credentials kCredentials{"AKIDTEST", "test/secret+key", ""};
constexpr std::time_t kModified = 1'795'000'000;

S3Settings settings_for(const test::S3Fake& s3, std::string key = "recipes/offersRecipe.json.gz") {
  S3Settings s;
  s.bucket = "network-recipes";
  s.key = std::move(key);
  s.endpoint = s3.endpoint();
  s.path_style = true;
  s.credentials = kCredentials;
  s.timeout = std::chrono::seconds(5);
  return s;
}

TEST(S3Source, FetchesWhenChangedAndAsksConditionallyOtherwise) {
  test::TempDir dir("s3-source");
  test::S3Fake s3(kCredentials);
  s3.put("network-recipes", "recipes/offersRecipe.json.gz", "first bytes", kModified);
  SystemClock clock;
  auto source = s3_source(settings_for(s3), clock);
  EXPECT_EQ(source->describe(), "s3://network-recipes/recipes/offersRecipe.json.gz");
  const auto to = dir.path() / "download";

  const Fetch first = source->fetch({}, to);
  ASSERT_EQ(first.outcome, Fetch::Outcome::fetched) << first.error;
  EXPECT_EQ(read_file(to), "first bytes");
  EXPECT_EQ(first.bytes, 11U);
  EXPECT_EQ(first.modified_at, kModified * 1000);
  EXPECT_FALSE(first.version.etag.empty());

  const Fetch again = source->fetch(first.version, to);
  EXPECT_EQ(again.outcome, Fetch::Outcome::unchanged) << again.error;
  EXPECT_EQ(again.version, first.version);
  EXPECT_EQ(s3.counts().not_modified, 1);

  s3.put("network-recipes", "recipes/offersRecipe.json.gz", "second bytes", kModified + 60);
  const Fetch changed = source->fetch(first.version, to);
  ASSERT_EQ(changed.outcome, Fetch::Outcome::fetched) << changed.error;
  EXPECT_EQ(read_file(to), "second bytes");
  EXPECT_NE(changed.version.etag, first.version.etag);
  EXPECT_EQ(s3.counts().refused, 0);
}

TEST(S3Source, AWrongSecretIsRefusedAndTheErrorNamesNoSecret) {
  test::TempDir dir("s3-source");
  test::S3Fake s3(kCredentials);
  s3.put("network-recipes", "recipes/offersRecipe.json.gz", "bytes", kModified);
  SystemClock clock;
  S3Settings settings = settings_for(s3);
  settings.credentials.secret_access_key = "not-the-secret";
  const Fetch fetch = s3_source(settings, clock)->fetch({}, dir.path() / "download");
  EXPECT_EQ(fetch.outcome, Fetch::Outcome::failed);
  EXPECT_EQ(fetch.error, "s3://network-recipes/recipes/offersRecipe.json.gz: HTTP 403");
  EXPECT_EQ(s3.counts().refused, 1);
}

TEST(S3Source, SessionTokensAndAwkwardKeysAreSigned) {
  test::TempDir dir("s3-source");
  const sigv4::Credentials temporary{"ASIATEMP", "temp-secret", "session//token+="};
  test::S3Fake s3(temporary, "eu-west-1");
  const std::string key = "recipes/2026 11/offers+ሴ.json.gz";
  s3.put("network-recipes", key, "bytes", kModified);
  SystemClock clock;
  S3Settings settings = settings_for(s3, "/" + key);
  settings.credentials = temporary;
  settings.region = "eu-west-1";
  const Fetch fetch = s3_source(settings, clock)->fetch({}, dir.path() / "download");
  ASSERT_EQ(fetch.outcome, Fetch::Outcome::fetched) << fetch.error;
  EXPECT_EQ(s3.counts().refused, 0);
}

TEST(S3Source, UrlsForAwsVirtualHostsAndPathStyle) {
  S3Settings s;
  s.bucket = "recipes";
  s.key = "a b/offers.json.gz";
  s.region = "eu-central-1";
  EXPECT_EQ(s3_url(s), "https://recipes.s3.eu-central-1.amazonaws.com/a%20b/offers.json.gz");
  s.endpoint = "http://minio.internal:9000/";
  EXPECT_EQ(s3_url(s), "http://recipes.minio.internal:9000/a%20b/offers.json.gz");
  s.path_style = true;
  EXPECT_EQ(s3_url(s), "http://minio.internal:9000/recipes/a%20b/offers.json.gz");
}

TEST(S3Source, OutagesTruncationAndOversizeFail) {
  test::TempDir dir("s3-source");
  test::S3Fake s3(kCredentials);
  s3.put("network-recipes", "recipes/offersRecipe.json.gz", std::string(10'000, 'x'), kModified);
  SystemClock clock;
  S3Settings settings = settings_for(s3);
  const auto to = dir.path() / "download";

  s3.truncate_downloads(true);
  Fetch fetch = s3_source(settings, clock)->fetch({}, to);
  EXPECT_EQ(fetch.outcome, Fetch::Outcome::failed);
  EXPECT_FALSE(fetch.error.empty());
  s3.truncate_downloads(false);

  settings.max_bytes = 1'000;
  fetch = s3_source(settings, clock)->fetch({}, to);
  EXPECT_EQ(fetch.outcome, Fetch::Outcome::failed);
  EXPECT_NE(fetch.error.find("larger than 1000 bytes"), std::string::npos) << fetch.error;

  settings.max_bytes = 1 << 20;
  auto source = s3_source(settings, clock);
  s3.stop();
  fetch = source->fetch({}, to);
  EXPECT_EQ(fetch.outcome, Fetch::Outcome::failed);
  s3.start();
  fetch = source->fetch({}, to);
  EXPECT_EQ(fetch.outcome, Fetch::Outcome::fetched) << fetch.error;
  EXPECT_EQ(read_file(to).size(), 10'000U);

  EXPECT_EQ(s3_source(settings_for(s3, "missing"), clock)->fetch({}, to).error,
            "s3://network-recipes/missing: HTTP 404");
}

TEST(HttpSource, ConditionalGetsTimeoutsAndNoCredentialsInLogs) {
  test::TempDir dir("http-source");
  std::mutex mutex;
  std::condition_variable released;
  bool hang = false;
  std::string last_if_modified_since;
  test::HttpServer server([&](const test::HttpServer::Request& request) -> test::HttpServer::Response {
    std::unique_lock lock(mutex);
    if (hang) released.wait_for(lock, std::chrono::seconds(10), [&] { return !hang; });
    last_if_modified_since = request.header("if-modified-since");
    if (request.header("if-none-match") == "\"v1\"") return {304, {}, ""};
    return {200, {{"ETag", "\"v1\""}, {"Last-Modified", "Tue, 15 Nov 1994 08:12:31 GMT"}}, "recipe"};
  });
  const std::string url = "http://user:pa55word@127.0.0.1:" + std::to_string(server.port()) + "/recipes/offers.gz";
  auto source = http_source({url, std::chrono::milliseconds(300)});
  EXPECT_EQ(source->describe(), "http://***@127.0.0.1:" + std::to_string(server.port()) + "/recipes/offers.gz");
  const auto to = dir.path() / "download";
  const Fetch first = source->fetch({}, to);
  ASSERT_EQ(first.outcome, Fetch::Outcome::fetched) << first.error;
  EXPECT_EQ(first.modified_at, 784'887'151'000);
  EXPECT_EQ(first.version.last_modified, "Tue, 15 Nov 1994 08:12:31 GMT");
  EXPECT_EQ(source->fetch(first.version, to).outcome, Fetch::Outcome::unchanged);
  EXPECT_EQ(last_if_modified_since, "Tue, 15 Nov 1994 08:12:31 GMT");

  {
    std::lock_guard lock(mutex);
    hang = true;
  }
  const Fetch timed_out = source->fetch({}, to);
  EXPECT_EQ(timed_out.outcome, Fetch::Outcome::failed);
  EXPECT_EQ(timed_out.error.find("pa55word"), std::string::npos);
  {
    std::lock_guard lock(mutex);
    hang = false;
  }
  released.notify_all();
}

TEST(FileSource, CopiesWhenTheFileIsReplaced) {
  test::TempDir dir("file-source");
  const auto origin = dir.path() / "origin.json.gz";
  const auto to = dir.path() / "copy";
  auto source = file_source(origin);
  EXPECT_EQ(source->fetch({}, to).outcome, Fetch::Outcome::failed);
  std::ofstream(origin) << "one";
  const Fetch first = source->fetch({}, to);
  ASSERT_EQ(first.outcome, Fetch::Outcome::fetched) << first.error;
  EXPECT_EQ(read_file(to), "one");
  EXPECT_EQ(source->fetch(first.version, to).outcome, Fetch::Outcome::unchanged);
  const auto replacement = dir.path() / "replacement";
  std::ofstream(replacement) << "two!";
  std::filesystem::rename(replacement, origin);
  const Fetch second = source->fetch(first.version, to);
  ASSERT_EQ(second.outcome, Fetch::Outcome::fetched);
  EXPECT_EQ(read_file(to), "two!");
}

}  // namespace
}  // namespace traffic::source
