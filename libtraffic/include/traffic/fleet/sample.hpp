#pragma once
// The fleet view's sample (SPEC.md §14, docs/fleet.md): what one instance says of itself
// once a second — the machine, the process, its traffic and latency, its pipeline, its
// recipe and its Redis. Value types and readers of /proc; publishing is publisher.hpp's.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "traffic/common/error.hpp"
#include "traffic/common/time.hpp"

namespace traffic::fleet {

/// What changes rarely or never: read once at start.
struct HostFacts {
  std::string host_name;  ///< uname's nodename
  std::string os;         ///< "Debian GNU/Linux 12 (bookworm), Linux 6.1.0-…" (os-release and uname)
  std::string cpu_model;  ///< /proc/cpuinfo's "model name" (or "Hardware"/"cpu model")
  unsigned cores = 0;     ///< online CPUs
  double cpu_mhz = 0;     ///< the first CPU's "cpu MHz"; 0 when the kernel does not say
};
[[nodiscard]] HostFacts read_host_facts();

/// CPU time so far, in clock ticks: the machine's (all CPUs) and this process's. Two
/// readings give the load between them (cpu_load()).
struct CpuTimes {
  std::uint64_t machine_busy = 0;
  std::uint64_t machine_total = 0;
  std::uint64_t process = 0;
};
[[nodiscard]] CpuTimes read_cpu_times();
/// Between two readings `seconds` apart: the machine's load (0..1 of all its CPUs) and the
/// process's CPU in cores (1.0 = one core busy).
struct CpuLoad {
  double machine = 0;
  double process_cores = 0;
};
[[nodiscard]] CpuLoad cpu_load(const CpuTimes& before, const CpuTimes& after, double seconds);

struct MemoryFacts {
  std::uint64_t resident_bytes = 0;           ///< the process's RSS
  std::uint64_t machine_available_bytes = 0;  ///< MemAvailable
  std::uint64_t machine_total_bytes = 0;      ///< MemTotal
};
[[nodiscard]] MemoryFacts read_memory();

struct SinkSample {
  std::string name;
  std::uint64_t lag_bytes = 0;        ///< spool bytes not yet taken
  std::uint64_t failures = 0;         ///< failed deliveries since start
  double seconds_since_success = -1;  ///< -1: none yet
  friend bool operator==(const SinkSample&, const SinkSample&) = default;
};

/// One instance, one second.
struct Sample {
  std::string instance;  ///< INSTANCE_ID, or host name and port
  std::string host_name;
  std::string version;
  std::string os;
  std::string cpu_model;
  unsigned cores = 0;
  double cpu_mhz = 0;
  TimestampMs at = 0;         ///< when it was taken (the instance's clock)
  double uptime_seconds = 0;  ///< of the process
  double machine_cpu = 0;     ///< 0..1 of all cores, over the last second
  double process_cpu = 0;     ///< cores (1.0 = one core busy), over the last second
  std::uint64_t resident_bytes = 0;
  std::uint64_t machine_available_bytes = 0;
  std::uint64_t machine_total_bytes = 0;
  double requests_per_second = 0;
  double clicks_per_second = 0;
  double p50_ms = 0;  ///< request handling, server side, over the last second
  double p99_ms = 0;
  std::vector<std::pair<std::string, double>> decisions_per_second;  ///< by redirect type
  double blocks_per_second = 0;
  double client_errors_per_second = 0;    ///< 4xx answers
  double server_errors_per_second = 0;    ///< 5xx answers
  std::uint64_t spool_backlog_bytes = 0;  ///< the slowest sink's lag
  std::vector<SinkSample> sinks;
  std::uint64_t recipe_version = 0;
  double recipe_age_seconds = -1;  ///< since it was installed; -1: none
  bool redis_configured = false;
  bool redis_ok = false;  ///< the last exchange with Redis went well
  friend bool operator==(const Sample&, const Sample&) = default;
};

/// One line of JSON (the form kept in Redis and sent to dashboards).
[[nodiscard]] std::string to_json(const Sample& sample);
/// Fails with Errc::invalid_input when `text` is not a sample's JSON (another version's
/// extra fields are ignored; missing ones keep their defaults).
[[nodiscard]] Result<Sample> sample_from_json(std::string_view text);

}  // namespace traffic::fleet
