#pragma once
// Explain a click (SPEC.md §7.10): a Decision and its trace as JSON (for /admin/explain and
// the debug dry run) and as text (for `trafficctl explain`).

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "traffic/rules/decision.hpp"

namespace traffic::rules {

/// The decision's fields under the click record's names (offer_id, campaign_id, payin,
/// redirect_type, nested_exit_offer_steps, origin_campaign_id, …), plus `outcome`,
/// `block_reason`, `redirect_url` (when given) and `trace` (one line per rule consulted).
/// Money is written as exact decimal strings ("2.5").
[[nodiscard]] boost::json::object to_json(const Decision& decision, std::string_view redirect_url = {});

/// The same, for a terminal: one field per line, then the numbered trace.
[[nodiscard]] std::string to_text(const Decision& decision, std::string_view redirect_url = {});

}  // namespace traffic::rules
