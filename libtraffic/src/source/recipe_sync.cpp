#include "traffic/source/recipe_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <system_error>

#include "traffic/common/file.hpp"
#include "traffic/recipe/loader.hpp"

namespace traffic::source {

namespace {

bool fsync_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

struct RecipeSync::Tracked {
  explicit Tracked(RecipeFile f) : file(std::move(f)), download(file.path.string() + ".download") {}
  [[nodiscard]] std::string describe() const { return file.source ? file.source->describe() : file.path.string(); }

  RecipeFile file;
  std::filesystem::path download;
  Version known;                     // of the file at `path`, or of a refused download
  TimestampMs modified_at = 0;       // of the file at `path`
  std::optional<FileIdentity> seen;  // local files: the last one loaded or refused

  // One round's view of this file.
  bool changed = false;
  Fetch fetched;
  std::optional<FileIdentity> identity;
};

RecipeSync::RecipeSync(recipe::Store& store, const Clock& clock, RecipeFile offers, RecipeFile campaigns,
                       RecipeSyncSettings settings, RecipeMirror* mirror)
    : store_(store),
      clock_(clock),
      settings_(settings),
      mirror_(mirror),
      offers_(std::make_unique<Tracked>(std::move(offers))),
      campaigns_(std::make_unique<Tracked>(std::move(campaigns))) {}

RecipeSync::~RecipeSync() = default;

RecipeSync::Round RecipeSync::fail(const std::string& reason) {
  ++stats_.failures;
  ++stats_.consecutive_failures;
  stats_.last_failure = reason;
  return {Outcome::failed, "recipe sources unreachable: " + reason, 0, {}};
}

RecipeSync::Round RecipeSync::refuse(const std::string& reason) {
  ++stats_.refused;
  stats_.last_failure = reason;
  return {Outcome::refused, "recipe refused, the previous one stays in service: " + reason, 0, {}};
}

RecipeSync::Round RecipeSync::install(const std::string& offers_bytes, const std::string& campaigns_bytes,
                                      recipe::FileTimes times, const std::string& origin) {
  recipe::LoadReport offers_report;
  recipe::LoadReport campaigns_report;
  auto offers = recipe::load_offers(offers_bytes, offers_report);
  if (!offers) return refuse(offers_->describe() + ": " + offers_report.error_detail);
  auto campaigns = recipe::load_campaigns(campaigns_bytes, campaigns_report);
  if (!campaigns) return refuse(campaigns_->describe() + ": " + campaigns_report.error_detail);
  const std::size_t offer_count = offers->size();
  const std::size_t campaign_count = campaigns->size();
  // A file with no records where the recipe in service has some is an upstream failure
  // (SPEC §5.5), even when the other file still has records.
  const auto current = store_.current();
  if (offer_count == 0 && current->offer_count() > 0) {
    return refuse(offers_->describe() + ": no offers (" + std::to_string(current->offer_count()) + " in service)");
  }
  if (campaign_count == 0 && current->campaign_count() > 0) {
    return refuse(campaigns_->describe() + ": no campaigns (" + std::to_string(current->campaign_count()) +
                  " in service)");
  }
  auto version = store_.replace(std::move(*offers), std::move(*campaigns), times);
  if (!version) return refuse(origin + ": " + version.error().message());
  stats_.last_change = clock_.now();
  const auto known = [](TimestampMs t) { return t == std::numeric_limits<TimestampMs>::max() ? 0 : t; };
  stats_.last_modified = std::max(known(times.offers), known(times.campaigns));
  stats_.last_failure.clear();
  return {Outcome::installed,
          "recipe version " + std::to_string(*version) + " installed from " + origin + " (" +
              std::to_string(offer_count) + " offers, " + std::to_string(campaign_count) + " campaigns)",
          *version,
          {}};
}

RecipeSync::Round RecipeSync::poll(bool force) {
  std::lock_guard lock(mutex_);
  Round round = poll_locked(force);
  publish_stats();
  return round;
}

void RecipeSync::publish_stats() {
  std::lock_guard lock(stats_mutex_);
  published_stats_ = stats_;
}

RecipeSync::Round RecipeSync::poll_locked(bool force) {
  Tracked* const files[] = {offers_.get(), campaigns_.get()};
  for (Tracked* t : files) {
    t->changed = false;
    if (t->file.source) {
      t->fetched = t->file.source->fetch(t->known, t->download);
      if (t->fetched.outcome == Fetch::Outcome::failed) return fail(t->fetched.error);
      t->changed = t->fetched.outcome == Fetch::Outcome::fetched;
    } else {
      t->identity = file_identity(t->file.path.string());
      if (!t->identity) return fail(t->file.path.string() + ": not found");
      t->changed = t->identity != t->seen;
    }
  }
  const TimestampMs now = clock_.now();
  stats_.last_success = now;
  stats_.consecutive_failures = 0;
  if (!force && !offers_->changed && !campaigns_->changed) {
    stats_.last_failure.clear();
    return {Outcome::unchanged, "recipe unchanged", 0, {}};
  }

  std::string bytes[2];
  recipe::FileTimes times;
  std::string origin;
  for (std::size_t i = 0; i < 2; ++i) {
    Tracked& t = *files[i];
    const bool from_download = t.file.source && t.changed;
    try {
      bytes[i] = read_file(from_download ? t.download : t.file.path);
    } catch (const std::exception& e) {
      return fail(e.what());  // a recipe path not there yet (first download of one file failed)
    }
    TimestampMs modified = t.modified_at;
    if (from_download) modified = t.fetched.modified_at;
    if (!t.file.source) modified = t.identity->mtime_ns / 1'000'000;
    (i == 0 ? times.offers : times.campaigns) = modified;
    if (!origin.empty()) origin += ", ";
    origin += t.describe();
  }
  Round round = install(bytes[0], bytes[1], times, origin);

  for (Tracked* t : files) {
    if (!t->file.source) {
      t->seen = t->identity;  // installed or refused: not parsed again until it changes
      if (round.outcome == Outcome::installed) t->modified_at = t->identity->mtime_ns / 1'000'000;
      continue;
    }
    if (!t->changed) continue;
    t->known = t->fetched.version;  // a refused download is not fetched again until it changes
    std::error_code ignored;
    if (round.outcome != Outcome::installed) {
      std::filesystem::remove(t->download, ignored);
      continue;
    }
    t->modified_at = t->fetched.modified_at;
    std::error_code error;
    if (fsync_file(t->download)) std::filesystem::rename(t->download, t->file.path, error);
    sync_directory(t->file.path.parent_path().empty() ? "." : t->file.path.parent_path());
    if (error) round.message += "; " + t->file.path.string() + " not replaced: " + error.message();
  }
  if (round.outcome == Outcome::installed && mirror_ != nullptr) {
    if (const Result<> mirrored = mirror_->write(bytes[0], bytes[1]); !mirrored) {
      round.mirror_error = mirrored.error().detail;
      ++stats_.mirror_failures;
    }
  }
  return round;
}

RecipeSync::Round RecipeSync::boot() {
  std::lock_guard lock(mutex_);
  Round round = boot_locked();
  publish_stats();
  return round;
}

RecipeSync::Round RecipeSync::boot_locked() {
  Round round = poll_locked(false);
  if (round.outcome == Outcome::installed || store_.loaded()) return round;
  // The last downloaded (or locally installed) files.
  if (offers_->file.source || campaigns_->file.source) {
    try {
      const std::string offers = read_file(offers_->file.path);
      const std::string campaigns = read_file(campaigns_->file.path);
      Round fallback = install(offers, campaigns, {}, "the last downloaded files");
      if (fallback.outcome == Outcome::installed) {
        fallback.message = round.message + "; " + fallback.message;
        return fallback;
      }
      round.message += "; " + fallback.message;
    } catch (const std::exception& e) {
      round.message += std::string("; no downloaded files: ") + e.what();
    }
  }
  if (mirror_ != nullptr) {
    if (const auto recipe = mirror_->read(); recipe) {
      Round fallback = install(recipe->first, recipe->second, {}, "the Redis mirror");
      fallback.message = round.message + "; " + fallback.message;
      return fallback;
    } else {
      round.message += "; mirror: " + recipe.error().detail;
    }
  }
  return round;
}

std::chrono::milliseconds RecipeSync::next_delay() {
  std::lock_guard lock(mutex_);
  double base = static_cast<double>(settings_.interval.count());
  if (stats_.consecutive_failures > 0) {
    const auto doublings = static_cast<double>(std::min<std::uint64_t>(stats_.consecutive_failures - 1, 30));
    base = std::min(base * std::pow(2.0, doublings), static_cast<double>(settings_.max_backoff.count()));
  }
  const double unit = static_cast<double>(random_.next() >> 11) / 9007199254740992.0;  // [0, 1)
  const double factor = 1.0 + settings_.jitter * (2.0 * unit - 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * factor));
}

RecipeSyncStats RecipeSync::stats() const {
  std::lock_guard lock(stats_mutex_);
  return published_stats_;
}

std::string RecipeSync::describe() const {
  return offers_->describe() + ", " + campaigns_->describe();
}

}  // namespace traffic::source
