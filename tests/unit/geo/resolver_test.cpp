#include "traffic/geo/resolver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "test_support.hpp"

namespace traffic::geo {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using net::IpAddress;

std::string db(std::string_view name) {
  return test::data_path("geoip/test-data/" + std::string(name));
}

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

GeoPaths all_databases() {
  GeoPaths paths;
  paths.city = db("GeoIP2-City-Test.mmdb");
  paths.isp = db("GeoIP2-ISP-Test.mmdb");
  paths.asn = db("GeoLite2-ASN-Test.mmdb");
  paths.connection_type = db("GeoIP2-Connection-Type-Test.mmdb");
  paths.anonymous_ip = db("GeoIP2-Anonymous-IP-Test.mmdb");
  return paths;
}

// The first address of a source-data network ("1.2.3.0/24", "2001:db8::/32", or an IPv4
// network written in IPv6 form, "::1.2.3.0/120").
IpAddress first_address(std::string_view network) {
  const std::string_view base = network.substr(0, network.find('/'));
  if (base.starts_with("::") && base.find('.') != std::string_view::npos) return ip(base.substr(2));
  return ip(base);
}

// Every network of one source file, with its record.
std::vector<std::pair<IpAddress, json::object>> source_records(std::string_view file) {
  const json::value source = json::parse(test::read_data("geoip/source-data/" + std::string(file)));
  std::vector<std::pair<IpAddress, json::object>> out;
  for (const auto& entry : source.as_array()) {
    for (const auto& [network, record] : entry.as_object())
      out.emplace_back(first_address(network), record.as_object());
  }
  return out;
}

std::string_view string_at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = nullptr;
  const json::object* current = &o;
  for (auto key : path) {
    if (!current) return {};
    v = current->if_contains(key);
    if (!v) return {};
    if (v->is_array()) v = v->as_array().empty() ? nullptr : &v->as_array()[0];
    if (!v) return {};
    current = v->if_object();
  }
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

TEST(GeoResolver, CityFieldsMatchTheSourceData) {
  GeoPaths paths;
  paths.city = db("GeoIP2-City-Test.mmdb");
  GeoResolver resolver(paths);
  auto reader = resolver.reader();
  std::size_t checked = 0, v6 = 0;
  for (const auto& [address, record] : source_records("GeoIP2-City-Test.json")) {
    const GeoInfo info = reader.lookup(address);
    const std::string where = address.to_string();
    EXPECT_EQ(info.country.view(), string_at(record, {"country", "iso_code"})) << where;
    EXPECT_EQ(info.region, string_at(record, {"subdivisions", "iso_code"})) << where;
    EXPECT_EQ(info.city, string_at(record, {"city", "names", "en"})) << where;
    if (const auto* location = record.if_contains("location"); location && location->as_object().contains("latitude")) {
      ASSERT_TRUE(info.latitude.has_value()) << where;
      EXPECT_DOUBLE_EQ(*info.latitude, location->at("latitude").to_number<double>()) << where;
      EXPECT_DOUBLE_EQ(*info.longitude, location->at("longitude").to_number<double>()) << where;
    }
    ++checked;
    v6 += address.is_v4() ? 0 : 1;
  }
  EXPECT_GT(checked, 200u);
  EXPECT_GT(v6, 20u);
}

TEST(GeoResolver, IspAsnConnectionAndAnonymousMatchTheSourceData) {
  GeoResolver resolver(all_databases());
  auto reader = resolver.reader();
  std::size_t checked = 0;
  for (const auto& [address, record] : source_records("GeoIP2-ISP-Test.json")) {
    const GeoInfo info = reader.lookup(address);
    EXPECT_EQ(info.isp, string_at(record, {"isp"})) << address.to_string();
    EXPECT_EQ(info.organization, string_at(record, {"organization"})) << address.to_string();
    ++checked;
  }
  for (const auto& [address, record] : source_records("GeoLite2-ASN-Test.json")) {
    const GeoInfo info = reader.lookup(address);
    EXPECT_EQ(info.asn, record.at("autonomous_system_number").to_number<std::uint32_t>()) << address.to_string();
    EXPECT_EQ(info.asn_organization, string_at(record, {"autonomous_system_organization"})) << address.to_string();
    ++checked;
  }
  for (const auto& [address, record] : source_records("GeoIP2-Connection-Type-Test.json")) {
    EXPECT_EQ(reader.lookup(address).connection_type, string_at(record, {"connection_type"})) << address.to_string();
    ++checked;
  }
  for (const auto& [address, record] : source_records("GeoIP2-Anonymous-IP-Test.json")) {
    const GeoInfo info = reader.lookup(address);
    const json::object& fields = record;  // clang 14 cannot capture structured bindings
    auto flag = [&](std::string_view key) { return fields.contains(key) && fields.at(key).as_bool(); };
    EXPECT_EQ(info.is_anonymous, flag("is_anonymous")) << address.to_string();
    EXPECT_EQ(info.is_anonymous_vpn, flag("is_anonymous_vpn")) << address.to_string();
    EXPECT_EQ(info.is_hosting_provider, flag("is_hosting_provider")) << address.to_string();
    EXPECT_EQ(info.is_public_proxy, flag("is_public_proxy")) << address.to_string();
    EXPECT_EQ(info.is_tor_exit_node, flag("is_tor_exit_node")) << address.to_string();
    EXPECT_EQ(info.is_residential_proxy, flag("is_residential_proxy")) << address.to_string();
    ++checked;
  }
  EXPECT_GT(checked, 2500u);
}

TEST(GeoResolver, TheSampleRecipeVisitors) {
  GeoResolver resolver(all_databases());
  auto reader = resolver.reader();
  GeoInfo us = reader.lookup(ip("216.160.83.56"));
  EXPECT_EQ(us.country.view(), "US");
  EXPECT_EQ(us.region, "WA");
  EXPECT_EQ(us.city, "Milton");
  EXPECT_EQ(us.isp, "Century Link");
  EXPECT_EQ(reader.lookup(ip("81.2.69.142")).country.view(), "GB");
  EXPECT_EQ(reader.lookup(ip("89.160.20.112")).country.view(), "SE");
  EXPECT_EQ(reader.lookup(ip("175.16.199.1")).country.view(), "CN");
  GeoInfo telstra = reader.lookup(ip("1.128.0.1"));
  EXPECT_TRUE(telstra.country.empty());
  EXPECT_EQ(telstra.isp, "Telstra Internet");
  // Same visitor over an IPv4-mapped IPv6 socket address.
  EXPECT_EQ(reader.lookup(ip("::ffff:216.160.83.56")).city, "Milton");
}

TEST(GeoResolver, AFailedLookupIsEmptyNotThePreviousVisitor) {
  GeoResolver resolver(all_databases());
  auto reader = resolver.reader();
  ASSERT_EQ(reader.lookup(ip("216.160.83.56")).country.view(), "US");
  for (const char* unknown : {"10.0.0.1", "127.0.0.1", "::1", "203.0.113.7", "2001:db8::1"}) {
    const GeoInfo info = reader.lookup(ip(unknown));
    EXPECT_TRUE(info.country.empty()) << unknown;
    EXPECT_TRUE(info.city.empty()) << unknown;
    EXPECT_TRUE(info.region.empty()) << unknown;
    EXPECT_TRUE(info.isp.empty()) << unknown;
    EXPECT_FALSE(info.latitude.has_value()) << unknown;
    EXPECT_EQ(info.asn, 0u) << unknown;
  }
  EXPECT_EQ(resolver.data_errors(), 0u);
}

TEST(GeoResolver, IPv4OnlyDatabaseAnswersIPv6WithEmptyFields) {
  GeoPaths paths;
  paths.city = db("GeoIP2-City-Test.mmdb");
  paths.connection_type = db("GeoIP2-Connection-Type-Test.mmdb");
  GeoResolver resolver(paths);
  auto reader = resolver.reader();
  EXPECT_NO_FATAL_FAILURE((void)reader.lookup(ip("2a02:ff80::1")));
}

TEST(GeoResolver, StartupErrorsNameTheVariable) {
  auto expect_error = [](GeoPaths paths, std::string_view variable, std::string_view reason) {
    try {
      GeoResolver resolver(std::move(paths));
      ADD_FAILURE() << "expected a failure for " << variable;
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_TRUE(message.starts_with(std::string(variable) + "=")) << message;
      EXPECT_NE(message.find(reason), std::string::npos) << message;
    }
  };
  GeoPaths missing;
  missing.city = "/nonexistent/GeoIP2-City.mmdb";
  expect_error(missing, "MAXMIND_PATH", "cannot stat");
  GeoPaths swapped;
  swapped.city = db("GeoIP2-ISP-Test.mmdb");
  expect_error(swapped, "MAXMIND_PATH", "not City");
  GeoPaths isp_is_city;
  isp_is_city.city = db("GeoIP2-City-Test.mmdb");
  isp_is_city.isp = db("GeoIP2-City-Test.mmdb");
  expect_error(isp_is_city, "MAXMIND_PATH_ISP", "not ISP");
  GeoPaths not_a_database;
  not_a_database.city = test::data_path("recipes/cases.json");
  expect_error(not_a_database, "MAXMIND_PATH", "");
  // A Country database is accepted in the City slot (country only).
  GeoPaths country;
  country.city = db("GeoIP2-Country-Test.mmdb");
  GeoResolver resolver(country);
  auto reader = resolver.reader();
  EXPECT_EQ(reader.lookup(ip("81.2.69.142")).country.view(), "GB");
  EXPECT_TRUE(reader.lookup(ip("81.2.69.142")).city.empty());
}

bool same(const GeoInfo& a, const GeoInfo& b) {
  return a.country == b.country && a.region == b.region && a.city == b.city && a.latitude == b.latitude &&
         a.longitude == b.longitude && a.isp == b.isp && a.organization == b.organization && a.asn == b.asn &&
         a.asn_organization == b.asn_organization && a.connection_type == b.connection_type &&
         a.is_anonymous == b.is_anonymous && a.is_anonymous_vpn == b.is_anonymous_vpn &&
         a.is_hosting_provider == b.is_hosting_provider && a.is_public_proxy == b.is_public_proxy &&
         a.is_tor_exit_node == b.is_tor_exit_node && a.is_residential_proxy == b.is_residential_proxy;
}

// A reader remembers decoded records; whatever order addresses come in, and however often,
// its answers are the uncached lookup's.
TEST(GeoResolver, ReaderAnswersEqualUncachedLookups) {
  GeoResolver resolver(all_databases());
  auto reader = resolver.reader();
  std::vector<IpAddress> addresses;
  for (const char* file : {"GeoIP2-City-Test.json", "GeoIP2-ISP-Test.json", "GeoIP2-Anonymous-IP-Test.json"}) {
    for (const auto& [address, record] : source_records(file)) addresses.push_back(address);
  }
  ASSERT_GT(addresses.size(), 100u);
  std::shared_ptr<const Databases> hold;
  std::size_t differing = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      const auto& address = addresses[pass == 1 ? addresses.size() - 1 - i : i];
      if (!same(reader.lookup(address), resolver.lookup(address, hold))) ++differing;
    }
  }
  EXPECT_EQ(differing, 0u);
}

// Every corrupt database of MaxMind's test set is refused at open or read without crashing
// (the ASan preset makes "without crashing" mean "without touching memory it should not").
TEST(GeoResolver, CorruptDatabasesAreRefusedOrReadSafely) {
  std::vector<IpAddress> probes;
  for (int a = 0; a < 256; a += 3) probes.push_back(IpAddress::v4({static_cast<std::uint8_t>(a), 1, 2, 3}));
  for (const char* v6 : {"::1", "2001:db8::1", "ffff::1", "::", "::ffff:1.2.3.4", "1::"}) probes.push_back(ip(v6));
  std::size_t refused = 0, opened = 0, files = 0;
  for (const auto& entry : fs::directory_iterator(test::data_path("geoip/bad-data"))) {
    ++files;
    for (auto kind : {DatabaseKind::city, DatabaseKind::isp, DatabaseKind::anonymous_ip}) {
      GeoPaths paths;
      paths.check_database_type = false;
      (kind == DatabaseKind::city  ? paths.city
       : kind == DatabaseKind::isp ? paths.isp
                                   : paths.anonymous_ip) = entry.path().string();
      try {
        GeoResolver resolver(paths);
        ++opened;
        auto reader = resolver.reader();
        for (const auto& address : probes) (void)reader.lookup(address);
      } catch (const std::runtime_error& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()).find("MAXMIND_PATH"), std::string::npos);
      }
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(files, 21u);
  EXPECT_EQ(refused + opened, 3 * files);
}

class GeoReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("geo-reload-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    live_ = (dir_ / "City.mmdb").string();
    fs::copy_file(db("GeoIP2-City-Test.mmdb"), live_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Replaces the live file by rename, as operators (and geoipupdate) do.
  void replace_with(const std::string& source) {
    const auto staging = dir_ / "staging.mmdb";
    fs::copy_file(source, staging, fs::copy_options::overwrite_existing);
    fs::rename(staging, live_);
  }
  GeoPaths paths() const {
    GeoPaths p;
    p.city = live_;
    return p;
  }
  fs::path dir_;
  std::string live_;
};

TEST_F(GeoReload, PicksUpAReplacedFileAndKeepsOldViewsAlive) {
  GeoResolver resolver(paths());
  auto reader = resolver.reader();
  std::shared_ptr<const Databases> held;
  const GeoInfo before = resolver.lookup(ip("216.160.83.56"), held);
  ASSERT_EQ(before.city, "Milton");
  EXPECT_EQ(resolver.reload().reloaded, 0u);  // unchanged file: nothing to do
  replace_with(db("GeoLite2-City-Test.mmdb"));
  const auto result = resolver.reload();
  EXPECT_EQ(result.reloaded, 1u);
  EXPECT_EQ(result.refused, 0u);
  EXPECT_EQ(resolver.generation(), 2u);
  EXPECT_EQ(reader.lookup(ip("216.160.83.56")).country.view(), "US");
  // The old mapping is still open for whoever holds it.
  EXPECT_EQ(before.city, "Milton");
}

// The reader's remembered records belong to one generation: after a reload it answers
// from the new file even for an address it has just looked up.
TEST_F(GeoReload, ReaderForgetsDecodedRecordsOfTheOldGeneration) {
  GeoResolver resolver(paths());
  auto reader = resolver.reader();
  ASSERT_EQ(reader.lookup(ip("216.160.83.56")).city, "Milton");
  ASSERT_EQ(reader.lookup(ip("216.160.83.56")).city, "Milton");
  replace_with(db("GeoIP2-Country-Test.mmdb"));  // country only
  ASSERT_EQ(resolver.reload().reloaded, 1u);
  const GeoInfo after = reader.lookup(ip("216.160.83.56"));
  EXPECT_EQ(after.country.view(), "US");
  EXPECT_TRUE(after.city.empty());
  EXPECT_FALSE(after.latitude.has_value());
}

TEST_F(GeoReload, RefusesACorruptReplacementAndKeepsServing) {
  GeoResolver resolver(paths());
  auto reader = resolver.reader();
  replace_with(test::data_path("geoip/bad-data/libmaxminddb-corrupt-search-tree.mmdb"));
  auto result = resolver.reload();
  EXPECT_EQ(result.refused, 1u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("previous one stays in service"), std::string::npos);
  EXPECT_EQ(resolver.refused_reloads(), 1u);
  EXPECT_EQ(reader.lookup(ip("216.160.83.56")).city, "Milton");
  replace_with(db("GeoIP2-ISP-Test.mmdb"));  // wrong kind of database
  EXPECT_EQ(resolver.reload().refused, 1u);
  fs::remove(live_);  // a missing file is refused too
  EXPECT_EQ(resolver.reload().refused, 1u);
  EXPECT_EQ(reader.lookup(ip("216.160.83.56")).city, "Milton");
  EXPECT_EQ(resolver.generation(), 1u);
}

// Lookups on several threads while the file is replaced and reloaded; every lookup sees
// one database or the other, whole. Run under ThreadSanitizer by the tsan preset.
TEST_F(GeoReload, ConcurrentLookupsDuringReloads) {
  GeoResolver resolver(paths());
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> lookups{0};
  std::atomic<std::size_t> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto reader = resolver.reader();
      while (!stop.load(std::memory_order_relaxed)) {
        const GeoInfo info = reader.lookup(ip("216.160.83.56"));
        if (info.country.view() != "US") ++wrong;
        lookups.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    replace_with(db(round % 2 ? "GeoIP2-City-Test.mmdb" : "GeoLite2-City-Test.mmdb"));
    EXPECT_EQ(resolver.reload().reloaded, 1u);
  }
  while (lookups.load() < 1000) std::this_thread::yield();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(resolver.generation(), 21u);
}

}  // namespace
}  // namespace traffic::geo
