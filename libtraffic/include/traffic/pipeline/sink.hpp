#pragma once
// Sinks: where spooled click records go (SPEC.md §9). A sink receives batches of records
// in spool order and says when the destination has them; the Emitter (emitter.hpp) moves
// its cursor only then. Sinks run on their own threads, never on the request path.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/pipeline/spool.hpp"

namespace traffic::pipeline {

enum class SinkKind : std::uint8_t { file, http, aggregator, redis };
std::string_view to_string(SinkKind kind) noexcept;

/// One entry of SINKS, e.g. `file:///var/lib/trafficd/clicks#rotate_seconds=300`.
/// Options of the sink itself go in the URL's fragment (never sent anywhere), so the rest
/// of the URL is exactly the destination's.
struct SinkUrl {
  SinkKind kind = SinkKind::file;
  std::string name;    ///< cursor name: the kind, or the `name` option (a-z 0-9 - _)
  std::string target;  ///< file: the directory; http/aggregator: the URL; redis: the URL
  std::string path;    ///< the URL's path (redis: "/<stream key>")
  std::map<std::string, std::string, std::less<>> options;  ///< from the fragment
  /// An option as an integer in [low, high]; `fallback` when absent. Throws
  /// std::invalid_argument ("<key> must be low..high") when malformed or out of range.
  [[nodiscard]] std::uint64_t number(std::string_view key, std::uint64_t fallback, std::uint64_t low,
                                     std::uint64_t high) const;
};

/// What a record is, from its `event` field: a click (`traffic-api`, and its resends
/// `traffic-manually`), a conversion (`traffic-bonus`) or a site event (`traffic-event`).
enum class RecordKind : std::uint8_t { click, conversion, event };
/// A set of RecordKinds, one bit each (`1 << kind`).
using RecordKinds = std::uint8_t;
inline constexpr RecordKinds kAllRecordKinds = 0b111;
[[nodiscard]] std::optional<RecordKind> record_kind(std::string_view record) noexcept;
/// The kinds a sink takes: its `kinds` option ("click,conversion,event"); absent, every
/// kind but for aggregator sinks, whose API knows clicks and conversions only. Fails
/// with Errc::invalid_input naming an unknown kind.
[[nodiscard]] Result<RecordKinds> record_kinds(const SinkUrl& url);

/// A sink (and spool cursor) name: 1-64 of a-z 0-9 - _.
[[nodiscard]] bool valid_sink_name(std::string_view name) noexcept;

/// Parses sink URLs; the first problem fails with Errc::invalid_input and one line naming
/// the URL (credentials removed) and the reason. Names must be unique.
Result<std::vector<SinkUrl>> parse_sink_urls(const std::vector<std::string>& urls);

/// Where a delivered record lies in the spool: its lane and its end (the position of a
/// reader that has taken it). Positions only grow within a lane, so a consumer that keeps,
/// with its effect, the last end it applied per lane can skip what it is offered again.
struct RecordOrigin {
  std::uint32_t lane = 0;
  SpoolPosition end;
};

class Sink {
 public:
  virtual ~Sink() = default;
  /// Takes `records` (JSON lines, each ending in '\n'), in order. Succeeds once the sink has
  /// all of them: the destination has them (an http sink got its 2xx), or the sink holds them
  /// to make them durable later in one go (holding(): a file sink writes a whole file when
  /// it closes). Fails (with a reason for the operator's log, never a credential) when it
  /// has not taken them all — the same records are offered again
  /// later (at-least-once); a sink that was holding records has then dropped those too,
  /// and they are offered again as well.
  virtual Result<> deliver(std::span<const std::string_view> records) = 0;
  /// deliver() with each record's origin in the spool (`origins[i]` is `records[i]`'s), as
  /// the Emitter delivers. A sink whose effect must not repeat when a batch is offered
  /// again (after a crash, or a failure that came after the effect) overrides this one.
  virtual Result<> deliver_with_origins(std::span<const std::string_view> records,
                                        std::span<const RecordOrigin> origins) {
    (void)origins;
    return deliver(records);
  }
  /// Whether records taken by deliver() wait in the sink, not yet durable (a crash would
  /// lose them). The Emitter moves the spool cursor only past durable records, so those
  /// stay in the spool until flush() or a rotation makes them durable.
  [[nodiscard]] virtual bool holding() const noexcept { return false; }
  /// Makes held records durable now. Fails when it could not: they are dropped, to be
  /// offered again.
  virtual Result<> flush() { return {}; }
  /// Called when there is nothing to deliver: time-based work (closing a file by age).
  /// Fails, like flush(), when held records could not be made durable and were dropped.
  virtual Result<> idle() { return {}; }
  /// Called once after the last delivery and flush(), at shutdown.
  virtual void close() {}
};

/// A sink that passes on only records of some kinds (a sink URL's `kinds`): the others
/// are taken at once, never delivered. Everything else is the wrapped sink's.
class KindFilter final : public Sink {
 public:
  KindFilter(std::unique_ptr<Sink> sink, RecordKinds kinds) : sink_(std::move(sink)), kinds_(kinds) {}
  Result<> deliver(std::span<const std::string_view> records) override;
  Result<> deliver_with_origins(std::span<const std::string_view> records,
                                std::span<const RecordOrigin> origins) override;
  [[nodiscard]] bool holding() const noexcept override { return sink_->holding(); }
  Result<> flush() override { return sink_->flush(); }
  Result<> idle() override { return sink_->idle(); }
  void close() override { sink_->close(); }

 private:
  std::unique_ptr<Sink> sink_;
  RecordKinds kinds_;
  std::vector<std::string_view> kept_;
  std::vector<RecordOrigin> kept_origins_;
};

}  // namespace traffic::pipeline
