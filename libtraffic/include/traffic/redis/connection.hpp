#pragma once
// One blocking Redis connection (hiredis) for background threads: commands are pipelined —
// formatted into one buffer, sent in one write, their replies read back in order. Never
// used on a request thread (ARCHITECTURE.md: no round trip on the click path).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/common/time.hpp"

struct redisContext;

namespace traffic::redis {

/// Where a Redis server is and how to log in.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  ///< Redis 6 ACL user; "" = the default user
  std::string password;  ///< Secret, never logged. "" = no AUTH
  int db = 0;
  std::chrono::milliseconds timeout{5'000};  ///< connect, and each read or write
  /// Redis Sentinel (REDIS_SENTINELS, `host:port` each): when given, `host` and `port` are
  /// only a cache — the master's address is asked of the sentinels on every (re)connect,
  /// and a server that turns out not to be the master is refused (never written to).
  std::vector<std::pair<std::string, int>> sentinels;
  std::string sentinel_master;    ///< REDIS_SENTINEL_MASTER: the monitored master's name
  std::string sentinel_password;  ///< REDIS_SENTINEL_PASSWORD (secret): AUTH to the sentinels
  /// How often a connection asks the sentinels again: a failed-over master keeps its role
  /// (and takes writes) until the sentinels demote it, ~10 s later; following their answer
  /// bounds writes to a deposed master to this long.
  std::chrono::milliseconds sentinel_check{1'000};

  /// Parses `[[user]:password@]host[:port]` (`[v6]:port` for IPv6). Throws
  /// std::invalid_argument naming what is malformed (never the password).
  static Endpoint from_authority(std::string_view authority);
  /// `host:port` for logs and errors (with Sentinel: `<master> at host:port`).
  [[nodiscard]] std::string address() const;
  /// Parses REDIS_SENTINELS: `host:port,host:port,…` (`[v6]:port`; the port defaults to
  /// 26379). Throws std::invalid_argument naming what is malformed.
  static std::vector<std::pair<std::string, int>> parse_sentinels(std::string_view list);
};

/// With sentinels: `endpoint` with host and port of the master they name now — the first
/// sentinel that answers is believed. Without: `endpoint` itself. Fails with
/// Errc::unavailable when no sentinel answers or knows the master.
[[nodiscard]] Result<Endpoint> resolve_master(const Endpoint& endpoint);

/// A reply, owned. Arrays keep their elements; errors keep their text.
struct Reply {
  enum class Type : std::uint8_t { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;
  std::vector<Reply> elements;

  [[nodiscard]] bool is_error() const noexcept { return type == Type::error; }
  /// An integer reply, or a string reply holding an integer (GET of a counter); 0 for nil.
  [[nodiscard]] bool as_integer(long long& out) const noexcept;
};

/// Not thread-safe: one per background thread. Connects lazily (AUTH and SELECT as the
/// endpoint says) and reconnects on the next execute() after a failure.
class Connection {
 public:
  explicit Connection(Endpoint endpoint);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Queues one command (arguments are binary-safe) for the next execute().
  void append(std::initializer_list<std::string_view> arguments);
  void append(std::span<const std::string_view> arguments);
  [[nodiscard]] std::size_t queued() const noexcept { return queued_; }

  /// Sends the queued commands and reads their replies into `replies`, in order. A Redis
  /// error reply is a Reply of type error, not a failure. Fails (Errc::unavailable, e.g.
  /// "127.0.0.1:6379: Connection refused"; Errc::refused for an AUTH or SELECT error) when
  /// the connection failed: `replies` holds the replies read before the failure — the
  /// commands after them may or may not have run. The queue is emptied either way.
  Result<> execute(std::vector<Reply>& replies);
  /// execute() in two halves, so that the caller can prepare more while Redis works: send()
  /// writes the queued commands now; receive() reads the replies of every command sent
  /// since the last receive(), in order. A failure of either is execute()'s.
  Result<> send();
  Result<> receive(std::vector<Reply>& replies);
  [[nodiscard]] const Endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  Result<> connect();
  Failure lost(std::string_view what);  // disconnects; the failure names the endpoint
  void disconnect() noexcept;
  Endpoint endpoint_;
  redisContext* context_ = nullptr;
  std::string commands_;  // RESP-encoded, pipelined
  std::size_t queued_ = 0;
  std::size_t in_flight_ = 0;                            // sent, replies not read yet
  std::chrono::steady_clock::time_point resolved_at_{};  // when the sentinels were last asked
};

/// How a periodic background exchange with Redis is doing (the counters', the unique
/// visits'), for /metrics and logs. Thread-safe: recorded by the exchanging thread, read by
/// any.
class ExchangeHealth {
 public:
  /// One exchange ended: reached Redis or not, and the failure it met ("" = none; an error
  /// reply inside an exchange that reached Redis is kept too).
  void record(bool reached, TimestampMs now, std::string failure) {
    {
      std::lock_guard lock(failure_mutex_);
      last_failure_ = std::move(failure);
    }
    if (!reached) {
      failed_rounds_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    rounds_.fetch_add(1, std::memory_order_relaxed);
    last_success_.store(now, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t rounds() const noexcept { return rounds_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t failed_rounds() const noexcept { return failed_rounds_.load(std::memory_order_relaxed); }
  /// ms; 0 = never.
  [[nodiscard]] TimestampMs last_success() const noexcept { return last_success_.load(std::memory_order_relaxed); }
  /// The last exchange's failure, for logs and /metrics; "" when it went well.
  [[nodiscard]] std::string last_failure() const {
    std::lock_guard lock(failure_mutex_);
    return last_failure_;
  }

 private:
  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<std::uint64_t> failed_rounds_{0};
  std::atomic<TimestampMs> last_success_{0};
  mutable std::mutex failure_mutex_;
  std::string last_failure_;
};

}  // namespace traffic::redis
