#include "traffic/lid/lid_store.hpp"

namespace traffic::lid {

std::string_view record_field(std::string_view record, std::string_view name) {
  std::string key;
  key.reserve(name.size() + 4);
  key.append("\"").append(name).append("\":\"");
  const auto at = record.find(key);
  if (at == std::string_view::npos) return {};
  const auto begin = at + key.size();
  const auto end = record.find('"', begin);
  return end == std::string_view::npos ? std::string_view() : record.substr(begin, end - begin);
}

InMemoryLidStore::InMemoryLidStore(std::size_t max_records, std::chrono::seconds ttl)
    : max_records_(max_records == 0 ? 1 : max_records),
      ttl_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count()) {}

void InMemoryLidStore::evict_oldest() {
  auto oldest = order_.begin();
  records_.erase(oldest->second);
  order_.erase(oldest);
}

void InMemoryLidStore::put(std::string_view lid, std::string_view record, TimestampMs now) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = records_.try_emplace(std::string(lid));
  if (!inserted) order_.erase(it->second.sequence);
  it->second.record.assign(record);
  it->second.stored_at = now;
  it->second.sequence = next_sequence_++;
  order_.emplace(it->second.sequence, it->first);
  while (records_.size() > max_records_) evict_oldest();
  // Expired records leave from the old end as new ones arrive.
  while (!order_.empty() && records_.at(order_.begin()->second).stored_at + ttl_ms_ <= now) evict_oldest();
}

std::optional<std::string> InMemoryLidStore::get(std::string_view lid, TimestampMs now) {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(std::string(lid));
  if (it == records_.end() || it->second.stored_at + ttl_ms_ <= now) return std::nullopt;
  return it->second.record;
}

bool InMemoryLidStore::mark_converted(std::string_view lid, TimestampMs now) {
  std::lock_guard lock(mutex_);
  if (converted_.size() >= max_records_) {  // bounded like the records: expired marks go
    std::erase_if(converted_, [&](const auto& mark) { return mark.second + ttl_ms_ <= now; });
  }
  auto [it, inserted] = converted_.try_emplace(std::string(lid), now);
  if (!inserted && it->second + ttl_ms_ <= now) {  // an expired mark counts as none
    it->second = now;
    return true;
  }
  return inserted;
}

void InMemoryLidStore::clear_converted(std::string_view lid) {
  std::lock_guard lock(mutex_);
  converted_.erase(std::string(lid));
}

std::size_t InMemoryLidStore::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

bool LidStoreSink::deliver(std::span<const std::string_view> records) {
  const TimestampMs now = now_();
  for (std::string_view record : records) {
    if (record_field(record, "event") != "traffic-api") continue;  // conversions and resends are not clicks
    const std::string_view lid = record_field(record, "lid");
    if (lid.empty()) continue;
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    store_.put(lid, record, now);
  }
  return true;
}

}  // namespace traffic::lid
