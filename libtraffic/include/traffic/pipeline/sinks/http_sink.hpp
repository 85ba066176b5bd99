#pragma once
// HTTP sinks (SPEC.md §9), on libcurl:
// - `http`: each delivery is one POST of the batch as NDJSON (Content-Type
//   application/x-ndjson) to any collector — Vector, ClickHouse's HTTP interface, a Kinesis
//   or Kafka REST proxy. A 2xx answer acknowledges the batch.
// - `aggregator`: the old aggregator API — one `POST <base>/offer` per record with
//   {"key": base64(record), "event": "click", "time": <date_added ms>, "count": 1}, over
//   kept-alive connections, at most `concurrency` in flight. The batch is acknowledged when
//   every record got a 2xx; otherwise all of it is offered again (at-least-once).

#include <chrono>
#include <memory>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/pipeline/sink.hpp"

namespace traffic::pipeline {

struct HttpSinkSettings {
  std::string url;  ///< http: the collector's URL; aggregator: the API's base URL
  std::chrono::milliseconds timeout{10'000};
  std::size_t concurrency = 8;  ///< aggregator: requests in flight
  std::size_t batch = 500;      ///< records per delivery (the emitter's batch for this sink)
  std::string bonus_secret;     ///< aggregator: GATEWAY_API_SECRET, which signs /lidBonus requests. Secret.
  /// Dates and signs /lidBonus requests (`timestamp`, `hash`); nullptr: the system clock.
  const Clock* clock = nullptr;

  /// From an `http(s)://` or `aggregator+http(s)://` sink URL: options `timeout_ms`,
  /// `concurrency`, `batch`. Throws std::invalid_argument naming a malformed option.
  static HttpSinkSettings from_url(const SinkUrl& url);
};

class HttpSink final : public Sink {
 public:
  enum class Mode : std::uint8_t { ndjson_batch, aggregator };
  HttpSink(HttpSinkSettings settings, Mode mode);
  ~HttpSink() override;
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  /// Fails with the reason for logs ("HTTP 503", "Couldn't connect to server").
  Result<> deliver(std::span<const std::string_view> records) override;

 private:
  Result<> post_batch(std::span<const std::string_view> records);
  Result<> post_each(std::span<const std::string_view> records);
  void aggregator_request(std::size_t slot, std::string_view record);
  struct Curl;
  HttpSinkSettings settings_;
  std::string offer_url_;  // aggregator: clicks (and resends)
  std::string bonus_url_;  // aggregator: conversions
  Mode mode_;
  std::unique_ptr<Curl> curl_;
};

}  // namespace traffic::pipeline
