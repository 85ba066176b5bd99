#pragma once
// Unique visits (SPEC.md §9): a visitor's fingerprint, and whether this is its first visit
// to a campaign in 24 hours — `SET fp:<fingerprint>-<campaignId> NX EX 86400` in Redis, or
// the same in process (single-instance mode).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "traffic/common/time.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::lid {

/// 16 lower-case hex digits of XXH3-64 over the browser family and major version, the OS
/// family, the device family, `Accept`, `Accept-Language` and the country. Stable across
/// builds, machines and instances (instances sharing Redis compute the same value).
using Fingerprint = std::array<char, 16>;
[[nodiscard]] Fingerprint fingerprint(const device::DeviceInfo& device, std::string_view accept,
                                      std::string_view accept_language, std::string_view country) noexcept;

class UniqueVisits {
 public:
  virtual ~UniqueVisits() = default;
  /// True for the first visit of `fingerprint` to `campaign` within the window; the visit
  /// is remembered either way (atomic: two instances never both see a first visit).
  virtual bool first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) = 0;
};

/// In process: 64 shards, each a map of 64-bit key hashes to first-seen times, behind its
/// own mutex. Bounded: a shard past its share of `max_visits` drops its expired entries,
/// and if that is not enough, all of them (later visits then count as unique again —
/// memory wins over precision, and it is counted).
class InMemoryUniqueVisits final : public UniqueVisits {
 public:
  explicit InMemoryUniqueVisits(std::size_t max_visits, std::chrono::seconds window = std::chrono::hours(24));
  bool first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) override;
  [[nodiscard]] std::uint64_t forced_resets() const;

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, TimestampMs> seen;
  };
  std::size_t per_shard_;
  TimestampMs window_ms_;
  std::array<Shard, 64> shards_;
  std::atomic<std::uint64_t> forced_resets_{0};
};

}  // namespace traffic::lid
