#include "traffic/lid/lid_store.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

namespace traffic::lid {
namespace {

using std::chrono::seconds;

TEST(LidStore, KeepsRecordsUntilTheirTtl) {
  InMemoryLidStore store(10, seconds(60));
  store.put("a", "record a", 1000);
  EXPECT_EQ(store.get("a", 1000), "record a");
  EXPECT_EQ(store.get("a", 60'999), "record a");
  EXPECT_EQ(store.get("a", 61'000), std::nullopt);
  EXPECT_EQ(store.get("b", 1000), std::nullopt);
  store.put("c", "record c", 70'000);  // expired records leave as new ones arrive
  EXPECT_EQ(store.size(), 1U);
}

TEST(LidStore, TheOldestGoFirstPastTheBoundEvenWithLidsPutTwice) {
  InMemoryLidStore store(3, seconds(3600));
  for (int i = 0; i < 10; ++i) store.put("same", "v" + std::to_string(i), 1000);  // stale ring slots
  store.put("x", "x", 1000);
  store.put("y", "y", 1000);
  store.put("z", "z", 1000);
  EXPECT_EQ(store.size(), 3U);
  EXPECT_EQ(store.get("same", 1000), std::nullopt);
  EXPECT_EQ(store.get("x", 1000), "x");
  EXPECT_EQ(store.get("z", 1000), "z");
}

// Against a plain model: the newest `bound` distinct lids (by their last put) are kept.
TEST(LidStore, MatchesAModelUnderRandomPuts) {
  constexpr std::size_t kBound = 50;
  InMemoryLidStore store(kBound, seconds(3600));
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
  for (const auto& [lid, value] : model) EXPECT_EQ(store.get(lid, 1000), value.first) << lid;
}

TEST(LidStore, AConversionMarkIsTakenOnceUntilClearedOrExpired) {
  InMemoryLidStore store(10, seconds(60));
  EXPECT_TRUE(store.mark_converted("a", 1000));
  EXPECT_FALSE(store.mark_converted("a", 2000));
  store.clear_converted("a");
  EXPECT_TRUE(store.mark_converted("a", 3000));
  EXPECT_TRUE(store.mark_converted("a", 63'000));  // the mark expired with the TTL
}

TEST(LidStore, TheSinkStoresClicksOnly) {
  InMemoryLidStore store(10, seconds(60));
  LidStoreSink sink(store, [] { return TimestampMs{1000}; });
  const std::vector<std::string_view> records{R"({"lid":"a","event":"traffic-api","n":1})"
                                              "\n",
                                              R"({"lid":"b","event":"traffic-bonus"})"
                                              "\n",
                                              R"({"event":"traffic-api"})"
                                              "\n"};
  EXPECT_TRUE(sink.deliver(records));
  EXPECT_EQ(store.get("a", 1000), R"({"lid":"a","event":"traffic-api","n":1})");
  EXPECT_EQ(store.get("b", 1000), std::nullopt);
  EXPECT_EQ(store.size(), 1U);
}

}  // namespace
}  // namespace traffic::lid
