#pragma once
// AWS Signature Version 4 (header form), for recipe downloads from S3 and S3-compatible
// stores — and for the S3 fake in the tests, which verifies what the client sent.
//
// Hand-written rather than libcurl's CURLOPT_AWS_SIGV4: the same canonicalisation has to
// run on the receiving side (the tests' S3 fake checks every signature), and a signer of
// our own can be checked step by step (canonical request, string to sign, signature)
// against Amazon's published test suite (tests/data/sigv4). It is ~150 lines on OpenSSL.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "traffic/common/time.hpp"

namespace traffic::source::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  ///< Secret.
  std::string session_token;      ///< Secret. Temporary credentials; "" = none
};

struct Request {
  std::string method = "GET";
  /// The path, decoded (raw bytes: "/my key/ሴ"); it is percent-encoded for signing, and a
  /// client must send it encoded the same way (uri_encode(path, true)).
  std::string path = "/";
  /// The query string as sent, without '?' ("b=2&a=1"); its parts are decoded, re-encoded
  /// strictly and sorted for signing.
  std::string query;
  /// Headers to sign, in any order and case; a name given twice is signed as one header
  /// with the values comma-joined in order (as HTTP folds them). Must include `host` and
  /// `x-amz-date` (and `x-amz-content-sha256` for S3).
  std::vector<std::pair<std::string, std::string>> headers;
  /// Lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash = empty_payload_hash();

  static std::string empty_payload_hash() { return "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; }
};

struct Scope {
  std::string region = "us-east-1";
  std::string service = "s3";
};

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  ///< "host;x-amz-date"
  std::string signature;       ///< 64 hex digits
  std::string authorization;   ///< the Authorization header's value
};

/// Signs `request` at `amz_date` ("20150830T123600Z", also the x-amz-date header's value).
/// `normalize_path`: remove "." and ".." segments and repeated slashes first — every
/// service but S3, whose object keys are taken literally.
[[nodiscard]] Signed sign(const Request& request, const Credentials& credentials, const Scope& scope,
                          std::string_view amz_date, bool normalize_path = false);

/// "YYYYMMDDTHHMMSSZ" of a UTC time.
[[nodiscard]] std::string amz_date(TimestampMs at);
/// Lower-case hex SHA-256.
[[nodiscard]] std::string sha256_hex(std::string_view data);
/// RFC 3986 percent-encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ (and
/// '/' when `keep_slash`) as %XX, upper-case hex.
[[nodiscard]] std::string uri_encode(std::string_view text, bool keep_slash);
/// Decodes %XX escapes (malformed ones are kept as they are).
[[nodiscard]] std::string uri_decode(std::string_view text);

}  // namespace traffic::source::sigv4
