// redis::Subscriber against a real redis-server: messages arrive, wake() cuts a wait short,
// an outage is a Failure naming the endpoint, and the next receive() subscribes again.

#include "traffic/redis/subscriber.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::redis {
namespace {

using std::chrono::milliseconds;

// Publishes until a subscriber got it (a SUBSCRIBE racing the first PUBLISH is not a loss
// the test is about); the number of subscribers that got the last one.
long long publish(const test::RedisServer& redis, std::string_view channel, std::string_view message) {
  return std::stoll(redis.command("PUBLISH " + std::string(channel) + " " + std::string(message)));
}

TEST(RedisSubscriber, ReceivesWhatIsPublishedOnItsChannelOnly) {
  test::TempDir dir("redis-subscriber");
  test::RedisServer redis(dir.path());
  Subscriber subscriber(redis.endpoint(), "updates");
  ASSERT_EQ(test::failure_of(subscriber.subscribe()), "");
  EXPECT_TRUE(subscriber.subscribed());
  EXPECT_EQ(subscriber.subscriptions(), 1U);

  EXPECT_EQ(publish(redis, "elsewhere", "not-for-us"), 0);
  ASSERT_EQ(publish(redis, "updates", "first"), 1);
  ASSERT_EQ(publish(redis, "updates", "second"), 1);
  std::vector<std::string> messages;
  while (messages.size() < 2) ASSERT_EQ(test::failure_of(subscriber.receive(messages, milliseconds(5'000))), "");
  EXPECT_EQ(messages, (std::vector<std::string>{"first", "second"}));
}

TEST(RedisSubscriber, WakeEndsAWaitAtOnce) {
  test::TempDir dir("redis-subscriber");
  test::RedisServer redis(dir.path());
  Subscriber subscriber(redis.endpoint(), "updates");
  ASSERT_EQ(test::failure_of(subscriber.subscribe()), "");
  // A wait of an hour returns because of wake(), from another thread, with no message.
  auto waiting = std::async(std::launch::async, [&] {
    std::vector<std::string> messages;
    const Result<> received = subscriber.receive(messages, std::chrono::hours(1));
    return received && messages.empty();
  });
  subscriber.wake();
  EXPECT_TRUE(waiting.get());
}

TEST(RedisSubscriber, AnOutageIsAFailureAndTheNextReceiveSubscribesAgain) {
  test::TempDir dir("redis-subscriber");
  test::RedisServer redis(dir.path());
  Subscriber subscriber(redis.endpoint(), "updates");
  ASSERT_EQ(test::failure_of(subscriber.subscribe()), "");

  redis.stop();
  std::vector<std::string> messages;
  const Result<> lost = subscriber.receive(messages, milliseconds(5'000));
  ASSERT_FALSE(lost);
  EXPECT_TRUE(lost.error().is(Errc::unavailable)) << lost.error();
  EXPECT_NE(lost.error().detail.find(redis.endpoint().address()), std::string::npos) << lost.error();
  EXPECT_FALSE(subscriber.subscribed());
  const Result<> down = subscriber.subscribe();
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().is(Errc::unavailable)) << down.error();

  redis.start();
  ASSERT_EQ(test::failure_of(subscriber.receive(messages, milliseconds(10))), "");  // subscribes again
  EXPECT_EQ(subscriber.subscriptions(), 2U);                                        // the gap is visible to the caller
  ASSERT_EQ(publish(redis, "updates", "after"), 1);
  while (messages.empty()) ASSERT_EQ(test::failure_of(subscriber.receive(messages, milliseconds(5'000))), "");
  EXPECT_EQ(messages, (std::vector<std::string>{"after"}));
}

TEST(RedisSubscriber, AWrongPasswordIsARefusal) {
  test::TempDir dir("redis-subscriber");
  test::RedisServer redis(dir.path());
  ASSERT_EQ(redis.command("CONFIG SET requirepass right"), "OK");
  Endpoint endpoint = redis.endpoint();
  endpoint.password = "wrong";
  Subscriber subscriber(endpoint, "updates");
  const Result<> refused = subscriber.subscribe();
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::refused)) << refused.error();
  EXPECT_EQ(refused.error().detail.find("wrong"), std::string::npos) << refused.error();  // never the password
}

}  // namespace
}  // namespace traffic::redis
