#pragma once
// Timestamps as milliseconds since the Unix epoch, UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace traffic {

/// Milliseconds since 1970-01-01T00:00:00Z.
using TimestampMs = std::int64_t;

/// Parses the date forms the recipe producer writes: "2020-01-01T00:00:00.000Z",
/// "2020-01-01T00:00:00Z", "2020-01-01 00:00:00" (MySQL), "2020-01-01T00:00:00+02:00",
/// and a bare "2020-01-01". Text without an offset is UTC. Years 1970..9999. Fields are
/// range-checked (no 2020-02-30). nullopt on anything else.
std::optional<TimestampMs> parse_iso8601(std::string_view text) noexcept;

/// "2020-01-01T00:00:00.000Z".
std::string format_iso8601(TimestampMs at);

/// Days since the epoch of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3U : 9U)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

}  // namespace traffic
