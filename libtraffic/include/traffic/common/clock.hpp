#pragma once
// Time as a parameter: the rule engine, caps periods, replay windows and backoff read the
// time through this interface so tests can fix it (tests/fakes/fake_clock.hpp).

#include "traffic/common/time.hpp"

namespace traffic {

/// A source of the current time. Implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the Unix epoch (UTC).
  [[nodiscard]] virtual TimestampMs now() const noexcept = 0;
};

/// The system's real-time clock (CLOCK_REALTIME; a vDSO call, no syscall, ~20 ns).
class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimestampMs now() const noexcept override;
};

/// `*clock`, or the system clock when `clock` is null: for settings whose clock is optional.
[[nodiscard]] const Clock& clock_or_system(const Clock* clock) noexcept;

}  // namespace traffic
