#pragma once
// Randomness as a parameter: rotation ties (and later lids and backoff jitter) draw from
// this interface so tests can script it (tests/fakes/fake_random.hpp).

#include <cstdint>

namespace traffic {

/// A source of uniformly distributed 64-bit values. Not for secrets.
class Random {
 public:
  virtual ~Random() = default;
  [[nodiscard]] virtual std::uint64_t next() noexcept = 0;

  /// A value in [0, bound); 0 when bound is 0. Lemire's multiply-shift: unbiased enough for
  /// tie-breaking (bias < bound / 2^64) and free of divisions.
  [[nodiscard]] std::uint64_t below(std::uint64_t bound) noexcept {
    __extension__ using Wide = unsigned __int128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet
    return static_cast<std::uint64_t>((static_cast<Wide>(next()) * bound) >> 64);
  }
};

/// xoshiro256** seeded from the kernel (getrandom). Fast (~1 ns) and statistically sound,
/// not cryptographic.
///
/// Thread-safety: none — keep one per thread (e.g. `thread_local FastRandom`).
class FastRandom final : public Random {
 public:
  /// Seeds from the kernel's entropy pool.
  FastRandom();
  /// Deterministic sequence (benchmarks, reproducible runs).
  explicit FastRandom(std::uint64_t seed) noexcept;
  [[nodiscard]] std::uint64_t next() noexcept override;

 private:
  void seed_from(std::uint64_t seed) noexcept;
  std::uint64_t state_[4];
};

}  // namespace traffic
