#pragma once
// JSON object → typed record (private to the recipe component).

#include <boost/json/object.hpp>
#include <optional>

#include "loose_json.hpp"

namespace traffic::recipe::detail {

/// nullopt when the object lacks a positive `offerId`; malformed fields are reported to
/// `sink` and leave their rule disabled.
std::optional<Offer> parse_offer(const boost::json::object& object, FieldSink& sink, std::size_t max_depth);
std::optional<Campaign> parse_campaign(const boost::json::object& object, FieldSink& sink, std::size_t max_depth);

}  // namespace traffic::recipe::detail
