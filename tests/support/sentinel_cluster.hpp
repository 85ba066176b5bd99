#pragma once
// A private Redis Sentinel setup for one test: a master, a replica of it, and three
// sentinels (quorum 2) watching them, all on free ports and stopped with the object. The
// test can fail the master over and wait until the sentinels and the servers agree.

#include <hiredis/hiredis.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "process.hpp"
#include "redis_server.hpp"

namespace traffic::test {

class SentinelCluster {
 public:
  static constexpr const char* kMaster = "traffic";

  explicit SentinelCluster(const std::filesystem::path& dir) : dir_(dir) {
    // Redis 7 waits 5 s for more replicas before a diskless full sync; either may be master.
    const std::vector<std::string> prompt_sync{"--repl-diskless-sync-delay", "0"};
    servers_.push_back(std::make_unique<RedisServer>(dir / "redis-a", prompt_sync));
    std::vector<std::string> replica_args = prompt_sync;
    replica_args.insert(replica_args.end(), {"--replicaof", "127.0.0.1", std::to_string(servers_[0]->port())});
    servers_.push_back(std::make_unique<RedisServer>(dir / "redis-b", replica_args));
    for (int i = 0; i < 3; ++i) {
      const std::filesystem::path home = dir / ("sentinel-" + std::to_string(i));
      std::filesystem::create_directories(home);
      const int port = RedisServer::free_port();
      {
        std::ofstream config(home / "sentinel.conf");
        config << "port " << port << "\nbind 127.0.0.1\ndir " << home.string() << "\nlogfile "
               << (home / "sentinel.log").string() << "\n"
               << "sentinel monitor " << kMaster << " 127.0.0.1 " << servers_[0]->port() << " 2\n"
               << "sentinel down-after-milliseconds " << kMaster << " 1000\n"
               << "sentinel failover-timeout " << kMaster << " 5000\n"
               << "sentinel parallel-syncs " << kMaster << " 1\n";
      }
      sentinel_ports_.push_back(port);
      sentinels_.push_back(std::make_unique<Process>(
          "/usr/bin/redis-server", std::vector<std::string>{(home / "sentinel.conf").string(), "--sentinel"},
          std::vector<std::string>{}));
    }
    // Ready when every sentinel knows the master and its replica (a failover needs one).
    if (!await([&] {
          for (const int port : sentinel_ports_) {
            if (replicas_known(port) < 1) return false;
          }
          return true;
        })) {
      throw std::runtime_error("the sentinels did not find the replica");
    }
  }
  ~SentinelCluster() {
    for (auto& sentinel : sentinels_) sentinel->stop(SIGTERM);
  }

  /// "127.0.0.1:<port>,…": REDIS_SENTINELS.
  [[nodiscard]] std::string sentinels() const {
    std::string out;
    for (const int port : sentinel_ports_)
      out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
    return out;
  }
  [[nodiscard]] const std::vector<int>& sentinel_ports() const { return sentinel_ports_; }
  /// The port of the master as the first sentinel says it.
  [[nodiscard]] int master_port() const { return master_port_from(sentinel_ports_[0]); }
  [[nodiscard]] RedisServer& server_on(int port) {
    for (auto& server : servers_) {
      if (server->port() == port) return *server;
    }
    throw std::runtime_error("no server on port " + std::to_string(port));
  }
  /// The server that is not the master now.
  [[nodiscard]] RedisServer& replica() {
    const int master = master_port();
    return servers_[0]->port() == master ? *servers_[1] : *servers_[0];
  }

  /// One more sentinel, watching the server on `port` as master `name` (quorum 1): a
  /// sentinel whose answer is wrong when that server is a replica. Returns its port.
  int add_sentinel(const std::string& name, int port) {
    const std::filesystem::path home = dir_ / ("sentinel-" + name);
    std::filesystem::create_directories(home);
    const int sentinel = RedisServer::free_port();
    {
      std::ofstream config(home / "sentinel.conf");
      config << "port " << sentinel << "\nbind 127.0.0.1\ndir " << home.string() << "\n"
             << "sentinel monitor " << name << " 127.0.0.1 " << port << " 1\n";
    }
    sentinels_.push_back(std::make_unique<Process>(
        "/usr/bin/redis-server", std::vector<std::string>{(home / "sentinel.conf").string(), "--sentinel"},
        std::vector<std::string>{}));
    if (!await([&] { return master_port_from(sentinel, name) == port; }))
      throw std::runtime_error("sentinel did not start");
    return sentinel;
  }

  /// SENTINEL FAILOVER, then waits until every sentinel names the other server and that
  /// server says it is the master — and, with `await_demotion`, until the old one says it
  /// is a replica (the sentinels demote it ~10 s later). Returns the new master's port.
  int failover(bool await_demotion = true) {
    const int before = master_port();
    const int after = replica().port();
    // Refused (NOGOODSLAVE) until the sentinel has the replica's own INFO: asked again.
    if (!await([&] { return command(sentinel_ports_[0], "SENTINEL FAILOVER " + std::string(kMaster)) == "OK"; })) {
      throw std::runtime_error("no sentinel would fail the master over");
    }
    if (!await([&] {
          for (const int port : sentinel_ports_) {
            if (master_port_from(port) != after) return false;
          }
          return role(after) == "master" && (!await_demotion || role(before) == "slave");
        })) {
      throw std::runtime_error("the failover did not complete");
    }
    return after;
  }

  /// ROLE's first element of the server on `port` ("master", "slave"), "" unreachable.
  [[nodiscard]] static std::string role(int port) {
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", port), redisFree);
    if (!c || c->err) return {};
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "ROLE"));
    std::string out;
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) out = reply->element[0]->str;
    if (reply) freeReplyObject(reply);
    return out;
  }

 private:
  template <class Predicate>
  static bool await(Predicate done) {
    // Sentinels gossip on their own timers: asked again until they agree, at most 60 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }
  // The reply's text (a status or an error), "" when there is none.
  static std::string command(int port, const std::string& text) {
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", port), redisFree);
    if (!c || c->err) return {};
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), text.c_str()));
    std::string out = reply != nullptr && reply->str != nullptr ? std::string(reply->str, reply->len) : std::string();
    if (reply) freeReplyObject(reply);
    return out;
  }
  static int master_port_from(int sentinel, const std::string& name = kMaster) {
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", sentinel), redisFree);
    if (!c || c->err) return 0;
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "SENTINEL get-master-addr-by-name %s", name.c_str()));
    int port = 0;
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
      port = std::stoi(reply->element[1]->str);
    if (reply) freeReplyObject(reply);
    return port;
  }
  static std::size_t replicas_known(int sentinel) {
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", sentinel), redisFree);
    if (!c || c->err) return 0;
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "SENTINEL replicas %s", kMaster));
    const std::size_t n = reply != nullptr && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    if (reply) freeReplyObject(reply);
    return n;
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<int> sentinel_ports_;
  std::vector<std::unique_ptr<Process>> sentinels_;
};

}  // namespace traffic::test
