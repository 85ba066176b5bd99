#pragma once

#include <cstddef>
#include <string>

namespace traffic {

/// Lower-case hex of `size` bytes.
[[nodiscard]] std::string to_hex(const void* data, std::size_t size);

}  // namespace traffic
