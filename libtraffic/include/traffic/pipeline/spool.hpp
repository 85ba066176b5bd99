#pragma once
// The click spool: append-only segment files on local disk that every click is written to
// before its 302 leaves, and that sinks read from their own persisted cursors (SPEC.md §9).
//
// Layout under the spool directory:
//   lane-<n>/<seq>.seg   segments of lane n (one lane per writing thread, no lock between
//                        threads); <seq> is 16 decimal digits, increasing
//   cursors/<sink>       "<lane> <seq> <offset>" lines, replaced atomically
//   ID                   the spool's identity: 16 hex digits made when it is created
//   LOCK                 flock'ed by the process that owns the spool
// A record is [u32 little-endian payload size][u32 CRC-32C of the payload][payload]. A
// process never appends to a segment of an earlier run: after a crash the torn tail of the
// last segment is detected by size or checksum and skipped, and the records before it are
// read. See docs/click-pipeline.md.

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/error.hpp"

namespace traffic::pipeline {

enum class SpoolFullPolicy : std::uint8_t {
  reject,       ///< refuse new clicks (the server answers 503) until sinks catch up
  drop_oldest,  ///< delete the oldest unsent segment (its clicks are lost, and counted)
};

struct SpoolSettings {
  std::filesystem::path directory;
  std::size_t lanes = 1;                      ///< one per writing thread
  std::uint64_t segment_bytes = 64ull << 20;  ///< a segment is closed past this size (at most max_bytes / 4 / lanes)
  std::uint64_t max_bytes = 8ull << 30;       ///< disk bound across all segments
  SpoolFullPolicy full_policy = SpoolFullPolicy::reject;  ///< what happens at the bound
  std::chrono::milliseconds fsync_interval{200};          ///< 0: fsync on every append (tests)
  std::vector<std::string> sinks;                         ///< cursor names; segments wait for all
};

/// Where a sink is in one lane.
struct SpoolPosition {
  std::uint64_t segment = 0;  ///< sequence number; 0 = before the first segment
  std::uint64_t offset = 0;   ///< bytes into the segment
  friend bool operator==(const SpoolPosition&, const SpoolPosition&) = default;
  friend auto operator<=>(const SpoolPosition&, const SpoolPosition&) = default;  ///< later segments, then offsets
};

struct SpoolStats {
  std::uint64_t appended = 0;          ///< records written by this process
  std::uint64_t rejected = 0;          ///< appends refused (disk bound with `reject`, or a write error)
  std::uint64_t write_errors = 0;      ///< failed writes of record batches (a full disk, an I/O error)
  int last_write_errno = 0;            ///< errno of the last failed write (ENOSPC, EIO, …); 0 = none
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

  /// The writer of lane `lane`; one thread per lane. Records are built in place, staged,
  /// and written together: an event loop stages the clicks of one turn and writes them with
  /// one write(2) before any of their 302s leaves (the syscall is most of a record's cost).
  class Writer {
   public:
    /// Starts a record (dropping one started but not staged) and returns the buffer to
    /// append its payload to. The buffer also holds the records staged before it: append
    /// only, never clear.
    std::string& buffer() {
      batch_.resize(staged_bytes_);
      record_start_ = batch_.size();
      batch_.append(8, '\0');  // header, filled by stage()
      return batch_;
    }
    /// Frames the record built in buffer() and keeps it for the next flush(). False when
    /// refused (empty or oversized, or the disk bound with `reject`): the record is dropped
    /// and the click must not be acknowledged.
    bool stage();
    /// Writes every staged record to the OS with one write(2). True (and nothing to do) when
    /// none is staged; false when the write failed: none of them is in the spool. When it
    /// returns true the records survive a crash of this process, and a crash of the machine
    /// after the next fsync (at most fsync_interval later).
    bool flush();
    /// stage() and flush() of one record.
    bool append() { return stage() && flush(); }
    /// Records staged and not yet flushed.
    [[nodiscard]] std::size_t staged() const noexcept { return staged_; }

    /// Where the staged records end now. drop_since() forgets every record staged after it:
    /// a request whose records must be written all or none (site events) takes a mark
    /// before staging them and drops them when one is refused.
    struct Mark {
      std::size_t bytes = 0;
      std::size_t records = 0;
    };
    [[nodiscard]] Mark mark() const noexcept { return {staged_bytes_, staged_}; }
    void drop_since(Mark mark) noexcept {
      batch_.resize(mark.bytes);
      staged_bytes_ = mark.bytes;
      staged_ = mark.records;
    }

   private:
    friend class Spool;
    Writer(Spool& spool, std::size_t lane) : spool_(spool), lane_(lane) {}
    Spool& spool_;
    std::size_t lane_;
    std::string batch_;
    std::size_t record_start_ = 0;
    std::size_t staged_bytes_ = 0;
    std::size_t staged_ = 0;
  };
  Writer& writer(std::size_t lane);

  /// How much reads may deliver; reads sharing one (a batch over every lane) take from it.
  struct ReadBudget {
    std::size_t max_records = SIZE_MAX;
    std::size_t max_bytes = SIZE_MAX;  ///< of payloads; a first record larger than this is still delivered
    std::size_t records = 0;           ///< delivered under this budget so far
    std::size_t bytes = 0;
    bool spent = false;  ///< a read stopped at the budget with more to read
    [[nodiscard]] bool admits(std::size_t size) const noexcept {
      return records < max_records && (records == 0 || bytes + size <= max_bytes);
    }
  };
  /// Reads records of `lane` from `from` on, calling `deliver(payload)` for each while the
  /// budget admits it; returns the position after the last one delivered. Stops at the end
  /// of what has been written; skips a torn or corrupt tail of a segment of an earlier run
  /// or a finished one (counted in corrupt_tails).
  SpoolPosition read(std::size_t lane, SpoolPosition from, ReadBudget& budget,
                     const std::function<void(std::string_view)>& deliver);
  /// As read(), also passing each record's end: the position a reader that has taken it
  /// is at. Consumers that make their effect idempotent keep it (pipeline::RecordOrigin).
  SpoolPosition read_positioned(std::size_t lane, SpoolPosition from, ReadBudget& budget,
                                const std::function<void(std::string_view, SpoolPosition)>& deliver);
  /// As above, at most `max_records`.
  SpoolPosition read(std::size_t lane, SpoolPosition from, std::size_t max_records,
                     const std::function<void(std::string_view)>& deliver) {
    ReadBudget budget{.max_records = max_records};
    return read(lane, from, budget, deliver);
  }

  /// A sink's persisted cursor (positions per lane); all zero for a new sink.
  std::vector<SpoolPosition> cursor(std::string_view sink) const;
  /// Persists a sink's cursor (write, fsync, rename) and deletes segments every sink has
  /// passed. Fails with Errc::io when the cursor cannot be written (a full disk; retried by
  /// the caller), Errc::invalid_input for a sink the spool was not opened with.
  Result<> commit(std::string_view sink, const std::vector<SpoolPosition>& positions);

  /// Bytes written to the spool after `positions` (a sink's lag).
  [[nodiscard]] std::uint64_t pending_bytes(const std::vector<SpoolPosition>& positions) const;
  /// Where each lane's written records end now: a reader at or past these positions has
  /// read every record written before the call.
  [[nodiscard]] std::vector<SpoolPosition> written() const;

  /// Flushes written records to disk now (the fsync thread does it every interval), and
  /// returns once they are there, waiting for a flush already under way.
  void sync();

  [[nodiscard]] std::size_t lanes() const noexcept;
  /// The spool's identity, kept in its directory for its life: positions are only
  /// comparable within one spool (a consumer's applied marks are kept per spool).
  [[nodiscard]] const std::string& id() const noexcept;
  [[nodiscard]] SpoolStats stats() const;
  [[nodiscard]] const SpoolSettings& settings() const noexcept;

 private:
  struct Lane;
  struct State;
  bool admit(std::size_t lane, std::uint64_t bytes);
  void prepare_spares();  // the fsync thread: each lane's next segment, preallocated
  bool write_batch(std::size_t lane, const char* data, std::size_t size, std::size_t records);
  bool next_segment(std::size_t lane, std::uint64_t written);
  void count_write_error(int error) noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace traffic::pipeline
