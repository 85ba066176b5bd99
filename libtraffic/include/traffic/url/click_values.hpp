#pragma once
// The placeholder values and tracking parameters of one decided click.

#include <array>
#include <string_view>

#include "traffic/common/money.hpp"
#include "traffic/rules/context.hpp"
#include "traffic/rules/decision.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::url {

/// Fills Placeholders and TrackingParams from a redirecting Decision, its Context and the
/// request's `subid`/`cid` and the click's lid: `{offerId}`, `{campaignId}`,
/// `{affiliateId}` and `src` are the booked offer's and campaign's; `{payout}` the decided
/// payout; `{device}` the device type. Numbers are formatted into buffers held here (no
/// allocation), so the object must outlive the build() call and cannot be copied.
class ClickValues {
 public:
  ClickValues(const rules::Decision& decision, const rules::Context& context, std::string_view subid,
              std::string_view cid, std::string_view lid) noexcept;
  ClickValues(const ClickValues&) = delete;
  ClickValues& operator=(const ClickValues&) = delete;

  [[nodiscard]] const Placeholders& placeholders() const noexcept { return values_; }
  [[nodiscard]] const TrackingParams& tracking() const noexcept { return tracking_; }

 private:
  Placeholders values_;
  TrackingParams tracking_;
  std::array<char, 24> offer_id_{};
  std::array<char, 24> campaign_id_{};
  std::array<char, 24> affiliate_id_{};
  std::array<char, Money::kMaxTextSize> payout_{};
};

}  // namespace traffic::url
