// Live record updates from a real redis-server's pub/sub channel: applied to the Store as
// they arrive, stale and invalid messages counted, and the subscription survives Redis
// going away and coming back.

#include "traffic/source/record_updates.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <mutex>
#include <vector>

#include "redis_server.hpp"
#include "test_support.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/testing/fake_clock.hpp"

namespace traffic::source {
namespace {

constexpr std::string_view kChannel = "recipe:updates";

std::string update(int id, std::string_view name, long long timestamp) {
  return R"({"type":"offer","id":)" + std::to_string(id) + R"(,"action":"updateOrCreate","body":"{\"offerId\":)" +
         std::to_string(id) + R"(,\"name\":\")" + std::string(name) + R"(\"}","timestamp":)" +
         std::to_string(timestamp) + "}";
}

// Publishes `message`; the number of subscribers that got it.
long long publish(const test::RedisServer& redis, std::string_view message, std::string_view channel = kChannel) {
  auto c = redis.connect();
  auto* reply = static_cast<redisReply*>(
      redisCommand(c.get(), "PUBLISH %b %b", channel.data(), channel.size(), message.data(), message.size()));
  const long long receivers = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
  if (reply) freeReplyObject(reply);
  return receivers;
}

std::string offer_name(const recipe::Store& store, recipe::RecordId id) {
  const recipe::Offer* offer = store.current()->offer(id);
  return offer ? offer->name : "<none>";
}

// What the feed reported, for assertions.
class Events {
 public:
  RecordUpdates::Report report() {
    return [this](RecordUpdates::Event event, std::string_view detail) {
      std::lock_guard lock(mutex_);
      events_.emplace_back(event, std::string(detail));
    };
  }
  std::size_t count(RecordUpdates::Event event) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(), [&](const auto& e) { return e.first == event; }));
  }
  std::string last(RecordUpdates::Event event) const {
    std::lock_guard lock(mutex_);
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->first == event) return it->second;
    }
    return {};
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<RecordUpdates::Event, std::string>> events_;
};

struct Fixture {
  test::TempDir dir{"record-updates"};
  test::RedisServer redis{dir.path()};
  test::FakeClock clock{1'795'000'000'000};
  recipe::Store store;
  Events events;

  std::unique_ptr<RecordUpdates> feed(std::string channel = std::string(kChannel)) {
    RecordUpdateSettings settings;
    settings.endpoint = redis.endpoint();
    settings.channel = std::move(channel);
    settings.max_backoff = std::chrono::milliseconds(1'000);
    return std::make_unique<RecordUpdates>(store, clock, settings, events.report());
  }
  // Waits for the feed to hold its subscription (PUBLISH then reaches it).
  bool subscribed(const RecordUpdates& f, std::uint64_t subscriptions = 1) {
    return test::eventually([&] { return f.stats().subscribed && f.stats().subscriptions >= subscriptions; });
  }
};

TEST(RecordUpdates, AMessageOnTheChannelBecomesANewRecipeVersion) {
  Fixture f;
  auto feed = f.feed();
  feed->start();
  ASSERT_TRUE(f.subscribed(*feed));
  EXPECT_EQ(f.events.last(RecordUpdates::Event::subscribed), kChannel);
  const std::uint64_t before = f.store.version();

  ASSERT_EQ(publish(f.redis, update(7, "seven", 1'000)), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().applied == 1; }));
  EXPECT_EQ(offer_name(f.store, 7), "seven");
  EXPECT_EQ(f.store.version(), before + 1);
  EXPECT_EQ(feed->stats().received, 1U);
  EXPECT_EQ(feed->stats().last_message, f.clock.now());

  // A delete, by the same channel.
  ASSERT_EQ(publish(f.redis, R"({"type":"offer","id":7,"action":"delete","body":"","timestamp":2000})"), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().applied == 2; }));
  EXPECT_EQ(offer_name(f.store, 7), "<none>");
}

TEST(RecordUpdates, AnUpdateOlderThanTheRecordsLastOneIsIgnored) {
  Fixture f;
  auto feed = f.feed();
  feed->start();
  ASSERT_TRUE(f.subscribed(*feed));
  ASSERT_EQ(publish(f.redis, update(7, "newer", 2'000)), 1);
  ASSERT_EQ(publish(f.redis, update(7, "older", 1'000)), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().received == 2; }));
  EXPECT_EQ(feed->stats().applied, 1U);
  EXPECT_EQ(feed->stats().stale, 1U);
  EXPECT_EQ(offer_name(f.store, 7), "newer");
}

TEST(RecordUpdates, InvalidMessagesAreCountedAndReportedAndTheFeedGoesOn) {
  Fixture f;
  auto feed = f.feed();
  feed->start();
  ASSERT_TRUE(f.subscribed(*feed));
  for (std::string_view hostile :
       {std::string_view("not json"), std::string_view(R"({"type":"user","id":1})"),
        std::string_view(R"({"type":"offer","id":-4,"action":"delete"})"), std::string_view("")}) {
    ASSERT_EQ(publish(f.redis, hostile), 1);
  }
  ASSERT_EQ(publish(f.redis, update(8, "after the garbage", 1'000)), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().received == 5; }));
  EXPECT_EQ(feed->stats().invalid, 4U);
  EXPECT_EQ(feed->stats().applied, 1U);
  EXPECT_EQ(f.events.count(RecordUpdates::Event::invalid_message), 4U);
  EXPECT_EQ(f.events.last(RecordUpdates::Event::invalid_message), "update is not a JSON object");
  EXPECT_EQ(offer_name(f.store, 8), "after the garbage");
}

TEST(RecordUpdates, OnlyItsChannelIsHeard) {
  Fixture f;
  auto feed = f.feed("network-a:updates");
  feed->start();
  ASSERT_TRUE(f.subscribed(*feed));
  EXPECT_EQ(publish(f.redis, update(7, "elsewhere", 1'000), "network-b:updates"), 0);
  ASSERT_EQ(publish(f.redis, update(8, "here", 1'000), "network-a:updates"), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().received == 1; }));
  EXPECT_EQ(offer_name(f.store, 7), "<none>");
  EXPECT_EQ(offer_name(f.store, 8), "here");
}

TEST(RecordUpdates, RedisGoingAwayIsReportedOnceAndTheFeedSubscribesAgainWhenItIsBack) {
  Fixture f;
  auto feed = f.feed();
  feed->start();
  ASSERT_TRUE(f.subscribed(*feed));
  f.redis.stop();
  ASSERT_TRUE(test::eventually([&] { return !feed->stats().subscribed; }));
  EXPECT_FALSE(feed->stats().last_failure.empty());
  f.redis.start();
  ASSERT_TRUE(f.subscribed(*feed, 2));
  EXPECT_EQ(f.events.count(RecordUpdates::Event::connection_lost), 1U);
  EXPECT_EQ(f.events.count(RecordUpdates::Event::subscribed), 2U);
  EXPECT_EQ(feed->stats().last_failure, "");

  ASSERT_EQ(publish(f.redis, update(9, "after the outage", 1'000)), 1);
  ASSERT_TRUE(test::eventually([&] { return feed->stats().applied == 1; }));
  EXPECT_EQ(offer_name(f.store, 9), "after the outage");
}

TEST(RecordUpdates, StopsWhileRedisIsUnreachable) {
  Fixture f;
  f.redis.stop();
  auto feed = f.feed();
  feed->start();
  ASSERT_TRUE(test::eventually([&] { return f.events.count(RecordUpdates::Event::connection_lost) == 1; }));
  EXPECT_FALSE(feed->stats().subscribed);
  EXPECT_NE(feed->stats().last_failure, "");
  feed->stop();  // returns: the thread was waiting out its backoff
  EXPECT_EQ(feed->stats().subscriptions, 0U);
}

TEST(RecordUpdates, HandleIsTheSameWithoutTheChannel) {
  Fixture f;
  auto feed = f.feed();  // not started: no Redis needed
  feed->handle(update(3, "direct", 5));
  feed->handle(update(3, "stale", 4));
  EXPECT_EQ(offer_name(f.store, 3), "direct");
  EXPECT_EQ(feed->stats().applied, 1U);
  EXPECT_EQ(feed->stats().stale, 1U);
}

}  // namespace
}  // namespace traffic::source
