#include "traffic/link/link.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "test_support.hpp"

namespace traffic::link {
namespace {

namespace json = boost::json;

const std::string kKey = "0123456789abcdef0123456789abcdef";  // cases.json's key, 32 raw bytes

LinkKeys sample_keys() {
  return LinkKeys::from_config(kKey);
}

TEST(LinkV1, EveryLinkCaseOfTheSampleRecipe) {
  const json::value cases = json::parse(test::read_data("recipes/cases.json"));
  const LinkKeys keys = LinkKeys::from_config(std::string(cases.at("encryption_key").as_string()));
  // The cases whose link itself is broken; every other case carries a decodable link.
  const std::set<std::string> broken = {
      "tampered ciphertext (bad padding)", "truncated ciphertext", "short IV", "not hex", "missing separator",
      "plaintext not two integers"};
  std::size_t checked = 0;
  for (const auto& c : cases.at("cases").as_array()) {
    const std::string name(c.at("name").as_string());
    const std::string o(c.at("o").as_string());
    auto ids = decode(o, keys);
    if (broken.contains(name)) {
      ASSERT_FALSE(ids.has_value()) << name;
      EXPECT_EQ(ids.error(), make_error_code(LinkError::invalid_link)) << name;
    } else {
      ASSERT_TRUE(ids.has_value()) << name;
      EXPECT_GT(ids->offer_id, 0) << name;
    }
    ++checked;
  }
  EXPECT_GE(checked, 50u);
}

TEST(LinkV1, KnownLinksDecodeToTheirIds) {
  const LinkKeys keys = sample_keys();
  const json::value cases = json::parse(test::read_data("recipes/cases.json"));
  auto link_of = [&](std::string_view name) {
    for (const auto& c : cases.at("cases").as_array()) {
      if (c.at("name").as_string() == name) return std::string(c.at("o").as_string());
    }
    throw std::runtime_error("no such case");
  };
  EXPECT_EQ(decode_v1(link_of("default rule, campaign payout overrides"), keys).value(), (LinkIds{100, 10}));
  EXPECT_EQ(decode_v1(link_of("legacy JSON plaintext is accepted"), keys).value(), (LinkIds{100, 10}));
  EXPECT_EQ(decode_v1(link_of("upper-case hex is accepted"), keys).value(), (LinkIds{100, 10}));
  EXPECT_EQ(decode_v1(link_of("unknown offer id"), keys).value(), (LinkIds{777777, 10}));
}

TEST(LinkV1, RoundTripWithAFixedIv) {
  const LinkKeys keys = sample_keys();
  const std::array<unsigned char, 16> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const std::string o = encode_v1({36303, 1000976}, keys, iv);
  EXPECT_EQ(o.substr(0, 33), "0102030405060708090a0b0c0d0e0f10:");
  EXPECT_EQ(decode_v1(o, keys).value(), (LinkIds{36303, 1000976}));
  // The same with a 64-hex-digit key holding the same bytes.
  std::string hex_key;
  for (const char c : kKey) {
    const auto ch = static_cast<unsigned char>(c);
    static constexpr char kDigits[] = "0123456789abcdef";
    hex_key += kDigits[ch >> 4];
    hex_key += kDigits[ch & 15];
  }
  EXPECT_EQ(decode_v1(o, LinkKeys::from_config(hex_key)).value(), (LinkIds{36303, 1000976}));
}

// Ids of 1 to 19 digits give plaintexts of every length modulo the AES block, so every
// PKCS#7 padding length (1 to 16, a whole block included) is decrypted and checked.
TEST(LinkV1, EveryPaddingLengthRoundTrips) {
  const LinkKeys keys = sample_keys();
  std::set<std::size_t> ciphertext_sizes;
  std::int64_t offer = 1;
  for (int offer_digits = 1; offer_digits <= 18; ++offer_digits, offer = offer * 10 + 7) {
    std::int64_t campaign = 3;
    for (int campaign_digits = 1; campaign_digits <= 18; ++campaign_digits, campaign = campaign * 10 + 1) {
      const std::string o = encode_v1({offer, campaign}, keys);
      ciphertext_sizes.insert((o.size() - 33) / 2);
      ASSERT_EQ(decode_v1(o, keys).value(), (LinkIds{offer, campaign})) << o;
    }
  }
  EXPECT_GE(ciphertext_sizes.size(), 2U);  // more than one block count was seen
}

// CBC lets a changed IV change the first block's plaintext at will. Changing one padding
// byte but the last leaves the ids intact and the last byte valid: only the check of every
// padding byte refuses the link.
TEST(LinkV1, APaddingByteOtherThanTheLastIsChecked) {
  const LinkKeys keys = sample_keys();
  const std::array<unsigned char, 16> iv{};
  std::string o = encode_v1({1, 3}, keys, iv);
  ASSERT_EQ(o.size(), 33U + 32U) << "one block expected";
  ASSERT_TRUE(decode_v1(o, keys).has_value());
  o[2 * 14 + 1] = '1';  // IV byte 14: 0x00 -> 0x01, so plaintext byte 14 is no longer the pad value
  EXPECT_FALSE(decode_v1(o, keys).has_value());
}

TEST(LinkV1, MalformedLinksAllGiveTheSameError) {
  const LinkKeys keys = sample_keys();
  const std::string good = encode_v1({100, 10}, keys);
  std::vector<std::string> bad = {"",
                                  ":",
                                  good.substr(0, 32),
                                  good.substr(0, 33),
                                  good + "00",
                                  good + "0",
                                  good.substr(0, good.size() - 32),
                                  " " + good,
                                  good + " ",
                                  std::string(32, 'g') + good.substr(32),
                                  good.substr(0, 32) + "|" + good.substr(33),
                                  good.substr(0, 32) + ":" + std::string(2000, 'a'),
                                  "v2." + good,
                                  "v1." + good};
  for (const auto& o : bad) {
    auto ids = decode(o, keys);
    ASSERT_FALSE(ids.has_value()) << o;
    EXPECT_EQ(ids.error(), make_error_code(LinkError::invalid_link));
    EXPECT_EQ(ids.error().message(), "invalid link");
  }
  // A different key never yields the original ids.
  auto other = decode(good, LinkKeys::from_config("fedcba9876543210fedcba9876543210"));
  EXPECT_TRUE(!other.has_value() || !(*other == LinkIds{100, 10}));
}

// The per-thread cipher context keeps its key between links: interleaved keys, and a
// failed link between good ones, must leave nothing behind.
TEST(LinkV1, InterleavedKeysAndFailuresShareNoState) {
  const LinkKeys first = sample_keys();
  const LinkKeys second = LinkKeys::from_config("fedcba9876543210fedcba9876543210");
  const std::string a = encode_v1({100, 10}, first);
  const std::string b = encode_v1({200, 20}, second);
  std::string tampered = a;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(decode(a, first).value(), (LinkIds{100, 10}));
    EXPECT_EQ(decode(b, second).value(), (LinkIds{200, 20}));
    EXPECT_FALSE(decode(tampered, first).has_value());
    EXPECT_EQ(decode(a, first).value(), (LinkIds{100, 10}));
    EXPECT_FALSE(decode(b, first).has_value() && decode(b, first).value() == (LinkIds{200, 20}));
    EXPECT_EQ(decode(encode_v2({300, 30}, second), second).value(), (LinkIds{300, 30}));
  }
}

TEST(LinkV1, RefusedWhenV1IsTurnedOff) {
  const LinkKeys keys = sample_keys();
  EXPECT_FALSE(decode(encode_v1({1, 2}, keys), keys, /*accept_v1=*/false).has_value());
  EXPECT_TRUE(decode(encode_v2({1, 2}, keys), keys, false).has_value());
}

TEST(Plaintext, StrictGrammar) {
  EXPECT_EQ(parse_plaintext("100|10"), (LinkIds{100, 10}));
  EXPECT_EQ(parse_plaintext(R"({"offerId":100,"campaignId":10})"), (LinkIds{100, 10}));
  EXPECT_EQ(parse_plaintext(R"({"campaignId":"10","offerId":"100"})"), (LinkIds{100, 10}));
  for (const char* bad : {"",
                          "|",
                          "100|",
                          "|10",
                          "100",
                          "100|10|5",
                          "+100|10",
                          "-100|10",
                          "100| 10",
                          " 100|10",
                          "0x64|10",
                          "1e2|10",
                          "0|10",
                          "100|0",
                          "0100|10",
                          "100|10 ",
                          "1000000000000000000|1",
                          R"({"offerId":100})",
                          R"({"offerId":-1,"campaignId":10})",
                          R"({"offerId":1.5,"campaignId":10})",
                          R"({"offerId":100,"campaignId":10)",
                          R"([100,10])",
                          R"({"offerId":"0x10","campaignId":10})"}) {
    EXPECT_FALSE(parse_plaintext(bad).has_value()) << bad;
  }
}

TEST(LinkV2, RoundTripsAndIsNotV1) {
  const LinkKeys keys = sample_keys();
  const std::string o = encode_v2({100, 10}, keys);
  EXPECT_TRUE(o.starts_with("v2."));
  EXPECT_EQ(o.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
            std::string::npos);
  EXPECT_EQ(decode(o, keys).value(), (LinkIds{100, 10}));
  EXPECT_FALSE(decode_v1(o, keys).has_value());
  // Fresh nonce every time: two encodings of the same ids differ.
  EXPECT_NE(encode_v2({100, 10}, keys), o);
}

TEST(LinkV2, AnyAlterationIsDetected) {
  const LinkKeys keys = sample_keys();
  const std::array<unsigned char, 12> nonce{};
  const std::string o = encode_v2({100, 10}, keys, nonce);
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t accepted = 0;
  for (std::size_t i = 3; i < o.size(); ++i) {
    for (char replacement : kAlphabet) {
      if (replacement == o[i]) continue;
      std::string altered = o;
      altered[i] = replacement;
      if (decode(altered, keys).has_value()) ++accepted;
    }
  }
  EXPECT_EQ(accepted, 0u);
  EXPECT_FALSE(decode(o.substr(0, o.size() - 1), keys).has_value());
  EXPECT_FALSE(decode(o + "A", keys).has_value());
  EXPECT_FALSE(decode("v2.", keys).has_value());
  EXPECT_FALSE(decode("v2.!!!!", keys).has_value());
}

TEST(LinkV2, KeyRotationByKeyId) {
  const std::string key_a(64, 'a');
  const std::string key_b(64, 'b');
  const LinkKeys old_keys = LinkKeys::from_config(kKey, "1:" + key_a);
  const LinkKeys rotated = LinkKeys::from_config(kKey, "2:" + key_b + ",1:" + key_a);
  const LinkKeys retired = LinkKeys::from_config(kKey, "2:" + key_b);
  const std::string old_link = encode_v2({5, 6}, old_keys);
  const std::string new_link = encode_v2({5, 6}, rotated);
  EXPECT_EQ(decode(old_link, rotated).value(), (LinkIds{5, 6}));
  EXPECT_EQ(decode(new_link, rotated).value(), (LinkIds{5, 6}));
  EXPECT_EQ(decode(new_link, retired).value(), (LinkIds{5, 6}));
  EXPECT_FALSE(decode(old_link, retired).has_value());
  EXPECT_FALSE(decode(new_link, old_keys).has_value());
}

TEST(LinkV2, DerivedKeyWhenNoneConfigured) {
  const LinkKeys a = LinkKeys::from_config(kKey);
  const LinkKeys b = LinkKeys::from_config(kKey);
  ASSERT_EQ(a.v2_active_kid(), 0);
  EXPECT_EQ(*a.v2_key(0), *b.v2_key(0));
  EXPECT_NE(*a.v2_key(0), *a.v1_key());  // derived, not the v1 key reused
  EXPECT_EQ(decode(encode_v2({1, 2}, a), b).value(), (LinkIds{1, 2}));
}

TEST(LinkKeys, ConfigErrorsNameTheVariableNotTheSecret) {
  const std::string short_key = "0123456789abcdef0123456789abcde";  // 31 bytes
  try {
    (void)LinkKeys::from_config(short_key);
    FAIL() << "a 31-byte key must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ENCRIPTION_KEY"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find(short_key), std::string::npos);
  }
  EXPECT_THROW((void)LinkKeys::from_config(kKey, "x:" + std::string(64, 'a')), std::invalid_argument);
  EXPECT_THROW((void)LinkKeys::from_config(kKey, "256:" + std::string(64, 'a')), std::invalid_argument);
  EXPECT_THROW((void)LinkKeys::from_config(kKey, "1:" + std::string(63, 'a')), std::invalid_argument);
  EXPECT_THROW((void)LinkKeys::from_config(kKey, "1:" + std::string(64, 'a') + ",1:" + std::string(64, 'b')),
               std::invalid_argument);
  EXPECT_THROW((void)encode_v1({0, 1}, sample_keys()), std::invalid_argument);
  EXPECT_THROW((void)encode_v1({1, 1}, LinkKeys::from_config("", "1:" + std::string(64, 'a'))), std::invalid_argument);
}

}  // namespace
}  // namespace traffic::link
