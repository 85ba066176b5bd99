#include "traffic/source/object_source.hpp"
#include "traffic/common/redact.hpp"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <mutex>
#include <system_error>
#include <vector>

#include "traffic/common/file.hpp"
#include "traffic/pipeline/sink.hpp"

namespace traffic::source {

namespace {

std::string identity_text(const FileIdentity& id) {
  return std::to_string(id.device) + ":" + std::to_string(id.inode) + ":" + std::to_string(id.size) + ":" +
         std::to_string(id.mtime_ns);
}

class FileSource final : public ObjectSource {
 public:
  explicit FileSource(std::filesystem::path path) : path_(std::move(path)) {}

  Fetch fetch(const Version& known, const std::filesystem::path& to) override {
    Fetch out;
    out.version = known;
    const auto identity = file_identity(path_.string());
    if (!identity) {
      out.error = path_.string() + ": cannot be read";
      return out;
    }
    out.modified_at = identity->mtime_ns / 1'000'000;
    if (identity_text(*identity) == known.identity) {
      out.outcome = Fetch::Outcome::unchanged;
      return out;
    }
    std::error_code error;
    std::filesystem::copy_file(path_, to, std::filesystem::copy_options::overwrite_existing, error);
    if (error) {
      out.error = path_.string() + ": " + error.message();
      return out;
    }
    out.outcome = Fetch::Outcome::fetched;
    out.version = Version{{}, {}, identity_text(*identity)};
    out.bytes = static_cast<std::uint64_t>(identity->size);
    return out;
  }

  [[nodiscard]] std::string describe() const override { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A conditional GET through libcurl; `extra_headers` adds per-request headers (S3's
// signature, computed at the time of the request).
class HttpObjectSource final : public ObjectSource {
 public:
  using HeaderHook = std::function<void(std::vector<std::string>&)>;

  HttpObjectSource(std::string url, std::string description, std::chrono::milliseconds timeout, std::uint64_t max_bytes,
                   HeaderHook extra_headers)
      : url_(std::move(url)),
        description_(std::move(description)),
        timeout_(timeout),
        max_bytes_(max_bytes),
        extra_headers_(std::move(extra_headers)) {
    static std::once_flag global;
    std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
    if (handle_ == nullptr) throw std::runtime_error("libcurl: cannot create a handle");
  }
  ~HttpObjectSource() override { curl_easy_cleanup(handle_); }
  HttpObjectSource(const HttpObjectSource&) = delete;
  HttpObjectSource& operator=(const HttpObjectSource&) = delete;

  Fetch fetch(const Version& known, const std::filesystem::path& to) override {
    Fetch out;
    out.version = known;
    Transfer transfer;
    transfer.max_bytes = max_bytes_;
    transfer.file = std::fopen(to.c_str(), "wb");
    if (transfer.file == nullptr) {
      out.error = to.string() + ": cannot be written";
      return out;
    }
    std::vector<std::string> headers;
    if (!known.etag.empty()) headers.push_back("If-None-Match: " + known.etag);
    if (!known.last_modified.empty()) headers.push_back("If-Modified-Since: " + known.last_modified);
    if (extra_headers_) extra_headers_(headers);
    curl_slist* list = nullptr;
    for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());

    curl_easy_reset(handle_);  // keeps the connection cache
    curl_easy_setopt(handle_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<std::int64_t>(timeout_.count(), 10'000)));
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Transfer::write);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &Transfer::header);
    curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode code = curl_easy_perform(handle_);
    curl_slist_free_all(list);
    const bool closed = std::fclose(transfer.file) == 0;

    long status = 0;
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) {
      out.error = description_ + ": " +
                  (transfer.too_large ? "larger than " + std::to_string(max_bytes_) + " bytes"
                                      : std::string(curl_easy_strerror(code)));
      return out;
    }
    if (status == 304) {
      out.outcome = Fetch::Outcome::unchanged;
      return out;
    }
    if (status != 200) {
      out.error = description_ + ": HTTP " + std::to_string(status);
      return out;
    }
    if (!closed || transfer.write_failed) {
      out.error = to.string() + ": write failed";
      return out;
    }
    curl_off_t filetime = -1;
    curl_easy_getinfo(handle_, CURLINFO_FILETIME_T, &filetime);
    if (filetime >= 0) out.modified_at = static_cast<TimestampMs>(filetime) * 1000;
    const Version fetched{transfer.etag, transfer.last_modified, {}};
    // A server that ignores conditional requests but sends the same ETag: nothing changed.
    if (!known.etag.empty() && fetched.etag == known.etag) {
      out.outcome = Fetch::Outcome::unchanged;
      return out;
    }
    out.outcome = Fetch::Outcome::fetched;
    out.version = fetched;
    out.bytes = transfer.bytes;
    return out;
  }

  [[nodiscard]] std::string describe() const override { return description_; }

 private:
  struct Transfer {
    std::FILE* file = nullptr;
    std::uint64_t bytes = 0;
    std::uint64_t max_bytes = 0;
    bool too_large = false;
    bool write_failed = false;
    std::string etag;
    std::string last_modified;

    static std::size_t write(char* data, std::size_t size, std::size_t count, void* user) {
      auto& t = *static_cast<Transfer*>(user);
      const std::size_t length = size * count;
      if (t.bytes + length > t.max_bytes) {
        t.too_large = true;
        return 0;  // aborts the transfer
      }
      if (std::fwrite(data, 1, length, t.file) != length) {
        t.write_failed = true;
        return 0;
      }
      t.bytes += length;
      return length;
    }

    static std::size_t header(char* data, std::size_t size, std::size_t count, void* user) {
      auto& t = *static_cast<Transfer*>(user);
      const std::string_view line(data, size * count);
      auto value_of = [&](std::string_view name) -> std::optional<std::string> {
        if (line.size() <= name.size() || line[name.size()] != ':') return std::nullopt;
        for (std::size_t i = 0; i < name.size(); ++i) {
          if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return std::nullopt;
        }
        std::string_view value = line.substr(name.size() + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
          value.remove_suffix(1);
        }
        return std::string(value);
      };
      if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 100): forget the last
        t.etag.clear();
        t.last_modified.clear();
      } else if (auto etag = value_of("etag")) {
        t.etag = std::move(*etag);
      } else if (auto modified = value_of("last-modified")) {
        t.last_modified = std::move(*modified);
      }
      return size * count;
    }
  };

  std::string url_;
  std::string description_;
  std::chrono::milliseconds timeout_;
  std::uint64_t max_bytes_;
  HeaderHook extra_headers_;
  CURL* handle_ = nullptr;
};

struct Endpoint {
  std::string scheme;
  std::string host;  // with ":port" when given
};

Endpoint parse_endpoint(const S3Settings& s) {
  std::string base = s.endpoint.empty() ? "https://s3." + s.region + ".amazonaws.com" : s.endpoint;
  while (base.ends_with('/')) base.pop_back();
  const auto scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return {"https", base};
  return {base.substr(0, scheme_end), base.substr(scheme_end + 3)};
}

std::string object_key(const S3Settings& s) {
  std::string_view key = s.key;
  while (key.starts_with('/')) key.remove_prefix(1);
  return std::string(key);
}

// The request's host and (decoded) path.
std::pair<std::string, std::string> s3_host_and_path(const S3Settings& s) {
  const Endpoint endpoint = parse_endpoint(s);
  if (s.path_style) return {endpoint.host, "/" + s.bucket + "/" + object_key(s)};
  return {s.bucket + "." + endpoint.host, "/" + object_key(s)};
}

}  // namespace

std::string s3_url(const S3Settings& settings) {
  const auto [host, path] = s3_host_and_path(settings);
  return parse_endpoint(settings).scheme + "://" + host + sigv4::uri_encode(path, true);
}

std::unique_ptr<ObjectSource> file_source(std::filesystem::path path) {
  return std::make_unique<FileSource>(std::move(path));
}

std::unique_ptr<ObjectSource> http_source(HttpSourceSettings settings) {
  std::string description = redact_credentials(settings.url);  // user-info as ***
  return std::make_unique<HttpObjectSource>(std::move(settings.url), std::move(description), settings.timeout,
                                            settings.max_bytes, nullptr);
}

std::unique_ptr<ObjectSource> s3_source(const S3Settings& settings, const Clock& clock) {
  const auto [host, path] = s3_host_and_path(settings);
  std::string description = "s3://" + settings.bucket + "/" + object_key(settings);
  const std::string url = s3_url(settings);
  auto sign = [settings, host = host, path = path, &clock](std::vector<std::string>& headers) {
    const std::string date = sigv4::amz_date(clock.now());
    sigv4::Request request;
    request.path = path;
    request.headers = {{"host", host}, {"x-amz-date", date}, {"x-amz-content-sha256", request.payload_hash}};
    if (!settings.credentials.session_token.empty()) {
      request.headers.emplace_back("x-amz-security-token", settings.credentials.session_token);
    }
    const sigv4::Signed result =
        sigv4::sign(request, settings.credentials, {settings.region, "s3"}, date, /*normalize_path=*/false);
    for (const auto& [name, value] : request.headers) {
      if (name != "host") headers.push_back(name + ": " + value);
    }
    headers.push_back("Authorization: " + result.authorization);
  };
  return std::make_unique<HttpObjectSource>(url, std::move(description), settings.timeout, settings.max_bytes,
                                            std::move(sign));
}

}  // namespace traffic::source
