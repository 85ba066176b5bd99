#include "traffic/lid/lid_store.hpp"

#include "traffic/lid/click_record.hpp"

namespace traffic::lid {

namespace {
// Puts `record` in `kept`, reusing its buffer unless that is far larger than the record
// (an earlier long one): the byte bound counts capacity, and short records after a flood
// of long ones must not keep the long ones' buffers.
void keep(std::string& kept, std::string_view record) {
  if (kept.capacity() > 4 * record.size()) {
    std::string(record).swap(kept);  // a move assignment of a short string would keep the buffer
  } else {
    kept.assign(record);
  }
}
}  // namespace

InMemoryLidStore::InMemoryLidStore(std::size_t max_records, std::size_t max_bytes, std::chrono::seconds ttl)
    : max_records_(max_records == 0 ? 1 : max_records),
      max_bytes_(max_bytes),
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
    if (it != records_.end() && it->second.sequence == slot.sequence) {
      bytes_ -= cost(it->first, it->second);
      return records_.extract(it);
    }
  }
  return {};
}

void InMemoryLidStore::erase(Records::iterator it) {
  bytes_ -= cost(it->first, it->second);
  records_.erase(it);
}

Result<> InMemoryLidStore::put_many(std::span<const LidRecord> records, TimestampMs now) {
  for (const LidRecord& r : records) put_one(r.lid, r.record, now);
  return {};
}

void InMemoryLidStore::put_one(std::string_view lid, std::string_view record, TimestampMs now) {
  std::lock_guard lock(mutex_);
  // Expired records leave from the old end as new ones arrive.
  while (oldest_sequence_ < next_sequence_) {
    const Slot& slot = ring_[oldest_sequence_ % ring_.size()];
    const auto it = records_.find(slot.lid);
    if (it != records_.end() && it->second.sequence == slot.sequence && it->second.stored_at + ttl_ms_ > now) break;
    if (it != records_.end() && it->second.sequence == slot.sequence) erase(it);
    ++oldest_sequence_;
  }
  if (next_sequence_ - oldest_sequence_ == ring_.size()) compact();
  const std::uint64_t sequence = next_sequence_++;
  Slot& slot = ring_[sequence % ring_.size()];
  slot.lid.assign(lid);
  slot.sequence = sequence;

  if (const auto existing = records_.find(slot.lid); existing != records_.end()) {
    bytes_ -= cost(existing->first, existing->second);
    keep(existing->second.record, record);
    existing->second.stored_at = now;
    existing->second.sequence = sequence;
    bytes_ += cost(existing->first, existing->second);
    trim();
    return;
  }
  // The oldest records make room, by count and by bytes; the last one evicted lends its
  // node and string capacity to the new record.
  const std::size_t need = lid.size() + record.size() + kRecordOverheadBytes;
  Records::node_type node;
  while (!records_.empty() && (records_.size() >= max_records_ || bytes_ + need > max_bytes_)) {
    node = evict_oldest();
    if (node.empty()) break;
  }
  if (node.empty()) {
    const auto it = records_.emplace(slot.lid, Entry{std::string(record), now, sequence}).first;
    bytes_ += cost(it->first, it->second);
  } else {
    node.key().assign(lid);  // reuse the evicted node and its string capacity
    keep(node.mapped().record, record);
    node.mapped().stored_at = now;
    node.mapped().sequence = sequence;
    bytes_ += cost(node.key(), node.mapped());
    records_.insert(std::move(node));
  }
  trim();
}

// A reused buffer may be larger than its record: older records go until the bytes are
// within the bound. The newest record stays, even alone over it.
void InMemoryLidStore::trim() {
  while (bytes_ > max_bytes_ && records_.size() > 1) {
    if (evict_oldest().empty()) break;
  }
}

Result<std::optional<std::string>> InMemoryLidStore::get(std::string_view lid, TimestampMs now) {
  std::lock_guard lock(mutex_);
  const auto it = records_.find(std::string(lid));
  if (it == records_.end() || it->second.stored_at + ttl_ms_ <= now) return std::optional<std::string>();
  return std::optional<std::string>(it->second.record);
}

Result<bool> InMemoryLidStore::mark(std::string_view lid, LidMark mark, TimestampMs now) {
  std::lock_guard lock(mutex_);
  auto& marks = marks_[static_cast<std::size_t>(mark)];
  if (marks.size() >= max_records_) {  // bounded like the records: expired marks go
    std::erase_if(marks, [&](const auto& m) { return m.second + ttl_ms_ <= now; });
  }
  auto [it, inserted] = marks.try_emplace(std::string(lid), now);
  if (!inserted && it->second + ttl_ms_ <= now) {  // an expired mark counts as none
    it->second = now;
    return true;
  }
  return inserted;
}

Result<> InMemoryLidStore::clear_mark(std::string_view lid, LidMark mark) {
  std::lock_guard lock(mutex_);
  marks_[static_cast<std::size_t>(mark)].erase(std::string(lid));
  return {};
}

std::size_t InMemoryLidStore::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

std::size_t InMemoryLidStore::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace traffic::lid
