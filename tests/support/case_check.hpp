#pragma once
// Checks one click of tests/data/recipes/cases.json against what was observed — at library
// level (tests/unit/rules/cases_test.cpp) or through the HTTP handlers (tests/unit/http).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "digest.hpp"
#include "traffic/common/money.hpp"
#include "traffic/lid/lid.hpp"
#include "url_parts.hpp"

namespace traffic::test {

struct ObservedClick {
  int status = 0;
  std::optional<std::string> body;  ///< unset at library level (no HTTP body there)
  std::string url;                  ///< Location
  std::int64_t offer_id = 0;
  std::int64_t campaign_id = 0;
  std::int64_t affiliate_id = 0;
  std::string redirect_type;
  std::optional<Money> payin;
  std::optional<Money> payout;
  std::int64_t origin_campaign_id = 0;
  std::string exit_steps;
  std::string device;
  std::string os;
  std::string lid;  ///< the lid the click was given ("" when not known)
};

/// Fills `seen` from a 302 over HTTP: the ids and lid from the Location (whose lid format and
/// MD5 hash are checked here), the rest from the debug dry run's JSON answer.
inline void observe_redirect(ObservedClick& seen, const std::string& location, std::string_view debug_body,
                             std::string_view hash_secret) {
  namespace json = boost::json;
  seen.url = location;
  const UrlParts url = split_url(location);
  seen.lid = url.params.at("lid");
  EXPECT_TRUE(lid::is_lid(seen.lid)) << seen.lid;
  seen.offer_id = std::stoll(url.params.at("offer_id"));
  seen.campaign_id = std::stoll(url.params.at("campaign_id"));
  seen.affiliate_id = std::stoll(url.params.at("src"));
  const auto hash_at = location.find("&hash=");
  ASSERT_NE(hash_at, std::string::npos) << location;
  EXPECT_EQ(url.params.at("hash"), md5_hex(location.substr(0, hash_at) + "|" + std::string(hash_secret)));
  const json::value debug = json::parse(debug_body);
  ASSERT_TRUE(debug.is_object() && debug.as_object().contains("data")) << debug_body;
  const json::object& data = debug.at("data").as_object();
  seen.redirect_type = std::string(data.at("redirect_type").as_string());
  seen.payin = Money::parse(data.at("payin").as_string());
  seen.payout = Money::parse(data.at("payout").as_string());
  seen.origin_campaign_id = data.at("origin_campaign_id").as_int64();
  seen.exit_steps = std::string(data.at("nested_exit_offer_steps").as_string());
  seen.device = std::string(data.at("device").as_string());
  seen.os = std::string(data.at("os").as_string());
}

inline void expect_case(const boost::json::object& c, const ObservedClick& seen) {
  namespace json = boost::json;
  const json::object& expect = c.at("expect").as_object();
  const std::string name(c.at("name").as_string());
  EXPECT_EQ(seen.status, expect.at("status").to_number<int>()) << name;
  if (const json::value* body = expect.if_contains("body"); body && seen.body) {
    EXPECT_EQ(*seen.body, body->as_string()) << name;
  }
  if (seen.status != 302) return;
  const UrlParts url = split_url(seen.url);
  auto money = [&](const json::value& value, const std::optional<Money>& actual, const char* what) {
    const auto wanted = Money::parse(value.as_string());
    ASSERT_TRUE(wanted && actual) << name << " " << what;
    EXPECT_EQ(*wanted, *actual) << name << " " << what << ": got " << actual->to_string();
  };
  for (const auto& [key_, value] : expect) {
    const std::string_view key = key_;
    if (key == "offer_id") {
      EXPECT_EQ(seen.offer_id, value.to_number<std::int64_t>()) << name;
    } else if (key == "offer_id_in") {
      bool listed = false;
      for (const auto& id : value.as_array()) listed = listed || id.to_number<std::int64_t>() == seen.offer_id;
      EXPECT_TRUE(listed) << name << ": offer " << seen.offer_id;
    } else if (key == "campaign_id") {
      EXPECT_EQ(seen.campaign_id, value.to_number<std::int64_t>()) << name;
    } else if (key == "src") {
      EXPECT_EQ(seen.affiliate_id, value.to_number<std::int64_t>()) << name;
      EXPECT_EQ(url.params.at("src"), std::to_string(value.to_number<std::int64_t>())) << name;
    } else if (key == "lp_host") {
      EXPECT_EQ(url.host, value.as_string()) << name << ": " << seen.url;
    } else if (key == "lp_path") {
      EXPECT_EQ(url.path, value.as_string()) << name;
    } else if (key == "lp_scheme") {
      EXPECT_EQ(url.scheme, value.as_string()) << name;
    } else if (key == "lp_params") {
      for (const auto& [param, wanted_] : value.as_object()) {
        std::string wanted(wanted_.as_string());
        if (wanted == "$lid") wanted = seen.lid;
        auto it = url.params.find(std::string(param));
        ASSERT_NE(it, url.params.end()) << name << ": no " << std::string_view(param) << " in " << seen.url;
        EXPECT_EQ(it->second, wanted) << name << ": " << std::string_view(param);
      }
    } else if (key == "redirect_type") {
      EXPECT_EQ(seen.redirect_type, value.as_string()) << name;
    } else if (key == "payin") {
      money(value, seen.payin, "payin");
    } else if (key == "payout") {
      money(value, seen.payout, "payout");
    } else if (key == "origin_campaign_id") {
      EXPECT_EQ(seen.origin_campaign_id, value.to_number<std::int64_t>()) << name;
    } else if (key == "nested_exit_offer_steps") {
      EXPECT_EQ(seen.exit_steps, value.as_string()) << name;
    } else if (key == "device") {
      EXPECT_EQ(seen.device, value.as_string()) << name;
    } else if (key == "os") {
      EXPECT_EQ(seen.os, value.as_string()) << name;
    }
  }
  // Every redirect carries the tracking parameters and a hash.
  EXPECT_EQ(url.params.at("offer_id"), std::to_string(seen.offer_id)) << name;
  EXPECT_EQ(url.params.at("campaign_id"), std::to_string(seen.campaign_id)) << name;
  EXPECT_EQ(url.params.at("lid"), seen.lid) << name;
  EXPECT_EQ(url.params.at("ap"), "2") << name;
  EXPECT_EQ(url.params.at("hash").size(), 32U) << name;
}

}  // namespace traffic::test
