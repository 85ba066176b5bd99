#include "traffic/recipe/store.hpp"

#include <utility>

namespace traffic::recipe {

Store::Store() : current_(Snapshot::build({}, {}, 0)) {}

boost::system::result<std::uint64_t> Store::replace(std::vector<Offer> offers, std::vector<Campaign> campaigns) {
  // Build outside the lock: indexing a large recipe takes long, and readers are unaffected.
  return install(Snapshot::build(std::move(offers), std::move(campaigns)), true);
}

boost::system::result<std::uint64_t> Store::replace(const Snapshot& snapshot) {
  return install(snapshot.renumbered(0), true);
}

boost::system::result<std::uint64_t> Store::install(std::shared_ptr<const Snapshot> next, bool check_shrink) {
  std::lock_guard lock(write_mutex_);
  const auto previous = current();
  // An empty file where there were records is an upstream failure, not a business
  // decision: serving 404 to every click would be the result.
  if (check_shrink && next->empty() && !previous->empty()) return LoadError::empty_recipe;
  const std::uint64_t version = previous->version() + 1;
  publish(next->renumbered(version));
  return version;
}

Store::ApplyOutcome Store::apply(const RecordUpdate& update) {
  std::lock_guard lock(write_mutex_);
  const auto previous = current();
  if (auto last = previous->last_update(update.kind, update.id); last && update.timestamp < *last) {
    return ApplyOutcome::ignored_stale;
  }
  const std::uint64_t version = previous->version() + 1;
  publish(previous->with_update(update, version));
  return ApplyOutcome::applied;
}

void Store::publish(std::shared_ptr<const Snapshot> next) {
  const std::uint64_t version = next->version();
  std::shared_ptr<const Snapshot> retired;
  {
    std::lock_guard lock(pointer_mutex_);
    retired = std::exchange(current_, std::move(next));
  }
  // The version is published after the pointer, so a reader that sees the new version
  // and then takes the pointer gets this snapshot or a later one.
  version_.store(version, std::memory_order_release);
  // `retired` is released here, outside the lock: freeing a large recipe takes a while.
}

}  // namespace traffic::recipe
