#pragma once
// Unique visits (SPEC.md §9): a visitor's fingerprint, and whether this is its first visit
// to a campaign in 24 hours — in process (InMemoryUniqueVisits, single-instance mode), or
// shared by every instance through Redis (RedisUniqueVisits, redis_unique_visits.hpp).

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

/// What /metrics shows about unique visits. The `shared` part is zero in process.
struct UniqueVisitStats {
  std::uint64_t forced_resets = 0;  ///< times the memory bound dropped remembered visits
  bool shared = false;              ///< visits are exchanged through Redis
  std::uint64_t rounds = 0;         ///< exchanges with Redis that succeeded
  std::uint64_t failed_rounds = 0;  ///< exchanges that could not reach Redis
  std::uint64_t unshared = 0;       ///< first visits waiting to be written to Redis
  std::uint64_t conflicts = 0;      ///< counted unique here, but another instance had it first
  std::uint64_t learned = 0;        ///< first visits learned from the other instances
  std::uint64_t dropped = 0;        ///< first visits never shared: the waiting queue was full
  TimestampMs last_success = 0;     ///< ms; 0 = never
};

/// Thread-safety: first_visit() may be called from any thread.
class UniqueVisits {
 public:
  virtual ~UniqueVisits() = default;
  /// True for the first visit of `fingerprint` to `campaign` within the window; the visit
  /// is remembered either way. Never blocks on I/O.
  virtual bool first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) = 0;
  [[nodiscard]] virtual UniqueVisitStats stats() const = 0;
};

/// In process: 64 shards, each a map of 64-bit key hashes to first-seen times, behind its
/// own mutex. Bounded: a shard past its share of `max_visits` drops its expired entries,
/// and if that is not enough, all of them (later visits then count as unique again —
/// memory wins over precision, and it is counted).
class InMemoryUniqueVisits final : public UniqueVisits {
 public:
  explicit InMemoryUniqueVisits(std::size_t max_visits, std::chrono::seconds window = std::chrono::hours(24));
  bool first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) override;
  /// Records a visit made at `at` (learned from another instance) without answering: a
  /// later first_visit() within the window of the earliest known visit is not a first.
  void remember(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs at, TimestampMs now);
  [[nodiscard]] std::uint64_t forced_resets() const;
  [[nodiscard]] UniqueVisitStats stats() const override;

 private:
  // Inserts `key` seen at `at`; true when it was not known within the window. Holds the
  // shard's lock; applies the memory bound.
  bool insert(std::uint64_t key, TimestampMs at, TimestampMs now);
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
