// The recipe mirrored in a real redis-server: one key per record, only changes written
// again, keys of records that are gone removed (never everything), and the recipe read
// back for a boot.

#include "traffic/source/redis_mirror.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::source {
namespace {

namespace json = boost::json;

std::string offers(std::initializer_list<std::pair<int, std::string_view>> records) {
  json::array array;
  for (const auto& [id, name] : records) array.push_back(json::object{{"offerId", id}, {"name", name}});
  return json::serialize(array);
}

const std::string kCampaigns = R"([{"campaignId": 10, "offerId": 1}, {"campaignId": "11", "offerId": 2}])";

RedisMirrorSettings settings_for(const test::RedisServer& redis, std::string prefix = {}) {
  RedisMirrorSettings settings;
  settings.endpoint = redis.endpoint();
  settings.key_prefix = std::move(prefix);
  return settings;
}

TEST(RedisMirror, WritesEachRecordAsCompactJsonUnderItsId) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis));
  // Whitespace goes, the producer's text stays (numbers as written, escapes, spaces in strings).
  const std::string pretty =
      "[ {\"offerId\" : 1,  \"name\" : \"one \\\" two\",\n \"payout\": 1.50} ,\n"
      " \"not a record\", {\"name\": \"no id\"} ]";
  ASSERT_EQ(test::failure_of(mirror.write(test::gzip(pretty), kCampaigns)), "");
  EXPECT_EQ(redis.command("GET offer:1"), R"({"offerId":1,"name":"one \" two","payout":1.50})");
  EXPECT_EQ(redis.command("GET campaign:10"), R"({"campaignId":10,"offerId":1})");
  EXPECT_EQ(redis.command("GET campaign:11"), R"({"campaignId":"11","offerId":2})");
  EXPECT_EQ(redis.command("DBSIZE"), "3");
  EXPECT_EQ(mirror.last_write().written, 3U);
}

TEST(RedisMirror, ALaterWriteSetsOnlyWhatChangedAndRemovesOnlyWhatIsGone) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis));
  ASSERT_EQ(test::failure_of(mirror.write(offers({{1, "one"}, {2, "two"}, {3, "three"}}), kCampaigns)), "");
  // Keys that only look alike belong to someone else.
  ASSERT_EQ(redis.command("SET offer:2:notes keep"), "OK");
  ASSERT_EQ(redis.command("SET offer:02 keep"), "OK");
  ASSERT_EQ(redis.command("SET cap:offer:3:clicks:day:2026-11-23 5"), "OK");
  ASSERT_EQ(redis.command("SET offers:9 keep"), "OK");

  ASSERT_EQ(test::failure_of(mirror.write(offers({{1, "one"}, {2, "TWO"}, {4, "four"}}), kCampaigns)), "");
  EXPECT_EQ(mirror.last_write().written, 2U);    // offer 2 changed, offer 4 new
  EXPECT_EQ(mirror.last_write().unchanged, 3U);  // offer 1 and both campaigns
  EXPECT_EQ(mirror.last_write().removed, 1U);    // offer 3
  EXPECT_EQ(redis.command("GET offer:2"), R"({"offerId":2,"name":"TWO"})");
  EXPECT_EQ(redis.command("GET offer:4"), R"({"offerId":4,"name":"four"})");
  EXPECT_EQ(redis.command("EXISTS offer:3"), "0");
  EXPECT_EQ(redis.command("GET offer:2:notes"), "keep");
  EXPECT_EQ(redis.command("GET offer:02"), "keep");
  EXPECT_EQ(redis.command("GET offers:9"), "keep");
  EXPECT_EQ(redis.command("GET cap:offer:3:clicks:day:2026-11-23"), "5");
}

TEST(RedisMirror, RecordsDeletedBehindItsBackAreWrittenAgain) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis));
  const std::string recipe = offers({{1, "one"}, {2, "two"}});
  ASSERT_EQ(test::failure_of(mirror.write(recipe, kCampaigns)), "");
  // Another instance still on an older recipe removed it.
  ASSERT_EQ(redis.command("DEL offer:2"), "1");
  ASSERT_EQ(test::failure_of(mirror.write(recipe, kCampaigns)), "");
  EXPECT_EQ(mirror.last_write().written, 1U);
  EXPECT_EQ(mirror.last_write().unchanged, 3U);
  EXPECT_EQ(redis.command("GET offer:2"), R"({"offerId":2,"name":"two"})");
}

TEST(RedisMirror, WritesInBatchesSmallerThanTheRecipe) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirrorSettings settings = settings_for(redis);
  settings.batch = 2;
  RedisMirror mirror(settings);
  json::array many;
  for (int id = 1; id <= 25; ++id) many.push_back(json::object{{"offerId", id}});
  ASSERT_EQ(test::failure_of(mirror.write(json::serialize(many), kCampaigns)), "");
  EXPECT_EQ(redis.command("DBSIZE"), "27");
  ASSERT_EQ(test::failure_of(mirror.write(offers({{7, "seven"}}), kCampaigns)), "");
  EXPECT_EQ(mirror.last_write().removed, 24U);
  EXPECT_EQ(redis.command("DBSIZE"), "3");
}

TEST(RedisMirror, KeysCarryThePrefixEvenOneWithPatternCharacters) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis, "net*[1]:"));
  ASSERT_EQ(redis.command("SET netX[1]:offer:5 other"), "OK");  // would match an unescaped pattern
  ASSERT_EQ(test::failure_of(mirror.write(offers({{1, "one"}}), kCampaigns)), "");
  ASSERT_EQ(test::failure_of(mirror.write(offers({{2, "two"}}), kCampaigns)), "");
  EXPECT_EQ(redis.command("EXISTS net*[1]:offer:1"), "0");
  EXPECT_EQ(redis.command("GET net*[1]:offer:2"), R"({"offerId":2,"name":"two"})");
  EXPECT_EQ(redis.command("GET netX[1]:offer:5"), "other");
}

TEST(RedisMirror, ReadsBackARecipeTheLoaderTakes) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror writer(settings_for(redis));
  ASSERT_EQ(test::failure_of(writer.write(test::read_data("recipes/offersRecipe.json.gz"),
                                          test::read_data("recipes/campaignsRecipe.json.gz"))),
            "");
  ASSERT_EQ(redis.command("SET offer:999999 not-json"), "OK");  // skipped, not fatal

  RedisMirror reader(settings_for(redis));
  const auto recipe = reader.read();
  ASSERT_TRUE(recipe) << recipe.error();
  recipe::LoadReport original_report;
  recipe::LoadReport offers_report;
  recipe::LoadReport campaigns_report;
  const auto original = recipe::load_offers(test::read_data("recipes/offersRecipe.json.gz"), original_report);
  const auto offers_back = recipe::load_offers(recipe->first, offers_report);
  const auto campaigns_back = recipe::load_campaigns(recipe->second, campaigns_report);
  ASSERT_TRUE(original && offers_back && campaigns_back);
  ASSERT_EQ(offers_back->size(), original->size());
  EXPECT_GT(campaigns_back->size(), 0U);
  std::map<recipe::RecordId, const recipe::Offer*> by_id;
  for (const auto& offer : *offers_back) by_id[offer.id] = &offer;
  for (const auto& offer : *original) {
    ASSERT_TRUE(by_id.contains(offer.id)) << offer.id;
    EXPECT_EQ(by_id[offer.id]->name, offer.name);
    EXPECT_EQ(by_id[offer.id]->payout, offer.payout);
  }
}

TEST(RedisMirror, AnEmptyMirrorIsNotARecipe) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis));
  const std::string error = test::failure_of(mirror.read());
  EXPECT_NE(error.find("no offers in the Redis mirror"), std::string::npos) << error;
}

TEST(RedisMirror, RedisDownIsAnErrorAndTheNextWriteSetsEverythingAgain) {
  test::TempDir dir("mirror");
  test::RedisServer redis(dir.path());
  RedisMirror mirror(settings_for(redis));
  const std::string recipe = offers({{1, "one"}, {2, "two"}});
  ASSERT_EQ(test::failure_of(mirror.write(recipe, kCampaigns)), "");
  redis.stop();
  const std::string error = test::failure_of(mirror.write(offers({{1, "one"}, {2, "two"}, {3, "three"}}), kCampaigns));
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(redis.port())), std::string::npos) << error;
  EXPECT_FALSE(test::failure_of(mirror.read()).empty());

  redis.start();  // with the data it saved on stop
  ASSERT_EQ(redis.command("FLUSHALL"), "OK");
  ASSERT_EQ(test::failure_of(mirror.write(recipe, kCampaigns)), "");
  EXPECT_EQ(mirror.last_write().written, 4U);
  EXPECT_EQ(redis.command("DBSIZE"), "4");
}

}  // namespace
}  // namespace traffic::source
