#pragma once
// The recipe from local files (OFFERS_RECIPE_PATH / CAMPAIGNS_RECIPE_PATH): loaded at start,
// re-read when either file changes (polled, SIGHUP, /admin/recipe/reload). A file that
// fails to load is refused and the recipe in service stays. (S3/HTTP sources and the
// Redis mirror come with the recipe-sync issue and will replace this.)

#include <atomic>
#include <mutex>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/common/file.hpp"
#include "traffic/config/config.hpp"
#include "traffic/recipe/store.hpp"

namespace trafficd {

class RecipeFiles {
 public:
  RecipeFiles(const traffic::config::Config& config, traffic::recipe::Store& store, const traffic::Clock& clock);

  /// Loads the files if either changed since the last load (or always with `force`).
  /// Returns one line saying what happened. Thread-safe.
  std::string reload(bool force);

  [[nodiscard]] traffic::TimestampMs installed_at() const noexcept { return installed_at_.load(); }
  [[nodiscard]] std::uint64_t refused() const noexcept { return refused_.load(); }

 private:
  std::string offers_path_;
  std::string campaigns_path_;
  traffic::recipe::Store& store_;
  const traffic::Clock& clock_;
  std::mutex mutex_;
  traffic::FileIdentity offers_seen_;
  traffic::FileIdentity campaigns_seen_;
  std::atomic<traffic::TimestampMs> installed_at_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace trafficd
