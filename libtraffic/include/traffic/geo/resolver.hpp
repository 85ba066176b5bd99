#pragma once
// Country, region, city, ISP, ASN, connection type and anonymity of an IP address, from
// MaxMind DB files (SPEC.md §4.3).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/country_code.hpp"
#include "traffic/common/published.hpp"
#include "traffic/net/ip_address.hpp"

namespace traffic::geo {

/// What the databases say about one address. The string views point into the
/// memory-mapped database files and stay valid while the lookup's database generation is
/// held (see GeoResolver::Reader). A field the databases do not have is empty/0/false —
/// never a previous lookup's value, never the text "null".
struct GeoInfo {
  CountryCode country;      ///< ISO code
  std::string_view region;  ///< first subdivision's ISO code ("WA")
  std::string_view city;    ///< English name
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::string_view isp;           ///< ISP database
  std::string_view organization;  ///< ISP database
  std::uint32_t asn = 0;          ///< ASN database, else the ISP database's
  std::string_view asn_organization;
  std::string_view connection_type;  ///< "Cable/DSL", "Cellular", "Corporate", …
  bool is_anonymous = false;         ///< Anonymous-IP database flags
  bool is_anonymous_vpn = false;
  bool is_hosting_provider = false;
  bool is_public_proxy = false;
  bool is_tor_exit_node = false;
  bool is_residential_proxy = false;
};

enum class DatabaseKind : std::uint8_t { city, isp, asn, connection_type, anonymous_ip };
inline constexpr std::size_t kDatabaseKinds = 5;
std::string_view to_string(DatabaseKind kind) noexcept;

/// Database files; an empty path means "not configured". `city` may also be a Country
/// database (country only).
struct GeoPaths {
  std::string city;             ///< MAXMIND_PATH
  std::string isp;              ///< MAXMIND_PATH_ISP
  std::string asn;              ///< MAXMIND_PATH_ASN
  std::string connection_type;  ///< MAXMIND_PATH_CONNECTION_TYPE
  std::string anonymous_ip;     ///< MAXMIND_PATH_ANONYMOUS_IP
  /// Refuse a file whose metadata says it is another kind of database (an ISP file given
  /// as the City database). Tests of corrupt files turn it off to reach the data section.
  bool check_database_type = true;

  [[nodiscard]] const std::string& path(DatabaseKind kind) const noexcept;
};

class Database;  // one open, validated, memory-mapped file
/// One generation: the databases in service together.
struct Databases {
  std::array<std::shared_ptr<const Database>, kDatabaseKinds> by_kind;
};

/// Looks addresses up in every configured database.
///
/// Thread-safety: all methods may be called concurrently. Lookups go through a per-thread
/// Reader (one atomic load per lookup to notice a reload; no lock). `reload()` re-opens
/// files whose identity (device, inode, size, mtime) changed — replace database files by
/// rename, never in place — and a file that fails to open or validate is refused while the
/// previous one stays in service. An old mapping is closed when the last reader lets go.
///
/// Cost: ~0.3–1 µs per lookup across City + ISP; no allocation.
class GeoResolver {
 public:
  /// Opens every configured database. Throws std::runtime_error naming the variable and
  /// the reason when one cannot be opened or validated (bad configuration stops start-up).
  explicit GeoResolver(GeoPaths paths);
  ~GeoResolver();

  struct ReloadResult {
    std::size_t reloaded = 0;
    std::size_t refused = 0;
    std::vector<std::string> errors;  ///< one line per refused file: kind, path, reason
  };
  /// Picks up replaced files (call on a timer and on SIGHUP). Cheap when nothing changed:
  /// one stat() per configured file.
  ReloadResult reload();

  struct DecodedRecords;  // a reader's recently decoded records
  /// A per-thread view (one per event loop). Not thread-safe.
  ///
  /// It remembers the decoded fields of recently seen database records (512 combinations,
  /// ~100 KB): decoding a record's fields costs several times the search-tree walk, and
  /// many addresses share a record (a city's networks all point at one). The tree is still
  /// walked for every address, so an answer is always the current database's.
  class Reader {
   public:
    explicit Reader(const GeoResolver& resolver);
    Reader(Reader&&) noexcept;
    ~Reader();
    /// Views in the result are valid until the next lookup on this reader.
    GeoInfo lookup(const net::IpAddress& address);

   private:
    const GeoResolver& resolver_;
    Published<Databases>::Reader databases_;
    std::unique_ptr<DecodedRecords> decoded_;
  };
  [[nodiscard]] Reader reader() const { return Reader(*this); }

  /// Lookup outside the hot path: `hold` keeps the databases alive for the views.
  GeoInfo lookup(const net::IpAddress& address, std::shared_ptr<const Databases>& hold) const;

  [[nodiscard]] bool has(DatabaseKind kind) const;
  [[nodiscard]] std::uint64_t generation() const noexcept { return current_.version(); }
  /// Lookups that hit corrupt data (the address then gets empty fields).
  [[nodiscard]] std::uint64_t data_errors() const noexcept { return data_errors_.load(std::memory_order_relaxed); }
  /// Files refused by reload() since start.
  [[nodiscard]] std::uint64_t refused_reloads() const noexcept {
    return refused_reloads_.load(std::memory_order_relaxed);
  }

 private:
  static GeoInfo lookup_in(const Databases& databases, const net::IpAddress& address,
                           std::atomic<std::uint64_t>& errors, DecodedRecords* decoded);

  GeoPaths paths_;
  std::mutex reload_mutex_;
  Published<Databases> current_;
  mutable std::atomic<std::uint64_t> data_errors_{0};
  std::atomic<std::uint64_t> refused_reloads_{0};
};

}  // namespace traffic::geo
