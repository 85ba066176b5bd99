#include "traffic/lid/unique_visits.hpp"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace traffic::lid {

Fingerprint fingerprint(const device::DeviceInfo& device, std::string_view accept, std::string_view accept_language,
                        std::string_view country) noexcept {
  thread_local std::string input;  // the parts, each ended by a unit separator
  input.clear();
  for (const std::string_view part :
       {std::string_view(device.browser_family), std::string_view(device.browser_major),
        std::string_view(device.os_family), std::string_view(device.device_family), accept, accept_language, country}) {
    input.append(part);
    input.push_back('\x1f');
  }
  const std::uint64_t hash = XXH3_64bits(input.data(), input.size());
  Fingerprint out;
  out.fill('0');
  char digits[16];
  const auto result = std::to_chars(digits, digits + 16, hash, 16);
  const auto length = static_cast<std::size_t>(result.ptr - digits);
  std::copy(digits, digits + length, out.data() + (16 - length));
  return out;
}

InMemoryUniqueVisits::InMemoryUniqueVisits(std::size_t max_visits, std::chrono::seconds window)
    : per_shard_(std::max<std::size_t>(1, max_visits / 64)),
      window_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(window).count()) {}

namespace {
std::uint64_t visit_key(std::string_view fingerprint, recipe::RecordId campaign) noexcept {
  return XXH3_64bits_withSeed(fingerprint.data(), fingerprint.size(), static_cast<XXH64_hash_t>(campaign));
}
}  // namespace

bool InMemoryUniqueVisits::first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) {
  return insert(visit_key(fingerprint, campaign), now, now);
}

void InMemoryUniqueVisits::remember(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs at,
                                    TimestampMs now) {
  if (at + window_ms_ <= now) return;  // already outside the window
  (void)insert(visit_key(fingerprint, campaign), at, now);
}

bool InMemoryUniqueVisits::insert(std::uint64_t key, TimestampMs at, TimestampMs now) {
  Shard& shard = shards_[key % shards_.size()];
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.seen.try_emplace(key, at);
  if (!inserted) {
    if (it->second + window_ms_ > now) {
      it->second = std::min(it->second, at);  // the window runs from the earliest visit known
      return false;
    }
    it->second = at;  // the window passed: a new first visit
    return true;
  }
  if (shard.seen.size() > per_shard_) {
    std::erase_if(shard.seen, [&](const auto& entry) { return entry.second + window_ms_ <= now; });
    if (shard.seen.size() > per_shard_) {
      shard.seen.clear();
      shard.seen.emplace(key, at);
      forced_resets_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return true;
}

UniqueVisitStats InMemoryUniqueVisits::stats() const {
  UniqueVisitStats out;
  out.forced_resets = forced_resets();
  return out;
}

std::uint64_t InMemoryUniqueVisits::forced_resets() const {
  return forced_resets_.load(std::memory_order_relaxed);
}

}  // namespace traffic::lid
