#include "traffic/redis/subscriber.hpp"

#include <hiredis/hiredis.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "common/sigpipe.hpp"

#include <cerrno>
#include <memory>
#include <system_error>

namespace traffic::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

struct ReplyDeleter {
  void operator()(void* reply) const noexcept {
    if (reply != nullptr) freeReplyObject(reply);
  }
};
using OwnedReply = std::unique_ptr<void, ReplyDeleter>;

std::string_view text(const redisReply& r) {
  return {r.str, r.len};
}

}  // namespace

Subscriber::Subscriber(Endpoint endpoint, std::string channel)
    : endpoint_(std::move(endpoint)), channel_(std::move(channel)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Subscriber::~Subscriber() {
  disconnect();
  ::close(wake_fd_);
}

void Subscriber::disconnect() noexcept {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

void Subscriber::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

Failure Subscriber::lost(std::string_view what) {
  Failure failure(Errc::unavailable, endpoint_.address() + ": " + std::string(what));
  disconnect();
  return failure;
}

Result<> Subscriber::subscribe() {
  if (context_ != nullptr) return {};
  const SigpipeBlock no_sigpipe;  // the peer may be gone (docs/reliability.md)
  // With Sentinel: the master now (a replica would do for messages, but a dead one would not).
  Result<Endpoint> master = resolve_master(endpoint_);
  if (!master) return master.error();
  endpoint_ = std::move(*master);
  const timeval timeout = to_timeval(endpoint_.timeout);
  context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout);
  if (context_ == nullptr || context_->err != 0) {
    return lost(context_ != nullptr ? context_->errstr : "cannot allocate a Redis context");
  }
  redisSetTimeout(context_, timeout);
  redisEnableKeepAlive(context_);  // a silent peer (partition) is noticed, not waited on forever
  auto command = [&](void* raw, std::string_view name, bool expect_array) -> Result<> {
    OwnedReply reply(raw);
    const auto* r = static_cast<redisReply*>(raw);
    if (r == nullptr) return lost(context_->errstr);
    if (r->type == REDIS_REPLY_ERROR) {
      Failure refused(Errc::refused, endpoint_.address() + ": " + std::string(name) + ": " + std::string(text(*r)));
      disconnect();
      return refused;
    }
    if (expect_array && r->type != REDIS_REPLY_ARRAY) return lost("unexpected reply to " + std::string(name));
    return {};
  };
  const std::string& password = endpoint_.password;
  const std::string& user = endpoint_.username;
  if (!password.empty()) {
    void* reply =
        user.empty() ? redisCommand(context_, "AUTH %b", password.data(), password.size())
                     : redisCommand(context_, "AUTH %b %b", user.data(), user.size(), password.data(), password.size());
    if (auto authenticated = command(reply, "AUTH", false); !authenticated) return authenticated;
  }
  // Channels are not per database: no SELECT.
  if (auto subscribed =
          command(redisCommand(context_, "SUBSCRIBE %b", channel_.data(), channel_.size()), "SUBSCRIBE", true);
      !subscribed) {
    return subscribed;
  }
  ++subscriptions_;
  return {};
}

// Takes the complete replies already read; fails when the stream is broken.
Result<> Subscriber::drain(std::vector<std::string>& messages) {
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) return lost(context_->errstr);
    if (raw == nullptr) return {};
    OwnedReply reply(raw);
    const auto* r = static_cast<redisReply*>(raw);
    // ["message", channel, payload]; subscription confirmations and the like are skipped.
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
        text(*r->element[0]) == "message" && r->element[2]->type == REDIS_REPLY_STRING) {
      messages.emplace_back(text(*r->element[2]));
    }
  }
}

Result<> Subscriber::receive(std::vector<std::string>& messages, std::chrono::milliseconds wait) {
  if (auto subscribed = subscribe(); !subscribed) return subscribed;
  const std::size_t before = messages.size();
  if (auto drained = drain(messages); !drained || messages.size() > before) return drained;

  pollfd fds[2] = {{context_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(wait.count()));
  if (ready < 0 && errno != EINTR) return Failure(Errc::io, "poll: " + std::system_category().message(errno));
  if (fds[1].revents & POLLIN) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto read = ::read(wake_fd_, &count, sizeof count);
  }
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    if (redisBufferRead(context_) != REDIS_OK) return lost(context_->errstr);
    return drain(messages);
  }
  return {};
}

}  // namespace traffic::redis
