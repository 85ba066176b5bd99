#pragma once
// The `file` sink: click records as NDJSON files in a directory, ready for Redshift's
// `COPY … FORMAT JSON 'auto' GZIP` or for shipping to S3 (SPEC.md §9).
//
//   <directory>/clicks-20261123T101500.123Z-<n>.ndjson.part  the open file (being written)
//   <directory>/clicks-20261123T101500.123Z-<n>.ndjson.gz    closed files: complete
//                                                  (.ndjson.zst with zstd, .ndjson with none)
//
// A delivery is written and fsync'ed before the sink acknowledges it. A file is closed
// (compressed through a temporary file, fsync'ed, renamed into place, the part removed)
// when it reaches its size or age, and at shutdown. On start, a part left by a crash is cut
// after its last complete line and closed the same way. Consumers take closed files only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "traffic/lid/sink.hpp"

namespace traffic::lid {

enum class Compression : std::uint8_t { gzip, zstd, none };

struct FileSinkSettings {
  std::filesystem::path directory;
  std::string prefix = "clicks";
  std::chrono::seconds rotate_after{300};
  std::uint64_t rotate_bytes = 128ull << 20;
  Compression compression = Compression::gzip;
  int level = 1;  ///< gzip 1-9, zstd 1-19 (docs/click-pipeline.md: the cost per click)

  /// From a `file://` sink URL: options `rotate_seconds`, `rotate_mb`, `prefix`,
  /// `compression` (gzip|zstd|none), `level`. Throws std::invalid_argument naming a
  /// malformed option.
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

/// Closes a part file: its content up to the last '\n' (a line cut short by a crash is left
/// out), compressed, into `<name without .part>` + ".gz"/".zst"/"" through a temporary file
/// that is fsync'ed and renamed; then removes the part. False when any step failed (the
/// part is then kept).
bool close_part_file(const std::filesystem::path& part, Compression compression, int level);

}  // namespace traffic::lid
