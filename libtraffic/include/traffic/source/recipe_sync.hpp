#pragma once
// Keeps the recipe current (SPEC.md §5.5, §6): polls the offers and campaigns sources,
// installs a changed recipe only when both files load, and never serves a broken one.
//
// A round: each source fetches its object into `<path>.download` if it changed (a local
// recipe without a source is watched in place). When either changed, both files are
// loaded (the changed one from its download, the other from its path) and installed in the
// Store as one new version, with each file's modification time (updates newer than it are
// kept); then each download is fsync'ed and renamed over its path — a file at the recipe
// path is always the last complete, valid one — and the mirror is written. A download that
// fails to load is refused (counted) and not fetched again until it changes.
//
// RecipeSync blocks (network I/O): run it on a thread of its own (trafficd's
// `recipe-sync`), never on a request thread.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "traffic/common/clock.hpp"
#include "traffic/common/error.hpp"
#include "traffic/common/random.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/source/object_source.hpp"

namespace traffic::source {

/// A copy of the installed recipe somewhere else (the Redis mirror), and where to boot
/// from when neither the sources nor the local files are usable.
class RecipeMirror {
 public:
  virtual ~RecipeMirror() = default;
  /// Writes the recipe just installed, from its files' bytes (gzip or plain JSON arrays).
  virtual Result<> write(std::string_view offers_file, std::string_view campaigns_file) = 0;
  /// The recipe last written, as two JSON arrays (offers, campaigns); fails when there is
  /// none or it cannot be read.
  virtual Result<std::pair<std::string, std::string>> read() = 0;
};

struct RecipeFile {
  std::filesystem::path path;            ///< OFFERS_RECIPE_PATH / CAMPAIGNS_RECIPE_PATH
  std::unique_ptr<ObjectSource> source;  ///< nullptr: the local file at `path` is the source
};

struct RecipeSyncSettings {
  std::chrono::milliseconds interval{20'000};  ///< between rounds (RECIPE_POLL_SECONDS)
  double jitter = 0.1;                         ///< each wait is interval × (1 ± jitter)
  std::chrono::milliseconds max_backoff{300'000};
};

struct RecipeSyncStats {
  TimestampMs last_success = 0;   ///< last round that reached both sources (0: never)
  TimestampMs last_change = 0;    ///< last recipe installed
  TimestampMs last_modified = 0;  ///< newest modification time of the files in service
  std::uint64_t failures = 0;     ///< rounds that could not reach a source
  std::uint64_t refused = 0;      ///< recipes refused (did not load, or empty)
  std::uint64_t consecutive_failures = 0;
  std::uint64_t mirror_failures = 0;  ///< installed recipes the mirror could not take
  std::string last_failure;           ///< "" after a good round
};

class RecipeSync {
 public:
  enum class Outcome : std::uint8_t { unchanged, installed, refused, failed };
  struct Round {
    Outcome outcome = Outcome::failed;
    std::string message;        ///< one line for logs and /admin/recipe/reload
    std::uint64_t version = 0;  ///< installed
    std::string mirror_error;   ///< "" unless the mirror could not be written
  };

  /// `mirror` may be nullptr; it and `clock` must outlive the RecipeSync.
  RecipeSync(recipe::Store& store, const Clock& clock, RecipeFile offers, RecipeFile campaigns,
             RecipeSyncSettings settings, RecipeMirror* mirror = nullptr);
  ~RecipeSync();
  RecipeSync(const RecipeSync&) = delete;
  RecipeSync& operator=(const RecipeSync&) = delete;

  /// One round (see above). `force`: load and install even if nothing changed. Thread-safe
  /// (rounds are serialised).
  Round poll(bool force = false);

  /// The first round at start. When it installs nothing (sources unreachable or refused):
  /// the recipe files at the paths (the last downloaded ones), else the mirror.
  Round boot();

  /// How long to wait before the next round: the interval with jitter, or after failed
  /// rounds an exponential backoff (interval × 2^(n−1), at most max_backoff).
  [[nodiscard]] std::chrono::milliseconds next_delay();

  /// As of the last round's end: never waits for a round in progress (a /metrics scrape
  /// must not wait on the network).
  [[nodiscard]] RecipeSyncStats stats() const;
  /// "s3://…, s3://…" — where the recipe comes from, for logs.
  [[nodiscard]] std::string describe() const;

 private:
  struct Tracked;
  Round install(const std::string& offers_bytes, const std::string& campaigns_bytes, recipe::FileTimes times,
                const std::string& origin);
  Round poll_locked(bool force);
  Round boot_locked();
  void publish_stats();
  Round refuse(const std::string& reason);
  Round fail(const std::string& reason);

  recipe::Store& store_;
  const Clock& clock_;
  RecipeSyncSettings settings_;
  RecipeMirror* mirror_;
  std::unique_ptr<Tracked> offers_;
  std::unique_ptr<Tracked> campaigns_;
  FastRandom random_;
  std::mutex mutex_;  // one round at a time; guards the state above and stats_
  RecipeSyncStats stats_;
  mutable std::mutex stats_mutex_;
  RecipeSyncStats published_stats_;
};

}  // namespace traffic::source
