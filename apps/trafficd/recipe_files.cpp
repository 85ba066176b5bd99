#include "recipe_files.hpp"

#include "log.hpp"
#include "traffic/common/file.hpp"
#include "traffic/recipe/loader.hpp"

namespace trafficd {

RecipeFiles::RecipeFiles(const traffic::config::Config& config, traffic::recipe::Store& store,
                         const traffic::Clock& clock)
    : offers_path_(config.offers_recipe_path),
      campaigns_path_(config.campaigns_recipe_path),
      store_(store),
      clock_(clock) {}

std::string RecipeFiles::reload(bool force) {
  std::lock_guard lock(mutex_);
  const auto offers_identity = traffic::file_identity(offers_path_);
  const auto campaigns_identity = traffic::file_identity(campaigns_path_);
  if (!offers_identity || !campaigns_identity) {
    const std::string line = "recipe files not found: " + offers_path_ + ", " + campaigns_path_;
    log::warn("recipe not loaded",
              {{"reason", "file not found"}, {"offers", offers_path_}, {"campaigns", campaigns_path_}});
    return line;
  }
  const traffic::FileIdentity offers_now = *offers_identity;
  const traffic::FileIdentity campaigns_now = *campaigns_identity;
  if (!force && offers_now == offers_seen_ && campaigns_now == campaigns_seen_) return "recipe unchanged";

  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  std::string refusal;
  try {
    auto offers = traffic::recipe::load_offers(traffic::read_file(offers_path_), offers_report);
    auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(campaigns_path_), campaigns_report);
    if (!offers) {
      refusal = offers_path_ + ": " + offers_report.error_detail;
    } else if (!campaigns) {
      refusal = campaigns_path_ + ": " + campaigns_report.error_detail;
    } else if (auto version = store_.replace(std::move(*offers), std::move(*campaigns)); !version) {
      refusal = version.error().message();
    } else {
      offers_seen_ = offers_now;
      campaigns_seen_ = campaigns_now;
      installed_at_ = clock_.now();
      log::info("recipe loaded", {{"version", *version},
                                  {"offers", offers_report.loaded},
                                  {"campaigns", campaigns_report.loaded},
                                  {"problems", offers_report.malformed_fields + campaigns_report.malformed_fields}});
      return "recipe version " + std::to_string(*version) + " loaded";
    }
  } catch (const std::exception& e) {
    refusal = e.what();  // unreadable file
  }
  // Remember the refused files: the same broken bytes are not re-parsed on every poll.
  offers_seen_ = offers_now;
  campaigns_seen_ = campaigns_now;
  refused_.fetch_add(1);
  log::error("recipe refused; the previous one stays in service", {{"reason", refusal}});
  return "recipe refused: " + refusal;
}

}  // namespace trafficd
