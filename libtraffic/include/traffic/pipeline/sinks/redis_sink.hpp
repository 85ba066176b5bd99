#pragma once
// The `redis` sink (SPEC.md §9): each record is added to a Redis Stream with
// `XADD <stream> MAXLEN ~ <maxlen> * lid <lid> record <JSON>`, a delivery's records pipelined
// over one connection (hiredis). Every reply must be an entry id for the batch to be
// acknowledged; a lost connection is re-opened on the next delivery. Consumers read the
// stream with XREAD/XREADGROUP and key on `lid` (delivery is at-least-once).

#include <chrono>
#include <cstdint>
#include <string>

#include "traffic/pipeline/sink.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::pipeline {

struct RedisSinkSettings {
  redis::Endpoint endpoint;
  std::string stream;
  std::uint64_t maxlen = 1'000'000;  ///< approximate bound of the stream (MAXLEN ~)
  std::size_t batch = 1'000;

  /// From `redis://[[user]:password@]host[:port]/<stream>#maxlen=…&timeout_ms=…&db=…&batch=…`.
  /// Throws std::invalid_argument naming what is malformed (never the password).
  static RedisSinkSettings from_url(const SinkUrl& url);
};

class RedisSink final : public Sink {
 public:
  explicit RedisSink(RedisSinkSettings settings);
  ~RedisSink() override;
  RedisSink(const RedisSink&) = delete;
  RedisSink& operator=(const RedisSink&) = delete;

  Result<> deliver(std::span<const std::string_view> records) override;

  /// The last failure ("connection refused", a Redis error reply); "" after a success.

 private:
  RedisSinkSettings settings_;
  std::string maxlen_;
  redis::Connection connection_;
  std::vector<redis::Reply> replies_;
};

}  // namespace traffic::pipeline
