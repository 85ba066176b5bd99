#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "text_stream.hpp"
#include "traffic/recipe/loader.hpp"

namespace traffic::recipe {
namespace {

bool has_gzip_magic(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

constexpr std::size_t kInitialWindow = std::size_t{4} << 20;

}  // namespace

namespace detail {

TextStream::TextStream(std::string_view input, const LoadLimits& limits, LoadReport& report)
    : limits_(limits), report_(report), input_(input), gzip_(has_gzip_magic(input)) {
  report_.input_bytes = input.size();
  if (!gzip_) return;  // plain text enters the window on the first fill()
  // 16 + MAX_WBITS: gzip framing only; a zlib or raw stream behind the gzip magic is corrupt.
  if (inflateInit2(&zlib_, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  capacity_ = kInitialWindow;
  buffer_.reset(new char[capacity_]);
  begin_ = end_ = buffer_.get();
}

std::size_t TextStream::size_hint() const noexcept {
  if (!gzip_) return input_.size();
  if (input_.size() < 18) return 0;
  const auto* tail = reinterpret_cast<const unsigned char*>(input_.data() + input_.size() - 4);
  return std::size_t{tail[0]} | std::size_t{tail[1]} << 8 | std::size_t{tail[2]} << 16 | std::size_t{tail[3]} << 24;
}

TextStream::~TextStream() {
  if (gzip_) inflateEnd(&zlib_);
}

boost::system::result<bool> TextStream::fill() {
  if (exhausted_) return false;
  if (!gzip_) {
    // Plain JSON is read in place, in one piece, under the same size limit as gzip'd text.
    exhausted_ = true;
    if (input_.size() > limits_.max_json_bytes) {
      report_.error_detail = "recipe exceeds " + std::to_string(limits_.max_json_bytes) + " bytes";
      return LoadError::too_large;
    }
    begin_ = input_.data();
    end_ = begin_ + input_.size();
    report_.json_bytes = input_.size();
    return !input_.empty();
  }
  // Move the unconsumed tail to the front; grow when one element fills the window.
  const auto pending = static_cast<std::size_t>(end_ - begin_);
  if (pending > capacity_ / 2) {
    const std::size_t grown = capacity_ * 2;
    std::unique_ptr<char[]> bigger(new char[grown]);
    std::memcpy(bigger.get(), begin_, pending);
    buffer_ = std::move(bigger);
    capacity_ = grown;
  } else if (begin_ != buffer_.get()) {
    std::memmove(buffer_.get(), begin_, pending);
  }
  begin_ = buffer_.get();
  end_ = begin_ + pending;

  const std::size_t before = produced_;
  while (produced_ == before) {
    const std::size_t avail_in = std::min<std::size_t>(input_.size() - input_pos_, UINT32_MAX);
    zlib_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input_.data() + input_pos_));
    zlib_.avail_in = static_cast<uInt>(avail_in);
    const auto room = static_cast<uInt>(capacity_ - pending);
    zlib_.next_out = reinterpret_cast<Bytef*>(buffer_.get() + pending);
    zlib_.avail_out = room;
    const int rc = inflate(&zlib_, Z_NO_FLUSH);
    input_pos_ += avail_in - zlib_.avail_in;
    produced_ += room - zlib_.avail_out;
    end_ = buffer_.get() + pending + (room - zlib_.avail_out);
    if (produced_ > limits_.max_json_bytes) {
      report_.error_detail = "uncompressed recipe exceeds " + std::to_string(limits_.max_json_bytes) + " bytes";
      return LoadError::too_large;
    }
    report_.json_bytes = produced_;
    if (rc == Z_STREAM_END) {
      // Concatenated members are legal gzip; anything else after a member is corruption.
      if (input_pos_ == input_.size()) {
        exhausted_ = true;
        break;
      }
      if (!has_gzip_magic(input_.substr(input_pos_))) {
        report_.error_detail = "unexpected bytes after the gzip stream at offset " + std::to_string(input_pos_);
        return LoadError::invalid_gzip;
      }
      inflateReset(&zlib_);
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      report_.error_detail = std::string("corrupt gzip stream: ") + (zlib_.msg ? zlib_.msg : "unknown");
      return LoadError::invalid_gzip;
    }
    if (input_pos_ == input_.size() && zlib_.avail_out != 0) {
      report_.error_detail = "gzip stream ends early (truncated file)";
      return LoadError::truncated_gzip;
    }
  }
  return produced_ != before || !exhausted_;
}

}  // namespace detail

}  // namespace traffic::recipe
