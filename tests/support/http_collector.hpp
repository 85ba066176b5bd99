#pragma once
// A small HTTP/1.1 server standing in for a click collector: keeps every request it
// accepted, answers with a chosen status, can be stopped and started again on the same
// port, and lets a test await a number of requests (no sleeps).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace traffic::test {

class HttpCollector {
 public:
  struct Received {
    std::string target;
    std::string body;
  };

  /// Listens on 127.0.0.1:`port` (0: a free port).
  explicit HttpCollector(unsigned short port = 0) { start(port); }
  ~HttpCollector() { stop(); }
  HttpCollector(const HttpCollector&) = delete;
  HttpCollector& operator=(const HttpCollector&) = delete;

  void start(unsigned short port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0) {
      throw std::runtime_error("collector: cannot listen on port " + std::to_string(port));
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this, fd = listener_] { accept_loop(fd); });
  }

  /// Closes the listener and every connection: the collector is down.
  void stop() {
    if (listener_ < 0) return;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept4; closed once the acceptor is gone
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listener_);
    listener_ = -1;
    {
      std::lock_guard lock(mutex_);
      for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (const int fd : connections_) ::close(fd);  // closed only here: no descriptor reuse races
    workers_.clear();
    connections_.clear();
  }

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  [[nodiscard]] std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  /// The status of the next answers (200 unless told otherwise).
  void answer_with(int status) { status_ = status; }

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
  // The listening descriptor is passed in: stop() resets the member while this runs.
  void accept_loop(int listener) {
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mutex_);
      connections_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string pending;
    char chunk[65536];
    for (;;) {
      std::size_t header_end = 0;
      while ((header_end = pending.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        pending.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string head = pending.substr(0, header_end);
      std::size_t length = 0;
      for (std::size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos;) {
        at += 2;
        std::string name = head.substr(at, head.find(':', at) - at);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "content-length") length = std::stoul(head.substr(head.find(':', at) + 1));
      }
      while (pending.size() < header_end + 4 + length) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        pending.append(chunk, static_cast<std::size_t>(n));
      }
      const int status = status_.load();
      {
        std::lock_guard lock(mutex_);
        ++attempts_;
        if (status >= 200 && status < 300) {
          const auto space = head.find(' ');
          received_.push_back(
              {head.substr(space + 1, head.find(' ', space + 1) - space - 1), pending.substr(header_end + 4, length)});
        }
      }
      changed_.notify_all();
      pending.erase(0, header_end + 4 + length);
      const std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\n\r\nok";
      if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) <= 0) return finish(fd);
    }
  }
  void finish(int) {}

  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<int> status_{200};
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
  std::vector<Received> received_;
  std::size_t attempts_ = 0;
};

}  // namespace traffic::test
