// The SigV4 signer against Amazon's published test suite (tests/data/sigv4, every case:
// canonical request, string to sign and Authorization header) and the S3 documentation's
// worked examples.

#include "traffic/source/sigv4.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"
#include "traffic/common/file.hpp"

namespace traffic::source::sigv4 {
namespace {

struct SuiteCase {
  Request request;
  std::string amz_date;
};

// A `.req` file: request line, headers (a line starting with a space continues the last
// header's value as another value), a blank line, the body.
SuiteCase parse_req(const std::string& text) {
  SuiteCase out;
  std::size_t position = text.find('\n');
  const std::string request_line = text.substr(0, position);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t last_space = request_line.rfind(' ');
  out.request.method = request_line.substr(0, first_space);
  const std::string target = request_line.substr(first_space + 1, last_space - first_space - 1);
  const std::size_t question = target.find('?');
  out.request.path = target.substr(0, question);
  if (question != std::string::npos) out.request.query = target.substr(question + 1);
  std::string body;
  while (position != std::string::npos && position < text.size()) {
    const std::size_t next = text.find('\n', position + 1);
    const std::string line =
        text.substr(position + 1, next == std::string::npos ? std::string::npos : next - position - 1);
    position = next;
    if (line.empty()) {
      body = next == std::string::npos ? "" : text.substr(next + 1);
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      out.request.headers.emplace_back(out.request.headers.back().first, line);
      continue;
    }
    const std::size_t colon = line.find(':');
    out.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    if (line.substr(0, colon) == "X-Amz-Date") out.amz_date = line.substr(colon + 1);
  }
  out.request.payload_hash = sha256_hex(body);
  return out;
}

TEST(SigV4, EveryCaseOfAmazonsTestSuite) {
  const Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  const Scope scope{"us-east-1", "service"};
  int cases = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(test::data_path("sigv4/aws-sig-v4-test-suite"))) {
    if (entry.path().extension() != ".req") continue;
    const auto base = entry.path().parent_path() / entry.path().stem();
    const auto expected = [&](const char* extension) { return read_file(base.string() + extension); };
    const SuiteCase c = parse_req(read_file(entry.path().string()));
    const Signed result = sign(c.request, credentials, scope, c.amz_date, /*normalize_path=*/true);
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    EXPECT_EQ(result.canonical_request, expected(".creq"));
    ++cases;
    if (name.starts_with("post-x-www-form-urlencoded")) {
      // The suite contradicts itself here: its .sts is not the hash of its .creq (it was
      // computed without the Content-Length header). Our string to sign follows the
      // published canonical request, and signing without Content-Length gives the
      // published signature for the plain case.
      EXPECT_EQ(result.string_to_sign.substr(result.string_to_sign.rfind('\n') + 1), sha256_hex(expected(".creq")));
      if (name == "post-x-www-form-urlencoded") {
        Request without = c.request;
        std::erase_if(without.headers, [](const auto& h) { return h.first == "Content-Length"; });
        EXPECT_EQ(sign(without, credentials, scope, c.amz_date, true).authorization, expected(".authz"));
      }
      continue;
    }
    EXPECT_EQ(result.string_to_sign, expected(".sts"));
    EXPECT_EQ(result.authorization, expected(".authz"));
  }
  EXPECT_EQ(cases, 31);
}

// docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html: GET Object (with
// a Range), GET Bucket lifecycle, GET Bucket (list objects).
TEST(SigV4, TheS3DocumentationExamples) {
  const Credentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  const Scope scope{"us-east-1", "s3"};
  const std::string date = "20130524T000000Z";
  auto request = [&](std::string path, std::string query) {
    Request r;
    r.path = std::move(path);
    r.query = std::move(query);
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", date},
                 {"x-amz-content-sha256", Request::empty_payload_hash()}};
    return r;
  };
  Request object = request("/test.txt", "");
  object.headers.emplace_back("Range", "bytes=0-9");
  const Signed get_object = sign(object, credentials, scope, date);
  EXPECT_EQ(get_object.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(get_object.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(sign(request("/", "lifecycle"), credentials, scope, date).signature,
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  EXPECT_EQ(sign(request("/", "max-keys=2&prefix=J"), credentials, scope, date).signature,
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, S3KeysAreSignedLiterallyAndEncodedOnce) {
  Request r;
  r.path = "/bucket/recipes/a b+c/../ሴ.json.gz";
  r.headers = {{"host", "s3.example"}, {"x-amz-date", "20261123T000000Z"}};
  const Signed s = sign(r, {"id", "secret", ""}, {}, "20261123T000000Z");
  EXPECT_NE(s.canonical_request.find("\n/bucket/recipes/a%20b%2Bc/../%E1%88%B4.json.gz\n"), std::string::npos)
      << s.canonical_request;
  EXPECT_EQ(uri_encode("/a b/~x", true), "/a%20b/~x");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(uri_decode("a%20b%2fc%zz%4"), "a b/c%zz%4");
}

TEST(SigV4, AmzDateIsUtcCompact) {
  EXPECT_EQ(amz_date(1'440'938'160'000), "20150830T123600Z");
}

}  // namespace
}  // namespace traffic::source::sigv4
