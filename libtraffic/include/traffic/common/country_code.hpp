#pragma once
// ISO 3166-1 alpha-2 country codes as a two-byte value.

#include <array>
#include <optional>
#include <string_view>

namespace traffic {

/// Two upper-case ASCII letters ("US"), or empty for "unknown". Comparing two codes is
/// one 16-bit compare, which matters because geo rules run on every click.
class CountryCode {
 public:
  constexpr CountryCode() = default;

  /// Accepts two ASCII letters in either case; nullopt for anything else.
  static constexpr std::optional<CountryCode> parse(std::string_view text) noexcept {
    if (text.size() != 2) return std::nullopt;
    CountryCode code;
    for (std::size_t i = 0; i < 2; ++i) {
      char c = text[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c < 'A' || c > 'Z') return std::nullopt;
      code.letters_[i] = c;
    }
    return code;
  }

  [[nodiscard]] constexpr bool empty() const noexcept { return letters_[0] == '\0'; }
  [[nodiscard]] constexpr std::string_view view() const noexcept {
    return empty() ? std::string_view() : std::string_view(letters_.data(), 2);
  }
  friend constexpr bool operator==(CountryCode, CountryCode) = default;

 private:
  std::array<char, 2> letters_{};
};

}  // namespace traffic
