#pragma once
// Byte classes as 256-entry tables: parsers and encoders on the click path classify every
// byte they see, and a table load beats a chain of comparisons.

#include <array>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/// The end of the run of `allowed` bytes that starts at `p` (at most `end`). Without a
/// vector test the table classifies every byte.
inline const char* end_of_run(const char* p, const char* end, const ByteClass& allowed) noexcept {
  while (p < end && in_class(allowed, *p)) ++p;
  return p;
}

#if defined(__SSE2__)
/// The same, 16 bytes at a time: `outside(block)` is the SSE2 mask of the bytes of a block
/// that are not in `allowed`. Headers, URLs and agents are long runs; SSE2 is on every
/// x86-64. Where a block stops the run, or for the last bytes, the table decides.
template <class Outside>
const char* end_of_run(const char* p, const char* end, const ByteClass& allowed, Outside outside) noexcept {
  for (; end - p >= 16; p += 16) {
    const int mask = _mm_movemask_epi8(outside(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return end_of_run(p, end, allowed);
}
#endif

}  // namespace traffic
