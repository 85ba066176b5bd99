#include "traffic/common/time.hpp"

#include <cstdio>

namespace traffic {
namespace {

// Reads exactly `count` digits at text[pos]; false if any is missing.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, unsigned& out) noexcept {
  if (pos + count > text.size()) return false;
  unsigned value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  out = value;
  return true;
}

bool is_leap(unsigned year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned days_in_month(unsigned year, unsigned month) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<TimestampMs> parse_iso8601(std::string_view text) noexcept {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day)) {
    return std::nullopt;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
    return std::nullopt;
  }
  std::size_t pos = 10;
  std::int64_t millis = 0;
  std::int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if ((text[pos] != 'T' && text[pos] != ' ') || !read_digits(text, pos + 1, 2, hour) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, minute) || pos + 6 >= text.size() ||
        text[pos + 6] != ':' || !read_digits(text, pos + 7, 2, second)) {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
    pos += 9;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      std::size_t fraction_digits = 0;
      std::int64_t scale = 100;
      for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++fraction_digits) {
        millis += (text[pos] - '0') * scale;
        scale /= 10;
      }
      if (fraction_digits == 0 || fraction_digits > 9) return std::nullopt;
    }
    if (pos < text.size()) {
      if (text[pos] == 'Z' && pos + 1 == text.size()) {
        pos += 1;
      } else if ((text[pos] == '+' || text[pos] == '-') && pos + 6 == text.size()) {
        unsigned offset_hours = 0, offset_mins = 0;
        if (!read_digits(text, pos + 1, 2, offset_hours) || text[pos + 3] != ':' ||
            !read_digits(text, pos + 4, 2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
          return std::nullopt;
        }
        offset_minutes = std::int64_t{offset_hours} * 60 + offset_mins;
        if (text[pos] == '-') offset_minutes = -offset_minutes;
        pos += 6;
      } else {
        return std::nullopt;
      }
    }
  }
  if (pos != text.size()) return std::nullopt;
  const std::int64_t seconds = days_from_civil(year, month, day) * 86400 + std::int64_t{hour} * 3600 +
                               std::int64_t{minute} * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string format_iso8601(TimestampMs at) {
  std::int64_t seconds = at / 1000;
  std::int64_t millis = at % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  // Inverse of days_from_civil (H. Hinnant's civil_from_days).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  char buffer[40];
  const int n = std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                              static_cast<long long>(year), month, day, static_cast<long long>(second_of_day / 3600),
                              static_cast<long long>(second_of_day / 60 % 60),
                              static_cast<long long>(second_of_day % 60), static_cast<long long>(millis));
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace traffic
