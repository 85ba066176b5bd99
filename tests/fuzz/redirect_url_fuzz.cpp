// Fuzzes the redirect URL builder: the first line of the input is a landing-page template
// (recipe content), the rest is a query value substituted for {subid} (visitor content).
// Checks: no crash; the output holds only bytes a URL may contain (so never CR, LF, space
// or a quote in a Location header); the tracking parameters are present and precede any
// fragment.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "traffic/url/redirect_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view page = input.substr(0, newline);
  const std::string_view value = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  static const traffic::url::UrlBuilder builder([] {
    traffic::url::UrlSettings settings;
    settings.hash_secret = "fuzz";
    return settings;
  }());
  traffic::url::Placeholders values;
  values.subid = value;
  values.cid = value;
  values.lid = "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10";
  const std::string url = builder.build(page, values, {1, 2, values.lid, 3});

  constexpr std::string_view kAllowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%";
  if (url.find_first_not_of(kAllowed) != std::string::npos) std::abort();
  const auto tracking = url.find("offer_id=1&campaign_id=2&lid=");
  if (tracking == std::string::npos) std::abort();
  const auto fragment = url.find('#');
  if (fragment != std::string::npos && fragment < tracking) std::abort();
  return 0;
}
