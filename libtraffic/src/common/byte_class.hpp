#pragma once
// Byte classes as 256-entry tables: parsers and encoders on the click path classify every
// byte they see, and a table load beats a chain of comparisons.

#include <array>

namespace traffic {

using ByteClass = std::array<bool, 256>;

template <class Predicate>
constexpr ByteClass make_class(Predicate predicate) {
  ByteClass table{};
  for (unsigned c = 0; c < 256; ++c) table[c] = predicate(static_cast<unsigned char>(c));
  return table;
}

constexpr bool in_class(const ByteClass& table, char c) noexcept {
  return table[static_cast<unsigned char>(c)];
}

}  // namespace traffic
