#include "traffic/recipe/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"

namespace traffic::recipe {
namespace {

Offer make_offer(RecordId id, std::string name = "o") {
  Offer o;
  o.id = id;
  o.name = std::move(name);
  return o;
}

Campaign make_campaign(RecordId id, RecordId offer_id) {
  Campaign c;
  c.id = id;
  c.offer_id = offer_id;
  return c;
}

RecordUpdate upsert_offer(RecordId id, std::string name, TimestampMs at) {
  RecordUpdate u;
  u.kind = RecordKind::offer;
  u.id = id;
  u.timestamp = at;
  u.offer = std::make_shared<const Offer>(make_offer(id, std::move(name)));
  return u;
}

RecordUpdate delete_record(RecordKind kind, RecordId id, TimestampMs at) {
  RecordUpdate u;
  u.kind = kind;
  u.id = id;
  u.action = UpdateAction::remove;
  u.timestamp = at;
  return u;
}

TEST(Snapshot, IndexesByIdAndCounts) {
  auto s = Snapshot::build({make_offer(1), make_offer(2)}, {make_campaign(10, 1)}, 5);
  EXPECT_EQ(s->version(), 5u);
  EXPECT_EQ(s->offer_count(), 2u);
  EXPECT_EQ(s->campaign_count(), 1u);
  ASSERT_NE(s->offer(2), nullptr);
  EXPECT_EQ(s->offer(2)->id, 2);
  EXPECT_EQ(s->offer(3), nullptr);
  EXPECT_EQ(s->campaign(10)->offer_id, 1);
  EXPECT_EQ(s->campaign(1), nullptr);
}

TEST(Snapshot, BuildKeepsTheLastOfDuplicateIds) {
  auto s = Snapshot::build({make_offer(1, "a"), make_offer(2), make_offer(1, "b")}, {});
  EXPECT_EQ(s->offer_count(), 2u);
  EXPECT_EQ(s->offer(1)->name, "b");
}

TEST(Store, StartsEmptyAndNotLoaded) {
  Store store;
  EXPECT_FALSE(store.loaded());
  EXPECT_EQ(store.version(), 0u);
  EXPECT_TRUE(store.current()->empty());
}

TEST(Store, UpdatesBeforeTheFirstRecipeDoNotMakeItLoaded) {
  Store store;
  ASSERT_EQ(store.apply(upsert_offer(1, "early", 100)), Store::ApplyOutcome::applied);
  EXPECT_FALSE(store.loaded());  // one record is not a recipe: not ready yet
  EXPECT_EQ(store.version(), 1u);
  std::vector<Offer> offers;
  offers.push_back(make_offer(2));
  ASSERT_TRUE(store.replace(std::move(offers), {}, FileTimes{50, 50}));
  EXPECT_TRUE(store.loaded());
  EXPECT_NE(store.current()->offer(1), nullptr);  // newer than the file: kept
}

TEST(Store, ReplaceInstallsANewVersion) {
  Store store;
  auto v1 = store.replace({make_offer(1)}, {make_campaign(10, 1)});
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(*v1, 1u);
  EXPECT_TRUE(store.loaded());
  auto old = store.current();
  auto v2 = store.replace({make_offer(2)}, {});
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(*v2, 2u);
  EXPECT_EQ(store.current()->version(), 2u);
  EXPECT_EQ(store.current()->offer(1), nullptr);
  // A reader that still holds the old snapshot keeps seeing it, whole.
  EXPECT_EQ(old->version(), 1u);
  ASSERT_NE(old->offer(1), nullptr);
}

TEST(Store, RefusesAnEmptyRecipeOverANonEmptyOne) {
  Store store;
  ASSERT_TRUE(store.replace({make_offer(1)}, {}).has_value());
  auto refused = store.replace({}, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), make_error_code(LoadError::empty_recipe));
  EXPECT_EQ(store.version(), 1u);
  EXPECT_NE(store.current()->offer(1), nullptr);
}

TEST(Store, ApplyIsCopyOnWrite) {
  Store store;
  ASSERT_TRUE(store.replace({make_offer(1, "old"), make_offer(2)}, {make_campaign(10, 1)}).has_value());
  auto before = store.current();
  EXPECT_EQ(store.apply(upsert_offer(1, "new", 100)), Store::ApplyOutcome::applied);
  EXPECT_EQ(store.apply(upsert_offer(3, "added", 100)), Store::ApplyOutcome::applied);
  EXPECT_EQ(store.apply(delete_record(RecordKind::campaign, 10, 100)), Store::ApplyOutcome::applied);
  auto after = store.current();
  EXPECT_EQ(after->version(), 4u);
  EXPECT_EQ(after->offer(1)->name, "new");
  EXPECT_EQ(after->offer(3)->name, "added");
  EXPECT_EQ(after->offer_count(), 3u);
  EXPECT_EQ(after->campaign(10), nullptr);
  EXPECT_EQ(after->campaign_count(), 0u);
  // The earlier version is untouched.
  EXPECT_EQ(before->offer(1)->name, "old");
  EXPECT_EQ(before->offer(3), nullptr);
  EXPECT_NE(before->campaign(10), nullptr);
  std::size_t visited = 0;
  after->for_each_offer([&](const Offer&) { ++visited; });
  EXPECT_EQ(visited, 3u);
}

TEST(Store, IgnoresOutOfOrderUpdates) {
  Store store;
  ASSERT_TRUE(store.replace({make_offer(1, "file")}, {}).has_value());
  EXPECT_EQ(store.apply(upsert_offer(1, "second", 200)), Store::ApplyOutcome::applied);
  EXPECT_EQ(store.apply(upsert_offer(1, "first", 100)), Store::ApplyOutcome::ignored_stale);
  EXPECT_EQ(store.current()->offer(1)->name, "second");
  EXPECT_EQ(store.apply(delete_record(RecordKind::offer, 1, 150)), Store::ApplyOutcome::ignored_stale);
  EXPECT_EQ(store.apply(delete_record(RecordKind::offer, 1, 300)), Store::ApplyOutcome::applied);
  EXPECT_EQ(store.apply(upsert_offer(1, "resurrected late", 250)), Store::ApplyOutcome::ignored_stale);
  EXPECT_EQ(store.current()->offer(1), nullptr);
}

TEST(Store, AFullReloadKeepsTheUpdatesNewerThanItsFiles) {
  Store store;
  ASSERT_TRUE(
      store.replace({make_offer(1, "file"), make_offer(2, "file"), make_offer(3, "file")}, {make_campaign(10, 1)})
          .has_value());
  ASSERT_EQ(store.apply(upsert_offer(1, "updated before the new file", 100)), Store::ApplyOutcome::applied);
  ASSERT_EQ(store.apply(upsert_offer(2, "updated after the new file", 300)), Store::ApplyOutcome::applied);
  ASSERT_EQ(store.apply(delete_record(RecordKind::offer, 3, 400)), Store::ApplyOutcome::applied);
  ASSERT_EQ(store.apply(delete_record(RecordKind::campaign, 10, 400)), Store::ApplyOutcome::applied);

  // The producer's next files were written at 200 (offers) and 500 (campaigns).
  ASSERT_TRUE(store
                  .replace({make_offer(1, "new file"), make_offer(2, "new file"), make_offer(3, "new file")},
                           {make_campaign(10, 1)}, {.offers = 200, .campaigns = 500})
                  .has_value());
  auto s = store.current();
  EXPECT_EQ(s->offer(1)->name, "new file");                    // the file has it already
  EXPECT_EQ(s->offer(2)->name, "updated after the new file");  // kept
  EXPECT_EQ(s->offer(3), nullptr);                             // the deletion too
  EXPECT_NE(s->campaign(10), nullptr);                         // its file is newer than the deletion
  EXPECT_EQ(store.apply(upsert_offer(2, "late", 250)), Store::ApplyOutcome::ignored_stale);

  // A reload without file times forgets them.
  ASSERT_TRUE(store.replace({make_offer(1, "plain"), make_offer(2, "plain")}, {}).has_value());
  EXPECT_EQ(store.current()->offer(2)->name, "plain");
}

TEST(Store, ManyUpdatesCompactIntoTheBaseAndStayCorrect) {
  std::vector<Offer> offers;
  for (RecordId id = 1; id <= 100; ++id) offers.push_back(make_offer(id));
  Store store;
  ASSERT_TRUE(store.replace(std::move(offers), {}).has_value());
  for (RecordId id = 1; id <= 6000; ++id) store.apply(upsert_offer(id, "u" + std::to_string(id), id));
  for (RecordId id = 1; id <= 50; ++id) store.apply(delete_record(RecordKind::offer, id, 10000));
  auto s = store.current();
  EXPECT_EQ(s->offer_count(), 5950u);
  EXPECT_EQ(s->offer(50), nullptr);
  EXPECT_EQ(s->offer(51)->name, "u51");
  EXPECT_EQ(s->offer(6000)->name, "u6000");
  // Deletion timestamps survive compaction, so a late upsert stays ignored.
  EXPECT_EQ(store.apply(upsert_offer(10, "late", 9000)), Store::ApplyOutcome::ignored_stale);
}

TEST(SnapshotCache, FollowsTheStore) {
  Store store;
  SnapshotCache cache(store);
  EXPECT_EQ(cache.get().version(), 0u);
  ASSERT_TRUE(store.replace({make_offer(1)}, {}).has_value());
  EXPECT_EQ(cache.get().version(), 1u);
  EXPECT_NE(cache.get().offer(1), nullptr);
  store.apply(upsert_offer(2, "x", 1));
  EXPECT_EQ(cache.get().version(), 2u);
  EXPECT_NE(cache.get().offer(2), nullptr);
}

// Readers on several threads while a writer swaps whole recipes and applies updates. Each
// snapshot is built so that offer 1's name equals its campaign count; a torn or half-built
// snapshot would break that invariant. Run under ThreadSanitizer by the tsan preset.
TEST(Store, ConcurrentReadersNeverSeeAHalfBuiltRecipe) {
  Store store;
  auto build = [](int n) {
    std::vector<Campaign> campaigns;
    for (int i = 1; i <= n; ++i) campaigns.push_back(make_campaign(i, 1));
    return std::make_pair(std::vector<Offer>{make_offer(1, std::to_string(n))}, std::move(campaigns));
  };
  {
    auto [o, c] = build(1);
    ASSERT_TRUE(store.replace(std::move(o), std::move(c)).has_value());
  }
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reads{0};
  std::atomic<std::size_t> violations{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      SnapshotCache cache(store);
      std::uint64_t last_version = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const Snapshot& s = cache.get();
        const Offer* offer = s.offer(1);
        if (!offer || std::to_string(s.campaign_count()) != offer->name || s.version() < last_version) ++violations;
        last_version = s.version();
        reads.fetch_add(1, std::memory_order_relaxed);
        auto shared = store.current();
        if (shared->offer(1) == nullptr) ++violations;
      }
    });
  }
  for (int round = 2; round <= 60; ++round) {
    auto [o, c] = build(round);
    ASSERT_TRUE(store.replace(std::move(o), std::move(c)).has_value());
    // An update keeping the invariant: rename offer 1 and add a campaign in two versions
    // would break it, so updates here touch other records only.
    RecordUpdate u = upsert_offer(2, "other", round);
    store.apply(u);
  }
  // Let every reader observe the final version before stopping (an event, not a sleep).
  while (reads.load() < 1000) std::this_thread::yield();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_EQ(store.current()->campaign_count(), 60u);
}

}  // namespace
}  // namespace traffic::recipe
