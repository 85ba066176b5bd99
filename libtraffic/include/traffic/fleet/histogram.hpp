#pragma once
// Request-handling times, measured by the server, as a log-linear histogram (SPEC.md §14:
// the fleet view's p50/p99 are the server's own, not a client's estimate). Eight buckets per
// power of two from 1 µs to ~17 s: a quantile is known to within 1/16 of its value.
//
// One writer per histogram (a request thread's), relaxed counters on the writer's side;
// readers take snapshots from any thread and diff two of them for the last interval.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace traffic::fleet {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBuckets = 8;   ///< per power of two
  static constexpr unsigned kFirstPower = 10;  ///< 2^10 ns ≈ 1 µs: below it, bucket 0
  static constexpr unsigned kLastPower = 34;   ///< 2^34 ns ≈ 17 s: at or above it, the last bucket
  static constexpr std::size_t kBuckets = (kLastPower - kFirstPower) * kSubBuckets + 2;

  using Counts = std::array<std::uint64_t, kBuckets>;

  /// The bucket of a time in nanoseconds.
  [[nodiscard]] static constexpr std::size_t bucket_of(std::uint64_t ns) noexcept {
    if (ns < (std::uint64_t{1} << kFirstPower)) return 0;
    const unsigned power = static_cast<unsigned>(std::bit_width(ns)) - 1;
    if (power >= kLastPower) return kBuckets - 1;
    const unsigned sub = static_cast<unsigned>((ns >> (power - 3)) & (kSubBuckets - 1));  // 3 = log2(kSubBuckets)
    return 1 + (power - kFirstPower) * kSubBuckets + sub;
  }
  /// The middle of a bucket, in nanoseconds: what a quantile falling in it reports.
  [[nodiscard]] static constexpr double bucket_middle(std::size_t bucket) noexcept {
    if (bucket == 0) return static_cast<double>(std::uint64_t{1} << kFirstPower) / 2;
    if (bucket >= kBuckets - 1) return static_cast<double>(std::uint64_t{1} << kLastPower);
    const std::size_t index = bucket - 1;
    const unsigned power = kFirstPower + static_cast<unsigned>(index / kSubBuckets);
    const auto sub = static_cast<double>(index % kSubBuckets);
    const double low = static_cast<double>(std::uint64_t{1} << power) * (1.0 + sub / kSubBuckets);
    return low + static_cast<double>(std::uint64_t{1} << power) / kSubBuckets / 2;
  }

  /// Counts one time. Single writer: a relaxed load and store (no locked instruction).
  void record(std::uint64_t ns) noexcept {
    std::atomic<std::uint64_t>& count = counts_[bucket_of(ns)];
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  /// Adds this histogram's counts to `into` (any thread).
  void add_to(Counts& into) const noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) into[i] += counts_[i].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
};

/// The time (ns) below which a fraction `q` (0..1) of the counts lie; 0 without counts.
[[nodiscard]] double quantile(const LatencyHistogram::Counts& counts, double q) noexcept;
/// `after - before`, bucket by bucket (counts only grow; a smaller one gives 0).
[[nodiscard]] LatencyHistogram::Counts difference(const LatencyHistogram::Counts& after,
                                                  const LatencyHistogram::Counts& before) noexcept;

}  // namespace traffic::fleet
