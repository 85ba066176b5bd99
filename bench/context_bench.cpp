// The per-click context lookups (issue 3): City+ISP lookup (target ≤ 1 µs), device
// detection cached (≤ 0.3 µs) and uncached (≤ 20 µs) over a mix of 10,000 real-world user
// agents drawn from uap-core's test files, and client-IP resolution.
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "traffic/device/detector.hpp"
#include "traffic/geo/resolver.hpp"
#include "traffic/net/client_ip.hpp"

namespace {

using traffic::net::IpAddress;

std::string data(std::string_view relative) {
  return std::string(TRAFFIC_TEST_DATA_DIR) + "/" + std::string(relative);
}

const traffic::geo::GeoResolver& resolver() {
  static const traffic::geo::GeoResolver r([] {
    traffic::geo::GeoPaths paths;
    paths.city = data("geoip/test-data/GeoIP2-City-Test.mmdb");
    paths.isp = data("geoip/test-data/GeoIP2-ISP-Test.mmdb");
    return paths;
  }());
  return r;
}

const traffic::device::DeviceDetector& detector() {
  static const traffic::device::DeviceDetector d;
  return d;
}

// 10,000 user agents: every UA of uap-core's browser, OS and device test files, shuffled
// with a fixed seed and cut to size — a realistic spread of browsers, phones and bots.
const std::vector<std::string>& user_agents() {
  static const std::vector<std::string> agents = [] {
    std::vector<std::string> all;
    for (const char* file : {"tests/test_ua.yaml", "tests/test_os.yaml", "tests/test_device.yaml"}) {
      const YAML::Node root = YAML::LoadFile(std::string("/usr/share/uap-core/") + file);
      for (const auto& c : root["test_cases"]) all.push_back(c["user_agent_string"].as<std::string>());
    }
    std::mt19937_64 rng(42);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(std::min<std::size_t>(all.size(), 10'000));
    return all;
  }();
  return agents;
}

const IpAddress kGeoAddresses[] = {*IpAddress::parse("216.160.83.56"), *IpAddress::parse("81.2.69.142"),
                                   *IpAddress::parse("89.160.20.112"), *IpAddress::parse("2001:218::1"),
                                   *IpAddress::parse("1.128.0.1"),     *IpAddress::parse("203.0.113.9")};

// Through a per-thread reader, as the server does: after the first round every record's
// decoded fields are remembered, so this is the tree walk plus a copy.
void BM_GeoLookupCityIsp(benchmark::State& state) {
  auto reader = resolver().reader();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(reader.lookup(kGeoAddresses[i++ % std::size(kGeoAddresses)]));
}
BENCHMARK(BM_GeoLookupCityIsp);

// Without the reader's memory: every record decoded field by field (plus a short mutex to
// take the current databases), the cost of an address whose record the reader has not seen.
void BM_GeoLookupCityIspDecoded(benchmark::State& state) {
  std::shared_ptr<const traffic::geo::Databases> hold;
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(resolver().lookup(kGeoAddresses[i++ % std::size(kGeoAddresses)], hold));
}
BENCHMARK(BM_GeoLookupCityIspDecoded);

void BM_DeviceDetectCached(benchmark::State& state) {
  const auto& agents = user_agents();
  for (const auto& ua : agents) (void)detector().detect(ua);  // warm the cache
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(detector().detect(agents[i++ % agents.size()]));
}
BENCHMARK(BM_DeviceDetectCached);

// RE2 builds DFA states lazily, so the first sight of each new kind of agent is slower
// than the steady state of a running server. The first pass over the mix, on a detector
// of its own that has parsed nothing yet, is reported as its own figure (first_pass_us);
// the timed loop then measures the warm, uncached parse.
void BM_DeviceParseUncached(benchmark::State& state) {
  const auto& agents = user_agents();
  static const traffic::device::DeviceDetector fresh;
  static const double first_pass_us = [&] {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& ua : agents) benchmark::DoNotOptimize(fresh.parse(ua));
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
           static_cast<double>(agents.size());
  }();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(fresh.parse(agents[i++ % agents.size()]));
  state.counters["first_pass_us"] = first_pass_us;
}
BENCHMARK(BM_DeviceParseUncached)->MinTime(2.0);

void BM_ClientIpTrustedProxy(benchmark::State& state) {
  const auto policy = traffic::net::TrustProxy::parse("loopback,private");
  const IpAddress peer = *IpAddress::parse("127.0.0.1");
  for (auto _ : state) {
    benchmark::DoNotOptimize(traffic::net::client_ip(peer, "203.0.113.7, 216.160.83.56, 10.0.0.3", policy));
  }
}
BENCHMARK(BM_ClientIpTrustedProxy);

}  // namespace
