#pragma once
// The redirect URL: placeholders, tracking parameters, scheme, hash — SPEC.md §8.

#include <cstdint>
#include <string>
#include <string_view>

#include "traffic/recipe/records.hpp"

namespace traffic::url {

/// Values for the landing page's placeholders. Each is URL-encoded (like JavaScript's
/// encodeURIComponent) where it is substituted; an empty value leaves an empty string.
struct Placeholders {
  std::string_view subid;         ///< {subid}
  std::string_view cid;           ///< {cid}
  std::string_view lid;           ///< {lid}
  std::string_view affiliate_id;  ///< {affiliateId}
  std::string_view campaign_id;   ///< {campaignId}
  std::string_view offer_id;      ///< {offerId}
  std::string_view country;       ///< {country}
  std::string_view region;        ///< {region}
  std::string_view city;          ///< {city}
  std::string_view device;        ///< {device}
  std::string_view os;            ///< {os}
  std::string_view browser;       ///< {browser}
  std::string_view isp;           ///< {isp}
  std::string_view payout;        ///< {payout}
};

/// The tracking parameters appended to every landing page, in this order:
/// offer_id, campaign_id, lid, ap (the network id), src (the affiliate id).
struct TrackingParams {
  recipe::RecordId offer_id = 0;
  recipe::RecordId campaign_id = 0;
  std::string_view lid;
  recipe::RecordId affiliate_id = 0;  ///< `src`
};

enum class HashMode : std::uint8_t {
  md5,          ///< hex MD5 of `url + "|" + secret` — what landing pages verify today
  hmac_sha256,  ///< hex HMAC-SHA256(secret, url) — for new integrations
};

struct UrlSettings {
  std::string network_id = "2";  ///< `ap`
  HashMode hash_mode = HashMode::md5;
  std::string hash_secret;  ///< URL_HASH_SECRET; "" = no `hash` parameter
};

/// Builds Location values from landing-page templates.
///
/// Steps (§8): substitute every placeholder occurrence; append the tracking parameters
/// (with `?` or `&` as the URL needs) before any `#fragment`; prefix `http://` when the
/// URL has no scheme; append `&hash=` computed over the URL so far (without the fragment);
/// then percent-encode every byte a URL may not contain (spaces, braces, quotes, non-ASCII,
/// control characters — so CR/LF can never reach a header). Existing `%XX` sequences and
/// reserved characters are kept as written.
///
/// Thread-safety: immutable; `build` may be called concurrently. Cost: ~0.3–1 µs, no
/// allocation once `out` has grown to the URL's size.
class UrlBuilder {
 public:
  explicit UrlBuilder(UrlSettings settings = {});

  /// Writes the URL for `landing_page` into `out` (its previous content is replaced; its
  /// capacity is reused).
  void build(std::string_view landing_page, const Placeholders& values, const TrackingParams& tracking,
             std::string& out) const;
  [[nodiscard]] std::string build(std::string_view landing_page, const Placeholders& values,
                                  const TrackingParams& tracking) const;

  [[nodiscard]] const UrlSettings& settings() const noexcept { return settings_; }

 private:
  UrlSettings settings_;
};

/// Appends `value` to `out` URL-encoded as encodeURIComponent does: A–Z a–z 0–9 - _ . ! ~ * ' ( )
/// are kept, every other byte becomes %XX.
void append_component(std::string& out, std::string_view value);

/// True when `url` starts with a scheme and "://" ("http://", "HTTPS://"): a letter, then
/// letters, digits, + - . as RFC 3986 defines a scheme, in any case. Requiring "://" keeps
/// "host:8080/path" (no scheme, a port) from passing as one.
[[nodiscard]] bool has_scheme(std::string_view url) noexcept;

}  // namespace traffic::url
