// Fuzzes the link decoder: any bytes as the o= value must give ids or the one error, and a
// v2 link that decodes must re-encode to ids that decode identically.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "traffic/link/link.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const traffic::link::LinkKeys keys = traffic::link::LinkKeys::from_config("0123456789abcdef0123456789abcdef");
  const std::string_view o(reinterpret_cast<const char*>(data), size);
  auto ids = traffic::link::decode(o, keys);
  if (ids) {
    if (ids->offer_id <= 0 || ids->campaign_id <= 0) std::abort();
    auto again = traffic::link::decode(traffic::link::encode_v2(*ids, keys), keys);
    if (!again || !(*again == *ids)) std::abort();
  } else if (ids.error() != traffic::link::make_error_code(traffic::link::LinkError::invalid_link)) {
    std::abort();
  }
  (void)traffic::link::parse_plaintext(o);
  return 0;
}
