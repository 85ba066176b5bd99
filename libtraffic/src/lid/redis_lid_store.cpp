#include "traffic/lid/redis_lid_store.hpp"

namespace traffic::lid {

RedisLidStore::RedisLidStore(const redis::Endpoint& endpoint, std::string key_prefix, std::chrono::seconds ttl)
    : prefix_(std::move(key_prefix)),
      ttl_seconds_(std::to_string(ttl.count())),
      batch_connection_(endpoint),
      lookup_connection_(endpoint) {}

std::string RedisLidStore::key(std::string_view lid, std::string_view suffix) const {
  std::string out;
  out.reserve(prefix_.size() + 4 + lid.size() + suffix.size());
  return out.append(prefix_).append("lid:").append(lid).append(suffix);
}

void RedisLidStore::put(std::string_view lid, std::string_view record, TimestampMs now) {
  const LidRecord one{lid, record};
  if (!put_many({&one, 1}, now)) throw LidStoreUnavailable("lid store: " + last_error());
}

bool RedisLidStore::put_many(std::span<const LidRecord> records, TimestampMs) {
  std::lock_guard lock(batch_mutex_);
  for (const LidRecord& r : records) batch_connection_.append({"SET", key(r.lid), r.record, "EX", ttl_seconds_});
  if (!batch_connection_.execute(batch_replies_)) {
    batch_error_ = batch_connection_.last_error();
    return false;
  }
  for (const redis::Reply& reply : batch_replies_) {
    if (reply.is_error()) {
      batch_error_ = reply.text;
      return false;
    }
  }
  batch_error_.clear();
  return true;
}

redis::Reply RedisLidStore::lookup(std::initializer_list<std::string_view> command) {
  std::lock_guard lock(lookup_mutex_);
  lookup_connection_.append(command);
  if (!lookup_connection_.execute(lookup_replies_) || lookup_replies_.empty()) {
    throw LidStoreUnavailable("lid store: " + lookup_connection_.last_error());
  }
  if (lookup_replies_[0].is_error()) throw LidStoreUnavailable("lid store: " + lookup_replies_[0].text);
  return std::move(lookup_replies_[0]);
}

std::optional<std::string> RedisLidStore::get(std::string_view lid, TimestampMs) {
  redis::Reply reply = lookup({"GET", key(lid)});
  if (reply.type != redis::Reply::Type::string) return std::nullopt;
  return std::move(reply.text);
}

namespace {
std::string_view mark_suffix(LidMark mark) noexcept {
  return mark == LidMark::converted ? ":converted" : ":resent";
}
}  // namespace

bool RedisLidStore::mark(std::string_view lid, LidMark mark, TimestampMs) {
  // SET NX answers OK to the first caller only, across every instance.
  return lookup({"SET", key(lid, mark_suffix(mark)), "1", "NX", "EX", ttl_seconds_}).type == redis::Reply::Type::status;
}

void RedisLidStore::clear_mark(std::string_view lid, LidMark mark) {
  (void)lookup({"DEL", key(lid, mark_suffix(mark))});
}

std::string RedisLidStore::last_error() const {
  std::lock_guard lock(batch_mutex_);
  return batch_error_;
}

}  // namespace traffic::lid
