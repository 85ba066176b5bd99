#include "traffic/lid/redis_sink.hpp"

#include "traffic/lid/click_record.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <stdexcept>

namespace traffic::lid {
namespace {

bool parse_number(std::string_view text, int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

RedisSinkSettings RedisSinkSettings::from_url(const SinkUrl& url) {
  RedisSinkSettings settings;
  std::string_view rest = url.target;
  rest.remove_prefix(std::string_view("redis://").size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  settings.stream = std::string(rest.substr(slash + 1));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    settings.username = std::string(userinfo.substr(0, colon));
    settings.password = colon == std::string_view::npos ? std::string() : std::string(userinfo.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && (authority[0] != ':' || !parse_number(authority.substr(1), settings.port))) {
      throw std::invalid_argument("port must be a number");
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    if (!parse_number(authority.substr(colon + 1), settings.port)) throw std::invalid_argument("port must be a number");
  }
  if (settings.port <= 0 || settings.port > 65535) throw std::invalid_argument("port must be 1..65535");
  settings.host = std::string(host);
  settings.maxlen = url.number("maxlen", 1'000'000, 1, UINT64_MAX);
  settings.timeout = std::chrono::milliseconds(url.number("timeout_ms", 5'000, 100, 600'000));
  settings.db = static_cast<int>(url.number("db", 0, 0, 10'000));
  settings.batch = url.number("batch", 1'000, 1, 100'000);
  return settings;
}

RedisSink::RedisSink(RedisSinkSettings settings) : settings_(std::move(settings)) {}

RedisSink::~RedisSink() {
  disconnect();
}

void RedisSink::disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

bool RedisSink::connect() {
  const timeval timeout = to_timeval(settings_.timeout);
  context_ = redisConnectWithTimeout(settings_.host.c_str(), settings_.port, timeout);
  if (context_ == nullptr || context_->err != 0) {
    last_error_ = context_ != nullptr ? context_->errstr : "cannot allocate a Redis context";
    disconnect();
    return false;
  }
  redisSetTimeout(context_, timeout);
  auto command_ok = [&](redisReply* reply) {
    const bool ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (!ok) last_error_ = reply != nullptr ? std::string(reply->str, reply->len) : context_->errstr;
    if (reply != nullptr) freeReplyObject(reply);
    return ok;
  };
  if (!settings_.password.empty()) {
    void* reply = settings_.username.empty()
                      ? redisCommand(context_, "AUTH %b", settings_.password.data(), settings_.password.size())
                      : redisCommand(context_, "AUTH %b %b", settings_.username.data(), settings_.username.size(),
                                     settings_.password.data(), settings_.password.size());
    if (!command_ok(static_cast<redisReply*>(reply))) return disconnect(), false;
  }
  if (settings_.db != 0 && !command_ok(static_cast<redisReply*>(redisCommand(context_, "SELECT %d", settings_.db)))) {
    return disconnect(), false;
  }
  return true;
}

bool RedisSink::deliver(std::span<const std::string_view> records) {
  if (context_ == nullptr && !connect()) return false;
  const std::string maxlen = std::to_string(settings_.maxlen);
  for (std::string_view record : records) {
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    const std::string_view lid = record_field(record, "lid");
    redisAppendCommand(context_, "XADD %b MAXLEN ~ %b * lid %b record %b", settings_.stream.data(),
                       settings_.stream.size(), maxlen.data(), maxlen.size(), lid.data(), lid.size(), record.data(),
                       record.size());
  }
  bool ok = true;
  for (std::size_t i = 0; i < records.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK) {
      last_error_ = context_->errstr;
      disconnect();  // the connection is unusable; re-opened on the next delivery
      return false;
    }
    auto* reply = static_cast<redisReply*>(raw);
    if (reply->type == REDIS_REPLY_ERROR && ok) {
      last_error_.assign(reply->str, reply->len);
      ok = false;  // keep reading: every pipelined reply must be consumed
    }
    freeReplyObject(reply);
  }
  if (ok) last_error_.clear();
  return ok;
}

}  // namespace traffic::lid
