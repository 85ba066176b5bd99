#include "traffic/rules/engine.hpp"

#include <boost/container/small_vector.hpp>
#include <cstdio>
#include <limits>
#include <utility>

namespace traffic::rules {
namespace {

using recipe::Campaign;
using recipe::CapInfo;
using recipe::Offer;
using recipe::RecordId;

// The texts the old service wrote into redirectType / redirectReason (SPEC §7), kept
// byte-for-byte because reports group by them; the reasons it never had are documented in
// docs/rules.md.
namespace text {
using namespace redirect_types;  // the types (kDefault, kGeo, …); their reasons below
constexpr std::string_view kDefaultReason = "defaultRedirection-no-rules";
constexpr std::string_view kAggregatedBestReason = "Offers Aggregated";
constexpr std::string_view kAggregatedNoneReason = "Offers Aggregated exit traffic to regular offer";
constexpr std::string_view kToAggregatedReason = "Offers Aggregated exit traffic to aggregatedOffer";
constexpr std::string_view kDateWindowReason = "OfferStartEndDataRangeNotPass by date:";
constexpr std::string_view kGeoReason = "geoRestriction by country:";
constexpr std::string_view kCustomLpReason = "customLandingPages by country:";
constexpr std::string_view kPerGeoReason = "customPayOutPerGeo by country:";
constexpr std::string_view kTargetRulesReason = "campaignTargetRules rule:";
}  // namespace text

struct CapsResult {
  CapsVerdict verdict = CapsVerdict::not_configured;
  CapPeriod period = CapPeriod::none;
  std::int64_t count = 0;
  std::int64_t limit = 0;
  bool from_flag = false;
};

struct Window {
  bool configured = false;
  bool open = true;
  bool from_flag = false;
  TimestampMs start = 0;
  TimestampMs end = 0;
};

bool is_blocking_status(recipe::CampaignStatus status) noexcept {
  using recipe::CampaignStatus;
  return status == CampaignStatus::inactive || status == CampaignStatus::pending || status == CampaignStatus::blocked ||
         status == CampaignStatus::rejected;
}

bool equals_ignore_case(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool contains(const std::vector<CountryCode>& list, CountryCode code) noexcept {
  return !code.empty() && std::find(list.begin(), list.end(), code) != list.end();
}

const recipe::GeoPayout* geo_entry(const Offer& offer, CountryCode country) noexcept {
  if (!offer.payout_per_geo || country.empty()) return nullptr;
  for (const auto& entry : *offer.payout_per_geo) {
    if (entry.geo == country) return &entry;
  }
  return nullptr;
}

// One decide() call: the inputs, the decision being built and the steps that build it.
class Decider {
 public:
  Decider(const EngineSettings& settings, const Context& context, const recipe::Snapshot& snapshot,
          counters::CountersView& counters, TimestampMs now, Random& random, DecideOptions options, Decision& decision)
      : settings_(settings),
        context_(context),
        snapshot_(snapshot),
        counters_(counters),
        now_(now),
        random_(random),
        options_(options),
        decision_(decision) {}

  void run() {
    decision_.decided_at = now_;
    decision_.recipe_version = snapshot_.version();
    if (!admit()) return;
    const bool decided = rule_aggregated() || rule_date_window() || rule_geo() || rule_custom_lp() ||
                         rule_campaign_caps() || rule_offer_caps() || rule_payout_per_geo() || rule_target_rules();
    if (!decided) {
      trace(Step::default_rule, Note::matched, decision_.offer->id);
      set_type(text::kDefault, text::kDefaultReason);
    }
    finish();
  }

 private:
  void trace(Step step, Note note, RecordId subject, std::int64_t a = 0, std::int64_t b = 0,
             CapPeriod period = CapPeriod::none) noexcept {
    decision_.trace.add(TraceEntry{step, note, period, subject, a, b});
  }

  void set_type(std::string_view type, std::string_view reason, std::string_view detail = {}) noexcept {
    decision_.redirect_type = type;
    decision_.redirect_reason.assign(reason, detail);
  }

  void block(BlockReason reason) noexcept {
    decision_.outcome = Outcome::blocked;
    decision_.block = reason;
  }

  // §4.1: lookups, blocks, the link/campaign pair and the inactive-offer switch. False when
  // the click is blocked.
  bool admit() noexcept {
    const Offer* offer = snapshot_.offer(context_.offer_id);
    const Campaign* campaign = snapshot_.campaign(context_.campaign_id);
    if (!offer || !campaign) {
      trace(Step::lookup, Note::not_matched, offer ? context_.campaign_id : context_.offer_id, offer ? 1 : 0);
      block(offer ? BlockReason::unknown_campaign : BlockReason::unknown_offer);
      return false;
    }
    trace(Step::lookup, Note::found, offer->id, campaign->id);
    decision_.origin_offer = offer;
    decision_.origin_campaign = campaign;
    if (blocked(*campaign)) return false;

    if (campaign->offer_id != offer->id) {
      decision_.link_mismatch = true;
      trace(Step::link_pair, Note::pair_mismatch, campaign->id, campaign->offer_id);
      if (settings_.strict_link_pair) {
        block(BlockReason::link_mismatch);
        return false;
      }
    } else {
      trace(Step::link_pair, Note::pair_matches, campaign->id);
    }

    if (offer->status == recipe::OfferStatus::inactive) {
      const Campaign* fallback_campaign = snapshot_.campaign(settings_.default_campaign_id);
      const Offer* fallback_offer = fallback_campaign ? snapshot_.offer(fallback_campaign->offer_id) : nullptr;
      if (!fallback_offer) {
        trace(Step::inactive_offer, Note::target_missing, offer->id, settings_.default_campaign_id);
        block(BlockReason::default_campaign_missing);
        return false;
      }
      trace(Step::inactive_offer, Note::switched_to_default, offer->id, fallback_campaign->id, fallback_offer->id);
      if (blocked(*fallback_campaign)) return false;
      decision_.switched_inactive_offer = true;
      offer = fallback_offer;
      campaign = fallback_campaign;
    } else {
      trace(Step::inactive_offer, Note::offer_active, offer->id);
    }
    decision_.offer = offer;
    decision_.campaign = campaign;
    return true;
  }

  bool blocked(const Campaign& campaign) noexcept {
    if (campaign.affiliate_status == recipe::AffiliateStatus::blacklisted) {
      block(BlockReason::affiliate_blacklisted);
    } else if (is_blocking_status(campaign.campaign_status)) {
      block(BlockReason::campaign_not_active);
    } else {
      trace(Step::blocks, Note::not_blocked, campaign.id);
      return false;
    }
    trace(Step::blocks, Note::blocked, campaign.id, static_cast<std::int64_t>(decision_.block));
    return true;
  }

  // ---- rule 1: aggregated offers (§7.3) ----
  bool rule_aggregated() {
    const Offer& offer = *decision_.offer;
    if (offer.type != recipe::OfferType::aggregated) {
      trace(Step::aggregated, Note::not_configured, offer.id);
      return false;
    }
    if (const Offer* child = pick_child(offer)) {
      book(*child);
      set_type(text::kAggregatedBest, text::kAggregatedBestReason);
      return true;
    }
    set_type(text::kAggregatedNone, text::kAggregatedNoneReason);
    override_to(offer.exit_offer_id);
    return true;
  }

  const Offer* pick_child(const Offer& aggregated) {
    boost::container::small_vector<RecordId, 32> eligible;
    for (const auto& child : aggregated.aggregated_children) {
      const Offer* record = snapshot_.offer(child.offer_id);
      Note excluded = Note::matched;
      if (!record) {
        excluded = Note::child_missing;
        // NOLINTNEXTLINE(bugprone-branch-clone): the recipe's flags here, the live counters below
      } else if (child.caps_over_limit_clicks.value_or(false) || child.caps_over_limit_sales.value_or(false)) {
        excluded = Note::child_capped;
      } else if (!child_dates_pass(child, *record)) {
        excluded = Note::child_dates;
      } else if (contains(child.countries_restrictions, context_.country)) {
        excluded = Note::child_country;
      } else if (is_over(evaluate_caps(counters::CounterScope::offer, record->id, record->caps_enabled,
                                       record->cap_info.get()))) {
        excluded = Note::child_capped;
      }
      if (excluded != Note::matched) {
        trace(Step::aggregated, excluded, aggregated.id, child.offer_id);
      } else {
        eligible.push_back(child.offer_id);
      }
    }
    if (eligible.empty()) {
      trace(Step::aggregated, Note::no_eligible_child, aggregated.id);
      return nullptr;
    }
    const std::size_t index =
        counters_.pick_least_served(decision_.campaign->id, eligible, random_.next(), !options_.dry_run);
    const RecordId picked = eligible[index < eligible.size() ? index : 0];
    if (!options_.dry_run) decision_.rotation_picks.push({decision_.campaign->id, picked});
    trace(Step::aggregated, Note::child_picked, aggregated.id, picked, static_cast<std::int64_t>(eligible.size()));
    return snapshot_.offer(picked);
  }

  // The child's own date window, evaluated now, when it has one; else the producer's flag.
  bool child_dates_pass(const recipe::AggregatedChild& child, const Offer& record) const noexcept {
    const Window window = window_of(record);
    if (window.configured && !window.from_flag) return window.open;
    return !child.date_range_not_pass.value_or(false);
  }

  // ---- rule 2: start/end date (§7.4) ----
  static Window window_between(const std::optional<TimestampMs>& start, const std::optional<TimestampMs>& end,
                               TimestampMs now, std::optional<bool> flag) noexcept {
    Window window;
    window.configured = true;
    if (!start && !end) {
      if (!flag) return Window{};
      window.from_flag = true;
      window.open = *flag;
      return window;
    }
    window.start = start.value_or(0);
    window.end = end.value_or(0);
    // An absent bound is open-ended.
    window.open = now >= start.value_or(std::numeric_limits<TimestampMs>::min()) &&
                  now <= end.value_or(std::numeric_limits<TimestampMs>::max());
    return window;
  }

  Window window_of(const Offer& offer) const noexcept {
    if (!offer.use_start_end_date && !offer.start_end_date_setup.value_or(false)) return Window{};
    const auto& setting = offer.start_end_date_setting;
    // References, not copies: GCC 12 warns (wrongly) about copied optionals here.
    static constexpr std::optional<TimestampMs> kNone;
    const auto& start = offer.start_date ? offer.start_date : (setting ? setting->start : kNone);
    const auto& end = offer.end_date ? offer.end_date : (setting ? setting->end : kNone);
    return window_between(start, end, now_, setting ? setting->date_range_pass : std::nullopt);
  }

  bool rule_date_window() {
    const Offer& offer = *decision_.offer;
    const Window window = window_of(offer);
    if (!window.configured) {
      trace(Step::date_window, Note::not_configured, offer.id);
      return false;
    }
    if (window.from_flag) {
      trace(Step::date_window, window.open ? Note::window_flag_pass : Note::window_flag_fail, offer.id);
    } else {
      trace(Step::date_window, window.open ? Note::window_open : Note::window_closed, offer.id, window.start,
            window.end);
    }
    if (window.open) return false;
    set_type(text::kDateWindow, text::kDateWindowReason, window.from_flag ? "flag" : "window");
    override_to(offer.exit_offer_id);
    return true;
  }

  // ---- rule 3: geo restriction (§7.5) ----
  bool rule_geo() {
    const Offer& offer = *decision_.offer;
    const CountryCode country = context_.country;
    Note note = Note::country_allowed;
    if (offer.geo_rules && !offer.geo_rules->empty()) {
      bool has_allow_list = false;
      bool allowed = false;
      bool blocked = false;
      for (const auto& rule : *offer.geo_rules) {
        has_allow_list = has_allow_list || rule.include;
        const bool same = !country.empty() && rule.country == country;
        allowed = allowed || (rule.include && same);
        blocked = blocked || (!rule.include && same);
      }
      if (blocked) {
        note = Note::country_blocked;
      } else if (has_allow_list && !allowed) {
        note = Note::country_not_allowed;
      }
    } else if (!offer.countries_restrictions.empty()) {
      if (contains(offer.countries_restrictions, country)) note = Note::country_blocked;
    } else {
      trace(Step::geo, Note::not_configured, offer.id);
      return false;
    }
    trace(Step::geo, note, offer.id);
    if (note == Note::country_allowed) return false;
    set_type(text::kGeo, text::kGeoReason, country.view());
    override_to(offer.exit_offer_id);
    return true;
  }

  // ---- rule 4: custom landing pages (§7.6) ----
  bool rule_custom_lp() {
    const Offer& offer = *decision_.offer;
    if (!offer.custom_lp_rules || offer.custom_lp_rules->empty()) {
      trace(Step::custom_lp, Note::not_configured, offer.id);
      return false;
    }
    const CountryCode country = context_.country;
    for (const auto& rule : *offer.custom_lp_rules) {
      if (country.empty() || rule.country != country) continue;
      trace(Step::custom_lp, Note::country_rule, offer.id, rule.id);
      set_type(text::kCustomLp, text::kCustomLpReason, country.view());
      override_to(offer.exit_offer_id);
      landing_page_ = rule.lp_url;
      return true;
    }
    trace(Step::custom_lp, Note::no_rule_for_country, offer.id);
    return false;
  }

  // ---- rules 5 and 6: caps (§7.7) ----
  static bool is_over(const CapsResult& caps) noexcept {
    return caps.verdict == CapsVerdict::over_clicks || caps.verdict == CapsVerdict::over_sales;
  }

  CapsResult evaluate_caps(counters::CounterScope scope, RecordId id, std::optional<bool> enabled,
                           const CapInfo* info) const {
    CapsResult result;
    if (!info || enabled == false) return result;
    if (info->date_range_set_up.value_or(false)) {
      const Window window = window_between(info->date_start, info->date_end, now_, info->date_range_pass);
      if (window.configured && !window.open) {
        result.verdict = CapsVerdict::window_closed;
        return result;
      }
    }
    const auto configured = [](const recipe::CapPeriods& p) {
      return p.day.configured() || p.week.configured() || p.month.configured();
    };
    const bool clicks_configured = configured(info->clicks);
    const bool sales_configured = configured(info->sales);
    counters::LiveCounts live;
    if (clicks_configured || sales_configured) live = counters_.live_counts(scope, id, now_);

    const auto over = [&](const recipe::CapCounter& cap, std::int64_t live_count, CapPeriod period,
                          CapsVerdict verdict) {
      if (!cap.configured()) return false;
      const std::int64_t count = std::max(cap.current, live_count);
      if (count < cap.limit) return false;
      result = CapsResult{verdict, period, count, cap.limit, false};
      return true;
    };
    if (over(info->clicks.day, live.clicks.day, CapPeriod::clicks_day, CapsVerdict::over_clicks) ||
        over(info->clicks.week, live.clicks.week, CapPeriod::clicks_week, CapsVerdict::over_clicks) ||
        over(info->clicks.month, live.clicks.month, CapPeriod::clicks_month, CapsVerdict::over_clicks) ||
        over(info->sales.day, live.sales.day, CapPeriod::sales_day, CapsVerdict::over_sales) ||
        over(info->sales.week, live.sales.week, CapPeriod::sales_week, CapsVerdict::over_sales) ||
        over(info->sales.month, live.sales.month, CapPeriod::sales_month, CapsVerdict::over_sales)) {
      return result;
    }
    // The producer's verdicts stand in only for a metric without any configured limit.
    if (!clicks_configured && info->clicks_over_limit.value_or(false)) {
      return CapsResult{CapsVerdict::over_clicks, CapPeriod::none, 0, 0, true};
    }
    if (!sales_configured && info->sales_over_limit.value_or(false)) {
      return CapsResult{CapsVerdict::over_sales, CapPeriod::none, 0, 0, true};
    }
    if (clicks_configured || sales_configured) {
      result.verdict = CapsVerdict::under;
    } else if (info->clicks_under_limit.value_or(false) || info->sales_under_limit.value_or(false)) {
      result = CapsResult{CapsVerdict::under, CapPeriod::none, 0, 0, true};
    }
    return result;
  }

  void trace_caps(Step step, RecordId subject, const CapsResult& caps) noexcept {
    switch (caps.verdict) {
      case CapsVerdict::not_evaluated:
      case CapsVerdict::not_configured: trace(step, Note::not_configured, subject); break;
      case CapsVerdict::window_closed: trace(step, Note::window_closed, subject); break;
      case CapsVerdict::under: trace(step, caps.from_flag ? Note::flag_under : Note::under_limits, subject); break;
      case CapsVerdict::over_clicks:
      case CapsVerdict::over_sales:
        if (caps.from_flag) {
          trace(step, Note::flag_over, subject, caps.verdict == CapsVerdict::over_clicks ? 0 : 1);
        } else {
          trace(step, Note::over_limit, subject, caps.count, caps.limit, caps.period);
        }
        break;
    }
  }

  bool rule_campaign_caps() {
    const Campaign& campaign = *decision_.campaign;
    const CapsResult caps =
        evaluate_caps(counters::CounterScope::campaign, campaign.id, campaign.caps_enabled, campaign.cap_info.get());
    decision_.campaign_caps = caps.verdict;
    trace_caps(Step::campaign_caps, campaign.id, caps);
    if (is_over(caps)) {
      // Campaign caps move only the landing page: the click stays booked on its offer.
      const bool clicks = caps.verdict == CapsVerdict::over_clicks;
      ExitSteps lp_chain;
      lp_chain.push(decision_.offer->id);
      const Offer* exit = resolve_target(decision_.offer->exit_offer_id, lp_chain);
      landing_page_ = exit ? std::string_view(exit->landing_page_url) : std::string_view(settings_.fallback_url);
      set_type(text::kCampaignOver, clicks ? "capsCampaignClicksOverLimit" : "capsCampaignSalesOverLimit");
      decision_.caps_type = clicks ? "campaignOverLimitClicks" : "campaignOverLimitSales";
      return true;
    }
    if (caps.verdict != CapsVerdict::under) return false;
    // Under the cap: only a configured "LP of another offer" makes this rule decide;
    // otherwise the offer's own caps still get their say (docs/rules.md).
    const RecordId lp_offer_id = campaign.cap_info->campaign_caps_offer_id_redirect;
    if (lp_offer_id == 0) return false;
    const Offer* lp_offer = snapshot_.offer(lp_offer_id);
    if (!lp_offer) {
      trace(Step::campaign_caps, Note::lp_redirect_missing, campaign.id, lp_offer_id);
      return false;
    }
    trace(Step::campaign_caps, Note::lp_redirect, campaign.id, lp_offer_id);
    set_type(text::kCampaignUnder, text::kCampaignUnder);
    decision_.caps_type = "campaignUnderLimit";
    landing_page_ = lp_offer->landing_page_url;
    return true;
  }

  bool rule_offer_caps() {
    const Offer& offer = *decision_.offer;
    const CapInfo* info = offer.cap_info.get();
    const CapsResult caps = evaluate_caps(counters::CounterScope::offer, offer.id, offer.caps_enabled, info);
    decision_.offer_caps = caps.verdict;
    trace_caps(Step::offer_caps, offer.id, caps);
    if (is_over(caps)) {
      const bool clicks = caps.verdict == CapsVerdict::over_clicks;
      const std::string_view type = clicks ? text::kOfferClicksOver : text::kOfferSalesOver;
      set_type(type, type, info->is_exit_traffic.value_or(false) ? "ExitTraffic" : "CapRedirect");
      decision_.caps_type = clicks ? "offerOverLimitClicks" : "offerOverLimitSales";
      const RecordId target =
          info->offer_caps_offer_id_redirect ? info->offer_caps_offer_id_redirect : offer.exit_offer_id;
      override_to(target);
      if (decision_.offer != &offer) decision_.cap_override_offer_id = decision_.offer->id;
      return true;
    }
    if (caps.verdict != CapsVerdict::under) return false;
    set_type(text::kOfferUnder, text::kOfferUnder);
    decision_.caps_type = "offerUnderLimit";
    return true;
  }

  // ---- rule 7: payout per geo (§7.8) ----
  bool rule_payout_per_geo() {
    const Offer& offer = *decision_.offer;
    if (!offer.payout_per_geo || offer.payout_per_geo->empty()) {
      trace(Step::payout_per_geo, Note::not_configured, offer.id);
      return false;
    }
    if (!geo_entry(offer, context_.country)) {
      trace(Step::payout_per_geo, Note::no_rule_for_country, offer.id);
      return false;
    }
    trace(Step::payout_per_geo, Note::matched, offer.id);
    set_type(text::kPerGeo, text::kPerGeoReason, context_.country.view());
    return true;
  }

  // ---- rule 8: campaign target rules (legacy) ----
  std::string_view dimension_value(recipe::TargetDimension dimension) const noexcept {
    using recipe::TargetDimension;
    switch (dimension) {
      case TargetDimension::country: return context_.country.view();
      case TargetDimension::region: return context_.region;
      case TargetDimension::city: return context_.city;
      case TargetDimension::isp: return context_.isp;
      case TargetDimension::connection_type: return context_.connection_type;
      case TargetDimension::device: return context_.device;
      case TargetDimension::os: return context_.os;
      case TargetDimension::browser: return context_.browser;
    }
    return {};
  }

  bool holds(const recipe::TargetCondition& condition) const noexcept {
    const std::string_view value = dimension_value(condition.dimension);
    bool listed = false;
    if (!value.empty()) {
      for (const auto& candidate : condition.values) {
        if (equals_ignore_case(value, candidate)) {
          listed = true;
          break;
        }
      }
    }
    return listed != condition.negate;
  }

  bool rule_target_rules() {
    const Campaign& campaign = *decision_.campaign;
    if (campaign.target_rules.empty()) {
      trace(Step::target_rules, Note::not_configured, campaign.id);
      return false;
    }
    for (std::size_t i = 0; i < campaign.target_rules.size(); ++i) {
      const auto& rule = campaign.target_rules[i];
      if (!std::all_of(rule.conditions.begin(), rule.conditions.end(), [&](const auto& c) { return holds(c); })) {
        continue;
      }
      trace(Step::target_rules, Note::rule_matched, campaign.id, static_cast<std::int64_t>(i));
      char index[24];
      const auto length = static_cast<std::size_t>(std::snprintf(index, sizeof index, "%zu", i));
      set_type(text::kTargetRules, text::kTargetRulesReason, std::string_view(index, length));
      if (rule.offer_id != 0) override_to(rule.offer_id);
      if (!rule.lp_url.empty()) landing_page_ = rule.lp_url;
      return true;
    }
    trace(Step::target_rules, Note::no_rule_for_country, campaign.id);
    return false;
  }

  // ---- overrides and exit chains (§7.2) ----
  void book(const Offer& offer) noexcept {
    decision_.offer = &offer;
    decision_.overridden = true;
  }

  // Sends the click to `target` (0 = the default offer), following exit offers while the
  // target is capped. Without any usable offer the booking stays and the fallback URL
  // (possibly none) becomes the landing page.
  void override_to(RecordId target) {
    decision_.exit_steps.clear();
    decision_.exit_steps.push(decision_.offer->id);
    if (const Offer* offer = resolve_target(target, decision_.exit_steps)) {
      book(*offer);
    } else {
      landing_page_ = settings_.fallback_url;
    }
  }

  const Offer* resolve_target(RecordId id, ExitSteps& visited) {
    for (unsigned hops = 0;; ++hops) {
      if (hops >= settings_.max_exit_hops) {
        trace(Step::exit_chain, Note::hop_limit, id, hops);
        return default_offer(visited);
      }
      if (id == 0) {
        id = settings_.default_offer_id;
        trace(Step::exit_chain, Note::target_default, id, id);
      }
      const Offer* offer = snapshot_.offer(id);
      if (!offer) {
        trace(Step::exit_chain, Note::target_missing, id, id);
        if (id == settings_.default_offer_id) break;
        id = settings_.default_offer_id;
        continue;
      }
      if (visited.contains(id)) {
        trace(Step::exit_chain, Note::target_cycle, id, id);
        return default_offer(visited);
      }
      visited.push(id);
      if (offer->type == recipe::OfferType::aggregated) {
        if (const Offer* child = pick_child(*offer)) {
          trace(Step::exit_chain, Note::target_aggregated, id, id, child->id);
          set_type(text::kToAggregated, text::kToAggregatedReason);
          visited.push(child->id);
          return child;
        }
        trace(Step::exit_chain, Note::target_aggregated_empty, id, id);
        id = offer->exit_offer_id;
        continue;
      }
      const CapInfo* info = offer->cap_info.get();
      if (is_over(evaluate_caps(counters::CounterScope::offer, offer->id, offer->caps_enabled, info))) {
        const RecordId next =
            info->offer_caps_offer_id_redirect ? info->offer_caps_offer_id_redirect : offer->exit_offer_id;
        trace(Step::exit_chain, Note::target_capped, id, id, next);
        id = next;
        continue;
      }
      trace(Step::exit_chain, Note::target_resolved, id, id);
      return offer;
    }
    trace(Step::exit_chain, Note::fallback_url, 0);
    return nullptr;
  }

  // Where a cycle or an over-long chain ends: the network's default offer, taken as it is.
  const Offer* default_offer(ExitSteps& visited) noexcept {
    const Offer* offer = snapshot_.offer(settings_.default_offer_id);
    if (!offer) {
      trace(Step::exit_chain, Note::fallback_url, 0);
      return nullptr;
    }
    if (visited.empty() || *(visited.end() - 1) != offer->id) visited.push(offer->id);
    trace(Step::exit_chain, Note::target_resolved, offer->id, offer->id);
    return offer;
  }

  // ---- landing page and payouts (§7.9, §8.1) ----
  void finish() {
    decision_.outcome = Outcome::redirect;
    const Offer& offer = *decision_.offer;
    std::string_view landing_page = landing_page_ ? *landing_page_ : std::string_view(offer.landing_page_url);
    if (!landing_page.empty()) {
      trace(Step::landing_page, Note::from_offer, offer.id);
    } else if (const Offer* fallback = snapshot_.offer(settings_.default_offer_id);
               fallback && !fallback->landing_page_url.empty()) {
      landing_page = fallback->landing_page_url;
      trace(Step::landing_page, Note::from_default_offer, offer.id, fallback->id);
    } else if (!settings_.fallback_url.empty()) {
      landing_page = settings_.fallback_url;
      trace(Step::landing_page, Note::fallback_url, offer.id);
    } else {
      trace(Step::landing_page, Note::none, offer.id);
      decision_.outcome = Outcome::no_landing_page;
    }
    decision_.landing_page = landing_page;

    const Campaign& campaign = *decision_.campaign;
    const recipe::GeoPayout* geo = geo_entry(offer, context_.country);
    const bool stayed = !decision_.overridden;
    decision_.payin = geo && geo->payin ? *geo->payin : offer.payin;
    if (geo && geo->payout) {
      decision_.payout = *geo->payout;
      trace(Step::payout, Note::per_geo, offer.id, decision_.payin.micros(), decision_.payout.micros());
    } else if (stayed && campaign.payout) {
      decision_.payout = *campaign.payout;
      trace(Step::payout, Note::campaign_payout, campaign.id, decision_.payin.micros(), decision_.payout.micros());
    } else {
      decision_.payout = offer.payout;
      trace(Step::payout, Note::offer_payout, offer.id, decision_.payin.micros(), decision_.payout.micros());
    }
    if (geo && geo->payout_percent) {
      decision_.payout_percent = geo->payout_percent;
    } else if (stayed && campaign.payout_percent) {
      decision_.payout_percent = campaign.payout_percent;
    } else {
      decision_.payout_percent = offer.payout_percent;
    }
    // §7.8: an offer that stayed under its caps and pays a per-geo rate reports it so.
    if (geo && stayed && decision_.redirect_type == text::kOfferUnder) {
      set_type(text::kPerGeo, text::kPerGeoReason, context_.country.view());
    }
  }

  const EngineSettings& settings_;
  const Context& context_;
  const recipe::Snapshot& snapshot_;
  counters::CountersView& counters_;
  const TimestampMs now_;
  Random& random_;
  const DecideOptions options_;
  Decision& decision_;
  std::optional<std::string_view> landing_page_;  // set by rules that choose the LP themselves
};

}  // namespace

Engine::Engine(EngineSettings settings) : settings_(std::move(settings)) {}

Decision Engine::decide(const Context& context, const recipe::Snapshot& snapshot, counters::CountersView& counters,
                        const Clock& clock, Random& random, DecideOptions options) const {
  Decision decision;
  Decider(settings_, context, snapshot, counters, clock.now(), random, options, decision).run();
  return decision;
}

}  // namespace traffic::rules
