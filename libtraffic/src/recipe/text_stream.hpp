#pragma once
// The recipe text, uncompressed on the fly (private to the recipe component).
//
// A gzip'd recipe is inflated into a window of a few MiB that the parser consumes from, so
// a load never holds the whole uncompressed JSON: less memory, no page-faulting of a
// buffer the size of the file, and text still in cache when it is parsed.

#include <zlib.h>

#include <boost/system/result.hpp>
#include <memory>
#include <string_view>

#include "traffic/recipe/loader.hpp"

namespace traffic::recipe::detail {

class TextStream {
 public:
  /// `input` must outlive the stream. Plain JSON is read in place, without a copy. The
  /// window starts empty: call fill() first.
  TextStream(std::string_view input, const LoadLimits& limits, LoadReport& report);
  ~TextStream();
  TextStream(const TextStream&) = delete;
  TextStream& operator=(const TextStream&) = delete;

  /// Text available now.
  [[nodiscard]] std::string_view window() const noexcept { return {begin_, static_cast<std::size_t>(end_ - begin_)}; }
  /// Drops `n` characters from the front of the window.
  void consume(std::size_t n) noexcept {
    begin_ += n;
    consumed_ += n;
  }
  /// Offset of window()[0] in the whole text (for error messages).
  [[nodiscard]] std::size_t offset() const noexcept { return consumed_; }
  /// True when no more text will come.
  [[nodiscard]] bool exhausted() const noexcept { return exhausted_; }
  /// Expected uncompressed size: the input size, or the gzip trailer's ISIZE (exact below
  /// 4 GiB). 0 when unknown. A hint for reservations only, never trusted for bounds.
  [[nodiscard]] std::size_t size_hint() const noexcept;
  /// Appends more text to the window. Returns false when there is no more.
  boost::system::result<bool> fill();

 private:
  const LoadLimits& limits_;
  LoadReport& report_;
  std::string_view input_;
  std::size_t input_pos_ = 0;
  bool gzip_ = false;
  bool exhausted_ = false;
  z_stream zlib_{};
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  const char* begin_ = nullptr;
  const char* end_ = nullptr;
  std::size_t consumed_ = 0;
  std::size_t produced_ = 0;
};

}  // namespace traffic::recipe::detail
