#include "traffic/common/ticker.hpp"

#include <pthread.h>

namespace traffic {

void Ticker::start(std::string name, std::chrono::milliseconds interval, std::function<void()> task) {
  thread_ = std::thread([this, name = std::move(name), interval, task = std::move(task)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      task();
      lock.lock();
      signal_.wait_for(lock, interval, [&] { return stopping_; });
    }
    lock.unlock();
    task();  // what happened since the last run
  });
}

void Ticker::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  signal_.notify_all();
  thread_.join();
}

}  // namespace traffic
