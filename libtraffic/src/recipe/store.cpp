#include "traffic/recipe/store.hpp"

namespace traffic::recipe {

Store::Store() : current_(Snapshot::build({}, {}, 0), 0) {}

boost::system::result<std::uint64_t> Store::replace(std::vector<Offer> offers, std::vector<Campaign> campaigns) {
  // Build outside the lock: indexing a large recipe takes long, and readers are unaffected.
  return install(Snapshot::build(std::move(offers), std::move(campaigns)));
}

boost::system::result<std::uint64_t> Store::replace(const Snapshot& snapshot) {
  return install(snapshot.renumbered(0));
}

boost::system::result<std::uint64_t> Store::install(std::shared_ptr<const Snapshot> next) {
  std::lock_guard lock(write_mutex_);
  const auto previous = current_.load();
  // An empty file where there were records is an upstream failure, not a business
  // decision: serving 404 to every click would be the result.
  if (next->empty() && !previous->empty()) return LoadError::empty_recipe;
  const std::uint64_t version = previous->version() + 1;
  current_.publish(next->renumbered(version), version);
  return version;
}

Store::ApplyOutcome Store::apply(const RecordUpdate& update) {
  std::lock_guard lock(write_mutex_);
  const auto previous = current_.load();
  if (auto last = previous->last_update(update.kind, update.id); last && update.timestamp < *last) {
    return ApplyOutcome::ignored_stale;
  }
  const std::uint64_t version = previous->version() + 1;
  current_.publish(previous->with_update(update, version), version);
  return ApplyOutcome::applied;
}

}  // namespace traffic::recipe
