#pragma once
// The process-wide current recipe: atomic swaps for writers, lock-free reads for clicks.

#include <atomic>
#include <boost/system/result.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "traffic/common/published.hpp"
#include "traffic/recipe/snapshot.hpp"

namespace traffic::recipe {

/// When each file of a recipe was written (ms). Updates applied since that are newer than
/// their record's file are applied again on top of it: a full reload keeps them.
struct FileTimes {
  TimestampMs offers = std::numeric_limits<TimestampMs>::max();
  TimestampMs campaigns = std::numeric_limits<TimestampMs>::max();
};

/// Holds the current Snapshot. Readers never see a half-built recipe: a new recipe is
/// parsed and indexed aside, then installed by swapping one pointer (common/published.hpp).
///
/// Thread-safety: every method may be called from any thread. Writers (`replace`, `apply`)
/// are serialised by a mutex. The click path reads through a per-thread SnapshotCache,
/// whose steady state is one atomic load of the version number.
class Store {
 public:
  enum class ApplyOutcome { applied, ignored_stale };

  Store();

  /// The current snapshot (never null; an empty version-0 snapshot before the first load).
  [[nodiscard]] std::shared_ptr<const Snapshot> current() const { return current_.load(); }
  /// Version of the current snapshot; increases by one with every replace/apply.
  [[nodiscard]] std::uint64_t version() const noexcept { return current_.version(); }
  /// True once a whole recipe has been installed by replace() (trafficd is not ready
  /// before). Record updates applied before that do not count: a handful of records is
  /// not a recipe.
  [[nodiscard]] bool loaded() const noexcept { return loaded_.load(std::memory_order_acquire); }

  /// Installs a whole new recipe and returns its version. Refused with
  /// LoadError::empty_recipe when it has no records but the current one has. With the
  /// default `as_of` (files newer than any update) earlier updates are forgotten.
  boost::system::result<std::uint64_t> replace(std::vector<Offer> offers, std::vector<Campaign> campaigns,
                                               FileTimes as_of = {});
  /// Installs an already-built snapshot (renumbered to the next version). Same refusal.
  boost::system::result<std::uint64_t> replace(const Snapshot& snapshot);

  /// Applies one record update as a new version. An update older than the record's last
  /// applied update is ignored (messages may arrive out of order).
  ApplyOutcome apply(const RecordUpdate& update);

 private:
  boost::system::result<std::uint64_t> install_locked(
      const std::shared_ptr<const Snapshot>& next);  // holds write_mutex_

  std::mutex write_mutex_;  ///< serialises writers
  /// The last applied update of each record since the last full reload (guarded by
  /// write_mutex_), to re-apply the ones newer than the next files.
  std::map<std::pair<RecordKind, RecordId>, RecordUpdate> updates_;
  Published<Snapshot> current_;
  std::atomic<bool> loaded_{false};
  friend class SnapshotCache;
};

/// A per-thread view of a Store for the click path: `get()` costs one atomic load while
/// the version is unchanged. The returned reference stays valid until the next `get()`.
///
/// Not thread-safe: one instance per thread (e.g. per event loop).
class SnapshotCache {
 public:
  explicit SnapshotCache(const Store& store) : reader_(store.current_) {}
  const Snapshot& get() { return reader_.get(); }

 private:
  Published<Snapshot>::Reader reader_;
};

}  // namespace traffic::recipe
