#pragma once
// The recipe in trafficd (docs/recipe-sync.md): a source::RecipeSync built from the
// configuration (S3, HTTP(S) URLs, or the local files), booted before listening and then
// polled by a `recipe-sync` thread — never by a request thread or the signal loop, since
// a round may wait on the network.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "traffic/common/clock.hpp"
#include "traffic/config/config.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/source/recipe_sync.hpp"

namespace trafficd {

class RecipeUpdater {
 public:
  RecipeUpdater(const traffic::config::Config& config, traffic::recipe::Store& store, const traffic::Clock& clock);
  ~RecipeUpdater();
  RecipeUpdater(const RecipeUpdater&) = delete;
  RecipeUpdater& operator=(const RecipeUpdater&) = delete;

  /// The first load: sources, else the last downloaded files (not ready until one works;
  /// the thread keeps trying).
  void boot();
  /// Starts the polling thread.
  void start();
  void stop();
  /// Asks the thread for a round now (SIGHUP).
  void check_now();
  /// A forced round on the calling thread (admin reload; may block): its outcome line.
  std::string reload();

  [[nodiscard]] traffic::source::RecipeSyncStats stats() const { return sync_->stats(); }

 private:
  void report(const traffic::source::RecipeSync::Round& round) const;

  std::unique_ptr<traffic::source::RecipeSync> sync_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool check_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace trafficd
