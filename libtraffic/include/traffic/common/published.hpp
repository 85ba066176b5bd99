#pragma once
// One immutable object at a time, replaced by writers, read by many threads without
// contention: the mechanism behind the recipe Store and the geo databases.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace traffic {

/// Holds the current version of an immutable `T`. Writers `publish()` a new object; readers
/// either take a `shared_ptr` copy (`load()`, a short mutex) or, on hot paths, keep a
/// per-thread `Published<T>::Reader`, whose steady state is one atomic load of the version
/// number — no lock and no shared reference-count traffic between cores.
///
/// (std::atomic<std::shared_ptr> in GCC 12 releases its internal lock with relaxed ordering
/// in load(), a data race under the C++ memory model that ThreadSanitizer reports; hence
/// this design.)
template <class T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial, std::uint64_t version = 0)
      : current_(std::move(initial)), version_(version) {}

  [[nodiscard]] std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  [[nodiscard]] std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// Installs `next` as version `version` (must increase). The replaced object is released
  /// after the lock, and lives on while any reader still holds it.
  void publish(std::shared_ptr<const T> next, std::uint64_t version) {
    std::shared_ptr<const T> retired;
    {
      std::lock_guard lock(mutex_);
      retired = std::exchange(current_, std::move(next));
    }
    // Published after the pointer: a reader that sees the new version and then takes the
    // pointer gets this object or a later one.
    version_.store(version, std::memory_order_release);
  }

  /// A per-thread view. Not thread-safe: one per thread (e.g. per event loop).
  class Reader {
   public:
    explicit Reader(const Published& source) : source_(source), version_(source.version()), cached_(source.load()) {}
    /// The current object. The reference stays valid until the next `get()` on this reader.
    const T& get() {
      const std::uint64_t latest = source_.version();
      if (latest != version_) {
        cached_ = source_.load();
        version_ = latest;
      }
      return *cached_;
    }
    /// The version of the object returned by the last get().
    [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
    /// Keeps the object returned by the last get() alive beyond the next one.
    [[nodiscard]] const std::shared_ptr<const T>& hold() const noexcept { return cached_; }

   private:
    const Published& source_;
    std::uint64_t version_;
    std::shared_ptr<const T> cached_;
  };

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> version_;
};

}  // namespace traffic
