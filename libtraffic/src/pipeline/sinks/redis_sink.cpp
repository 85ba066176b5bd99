#include "traffic/pipeline/sinks/redis_sink.hpp"

#include <stdexcept>

#include "traffic/lid/click_record.hpp"

namespace traffic::pipeline {

RedisSinkSettings RedisSinkSettings::from_url(const SinkUrl& url) {
  RedisSinkSettings settings;
  std::string_view rest = url.target;
  rest.remove_prefix(std::string_view("redis://").size());
  const auto slash = rest.find('/');
  settings.endpoint = redis::Endpoint::from_authority(rest.substr(0, slash));
  settings.stream = std::string(rest.substr(slash + 1));
  settings.maxlen = url.number("maxlen", 1'000'000, 1, UINT64_MAX);
  settings.endpoint.timeout = std::chrono::milliseconds(url.number("timeout_ms", 5'000, 100, 600'000));
  settings.endpoint.db = static_cast<int>(url.number("db", 0, 0, 10'000));
  settings.batch = url.number("batch", 1'000, 1, 100'000);
  return settings;
}

RedisSink::RedisSink(RedisSinkSettings settings)
    : settings_(std::move(settings)), maxlen_(std::to_string(settings_.maxlen)), connection_(settings_.endpoint) {}

RedisSink::~RedisSink() = default;

Result<> RedisSink::deliver(std::span<const std::string_view> records) {
  for (std::string_view record : records) {
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    connection_.append({"XADD", settings_.stream, "MAXLEN", "~", maxlen_, "*", "lid", lid::record_field(record, "lid"),
                        "record", record});
  }
  if (auto exchanged = connection_.execute(replies_); !exchanged) return exchanged;
  // Every reply must be an entry id for the batch to be acknowledged.
  for (const redis::Reply& reply : replies_) {
    if (reply.is_error()) return Failure(Errc::refused, settings_.endpoint.address() + ": " + reply.text);
  }
  return {};
}

}  // namespace traffic::pipeline
