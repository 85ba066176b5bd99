#include "record_parser.hpp"

#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

namespace traffic::recipe::detail {
namespace json = boost::json;
namespace {

enum class OfferField {
  offer_id,
  name,
  descriptions,
  advertiser_id,
  advertiser_name,
  advertiser_manager_id,
  vertical_id,
  vertical_name,
  currency_id,
  status,
  payin,
  payout,
  payout_percent,
  is_cpm_option_enabled,
  conversion_type,
  landing_page_id,
  landing_page_url,
  type,
  exit_offer,
  geo_rules,
  countries_restrictions,
  custom_lp_rules,
  custom_payout_per_geo,
  use_start_end_date,
  start_date,
  end_date,
  start_end_date_setup,
  start_end_date_setting,
  caps_enabled,
  cap_setup,
  cap_info,
  redirect_type,
  redirect_reason,
  exit_offers_nested,
  exit_offer_detected,
  offers_aggregated_ids,
};

enum class CampaignField {
  campaign_id,
  name,
  offer_id,
  affiliate_id,
  affiliate_status,
  affiliate_type,
  campaign_status,
  payout,
  payout_percent,
  affiliate_manager_id,
  caps_enabled,
  cap_setup,
  cap_info,
  target_rules,
};

const boost::unordered_flat_map<std::string_view, OfferField>& offer_fields() {
  static const boost::unordered_flat_map<std::string_view, OfferField> fields{
      {"offerId", OfferField::offer_id},
      {"name", OfferField::name},
      {"descriptions", OfferField::descriptions},
      {"advertiserId", OfferField::advertiser_id},
      {"advertiserName", OfferField::advertiser_name},
      {"advertiserManagerId", OfferField::advertiser_manager_id},
      {"verticalId", OfferField::vertical_id},
      {"verticalName", OfferField::vertical_name},
      {"currencyId", OfferField::currency_id},
      {"status", OfferField::status},
      {"payin", OfferField::payin},
      {"payout", OfferField::payout},
      {"payoutPercent", OfferField::payout_percent},
      {"isCpmOptionEnabled", OfferField::is_cpm_option_enabled},
      {"conversionType", OfferField::conversion_type},
      {"landingPageId", OfferField::landing_page_id},
      {"landingPageUrl", OfferField::landing_page_url},
      {"type", OfferField::type},
      {"offerIdRedirectExitTraffic", OfferField::exit_offer},
      {"geoRules", OfferField::geo_rules},
      {"countriesRestrictions", OfferField::countries_restrictions},
      {"customLpRules", OfferField::custom_lp_rules},
      {"customPayOutPerGeo", OfferField::custom_payout_per_geo},
      {"useStartEndDate", OfferField::use_start_end_date},
      {"startDate", OfferField::start_date},
      {"endDate", OfferField::end_date},
      {"startEndDateSetup", OfferField::start_end_date_setup},
      {"startEndDateSetting", OfferField::start_end_date_setting},
      {"capsEnabled", OfferField::caps_enabled},
      {"capSetup", OfferField::cap_setup},
      {"capInfo", OfferField::cap_info},
      {"redirectType", OfferField::redirect_type},
      {"redirectReason", OfferField::redirect_reason},
      {"exitOffersNested", OfferField::exit_offers_nested},
      {"exitOfferDetected", OfferField::exit_offer_detected},
      {"offersAggregatedIds", OfferField::offers_aggregated_ids},
  };
  return fields;
}

const boost::unordered_flat_map<std::string_view, CampaignField>& campaign_fields() {
  static const boost::unordered_flat_map<std::string_view, CampaignField> fields{
      {"campaignId", CampaignField::campaign_id},
      {"name", CampaignField::name},
      {"offerId", CampaignField::offer_id},
      {"affiliateId", CampaignField::affiliate_id},
      {"affiliateStatus", CampaignField::affiliate_status},
      {"affiliateType", CampaignField::affiliate_type},
      {"campaignStatus", CampaignField::campaign_status},
      {"payout", CampaignField::payout},
      {"payoutPercent", CampaignField::payout_percent},
      {"affiliateManagerId", CampaignField::affiliate_manager_id},
      {"capsEnabled", CampaignField::caps_enabled},
      {"capSetup", CampaignField::cap_setup},
      {"capInfo", CampaignField::cap_info},
      {"targetRules", CampaignField::target_rules},
  };
  return fields;
}

// The inverse of to_string (records.hpp): the first enum value whose text matches.
template <class Status, Status kLast>
Status parse_status(std::string_view text) {
  for (auto i = 1; i <= static_cast<int>(kLast); ++i) {
    if (to_string(static_cast<Status>(i)) == text) return static_cast<Status>(i);
  }
  return Status::other;
}

OfferStatus parse_offer_status(std::string_view s) {
  return parse_status<OfferStatus, OfferStatus::pending>(s);
}
AffiliateStatus parse_affiliate_status(std::string_view s) {
  return parse_status<AffiliateStatus, AffiliateStatus::blacklisted>(s);
}
CampaignStatus parse_campaign_status(std::string_view s) {
  return parse_status<CampaignStatus, CampaignStatus::rejected>(s);
}

const json::value kNull;

const json::value& member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v ? *v : kNull;
}

std::optional<CapCounter> parse_cap_counter(const json::value& v, FieldSink& sink) {
  if (v.is_null()) return CapCounter{};
  if (!v.is_object()) return std::nullopt;
  CapCounter counter;
  auto current = read_int(member(v.get_object(), "current"), "capInfo", sink);
  auto limit = read_int(member(v.get_object(), "limit"), "capInfo", sink);
  counter.current = current.value_or(0);
  counter.limit = limit.value_or(0);
  return counter;
}

std::optional<CapPeriods> parse_cap_periods(const json::value& v, FieldSink& sink) {
  if (v.is_null()) return CapPeriods{};
  if (!v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  auto day = parse_cap_counter(member(o, "day"), sink);
  auto week = parse_cap_counter(member(o, "week"), sink);
  auto month = parse_cap_counter(member(o, "month"), sink);
  if (!day || !week || !month) return std::nullopt;
  return CapPeriods{*day, *week, *month};
}

std::shared_ptr<const CapInfo> parse_cap_info(const json::value& raw, FieldSink& sink, std::size_t max_depth) {
  auto v = read_embedded_json(raw, "capInfo", sink, max_depth);
  if (!v || v->is_null()) return nullptr;
  if (!v->is_object()) {
    sink.malformed("capInfo", "not an object");
    return nullptr;
  }
  const json::object& o = v->get_object();
  auto info = std::make_shared<CapInfo>();
  auto clicks = parse_cap_periods(member(o, "clicks"), sink);
  auto sales = parse_cap_periods(member(o, "sales"), sink);
  if (!clicks || !sales) {
    sink.malformed("capInfo", "clicks/sales are not {day,week,month} objects");
    return nullptr;
  }
  info->clicks = *clicks;
  info->sales = *sales;
  info->clicks_over_limit = read_bool(member(o, "capsClicksOverLimit"), "capInfo.capsClicksOverLimit", sink);
  info->sales_over_limit = read_bool(member(o, "capsSalesOverLimit"), "capInfo.capsSalesOverLimit", sink);
  info->clicks_under_limit = read_bool(member(o, "capsClicksUnderLimit"), "capInfo.capsClicksUnderLimit", sink);
  info->sales_under_limit = read_bool(member(o, "capsSalesUnderLimit"), "capInfo.capsSalesUnderLimit", sink);
  info->caps_type = read_string(member(o, "capsType"), "capInfo.capsType", sink);
  info->date_range_set_up = read_bool(member(o, "dateRangeSetUp"), "capInfo.dateRangeSetUp", sink);
  info->date_range_pass = read_bool(member(o, "dateRangePass"), "capInfo.dateRangePass", sink);
  info->date_start = read_time(member(o, "dateStart"), "capInfo.dateStart", sink);
  info->date_end = read_time(member(o, "dateEnd"), "capInfo.dateEnd", sink);
  info->is_exit_traffic = read_bool(member(o, "isExitTraffic"), "capInfo.isExitTraffic", sink);
  info->offer_caps_offer_id_redirect =
      read_id(member(o, "offerCapsOfferIdRedirect"), "capInfo.offerCapsOfferIdRedirect", sink).value_or(0);
  info->campaign_caps_offer_id_redirect =
      read_id(member(o, "campaignCapsOfferIdRedirect"), "capInfo.campaignCapsOfferIdRedirect", sink).value_or(0);
  return info;
}

// `{"geo":[{"country":"US","include":true},…]}`. One bad entry disables the whole rule
// (SPEC §5.1): half a geo rule is a different rule from the one the admin wrote.
std::optional<std::vector<GeoRule>> parse_geo_rules(const json::value& raw, FieldSink& sink, std::size_t max_depth) {
  auto v = read_embedded_json(raw, "geoRules", sink, max_depth);
  if (!v || v->is_null()) return std::nullopt;
  const json::value* list = v->is_object() ? v->get_object().if_contains("geo") : nullptr;
  if (!list || !list->is_array()) {
    sink.malformed("geoRules", "expected {\"geo\":[…]}");
    return std::nullopt;
  }
  std::vector<GeoRule> rules;
  for (const auto& entry : list->get_array()) {
    const json::object* o = entry.if_object();
    const json::value* country = o ? o->if_contains("country") : nullptr;
    auto code = country && country->is_string() ? CountryCode::parse(country->get_string()) : std::nullopt;
    if (!code) {
      sink.malformed("geoRules", "entry without a two-letter country");
      return std::nullopt;
    }
    // A missing `include` is a block entry, which is how the old service read every entry.
    auto include = read_bool(member(*o, "include"), "geoRules", sink);
    rules.push_back({*code, include.value_or(false)});
  }
  return rules;
}

std::optional<std::vector<CustomLpRule>> parse_custom_lp_rules(const json::value& raw, FieldSink& sink,
                                                               std::size_t max_depth) {
  auto v = read_embedded_json(raw, "customLpRules", sink, max_depth);
  if (!v || v->is_null()) return std::nullopt;
  const json::value* list = v->is_object() ? v->get_object().if_contains("customLPRules") : &*v;
  if (!list || !list->is_array()) {
    sink.malformed("customLpRules", "expected {\"customLPRules\":[…]}");
    return std::nullopt;
  }
  std::vector<CustomLpRule> rules;
  for (const auto& entry : list->get_array()) {
    const json::object* o = entry.if_object();
    const json::value* country = o ? o->if_contains("country") : nullptr;
    auto code = country && country->is_string() ? CountryCode::parse(country->get_string()) : std::nullopt;
    const json::value* url = o ? o->if_contains("lpUrl") : nullptr;
    if (!code || !url || !url->is_string() || url->get_string().empty()) {
      sink.malformed("customLpRules", "entry without a country and an lpUrl");
      return std::nullopt;
    }
    CustomLpRule rule;
    rule.id = read_int(member(*o, "id"), "customLpRules.id", sink).value_or(0);
    rule.pos = read_int(member(*o, "pos"), "customLpRules.pos", sink).value_or(0);
    rule.country = *code;
    rule.lp_name = read_string(member(*o, "lpName"), "customLpRules.lpName", sink);
    rule.lp_url = std::string(url->get_string());
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::optional<std::vector<GeoPayout>> parse_payout_per_geo(const json::value& raw, FieldSink& sink,
                                                           std::size_t max_depth) {
  auto v = read_embedded_json(raw, "customPayOutPerGeo", sink, max_depth);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) {
    sink.malformed("customPayOutPerGeo", "expected an array");
    return std::nullopt;
  }
  std::vector<GeoPayout> entries;
  for (const auto& entry : v->get_array()) {
    const json::object* o = entry.if_object();
    const json::value* geo = o ? o->if_contains("geo") : nullptr;
    auto code = geo && geo->is_string() ? CountryCode::parse(geo->get_string()) : std::nullopt;
    if (!code) {
      sink.malformed("customPayOutPerGeo", "entry without a two-letter geo");
      return std::nullopt;
    }
    const std::size_t problems_before = sink.report().malformed_fields;
    GeoPayout payout;
    payout.geo = *code;
    payout.payin = read_money(member(*o, "payIn"), "customPayOutPerGeo.payIn", sink);
    payout.payout = read_money(member(*o, "payOut"), "customPayOutPerGeo.payOut", sink);
    payout.payment_type = read_string(member(*o, "paymentType"), "customPayOutPerGeo.paymentType", sink);
    payout.payout_percent = read_money(member(*o, "payoutPercent"), "customPayOutPerGeo.payoutPercent", sink);
    // A money value that does not parse would silently fall back to the offer's default
    // rate; billing the wrong amount is worse than not applying the table at all.
    if (sink.report().malformed_fields != problems_before) return std::nullopt;
    entries.push_back(std::move(payout));
  }
  return entries;
}

std::optional<DateWindowSetting> parse_date_setting(const json::value& raw, FieldSink& sink, std::size_t max_depth) {
  auto v = read_embedded_json(raw, "startEndDateSetting", sink, max_depth);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) {
    sink.malformed("startEndDateSetting", "not an object");
    return std::nullopt;
  }
  const json::object& o = v->get_object();
  DateWindowSetting setting;
  setting.start = read_time(member(o, "startDate"), "startEndDateSetting.startDate", sink);
  setting.end = read_time(member(o, "endDate"), "startEndDateSetting.endDate", sink);
  setting.date_range_pass = read_bool(member(o, "dateRangePass"), "startEndDateSetting.dateRangePass", sink);
  return setting;
}

std::vector<AggregatedChild> parse_aggregated(const json::value& v, FieldSink& sink) {
  std::vector<AggregatedChild> children;
  if (v.is_null()) return children;
  if (!v.is_array()) {
    sink.malformed("offersAggregatedIds", "expected an array");
    return children;
  }
  for (const auto& entry : v.get_array()) {
    const json::object* o = entry.if_object();
    auto id = o ? read_id(member(*o, "aggregatedOfferId"), "offersAggregatedIds", sink) : std::nullopt;
    if (!id || *id <= 0) {
      sink.malformed("offersAggregatedIds", "entry without a positive aggregatedOfferId");
      continue;
    }
    AggregatedChild child;
    child.offer_id = *id;
    child.margin = read_money(member(*o, "margin"), "offersAggregatedIds.margin", sink);
    child.countries_restrictions =
        read_country_list(member(*o, "countriesRestrictions"), "offersAggregatedIds.countriesRestrictions", sink);
    child.caps_over_limit_clicks = read_bool(member(*o, "capsOverLimitClicks"), "offersAggregatedIds", sink);
    child.caps_over_limit_sales = read_bool(member(*o, "capsOverLimitSales"), "offersAggregatedIds", sink);
    child.date_range_not_pass = read_bool(member(*o, "dateRangeNotPass"), "offersAggregatedIds", sink);
    children.push_back(std::move(child));
  }
  return children;
}

std::optional<TargetDimension> parse_dimension(std::string_view name) {
  static constexpr std::pair<std::string_view, TargetDimension> kNames[] = {
      {"country", TargetDimension::country},
      {"region", TargetDimension::region},
      {"city", TargetDimension::city},
      {"isp", TargetDimension::isp},
      {"connection_type", TargetDimension::connection_type},
      {"device", TargetDimension::device},
      {"os", TargetDimension::os},
      {"browser", TargetDimension::browser},
  };
  for (const auto& [text, dimension] : kNames) {
    if (text == name) return dimension;
  }
  return std::nullopt;
}

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

std::optional<TargetCondition> parse_target_condition(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return std::nullopt;
  const json::value* field = o->if_contains("field");
  const json::value* op = o->if_contains("op");
  const json::value* values = o->if_contains("values");
  if (!field || !field->is_string() || !values || !values->is_array()) return std::nullopt;
  auto dimension = parse_dimension(field->get_string());
  if (!dimension) return std::nullopt;
  TargetCondition condition;
  condition.dimension = *dimension;
  const std::string_view op_text = op && op->is_string() ? std::string_view(op->get_string()) : "in";
  if (op_text == "not_in") {
    condition.negate = true;
  } else if (op_text != "in") {
    return std::nullopt;
  }
  for (const auto& value : values->get_array()) {
    if (!value.is_string()) return std::nullopt;
    condition.values.push_back(ascii_lower(value.get_string()));
  }
  return condition;
}

// `targetRules` (our documented shape, docs/rules.md). Like the other rule fields, one bad
// entry disables the whole field: a partial rule set routes traffic the admin never chose.
std::vector<TargetRule> parse_target_rules(const json::value& raw, FieldSink& sink, std::size_t max_depth) {
  auto v = read_embedded_json(raw, "targetRules", sink, max_depth);
  if (!v || v->is_null()) return {};
  if (!v->is_array()) {
    sink.malformed("targetRules", "expected an array");
    return {};
  }
  std::vector<TargetRule> rules;
  for (const auto& entry : v->get_array()) {
    const json::object* o = entry.if_object();
    const json::value* conditions = o ? o->if_contains("conditions") : nullptr;
    if (!conditions || !conditions->is_array() || conditions->get_array().empty()) {
      sink.malformed("targetRules", "rule without conditions");
      return {};
    }
    TargetRule rule;
    for (const auto& c : conditions->get_array()) {
      auto condition = parse_target_condition(c);
      if (!condition) {
        sink.malformed("targetRules", "condition needs field, op in|not_in and string values");
        return {};
      }
      rule.conditions.push_back(std::move(*condition));
    }
    rule.offer_id = read_id(member(*o, "offerId"), "targetRules.offerId", sink).value_or(0);
    rule.lp_url = read_string(member(*o, "lpUrl"), "targetRules.lpUrl", sink);
    if (rule.offer_id == 0 && rule.lp_url.empty()) {
      sink.malformed("targetRules", "rule with neither offerId nor lpUrl");
      return {};
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

RecordId nested_offer_id(const json::value& v, FieldSink& sink) {
  if (const json::object* o = v.if_object()) {
    return read_id(member(*o, "offerId"), "exitOffersNested", sink).value_or(0);
  }
  return 0;
}

// Collects the keys this version does not model into a compact JSON object.
void keep_extra(json::object& extras, std::string_view key, const json::value& value) {
  extras.emplace(key, value);
}

std::string finish_extras(const json::object& extras) {
  return extras.empty() ? std::string() : json::serialize(extras);
}

// The shape shared by offers and campaigns: a positive id under `id_key` (else the record
// is skipped), known keys dispatched to `on_field`, unknown keys kept in `extras`.
template <class Record, class Field, class OnField>
std::optional<Record> parse_record(const json::object& object, std::string_view id_key,
                                   const boost::unordered_flat_map<std::string_view, Field>& fields, FieldSink& sink,
                                   OnField&& on_field) {
  const json::value* id_value = object.if_contains(id_key);
  auto id = id_value ? read_id(*id_value, id_key, sink) : std::nullopt;
  if (!id || *id <= 0) {
    sink.set_id(0);
    sink.malformed(id_key, "missing or not a positive integer; record skipped");
    return std::nullopt;
  }
  sink.set_id(*id);
  Record record;
  record.id = *id;
  json::object extras;
  for (const auto& [key_, value] : object) {
    const std::string_view key = key_;
    if (auto it = fields.find(key); it != fields.end()) {
      on_field(record, it->second, key, value);
    } else {
      keep_extra(extras, key, value);
    }
  }
  record.extras = finish_extras(extras);
  return record;
}

// A status text mapped to its enum; an unknown non-empty value is counted as a problem.
template <class Status>
Status read_status(const json::value& value, std::string_view key, FieldSink& sink, Status (*parse)(std::string_view)) {
  const std::string text = read_string(value, key, sink);
  const Status status = parse(text);
  if (status == Status::other && !text.empty()) sink.malformed(key, "unknown status");
  return status;
}

}  // namespace

std::optional<Offer> parse_offer(const json::object& object, FieldSink& sink, std::size_t max_depth) {
  auto on_field = [&](Offer& offer, OfferField field, std::string_view key, const json::value& value) {
    switch (field) {
      case OfferField::offer_id: break;
      case OfferField::name: offer.name = read_string(value, key, sink); break;
      case OfferField::descriptions: offer.description = read_string(value, key, sink); break;
      case OfferField::advertiser_id: offer.advertiser_id = read_id(value, key, sink).value_or(0); break;
      case OfferField::advertiser_name: offer.advertiser_name = read_string(value, key, sink); break;
      case OfferField::advertiser_manager_id:
        offer.advertiser_manager_id = read_id(value, key, sink).value_or(0);
        break;
      case OfferField::vertical_id: offer.vertical_id = read_id(value, key, sink).value_or(0); break;
      case OfferField::vertical_name: offer.vertical_name = read_string(value, key, sink); break;
      case OfferField::currency_id: offer.currency_id = read_int(value, key, sink).value_or(0); break;
      case OfferField::status: offer.status = read_status(value, key, sink, parse_offer_status); break;
      case OfferField::payin: offer.payin = read_money(value, key, sink).value_or(Money()); break;
      case OfferField::payout: offer.payout = read_money(value, key, sink).value_or(Money()); break;
      case OfferField::payout_percent: offer.payout_percent = read_money(value, key, sink); break;
      case OfferField::is_cpm_option_enabled:
        offer.is_cpm_option_enabled = read_bool(value, key, sink).value_or(false);
        break;
      case OfferField::conversion_type: offer.conversion_type = read_string(value, key, sink); break;
      case OfferField::landing_page_id: offer.landing_page_id = read_id(value, key, sink).value_or(0); break;
      case OfferField::landing_page_url: offer.landing_page_url = read_string(value, key, sink); break;
      case OfferField::type: {
        const std::string type = read_string(value, key, sink);
        offer.type = type == "aggregated"                  ? OfferType::aggregated
                     : (type == "regular" || type.empty()) ? OfferType::regular
                                                           : OfferType::other;
        break;
      }
      case OfferField::exit_offer: offer.exit_offer_id = read_id(value, key, sink).value_or(0); break;
      case OfferField::geo_rules: offer.geo_rules = parse_geo_rules(value, sink, max_depth); break;
      case OfferField::countries_restrictions:
        offer.countries_restrictions = read_country_list(value, key, sink);
        break;
      case OfferField::custom_lp_rules: offer.custom_lp_rules = parse_custom_lp_rules(value, sink, max_depth); break;
      case OfferField::custom_payout_per_geo:
        offer.payout_per_geo = parse_payout_per_geo(value, sink, max_depth);
        break;
      case OfferField::use_start_end_date:
        offer.use_start_end_date = read_bool(value, key, sink).value_or(false);
        break;
      case OfferField::start_date: offer.start_date = read_time(value, key, sink); break;
      case OfferField::end_date: offer.end_date = read_time(value, key, sink); break;
      case OfferField::start_end_date_setup: offer.start_end_date_setup = read_bool(value, key, sink); break;
      case OfferField::start_end_date_setting:
        offer.start_end_date_setting = parse_date_setting(value, sink, max_depth);
        break;
      case OfferField::caps_enabled: offer.caps_enabled = read_bool(value, key, sink); break;
      case OfferField::cap_setup: offer.cap_setup = read_bool(value, key, sink); break;
      case OfferField::cap_info: offer.cap_info = parse_cap_info(value, sink, max_depth); break;
      case OfferField::redirect_type: offer.redirect_type = read_string(value, key, sink); break;
      case OfferField::redirect_reason: offer.redirect_reason = read_string(value, key, sink); break;
      case OfferField::exit_offers_nested:
        if (value.is_array()) {
          for (const auto& nested : value.get_array()) {
            if (RecordId nested_id = nested_offer_id(nested, sink); nested_id > 0) {
              offer.exit_offers_nested.push_back(nested_id);
            }
          }
        } else if (!value.is_null()) {
          sink.malformed(key, "expected an array of offers");
        }
        break;
      case OfferField::exit_offer_detected: offer.exit_offer_detected = nested_offer_id(value, sink); break;
      case OfferField::offers_aggregated_ids: offer.aggregated_children = parse_aggregated(value, sink); break;
    }
  };
  return parse_record<Offer>(object, "offerId", offer_fields(), sink, on_field);
}

std::optional<Campaign> parse_campaign(const json::object& object, FieldSink& sink, std::size_t max_depth) {
  auto on_field = [&](Campaign& campaign, CampaignField field, std::string_view key, const json::value& value) {
    switch (field) {
      case CampaignField::campaign_id: break;
      case CampaignField::name: campaign.name = read_string(value, key, sink); break;
      case CampaignField::offer_id: campaign.offer_id = read_id(value, key, sink).value_or(0); break;
      case CampaignField::affiliate_id: campaign.affiliate_id = read_id(value, key, sink).value_or(0); break;
      case CampaignField::affiliate_status:
        campaign.affiliate_status = read_status(value, key, sink, parse_affiliate_status);
        break;
      case CampaignField::affiliate_type: campaign.affiliate_type = read_string(value, key, sink); break;
      case CampaignField::campaign_status:
        campaign.campaign_status = read_status(value, key, sink, parse_campaign_status);
        break;
      case CampaignField::payout: campaign.payout = read_money(value, key, sink); break;
      case CampaignField::payout_percent: campaign.payout_percent = read_money(value, key, sink); break;
      case CampaignField::affiliate_manager_id:
        campaign.affiliate_manager_id = read_id(value, key, sink).value_or(0);
        break;
      case CampaignField::caps_enabled: campaign.caps_enabled = read_bool(value, key, sink); break;
      case CampaignField::cap_setup: campaign.cap_setup = read_bool(value, key, sink); break;
      case CampaignField::cap_info: campaign.cap_info = parse_cap_info(value, sink, max_depth); break;
      case CampaignField::target_rules: campaign.target_rules = parse_target_rules(value, sink, max_depth); break;
    }
  };
  return parse_record<Campaign>(object, "campaignId", campaign_fields(), sink, on_field);
}

}  // namespace traffic::recipe::detail
