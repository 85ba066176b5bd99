#include "traffic/geo/resolver.hpp"

#include <maxminddb.h>
#include <sys/stat.h>

#include <cstring>
#include <stdexcept>

#include "traffic/common/file.hpp"

namespace traffic::geo {

// One open MaxMind DB file, memory-mapped by libmaxminddb; closed on destruction, which
// happens only when no generation (and so no reader) refers to it any more.
class Database {
 public:
  using Identity = FileIdentity;

  Database() = default;
  ~Database() {
    if (open_) MMDB_close(&mmdb_);
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  MMDB_s* mmdb() const noexcept { return &mmdb_; }
  const Identity& identity() const noexcept { return identity_; }

  // Opens and validates `path` as a `kind` database; nullptr and `error` on failure.
  static std::shared_ptr<const Database> open(const std::string& path, DatabaseKind kind, bool check_type,
                                              std::string& error);

 private:
  mutable MMDB_s mmdb_{};  // libmaxminddb's lookup API takes a non-const pointer; it does not write
  bool open_ = false;
  Identity identity_;
};

namespace {

constexpr std::array<const char*, kDatabaseKinds> kVariables = {"MAXMIND_PATH", "MAXMIND_PATH_ISP", "MAXMIND_PATH_ASN",
                                                                "MAXMIND_PATH_CONNECTION_TYPE",
                                                                "MAXMIND_PATH_ANONYMOUS_IP"};

bool type_matches(DatabaseKind kind, std::string_view type) {
  auto has = [&](std::string_view part) { return type.find(part) != std::string_view::npos; };
  switch (kind) {
    case DatabaseKind::city: return has("City") || has("Country");
    case DatabaseKind::isp: return has("ISP");
    case DatabaseKind::asn: return has("ASN");
    case DatabaseKind::connection_type: return has("Connection-Type");
    case DatabaseKind::anonymous_ip: return has("Anonymous-IP");
  }
  return false;
}

// Addresses looked up once when a file is opened: a corrupt search tree or data section
// shows up here, before the file is put into service, rather than on visitors' clicks.
constexpr const char* kProbeAddresses[] = {"1.1.1.1",     "81.2.69.142",  "216.160.83.56", "2.125.160.216",
                                           "2001:218::1", "2a02:ff80::1", "::1.2.3.4",     "0.0.0.0"};

std::string probe(MMDB_s& mmdb) {
  for (const char* address : kProbeAddresses) {
    int gai_error = 0;
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result = MMDB_lookup_string(&mmdb, address, &gai_error, &mmdb_error);
    if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) continue;
    if (gai_error != 0) continue;
    if (mmdb_error != MMDB_SUCCESS) return std::string("lookup failed: ") + MMDB_strerror(mmdb_error);
    if (!result.found_entry) continue;
    MMDB_entry_data_list_s* list = nullptr;
    const int status = MMDB_get_entry_data_list(&result.entry, &list);
    MMDB_free_entry_data_list(list);
    if (status != MMDB_SUCCESS) return std::string("data section unreadable: ") + MMDB_strerror(status);
  }
  return {};
}

}  // namespace

std::shared_ptr<const Database> Database::open(const std::string& path, DatabaseKind kind, bool check_type,
                                               std::string& error) {
  auto identity = file_identity(path);
  if (!identity) {
    error = "cannot stat: " + errno_text(errno);
    return nullptr;
  }
  auto db = std::make_shared<Database>();
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (status != MMDB_SUCCESS) {
    error = status == MMDB_IO_ERROR ? "cannot read: " + errno_text(errno) : MMDB_strerror(status);
    return nullptr;
  }
  db->open_ = true;
  db->identity_ = *identity;
  const char* type = db->mmdb_.metadata.database_type;
  if (check_type && !type_matches(kind, type ? type : "")) {
    error = std::string("is a '") + (type ? type : "?") + "' database, not " + std::string(to_string(kind));
    return nullptr;
  }
  if (std::string problem = probe(db->mmdb_); !problem.empty()) {
    error = std::move(problem);
    return nullptr;
  }
  return db;
}

std::string_view to_string(DatabaseKind kind) noexcept {
  switch (kind) {
    case DatabaseKind::city: return "City";
    case DatabaseKind::isp: return "ISP";
    case DatabaseKind::asn: return "ASN";
    case DatabaseKind::connection_type: return "Connection-Type";
    case DatabaseKind::anonymous_ip: return "Anonymous-IP";
  }
  return "?";
}

const std::string& GeoPaths::path(DatabaseKind kind) const noexcept {
  switch (kind) {
    case DatabaseKind::city: return city;
    case DatabaseKind::isp: return isp;
    case DatabaseKind::asn: return asn;
    case DatabaseKind::connection_type: return connection_type;
    case DatabaseKind::anonymous_ip: return anonymous_ip;
  }
  return city;
}

GeoResolver::GeoResolver(GeoPaths paths) : paths_(std::move(paths)), current_(std::make_shared<const Databases>(), 0) {
  auto first = std::make_shared<Databases>();
  for (std::size_t i = 0; i < kDatabaseKinds; ++i) {
    const auto kind = static_cast<DatabaseKind>(i);
    const std::string& path = paths_.path(kind);
    if (path.empty()) continue;
    std::string error;
    first->by_kind[i] = Database::open(path, kind, paths_.check_database_type, error);
    if (!first->by_kind[i]) {
      throw std::runtime_error(std::string(kVariables[i]) + "=" + path + ": " + error);
    }
  }
  current_.publish(std::move(first), 1);
}

GeoResolver::~GeoResolver() = default;

GeoResolver::ReloadResult GeoResolver::reload() {
  std::lock_guard lock(reload_mutex_);
  ReloadResult result;
  const auto current = current_.load();
  auto next = std::make_shared<Databases>(*current);
  for (std::size_t i = 0; i < kDatabaseKinds; ++i) {
    const auto kind = static_cast<DatabaseKind>(i);
    const std::string& path = paths_.path(kind);
    if (path.empty()) continue;
    const auto identity = file_identity(path);
    if (identity && current->by_kind[i] && *identity == current->by_kind[i]->identity()) continue;
    std::string error;
    auto db = identity ? Database::open(path, kind, paths_.check_database_type, error) : nullptr;
    if (!identity) error = "file is missing";
    if (!db) {
      ++result.refused;
      refused_reloads_.fetch_add(1, std::memory_order_relaxed);
      result.errors.push_back(std::string(to_string(kind)) + " database " + path + " refused (" + error +
                              "); the previous one stays in service");
      continue;
    }
    next->by_kind[i] = std::move(db);
    ++result.reloaded;
  }
  if (result.reloaded > 0) current_.publish(std::move(next), current_.version() + 1);
  return result;
}

bool GeoResolver::has(DatabaseKind kind) const {
  return current_.load()->by_kind[static_cast<std::size_t>(kind)] != nullptr;
}

GeoInfo GeoResolver::lookup(const net::IpAddress& address, std::shared_ptr<const Databases>& hold) const {
  hold = current_.load();
  return lookup_in(*hold, address, data_errors_, nullptr);
}

namespace {

// The value at `path` if it has the expected type; anything else counts as absent.
bool get_value(MMDB_entry_s& entry, const char* const* path, std::uint32_t type, MMDB_entry_data_s& out,
               bool& data_error) {
  const int status = MMDB_aget_value(&entry, &out, path);
  if (status == MMDB_SUCCESS) return out.has_data && out.type == type;
  // A path absent from this record is normal; anything else is corrupt data.
  if (status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR && status != MMDB_INVALID_LOOKUP_PATH_ERROR)
    data_error = true;
  return false;
}

std::string_view get_string(MMDB_entry_s& entry, const char* const* path, bool& data_error) {
  MMDB_entry_data_s data{};
  if (!get_value(entry, path, MMDB_DATA_TYPE_UTF8_STRING, data, data_error)) return {};
  return {data.utf8_string, data.data_size};
}

bool get_bool(MMDB_entry_s& entry, const char* const* path, bool& data_error) {
  MMDB_entry_data_s data{};
  return get_value(entry, path, MMDB_DATA_TYPE_BOOLEAN, data, data_error) && data.boolean;
}

std::optional<double> get_double(MMDB_entry_s& entry, const char* const* path, bool& data_error) {
  MMDB_entry_data_s data{};
  if (!get_value(entry, path, MMDB_DATA_TYPE_DOUBLE, data, data_error)) return std::nullopt;
  return data.double_value;
}

std::uint32_t get_uint32(MMDB_entry_s& entry, const char* const* path, bool& data_error) {
  MMDB_entry_data_s data{};
  return get_value(entry, path, MMDB_DATA_TYPE_UINT32, data, data_error) ? data.uint32 : 0;
}

// Finds `address` in `db`; false when it is not there (or the lookup cannot be made).
bool find(const Database* db, const sockaddr* address, MMDB_entry_s& entry, bool& data_error) {
  if (!db) return false;
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s result = MMDB_lookup_sockaddr(db->mmdb(), address, &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS) {
    if (mmdb_error != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) data_error = true;
    return false;
  }
  if (!result.found_entry) return false;
  entry = result.entry;
  return true;
}

constexpr const char* kCountry[] = {"country", "iso_code", nullptr};
constexpr const char* kRegion[] = {"subdivisions", "0", "iso_code", nullptr};
constexpr const char* kCity[] = {"city", "names", "en", nullptr};
constexpr const char* kLatitude[] = {"location", "latitude", nullptr};
constexpr const char* kLongitude[] = {"location", "longitude", nullptr};
constexpr const char* kIsp[] = {"isp", nullptr};
constexpr const char* kOrganization[] = {"organization", nullptr};
constexpr const char* kAsn[] = {"autonomous_system_number", nullptr};
constexpr const char* kAsnOrganization[] = {"autonomous_system_organization", nullptr};
constexpr const char* kConnectionType[] = {"connection_type", nullptr};
constexpr const char* kIsAnonymous[] = {"is_anonymous", nullptr};
constexpr const char* kIsAnonymousVpn[] = {"is_anonymous_vpn", nullptr};
constexpr const char* kIsHostingProvider[] = {"is_hosting_provider", nullptr};
constexpr const char* kIsPublicProxy[] = {"is_public_proxy", nullptr};
constexpr const char* kIsTorExitNode[] = {"is_tor_exit_node", nullptr};
constexpr const char* kIsResidentialProxy[] = {"is_residential_proxy", nullptr};

}  // namespace

// Decoded fields keyed by the data-section offsets of the records an address led to in
// each database (kNotFound where it led nowhere). Direct-mapped: a colliding combination
// simply replaces the slot.
struct GeoResolver::DecodedRecords {
  static constexpr std::size_t kSlots = 512;
  static constexpr std::uint32_t kNotFound = UINT32_MAX;
  using Offsets = std::array<std::uint32_t, kDatabaseKinds>;
  struct Slot {
    bool used = false;
    Offsets offsets{};
    GeoInfo info;
  };

  std::uint64_t version = 0;  // of the databases the slots were decoded from
  std::array<Slot, kSlots> slots;

  void reset(std::uint64_t databases_version) {
    version = databases_version;
    for (Slot& slot : slots) slot.used = false;
  }
  Slot& slot_for(const Offsets& offsets) {
    std::uint64_t hash = 0;
    for (std::uint32_t offset : offsets) hash = (hash ^ offset) * 0x9E3779B97F4A7C15ULL;
    return slots[(hash >> 32) % kSlots];
  }
};

GeoResolver::Reader::Reader(const GeoResolver& resolver)
    : resolver_(resolver), databases_(resolver.current_), decoded_(std::make_unique<DecodedRecords>()) {}
GeoResolver::Reader::Reader(Reader&&) noexcept = default;
GeoResolver::Reader::~Reader() = default;

GeoInfo GeoResolver::Reader::lookup(const net::IpAddress& address) {
  const Databases& databases = databases_.get();
  if (decoded_->version != databases_.version()) decoded_->reset(databases_.version());
  return lookup_in(databases, address, resolver_.data_errors_, decoded_.get());
}

GeoInfo GeoResolver::lookup_in(const Databases& databases, const net::IpAddress& address,
                               std::atomic<std::uint64_t>& errors, DecodedRecords* decoded) {
  sockaddr_storage storage{};
  address.to_sockaddr(storage);
  const auto* sa = reinterpret_cast<const sockaddr*>(&storage);
  bool data_error = false;

  std::array<MMDB_entry_s, kDatabaseKinds> entries{};
  DecodedRecords::Offsets offsets;
  for (std::size_t i = 0; i < kDatabaseKinds; ++i) {
    offsets[i] =
        find(databases.by_kind[i].get(), sa, entries[i], data_error) ? entries[i].offset : DecodedRecords::kNotFound;
  }
  DecodedRecords::Slot* slot = nullptr;
  if (decoded && !data_error) {
    slot = &decoded->slot_for(offsets);
    if (slot->used && slot->offsets == offsets) return slot->info;
  }

  GeoInfo info;
  auto found = [&](DatabaseKind kind) -> MMDB_entry_s* {
    const auto i = static_cast<std::size_t>(kind);
    return offsets[i] == DecodedRecords::kNotFound ? nullptr : &entries[i];
  };
  if (MMDB_entry_s* entry = found(DatabaseKind::city)) {
    if (auto code = CountryCode::parse(get_string(*entry, kCountry, data_error))) info.country = *code;
    info.region = get_string(*entry, kRegion, data_error);
    info.city = get_string(*entry, kCity, data_error);
    info.latitude = get_double(*entry, kLatitude, data_error);
    info.longitude = get_double(*entry, kLongitude, data_error);
  }
  if (MMDB_entry_s* entry = found(DatabaseKind::isp)) {
    info.isp = get_string(*entry, kIsp, data_error);
    info.organization = get_string(*entry, kOrganization, data_error);
    info.asn = get_uint32(*entry, kAsn, data_error);
    info.asn_organization = get_string(*entry, kAsnOrganization, data_error);
  }
  if (MMDB_entry_s* entry = found(DatabaseKind::asn)) {
    info.asn = get_uint32(*entry, kAsn, data_error);
    info.asn_organization = get_string(*entry, kAsnOrganization, data_error);
  }
  if (MMDB_entry_s* entry = found(DatabaseKind::connection_type)) {
    info.connection_type = get_string(*entry, kConnectionType, data_error);
  }
  if (MMDB_entry_s* entry = found(DatabaseKind::anonymous_ip)) {
    info.is_anonymous = get_bool(*entry, kIsAnonymous, data_error);
    info.is_anonymous_vpn = get_bool(*entry, kIsAnonymousVpn, data_error);
    info.is_hosting_provider = get_bool(*entry, kIsHostingProvider, data_error);
    info.is_public_proxy = get_bool(*entry, kIsPublicProxy, data_error);
    info.is_tor_exit_node = get_bool(*entry, kIsTorExitNode, data_error);
    info.is_residential_proxy = get_bool(*entry, kIsResidentialProxy, data_error);
  }
  if (data_error) {
    errors.fetch_add(1, std::memory_order_relaxed);  // a corrupt record is never remembered
  } else if (slot) {
    slot->used = true;
    slot->offsets = offsets;
    slot->info = info;
  }
  return info;
}

}  // namespace traffic::geo
