#pragma once
// The `file` sink: click records as NDJSON files in a directory, ready for Redshift's
// `COPY … FORMAT JSON 'auto' GZIP` or for shipping to S3 (SPEC.md §9).
//
//   <directory>/clicks-20261123T101500.123Z-<n>.ndjson      the open file (being written)
//   <directory>/clicks-20261123T101500.123Z-<n>.ndjson.gz   closed files: complete, gzip'd
//
// A delivery is written and fsync'ed before the sink acknowledges it. A file is closed
// (gzip'd to `.ndjson.gz`, fsync'ed, renamed into place, the plain file removed) when it
// reaches its size or age, and at shutdown. On start, a plain file left by a crash is cut
// after its last complete line and closed the same way. Consumers take `.ndjson.gz` only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "traffic/lid/sink.hpp"

namespace traffic::lid {

struct FileSinkSettings {
  std::filesystem::path directory;
  std::string prefix = "clicks";
  std::chrono::seconds rotate_after{300};
  std::uint64_t rotate_bytes = 128ull << 20;

  /// From a `file://` sink URL: options `rotate_seconds`, `rotate_mb`, `prefix`. Throws
  /// std::invalid_argument naming a malformed option.
  static FileSinkSettings from_url(const SinkUrl& url);
};

class FileSink final : public Sink {
 public:
  /// Creates the directory and closes files left open by an earlier run. Throws
  /// std::runtime_error naming the directory when it cannot.
  explicit FileSink(FileSinkSettings settings);
  ~FileSink() override;

  bool deliver(std::span<const std::string_view> records) override;
  void idle() override;
  void close() override;

  [[nodiscard]] std::uint64_t files_closed() const noexcept { return files_closed_; }

 private:
  bool open_file();
  void close_file();
  FileSinkSettings settings_;
  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
  std::chrono::steady_clock::time_point opened_at_;
  std::uint64_t sequence_ = 0;
  std::uint64_t files_closed_ = 0;
  std::string buffer_;
};

/// Compresses `plain` to `plain` + ".gz" (through a temporary file, fsync'ed, renamed),
/// then removes `plain`. Bytes after the last '\n' (a line cut short by a crash) are left
/// out. False when any step failed (`plain` is then kept).
bool gzip_and_replace(const std::filesystem::path& plain);

}  // namespace traffic::lid
