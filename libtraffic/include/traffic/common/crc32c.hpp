#pragma once
// CRC-32C (Castagnoli), the checksum of spool records. With SSE4.2 (every x86-64 server of
// the last decade) it runs on the CPU's crc32 instruction, ~10× zlib's CRC-32 here; without
// it, a table. Hand-written: no Debian package offers CRC-32C to C++ (docs/architecture.md).

#include <cstddef>
#include <cstdint>

namespace traffic {

/// CRC-32C of `size` bytes (initial value 0, as in RFC 3720: crc32c("123456789") = 0xE3069283).
[[nodiscard]] std::uint32_t crc32c(const void* data, std::size_t size) noexcept;

}  // namespace traffic
