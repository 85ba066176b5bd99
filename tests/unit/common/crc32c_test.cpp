#include "traffic/common/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace traffic {
namespace {

// Bit by bit, straight from the definition: the reference the fast paths must match.
std::uint32_t reference(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0x82F63B78 : 0);
  }
  return ~crc;
}

TEST(Crc32c, PublishedVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283U);  // the check value of CRC-32C
  EXPECT_EQ(crc32c("", 0), 0U);
  const std::string zeros(32, '\0');
  const std::string ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAU);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43U);
}

TEST(Crc32c, EveryLengthAndAlignmentMatchesTheDefinition) {
  std::mt19937 random(7);
  std::string buffer(2000, '\0');  // past several of the fast path's 384-byte chunks
  for (auto& c : buffer) c = static_cast<char>(random());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t size = 0; size + offset <= buffer.size(); size += 1 + size / 16) {
      EXPECT_EQ(crc32c(buffer.data() + offset, size), reference(buffer.substr(offset, size))) << offset << "+" << size;
    }
    // Either side of the fast path's chunk boundaries (3 streams of 128 bytes).
    for (std::size_t chunks = 1; chunks <= 5; ++chunks) {
      for (const std::size_t size : {chunks * 384 - 1, chunks * 384, chunks * 384 + 1, chunks * 384 + 8}) {
        EXPECT_EQ(crc32c(buffer.data() + offset, size), reference(buffer.substr(offset, size)))
            << offset << "+" << size;
      }
    }
  }
}

}  // namespace
}  // namespace traffic
