#include "traffic/rules/decision.hpp"

#include <fmt/format.h>

namespace traffic::rules {
namespace {

std::string_view period_name(CapPeriod period) noexcept {
  switch (period) {
    case CapPeriod::none: return "";
    case CapPeriod::clicks_day: return "clicks/day";
    case CapPeriod::clicks_week: return "clicks/week";
    case CapPeriod::clicks_month: return "clicks/month";
    case CapPeriod::sales_day: return "sales/day";
    case CapPeriod::sales_week: return "sales/week";
    case CapPeriod::sales_month: return "sales/month";
  }
  return "";
}

std::string time_or_open(std::int64_t at) {
  return at == 0 ? std::string("open") : format_iso8601(at);
}

std::string money(std::int64_t micros) {
  return Money::from_micros(micros).to_string();
}

}  // namespace

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::redirect: return "redirect";
    case Outcome::blocked: return "blocked";
    case Outcome::no_landing_page: return "no_landing_page";
  }
  return "";
}

std::string_view to_string(BlockReason reason) noexcept {
  switch (reason) {
    case BlockReason::none: return "none";
    case BlockReason::unknown_offer: return "unknown_offer";
    case BlockReason::unknown_campaign: return "unknown_campaign";
    case BlockReason::affiliate_blacklisted: return "affiliate_blacklisted";
    case BlockReason::campaign_not_active: return "campaign_not_active";
    case BlockReason::link_mismatch: return "link_mismatch";
    case BlockReason::default_campaign_missing: return "default_campaign_missing";
  }
  return "";
}

std::string_view to_string(CapsVerdict verdict) noexcept {
  switch (verdict) {
    case CapsVerdict::not_evaluated: return "not_evaluated";
    case CapsVerdict::not_configured: return "not_configured";
    case CapsVerdict::window_closed: return "window_closed";
    case CapsVerdict::under: return "under";
    case CapsVerdict::over_clicks: return "over_clicks";
    case CapsVerdict::over_sales: return "over_sales";
  }
  return "";
}

std::string_view to_string(Step step) noexcept {
  switch (step) {
    case Step::lookup: return "lookup";
    case Step::blocks: return "blocks";
    case Step::link_pair: return "link_pair";
    case Step::inactive_offer: return "inactive_offer";
    case Step::aggregated: return "aggregated";
    case Step::date_window: return "date_window";
    case Step::geo: return "geo";
    case Step::custom_lp: return "custom_lp";
    case Step::campaign_caps: return "campaign_caps";
    case Step::offer_caps: return "offer_caps";
    case Step::payout_per_geo: return "payout_per_geo";
    case Step::target_rules: return "target_rules";
    case Step::default_rule: return "default_rule";
    case Step::exit_chain: return "exit_chain";
    case Step::landing_page: return "landing_page";
    case Step::payout: return "payout";
  }
  return "";
}

std::string describe(const TraceEntry& e) {
  const std::string_view step = to_string(e.step);
  const bool about_campaign =
      e.step == Step::campaign_caps || e.step == Step::target_rules || e.note == Note::campaign_payout;
  const char* kind = about_campaign ? "campaign" : "offer";
  auto line = [&](std::string_view what) { return fmt::format("{}: {} {}: {}", step, kind, e.subject, what); };
  switch (e.note) {
    case Note::found: return fmt::format("{}: offer {} and campaign {} found", step, e.subject, e.a);
    case Note::not_blocked: return fmt::format("{}: campaign {} may send traffic", step, e.subject);
    case Note::blocked:
      return fmt::format("{}: campaign {} blocked ({})", step, e.subject, to_string(static_cast<BlockReason>(e.a)));
    case Note::pair_matches: return fmt::format("{}: campaign {} belongs to the link's offer", step, e.subject);
    case Note::pair_mismatch:
      return fmt::format("{}: campaign {} names offer {}, not the link's (flagged)", step, e.subject, e.a);
    case Note::offer_active: return line("not inactive");
    case Note::switched_to_default:
      return line(fmt::format("inactive; switched to default campaign {} and its offer {}", e.a, e.b));
    case Note::not_configured: return line("no such rule");
    case Note::matched: return line("matched");
    case Note::not_matched:
      if (e.step == Step::lookup) {
        return fmt::format("{}: {} {} is not in the recipe (blocked)", step, e.a == 0 ? "offer" : "campaign",
                           e.subject);
      }
      return line("does not apply");
    case Note::child_missing: return line(fmt::format("child {} is not in the recipe", e.a));
    case Note::child_capped: return line(fmt::format("child {} is over a cap", e.a));
    case Note::child_dates: return line(fmt::format("child {} is outside its date window", e.a));
    case Note::child_country: return line(fmt::format("child {} is restricted in the visitor's country", e.a));
    case Note::child_picked: return line(fmt::format("picked child {}, least served of {} eligible", e.a, e.b));
    case Note::no_eligible_child: return line("no eligible child");
    case Note::window_open: return line(fmt::format("window {} .. {} is open", time_or_open(e.a), time_or_open(e.b)));
    case Note::window_closed:
      if (e.step != Step::date_window) return line("cap date window is closed; caps do not apply");
      return line(fmt::format("window {} .. {} is closed", time_or_open(e.a), time_or_open(e.b)));
    case Note::window_flag_pass: return line("no dates; producer's dateRangePass is true");
    case Note::window_flag_fail: return line("no dates; producer's dateRangePass is false");
    case Note::country_allowed: return line("visitor's country is allowed");
    case Note::country_not_allowed: return line("visitor's country is not on the allow-list");
    case Note::country_blocked: return line("visitor's country is on the block-list");
    case Note::country_rule: return line(fmt::format("rule {} for the visitor's country", e.a));
    case Note::no_rule_for_country: return line("no rule for this visitor");
    case Note::under_limits: return line("under every configured limit");
    case Note::over_limit: return line(fmt::format("{} {} >= limit {}", period_name(e.period), e.a, e.b));
    case Note::flag_over:
      return line(fmt::format("no {} limits; producer says over limit", e.a == 0 ? "click" : "sale"));
    case Note::flag_under: return line("no limits; producer says under limit");
    case Note::lp_redirect: return line(fmt::format("under; landing page of offer {}", e.a));
    case Note::lp_redirect_missing: return line(fmt::format("under; landing-page offer {} is not in the recipe", e.a));
    case Note::geo_entry: return line(fmt::format("payin {} payout {}", money(e.a), money(e.b)));
    case Note::rule_matched: return line(fmt::format("rule #{} matched", e.a));
    case Note::target_default: return fmt::format("{}: no target; default offer {}", step, e.a);
    case Note::target_missing: return fmt::format("{}: offer {} is not in the recipe", step, e.a);
    case Note::target_capped: return fmt::format("{}: offer {} is over its cap; next {}", step, e.a, e.b);
    case Note::target_aggregated: return fmt::format("{}: aggregated offer {} rotated to child {}", step, e.a, e.b);
    case Note::target_aggregated_empty:
      return fmt::format("{}: aggregated offer {} has no eligible child; its exit offer next", step, e.a);
    case Note::target_cycle: return fmt::format("{}: offer {} seen before (cycle); default offer", step, e.a);
    case Note::hop_limit: return fmt::format("{}: {} hops; default offer", step, e.a);
    case Note::target_resolved: return fmt::format("{}: traffic goes to offer {}", step, e.a);
    case Note::fallback_url: return fmt::format("{}: no usable offer; fallback URL", step);
    case Note::from_offer: return line("landing page chosen");
    case Note::from_default_offer: return line(fmt::format("no landing page; default offer {}'s", e.a));
    case Note::none: return line("no landing page and no fallback URL (404)");
    case Note::per_geo: return line(fmt::format("per-geo rate: payin {} payout {}", money(e.a), money(e.b)));
    case Note::campaign_payout: return line(fmt::format("payin {}, campaign payout {}", money(e.a), money(e.b)));
    case Note::offer_payout: return line(fmt::format("payin {} payout {}", money(e.a), money(e.b)));
  }
  return std::string(step);
}

std::string ExitSteps::to_string() const {
  std::string text;
  for (std::size_t i = 0; i < size_; ++i) {
    if (i) text += ',';
    text += std::to_string(ids_[i]);
  }
  return text;
}

}  // namespace traffic::rules
