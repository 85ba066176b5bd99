#include "traffic/rules/explain.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

namespace traffic::rules {
namespace json = boost::json;

json::object to_json(const Decision& d, std::string_view redirect_url) {
  json::object out;
  out["outcome"] = to_string(d.outcome);
  if (d.outcome == Outcome::blocked) out["block_reason"] = to_string(d.block);
  if (d.offer) {
    const recipe::Offer& offer = *d.offer;
    out["offer_id"] = offer.id;
    out["offer_name"] = offer.name;
    out["offer_type"] = offer.type == recipe::OfferType::aggregated ? "aggregated" : "regular";
    out["advertiser_id"] = offer.advertiser_id;
    out["vertical_name"] = offer.vertical_name;
    out["conversion_type"] = offer.conversion_type;
    out["landing_page_id"] = offer.landing_page_id;
  }
  if (d.campaign) {
    out["campaign_id"] = d.campaign->id;
    out["affiliate_id"] = d.campaign->affiliate_id;
  }
  if (d.origin_offer) {
    out["origin_offer_id"] = d.origin_offer->id;
    out["landing_page_id_origin"] = d.origin_offer->landing_page_id;
    out["landing_page_url_origin"] = d.origin_offer->landing_page_url;
  }
  if (d.origin_campaign) {
    out["origin_campaign_id"] = d.origin_campaign->id;
    out["origin_affiliate_id"] = d.origin_campaign->affiliate_id;
  }
  if (d.outcome != Outcome::blocked) {
    out["landing_page"] = d.landing_page;
    out["payin"] = d.payin.to_string();
    out["payout"] = d.payout.to_string();
    if (d.payout_percent) out["payout_percent"] = d.payout_percent->to_string();
    out["redirect_type"] = d.redirect_type;
    out["redirect_reason"] = d.redirect_reason.view();
    out["caps_type"] = d.caps_type;
    out["campaign_caps"] = to_string(d.campaign_caps);
    out["offer_caps"] = to_string(d.offer_caps);
    out["cap_override_offer_id"] = d.cap_override_offer_id;
    out["nested_exit_offer_steps"] = d.exit_steps.to_string();
    out["switched_inactive_offer"] = d.switched_inactive_offer;
    out["link_mismatch"] = d.link_mismatch;
  }
  if (!redirect_url.empty()) out["redirect_url"] = redirect_url;
  out["recipe_version"] = d.recipe_version;
  out["decided_at"] = format_iso8601(d.decided_at);
  json::array trace;
  for (const TraceEntry& entry : d.trace) trace.emplace_back(describe(entry));
  if (d.trace.dropped()) trace.emplace_back(fmt::format("… {} more steps not kept", d.trace.dropped()));
  out["trace"] = std::move(trace);
  return out;
}

std::string to_text(const Decision& d, std::string_view redirect_url) {
  const json::object fields = to_json(d, redirect_url);
  std::string text;
  for (const auto& [key, value] : fields) {
    if (key == "trace") continue;
    text += fmt::format("{:<24} {}\n", std::string_view(key),
                        value.is_string() ? std::string(value.get_string()) : json::serialize(value));
  }
  text += "trace:\n";
  std::size_t n = 0;
  for (const auto& line : fields.at("trace").get_array()) {
    text += fmt::format("  {:>2}. {}\n", ++n, std::string_view(line.get_string()));
  }
  return text;
}

}  // namespace traffic::rules
