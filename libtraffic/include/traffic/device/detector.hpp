#pragma once
// Device, OS and browser from the User-Agent (and Client Hints), SPEC.md §4.4.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace traffic::device {

enum class DeviceType : std::uint8_t {
  unknown,
  desktop,
  smartphone,
  tablet,
  feature_phone,
  tv,
  console,
  wearable,
  car,
  bot,
};
std::string_view to_string(DeviceType type) noexcept;

/// What a User-Agent says. Empty strings stand for "unknown" (uap-core's null); the
/// families are uap-core's ("Other" when no parser matched).
struct DeviceInfo {
  std::string browser_family;  ///< "Chrome", "Mobile Safari", "Googlebot", …
  std::string browser_major;
  std::string browser_minor;
  std::string browser_patch;
  std::string browser_engine;  ///< "Blink", "WebKit", "Gecko", "Trident", "EdgeHTML", "Presto" or ""
  std::string os_family;       ///< "Windows", "iOS", "Android", "Mac OS X", …
  std::string os_major;
  std::string os_minor;
  std::string os_patch;
  std::string os_patch_minor;
  std::string device_family;  ///< "iPhone", "Samsung SM-G960F", "Spider", "Other", …
  std::string device_brand;
  std::string device_model;
  DeviceType type = DeviceType::unknown;
  bool is_bot = false;

  /// "major.minor" (or "major", or "") of the browser and of the OS.
  [[nodiscard]] std::string browser_version() const;
  [[nodiscard]] std::string os_version() const;
};

/// User-Agent Client Hints as received (`Sec-CH-UA`, `Sec-CH-UA-Mobile`, …); empty = absent.
struct ClientHints {
  std::string_view brands;            ///< Sec-CH-UA: "\"Chromium\";v=\"110\", \"Google Chrome\";v=\"110\""
  std::string_view mobile;            ///< Sec-CH-UA-Mobile: "?1" or "?0"
  std::string_view platform;          ///< Sec-CH-UA-Platform: "\"Android\""
  std::string_view platform_version;  ///< Sec-CH-UA-Platform-Version: "\"13.0.0\""
  std::string_view model;             ///< Sec-CH-UA-Model: "\"Pixel 7\""
  [[nodiscard]] bool empty() const noexcept {
    return brands.empty() && mobile.empty() && platform.empty() && platform_version.empty() && model.empty();
  }
};

/// The default location of the Debian `uap-core` package's regex database.
inline constexpr std::string_view kDefaultRegexesPath = "/usr/share/uap-core/regexes.yaml";

/// Parses User-Agents with the uap-core regex database: compiled once (about 0.7 s at
/// start-up); in each section RE2 narrows the regexes that can match (a literal prefilter
/// or one RE2::Set pass, whichever measured faster for that section) and PCRE2's JIT runs
/// them for the first match and its groups, with a bounded cache of results because user
/// agents repeat heavily. The first 512 bytes of an agent are read (docs/context.md).
///
/// Thread-safety: `detect` and `parse` may be called concurrently; the cache is sharded,
/// one short lock per lookup; hits do not allocate. Cost: ~0.15 µs cached, ~13 µs
/// uncached (docs/benchmarks.md).
class DeviceDetector {
 public:
  /// Throws std::runtime_error naming the file when it cannot be read, is not uap-core
  /// YAML, or holds a regex RE2 cannot compile. `cache_capacity` 0 disables the cache.
  explicit DeviceDetector(const std::string& regexes_path = std::string(kDefaultRegexesPath),
                          std::size_t cache_capacity = 65536);
  ~DeviceDetector();
  DeviceDetector(const DeviceDetector&) = delete;
  DeviceDetector& operator=(const DeviceDetector&) = delete;

  /// Cached detection. The result is immutable and shared; keep it as long as needed.
  [[nodiscard]] std::shared_ptr<const DeviceInfo> detect(std::string_view user_agent) const;
  /// Detection refined by Client Hints (the UA part is cached; the hints are applied to a copy).
  [[nodiscard]] DeviceInfo detect(std::string_view user_agent, const ClientHints& hints) const;
  /// Uncached parse (conformance tests, benchmarks).
  [[nodiscard]] DeviceInfo parse(std::string_view user_agent) const;

  [[nodiscard]] std::uint64_t cache_hits() const noexcept;
  [[nodiscard]] std::uint64_t cache_misses() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Applies Client Hints to a UA-derived result (exposed for tests).
void apply_client_hints(DeviceInfo& info, const ClientHints& hints);

}  // namespace traffic::device
