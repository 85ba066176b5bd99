#include "traffic/lid/click_record.hpp"

#include "traffic/common/json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace traffic::lid {

namespace {

// Writes the record's fields in order, managing the commas. Writes through a raw pointer
// into the caller's string, grown ahead of each field: std::string's out-of-line
// push_back/append per piece was half of the record's cost.
class Line {
 public:
  explicit Line(std::string& out) : out_(out), pos_(out.size()) {
    out_.resize(pos_ + 2048);
    out_[pos_++] = '{';
  }
  void finish() {
    ensure(2);
    out_[pos_++] = '}';
    out_[pos_++] = '\n';
    out_.resize(pos_);
  }

  // Inlined: each call's key is a literal, so its copy becomes a few stores.
  [[gnu::always_inline]] void string(std::string_view name, std::string_view value) {
    key(name);
    ensure(6 * value.size() + 2);
    pos_ = static_cast<std::size_t>(write_json_string(out_.data() + pos_, value) - out_.data());
  }
  [[gnu::always_inline]] void number(std::string_view name, std::int64_t value) {
    key(name);
    ensure(24);
    const auto result = std::to_chars(out_.data() + pos_, out_.data() + pos_ + 24, value);
    pos_ = static_cast<std::size_t>(result.ptr - out_.data());
  }
  void money(std::string_view name, const Money& value) {
    key(name);
    ensure(Money::kMaxTextSize);
    pos_ += value.format(out_.data() + pos_);
  }
  void money(std::string_view name, const std::optional<Money>& value) {
    if (value) return money(name, *value);
    key(name);
    raw("null");
  }
  void boolean(std::string_view name, bool value) {
    key(name);
    raw(value ? "true" : "false");
  }

 private:
  [[gnu::always_inline]] void ensure(std::size_t n) {
    if (out_.size() - pos_ < n) [[unlikely]]
      grow(n);
  }
  [[gnu::noinline]] void grow(std::size_t n) { out_.resize(std::max(2 * out_.size(), pos_ + n)); }
  void raw(std::string_view text) {
    ensure(text.size());
    std::memcpy(out_.data() + pos_, text.data(), text.size());
    pos_ += text.size();
  }
  [[gnu::always_inline]] void key(std::string_view name) {  // our own names: nothing to escape
    ensure(name.size() + 4);
    char* p = out_.data() + pos_;
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '"';
    *p++ = ':';
    pos_ = static_cast<std::size_t>(p - out_.data());
  }
  std::string& out_;
  std::size_t pos_;
  bool first_ = true;
};

// Cuts a visitor's value to its field's bound without splitting a UTF-8 character (a
// continuation byte at the cut moves it back, at most three bytes), noting the cut.
std::string_view bounded(std::string_view value, BoundedField field, TruncatedFields& truncated) noexcept {
  const std::size_t limit = kBoundedFieldBytes[static_cast<std::size_t>(field)];
  if (value.size() <= limit) [[likely]]
    return value;
  truncated |= static_cast<TruncatedFields>(1U << static_cast<unsigned>(field));
  std::size_t end = limit;
  while (end > limit - 3 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  return value.substr(0, end);
}

}  // namespace

std::string_view to_string(BoundedField field) noexcept {
  static constexpr std::array<std::string_view, kBoundedFields> kNames = {
      "sub_campaign", "cid", "domain", "referer", "ad_path", "user_agent", "landing_page", "ad_domain"};
  return kNames[static_cast<std::size_t>(field)];
}

namespace {

// Where the value of `"name":` starts in a record line, or npos.
std::size_t value_of(std::string_view record, std::string_view name) noexcept {
  char key[64];
  if (name.size() + 3 > sizeof key) return std::string_view::npos;
  key[0] = '"';
  std::memcpy(key + 1, name.data(), name.size());
  key[name.size() + 1] = '"';
  key[name.size() + 2] = ':';
  const auto at = record.find(std::string_view(key, name.size() + 3));
  return at == std::string_view::npos ? at : at + name.size() + 3;
}

}  // namespace

std::string_view record_field(std::string_view record, std::string_view name) noexcept {
  const auto begin = value_of(record, name);
  if (begin == std::string_view::npos || begin >= record.size() || record[begin] != '"') return {};
  const auto end = record.find('"', begin + 1);
  return end == std::string_view::npos ? std::string_view() : record.substr(begin + 1, end - begin - 1);
}

std::int64_t record_number(std::string_view record, std::string_view name) noexcept {
  const auto begin = value_of(record, name);
  if (begin == std::string_view::npos) return 0;
  std::int64_t value = 0;
  std::from_chars(record.data() + begin, record.data() + record.size(), value);
  return value;
}

namespace {
// What a record says of an offer or campaign the decision has none of.
const recipe::Offer kNoOffer;
const recipe::Campaign kNoCampaign;
}  // namespace

TruncatedFields append_click_record(std::string& out, const rules::Decision& decision, const rules::Context& context,
                                    const device::DeviceInfo& device, const ClickFacts& facts) {
  TruncatedFields truncated = 0;
  const auto cut = [&](std::string_view value, BoundedField field) { return bounded(value, field, truncated); };
  const recipe::Offer& offer = decision.offer ? *decision.offer : kNoOffer;
  const recipe::Campaign& campaign = decision.campaign ? *decision.campaign : kNoCampaign;
  const recipe::Offer& origin = decision.origin_offer ? *decision.origin_offer : offer;
  const recipe::Campaign& origin_campaign = decision.origin_campaign ? *decision.origin_campaign : campaign;

  Line line(out);
  line.string("lid", facts.lid);
  line.number("affiliate_id", campaign.affiliate_id);
  line.string("affiliate_type", campaign.affiliate_type);
  line.number("campaign_id", campaign.id);
  line.string("sub_campaign", cut(facts.sub_campaign, BoundedField::sub_campaign));
  line.string("cid", cut(facts.cid, BoundedField::cid));
  line.string("domain", cut(facts.domain, BoundedField::domain));
  line.number("offer_id", offer.id);
  line.string("offer_name", offer.name);
  line.string("offer_type", recipe::to_string(offer.type));
  line.string("offer_description", offer.description);
  line.string("landing_page", cut(facts.landing_page, BoundedField::landing_page));
  line.number("landing_page_id", offer.landing_page_id);
  line.money("payin", decision.payin);
  line.money("payout", decision.payout);
  line.string("geo", context.country.view());
  line.number("cap_override_offer_id", decision.cap_override_offer_id);
  line.boolean("is_cpm_option_enabled", offer.is_cpm_option_enabled);
  line.number("landing_page_id_origin", origin.landing_page_id);
  line.string("landing_page_url_origin", origin.landing_page_url);
  line.number("advertiser_id", offer.advertiser_id);
  line.number("advertiser_manager_id", offer.advertiser_manager_id);
  line.number("affiliate_manager_id", campaign.affiliate_manager_id);
  line.number("origin_advertiser_id", origin.advertiser_id);
  line.string("origin_conversion_type", origin.conversion_type);
  line.boolean("origin_is_cpm_option_enabled", origin.is_cpm_option_enabled);
  line.number("origin_offer_id", origin.id);
  line.number("origin_vertical_id", origin.vertical_id);
  line.number("verticals", offer.vertical_id);
  line.string("vertical_name", offer.vertical_name);
  line.string("conversion_type", offer.conversion_type);
  line.string("platform", context.os);
  line.money("payout_percent", decision.payout_percent);
  line.string("device", context.device);
  line.string("os", context.os);
  line.string("isp", context.isp);
  line.string("referer", cut(facts.referer, BoundedField::referer));
  line.number("date_added", facts.date_added);
  line.number("click", facts.event_type == "click" ? 1 : 0);
  line.string("event_type", facts.event_type);
  line.string("event", facts.event);
  line.string("fingerprint", facts.fingerprint);
  line.boolean("is_unique_visit", facts.is_unique_visit);
  line.string("ad_path", cut(facts.ad_path, BoundedField::ad_path));
  line.string("ad_domain", cut(facts.ad_domain, BoundedField::ad_domain));
  line.string("ip", facts.ip);
  line.string("user_agent", cut(facts.user_agent, BoundedField::user_agent));
  line.string("browser", context.browser);
  // major.minor, without building a string
  {
    std::string_view major = device.browser_major;
    std::string_view minor = device.browser_minor;
    char version[64];
    std::size_t size = 0;
    const auto put = [&](std::string_view part) {
      const std::size_t n = std::min(part.size(), sizeof version - size);
      std::copy_n(part.data(), n, version + size);
      size += n;
    };
    put(major);
    if (!major.empty() && !minor.empty()) {
      put(".");
      put(minor);
    }
    line.string("browser_version", std::string_view(version, size));
  }
  line.string("region", context.region);
  line.string("city", context.city);
  line.string("redirect_type", decision.redirect_type);
  line.string("redirect_reason", decision.redirect_reason.view());
  line.string("caps_type", decision.caps_type);
  {
    char steps[rules::ExitSteps::kCapacity * 21];
    std::size_t size = 0;
    for (const recipe::RecordId id : decision.exit_steps) {
      if (size) steps[size++] = ',';
      size = static_cast<std::size_t>(std::to_chars(steps + size, steps + sizeof steps, id).ptr - steps);
    }
    line.string("nested_exit_offer_steps", std::string_view(steps, size));
  }
  line.number("origin_campaign_id", origin_campaign.id);
  line.number("origin_affiliate_id", origin_campaign.affiliate_id);
  line.number("recipe_version", static_cast<std::int64_t>(decision.recipe_version));
  line.boolean("is_bot", device.is_bot);
  line.boolean("link_mismatch", decision.link_mismatch);
  line.number("decision_ns", static_cast<std::int64_t>(facts.decision_ns));
  line.finish();
  return truncated;
}

}  // namespace traffic::lid
