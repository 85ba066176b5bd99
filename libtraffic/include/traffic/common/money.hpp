#pragma once
// Exact money amounts: integer micro-units, never binary floating point.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace traffic {

/// An amount of money as a whole number of micro-units (1e-6). Payins and payouts in the
/// recipe are decimals written by MySQL ("4.00000000") or JSON numbers (2.5); both are
/// parsed exactly into this type, so billing never sees 0.30000000000000004.
///
/// Value type, trivially copyable, thread-safe to share. Range: ±9.2e12 units.
class Money {
 public:
  static constexpr std::int64_t kMicrosPerUnit = 1'000'000;
  /// Longest text `format()` can produce ("-9223372036854.775808").
  static constexpr std::size_t kMaxTextSize = 24;

  constexpr Money() = default;
  static constexpr Money from_micros(std::int64_t micros) { return Money(micros); }

  /// Parses a plain decimal: optional '-', digits, optional '.' and digits (at least one
  /// digit overall). No spaces, '+', exponents, hex or trailing text. Digits beyond the
  /// sixth decimal are rounded half away from zero. nullopt on anything else or overflow.
  static std::optional<Money> parse(std::string_view text) noexcept;

  /// Converts a JSON number (already a double) by rounding to the nearest micro-unit. Exact
  /// for every value with at most six decimals below 1e9. nullopt if not finite or out of
  /// range.
  static std::optional<Money> from_double(double value) noexcept;

  [[nodiscard]] constexpr std::int64_t micros() const noexcept { return micros_; }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return micros_ == 0; }

  /// Shortest exact decimal text: "9.5", "8.25", "0", "-1.000001". Writes at most
  /// kMaxTextSize characters to `out` and returns how many.
  std::size_t format(char* out) const noexcept;
  [[nodiscard]] std::string to_string() const;

  friend constexpr auto operator<=>(Money, Money) = default;

 private:
  constexpr explicit Money(std::int64_t micros) : micros_(micros) {}
  std::int64_t micros_ = 0;
};

}  // namespace traffic
