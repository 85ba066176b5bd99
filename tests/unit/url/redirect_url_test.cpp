#include "traffic/url/redirect_url.hpp"

#include <gtest/gtest.h>

#include "digest.hpp"
#include "url_parts.hpp"

namespace traffic::url {
namespace {

const TrackingParams kTracking{100, 10, "LID-1", 7};

UrlBuilder builder(std::string secret = "", HashMode mode = HashMode::md5) {
  UrlSettings settings;
  settings.hash_secret = std::move(secret);
  settings.hash_mode = mode;
  return UrlBuilder(settings);
}

TEST(RedirectUrl, TrackingParametersInOrderWithTheRightSeparator) {
  const UrlBuilder b = builder();
  EXPECT_EQ(b.build("https://lp.example.com/p", {}, kTracking),
            "https://lp.example.com/p?offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7");
  EXPECT_EQ(b.build("https://lp.example.com/p?x=1", {}, kTracking),
            "https://lp.example.com/p?x=1&offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7");
  EXPECT_EQ(b.build("https://lp.example.com/p?", {}, kTracking),
            "https://lp.example.com/p?offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7");
  EXPECT_EQ(b.build("https://lp.example.com/p?x=1&", {}, kTracking),
            "https://lp.example.com/p?x=1&offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7");
}

TEST(RedirectUrl, ParametersGoBeforeTheFragment) {
  const UrlBuilder b = builder("s");
  const std::string url = b.build("https://lp.example.com/p?x=1#section?y=2", {}, kTracking);
  const auto parts = test::split_url(url);
  EXPECT_EQ(parts.fragment, "section?y=2");
  EXPECT_EQ(parts.params.at("lid"), "LID-1");
  EXPECT_EQ(parts.params.at("x"), "1");
  EXPECT_EQ(url.find("&hash="), url.find('#') - 38);  // "&hash=" + 32 hex digits right before the fragment
}

TEST(RedirectUrl, SchemeIsAddedOnlyWhenMissingAndCheckedIgnoringCase) {
  const UrlBuilder b = builder();
  EXPECT_TRUE(b.build("exit.example.com/landing", {}, kTracking).starts_with("http://exit.example.com/landing?"));
  EXPECT_TRUE(b.build("HTTPS://X.example.com/", {}, kTracking).starts_with("HTTPS://X.example.com/?"));
  EXPECT_TRUE(b.build("Http://x.example.com/", {}, kTracking).starts_with("Http://x.example.com/?"));
  EXPECT_TRUE(b.build("host.example.com:8080/p", {}, kTracking).starts_with("http://host.example.com:8080/p?"));
  EXPECT_TRUE(has_scheme("https://a"));
  EXPECT_TRUE(has_scheme("svn+ssh://a"));
  EXPECT_FALSE(has_scheme("localhost:8080/x"));
  EXPECT_FALSE(has_scheme("//a.example.com"));
  EXPECT_FALSE(has_scheme(""));
  EXPECT_FALSE(has_scheme("1http://a"));
}

TEST(RedirectUrl, EveryPlaceholderOccurrenceIsReplacedAndEncoded) {
  Placeholders values;
  values.subid = "a b&c=d/é";
  values.lid = "LID-1";
  values.country = "US";
  values.payout = "1.5";
  const std::string url = builder().build(
      "https://lp.example.com/?s={subid}&l={lid}&l2={lid}&c={cid}&g={country}&p={payout}&u={unknown}&{subid}", values,
      kTracking);
  const auto parts = test::split_url(url);
  EXPECT_EQ(parts.params.at("s"), "a b&c=d/é");
  EXPECT_EQ(parts.params.at("l"), "LID-1");
  EXPECT_EQ(parts.params.at("l2"), "LID-1");
  EXPECT_EQ(parts.params.at("c"), "");  // absent value: empty, not the literal placeholder
  EXPECT_EQ(parts.params.at("g"), "US");
  EXPECT_EQ(parts.params.at("p"), "1.5");
  EXPECT_NE(url.find("s=a%20b%26c%3Dd%2F%C3%A9&"), std::string::npos) << url;
  // An unknown placeholder is not ours to touch; its braces get percent-encoded for Location.
  EXPECT_NE(url.find("u=%7Bunknown%7D"), std::string::npos) << url;
}

TEST(RedirectUrl, ComponentEncodingMatchesEncodeUriComponent) {
  std::string out;
  append_component(out, "AZaz09-_.!~*'() \"#$%&+,/:;<=>?@[\\]^`{|}\r\n");
  EXPECT_EQ(out, "AZaz09-_.!~*'()%20%22%23%24%25%26%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%0D%0A");
}

TEST(RedirectUrl, CrLfAndOtherUnsafeBytesNeverReachTheOutput) {
  const std::string url =
      builder("s").build("https://lp.example.com/a b\r\nSet-Cookie: x{y}\"<>\x01\x7f\xff", {}, kTracking);
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte > 0x20 && byte < 0x7f) << "byte " << int{byte} << " in " << url;
    EXPECT_EQ(std::string_view("\"<>{}\\^`| ").find(c), std::string_view::npos) << c << " in " << url;
  }
  EXPECT_NE(url.find("a%20b%0D%0ASet-Cookie:%20x%7By%7D%22%3C%3E%01%7F%FF?"), std::string::npos) << url;
}

// Every byte value at every position around the 16-byte blocks the scan for unsafe bytes
// reads: kept exactly when RFC 3986 allows it in a URL, else percent-encoded, and the bytes
// around it untouched. (The first 23 bytes, "https://lp.example.com/", are the prefix.)
TEST(RedirectUrl, EachUnsafeByteIsFoundWhereverItIs) {
  constexpr std::string_view kAllowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%";
  const UrlBuilder urls = builder();
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned byte = 0; byte < 256; ++byte) {
    // '{' opens a placeholder and '#' a fragment: both have their own tests.
    if (byte == '{' || byte == '#' || byte == '?' || byte == '&') continue;
    const char c = static_cast<char>(byte);
    const bool allowed = kAllowed.find(c) != std::string_view::npos;
    for (std::size_t at = 0; at < 40; ++at) {
      std::string path(40, 'p');
      path[at] = c;
      const std::string url = urls.build("https://lp.example.com/" + path, {}, kTracking);
      std::string expected = "https://lp.example.com/" + path.substr(0, at);
      expected += allowed ? std::string(1, c) : std::string{'%', kHex[byte >> 4], kHex[byte & 15]};
      expected += path.substr(at + 1) + "?offer_id=";
      ASSERT_TRUE(url.starts_with(expected)) << "byte " << byte << " at " << at << ": " << url;
    }
  }
}

TEST(RedirectUrl, ExistingPercentEscapesAndReservedCharactersAreKept) {
  const std::string url = builder().build("https://lp.example.com/a%20b?q=[1]&r=$,;:@!*'()+", {}, kTracking);
  EXPECT_TRUE(url.starts_with("https://lp.example.com/a%20b?q=[1]&r=$,;:@!*'()+&offer_id=")) << url;
}

TEST(RedirectUrl, Md5HashCoversTheUrlBeforePercentEncodingAndWithoutTheFragment) {
  const std::string url = builder("urlsecret").build("lp.example.com/p x?a={subid}#frag", {}, kTracking);
  const std::string hashed = "http://lp.example.com/p x?a=&offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7";
  EXPECT_EQ(url, "http://lp.example.com/p%20x?a=&offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7&hash=" +
                     test::md5_hex(hashed + "|urlsecret") + "#frag");
}

TEST(RedirectUrl, HmacSha256Option) {
  const std::string url = builder("k", HashMode::hmac_sha256).build("https://lp.example.com/", {}, kTracking);
  const std::string hashed = "https://lp.example.com/?offer_id=100&campaign_id=10&lid=LID-1&ap=2&src=7";
  EXPECT_EQ(url, hashed + "&hash=" + test::hmac_sha256_hex("k", hashed));
}

TEST(RedirectUrl, NoSecretNoHash) {
  EXPECT_EQ(builder().build("https://lp.example.com/", {}, kTracking).find("hash="), std::string::npos);
}

TEST(RedirectUrl, NetworkIdIsConfigurable) {
  UrlSettings settings;
  settings.network_id = "17";
  EXPECT_NE(UrlBuilder(settings).build("https://a.example.com/", {}, kTracking).find("&ap=17&"), std::string::npos);
}

TEST(RedirectUrl, OutputBufferIsReplacedNotAppended) {
  std::string out = "previous content";
  builder().build("https://a.example.com/", {}, kTracking, out);
  EXPECT_TRUE(out.starts_with("https://a.example.com/?offer_id=100"));
}

TEST(RedirectUrl, StrayBracesAreHandled) {
  Placeholders values;
  values.lid = "L";
  const std::string url = builder().build("https://a.example.com/?a={{lid}&b={lid&c=}", values, kTracking);
  EXPECT_NE(url.find("a=%7BL&b=%7Blid&c=%7D&offer_id"), std::string::npos) << url;
}

}  // namespace
}  // namespace traffic::url
