#include "traffic/lid/lid.hpp"

namespace traffic::lid {
namespace {

constexpr bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

constexpr bool is_dash_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

Lid new_lid(Random& random) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t words[2] = {random.next(), random.next()};
  // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 10 in byte 8.
  words[0] = (words[0] & ~(0xFULL << 12)) | (0x4ULL << 12);
  words[1] = (words[1] & ~(0x3ULL << 62)) | (0x2ULL << 62);
  Lid lid;
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < Lid::kSize; ++i) {
    if (is_dash_position(i)) {
      lid.text_[i] = '-';
      continue;
    }
    const std::uint64_t word = words[nibble / 16];
    const unsigned shift = static_cast<unsigned>(60 - 4 * (nibble % 16));
    lid.text_[i] = kHex[(word >> shift) & 0xF];
    ++nibble;
  }
  return lid;
}

bool is_lid(std::string_view text) noexcept {
  if (text.size() != Lid::kSize) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_dash_position(i) ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  const char variant = text[19];
  return text[14] == '4' &&
         (variant == '8' || variant == '9' || variant == 'a' || variant == 'b' || variant == 'A' || variant == 'B');
}

}  // namespace traffic::lid
