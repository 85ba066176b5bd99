#include "traffic/http/postback.hpp"

#include "traffic/common/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <charconv>
#include <stdexcept>
#include <tuple>

namespace traffic::http {
namespace json = boost::json;
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<Postback> parse_postback(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return fail(Errc::invalid_input, "the body must be a JSON object");
  }
  const json::object& object = value.as_object();
  Postback postback;
  const json::value* lid = object.if_contains("lid");
  if (lid == nullptr || !lid->is_string() || lid->as_string().empty() || lid->as_string().size() > 128) {
    return fail(Errc::invalid_input, "lid must be a non-empty string");
  }
  postback.lid = std::string(lid->as_string());
  const json::value* timestamp = object.if_contains("timestamp");
  if (timestamp != nullptr && timestamp->is_int64()) {
    postback.timestamp = timestamp->as_int64();
    postback.timestamp_text = std::to_string(postback.timestamp);
  } else if (timestamp != nullptr && timestamp->is_uint64()) {
    return fail(Errc::invalid_input, "timestamp is out of range");
  } else if (timestamp != nullptr && timestamp->is_string()) {
    postback.timestamp_text = std::string(timestamp->as_string());
    const char* end = postback.timestamp_text.data() + postback.timestamp_text.size();
    const auto [ptr, err] = std::from_chars(postback.timestamp_text.data(), end, postback.timestamp);
    if (err != std::errc() || ptr != end || postback.timestamp_text.empty()) {
      return fail(Errc::invalid_input, "timestamp must be epoch milliseconds");
    }
  } else {
    return fail(Errc::invalid_input, "timestamp (epoch milliseconds) is required");
  }
  if (const json::value* hash = object.if_contains("hash")) {
    if (!hash->is_string()) {
      return fail(Errc::invalid_input, "hash must be a string");
    }
    postback.hash = std::string(hash->as_string());
  }
  return postback;
}

bool md5_hash_matches(const Postback& postback, std::string_view secret) {
  if (secret.empty() || postback.hash.empty()) return false;
  const std::string expected = md5_hex(postback.timestamp_text + "|" + std::string(secret));
  return !expected.empty() && equal_in_constant_time(lower(postback.hash), expected);
}

bool signature_matches(std::string_view signature, const Postback& postback, std::string_view body,
                       const std::vector<std::string>& keys) {
  if (signature.starts_with("sha256=")) signature.remove_prefix(7);
  const std::string given = lower(signature);
  const std::string message = postback.timestamp_text + "." + std::string(body);
  bool matched = false;
  for (const std::string& key : keys) {  // every key is tried: the time does not tell which matched
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
         message.size(), digest, &size);
    matched |= equal_in_constant_time(given, to_hex(digest, size));
  }
  return matched && !keys.empty();
}

namespace {

// Where a top-level member's value lies in the text of a valid JSON object: [begin, end).
// Scans strings (with escapes) and nesting, so a look-alike inside a string or a nested
// object is never taken. {npos, npos} when the key is absent.
std::pair<std::size_t, std::size_t> find_member(const std::string& text, std::string_view key, std::size_t from = 0) {
  constexpr auto kNone = std::pair{std::string::npos, std::string::npos};
  const std::size_t n = text.size();
  auto skip_space = [&](std::size_t i) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    return i;
  };
  auto string_end = [&](std::size_t i) {  // i at the opening quote; returns past the closing one
    for (++i; i < n && text[i] != '"'; ++i) {
      if (text[i] == '\\') ++i;
    }
    return i + 1;
  };
  auto value_end = [&](std::size_t i) {
    int depth = 0;
    for (; i < n; ++i) {
      const char c = text[i];
      if (c == '"') {
        i = string_end(i) - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' || text[i - 1] == '\r')) --i;
    return i;
  };
  std::size_t i = skip_space(0);
  if (i >= n || text[i] != '{') return kNone;
  for (i = skip_space(i + 1); i < n && text[i] == '"';) {
    const std::size_t name_end = string_end(i);
    const std::string_view name(text.data() + i + 1, name_end - i - 2);
    i = skip_space(name_end);  // at ':'
    const std::size_t begin = skip_space(i + 1);
    const std::size_t end = value_end(begin);
    if (name == key && begin >= from) return {begin, end};
    i = skip_space(end);
    if (i < n && text[i] == ',') i = skip_space(i + 1);
  }
  return kNone;
}

// Sets a top-level member of a JSON object line in its text: a parse and re-serialisation
// would print money through binary floating point (boost::json writes 0.8 as "8E-1"), and
// records must keep exact decimals.
// Every occurrence is set: a duplicated key must not keep an old value a reader may pick.
void set_field(std::string& line, std::string_view key, std::string_view value_json) {
  bool found = false;
  for (auto [begin, end] = find_member(line, key); begin != std::string::npos;
       std::tie(begin, end) = find_member(line, key, begin + value_json.size())) {
    line.replace(begin, end - begin, value_json);
    found = true;
  }
  if (found) return;
  const auto close = line.rfind('}');
  const auto last = line.find_last_not_of(" \t\r\n", close - 1);
  const bool empty = line[last] == '{';
  line.insert(close, std::string(empty ? "" : ",") + "\"" + std::string(key) + "\":" + std::string(value_json));
}

}  // namespace

Result<DerivedRecord> derived_record(std::string_view click_record, std::string_view event, TimestampMs now) {
  boost::system::error_code ec;
  const json::value value = json::parse(click_record, ec);
  if (ec || !value.is_object()) return fail(Errc::invalid_input, "stored click record is not a JSON object");
  const json::object& click = value.as_object();
  DerivedRecord derived;
  const json::value* offer = click.if_contains("offer_id");
  const json::value* campaign = click.if_contains("campaign_id");
  if (offer == nullptr || !offer->is_int64() || campaign == nullptr || !campaign->is_int64()) {
    return fail(Errc::invalid_input, "stored click record has no integer offer_id and campaign_id");
  }
  derived.offer_id = static_cast<recipe::RecordId>(offer->as_int64());
  derived.campaign_id = static_cast<recipe::RecordId>(campaign->as_int64());
  std::string line(click_record);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  set_field(line, "event", json::serialize(json::value(event)));
  if (event == "traffic-bonus") {
    set_field(line, "event_type", "\"conversion\"");
    set_field(line, "click", "0");
  }
  // The record's own time is when it happened (a conversion, a resend); the click's stays
  // beside it for attribution.
  if (const json::value* clicked = click.if_contains("date_added"); clicked && clicked->is_int64()) {
    set_field(line, "click_date_added", std::to_string(clicked->as_int64()));
  }
  set_field(line, "date_added", std::to_string(now));
  derived.record = std::move(line.append("\n"));
  return derived;
}

std::vector<std::string> split_keys(std::string_view list) {
  std::vector<std::string> keys;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view key = list.substr(0, comma);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (!key.empty()) keys.emplace_back(key);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return keys;
}

}  // namespace traffic::http
