#pragma once
// The `file` sink: click records as NDJSON files in a directory, ready for Redshift's
// `COPY … FORMAT JSON 'auto' GZIP` or for shipping to S3 (SPEC.md §9).
//
//   <directory>/clicks-20261123T101500.123Z-<n>.ndjson.gz   closed files: complete
//                                                  (.ndjson.zst with zstd, .ndjson with none)
//   <directory>/clicks-….ndjson.gz.tmp                     a file being written
//
// The open file is held in memory, compressed as records are taken; it is written, fsync'ed
// and renamed into place when it reaches its size or age, and at shutdown. Until then its records stay in the spool
// (the sink holds them, see Sink::holding()), so a crash loses nothing: the next run writes them again. Consumers take
// closed files only; half-written `.tmp` files are removed on start.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/pipeline/sink.hpp"

namespace traffic::pipeline {

enum class Compression : std::uint8_t { gzip, zstd, none };

struct FileSinkSettings {
  std::filesystem::path directory;
  std::string prefix = "clicks";
  std::chrono::seconds rotate_after{300};
  std::uint64_t rotate_bytes = 128ull << 20;
  Compression compression = Compression::gzip;
  int level = 1;  ///< gzip 0-3 (ISA-L), zstd 1-19 (docs/click-pipeline.md: the cost per click)
  /// Names files by its time and ages them by it (rotate_after); nullptr: the system clock.
  /// A clock that goes back closes the open file (its age is unknown).
  const Clock* clock = nullptr;

  /// From a `file://` sink URL: options `rotate_seconds`, `rotate_mb`, `prefix`,
  /// `compression` (gzip|zstd|none), `level`. Throws std::invalid_argument naming a
  /// malformed option.
  static FileSinkSettings from_url(const SinkUrl& url);
};

class FileEncoder;  // one file's compressed stream (file_sink.cpp)

class FileSink final : public Sink {
 public:
  /// Creates the directory, removes half-written files of an earlier run and closes part
  /// files of older versions. Throws std::runtime_error naming the directory when it
  /// cannot.
  explicit FileSink(FileSinkSettings settings);
  ~FileSink() override;  ///< held records are dropped: they are still in the spool

  /// Takes the records into the open file (in memory); writes the file when it reaches
  /// its size or age. False only when that write failed (the file's records are dropped).
  Result<> deliver(std::span<const std::string_view> records) override;
  [[nodiscard]] bool holding() const noexcept override { return taken_bytes_ > 0; }
  Result<> flush() override;  ///< writes the open file now
  Result<> idle() override;   ///< writes the open file when it is old enough
  void close() override;      ///< flush()

  [[nodiscard]] std::uint64_t files_closed() const noexcept { return files_closed_; }

 private:
  [[nodiscard]] const Clock& clock() const noexcept;
  [[nodiscard]] bool old_enough() const noexcept;
  Result<> close_file();
  FileSinkSettings settings_;
  std::unique_ptr<FileEncoder> encoder_;  ///< the open file, compressed as its records are taken
  std::uint64_t taken_bytes_ = 0;         ///< its records' bytes (uncompressed)
  std::string opened_stamp_;
  TimestampMs opened_at_ = 0;  // by settings_.clock
  std::uint64_t sequence_ = 0;
  std::uint64_t files_closed_ = 0;
};

/// Closes a part file left by an older version (which wrote the open file to disk): its
/// content up to the last '\n' (a line cut short by a crash is left out), compressed, into `<name without .part>` +
/// ".gz"/".zst"/"" through a temporary file that is fsync'ed and renamed; then removes the part. False when any step
/// failed (the part is then kept).
bool close_part_file(const std::filesystem::path& part, Compression compression, int level);

}  // namespace traffic::pipeline
