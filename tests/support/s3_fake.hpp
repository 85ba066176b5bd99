#pragma once
// An S3 stand-in for tests: serves objects with ETag and Last-Modified, answers 304 to a
// matching If-None-Match, and refuses (403 SignatureDoesNotMatch) any request whose SigV4
// signature is not right for its credentials — recomputed here from what arrived on the
// wire with the signer checked against Amazon's test vectors. Path-style URLs.

#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "digest.hpp"
#include "http_server.hpp"
#include "traffic/source/sigv4.hpp"

namespace traffic::test {

class S3Fake {
 public:
  explicit S3Fake(source::sigv4::Credentials credentials, std::string region = "us-east-1")
      : credentials_(std::move(credentials)), region_(std::move(region)) {}

  /// Stores (or replaces) an object, modified at `modified` (seconds since the epoch).
  void put(const std::string& bucket, const std::string& key, std::string bytes, std::time_t modified) {
    std::lock_guard lock(mutex_);
    Object& object = objects_["/" + bucket + "/" + key];
    object.etag = "\"" + md5_hex(bytes) + "\"";
    object.bytes = std::move(bytes);
    char date[64];
    std::tm tm{};
    gmtime_r(&modified, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    object.last_modified = date;
  }
  /// The next answers to GETs of existing objects: cut short (a truncated download).
  void truncate_downloads(bool on) { truncate_ = on; }

  [[nodiscard]] std::string endpoint() const { return server_.url(""); }

  /// trafficd's flags for a recipe from this fake: bucket "recipes", keys
  /// `<prefix>offers.json.gz` and `<prefix>campaigns.json.gz`, downloads kept in
  /// `download_dir`, signed with this fake's credentials.
  [[nodiscard]] std::vector<std::string> trafficd_args(const std::filesystem::path& download_dir,
                                                       const std::string& prefix = {}) const {
    return {"--offers-recipe-path",
            (download_dir / "offers.json.gz").string(),
            "--campaigns-recipe-path",
            (download_dir / "campaigns.json.gz").string(),
            "--s3-bucket-name",
            "recipes",
            "--s3-offers-recipe-path",
            prefix + "offers.json.gz",
            "--s3-campaigns-recipe-path",
            prefix + "campaigns.json.gz",
            "--s3-endpoint",
            endpoint(),
            "--s3-path-style=true",
            "--aws-access-key-id",
            credentials_.access_key_id,
            "--aws-secret-access-key",
            credentials_.secret_access_key};
  }
  void stop() { server_.stop(); }
  void start() { server_.start(port_); }

  struct Counts {
    int fetched = 0;       ///< 200 with the object
    int not_modified = 0;  ///< 304
    int refused = 0;       ///< 403: bad or missing signature
  };
  Counts counts() {
    std::lock_guard lock(mutex_);
    return counts_;
  }

 private:
  struct Object {
    std::string bytes;
    std::string etag;
    std::string last_modified;
  };

  bool signature_ok(const HttpServer::Request& request) const {
    const std::string authorization = request.header("authorization");
    const auto signed_at = authorization.find("SignedHeaders=");
    const auto signature_at = authorization.find("Signature=");
    if (!authorization.starts_with("AWS4-HMAC-SHA256 ") || signed_at == std::string::npos ||
        signature_at == std::string::npos) {
      return false;
    }
    const std::string signed_names =
        authorization.substr(signed_at + 14, authorization.find(',', signed_at) - signed_at - 14);
    source::sigv4::Request canonical;
    canonical.method = request.method;
    const auto question = request.target.find('?');
    canonical.path = source::sigv4::uri_decode(request.target.substr(0, question));
    if (question != std::string::npos) canonical.query = request.target.substr(question + 1);
    for (std::size_t start = 0; start <= signed_names.size();) {
      const auto end = std::min(signed_names.find(';', start), signed_names.size());
      const std::string name = signed_names.substr(start, end - start);
      for (const auto& [key, value] : request.headers) {
        if (key == name) canonical.headers.emplace_back(key, value);
      }
      start = end + 1;
    }
    canonical.payload_hash = request.header("x-amz-content-sha256");
    const std::string date = request.header("x-amz-date");
    if (date.size() != 16 || signed_names.find("host") == std::string::npos) return false;
    const auto expected = source::sigv4::sign(canonical, credentials_, {region_, "s3"}, date);
    return expected.authorization == authorization;
  }

  HttpServer::Response answer(const HttpServer::Request& request) {
    std::lock_guard lock(mutex_);
    if (!signature_ok(request)) {
      ++counts_.refused;
      return {403, {}, "<Error><Code>SignatureDoesNotMatch</Code></Error>"};
    }
    const auto question = request.target.find('?');
    const auto found = objects_.find(source::sigv4::uri_decode(request.target.substr(0, question)));
    if (request.method != "GET" || found == objects_.end()) return {404, {}, "<Error><Code>NoSuchKey</Code></Error>"};
    const Object& object = found->second;
    if (request.header("if-none-match") == object.etag) {
      ++counts_.not_modified;
      return {304, {{"ETag", object.etag}}, ""};
    }
    ++counts_.fetched;
    HttpServer::Response response{200, {{"ETag", object.etag}, {"Last-Modified", object.last_modified}}, object.bytes};
    response.truncate = truncate_;
    return response;
  }

  source::sigv4::Credentials credentials_;
  std::string region_;
  std::mutex mutex_;
  std::map<std::string, Object> objects_;
  Counts counts_;
  std::atomic<bool> truncate_{false};
  HttpServer server_{[this](const HttpServer::Request& request) { return answer(request); }};  // last
  unsigned short port_ = server_.port();
};

}  // namespace traffic::test
