#include "traffic/url/redirect_url.hpp"

#include "common/byte_class.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <memory>
#include <utility>

namespace traffic::url {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kLowerHex[] = "0123456789abcdef";

constexpr bool is_alnum(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// encodeURIComponent's unreserved set.
constexpr ByteClass kComponentSafe = make_class([](unsigned char c) {
  return is_alnum(c) || std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos;
});

// What may appear in a URL as written: RFC 3986 unreserved + reserved + '%'.
constexpr ByteClass kUrlSafe = make_class([](unsigned char c) {
  return is_alnum(c) ||
         std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(static_cast<char>(c)) != std::string_view::npos;
});

constexpr bool component_safe(unsigned char c) noexcept {
  return kComponentSafe[c];
}
constexpr bool url_safe(unsigned char c) noexcept {
  return kUrlSafe[c];
}

// How many bytes at the start of `text` may appear in a URL as written. A URL is ~250 bytes
// that are almost always all safe: SSE2 (every x86-64 has it) tests 16 at a time, where the
// byte-by-byte table scan was half of build()'s own time.
std::size_t url_safe_prefix(std::string_view text) noexcept {
  const char* const begin = text.data();
#if defined(__SSE2__)
  const char* const stop = end_of_run(begin, begin + text.size(), kUrlSafe, [](__m128i bytes) {
    auto is = [&](char c) { return _mm_cmpeq_epi8(bytes, _mm_set1_epi8(c)); };
    // A signed compare: space, control characters and every byte from 0x80 on are below '!'.
    // The rest are the printable characters outside RFC 3986's sets (kUrlSafe).
    return _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(bytes, _mm_set1_epi8('!')), is(0x7F)),
                     _mm_or_si128(_mm_or_si128(is('"'), is('<')), _mm_or_si128(is('>'), is('\\')))),
        _mm_or_si128(_mm_or_si128(_mm_or_si128(is('^'), is('`')), _mm_or_si128(is('{'), is('|'))), is('}')));
  });
#else
  const char* const stop = end_of_run(begin, begin + text.size(), kUrlSafe);
#endif
  return static_cast<std::size_t>(stop - begin);
}

void append_percent(std::string& out, unsigned char c) {
  const char escape[3] = {'%', kHex[c >> 4], kHex[c & 15]};
  out.append(escape, 3);
}

void append_number(std::string& out, std::int64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<std::size_t>(result.ptr - digits));
}

// The value of placeholder `name` ("subid" for "{subid}"), or nullptr for an unknown name.
const std::string_view* placeholder(const Placeholders& v, std::string_view name) noexcept {
  // Short list; a linear scan of lengths and bytes beats hashing here.
  const std::pair<std::string_view, const std::string_view*> table[] = {
      {"subid", &v.subid},
      {"cid", &v.cid},
      {"lid", &v.lid},
      {"affiliateId", &v.affiliate_id},
      {"campaignId", &v.campaign_id},
      {"offerId", &v.offer_id},
      {"country", &v.country},
      {"region", &v.region},
      {"city", &v.city},
      {"device", &v.device},
      {"os", &v.os},
      {"browser", &v.browser},
      {"isp", &v.isp},
      {"payout", &v.payout},
  };
  for (const auto& [key, value] : table) {
    if (key == name) return value;
  }
  return nullptr;
}

void substitute(std::string& out, std::string_view page, const Placeholders& values) {
  std::size_t i = 0;
  while (i < page.size()) {
    const std::size_t open = page.find('{', i);
    if (open == std::string_view::npos) {
      out.append(page.substr(i));
      return;
    }
    out.append(page.substr(i, open - i));
    const std::size_t close = page.find('}', open + 1);
    if (close == std::string_view::npos) {
      out.append(page.substr(open));
      return;
    }
    if (const std::string_view* value = placeholder(values, page.substr(open + 1, close - open - 1))) {
      append_component(out, *value);
      i = close + 1;
    } else {
      // Not one of ours (a template for another system, or a stray brace): keep the '{'
      // and look again after it, so "{{lid}" still finds "{lid}".
      out.push_back('{');
      i = open + 1;
    }
  }
}

void append_hash(std::string& out, std::string_view hashed, const UrlSettings& settings) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (settings.hash_mode == HashMode::md5) {
    // md5(url + "|" + secret), fed in pieces so nothing is concatenated. The algorithm is
    // fetched once and the context kept per thread: both allocate in OpenSSL 3.
    static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                       &EVP_MD_CTX_free);
    EVP_MD_CTX* ctx = context.get();
    const bool ok = ctx && md5 && EVP_DigestInit_ex(ctx, md5, nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, hashed.data(), hashed.size()) == 1 && EVP_DigestUpdate(ctx, "|", 1) == 1 &&
                    EVP_DigestUpdate(ctx, settings.hash_secret.data(), settings.hash_secret.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest, &size) == 1;
    if (!ok) size = 0;
  } else if (!HMAC(EVP_sha256(), settings.hash_secret.data(), static_cast<int>(settings.hash_secret.size()),
                   reinterpret_cast<const unsigned char*>(hashed.data()), hashed.size(), digest, &size)) {
    size = 0;
  }
  out.append("&hash=");
  for (unsigned int i = 0; i < size; ++i) {
    const char pair[2] = {kLowerHex[digest[i] >> 4], kLowerHex[digest[i] & 15]};
    out.append(pair, 2);
  }
}

}  // namespace

void append_component(std::string& out, std::string_view value) {
  // Runs of safe bytes are appended at once: a push_back per byte showed in profiles.
  std::size_t i = 0;
  while (i < value.size()) {
    std::size_t run = i;
    while (run < value.size() && component_safe(static_cast<unsigned char>(value[run]))) ++run;
    out.append(value.data() + i, run - i);
    if (run == value.size()) break;
    append_percent(out, static_cast<unsigned char>(value[run]));
    i = run + 1;
  }
}

bool has_scheme(std::string_view url) noexcept {
  if (url.empty() || !((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z'))) return false;
  for (std::size_t i = 1; i < url.size(); ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (c == ':') return url.substr(i).starts_with("://");
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

UrlBuilder::UrlBuilder(UrlSettings settings) : settings_(std::move(settings)) {}

std::string UrlBuilder::build(std::string_view landing_page, const Placeholders& values,
                              const TrackingParams& tracking) const {
  std::string out;
  build(landing_page, values, tracking, out);
  return out;
}

void UrlBuilder::build(std::string_view landing_page, const Placeholders& values, const TrackingParams& tracking,
                       std::string& out) const {
  // Per-thread scratch: the text before percent-encoding, which is what the hash covers.
  thread_local std::string raw;
  raw.clear();
  if (!has_scheme(landing_page)) raw.append("http://");
  substitute(raw, landing_page, values);

  // The fragment (after the first '#') stays last; everything we add goes before it.
  const std::size_t hash_mark = raw.find('#');
  const std::size_t base_end = hash_mark == std::string::npos ? raw.size() : hash_mark;
  std::string_view base(raw.data(), base_end);
  const std::string_view fragment(raw.data() + base_end, raw.size() - base_end);

  out.clear();
  out.append(base);
  const std::size_t query = base.find('?');
  if (query == std::string_view::npos) {
    out.push_back('?');
  } else if (base.back() != '?' && base.back() != '&') {
    out.push_back('&');
  }
  out.append("offer_id=");
  append_number(out, tracking.offer_id);
  out.append("&campaign_id=");
  append_number(out, tracking.campaign_id);
  out.append("&lid=");
  append_component(out, tracking.lid);
  out.append("&ap=");
  append_component(out, settings_.network_id);
  out.append("&src=");
  append_number(out, tracking.affiliate_id);
  if (!settings_.hash_secret.empty()) append_hash(out, out, settings_);
  out.append(fragment);

  // Percent-encode what a URL may not contain, in place when nothing needs it (the usual case).
  const std::size_t first_unsafe = url_safe_prefix(out);
  if (first_unsafe == out.size()) return;
  raw.assign(out, 0, first_unsafe);
  for (std::size_t i = first_unsafe; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (url_safe(c)) {
      raw.push_back(out[i]);
    } else {
      append_percent(raw, c);
    }
  }
  out.swap(raw);
}

}  // namespace traffic::url
