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

bool Subscriber::subscribe() {
  if (context_ != nullptr) return true;
  const SigpipeBlock no_sigpipe;  // the peer may be gone (docs/reliability.md)
  const timeval timeout = to_timeval(endpoint_.timeout);
  context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout);
  if (context_ == nullptr || context_->err != 0) {
    last_error_ = context_ != nullptr ? context_->errstr : "cannot allocate a Redis context";
    disconnect();
    return false;
  }
  redisSetTimeout(context_, timeout);
  redisEnableKeepAlive(context_);  // a silent peer (partition) is noticed, not waited on forever
  auto command_ok = [&](void* raw, bool expect_array) {
    OwnedReply reply(raw);
    const auto* r = static_cast<redisReply*>(raw);
    if (r == nullptr) {
      last_error_ = context_->errstr;
      return false;
    }
    if (r->type == REDIS_REPLY_ERROR || (expect_array && r->type != REDIS_REPLY_ARRAY)) {
      last_error_ = r->type == REDIS_REPLY_ERROR ? std::string(text(*r)) : "unexpected reply to SUBSCRIBE";
      return false;
    }
    return true;
  };
  const std::string& password = endpoint_.password;
  const std::string& user = endpoint_.username;
  if (!password.empty()) {
    void* reply =
        user.empty() ? redisCommand(context_, "AUTH %b", password.data(), password.size())
                     : redisCommand(context_, "AUTH %b %b", user.data(), user.size(), password.data(), password.size());
    if (!command_ok(reply, false)) return disconnect(), false;
  }
  // Channels are not per database: no SELECT.
  if (!command_ok(redisCommand(context_, "SUBSCRIBE %b", channel_.data(), channel_.size()), true)) {
    return disconnect(), false;
  }
  ++subscriptions_;
  last_error_.clear();
  return true;
}

// Takes the complete replies already read; false when the stream is broken.
bool Subscriber::drain(std::vector<std::string>& messages) {
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      last_error_ = context_->errstr;
      disconnect();
      return false;
    }
    if (raw == nullptr) return true;
    OwnedReply reply(raw);
    const auto* r = static_cast<redisReply*>(raw);
    // ["message", channel, payload]; subscription confirmations and the like are skipped.
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
        text(*r->element[0]) == "message" && r->element[2]->type == REDIS_REPLY_STRING) {
      messages.emplace_back(text(*r->element[2]));
    }
  }
}

bool Subscriber::receive(std::vector<std::string>& messages, std::chrono::milliseconds wait) {
  if (!subscribe()) return false;
  const std::size_t before = messages.size();
  if (!drain(messages)) return false;
  if (messages.size() > before) return true;

  pollfd fds[2] = {{context_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(wait.count()));
  if (ready < 0 && errno != EINTR) {
    last_error_ = std::system_category().message(errno);
    return false;
  }
  if (fds[1].revents & POLLIN) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto read = ::read(wake_fd_, &count, sizeof count);
  }
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    if (redisBufferRead(context_) != REDIS_OK) {
      last_error_ = context_->errstr;
      disconnect();
      return false;
    }
    return drain(messages);
  }
  return true;
}

}  // namespace traffic::redis
