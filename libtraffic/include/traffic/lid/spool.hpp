#pragma once
// The click spool: append-only segment files on local disk that every click is written to
// before its 302 leaves, and that sinks read from their own persisted cursors (SPEC.md §9).
//
// Layout under the spool directory:
//   lane-<n>/<seq>.seg   segments of lane n (one lane per writing thread, no lock between
//                        threads); <seq> is 16 decimal digits, increasing
//   cursors/<sink>       "<lane> <seq> <offset>" lines, replaced atomically
//   LOCK                 flock'ed by the process that owns the spool
// A record is [u32 little-endian payload size][u32 CRC-32 of the payload][payload]. A
// process never appends to a segment of an earlier run: after a crash the torn tail of the
// last segment is detected by size or checksum and skipped, and the records before it are
// read. See docs/click-pipeline.md.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace traffic::lid {

enum class SpoolFullPolicy : std::uint8_t {
  reject,       ///< refuse new clicks (the server answers 503) until sinks catch up
  drop_oldest,  ///< delete the oldest unsent segment (its clicks are lost, and counted)
};

struct SpoolSettings {
  std::filesystem::path directory;
  std::size_t lanes = 1;                                  ///< one per writing thread
  std::uint64_t segment_bytes = 64ull << 20;              ///< a segment is closed past this size
  std::uint64_t max_bytes = 8ull << 30;                   ///< disk bound across all segments
  SpoolFullPolicy full_policy = SpoolFullPolicy::reject;  ///< what happens at the bound
  std::chrono::milliseconds fsync_interval{200};          ///< 0: fsync on every append (tests)
  std::vector<std::string> sinks;                         ///< cursor names; segments wait for all
};

/// Where a sink is in one lane.
struct SpoolPosition {
  std::uint64_t segment = 0;  ///< sequence number; 0 = before the first segment
  std::uint64_t offset = 0;   ///< bytes into the segment
  friend bool operator==(const SpoolPosition&, const SpoolPosition&) = default;
};

struct SpoolStats {
  std::uint64_t appended = 0;          ///< records written by this process
  std::uint64_t rejected = 0;          ///< appends refused (disk bound with `reject`, or a write error)
  std::uint64_t dropped_segments = 0;  ///< segments deleted unsent at the bound (`drop_oldest`)
  std::uint64_t corrupt_tails = 0;     ///< segments whose end was torn or corrupt (seen by readers)
  std::uint64_t bytes_on_disk = 0;
  std::uint64_t fsyncs = 0;
};

class Spool {
 public:
  /// Opens (creating) the directory, takes its lock, finds the segments of earlier runs.
  /// Throws std::runtime_error naming the directory when it cannot (another process holds
  /// the lock, permissions, a bad setting).
  explicit Spool(SpoolSettings settings);
  ~Spool();  ///< stops the fsync thread after a last fsync
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// The writer of lane `lane`; one thread per lane.
  class Writer {
   public:
    /// The buffer to build a record in: 8 reserved bytes for the header, then the payload.
    std::string& buffer() {
      buffer_.assign(8, '\0');
      return buffer_;
    }
    /// Writes the record built in buffer() to the OS (one write(2)); false when refused.
    /// When it returns true the record survives a crash of this process; it survives a
    /// crash of the machine after the next fsync (at most fsync_interval later).
    bool append();

   private:
    friend class Spool;
    Writer(Spool& spool, std::size_t lane) : spool_(spool), lane_(lane) {}
    Spool& spool_;
    std::size_t lane_;
    std::string buffer_;
  };
  Writer& writer(std::size_t lane);

  /// Reads records of `lane` from `from` on, calling `deliver(payload)` for each, at most
  /// `max_records`; returns the position after the last one delivered. Stops at the end of
  /// what has been written; skips a torn or corrupt tail of a segment of an earlier run or
  /// a finished one (counted in corrupt_tails).
  SpoolPosition read(std::size_t lane, SpoolPosition from, std::size_t max_records,
                     const std::function<void(std::string_view)>& deliver);

  /// A sink's persisted cursor (positions per lane); all zero for a new sink.
  std::vector<SpoolPosition> cursor(std::string_view sink) const;
  /// Persists a sink's cursor (write, fsync, rename) and deletes segments every sink has passed.
  void commit(std::string_view sink, const std::vector<SpoolPosition>& positions);

  /// Flushes written records to disk now (the fsync thread does it every interval).
  void sync();

  [[nodiscard]] std::size_t lanes() const noexcept;
  [[nodiscard]] SpoolStats stats() const;
  [[nodiscard]] const SpoolSettings& settings() const noexcept;

 private:
  struct Lane;
  struct State;
  bool append(std::size_t lane, std::string& record);
  std::unique_ptr<State> state_;
};

}  // namespace traffic::lid
