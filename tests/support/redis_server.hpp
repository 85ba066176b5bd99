#pragma once
// A private redis-server for one test, on a free port, that can be stopped and started
// again on the same port (to test outages). Started from the Debian package's binary.

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "traffic/redis/connection.hpp"

#include "process.hpp"

namespace traffic::test {

class RedisServer {
 public:
  /// `extra_args` are added to the server's (e.g. {"--appendonly", "yes"} for data that
  /// survives a kill and restart).
  explicit RedisServer(std::filesystem::path dir, std::vector<std::string> extra_args = {})
      : dir_(std::move(dir)), extra_args_(std::move(extra_args)) {
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    start();
  }

  /// A free loopback port: bound to 0, read, released (the server binds it right after).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
  ~RedisServer() { stop(); }

  void start() {
    std::vector<std::string> args{"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
                                  "",       "--appendonly",        "no",     "--dir",     dir_.string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());  // later arguments win
    process_ = std::make_unique<Process>("/usr/bin/redis-server", args, std::vector<std::string>{});
    // Ready when it answers PING: a process start-up, not an event this test could await.
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (ping()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
  /// Stops the server with `signal` (SIGKILL: a crash, nothing saved on the way out).
  void stop(int signal = SIGTERM) {
    if (process_) process_->stop(signal);
    process_.reset();
  }
  [[nodiscard]] int port() const noexcept { return port_; }

  /// Where the code under test finds this server.
  [[nodiscard]] redis::Endpoint endpoint() const {
    redis::Endpoint endpoint;
    endpoint.port = port_;
    endpoint.timeout = std::chrono::milliseconds(2'000);
    return endpoint;
  }

  /// One command for the test's own checks; the reply as text ("<nil>", an integer's
  /// digits, a string's bytes; "<no reply>" when the server does not answer).
  [[nodiscard]] std::string command(const std::string& text) const {
    auto c = connect();
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), text.c_str()));
    std::string out = reply == nullptr                     ? "<no reply>"
                      : reply->type == REDIS_REPLY_INTEGER ? std::to_string(reply->integer)
                      : reply->type == REDIS_REPLY_NIL     ? "<nil>"
                                                           : std::string(reply->str, reply->len);
    if (reply) freeReplyObject(reply);
    return out;
  }

  /// A connection for the test's own checks.
  [[nodiscard]] std::unique_ptr<redisContext, void (*)(redisContext*)> connect() const {
    return {redisConnect("127.0.0.1", port_), redisFree};
  }

 private:
  bool ping() const {
    auto c = connect();
    if (!c || c->err) return false;
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "PING"));
    const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply) freeReplyObject(reply);
    return ok;
  }
  std::filesystem::path dir_;
  std::vector<std::string> extra_args_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace traffic::test
