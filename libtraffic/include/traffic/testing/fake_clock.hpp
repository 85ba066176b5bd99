#pragma once
// A clock that shows whatever the test sets.

#include <atomic>

#include "traffic/common/clock.hpp"

namespace traffic::test {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimestampMs now = 0) : now_(now) {}
  [[nodiscard]] TimestampMs now() const noexcept override { return now_.load(); }
  void set(TimestampMs now) noexcept { now_.store(now); }
  void advance(TimestampMs ms) noexcept { now_.fetch_add(ms); }

 private:
  std::atomic<TimestampMs> now_;
};

}  // namespace traffic::test
