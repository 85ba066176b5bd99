#include "traffic/lid/lid_store.hpp"

#include "traffic/lid/click_record.hpp"

namespace traffic::lid {

InMemoryLidStore::InMemoryLidStore(std::size_t max_records, std::chrono::seconds ttl)
    : max_records_(max_records == 0 ? 1 : max_records),
      ttl_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count()),
      ring_(2 * max_records_) {
  records_.reserve(max_records_);
}

// Lids put twice leave stale slots; when they fill the ring (twice the bound), the live
// slots are renumbered to its front, in order. At most once per `max_records` puts.
void InMemoryLidStore::compact() {
  std::vector<Slot> live;
  live.reserve(records_.size());
  for (std::uint64_t s = oldest_sequence_; s < next_sequence_; ++s) {
    Slot& slot = ring_[s % ring_.size()];
    const auto it = records_.find(slot.lid);
    if (it != records_.end() && it->second.sequence == slot.sequence) live.push_back(std::move(slot));
  }
  oldest_sequence_ = next_sequence_;
  for (Slot& slot : live) {
    const std::uint64_t sequence = next_sequence_++;
    records_.find(slot.lid)->second.sequence = sequence;
    slot.sequence = sequence;
    ring_[sequence % ring_.size()] = std::move(slot);
  }
}

// Removes the oldest live record and hands back its node (empty when there was none).
InMemoryLidStore::Records::node_type InMemoryLidStore::evict_oldest() {
  while (oldest_sequence_ < next_sequence_) {
    Slot& slot = ring_[oldest_sequence_ % ring_.size()];
    ++oldest_sequence_;
    const auto it = records_.find(slot.lid);
    // A lid put again later has a newer sequence: this slot is stale, skip it.
    if (it != records_.end() && it->second.sequence == slot.sequence) return records_.extract(it);
  }
  return {};
}

void InMemoryLidStore::put(std::string_view lid, std::string_view record, TimestampMs now) {
  std::lock_guard lock(mutex_);
  // Expired records leave from the old end as new ones arrive.
  while (oldest_sequence_ < next_sequence_) {
    const Slot& slot = ring_[oldest_sequence_ % ring_.size()];
    const auto it = records_.find(slot.lid);
    if (it != records_.end() && it->second.sequence == slot.sequence && it->second.stored_at + ttl_ms_ > now) break;
    if (it != records_.end() && it->second.sequence == slot.sequence) records_.erase(it);
    ++oldest_sequence_;
  }
  if (next_sequence_ - oldest_sequence_ == ring_.size()) compact();
  const std::uint64_t sequence = next_sequence_++;
  Slot& slot = ring_[sequence % ring_.size()];
  slot.lid.assign(lid);
  slot.sequence = sequence;

  if (const auto existing = records_.find(slot.lid); existing != records_.end()) {
    existing->second.record.assign(record);
    existing->second.stored_at = now;
    existing->second.sequence = sequence;
    return;
  }
  Records::node_type node;
  if (records_.size() >= max_records_) node = evict_oldest();
  if (node.empty()) {
    records_.emplace(slot.lid, Entry{std::string(record), now, sequence});
    return;
  }
  node.key().assign(lid);  // reuse the evicted node and its string capacity
  node.mapped().record.assign(record);
  node.mapped().stored_at = now;
  node.mapped().sequence = sequence;
  records_.insert(std::move(node));
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
  batch_.clear();
  for (std::string_view record : records) {
    if (record_field(record, "event") != "traffic-api") continue;  // conversions and resends are not clicks
    const std::string_view lid = record_field(record, "lid");
    if (lid.empty()) continue;
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    batch_.push_back({lid, record});
  }
  return batch_.empty() || store_.put_many(batch_, now_());
}

}  // namespace traffic::lid
