#pragma once
// The process-wide current recipe: atomic swaps for writers, lock-free reads for clicks.

#include <atomic>
#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <mutex>

#include "traffic/recipe/snapshot.hpp"

namespace traffic::recipe {

/// Holds the current Snapshot. Readers never see a half-built recipe: a new recipe is
/// parsed and indexed aside, then installed by swapping one pointer.
///
/// Thread-safety: every method may be called from any thread. The click path reads through
/// a per-thread SnapshotCache, whose steady state is one atomic load of the version number:
/// no lock, no shared reference-count traffic between cores. Only after a swap does each
/// thread take `pointer_mutex_` once, for the few nanoseconds of a shared_ptr copy.
/// (std::atomic<std::shared_ptr> in GCC 12 is not race-free under the C++ memory model —
/// ThreadSanitizer reports it — so it is not used.)
class Store {
 public:
  enum class ApplyOutcome { applied, ignored_stale };

  Store();

  /// The current snapshot (never null; an empty version-0 snapshot before the first load).
  [[nodiscard]] std::shared_ptr<const Snapshot> current() const noexcept {
    std::lock_guard lock(pointer_mutex_);
    return current_;
  }
  /// Version of the current snapshot; increases by one with every replace/apply.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  /// True once a recipe has been installed (trafficd is not ready before).
  [[nodiscard]] bool loaded() const noexcept { return version() > 0; }

  /// Installs a whole new recipe and returns its version. Refused with
  /// LoadError::empty_recipe when it has no records but the current one has.
  boost::system::result<std::uint64_t> replace(std::vector<Offer> offers, std::vector<Campaign> campaigns);
  /// Installs an already-built snapshot (renumbered to the next version). Same refusal.
  boost::system::result<std::uint64_t> replace(const Snapshot& snapshot);

  /// Applies one record update as a new version. An update older than the record's last
  /// applied update is ignored (messages may arrive out of order).
  ApplyOutcome apply(const RecordUpdate& update);

 private:
  boost::system::result<std::uint64_t> install(std::shared_ptr<const Snapshot> next, bool check_shrink);
  void publish(std::shared_ptr<const Snapshot> next);

  std::mutex write_mutex_;            ///< serialises writers (held while computing a version)
  mutable std::mutex pointer_mutex_;  ///< guards current_ for the duration of a pointer copy
  std::shared_ptr<const Snapshot> current_;
  std::atomic<std::uint64_t> version_{0};
};

/// A per-thread view of a Store for the click path: `get()` costs one atomic load while
/// the version is unchanged and re-reads the store's pointer only after a swap. Keeps the
/// snapshot it returned alive until the next `get()` that sees a new version.
///
/// Not thread-safe: one instance per thread (e.g. per event loop).
class SnapshotCache {
 public:
  explicit SnapshotCache(const Store& store) : store_(store), cached_(store.current()) {}
  const Snapshot& get() noexcept {
    if (store_.version() != cached_->version()) cached_ = store_.current();
    return *cached_;
  }

 private:
  const Store& store_;
  std::shared_ptr<const Snapshot> cached_;
};

}  // namespace traffic::recipe
