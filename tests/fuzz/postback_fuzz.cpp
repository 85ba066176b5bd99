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
  std::string error;
  if (const auto postback = traffic::http::parse_postback(input, error)) {
    (void)traffic::http::md5_hash_matches(*postback, "secret");
    (void)traffic::http::signature_matches(postback->hash, *postback, input, {"k1", "k2"});
  } else if (error.empty()) {
    std::abort();  // a refusal always says why
  }
  try {
    const std::string derived = traffic::http::derived_record(input, "traffic-bonus", 42);
    const boost::json::value value = boost::json::parse(derived);
    if (!value.is_object() || value.as_object().at("event").as_string() != "traffic-bonus") std::abort();
  } catch (const std::invalid_argument&) {
    // not a JSON object: refused
  }
  (void)traffic::pipeline::parse_sink_urls({std::string(input)}, error);
  (void)traffic::redact_credentials(input);
  return 0;
}
