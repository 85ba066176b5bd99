#include "recipe_updater.hpp"

#include <pthread.h>

#include <atomic>

#include "log.hpp"

namespace trafficd {

namespace {

using traffic::source::RecipeFile;
using traffic::source::RecipeSync;

std::unique_ptr<traffic::source::ObjectSource> source_for(const traffic::config::Config& config,
                                                          const std::string& s3_key, const std::string& url,
                                                          const traffic::Clock& clock) {
  const std::chrono::seconds timeout(config.recipe_fetch_timeout_seconds);
  using Source = traffic::config::Config::RecipeSource;
  if (config.recipe_source() == Source::s3) {
    traffic::source::S3Settings s3;
    s3.bucket = config.s3_bucket_name;
    s3.key = s3_key;
    s3.region = config.aws_region;
    s3.endpoint = config.s3_endpoint;
    s3.path_style = config.s3_path_style;
    s3.credentials = {config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token};
    s3.timeout = timeout;
    return traffic::source::s3_source(s3, clock);
  }
  if (config.recipe_source() == Source::http) return traffic::source::http_source({url, timeout});
  return nullptr;  // the local file itself
}

// Log lines of the updates feed. Invalid messages are logged at 1, 2, 4, 8, … of them: a
// publisher sending garbage is visible without flooding the log.
void report_update(traffic::source::RecordUpdates::Event event, std::string_view detail) {
  using Event = traffic::source::RecordUpdates::Event;
  static std::atomic<std::uint64_t> invalid{0};
  switch (event) {
    case Event::subscribed: log::info("subscribed to record updates", {{"channel", std::string(detail)}}); break;
    case Event::connection_lost:
      log::warn("record updates: Redis unreachable; updates published meanwhile are missed",
                {{"reason", std::string(detail)}});
      break;
    case Event::invalid_message: {
      const std::uint64_t n = ++invalid;
      if ((n & (n - 1)) == 0) {
        log::warn("record update refused", {{"reason", std::string(detail)}, {"refused_so_far", n}});
      }
      break;
    }
  }
}

}  // namespace

RecipeUpdater::RecipeUpdater(const traffic::config::Config& config, traffic::recipe::Store& store,
                             const traffic::Clock& clock, const std::optional<traffic::redis::Endpoint>& redis) {
  if (redis && config.recipe_mirror) {
    mirror_ = std::make_unique<traffic::source::RedisMirror>(
        traffic::source::RedisMirrorSettings{*redis, config.redis_key_prefix});
  }
  traffic::source::RecipeSyncSettings settings;
  settings.interval = std::chrono::seconds(config.recipe_poll_seconds);
  sync_ = std::make_unique<RecipeSync>(
      store, clock,
      RecipeFile{config.offers_recipe_path,
                 source_for(config, config.s3_offers_recipe_path, config.offers_recipe_url, clock)},
      RecipeFile{config.campaigns_recipe_path,
                 source_for(config, config.s3_campaigns_recipe_path, config.campaigns_recipe_url, clock)},
      settings, mirror_.get());
  if (redis && !config.recipe_updates_channel.empty()) {
    traffic::source::RecordUpdateSettings updates;
    updates.endpoint = *redis;
    updates.channel = config.recipe_updates_channel;
    updates_ = std::make_unique<traffic::source::RecordUpdates>(store, clock, std::move(updates), report_update);
  }
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
  if (updates_) updates_->start();
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
  if (updates_) updates_->stop();
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
