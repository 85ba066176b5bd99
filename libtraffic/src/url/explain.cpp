#include "traffic/url/explain.hpp"

#include "traffic/rules/explain.hpp"
#include "traffic/url/click_values.hpp"

namespace traffic::url {

Explanation explain_click(const rules::Engine& engine, const UrlBuilder& urls, const recipe::Snapshot& snapshot,
                          counters::CountersView& counters, const Clock& clock, Random& random,
                          const rules::Context& context, std::string_view subid, std::string_view cid) {
  Explanation explanation{engine.decide(context, snapshot, counters, clock, random, {.dry_run = true}), {}};
  if (explanation.decision.redirects()) {
    const url::ClickValues values(explanation.decision, context, subid, cid, kExampleLid);
    urls.build(explanation.decision.landing_page, values.placeholders(), values.tracking(), explanation.redirect_url);
  }
  return explanation;
}

void add_visitor(boost::json::object& out, const rules::Context& context) {
  out["geo"] = context.country.view();
  out["region"] = context.region;
  out["city"] = context.city;
  out["isp"] = context.isp;
  out["device"] = context.device;
  out["os"] = context.os;
  out["browser"] = context.browser;
}

boost::json::object to_json(const Explanation& explanation, const rules::Context& context) {
  boost::json::object out = rules::to_json(explanation.decision, explanation.redirect_url);
  add_visitor(out, context);
  return out;
}

}  // namespace traffic::url
