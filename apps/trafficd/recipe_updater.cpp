#include "recipe_updater.hpp"

#include <pthread.h>

#include "log.hpp"

namespace trafficd {

namespace {

using traffic::source::RecipeFile;
using traffic::source::RecipeSync;

std::unique_ptr<traffic::source::ObjectSource> source_for(const traffic::config::Config& config,
                                                          const std::string& s3_key, const std::string& url,
                                                          const traffic::Clock& clock) {
  const std::chrono::seconds timeout(config.recipe_fetch_timeout_seconds);
  if (config.recipe_source() == "s3") {
    traffic::source::S3Settings s3;
    s3.bucket = config.s3_bucket_name;
    s3.key = s3_key;
    s3.region = config.aws_region;
    s3.endpoint = config.s3_endpoint;
    s3.path_style = config.s3_path_style;
    s3.credentials = {config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token};
    s3.timeout = timeout;
    return traffic::source::s3_source(std::move(s3), clock);
  }
  if (config.recipe_source() == "http") return traffic::source::http_source({url, timeout});
  return nullptr;  // the local file itself
}

}  // namespace

RecipeUpdater::RecipeUpdater(const traffic::config::Config& config, traffic::recipe::Store& store,
                             const traffic::Clock& clock) {
  traffic::source::RecipeSyncSettings settings;
  settings.interval = std::chrono::seconds(config.recipe_poll_seconds);
  sync_ = std::make_unique<RecipeSync>(
      store, clock,
      RecipeFile{config.offers_recipe_path,
                 source_for(config, config.s3_offers_recipe_path, config.offers_recipe_url, clock)},
      RecipeFile{config.campaigns_recipe_path,
                 source_for(config, config.s3_campaigns_recipe_path, config.campaigns_recipe_url, clock)},
      settings);
}

RecipeUpdater::~RecipeUpdater() {
  stop();
}

void RecipeUpdater::report(const RecipeSync::Round& round) const {
  switch (round.outcome) {
    case RecipeSync::Outcome::unchanged: log::write(log::Level::debug, "recipe unchanged"); break;
    case RecipeSync::Outcome::installed:
      log::info("recipe loaded", {{"version", round.version}, {"detail", round.message}});
      break;
    case RecipeSync::Outcome::refused:
      log::error("recipe refused; the previous one stays in service", {{"reason", round.message}});
      break;
    case RecipeSync::Outcome::failed: log::warn("recipe sources unreachable", {{"reason", round.message}}); break;
  }
  if (!round.mirror_error.empty()) log::warn("recipe mirror not written", {{"reason", round.mirror_error}});
}

void RecipeUpdater::boot() {
  log::info("recipe source", {{"from", sync_->describe()}});
  report(sync_->boot());
}

void RecipeUpdater::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recipe-sync");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, sync_->next_delay(), [&] { return stopping_ || check_; });
      if (stopping_) break;
      check_ = false;
      lock.unlock();
      report(sync_->poll());
      lock.lock();
    }
  });
}

void RecipeUpdater::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RecipeUpdater::check_now() {
  {
    std::lock_guard lock(mutex_);
    check_ = true;
  }
  wake_.notify_all();
}

std::string RecipeUpdater::reload() {
  const RecipeSync::Round round = sync_->poll(/*force=*/true);
  report(round);
  return round.message;
}

}  // namespace trafficd
