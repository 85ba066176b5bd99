#include "traffic/common/money.hpp"

#include <cmath>
#include <limits>

namespace traffic {

std::optional<Money> Money::parse(std::string_view text) noexcept {
  bool negative = false;
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  // Accumulate as unsigned micro-units; the magnitude limit keeps negation safe.
  constexpr std::uint64_t kLimit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t units = 0;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    units = units * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (units > kLimit / kMicrosPerUnit) return std::nullopt;
  }
  std::uint64_t micros = units * static_cast<std::uint64_t>(kMicrosPerUnit);
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::uint64_t scale = kMicrosPerUnit / 10;
    bool round_up = false;
    for (std::size_t fraction_digits = 0; i < text.size() && text[i] >= '0' && text[i] <= '9';
         ++i, ++digits, ++fraction_digits) {
      const auto digit = static_cast<std::uint64_t>(text[i] - '0');
      if (fraction_digits < 6) {
        micros += digit * scale;
        scale /= 10;
      } else if (fraction_digits == 6) {
        round_up = digit >= 5;
      }
    }
    if (round_up) ++micros;
  }
  if (digits == 0 || i != text.size() || micros > kLimit) return std::nullopt;
  const auto signed_micros = static_cast<std::int64_t>(micros);
  return Money(negative ? -signed_micros : signed_micros);
}

std::optional<Money> Money::from_double(double value) noexcept {
  if (!std::isfinite(value)) return std::nullopt;
  const double scaled = std::round(value * static_cast<double>(kMicrosPerUnit));
  // 9.2e18 is the int64 limit; stay well inside it so the cast is defined.
  if (std::fabs(scaled) > 9.0e18) return std::nullopt;
  return Money(static_cast<std::int64_t>(scaled));
}

std::size_t Money::format(char* out) const noexcept {
  char* p = out;
  // Work on the magnitude as unsigned so INT64_MIN formats correctly.
  std::uint64_t magnitude = static_cast<std::uint64_t>(micros_);
  if (micros_ < 0) {
    *p++ = '-';
    magnitude = ~magnitude + 1;
  }
  std::uint64_t whole = magnitude / kMicrosPerUnit;
  std::uint64_t fraction = magnitude % kMicrosPerUnit;
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  while (n > 0) *p++ = digits[--n];
  if (fraction != 0) {
    *p++ = '.';
    std::uint64_t scale = kMicrosPerUnit / 10;
    while (fraction != 0) {
      *p++ = static_cast<char>('0' + fraction / scale);
      fraction %= scale;
      scale /= 10;
    }
  }
  return static_cast<std::size_t>(p - out);
}

std::string Money::to_string() const {
  char buffer[kMaxTextSize];
  return std::string(buffer, format(buffer));
}

}  // namespace traffic
