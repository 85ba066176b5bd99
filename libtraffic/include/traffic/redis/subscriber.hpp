#pragma once
// A Redis pub/sub subscription (hiredis) for a background thread: it connects and
// subscribes when needed, and waits for messages with a timeout that wake() — from any
// thread — cuts short. Pub/sub delivers only while subscribed: messages published while
// the connection was down are lost, so a caller that cares counts subscriptions().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "traffic/redis/connection.hpp"

namespace traffic::redis {

class Subscriber {
 public:
  /// Throws std::system_error when the wake-up descriptor cannot be made.
  Subscriber(Endpoint endpoint, std::string channel);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  /// Connects and subscribes, unless subscribed already. Fails (Errc::unavailable, or
  /// Errc::refused for an error reply) naming the endpoint and the reason.
  Result<> subscribe();
  /// Waits up to `wait` for messages on the channel and appends their payloads to
  /// `messages` (subscribing first when not subscribed). Returns early on wake(). Fails
  /// when the connection failed or closed; the next call reconnects.
  Result<> receive(std::vector<std::string>& messages, std::chrono::milliseconds wait);
  /// Makes a receive() in progress (or the next one) return now. Thread-safe.
  void wake() noexcept;

  [[nodiscard]] bool subscribed() const noexcept { return context_ != nullptr; }
  /// Successful SUBSCRIBEs so far: more than one means there were gaps.
  [[nodiscard]] std::uint64_t subscriptions() const noexcept { return subscriptions_; }
  [[nodiscard]] const std::string& channel() const noexcept { return channel_; }

 private:
  void disconnect() noexcept;
  Result<> drain(std::vector<std::string>& messages);
  Failure lost(std::string_view what);  // disconnects; the failure names the endpoint

  Endpoint endpoint_;
  std::string channel_;
  redisContext* context_ = nullptr;
  int wake_fd_ = -1;
  std::uint64_t subscriptions_ = 0;
};

}  // namespace traffic::redis
