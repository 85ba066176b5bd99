#pragma once
// What the rule engine decided for one click, and why (SPEC.md §7).

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "traffic/common/money.hpp"
#include "traffic/common/time.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::rules {

/// The redirect types the engine writes: the old service's texts, byte for byte, because
/// reports group by them (docs/rules.md). Kept here once for the engine and the metrics.
namespace redirect_types {
inline constexpr std::string_view kDefault = "defaultRedirection";
inline constexpr std::string_view kAggregatedBest = "offerAggregatedBestOffer";
inline constexpr std::string_view kAggregatedNone = "offerAggregatedExitTrafficTpRegularOffer";  // sic
inline constexpr std::string_view kToAggregated = "offerAggregatedExitTrafficToAggregatedOffer";
inline constexpr std::string_view kDateWindow = "OfferStartEndDataRangeNotPass";  // sic
inline constexpr std::string_view kGeo = "offerGeoRestriction";
inline constexpr std::string_view kCustomLp = "customLandingPages";
inline constexpr std::string_view kCampaignOver = "capsCampaignOverLimit";
inline constexpr std::string_view kCampaignUnder = "capsCampaignUnderLimit";
inline constexpr std::string_view kOfferClicksOver = "capsOffersClicksOverLimit";
inline constexpr std::string_view kOfferSalesOver = "capsOffersSalesOverLimit";
inline constexpr std::string_view kOfferUnder = "capsOfferUnderLimit";
inline constexpr std::string_view kPerGeo = "customPayOutPerGeo";
inline constexpr std::string_view kTargetRules = "campaignTargetRules";
}  // namespace redirect_types
inline constexpr std::array<std::string_view, 14> kRedirectTypes = {
    redirect_types::kDefault,         redirect_types::kAggregatedBest, redirect_types::kAggregatedNone,
    redirect_types::kToAggregated,    redirect_types::kDateWindow,     redirect_types::kGeo,
    redirect_types::kCustomLp,        redirect_types::kCampaignOver,   redirect_types::kCampaignUnder,
    redirect_types::kOfferClicksOver, redirect_types::kOfferSalesOver, redirect_types::kOfferUnder,
    redirect_types::kPerGeo,          redirect_types::kTargetRules};

enum class Outcome : std::uint8_t {
  redirect,         ///< 302 to the landing page
  blocked,          ///< 404 "Campaign not found"; not recorded as a click (§4.1)
  no_landing_page,  ///< no landing page anywhere, not even a fallback URL: 404 (§8.1)
};

/// Why a click was blocked. Bounded: these are the labels of the blocks metric.
enum class BlockReason : std::uint8_t {
  none,
  unknown_offer,
  unknown_campaign,
  affiliate_blacklisted,
  campaign_not_active,      ///< campaignStatus inactive, pending, blocked or rejected
  link_mismatch,            ///< strict mode: the campaign names another offer than the link
  default_campaign_missing  ///< inactive offer, and the default campaign (or its offer) is not in the recipe
};
std::string_view to_string(Outcome outcome) noexcept;
std::string_view to_string(BlockReason reason) noexcept;

/// The verdict of a caps rule.
enum class CapsVerdict : std::uint8_t { not_evaluated, not_configured, window_closed, under, over_clicks, over_sales };
std::string_view to_string(CapsVerdict verdict) noexcept;

/// The rules and stages of §7, in the order the engine consults them.
enum class Step : std::uint8_t {
  lookup,
  blocks,
  link_pair,
  inactive_offer,
  aggregated,
  date_window,
  geo,
  custom_lp,
  campaign_caps,
  offer_caps,
  payout_per_geo,
  target_rules,
  default_rule,
  exit_chain,
  landing_page,
  payout,
};
std::string_view to_string(Step step) noexcept;

/// What a step found. `TraceEntry::a`/`b` carry the numbers the note mentions.
enum class Note : std::uint8_t {
  found,                    ///< lookup: offer and campaign exist
  not_blocked,              ///< blocks: a = campaign
  blocked,                  ///< blocks: a = campaign (reason in Decision::block)
  pair_matches,             ///< link_pair
  pair_mismatch,            ///< link_pair: a = campaign's own offer id
  offer_active,             ///< inactive_offer
  switched_to_default,      ///< inactive_offer: a = default campaign, b = its offer
  not_configured,           ///< the record has no such rule
  matched,                  ///< the rule decided
  not_matched,              ///< the rule is configured and does not apply to this click
  child_missing,            ///< aggregated: a = child not in the recipe
  child_capped,             ///< aggregated: a = child over a cap (descriptor flag or live caps)
  child_dates,              ///< aggregated: a = child outside its date window
  child_country,            ///< aggregated: a = child restricted in the visitor's country
  child_picked,             ///< aggregated: a = child, b = eligible children
  no_eligible_child,        ///< aggregated
  window_open,              ///< date_window / caps: a = start, b = end (ms; 0 = open-ended)
  window_closed,            ///< date_window / caps: a = start, b = end
  window_flag_pass,         ///< date_window: no dates, the producer's dateRangePass = true
  window_flag_fail,         ///< date_window: no dates, the producer's dateRangePass = false
  country_allowed,          ///< geo
  country_not_allowed,      ///< geo: allow-list without the visitor's country (or unknown country)
  country_blocked,          ///< geo: block-list (geoRules include=false or countriesRestrictions)
  country_rule,             ///< custom_lp: a = rule id
  no_rule_for_country,      ///< custom_lp / payout_per_geo / target_rules
  under_limits,             ///< caps: every configured limit has room
  over_limit,               ///< caps: a = count (max of recipe and live), b = limit; TraceEntry::period
  flag_over,                ///< caps: no limits configured, the producer's over-limit flag is set
  flag_under,               ///< caps: no limits configured, the producer's under-limit flag is set
  lp_redirect,              ///< campaign_caps: landing page of offer a
  lp_redirect_missing,      ///< campaign_caps: offer a is not in the recipe; landing page unchanged
  geo_entry,                ///< payout_per_geo: a = payin micros, b = payout micros
  rule_matched,             ///< target_rules: a = rule index
  target_default,           ///< exit_chain: no target given, the default offer a
  target_missing,           ///< exit_chain: offer a is not in the recipe
  target_capped,            ///< exit_chain: offer a is over its cap, follows to b
  target_aggregated,        ///< exit_chain: aggregated offer a rotated to child b
  target_aggregated_empty,  ///< exit_chain: aggregated offer a has no eligible child
  target_cycle,             ///< exit_chain: offer a was already visited
  hop_limit,                ///< exit_chain: too many hops
  target_resolved,          ///< exit_chain: traffic goes to offer a
  fallback_url,             ///< exit_chain / landing_page: the configured fallback URL
  from_offer,               ///< landing_page: the booked offer's (or a rule's) landing page
  from_default_offer,       ///< landing_page: booked offer has none; default offer a's
  none,                     ///< landing_page: nothing at all (404)
  per_geo,                  ///< payout: the booked offer's per-geo entry
  campaign_payout,          ///< payout: the campaign's payout (click stayed on the link's offer)
  offer_payout,             ///< payout: the booked offer's payin/payout
};

/// Cap period named by an over_limit note.
enum class CapPeriod : std::uint8_t { none, clicks_day, clicks_week, clicks_month, sales_day, sales_week, sales_month };

struct TraceEntry {
  Step step = Step::lookup;
  Note note = Note::found;
  CapPeriod period = CapPeriod::none;
  recipe::RecordId subject = 0;  ///< the offer (or campaign for campaign steps) consulted
  std::int64_t a = 0;
  std::int64_t b = 0;
};

/// One line of text for an entry ("geo: offer 110: US is on the block-list").
[[nodiscard]] std::string describe(const TraceEntry& entry);

/// Every rule consulted, in order. Fixed capacity so deciding never allocates; entries
/// past the capacity are counted in `dropped`.
class Trace {
 public:
  static constexpr std::size_t kCapacity = 32;
  void add(const TraceEntry& entry) noexcept {
    if (size_ < kCapacity) {
      entries_[size_++] = entry;
    } else {
      ++dropped_;
    }
  }
  [[nodiscard]] const TraceEntry* begin() const noexcept { return entries_.data(); }
  [[nodiscard]] const TraceEntry* end() const noexcept { return entries_.data() + size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t dropped() const noexcept { return dropped_; }
  [[nodiscard]] bool contains(Step step, Note note) const noexcept {
    return std::any_of(begin(), end(), [&](const TraceEntry& e) { return e.step == step && e.note == note; });
  }

 private:
  std::array<TraceEntry, kCapacity> entries_{};
  std::size_t size_ = 0;
  std::size_t dropped_ = 0;
};

/// The offers an override went through (`nested_exit_offer_steps`): the original offer,
/// then each target, the last one being the offer booked. Empty when no override happened.
class ExitSteps {
 public:
  static constexpr std::size_t kCapacity = 12;  // the original + at most 10 hops + the default
  void push(recipe::RecordId id) noexcept {
    if (size_ < kCapacity) ids_[size_++] = id;
  }
  [[nodiscard]] bool contains(recipe::RecordId id) const noexcept {
    return std::find(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(size_), id) !=
           ids_.begin() + static_cast<std::ptrdiff_t>(size_);
  }
  [[nodiscard]] const recipe::RecordId* begin() const noexcept { return ids_.data(); }
  [[nodiscard]] const recipe::RecordId* end() const noexcept { return ids_.data() + size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }
  /// "140,141,142" (the click record's format).
  [[nodiscard]] std::string to_string() const;

 private:
  std::array<recipe::RecordId, kCapacity> ids_{};
  std::size_t size_ = 0;
};

/// The rotation picks a decision counted (§7.3): a campaign and the child it sent the
/// click to, one per aggregated offer the click went through. Given back when the click is
/// not recorded (CountersView::return_pick), so rotation counts served clicks only.
struct RotationPick {
  recipe::RecordId campaign = 0;
  recipe::RecordId child = 0;
};
class RotationPicks {
 public:
  static constexpr std::size_t kCapacity = ExitSteps::kCapacity;  // at most one per offer of the chain
  void push(RotationPick pick) noexcept {
    if (size_ < kCapacity) picks_[size_++] = pick;
  }
  [[nodiscard]] const RotationPick* begin() const noexcept { return picks_.data(); }
  [[nodiscard]] const RotationPick* end() const noexcept { return picks_.data() + size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::array<RotationPick, kCapacity> picks_{};
  std::size_t size_ = 0;
};

/// A short text held inline (redirect reasons such as "geoRestriction by country:US").
class ShortText {
 public:
  static constexpr std::size_t kCapacity = 62;
  ShortText() = default;
  void assign(std::string_view first, std::string_view second = {}) noexcept {
    size_ = 0;
    append(first);
    append(second);
  }
  [[nodiscard]] std::string_view view() const noexcept { return {chars_.data(), size_}; }
  friend bool operator==(const ShortText& text, std::string_view other) noexcept { return text.view() == other; }

 private:
  void append(std::string_view text) noexcept {
    const std::size_t n = std::min(text.size(), kCapacity - size_);
    std::copy_n(text.data(), n, chars_.data() + size_);
    size_ += n;
  }
  std::array<char, kCapacity> chars_{};
  std::size_t size_ = 0;
};

/// The decision for one click.
///
/// Pointers and views refer into the recipe Snapshot the decision was made on (and the
/// engine's settings for the fallback URL): hold the snapshot's shared_ptr while the
/// decision is used. Copyable, no heap memory.
struct Decision {
  Outcome outcome = Outcome::blocked;
  BlockReason block = BlockReason::none;

  const recipe::Offer* offer = nullptr;         ///< booked offer (after any switch or override)
  const recipe::Campaign* campaign = nullptr;   ///< booked campaign (the default one after an inactive-offer switch)
  const recipe::Offer* origin_offer = nullptr;  ///< the link's offer
  const recipe::Campaign* origin_campaign = nullptr;  ///< the link's campaign
  bool switched_inactive_offer = false;               ///< the link's offer was inactive (§4.1)
  bool overridden = false;                            ///< an override moved the click to another offer (§7.2)
  bool link_mismatch = false;                         ///< the campaign names another offer than the link (§3)

  /// Landing page template (placeholders not yet substituted; url::UrlBuilder does that).
  std::string_view landing_page;
  Money payin;
  Money payout;
  std::optional<Money> payout_percent;

  std::string_view redirect_type;  ///< "defaultRedirection", "offerGeoRestriction", …
  ShortText redirect_reason;       ///< "defaultRedirection-no-rules", "geoRestriction by country:US", …
  std::string_view caps_type;      ///< "offerOverLimitClicks", "campaignUnderLimit", … or ""
  CapsVerdict campaign_caps = CapsVerdict::not_evaluated;
  CapsVerdict offer_caps = CapsVerdict::not_evaluated;
  recipe::RecordId cap_override_offer_id = 0;  ///< where offer caps sent the click, 0 if they did not
  ExitSteps exit_steps;
  RotationPicks rotation_picks;  ///< counted picks (none in a dry run)

  TimestampMs decided_at = 0;        ///< the clock reading the rules used
  std::uint64_t recipe_version = 0;  ///< the snapshot's version
  Trace trace;

  [[nodiscard]] bool redirects() const noexcept { return outcome == Outcome::redirect; }
};

}  // namespace traffic::rules
