#pragma once
// Explaining a click (SPEC.md §7.10): the decision and the redirect URL it gives — the one
// function behind `/admin/explain` (http) and `trafficctl explain` (offline).

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "traffic/common/clock.hpp"
#include "traffic/common/random.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::url {

/// Shown where an explained click would carry its freshly minted lid.
inline constexpr std::string_view kExampleLid = "00000000-0000-4000-8000-000000000000";

struct Explanation {
  rules::Decision decision;
  std::string redirect_url;  ///< "" unless the decision redirects
};

/// Decides the click as a dry run (no counter or rotation moves) and builds the URL it
/// would get, with kExampleLid. The decision points into `snapshot` and `engine`.
[[nodiscard]] Explanation explain_click(const rules::Engine& engine, const UrlBuilder& urls,
                                        const recipe::Snapshot& snapshot, counters::CountersView& counters,
                                        const Clock& clock, Random& random, const rules::Context& context,
                                        std::string_view subid, std::string_view cid);

/// The visitor's fields under the click record's names: geo, region, city, isp, device, os,
/// browser.
void add_visitor(boost::json::object& out, const rules::Context& context);

/// rules::to_json of the decision and its URL, plus the visitor.
[[nodiscard]] boost::json::object to_json(const Explanation& explanation, const rules::Context& context);

}  // namespace traffic::url
