#pragma once
// A background task run every interval on its own named thread — the rhythm of the
// exchanges with Redis. stop() wakes the thread at once (no waiting out the interval) and
// runs the task one last time, so a clean shutdown leaves nothing behind.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace traffic {

class Ticker {
 public:
  Ticker() = default;
  ~Ticker() { stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  /// Starts the thread (`name`: at most 15 characters, shown by top/gdb); `task` runs at
  /// once, then `interval` after each run ends. At most one start() per Ticker.
  void start(std::string name, std::chrono::milliseconds interval, std::function<void()> task);
  /// Wakes the thread, waits for the task's final run and joins. Idempotent.
  void stop();

 private:
  std::mutex mutex_;
  std::condition_variable signal_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace traffic
