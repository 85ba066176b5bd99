#include "traffic/url/click_values.hpp"

#include <charconv>

namespace traffic::url {
namespace {

template <std::size_t N>
std::string_view format_id(std::array<char, N>& buffer, std::int64_t id) noexcept {
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), id);
  return {buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data())};
}

}  // namespace

ClickValues::ClickValues(const rules::Decision& decision, const rules::Context& context, std::string_view subid,
                         std::string_view cid, std::string_view lid) noexcept {
  const recipe::RecordId offer_id = decision.offer ? decision.offer->id : 0;
  const recipe::RecordId campaign_id = decision.campaign ? decision.campaign->id : 0;
  const recipe::RecordId affiliate_id = decision.campaign ? decision.campaign->affiliate_id : 0;
  values_.subid = subid;
  values_.cid = cid;
  values_.lid = lid;
  values_.offer_id = format_id(offer_id_, offer_id);
  values_.campaign_id = format_id(campaign_id_, campaign_id);
  values_.affiliate_id = format_id(affiliate_id_, affiliate_id);
  values_.payout = {payout_.data(), decision.payout.format(payout_.data())};
  values_.country = context.country.view();
  values_.region = context.region;
  values_.city = context.city;
  values_.device = context.device;
  values_.os = context.os;
  values_.browser = context.browser;
  values_.isp = context.isp;
  tracking_ = TrackingParams{offer_id, campaign_id, lid, affiliate_id};
}

}  // namespace traffic::url
