#pragma once
// Helpers shared by the unit tests.

#include <zlib.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "traffic/common/error.hpp"
#include "traffic/common/file.hpp"

namespace traffic::test {

/// The failure's detail, "" on success: for `EXPECT_EQ(failure_of(x), "HTTP 503")` and
/// `ASSERT_TRUE(r) << failure_of(r)`.
template <class T>
std::string failure_of(const Result<T>& result) {
  return result ? std::string() : result.error().detail;
}

/// Polls `done` until it holds or 10 s pass: for state that no event announces (Redis,
/// another process or thread's counters).
template <class Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

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

/// The whole decompressed content of a .gz file (any number of members).
inline std::string gunzip_file(const std::filesystem::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("gzopen " + path.string());
  std::string out;
  char chunk[65536];
  int n = 0;
  while ((n = gzread(file, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<std::size_t>(n));
  gzclose(file);
  if (n < 0) throw std::runtime_error("gzread " + path.string());
  return out;
}

/// A fresh directory under the system's temporary directory, removed with its content.
class TempDir {
 public:
  explicit TempDir(std::string_view name)
      : path_(std::filesystem::temp_directory_path() /
              ("traffic-" + std::string(name) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

}  // namespace traffic::test
