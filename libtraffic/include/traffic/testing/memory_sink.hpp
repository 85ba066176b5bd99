#pragma once
// A sink that keeps what it is given in memory, can be told to fail, can hold records until
// a flush (like the file sink), and lets a test await a number of records (no sleeps).

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "traffic/pipeline/emitter.hpp"
#include "traffic/pipeline/sink.hpp"

namespace traffic::test {

class MemorySink final : public pipeline::Sink {
 public:
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> records;  ///< delivered (durable)
    bool hold = false;                 ///< deliveries are held until flush()
    std::vector<std::string> held;
    int fail_next = 0;          ///< deliveries still to refuse
    int fail_next_flushes = 0;  ///< flushes still to fail (dropping what is held)
    int refused = 0;
    int flushes = 0;
    int failed_flushes = 0;
    int idles = 0;
    bool closed = false;
  };
  explicit MemorySink(Shared& shared) : shared_(shared) {}

  Result<> deliver(std::span<const std::string_view> records) override {
    std::lock_guard lock(shared_.mutex);
    if (shared_.fail_next > 0) {
      --shared_.fail_next;
      ++shared_.refused;
      shared_.changed.notify_all();
      return Failure(Errc::unavailable, "refused by the test");
    }
    for (const auto r : records) (shared_.hold ? shared_.held : shared_.records).emplace_back(r);
    shared_.changed.notify_all();
    return {};
  }
  [[nodiscard]] bool holding() const noexcept override {
    std::lock_guard lock(shared_.mutex);
    return !shared_.held.empty();
  }
  Result<> flush() override {
    std::lock_guard lock(shared_.mutex);
    if (shared_.held.empty()) return {};
    const bool fail = shared_.fail_next_flushes > 0;
    if (fail) {
      --shared_.fail_next_flushes;
      ++shared_.failed_flushes;
    } else {
      ++shared_.flushes;
      shared_.records.insert(shared_.records.end(), shared_.held.begin(), shared_.held.end());
    }
    shared_.held.clear();
    shared_.changed.notify_all();
    if (fail) return Failure(Errc::io, "flush failed by the test");
    return {};
  }
  Result<> idle() override {
    std::lock_guard lock(shared_.mutex);
    ++shared_.idles;
    shared_.changed.notify_all();
    return {};
  }
  void close() override {
    std::lock_guard lock(shared_.mutex);
    shared_.closed = true;
    shared_.changed.notify_all();
  }

  /// Waits until `ready()` holds (checked under the lock), at most `limit`.
  template <class Predicate>
  static bool await(Shared& shared, Predicate ready, std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(shared.mutex);
    return shared.changed.wait_for(lock, limit, [&] { return ready(shared); });
  }

 private:
  Shared& shared_;
};

/// Emitter settings that keep tests quick: short polls and backoffs, small batches.
inline pipeline::EmitterSettings quick_emitter(std::size_t batch_records) {
  pipeline::EmitterSettings s;
  s.batch_records = batch_records;
  s.poll = std::chrono::milliseconds(5);
  s.backoff_first = std::chrono::milliseconds(2);
  s.backoff_max = std::chrono::milliseconds(8);
  return s;
}

/// One MemorySink named "memory", as the Emitter takes its sinks.
inline std::vector<pipeline::Emitter::NamedSink> memory_sinks(MemorySink::Shared& shared) {
  std::vector<pipeline::Emitter::NamedSink> sinks;
  sinks.push_back({"memory", std::make_unique<MemorySink>(shared)});
  return sinks;
}

}  // namespace traffic::test
