#include "traffic/redis/connection.hpp"

#include <hiredis/hiredis.h>

#include "common/sigpipe.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>

namespace traffic::redis {
namespace {

bool parse_number(std::string_view text, int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

Reply own(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(own(*r.element[i]));
      break;
    default: out.type = Reply::Type::nil;
  }
  return out;
}

void append_bulk(std::string& out, char prefix, std::size_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.push_back(prefix);
  out.append(digits, end);
  out.append("\r\n");
}

}  // namespace

Endpoint Endpoint::from_authority(std::string_view authority) {
  Endpoint endpoint;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    endpoint.username = std::string(userinfo.substr(0, colon));
    endpoint.password = colon == std::string_view::npos ? std::string() : std::string(userinfo.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && (authority[0] != ':' || !parse_number(authority.substr(1), endpoint.port))) {
      throw std::invalid_argument("port must be a number");
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    if (!parse_number(authority.substr(colon + 1), endpoint.port)) throw std::invalid_argument("port must be a number");
  }
  if (endpoint.port <= 0 || endpoint.port > 65535) throw std::invalid_argument("port must be 1..65535");
  if (host.empty()) throw std::invalid_argument("host is empty");
  endpoint.host = std::string(host);
  return endpoint;
}

std::string Endpoint::address() const {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string at = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  return sentinels.empty() ? at : sentinel_master + " at " + at;
}

std::vector<std::pair<std::string, int>> Endpoint::parse_sentinels(std::string_view list) {
  std::vector<std::pair<std::string, int>> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      const bool has_port =
          item.starts_with('[') ? item.find("]:") != std::string_view::npos : item.find(':') != std::string_view::npos;
      Endpoint one = from_authority(item);
      if (!has_port) one.port = 26379;  // Sentinel's own default
      out.emplace_back(one.host, one.port);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (out.empty()) throw std::invalid_argument("REDIS_SENTINELS: no sentinel given");
  return out;
}

Result<Endpoint> resolve_master(const Endpoint& endpoint) {
  if (endpoint.sentinels.empty()) return endpoint;
  const SigpipeBlock no_sigpipe;
  const timeval timeout = to_timeval(endpoint.timeout);
  std::string failures;
  for (const auto& [host, port] : endpoint.sentinels) {
    const std::string where = host + ":" + std::to_string(port);
    redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
    const auto note = [&](std::string_view why) {
      failures += (failures.empty() ? "" : "; ") + where + ": " + std::string(why);
    };
    if (c == nullptr || c->err != 0) {
      note(c != nullptr ? c->errstr : "cannot allocate a Redis context");
      if (c != nullptr) redisFree(c);
      continue;
    }
    redisSetTimeout(c, timeout);
    if (!endpoint.sentinel_password.empty()) {
      auto* auth = static_cast<redisReply*>(
          redisCommand(c, "AUTH %b", endpoint.sentinel_password.data(), endpoint.sentinel_password.size()));
      const bool ok = auth != nullptr && auth->type != REDIS_REPLY_ERROR;
      if (auth != nullptr) freeReplyObject(auth);
      if (!ok) {
        note("AUTH refused");
        redisFree(c);
        continue;
      }
    }
    auto* reply = static_cast<redisReply*>(redisCommand(
        c, "SENTINEL get-master-addr-by-name %b", endpoint.sentinel_master.data(), endpoint.sentinel_master.size()));
    std::optional<Endpoint> master;
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
      int master_port = 0;
      const std::string_view port_text(reply->element[1]->str, reply->element[1]->len);
      const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), master_port);
      if (ec == std::errc() && end == port_text.data() + port_text.size()) {
        master = endpoint;
        master->host.assign(reply->element[0]->str, reply->element[0]->len);
        master->port = master_port;
      }
    }
    if (!master) note(reply == nullptr ? std::string_view(c->errstr) : std::string_view("does not know the master"));
    if (reply != nullptr) freeReplyObject(reply);
    redisFree(c);
    if (master) return *master;
  }
  return Failure(Errc::unavailable, "no sentinel names master " + endpoint.sentinel_master + " (" + failures + ")");
}

bool Reply::as_integer(long long& out) const noexcept {
  if (type == Type::nil) return out = 0, true;
  if (type == Type::integer) return out = integer, true;
  if (type != Type::string) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

Connection::Connection(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

Connection::~Connection() {
  disconnect();
}

void Connection::disconnect() noexcept {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

Failure Connection::lost(std::string_view what) {
  Failure failure(Errc::unavailable, endpoint_.address() + ": " + std::string(what));
  disconnect();  // the connection is unusable; re-opened on the next call
  in_flight_ = 0;
  return failure;
}

Result<> Connection::connect() {
  const SigpipeBlock no_sigpipe;  // the peer may be gone (docs/reliability.md)
  // With Sentinel: wherever the master is now.
  Result<Endpoint> master = resolve_master(endpoint_);
  if (!master) return master.error();
  endpoint_ = std::move(*master);
  resolved_at_ = std::chrono::steady_clock::now();
  const timeval timeout = to_timeval(endpoint_.timeout);
  context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout);
  if (context_ == nullptr || context_->err != 0) {
    return lost(context_ != nullptr ? context_->errstr : "cannot allocate a Redis context");
  }
  redisSetTimeout(context_, timeout);
  // AUTH and SELECT: an error reply is a refusal (wrong password, no such database).
  auto command = [&](void* raw, std::string_view name) -> Result<> {
    auto* reply = static_cast<redisReply*>(raw);
    if (reply == nullptr) return lost(context_->errstr);
    Result<> outcome;
    if (reply->type == REDIS_REPLY_ERROR) {
      outcome = Failure(Errc::refused,
                        endpoint_.address() + ": " + std::string(name) + ": " + std::string(reply->str, reply->len));
      disconnect();
    }
    freeReplyObject(reply);
    return outcome;
  };
  const std::string& password = endpoint_.password;
  const std::string& user = endpoint_.username;
  if (!password.empty()) {
    void* reply =
        user.empty() ? redisCommand(context_, "AUTH %b", password.data(), password.size())
                     : redisCommand(context_, "AUTH %b %b", user.data(), user.size(), password.data(), password.size());
    if (auto authenticated = command(reply, "AUTH"); !authenticated) return authenticated;
  }
  if (endpoint_.db != 0) {
    if (auto selected = command(redisCommand(context_, "SELECT %d", endpoint_.db), "SELECT"); !selected)
      return selected;
  }
  // The sentinels' answer may be stale (a failover under way): a replica is never written to.
  if (!endpoint_.sentinels.empty()) {
    auto* reply = static_cast<redisReply*>(redisCommand(context_, "ROLE"));
    if (reply == nullptr) return lost(context_->errstr);
    const bool is_master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                           reply->element[0]->type == REDIS_REPLY_STRING &&
                           std::string_view(reply->element[0]->str, reply->element[0]->len) == "master";
    freeReplyObject(reply);
    if (!is_master) return lost("not the master (yet): a failover is under way");
  }
  return {};
}

void Connection::append(std::initializer_list<std::string_view> arguments) {
  append(std::span<const std::string_view>(arguments.begin(), arguments.size()));
}

void Connection::append(std::span<const std::string_view> arguments) {
  append_bulk(commands_, '*', arguments.size());
  for (const std::string_view argument : arguments) {
    append_bulk(commands_, '$', argument.size());
    commands_.append(argument);
    commands_.append("\r\n");
  }
  ++queued_;
}

Result<> Connection::send() {
  const SigpipeBlock no_sigpipe;  // a Redis restarted under load: EPIPE, not a dead process
  const std::size_t queued = queued_;
  queued_ = 0;
  if (queued == 0) return {};
  // With Sentinel, now and then: is the master still where we are connected?
  if (context_ != nullptr && !endpoint_.sentinels.empty() &&
      std::chrono::steady_clock::now() - resolved_at_ >= endpoint_.sentinel_check) {
    const Result<Endpoint> master = resolve_master(endpoint_);
    resolved_at_ = std::chrono::steady_clock::now();
    if (master && (master->host != endpoint_.host || master->port != endpoint_.port)) disconnect();
  }
  if (context_ == nullptr) {
    if (auto connected = connect(); !connected) {
      commands_.clear();
      in_flight_ = 0;
      return connected;
    }
  }
  const int appended = redisAppendFormattedCommand(context_, commands_.data(), commands_.size());
  commands_.clear();
  if (appended != REDIS_OK) return lost(context_->errstr);
  in_flight_ += queued;
  for (int done = 0; done == 0;) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) return lost(context_->errstr);
  }
  return {};
}

Result<> Connection::receive(std::vector<Reply>& replies) {
  const SigpipeBlock no_sigpipe;
  replies.clear();
  const std::size_t expected = in_flight_;
  in_flight_ = 0;
  if (expected == 0) return {};
  if (context_ == nullptr) return Failure(Errc::unavailable, endpoint_.address() + ": not connected");
  replies.reserve(expected);
  for (std::size_t i = 0; i < expected; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return lost(context_->err != 0 ? context_->errstr : "no reply");
    }
    replies.push_back(own(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  // A master demoted under us (a failover) refuses writes: the next exchange connects
  // afresh, to wherever the sentinels say the master is now.
  for (const Reply& reply : replies) {
    if (reply.is_error() && reply.text.starts_with("READONLY")) {
      disconnect();
      break;
    }
  }
  return {};
}

Result<> Connection::execute(std::vector<Reply>& replies) {
  replies.clear();
  if (auto sent = send(); !sent) {
    in_flight_ = 0;
    return sent;
  }
  return receive(replies);
}

}  // namespace traffic::redis
