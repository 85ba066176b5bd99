#pragma once
// The HTTP server: Boost.Beast on one event loop per thread, each with its own listening
// socket on the same port (SO_REUSEPORT: the kernel spreads connections, no lock is shared
// between threads). Requests are parsed here and answered by traffic::http::Worker.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "traffic/config/config.hpp"
#include "traffic/http/handler.hpp"

namespace trafficd {

class Server {
 public:
  /// Binds every thread's socket (throws std::system_error naming the address when it cannot).
  /// Past `max_connections` open connections, new ones get a 503 and are closed.
  Server(traffic::http::App& app, const traffic::config::Config& config, std::size_t max_connections);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port (useful with PORT=0).
  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  /// Starts the threads; returns at once.
  void start();
  /// Stops accepting, lets in-flight requests finish and closes idle connections; waits up
  /// to `grace` for connections to end, then stops the loops and joins the threads.
  void stop(std::chrono::seconds grace);

  /// From any thread: sends `event` (a whole Server-Sent Event, "data: …\n\n") to every open
  /// event stream. A stream still writing the previous one gets only the newest when done:
  /// a slow dashboard skips seconds, it never queues them.
  void publish(std::shared_ptr<const std::string> event);
  /// Event streams open now.
  [[nodiscard]] std::size_t streams() const noexcept { return streams_.load(std::memory_order_relaxed); }

  struct Loop;
  class Offload;

 private:
  traffic::http::App& app_;
  traffic::config::HttpLimits limits_;
  std::unique_ptr<Offload> offload_;
  unsigned short port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> streams_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace trafficd
