// The fleet sample: its facts against /proc, and its JSON both ways.

#include "traffic/fleet/sample.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace traffic::fleet {
namespace {

TEST(FleetSample, HostFactsAreTheMachines) {
  const HostFacts facts = read_host_facts();
  char name[256] = {};
  ASSERT_EQ(::gethostname(name, sizeof name), 0);
  EXPECT_EQ(facts.host_name, name);
  EXPECT_EQ(facts.cores, static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_FALSE(facts.cpu_model.empty());
  EXPECT_NE(facts.os.find("Linux"), std::string::npos) << facts.os;
}

TEST(FleetSample, CpuLoadOfABusyThreadAndMemoryOfTheProcess) {
  // The process's CPU time by another route (clock_gettime) is the truth to compare with.
  const auto process_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const CpuTimes before = read_cpu_times();
  const double cpu_before = process_seconds();
  const auto start = std::chrono::steady_clock::now();
  // Busy until this process has used 300 ms of CPU, however loaded the machine is.
  volatile std::uint64_t spin = 0;
  while (process_seconds() - cpu_before < 0.3) spin = spin + 1;
  const CpuTimes after = read_cpu_times();
  const double used = process_seconds() - cpu_before;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const CpuLoad load = cpu_load(before, after, seconds);
  EXPECT_GT(before.machine_total, before.machine_busy);
  // Within two clock ticks (/proc counts in ticks of 10 ms) of what the process used.
  EXPECT_NEAR(load.process_cores * seconds, used, 0.025);
  EXPECT_GT(load.machine, 0.0);
  EXPECT_LE(load.machine, 1.0);

  const MemoryFacts memory = read_memory();
  EXPECT_GT(memory.machine_total_bytes, memory.machine_available_bytes);
  EXPECT_GT(memory.resident_bytes, 0U);
  // RSS as /proc/self/status says it (VmRSS, kB), within a few pages of our reading.
  std::ifstream status("/proc/self/status");
  std::uint64_t vm_rss_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) vm_rss_kib = std::stoull(line.substr(6));
  }
  EXPECT_NEAR(static_cast<double>(memory.resident_bytes), static_cast<double>(vm_rss_kib * 1024), 1 << 20);
}

TEST(FleetSample, JsonBothWays) {
  Sample s;
  s.instance = "edge-1:5000";
  s.host_name = "edge-1";
  s.version = "1.2.3";
  s.os = "Debian GNU/Linux 12 (bookworm), Linux 6.1";
  s.cpu_model = "Intel(R) Xeon(R) \"quoted\"";
  s.cores = 2;
  s.cpu_mhz = 2900.5;
  s.at = 1'796'688'000'123;
  s.uptime_seconds = 12.5;
  s.machine_cpu = 0.25;
  s.process_cpu = 0.75;
  s.resident_bytes = 123'456'789;
  s.machine_available_bytes = 1ULL << 33;
  s.machine_total_bytes = 1ULL << 34;
  s.requests_per_second = 1000.5;
  s.clicks_per_second = 900;
  s.p50_ms = 0.05;
  s.p99_ms = 1.25;
  s.decisions_per_second = {{"offer", 800}, {"campaign", 100}};
  s.blocks_per_second = 3;
  s.client_errors_per_second = 4;
  s.server_errors_per_second = 0.5;
  s.spool_backlog_bytes = 4096;
  s.sinks = {{"file", 4096, 2, 0.1}, {"lidstore", 0, 0, -1}};
  s.recipe_version = 7;
  s.recipe_age_seconds = 60;
  s.redis_configured = true;
  s.redis_ok = true;
  const Result<Sample> back = sample_from_json(to_json(s));
  ASSERT_TRUE(back) << test::failure_of(back);
  EXPECT_EQ(*back, s);

  for (const char* bad : {"", "[]", "{\"at\":1}", "not json", "{\"instance\":\"\"}"}) {
    EXPECT_FALSE(sample_from_json(bad)) << bad;
  }
  // Another version's sample: unknown fields ignored, wrong types left at their defaults.
  const Result<Sample> other = sample_from_json(R"({"instance":"x","future":1,"cores":"two","p99_ms":2})");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->cores, 0U);
  EXPECT_EQ(other->p99_ms, 2.0);
}

}  // namespace
}  // namespace traffic::fleet
