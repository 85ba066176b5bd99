// Postback parsing and authentication, table-tested with hostile bodies.

#include "traffic/http/postback.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "digest.hpp"

namespace traffic::http {
namespace {

TEST(Postback, ParsesTheOldBodyWithANumberOrAStringTimestamp) {
  auto p = parse_postback(R"({"lid":"abc","hash":"ABCDEF","timestamp":1700000000123})");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->lid, "abc");
  EXPECT_EQ(p->timestamp, 1700000000123);
  EXPECT_EQ(p->timestamp_text, "1700000000123");
  EXPECT_EQ(p->hash, "ABCDEF");
  p = parse_postback(R"({"lid":"abc","timestamp":"1700000000123"})");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->timestamp, 1700000000123);
  EXPECT_TRUE(p->hash.empty());
}

TEST(Postback, HostileBodiesGetAReasonNotACrash) {
  const std::string long_lid(200, 'x');
  for (const std::string& body : std::vector<std::string>{
           "", "null", "[]", "{", "\"lid\"", R"({"timestamp":1})", R"({"lid":1,"timestamp":1})",
           R"({"lid":"","timestamp":1})", R"({"lid":"a"})", R"({"lid":"a","timestamp":1.5})",
           R"({"lid":"a","timestamp":"12x"})", R"({"lid":"a","timestamp":""})",
           R"({"lid":"a","timestamp":18446744073709551615})", R"({"lid":"a","timestamp":1,"hash":5})",
           R"({"lid":")" + long_lid + R"(","timestamp":1})", std::string("{\"lid\":\"a\0\",\"timestamp\":1}", 24)}) {
    const Result<Postback> refused = parse_postback(body);
    ASSERT_FALSE(refused) << body;
    EXPECT_TRUE(refused.error().is(Errc::invalid_input)) << body;
    EXPECT_FALSE(refused.error().detail.empty()) << body;
  }
}

TEST(Postback, Md5HashOfTimestampAndSecretInEitherCase) {
  const std::string hash = test::md5_hex("1700000000123|gateway-secret");
  std::string upper = hash;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& given : {hash, upper}) {
    const auto p = parse_postback(R"({"lid":"l","hash":")" + given + R"(","timestamp":1700000000123})");
    ASSERT_TRUE(p);
    EXPECT_TRUE(md5_hash_matches(*p, "gateway-secret"));
    EXPECT_FALSE(md5_hash_matches(*p, "other-secret"));
    EXPECT_FALSE(md5_hash_matches(*p, ""));  // no secret configured: nothing authenticates
  }
  const auto p = parse_postback(R"({"lid":"l","hash":")" + hash + R"(","timestamp":1700000000124})");
  EXPECT_FALSE(md5_hash_matches(*p, "gateway-secret"));
}

TEST(Postback, HmacSignatureUnderAnyOfSeveralKeys) {
  const std::string body = R"({"lid":"l","timestamp":1700000000123})";
  const auto p = parse_postback(body);
  ASSERT_TRUE(p);
  const std::string signature = test::hmac_sha256_hex("new-key", "1700000000123." + body);
  const std::vector<std::string> keys = split_keys(" old-key , new-key,");
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_TRUE(signature_matches(signature, *p, body, keys));
  EXPECT_TRUE(signature_matches("sha256=" + signature, *p, body, keys));
  EXPECT_FALSE(signature_matches(signature, *p, body, {"old-key"}));
  EXPECT_FALSE(signature_matches(signature, *p, body + " ", keys));  // the body is signed
  EXPECT_FALSE(signature_matches(signature, *p, body, {}));
  EXPECT_FALSE(signature_matches("", *p, body, keys));
}

// A derived record is dated when it happened (a conversion, a resend: it was the click's
// date before, so a resend landed on the click's day), with the click's time beside it.
TEST(Postback, DerivedRecordsChangeOnlyTheEventFields) {
  const std::string click =
      R"({"lid":"l","offer_id":100,"campaign_id":7,"click":1,"ua":"x\",\"click\":7","event_type":"click","event":"traffic-api",)"
      R"("date_added":5,"payout":0.8})";
  const auto conversion = boost::json::parse(derived_record(click, "traffic-bonus", 99)->record).as_object();
  EXPECT_EQ(conversion.at("event").as_string(), "traffic-bonus");
  EXPECT_EQ(conversion.at("event_type").as_string(), "conversion");
  EXPECT_EQ(conversion.at("click").as_int64(), 0);
  EXPECT_EQ(conversion.at("date_added").as_int64(), 99);
  EXPECT_EQ(conversion.at("click_date_added").as_int64(), 5);
  EXPECT_EQ(conversion.at("offer_id").as_int64(), 100);
  const Result<DerivedRecord> derived = derived_record(click, "traffic-bonus", 99);
  ASSERT_TRUE(derived) << derived.error();
  EXPECT_EQ(derived->offer_id, 100);
  EXPECT_EQ(derived->campaign_id, 7);
  const std::string& text = derived->record;
  EXPECT_NE(text.find(R"("payout":0.8)"), std::string::npos) << text;  // money stays exact text
  const std::string resent = derived_record(click, "traffic-manually", 120)->record;
  EXPECT_EQ(resent.back(), '\n');
  const auto again = boost::json::parse(resent).as_object();
  EXPECT_EQ(again.at("event").as_string(), "traffic-manually");
  EXPECT_EQ(again.at("click").as_int64(), 1);
  EXPECT_EQ(again.at("date_added").as_int64(), 120);  // when it was resent
  EXPECT_EQ(again.at("click_date_added").as_int64(), 5);
  EXPECT_EQ(again.at("ua").as_string(), "x\",\"click\":7");  // a look-alike inside a string is left alone
  for (const std::string_view unreadable :
       {"not json", "[1]", R"({"offer_id":1})", R"({"offer_id":"1","campaign_id":2})"}) {
    const Result<DerivedRecord> refused = derived_record(unreadable, "traffic-bonus", 1);
    ASSERT_FALSE(refused) << unreadable;
    EXPECT_TRUE(refused.error().is(Errc::invalid_input)) << unreadable;
  }
}

}  // namespace
}  // namespace traffic::http
