#pragma once
// The request context the rule engine decides on (SPEC.md §4).

#include <string_view>

#include "traffic/common/country_code.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::rules {

/// The link's ids and what is known about the visitor. A plain value of views: whatever
/// the views point into (the geo database generation, the DeviceInfo, the request) must
/// outlive the decide() call, not the Decision.
struct Context {
  recipe::RecordId offer_id = 0;     ///< from the link
  recipe::RecordId campaign_id = 0;  ///< from the link
  CountryCode country;               ///< empty when unknown
  std::string_view region;
  std::string_view city;
  std::string_view isp;
  std::string_view connection_type;
  std::string_view device;   ///< device type name: "desktop", "smartphone", … (device::to_string)
  std::string_view os;       ///< OS family: "iOS", "Windows", …
  std::string_view browser;  ///< browser family: "Chrome", "Mobile Safari", …
};

/// A context from a decoded link and the geo and device lookups.
[[nodiscard]] inline Context make_context(recipe::RecordId offer_id, recipe::RecordId campaign_id,
                                          const geo::GeoInfo& geo, const device::DeviceInfo& device) noexcept {
  Context context;
  context.offer_id = offer_id;
  context.campaign_id = campaign_id;
  context.country = geo.country;
  context.region = geo.region;
  context.city = geo.city;
  context.isp = geo.isp;
  context.connection_type = geo.connection_type;
  context.device = device::to_string(device.type);
  context.os = device.os_family;
  context.browser = device.browser_family;
  return context;
}

}  // namespace traffic::rules
