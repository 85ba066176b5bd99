#pragma once
// Conversion postbacks (`POST /lid`, SPEC.md §9): parsing, authentication, and the
// conversion record derived from the stored click record. Pure functions; the route in
// handler.cpp puts them together with the lid store and the spool.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/common/time.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::http {

struct Postback {
  std::string lid;
  std::string timestamp_text;  ///< as sent (the MD5 covers this text)
  TimestampMs timestamp = 0;   ///< epoch ms
  std::string hash;            ///< "" when absent (X-Signature authentication)
};

/// `{"lid": "…", "hash": "…", "timestamp": 1700000000000 | "1700000000000"}`. Fails with
/// Errc::invalid_input and a short reason (the 400's text) when the body is not that.
Result<Postback> parse_postback(std::string_view body);

/// Compatible authentication: hash == md5hex("<timestamp>|<secret>") (either case), in
/// constant time. False for an empty secret.
bool md5_hash_matches(const Postback& postback, std::string_view secret);

/// `X-Signature: [sha256=]<hex HMAC-SHA256(key, timestamp + "." + body)>` under any of
/// `keys` (several, for rotation), in constant time.
bool signature_matches(std::string_view signature, const Postback& postback, std::string_view body,
                       const std::vector<std::string>& keys);

/// A record derived from a stored click record, and the click's offer and campaign.
struct DerivedRecord {
  std::string record;  ///< one JSON line with its '\n'
  recipe::RecordId offer_id = 0;
  recipe::RecordId campaign_id = 0;
};

/// The record to emit for a stored click record: the same fields with `event` replaced,
/// `event_type` "conversion" and `click` 0 for conversions, `date_added` = `now` and the
/// click's own time kept as `click_date_added`. Fails with Errc::invalid_input for a record
/// that is not a JSON object with integer `offer_id` and `campaign_id`.
Result<DerivedRecord> derived_record(std::string_view click_record, std::string_view event, TimestampMs now);

/// The comma-separated keys of POSTBACK_HMAC_KEYS.
std::vector<std::string> split_keys(std::string_view list);

}  // namespace traffic::http
