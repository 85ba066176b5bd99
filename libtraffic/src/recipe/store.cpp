#include "traffic/recipe/store.hpp"

namespace traffic::recipe {

Store::Store() : current_(Snapshot::build({}, {}, 0), 0) {}

boost::system::result<std::uint64_t> Store::replace(std::vector<Offer> offers, std::vector<Campaign> campaigns,
                                                    FileTimes as_of) {
  // Build outside the lock: indexing a large recipe takes long, and readers are unaffected.
  std::shared_ptr<const Snapshot> next = Snapshot::build(std::move(offers), std::move(campaigns));
  std::lock_guard lock(write_mutex_);
  if (next->empty() && !current_.load()->empty()) return LoadError::empty_recipe;  // updates kept
  std::erase_if(updates_, [&](const auto& entry) {
    const RecordUpdate& update = entry.second;
    return update.timestamp <= (update.kind == RecordKind::offer ? as_of.offers : as_of.campaigns);
  });
  for (const auto& [key, update] : updates_) next = next->with_update(update, 0);  // newer than its file
  return install_locked(next);
}

boost::system::result<std::uint64_t> Store::replace(const Snapshot& snapshot) {
  std::lock_guard lock(write_mutex_);
  updates_.clear();
  return install_locked(snapshot.renumbered(0));
}

boost::system::result<std::uint64_t> Store::install_locked(const std::shared_ptr<const Snapshot>& next) {
  const auto previous = current_.load();
  // An empty file where there were records is an upstream failure, not a business
  // decision: serving 404 to every click would be the result.
  if (next->empty() && !previous->empty()) return LoadError::empty_recipe;
  const std::uint64_t version = previous->version() + 1;
  current_.publish(next->renumbered(version), version);
  loaded_.store(true, std::memory_order_release);
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
  updates_.insert_or_assign(std::pair(update.kind, update.id), update);
  return ApplyOutcome::applied;
}

}  // namespace traffic::recipe
