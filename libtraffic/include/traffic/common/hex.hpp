#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace traffic {

namespace detail {
inline constexpr std::array<std::int8_t, 256> kHexValues = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (std::size_t i = 0; i < 10; ++i) values['0' + i] = static_cast<std::int8_t>(i);
  for (std::size_t i = 0; i < 6; ++i) values['a' + i] = values['A' + i] = static_cast<std::int8_t>(10 + i);
  return values;
}();
}  // namespace detail

/// The value of hex digit `c` (either case), or -1. A table: links are decoded digit by
/// digit on every click.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  return detail::kHexValues[static_cast<unsigned char>(c)];
}

/// Lower-case hex of `size` bytes.
[[nodiscard]] std::string to_hex(const void* data, std::size_t size);

/// Lower-case hex of the MD5 digest of `text` (the old service's hashes: postbacks and the
/// aggregator's /lidBonus), "" if OpenSSL cannot compute it.
[[nodiscard]] std::string md5_hex(std::string_view text);

}  // namespace traffic
