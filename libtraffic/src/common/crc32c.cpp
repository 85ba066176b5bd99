#include "traffic/common/crc32c.hpp"

#include <array>
#include <cstring>

namespace traffic {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) != 0 ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}
constexpr auto kTable = make_table();

std::uint32_t crc32c_table(const unsigned char* p, std::size_t size) noexcept {
  std::uint32_t crc = 0xFFFFFFFF;
  for (std::size_t i = 0; i < size; ++i) crc = (crc >> 8) ^ kTable[(crc ^ p[i]) & 0xFF];
  return ~crc;
}

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles but can start one per cycle: three independent
// streams over consecutive kStride-byte blocks keep it busy, and their registers are joined
// after each 3 * kStride chunk. For a 1.6 KB click record: 600 -> ~250 cycles.
constexpr std::size_t kStride = 128;

// The CRC register is linear: the register after (A, B) is shift(register after A, |B|)
// XOR the register after B started from 0, where shift() feeds |B| zero bytes. For a fixed
// length that is a linear map of the 32 register bits, kept as four byte tables.
struct ZeroShift {
  std::array<std::array<std::uint32_t, 256>, 4> table{};
  explicit constexpr ZeroShift(std::size_t zero_bytes) {
    std::array<std::uint32_t, 32> basis{};  // what each register bit becomes
    for (int bit = 0; bit < 32; ++bit) {
      std::uint32_t crc = 1U << bit;
      for (std::size_t i = 0; i < zero_bytes; ++i) crc = (crc >> 8) ^ kTable[crc & 0xFF];
      basis[static_cast<std::size_t>(bit)] = crc;
    }
    for (std::size_t byte = 0; byte < 4; ++byte) {
      for (std::uint32_t value = 0; value < 256; ++value) {
        std::uint32_t shifted = 0;
        for (int bit = 0; bit < 8; ++bit) {
          if ((value >> bit & 1) != 0) shifted ^= basis[byte * 8 + static_cast<std::size_t>(bit)];
        }
        table[byte][value] = shifted;
      }
    }
  }
  [[nodiscard]] std::uint32_t operator()(std::uint32_t crc) const noexcept {
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
  }
};
constexpr ZeroShift kShiftStride(kStride);

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const unsigned char* p, std::size_t size) noexcept {
  const auto word_at = [](const unsigned char* at) {
    std::uint64_t word = 0;
    std::memcpy(&word, at, 8);
    return word;
  };
  std::uint64_t crc = 0xFFFFFFFF;
  for (; size >= 3 * kStride; size -= 3 * kStride, p += 3 * kStride) {
    std::uint64_t b = 0;
    std::uint64_t c = 0;
    for (std::size_t i = 0; i < kStride; i += 8) {
      crc = __builtin_ia32_crc32di(crc, word_at(p + i));
      b = __builtin_ia32_crc32di(b, word_at(p + kStride + i));
      c = __builtin_ia32_crc32di(c, word_at(p + 2 * kStride + i));
    }
    const std::uint32_t ab = kShiftStride(static_cast<std::uint32_t>(crc)) ^ static_cast<std::uint32_t>(b);
    crc = kShiftStride(ab) ^ static_cast<std::uint32_t>(c);
  }
  for (; size >= 8; size -= 8, p += 8) crc = __builtin_ia32_crc32di(crc, word_at(p));
  auto crc32 = static_cast<std::uint32_t>(crc);
  for (; size > 0; --size, ++p) crc32 = __builtin_ia32_crc32qi(crc32, *p);
  return ~crc32;
}

bool has_sse42() noexcept {
  static const bool supported = __builtin_cpu_supports("sse4.2");
  return supported;
}
#endif

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (has_sse42()) return crc32c_sse42(p, size);
#endif
  return crc32c_table(p, size);
}

}  // namespace traffic
