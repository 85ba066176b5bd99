#pragma once
// The recipe in trafficd (docs/recipe-sync.md): a source::RecipeSync built from the
// configuration (S3, HTTP(S) URLs, or the local files), booted before listening and then
// polled by a `recipe-sync` thread — never by a request thread or the signal loop, since
// a round may wait on the network. With Redis: the recipe mirrored there (and booted from
// when all else fails), and live record updates from its pub/sub channel.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "traffic/common/clock.hpp"
#include "traffic/config/config.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/redis/connection.hpp"
#include "traffic/source/recipe_sync.hpp"
#include "traffic/source/record_updates.hpp"
#include "traffic/source/redis_mirror.hpp"

namespace trafficd {

class RecipeUpdater {
 public:
  /// `redis`: the instance's Redis (REDIS_HOST), or nullopt.
  RecipeUpdater(const traffic::config::Config& config, traffic::recipe::Store& store, const traffic::Clock& clock,
                const std::optional<traffic::redis::Endpoint>& redis);
  ~RecipeUpdater();
  RecipeUpdater(const RecipeUpdater&) = delete;
  RecipeUpdater& operator=(const RecipeUpdater&) = delete;

  /// The first load: sources, else the last downloaded files (not ready until one works;
  /// the thread keeps trying).
  void boot();
  /// Starts the polling thread (and the updates subscription).
  void start();
  void stop();
  /// Asks the thread for a round now (SIGHUP).
  void check_now();
  /// A forced round on the calling thread (admin reload; may block): its outcome line.
  std::string reload();

  [[nodiscard]] traffic::source::RecipeSyncStats stats() const { return sync_->stats(); }
  /// nullptr when there is no updates channel.
  [[nodiscard]] const traffic::source::RecordUpdates* updates() const noexcept { return updates_.get(); }

 private:
  void report(const traffic::source::RecipeSync::Round& round) const;

  std::unique_ptr<traffic::source::RedisMirror> mirror_;  // declared before sync_, which uses it
  std::unique_ptr<traffic::source::RecipeSync> sync_;
  std::unique_ptr<traffic::source::RecordUpdates> updates_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool check_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace trafficd
