#pragma once
// The lid store: click records by lid, for postbacks (SPEC.md §9), and the conversion
// de-duplication keys. The request path never writes it: a `pipeline::LidStoreSink`
// (pipeline/sinks/lid_store_sink.hpp) fed by the spool like any other sink puts each
// click in, a poll interval after the click.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/common/time.hpp"

namespace traffic::lid {

/// The once-only marks a lid can carry, each expiring with the lid.
enum class LidMark : std::uint8_t {
  converted,  ///< a conversion was recorded (the atomic de-duplication of postbacks)
  resent,     ///< the click was re-emitted (`resendLid=yes`, once)
};
inline constexpr std::size_t kLidMarks = 2;

/// One click for the store: its lid and its record (one JSON line, no newline).
struct LidRecord {
  std::string_view lid;
  std::string_view record;
};

/// Every call of a remote store (Redis) may fail with Errc::unavailable when it cannot
/// answer now: the postback is answered 503 and the advertiser retries. In-process stores
/// never fail.
class LidStore {
 public:
  virtual ~LidStore() = default;
  /// Keeps `record` (one JSON line) under `lid`; replaces an earlier one.
  virtual Result<> put(std::string_view lid, std::string_view record, TimestampMs now) {
    const LidRecord one{lid, record};
    return put_many({&one, 1}, now);
  }
  /// Keeps a batch; on a failure some may be kept, and the batch is retried whole.
  virtual Result<> put_many(std::span<const LidRecord> records, TimestampMs now) = 0;
  /// True when the calls below wait on the network: the request threads hand postbacks to
  /// a thread that may block (docs/shared-state.md).
  [[nodiscard]] virtual bool remote() const noexcept { return false; }
  /// The record of `lid`, if kept and not expired.
  [[nodiscard]] virtual Result<std::optional<std::string>> get(std::string_view lid, TimestampMs now) = 0;
  /// Puts `mark` on `lid`; true only for the first call, across every instance sharing the
  /// store (the atomic de-duplication of conversions and resends).
  virtual Result<bool> mark(std::string_view lid, LidMark mark, TimestampMs now) = 0;
  /// Forgets a mark (resendLid=del, or a conversion or resend that could not be recorded).
  virtual Result<> clear_mark(std::string_view lid, LidMark mark) = 0;
};

/// Single-instance mode: an in-process store bounded by records and by bytes (the oldest
/// records go first past either bound), records and marks expiring after `ttl`.
/// Thread-safe. Lost on restart. It keeps what a conversion needs, the click record (the
/// conversion is that record re-emitted), and nothing else.
/// In steady state a new record reuses the evicted one's map node and string capacity: no
/// allocation, no fresh pages (which cost this VM several µs per click when measured).
class InMemoryLidStore final : public LidStore {
 public:
  /// What one record costs besides its lid's and record's capacity: the map node, its
  /// bucket, its two slots in the insertion ring and the allocator's headers (x86-64,
  /// libstdc++, glibc; docs/reliability.md has the measurement).
  static constexpr std::size_t kRecordOverheadBytes = 320;
  InMemoryLidStore(std::size_t max_records, std::size_t max_bytes, std::chrono::seconds ttl);
  Result<> put_many(std::span<const LidRecord> records, TimestampMs now) override;
  Result<std::optional<std::string>> get(std::string_view lid, TimestampMs now) override;
  Result<bool> mark(std::string_view lid, LidMark mark, TimestampMs now) override;
  Result<> clear_mark(std::string_view lid, LidMark mark) override;
  [[nodiscard]] std::size_t size() const;
  /// The bytes the records hold now, counted as the byte bound counts them.
  [[nodiscard]] std::size_t bytes() const;

 private:
  struct Entry {
    std::string record;
    TimestampMs stored_at = 0;
    std::uint64_t sequence = 0;
  };
  using Records = std::unordered_map<std::string, Entry>;
  struct Slot {  // insertion order, a ring of 2 × max_records slots
    std::string lid;
    std::uint64_t sequence = 0;
  };
  static std::size_t cost(const std::string& lid, const Entry& entry) noexcept {
    return lid.capacity() + entry.record.capacity() + kRecordOverheadBytes;
  }
  void put_one(std::string_view lid, std::string_view record, TimestampMs now);
  Records::node_type evict_oldest();
  void erase(Records::iterator it);
  void trim();
  void compact();
  std::size_t max_records_;
  std::size_t max_bytes_;
  TimestampMs ttl_ms_;
  mutable std::mutex mutex_;
  Records records_;
  std::size_t bytes_ = 0;                                                      // cost() of every record in records_
  std::array<std::unordered_map<std::string, TimestampMs>, kLidMarks> marks_;  // by LidMark
  std::vector<Slot> ring_;
  std::uint64_t next_sequence_ = 0;  // sequence of the next put; ring_[sequence % size]
  std::uint64_t oldest_sequence_ = 0;
};

}  // namespace traffic::lid
