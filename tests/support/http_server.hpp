#pragma once
// A small threaded HTTP/1.1 server for tests (keep-alive, Content-Length bodies): each
// request goes to a handler function. It can be stopped and started again on the same
// port, to play an outage. Used by the collector and the S3 fake.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace traffic::test {

class HttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;

    /// The first header of that (lower-case) name; "" when absent.
    [[nodiscard]] std::string header(std::string_view name) const {
      for (const auto& [key, value] : headers) {
        if (key == name) return value;
      }
      return {};
    }
  };
  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool truncate = false;  ///< announce the whole body, send half of it, close
  };
  using Handler = std::function<Response(const Request&)>;

  /// Listens on 127.0.0.1:`port` (0: a free port).
  explicit HttpServer(Handler handler, unsigned short port = 0) : handler_(std::move(handler)) { start(port); }
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start(unsigned short port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0) {
      throw std::runtime_error("test server: cannot listen on port " + std::to_string(port));
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this, fd = listener_] { accept_loop(fd); });
  }

  /// Closes the listener and every connection: the server is down (start(port()) again).
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
        if (n <= 0) return;
        pending.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string head = pending.substr(0, header_end);
      Request request;
      const auto line_end = head.find("\r\n");
      const std::string line = head.substr(0, line_end);
      const auto space = line.find(' ');
      request.method = line.substr(0, space);
      request.target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);
      std::size_t length = 0;
      for (std::size_t at = line_end; at != std::string::npos && at < head.size();) {
        at += 2;
        const auto next = head.find("\r\n", at);
        const std::string header = head.substr(at, next == std::string::npos ? std::string::npos : next - at);
        at = next;
        const auto colon = header.find(':');
        if (colon == std::string::npos) continue;
        std::string name = header.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = header.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (name == "content-length") length = std::stoul(value);
        request.headers.emplace_back(std::move(name), std::move(value));
      }
      while (pending.size() < header_end + 4 + length) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        pending.append(chunk, static_cast<std::size_t>(n));
      }
      request.body = pending.substr(header_end + 4, length);
      pending.erase(0, header_end + 4 + length);
      const Response response = handler_(request);
      std::string answer = "HTTP/1.1 " + std::to_string(response.status) + " X\r\n";
      for (const auto& [name, value] : response.headers) answer += name + ": " + value + "\r\n";
      answer += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
      answer += response.truncate ? response.body.substr(0, response.body.size() / 2) : response.body;
      if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) <= 0) return;
      if (response.truncate) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  Handler handler_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
};

}  // namespace traffic::test
