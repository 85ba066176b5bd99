// The Redis connection against a real redis-server that goes away mid-exchange.

#include "traffic/redis/connection.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "redis_server.hpp"
#include "test_support.hpp"

namespace traffic::redis {
namespace {

// SIGPIPE at its default action (the test runner does not ignore it), as in a program that
// links libtraffic and never thought of it.
class DefaultSigpipe {
 public:
  DefaultSigpipe() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPIPE, &action, &previous_);
  }
  ~DefaultSigpipe() { sigaction(SIGPIPE, &previous_, nullptr); }

 private:
  struct sigaction previous_ {};
};

// Killing Redis while a large pipeline is being written used to end the process: the first
// write reaches the closed socket, the peer answers RST, and hiredis's next write(2) raised
// SIGPIPE (trafficd died with status 141 when Redis restarted under load).
TEST(RedisConnection, AServerGoneMidWriteIsAnErrorNotADeadProcess) {
  const DefaultSigpipe default_sigpipe;
  test::TempDir dir("redis-connection");
  test::RedisServer redis(dir.path());
  Connection connection(redis.endpoint());
  std::vector<Reply> replies;
  connection.append({"PING"});
  ASSERT_EQ(test::failure_of(connection.execute(replies)), "");

  redis.stop();
  // Far more than the socket buffers take: hiredis writes it in several write(2) calls.
  const std::string value(16u << 20, 'x');
  for (int round = 0; round < 3; ++round) {
    connection.append({"SET", "big", value});
    const Result<> written = connection.execute(replies);
    ASSERT_FALSE(written);
    EXPECT_TRUE(written.error().is(Errc::unavailable));
    EXPECT_NE(written.error().detail.find(redis.endpoint().address()), std::string::npos) << written.error();
  }
  // No SIGPIPE is left pending for the thread either.
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);

  redis.start();
  connection.append({"SET", "big", value});
  connection.append({"STRLEN", "big"});
  ASSERT_EQ(test::failure_of(connection.execute(replies)), "");
  long long length = 0;
  ASSERT_TRUE(replies.at(1).as_integer(length));
  EXPECT_EQ(length, static_cast<long long>(value.size()));
}

// send() and receive() split an exchange: commands sent in several sends are answered, in
// order, by one receive().
TEST(RedisConnection, CommandsSentInPartsAreAnsweredInOrder) {
  test::TempDir dir("redis-connection");
  test::RedisServer server(dir.path());
  Connection connection(server.endpoint());
  connection.append({"SET", "k", "1"});
  connection.append({"INCR", "k"});
  ASSERT_TRUE(connection.send());
  connection.append({"INCRBY", "k", "10"});
  ASSERT_TRUE(connection.send());
  std::vector<Reply> replies;
  ASSERT_TRUE(connection.receive(replies));
  ASSERT_EQ(replies.size(), 3U);
  EXPECT_EQ(replies[0].text, "OK");
  EXPECT_EQ(replies[1].integer, 2);
  EXPECT_EQ(replies[2].integer, 12);
  ASSERT_TRUE(connection.receive(replies));  // nothing in flight: nothing to read
  EXPECT_TRUE(replies.empty());
}

}  // namespace
}  // namespace traffic::redis
