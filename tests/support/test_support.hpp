#pragma once
// Helpers shared by the unit tests.

#include <zlib.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "traffic/common/file.hpp"

namespace traffic::test {

inline std::string data_path(std::string_view relative) {
  return std::string(TRAFFIC_TEST_DATA_DIR) + "/" + std::string(relative);
}

inline std::string read_data(std::string_view relative) {
  return read_file(data_path(relative));
}

/// gzip-compresses `text` (one member).
inline std::string gzip(std::string_view text) {
  z_stream stream{};
  if (deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&stream, text.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace traffic::test
