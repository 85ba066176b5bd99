// Fuzzes the postback body parser, both authentications and the derived-record editor
// (fed the input as a stored record and as a sink URL list too). Checks: no crash; a
// derived record of a JSON object is a JSON object again with the new event.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "traffic/common/redact.hpp"
#include "traffic/http/postback.hpp"
#include "traffic/pipeline/sink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (const auto postback = traffic::http::parse_postback(input)) {
    (void)traffic::http::md5_hash_matches(*postback, "secret");
    (void)traffic::http::signature_matches(postback->hash, *postback, input, {"k1", "k2"});
  } else if (postback.error().detail.empty()) {
    std::abort();  // a refusal always says why
  }
  if (const auto derived = traffic::http::derived_record(input, "traffic-bonus", 42)) {
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(derived->record, ec);
    const boost::json::value* event = value.is_object() ? value.as_object().if_contains("event") : nullptr;
    if (ec || event == nullptr || !event->is_string() || event->as_string() != "traffic-bonus") std::abort();
  } else if (derived.error().detail.empty()) {
    std::abort();
  }
  if (const auto sinks = traffic::pipeline::parse_sink_urls({std::string(input)});
      !sinks && sinks.error().detail.empty()) {
    std::abort();
  }
  (void)traffic::redact_credentials(input);
  return 0;
}
