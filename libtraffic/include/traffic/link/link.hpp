#pragma once
// The encoded link parameter `o=` (SPEC.md §3).
//
// v1 (compatible): hex(iv) ":" hex(AES-256-CBC(PKCS#7, "<offerId>|<campaignId>")).
//   Malleable (no MAC); kept because every published link uses it.
// v2 (authenticated): "v2." base64url(kid ‖ nonce[12] ‖ AES-256-GCM(ct) ‖ tag[16]), the
//   kid byte also authenticated as associated data. 'v' is not a hex digit, so no v1 link
//   starts with the prefix. Keys rotate by id: decoders hold every live key, encoders use
//   the active one.

#include <array>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace traffic::link {

/// What a link names.
struct LinkIds {
  std::int64_t offer_id = 0;
  std::int64_t campaign_id = 0;
  friend bool operator==(const LinkIds&, const LinkIds&) = default;
};

/// Every decode failure is this one value, whatever the cause (bad hex, bad padding, bad
/// tag, bad plaintext): callers cannot leak which check failed (no padding oracle).
enum class LinkError { invalid_link = 1 };
const boost::system::error_category& link_error_category() noexcept;
boost::system::error_code make_error_code(LinkError e) noexcept;

using Key = std::array<unsigned char, 32>;

/// The keys of one deployment. Immutable after construction; share freely across threads.
class LinkKeys {
 public:
  /// `v1_key`: ENCRIPTION_KEY as configured, either its raw 32 bytes or 64 hex digits.
  /// `v2_keys`: "kid:hex64[,kid:hex64…]" with kid 0..255; the first is the active key for
  /// encoding. Empty → one v2 key (kid 0) derived from the v1 key with HKDF-SHA256, so a
  /// deployment gets v2 without new configuration.
  /// Throws std::invalid_argument with a message that never contains key material.
  static LinkKeys from_config(std::string_view v1_key, std::string_view v2_keys = {});

  [[nodiscard]] const std::optional<Key>& v1_key() const noexcept { return v1_key_; }
  [[nodiscard]] const Key* v2_key(std::uint8_t kid) const noexcept;
  [[nodiscard]] std::optional<std::uint8_t> v2_active_kid() const noexcept { return v2_active_; }

 private:
  std::optional<Key> v1_key_;
  std::map<std::uint8_t, Key> v2_keys_;
  std::optional<std::uint8_t> v2_active_;
};

/// Decodes either version. `accept_v1 = false` refuses v1 links (config flag for networks
/// that have moved to v2). Cost: ~0.5 µs; no heap allocation for well-formed links.
boost::system::result<LinkIds> decode(std::string_view o, const LinkKeys& keys, bool accept_v1 = true) noexcept;
boost::system::result<LinkIds> decode_v1(std::string_view o, const LinkKeys& keys) noexcept;
boost::system::result<LinkIds> decode_v2(std::string_view o, const LinkKeys& keys) noexcept;

/// Encoders draw the IV/nonce from OpenSSL's CSPRNG unless one is given (tests).
/// Throw std::invalid_argument for non-positive ids or a missing key.
std::string encode_v1(LinkIds ids, const LinkKeys& keys);
std::string encode_v1(LinkIds ids, const LinkKeys& keys, std::span<const unsigned char, 16> iv);
std::string encode_v2(LinkIds ids, const LinkKeys& keys);
std::string encode_v2(LinkIds ids, const LinkKeys& keys, std::span<const unsigned char, 12> nonce);

/// The v1 plaintext grammar, exposed for tests and fuzzing: "<id>|<id>" with canonical
/// positive decimals, or the legacy JSON `{"offerId":N,"campaignId":M}`.
std::optional<LinkIds> parse_plaintext(std::string_view plaintext) noexcept;

}  // namespace traffic::link

template <>
struct boost::system::is_error_code_enum<traffic::link::LinkError> : std::true_type {};
