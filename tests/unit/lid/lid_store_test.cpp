#include "traffic/lid/lid_store.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

namespace traffic::lid {
namespace {

using std::chrono::seconds;
constexpr std::size_t kNoByteBound = SIZE_MAX;

TEST(LidStore, KeepsRecordsUntilTheirTtl) {
  InMemoryLidStore store(10, kNoByteBound, seconds(60));
  store.put("a", "record a", 1000);
  EXPECT_EQ(store.get("a", 1000).value(), "record a");
  EXPECT_EQ(store.get("a", 60'999).value(), "record a");
  EXPECT_EQ(store.get("a", 61'000).value(), std::nullopt);
  EXPECT_EQ(store.get("b", 1000).value(), std::nullopt);
  store.put("c", "record c", 70'000);  // expired records leave as new ones arrive
  EXPECT_EQ(store.size(), 1U);
}

TEST(LidStore, TheOldestGoFirstPastTheBoundEvenWithLidsPutTwice) {
  InMemoryLidStore store(3, kNoByteBound, seconds(3600));
  for (int i = 0; i < 10; ++i) store.put("same", "v" + std::to_string(i), 1000);  // stale ring slots
  store.put("x", "x", 1000);
  store.put("y", "y", 1000);
  store.put("z", "z", 1000);
  EXPECT_EQ(store.size(), 3U);
  EXPECT_EQ(store.get("same", 1000).value(), std::nullopt);
  EXPECT_EQ(store.get("x", 1000).value(), "x");
  EXPECT_EQ(store.get("z", 1000).value(), "z");
}

// Against a plain model: the newest `bound` distinct lids (by their last put) are kept.
TEST(LidStore, MatchesAModelUnderRandomPuts) {
  constexpr std::size_t kBound = 50;
  InMemoryLidStore store(kBound, kNoByteBound, seconds(3600));
  std::map<std::string, std::pair<std::string, int>> model;  // lid → (record, last put)
  std::mt19937 random(3);
  for (int op = 0; op < 20'000; ++op) {
    const std::string lid = "lid-" + std::to_string(random() % 120);
    const std::string record = "r" + std::to_string(op) + std::string(random() % 300, 'x');
    store.put(lid, record, 1000);
    model[lid] = {record, op};
    if (model.size() > kBound) {
      auto oldest = model.begin();
      for (auto it = model.begin(); it != model.end(); ++it) {
        if (it->second.second < oldest->second.second) oldest = it;
      }
      model.erase(oldest);
    }
    ASSERT_EQ(store.size(), model.size()) << op;
  }
  for (const auto& [lid, value] : model) EXPECT_EQ(store.get(lid, 1000).value(), value.first) << lid;
}

// Long records are bounded by bytes: the oldest go first, the bytes held never pass the
// bound, and the newest record is always kept.
TEST(LidStore, TheOldestGoFirstPastTheByteBound) {
  constexpr std::size_t kMaxBytes = 100'000;
  InMemoryLidStore store(1000, kMaxBytes, seconds(3600));
  std::mt19937 random(5);
  for (int i = 0; i < 2000; ++i) {
    const std::string lid = "lid-" + std::to_string(i);
    store.put(lid, std::string(1 + random() % 12'000, 'r'), 1000);
    ASSERT_LE(store.bytes(), kMaxBytes) << i;
    ASSERT_TRUE(store.get(lid, 1000).value().has_value()) << i;
  }
  EXPECT_EQ(store.get("lid-0", 1000).value(), std::nullopt);
  EXPECT_GT(store.size(), 8U);  // ~100 KB / ~6 KB each, give or take
  EXPECT_LT(store.size(), 100U);
}

// After a flood of long records, short ones do not keep the long ones' buffers: the bytes
// held fall back to what the short records need.
TEST(LidStore, ShortRecordsDoNotKeepTheBuffersOfLongOnes) {
  constexpr std::size_t kRecords = 100;
  InMemoryLidStore store(kRecords, 10'000'000, seconds(3600));
  for (int i = 0; i < 200; ++i) store.put("long-" + std::to_string(i), std::string(60'000, 'L'), 1000);
  EXPECT_GT(store.bytes(), kRecords * 60'000);
  for (int i = 0; i < 200; ++i) store.put("short-" + std::to_string(i), std::string(500, 's'), 1000);
  EXPECT_EQ(store.size(), kRecords);
  EXPECT_LT(store.bytes(), kRecords * (500 + 64 + InMemoryLidStore::kRecordOverheadBytes));
}

// A record put again under its lid is counted at its new size; a lone record over the bound
// is kept (the newest always is).
TEST(LidStore, AReplacedRecordIsCountedAtItsNewSize) {
  InMemoryLidStore store(10, 20'000, seconds(3600));
  store.put("a", std::string(5'000, 'a'), 1000);
  store.put("b", std::string(5'000, 'b'), 1000);
  store.put("a", std::string(30'000, 'A'), 1000);  // over the bound alone: "b" goes, "a" stays
  EXPECT_EQ(store.size(), 1U);
  EXPECT_EQ(store.get("b", 1000).value(), std::nullopt);
  EXPECT_EQ(store.get("a", 1000).value()->size(), 30'000U);
  store.put("a", "short", 1000);
  EXPECT_LT(store.bytes(), 1'000U);
}

TEST(LidStore, AConversionMarkIsTakenOnceUntilClearedOrExpired) {
  InMemoryLidStore store(10, kNoByteBound, seconds(60));
  EXPECT_TRUE(store.mark("a", LidMark::converted, 1000).value());
  EXPECT_FALSE(store.mark("a", LidMark::converted, 2000).value());
  store.clear_mark("a", LidMark::converted);
  EXPECT_TRUE(store.mark("a", LidMark::converted, 3000).value());
  EXPECT_TRUE(store.mark("a", LidMark::converted, 63'000).value());  // the mark expired with the TTL
}

}  // namespace
}  // namespace traffic::lid
