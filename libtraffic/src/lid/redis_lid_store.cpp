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

Result<> RedisLidStore::put_many(std::span<const LidRecord> records, TimestampMs) {
  std::lock_guard lock(batch_mutex_);
  for (const LidRecord& r : records) batch_connection_.append({"SET", key(r.lid), r.record, "EX", ttl_seconds_});
  if (auto exchanged = batch_connection_.execute(batch_replies_); !exchanged) return exchanged;
  for (const redis::Reply& reply : batch_replies_) {
    if (reply.is_error()) return Failure(Errc::refused, "lid store: " + reply.text);
  }
  return {};
}

Result<redis::Reply> RedisLidStore::lookup(std::initializer_list<std::string_view> command) {
  std::lock_guard lock(lookup_mutex_);
  lookup_connection_.append(command);
  if (auto exchanged = lookup_connection_.execute(lookup_replies_); !exchanged) return exchanged.error();
  if (lookup_replies_.empty()) return Failure(Errc::unavailable, "lid store: no reply");
  if (lookup_replies_[0].is_error()) return Failure(Errc::unavailable, "lid store: " + lookup_replies_[0].text);
  return std::move(lookup_replies_[0]);
}

Result<std::optional<std::string>> RedisLidStore::get(std::string_view lid, TimestampMs) {
  Result<redis::Reply> reply = lookup({"GET", key(lid)});
  if (!reply) return reply.error();
  if (reply->type != redis::Reply::Type::string) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply->text));
}

namespace {
std::string_view mark_suffix(LidMark mark) noexcept {
  return mark == LidMark::converted ? ":converted" : ":resent";
}
}  // namespace

Result<bool> RedisLidStore::mark(std::string_view lid, LidMark mark, TimestampMs) {
  // SET NX answers OK to the first caller only, across every instance.
  Result<redis::Reply> reply = lookup({"SET", key(lid, mark_suffix(mark)), "1", "NX", "EX", ttl_seconds_});
  if (!reply) return reply.error();
  return reply->type == redis::Reply::Type::status;
}

Result<> RedisLidStore::clear_mark(std::string_view lid, LidMark mark) {
  Result<redis::Reply> reply = lookup({"DEL", key(lid, mark_suffix(mark))});
  if (!reply) return reply.error();
  return {};
}

}  // namespace traffic::lid
