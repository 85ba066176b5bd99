#pragma once
// A small HTTP/1.1 server standing in for a click collector: keeps every request it
// accepted, answers with a chosen status, can be stopped and started again on the same
// port, and lets a test await a number of requests (no sleeps).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "http_server.hpp"

namespace traffic::test {

class HttpCollector {
 public:
  struct Received {
    std::string target;
    std::string body;
  };

  /// Listens on 127.0.0.1:`port` (0: a free port).
  explicit HttpCollector(unsigned short port = 0)
      : server_([this](const HttpServer::Request& request) { return answer(request); }, port) {}

  void start(unsigned short port) { server_.start(port); }
  /// Closes the listener and every connection: the collector is down.
  void stop() { server_.stop(); }

  [[nodiscard]] unsigned short port() const noexcept { return server_.port(); }
  [[nodiscard]] std::string url(std::string_view path = "/") const { return server_.url(path); }
  /// The status of the next answers (200 unless told otherwise).
  void answer_with(int status) { status_ = status; }
  /// The body of the next answers ("ok" unless told otherwise).
  void answer_body(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }

  /// Waits until `ready(requests)` holds, at most 20 s; false on timeout.
  template <class Predicate>
  bool await(Predicate ready) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return ready(received_); });
  }
  /// Requests answered, whatever the status.
  std::size_t attempts() {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  /// Waits until at least `n` requests were answered (any status), at most 20 s.
  bool await_attempts(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return attempts_ >= n; });
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  HttpServer::Response answer(const HttpServer::Request& request) {
    const int status = status_.load();
    std::string body;
    {
      std::lock_guard lock(mutex_);
      ++attempts_;
      if (status >= 200 && status < 300) received_.push_back({request.target, request.body});
      body = body_;
    }
    changed_.notify_all();
    return {status, {}, body};
  }

  std::atomic<int> status_{200};
  std::string body_ = "ok";
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  std::size_t attempts_ = 0;
  HttpServer server_;  // last: its threads stop before the state they use goes
};

}  // namespace traffic::test
