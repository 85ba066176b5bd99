#pragma once
// Typed offer and campaign records (SPEC.md §5.2-§5.4). The producer writes loose MySQL-ish
// JSON; recipe/loader.hpp turns it into these structs once, at load time, so the click path
// never parses JSON.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/country_code.hpp"
#include "traffic/common/money.hpp"
#include "traffic/common/time.hpp"

namespace traffic::recipe {

using RecordId = std::int64_t;

enum class OfferStatus : std::uint8_t { other, inactive, draft, public_, private_, apply_to_run, pending };
enum class OfferType : std::uint8_t { regular, aggregated, other };
enum class AffiliateStatus : std::uint8_t { other, active, inactive, pending, rejected, suspended, blacklisted };
enum class CampaignStatus : std::uint8_t { other, active, inactive, pending, blocked, rejected };

/// The producer's texts ("public", "blacklisted", …); "" for `other`.
constexpr std::string_view to_string(OfferStatus status) noexcept {
  constexpr std::string_view kNames[] = {"", "inactive", "draft", "public", "private", "apply_to_run", "pending"};
  return kNames[static_cast<std::size_t>(status)];
}
constexpr std::string_view to_string(OfferType type) noexcept {
  constexpr std::string_view kNames[] = {"regular", "aggregated", ""};
  return kNames[static_cast<std::size_t>(type)];
}
constexpr std::string_view to_string(AffiliateStatus status) noexcept {
  constexpr std::string_view kNames[] = {"", "active", "inactive", "pending", "rejected", "suspended", "blacklisted"};
  return kNames[static_cast<std::size_t>(status)];
}
constexpr std::string_view to_string(CampaignStatus status) noexcept {
  constexpr std::string_view kNames[] = {"", "active", "inactive", "pending", "blocked", "rejected"};
  return kNames[static_cast<std::size_t>(status)];
}

/// One cap period: `limit == 0` means "not configured".
struct CapCounter {
  std::int64_t current = 0;
  std::int64_t limit = 0;
  [[nodiscard]] bool configured() const noexcept { return limit > 0; }
};

struct CapPeriods {
  CapCounter day;
  CapCounter week;
  CapCounter month;
};

/// `capInfo` of an offer or a campaign. The producer's `current` values lag; the rule
/// engine compares max(current, live count) with `limit`. The flags are the producer's own
/// verdicts, used only when no limit is configured.
struct CapInfo {
  CapPeriods clicks;
  CapPeriods sales;
  std::optional<bool> clicks_over_limit;
  std::optional<bool> sales_over_limit;
  std::optional<bool> clicks_under_limit;
  std::optional<bool> sales_under_limit;
  std::string caps_type;
  std::optional<bool> date_range_set_up;
  std::optional<bool> date_range_pass;
  std::optional<TimestampMs> date_start;
  std::optional<TimestampMs> date_end;
  std::optional<bool> is_exit_traffic;
  RecordId offer_caps_offer_id_redirect = 0;     ///< offers: where over-cap traffic goes
  RecordId campaign_caps_offer_id_redirect = 0;  ///< campaigns: whose LP under-cap traffic gets
};

/// One `geoRules` entry: include=true entries form an allow-list, false a block-list.
struct GeoRule {
  CountryCode country;
  bool include = false;
};

/// One `customLpRules` entry.
struct CustomLpRule {
  std::int64_t id = 0;
  std::int64_t pos = 0;
  CountryCode country;
  std::string lp_name;
  std::string lp_url;
};

/// One `customPayOutPerGeo` entry.
struct GeoPayout {
  CountryCode geo;
  std::optional<Money> payin;
  std::optional<Money> payout;
  std::string payment_type;
  std::optional<Money> payout_percent;
};

/// `startEndDateSetting` as the producer computed it (dateRangePass is only a fallback).
struct DateWindowSetting {
  std::optional<TimestampMs> start;
  std::optional<TimestampMs> end;
  std::optional<bool> date_range_pass;
};

/// One child of an aggregated offer (`offersAggregatedIds`).
struct AggregatedChild {
  RecordId offer_id = 0;
  std::optional<Money> margin;
  std::vector<CountryCode> countries_restrictions;
  std::optional<bool> caps_over_limit_clicks;
  std::optional<bool> caps_over_limit_sales;
  std::optional<bool> date_range_not_pass;
};

struct Offer {
  RecordId id = 0;
  std::string name;
  std::string description;  ///< `descriptions`
  RecordId advertiser_id = 0;
  std::string advertiser_name;
  RecordId advertiser_manager_id = 0;
  RecordId vertical_id = 0;
  std::string vertical_name;
  std::int64_t currency_id = 0;
  OfferStatus status = OfferStatus::other;
  Money payin;
  Money payout;
  std::optional<Money> payout_percent;
  bool is_cpm_option_enabled = false;
  std::string conversion_type;
  RecordId landing_page_id = 0;
  std::string landing_page_url;  ///< as written: may lack a scheme, may hold placeholders
  OfferType type = OfferType::regular;
  RecordId exit_offer_id = 0;  ///< `offerIdRedirectExitTraffic`; 0 = none

  /// `geoRules`; nullopt when absent, null or malformed (a malformed field disables the rule).
  std::optional<std::vector<GeoRule>> geo_rules;
  /// `countriesRestrictions`: the legacy block-list, used only without geo_rules.
  std::vector<CountryCode> countries_restrictions;
  std::optional<std::vector<CustomLpRule>> custom_lp_rules;
  std::optional<std::vector<GeoPayout>> payout_per_geo;

  bool use_start_end_date = false;
  std::optional<TimestampMs> start_date;
  std::optional<TimestampMs> end_date;
  std::optional<bool> start_end_date_setup;
  std::optional<DateWindowSetting> start_end_date_setting;

  std::optional<bool> caps_enabled;
  std::optional<bool> cap_setup;
  std::shared_ptr<const CapInfo> cap_info;  ///< null when absent; shared by snapshot versions
  std::string redirect_type;                ///< set by the producer on over-cap offers
  std::string redirect_reason;

  /// Offer ids along the producer's exit chain (`exitOffersNested`); the full records are
  /// the snapshot's own offers, so they are not duplicated here.
  std::vector<RecordId> exit_offers_nested;
  RecordId exit_offer_detected = 0;  ///< `exitOfferDetected.offerId`; 0 for `[]`/absent
  std::vector<AggregatedChild> aggregated_children;

  /// Keys this version does not know, as a compact JSON object ("" when none), so a record
  /// can be written back (Redis mirror, admin views) without losing them.
  std::string extras;
};

/// The request dimension a campaign target condition looks at.
enum class TargetDimension : std::uint8_t { country, region, city, isp, connection_type, device, os, browser };

/// One condition of a campaign target rule: the visitor's `dimension` is (or, with
/// `negate`, is not) one of `values`. Values are stored lower-case; matching ignores ASCII case.
struct TargetCondition {
  TargetDimension dimension = TargetDimension::country;
  bool negate = false;
  std::vector<std::string> values;
};

/// One legacy campaign target rule (`targetRules`, docs/rules.md): when every condition
/// holds, the click goes to `offer_id` (0 = stays) and/or to `lp_url` ("" = the offer's).
struct TargetRule {
  std::vector<TargetCondition> conditions;
  RecordId offer_id = 0;
  std::string lp_url;
};

struct Campaign {
  RecordId id = 0;
  std::string name;
  RecordId offer_id = 0;
  RecordId affiliate_id = 0;
  AffiliateStatus affiliate_status = AffiliateStatus::other;
  std::string affiliate_type;
  CampaignStatus campaign_status = CampaignStatus::other;
  std::optional<Money> payout;  ///< overrides the offer's payout when set
  std::optional<Money> payout_percent;
  RecordId affiliate_manager_id = 0;
  std::optional<bool> caps_enabled;
  std::optional<bool> cap_setup;
  std::shared_ptr<const CapInfo> cap_info;
  /// `targetRules`; empty when absent or malformed.
  std::vector<TargetRule> target_rules;
  std::string extras;
};

}  // namespace traffic::recipe
