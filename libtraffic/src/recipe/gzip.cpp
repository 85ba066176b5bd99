#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "traffic/recipe/loader.hpp"

namespace traffic::recipe {
namespace {

bool has_gzip_magic(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// The gzip trailer's ISIZE (size mod 2^32) of the last member: a good reservation hint.
std::size_t size_hint(std::string_view bytes) noexcept {
  if (bytes.size() < 18) return 0;
  const auto* tail = reinterpret_cast<const unsigned char*>(bytes.data() + bytes.size() - 4);
  return std::size_t{tail[0]} | std::size_t{tail[1]} << 8 | std::size_t{tail[2]} << 16 | std::size_t{tail[3]} << 24;
}

}  // namespace

boost::system::result<std::string> decompress_if_gzip(std::string_view bytes, const LoadLimits& limits,
                                                      LoadReport& report) {
  report.input_bytes = bytes.size();
  if (!has_gzip_magic(bytes)) {
    if (bytes.size() > limits.max_json_bytes) return LoadError::too_large;
    report.json_bytes = bytes.size();
    return std::string(bytes);
  }
  std::string out;
  out.reserve(std::min(size_hint(bytes), limits.max_json_bytes));

  z_stream stream{};
  // 16 + MAX_WBITS: gzip framing only; a zlib or raw stream behind the gzip magic is corrupt.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  struct Guard {
    z_stream* s;
    ~Guard() { inflateEnd(s); }
  } guard{&stream};

  std::size_t consumed = 0;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  for (;;) {
    const std::size_t avail_in = std::min<std::size_t>(bytes.size() - consumed, UINT32_MAX);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + consumed));
    stream.avail_in = static_cast<uInt>(avail_in);
    const std::size_t old_size = out.size();
    if (old_size >= limits.max_json_bytes) {
      report.error_detail = "uncompressed recipe exceeds " + std::to_string(limits.max_json_bytes) + " bytes";
      return LoadError::too_large;
    }
    const std::size_t grow = std::min(kChunk, limits.max_json_bytes - old_size);
    out.resize(old_size + grow);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    stream.avail_out = static_cast<uInt>(grow);
    const int rc = inflate(&stream, Z_NO_FLUSH);
    consumed += avail_in - stream.avail_in;
    out.resize(old_size + grow - stream.avail_out);
    if (rc == Z_STREAM_END) {
      // Concatenated members are legal gzip; anything else after a member is corruption.
      if (consumed == bytes.size()) break;
      if (!has_gzip_magic(bytes.substr(consumed))) {
        report.error_detail = "unexpected bytes after the gzip stream at offset " + std::to_string(consumed);
        return LoadError::invalid_gzip;
      }
      inflateReset(&stream);
      continue;
    }
    if (rc == Z_BUF_ERROR && consumed == bytes.size() && stream.avail_out != 0) {
      report.error_detail = "gzip stream ends early (truncated file)";
      return LoadError::truncated_gzip;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      report.error_detail = std::string("corrupt gzip stream: ") + (stream.msg ? stream.msg : "unknown");
      return LoadError::invalid_gzip;
    }
    if (consumed == bytes.size() && stream.avail_out != 0) {
      report.error_detail = "gzip stream ends early (truncated file)";
      return LoadError::truncated_gzip;
    }
  }
  report.json_bytes = out.size();
  out.shrink_to_fit();
  return out;
}

}  // namespace traffic::recipe
