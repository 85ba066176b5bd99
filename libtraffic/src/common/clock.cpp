#include "traffic/common/clock.hpp"

#include <ctime>

namespace traffic {

TimestampMs SystemClock::now() const noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<TimestampMs>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

const Clock& clock_or_system(const Clock* clock) noexcept {
  static const SystemClock system;
  return clock != nullptr ? *clock : system;
}

}  // namespace traffic
