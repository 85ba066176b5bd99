// RecipeSync against the S3 fake and real files: installs only complete, valid recipes,
// renames downloads into place, refuses broken ones with the old recipe still serving,
// backs off during outages and boots from the last files or the mirror.

#include "traffic/source/recipe_sync.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "s3_fake.hpp"
#include "test_support.hpp"
#include "traffic/common/file.hpp"
#include "traffic/testing/fake_clock.hpp"

namespace traffic::source {
namespace {

namespace json = boost::json;

const sigv4::Credentials kCredentials{"AKIDTEST", "test-secret", ""};
constexpr std::time_t kModified = 1'795'000'000;

std::string offers_file() {
  return test::read_data("recipes/offersRecipe.json.gz");
}
std::string campaigns_file() {
  return test::read_data("recipes/campaignsRecipe.json.gz");
}

// The sample offers without the offer `id` (gzip'ed).
std::string offers_without(std::int64_t id) {
  const json::array all = json::parse(test::gunzip_file(test::data_path("recipes/offersRecipe.json.gz"))).as_array();
  json::array offers;
  for (const json::value& offer : all) {
    if (offer.at("offerId").to_number<std::int64_t>() != id) offers.push_back(offer);
  }
  return test::gzip(json::serialize(offers));
}

struct Fixture {
  test::TempDir dir{"recipe-sync"};
  test::S3Fake s3{kCredentials};
  test::FakeClock clock{1'795'000'100'000};
  recipe::Store store;

  Fixture() {
    s3.put("recipes", "offers.json.gz", offers_file(), kModified);
    s3.put("recipes", "campaigns.json.gz", campaigns_file(), kModified);
  }
  std::unique_ptr<ObjectSource> source(const std::string& key) {
    S3Settings s;
    s.bucket = "recipes";
    s.key = key;
    s.endpoint = s3.endpoint();
    s.path_style = true;
    s.credentials = kCredentials;
    s.timeout = std::chrono::seconds(5);
    return s3_source(s, clock);
  }
  std::filesystem::path offers_path() const { return dir.path() / "offersRecipe.json.gz"; }
  std::filesystem::path campaigns_path() const { return dir.path() / "campaignsRecipe.json.gz"; }
  std::unique_ptr<RecipeSync> sync(RecipeMirror* mirror = nullptr) {
    return std::make_unique<RecipeSync>(store, clock, RecipeFile{offers_path(), source("offers.json.gz")},
                                        RecipeFile{campaigns_path(), source("campaigns.json.gz")}, RecipeSyncSettings{},
                                        mirror);
  }
};

class MemoryMirror final : public RecipeMirror {
 public:
  Result<> write(std::string_view offers, std::string_view campaigns) override {
    offers_ = offers;  // the loader takes gzip as well as plain JSON
    campaigns_ = campaigns;
    ++writes;
    return {};
  }
  Result<std::pair<std::string, std::string>> read() override {
    if (offers_.empty()) return Failure(Errc::invalid_input, "empty");
    return std::pair(offers_, campaigns_);
  }
  int writes = 0;

 private:
  std::string offers_;
  std::string campaigns_;
};

TEST(RecipeSync, InstallsFromS3RenamesIntoPlaceAndThenAsksConditionally) {
  Fixture f;
  MemoryMirror mirror;
  const auto owned = f.sync(&mirror);
  RecipeSync& sync = *owned;
  EXPECT_EQ(sync.describe(), "s3://recipes/offers.json.gz, s3://recipes/campaigns.json.gz");
  const auto first = sync.boot();
  ASSERT_EQ(first.outcome, RecipeSync::Outcome::installed) << first.message;
  EXPECT_EQ(first.version, 1U);
  EXPECT_EQ(read_file(f.offers_path()), offers_file());
  EXPECT_EQ(read_file(f.campaigns_path()), campaigns_file());
  EXPECT_FALSE(std::filesystem::exists(f.offers_path().string() + ".download"));
  EXPECT_EQ(mirror.writes, 1);
  EXPECT_EQ(sync.stats().last_modified, kModified * 1000);
  const std::size_t offers = f.store.current()->offer_count();
  ASSERT_GT(offers, 1U);

  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::unchanged);
  EXPECT_EQ(f.s3.counts().not_modified, 2);
  EXPECT_EQ(f.store.version(), 1U);

  f.s3.put("recipes", "offers.json.gz", offers_without(117), kModified + 60);
  const auto second = sync.poll();
  ASSERT_EQ(second.outcome, RecipeSync::Outcome::installed) << second.message;
  EXPECT_EQ(f.store.current()->offer_count(), offers - 1);
  EXPECT_EQ(f.store.current()->offer(117), nullptr);
  EXPECT_EQ(read_file(f.offers_path()), offers_without(117));
  EXPECT_EQ(mirror.writes, 2);
  EXPECT_EQ(f.s3.counts().refused, 0);
}

TEST(RecipeSync, ABrokenDownloadIsRefusedOnceAndTheOldRecipeKeepsServing) {
  Fixture f;
  const auto owned = f.sync();
  RecipeSync& sync = *owned;
  ASSERT_EQ(sync.boot().outcome, RecipeSync::Outcome::installed);
  const std::string good = read_file(f.offers_path());
  for (const std::string& broken :
       {offers_file().substr(0, offers_file().size() / 2), test::gzip("[{\"offerId\": 1,"), test::gzip("[]")}) {
    f.s3.put("recipes", "offers.json.gz", broken, kModified + 60);
    const auto round = sync.poll();
    EXPECT_EQ(round.outcome, RecipeSync::Outcome::refused) << round.message;
    EXPECT_EQ(f.store.version(), 1U);
    EXPECT_EQ(read_file(f.offers_path()), good);  // the path keeps the last good file
    EXPECT_FALSE(std::filesystem::exists(f.offers_path().string() + ".download"));
    // Not fetched and parsed again while it stays the same.
    const int fetched = f.s3.counts().fetched;
    EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::unchanged);
    EXPECT_EQ(f.s3.counts().fetched, fetched);
  }
  EXPECT_EQ(sync.stats().refused, 3U);
  // A truncated transfer is a failed round, not a refused recipe.
  f.s3.put("recipes", "offers.json.gz", offers_without(117), kModified + 120);
  f.s3.truncate_downloads(true);
  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::failed);
  f.s3.truncate_downloads(false);
  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::installed);
}

TEST(RecipeSync, AnOutageBacksOffAndRecovers) {
  Fixture f;
  RecipeSyncSettings settings;
  settings.interval = std::chrono::seconds(20);
  settings.max_backoff = std::chrono::seconds(300);
  RecipeSync sync(f.store, f.clock, {f.offers_path(), f.source("offers.json.gz")},
                  {f.campaigns_path(), f.source("campaigns.json.gz")}, settings);
  ASSERT_EQ(sync.boot().outcome, RecipeSync::Outcome::installed);
  for (int i = 0; i < 100; ++i) {
    const auto delay = sync.next_delay();
    EXPECT_GE(delay, std::chrono::milliseconds(18'000));
    EXPECT_LE(delay, std::chrono::milliseconds(22'000));
  }
  f.s3.stop();
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::failed);
    delays.push_back(sync.next_delay());
  }
  EXPECT_GE(delays[1], std::chrono::milliseconds(36'000));   // 40 s ± 10%
  EXPECT_GE(delays[2], std::chrono::milliseconds(72'000));   // 80 s
  EXPECT_LE(delays[5], std::chrono::milliseconds(330'000));  // capped at 300 s
  EXPECT_EQ(sync.stats().consecutive_failures, 6U);
  EXPECT_FALSE(sync.stats().last_failure.empty());
  EXPECT_EQ(f.store.version(), 1U);  // still serving

  f.s3.start();
  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::unchanged);
  EXPECT_EQ(sync.stats().consecutive_failures, 0U);
  EXPECT_EQ(sync.stats().failures, 6U);
}

TEST(RecipeSync, BootsFromTheLastDownloadedFilesThenFromTheMirror) {
  MemoryMirror mirror;
  {
    Fixture f;
    const auto first = f.sync(&mirror);
    ASSERT_EQ(first->boot().outcome, RecipeSync::Outcome::installed);

    // Restarted with S3 down: the files at the recipe paths.
    recipe::Store restarted;
    f.s3.stop();
    RecipeSync second(restarted, f.clock, {f.offers_path(), f.source("offers.json.gz")},
                      {f.campaigns_path(), f.source("campaigns.json.gz")}, {}, &mirror);
    const auto round = second.boot();
    EXPECT_EQ(round.outcome, RecipeSync::Outcome::installed) << round.message;
    EXPECT_NE(round.message.find("the last downloaded files"), std::string::npos) << round.message;
    EXPECT_EQ(restarted.current()->offer_count(), f.store.current()->offer_count());
  }
  // A new machine (no files) with S3 down: the mirror.
  Fixture fresh;
  fresh.s3.stop();
  const auto owned = fresh.sync(&mirror);
  RecipeSync& sync = *owned;
  const auto round = sync.boot();
  ASSERT_EQ(round.outcome, RecipeSync::Outcome::installed) << round.message;
  EXPECT_NE(round.message.find("the Redis mirror"), std::string::npos) << round.message;
  EXPECT_GT(fresh.store.current()->offer_count(), 1U);
  // Nothing anywhere: not ready, and says why.
  Fixture nothing;
  nothing.s3.stop();
  const auto none = nothing.sync()->boot();
  EXPECT_EQ(none.outcome, RecipeSync::Outcome::failed);
  EXPECT_FALSE(nothing.store.loaded());
}

TEST(RecipeSync, LocalFilesAreWatchedInPlace) {
  test::TempDir dir("recipe-sync-local");
  const auto offers = dir.path() / "offers.json.gz";
  const auto campaigns = dir.path() / "campaigns.json.gz";
  std::ofstream(offers) << offers_file();
  std::ofstream(campaigns) << campaigns_file();
  test::FakeClock clock(1'795'000'000'000);
  recipe::Store store;
  RecipeSync sync(store, clock, {offers, nullptr}, {campaigns, nullptr}, {});
  ASSERT_EQ(sync.boot().outcome, RecipeSync::Outcome::installed);
  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::unchanged);
  EXPECT_EQ(sync.poll(true).outcome, RecipeSync::Outcome::installed);  // forced
  const auto replacement = dir.path() / "next";
  std::ofstream(replacement) << offers_without(117);
  std::filesystem::rename(replacement, offers);
  EXPECT_EQ(sync.poll().outcome, RecipeSync::Outcome::installed);
  EXPECT_EQ(store.current()->offer(117), nullptr);
  EXPECT_TRUE(std::filesystem::exists(offers));  // in place: never renamed away
}

TEST(RecipeSync, UpdatesNewerThanTheDownloadedFileSurviveIt) {
  Fixture f;
  const auto owned = f.sync();
  RecipeSync& sync = *owned;
  ASSERT_EQ(sync.boot().outcome, RecipeSync::Outcome::installed);
  recipe::LoadReport report;
  const auto update = recipe::parse_update(R"({"type":"offer","id":117,"action":"delete","body":"","timestamp":)" +
                                               std::to_string((kModified + 100) * 1000) + "}",
                                           report);
  ASSERT_TRUE(update) << report.error_detail;
  ASSERT_EQ(f.store.apply(*update), recipe::Store::ApplyOutcome::applied);
  // A new file written before the update: the deletion stays.
  f.s3.put("recipes", "campaigns.json.gz", campaigns_file() + "", kModified + 50);
  f.s3.put("recipes", "offers.json.gz", offers_without(999'999), kModified + 50);
  ASSERT_EQ(sync.poll().outcome, RecipeSync::Outcome::installed);
  EXPECT_EQ(f.store.current()->offer(117), nullptr);
  // One written after it: the file wins.
  f.s3.put("recipes", "offers.json.gz", offers_file(), kModified + 200);
  ASSERT_EQ(sync.poll().outcome, RecipeSync::Outcome::installed);
  EXPECT_NE(f.store.current()->offer(117), nullptr);
}

}  // namespace
}  // namespace traffic::source
