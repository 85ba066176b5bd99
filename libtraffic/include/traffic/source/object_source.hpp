#pragma once
// Where a recipe file comes from (SPEC.md §6): a local file, an HTTP(S) URL or an S3
// object. A source fetches the object into a file the caller names, only when it changed
// since the version the caller already has (conditional requests: ETag, Last-Modified).
//
// Sources block (network I/O with a timeout on every call): the recipe poller runs them on
// its own thread, never on a request thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/source/sigv4.hpp"

namespace traffic::source {

/// What identifies the version of an object last fetched; given back to ask "changed?".
struct Version {
  std::string etag;           ///< HTTP/S3 ETag
  std::string last_modified;  ///< HTTP Last-Modified, as sent
  std::string identity;       ///< local file: device, inode, size, mtime
  [[nodiscard]] bool empty() const noexcept { return etag.empty() && last_modified.empty() && identity.empty(); }
  friend bool operator==(const Version&, const Version&) = default;
};

struct Fetch {
  enum class Outcome : std::uint8_t { unchanged, fetched, failed };
  Outcome outcome = Outcome::failed;
  Version version;              ///< of the object fetched (fetched), else the one given
  TimestampMs modified_at = 0;  ///< the object's modification time, ms; 0 when unknown
  std::uint64_t bytes = 0;      ///< written to the file (fetched)
  std::string error;            ///< why it failed, for logs (never a credential)
};

/// Thread-safety: none; one poller uses a source at a time.
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  /// Writes the object to `to` (created or truncated) unless it is still `known`. A
  /// failed or unchanged fetch may leave `to` partly written: the caller only uses it
  /// after `fetched`.
  virtual Fetch fetch(const Version& known, const std::filesystem::path& to) = 0;
  /// "s3://bucket/key", "https://***@host/path", "/path" — for logs (no credentials).
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// A local file elsewhere than the recipe path (an NFS mount, a file another process
/// writes): copied when its identity changes.
std::unique_ptr<ObjectSource> file_source(std::filesystem::path path);

struct HttpSourceSettings {
  std::string url;                            ///< http:// or https://; user:password@ allowed
  std::chrono::milliseconds timeout{30'000};  ///< the whole transfer
  std::uint64_t max_bytes = std::uint64_t{2} << 30;
};
/// GET with If-None-Match / If-Modified-Since; 304 → unchanged, 200 → fetched; any other
/// status, a timeout or a short body → failed. libcurl, one kept-alive handle.
std::unique_ptr<ObjectSource> http_source(HttpSourceSettings settings);

struct S3Settings {
  std::string bucket;
  std::string key;  ///< "recipes/offersRecipe.json.gz" (a leading '/' is ignored)
  std::string region = "us-east-1";
  /// "" = AWS (https://s3.<region>.amazonaws.com); else an S3-compatible store's base URL,
  /// "http://127.0.0.1:9000".
  std::string endpoint;
  /// Path-style URLs (<endpoint>/<bucket>/<key>) instead of virtual-hosted ones
  /// (<bucket>.<endpoint host>/<key>); S3-compatible stores often need it.
  bool path_style = false;
  sigv4::Credentials credentials;
  std::chrono::milliseconds timeout{30'000};
  std::uint64_t max_bytes = std::uint64_t{2} << 30;
};
/// An S3 object fetched with a SigV4-signed, conditional GET (the time read from `clock`,
/// which must outlive the source).
std::unique_ptr<ObjectSource> s3_source(const S3Settings& settings, const Clock& clock);

/// The URL an S3 source requests (for logs and tests).
std::string s3_url(const S3Settings& settings);

}  // namespace traffic::source
