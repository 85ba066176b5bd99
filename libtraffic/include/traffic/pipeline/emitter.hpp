#pragma once
// The emitter: one thread per sink reading the spool from the sink's cursor, delivering
// batches, and committing the cursor once the sink has them (SPEC.md §9). A sink that
// fails is retried with exponential backoff and jitter; its backlog stays on disk.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "traffic/pipeline/sink.hpp"
#include "traffic/pipeline/spool.hpp"

namespace traffic::pipeline {

struct EmitterSettings {
  std::size_t batch_records = 4096;               ///< most records per delivery
  std::size_t batch_bytes = 4 << 20;              ///< most record bytes per delivery (a longer first record goes alone)
  std::chrono::milliseconds poll{100};            ///< how long records gather before a caught-up sink reads again
  std::chrono::milliseconds backoff_first{100};   ///< first wait after a failure
  std::chrono::milliseconds backoff_max{30'000};  ///< the wait doubles up to this
  int sink_nice = 10;                             ///< scheduling niceness of the sink threads (request threads keep 0)
  std::uint64_t jitter_seed = 0;                  ///< seeds the backoff's jitter; 0: from std::random_device
};

struct SinkStats {
  std::string name;
  std::uint64_t delivered = 0;        ///< records the sink has taken since start
  std::uint64_t failures = 0;         ///< failed deliveries since start
  std::uint64_t pending_bytes = 0;    ///< spool bytes not yet taken (lag)
  std::uint64_t held_bytes = 0;       ///< spool bytes taken but held by the sink, not yet durable
  double seconds_since_success = -1;  ///< since the last delivery; -1 = none yet
  bool cursor_behind = false;         ///< delivered records whose cursor could not be saved yet (a full disk)
  std::string last_failure;           ///< the last failure's reason ("" = none yet); kept after a recovery
};

class Emitter {
 public:
  struct NamedSink {
    std::string name;  ///< the spool cursor's name (configured in SpoolSettings::sinks)
    std::unique_ptr<Sink> sink;
    std::size_t batch_records = 0;      ///< most records per delivery; 0: EmitterSettings::batch_records
    std::chrono::milliseconds poll{0};  ///< how long records gather when caught up; 0: EmitterSettings::poll
  };
  Emitter(Spool& spool, std::vector<NamedSink> sinks, EmitterSettings settings = {});
  ~Emitter();  ///< stop() with no drain time, if still running
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  void start();
  /// Delivers what the spool holds now to every sink, for at most `drain`, then stops the
  /// threads and closes the sinks. What a sink did not take stays in the spool for the
  /// next run. Call after the request threads have stopped appending.
  void stop(std::chrono::milliseconds drain);

  [[nodiscard]] std::vector<SinkStats> stats() const;

  /// Waits until sink `name` has taken every record written to the spool before the call —
  /// waking it to read at once rather than after its poll — at most `limit`. True when it
  /// has; false on timeout, for an unknown sink, or when the sink is failing. Read-your-
  /// writes for postbacks: the lid store sink has a click as soon as this returns.
  bool await_taken(std::string_view name, std::chrono::milliseconds limit);

 private:
  struct Runner;
  void run(Runner& runner);
  Spool& spool_;
  EmitterSettings settings_;
  std::vector<std::unique_ptr<Runner>> runners_;
};

}  // namespace traffic::pipeline
