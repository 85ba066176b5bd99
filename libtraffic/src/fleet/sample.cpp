#include "traffic/fleet/sample.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "traffic/fleet/histogram.hpp"

namespace traffic::fleet {

namespace json = boost::json;

namespace {

// Not traffic::read_file: /proc files say they are 0 bytes long, and a missing
// /etc/os-release is an empty answer here, not an error.
std::string whole_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of "key<spaces>: value" lines (/proc/cpuinfo), trimmed; "" when absent.
std::string colon_value(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(key)) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view name = std::string_view(line).substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name != key) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return {};
}

// os-release's PRETTY_NAME, unquoted.
std::string pretty_name() {
  std::istringstream lines(whole_file("/etc/os-release"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("PRETTY_NAME=")) continue;
    std::string value = line.substr(12);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

// "MemTotal:  24000000 kB" → bytes.
std::uint64_t meminfo_bytes(const std::string& text, std::string_view key) {
  const std::string value = colon_value(text, key);
  std::uint64_t kib = 0;
  std::from_chars(value.data(), value.data() + value.size(), kib);
  return kib * 1024;
}

}  // namespace

HostFacts read_host_facts() {
  HostFacts facts;
  utsname names{};
  if (::uname(&names) == 0) {
    facts.host_name = names.nodename;
    const std::string distribution = pretty_name();
    facts.os =
        (distribution.empty() ? std::string(names.sysname) : distribution + ", " + names.sysname) + " " + names.release;
  }
  const std::string cpuinfo = whole_file("/proc/cpuinfo");
  for (const char* key : {"model name", "Hardware", "cpu model", "Processor"}) {
    facts.cpu_model = colon_value(cpuinfo, key);
    if (!facts.cpu_model.empty()) break;
  }
  const std::string mhz = colon_value(cpuinfo, "cpu MHz");
  if (!mhz.empty()) facts.cpu_mhz = std::strtod(mhz.c_str(), nullptr);
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  facts.cores = online > 0 ? static_cast<unsigned>(online) : 0;
  return facts;
}

CpuTimes read_cpu_times() {
  CpuTimes times;
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
  std::istringstream stat(whole_file("/proc/stat"));
  std::string label;
  stat >> label;
  std::uint64_t field[8] = {};
  for (std::uint64_t& value : field) stat >> value;
  const std::uint64_t idle = field[3] + field[4];
  for (const std::uint64_t value : field) times.machine_total += value;
  times.machine_busy = times.machine_total - idle;
  // /proc/self/stat: fields 14 and 15 (utime, stime) after the ")" that ends the name.
  const std::string self = whole_file("/proc/self/stat");
  const auto name_end = self.rfind(')');
  if (name_end != std::string::npos) {
    std::istringstream rest(self.substr(name_end + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) rest >> skip;
    std::uint64_t user = 0;
    std::uint64_t system = 0;
    rest >> user >> system;
    times.process = user + system;
  }
  return times;
}

CpuLoad cpu_load(const CpuTimes& before, const CpuTimes& after, double seconds) {
  CpuLoad load;
  const std::uint64_t total = after.machine_total - before.machine_total;
  if (total > 0 && after.machine_busy >= before.machine_busy)
    load.machine = static_cast<double>(after.machine_busy - before.machine_busy) / static_cast<double>(total);
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (seconds > 0 && ticks > 0 && after.process >= before.process)
    load.process_cores = static_cast<double>(after.process - before.process) / static_cast<double>(ticks) / seconds;
  return load;
}

MemoryFacts read_memory() {
  MemoryFacts memory;
  const std::string meminfo = whole_file("/proc/meminfo");
  memory.machine_total_bytes = meminfo_bytes(meminfo, "MemTotal");
  memory.machine_available_bytes = meminfo_bytes(meminfo, "MemAvailable");
  // /proc/self/statm: size resident … in pages.
  std::istringstream statm(whole_file("/proc/self/statm"));
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  memory.resident_bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return memory;
}

// ---- the histogram's readers ----

double quantile(const LatencyHistogram::Counts& counts, double q) noexcept {
  std::uint64_t total = 0;
  for (const std::uint64_t count : counts) total += count;
  if (total == 0) return 0;
  // The rank of the quantile, 1-based: the smallest count whose cumulative sum reaches it.
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return LatencyHistogram::bucket_middle(i);
  }
  return LatencyHistogram::bucket_middle(counts.size() - 1);
}

LatencyHistogram::Counts difference(const LatencyHistogram::Counts& after,
                                    const LatencyHistogram::Counts& before) noexcept {
  LatencyHistogram::Counts out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = after[i] >= before[i] ? after[i] - before[i] : 0;
  return out;
}

// ---- JSON ----

std::string to_json(const Sample& s) {
  json::object decisions;
  for (const auto& [type, rate] : s.decisions_per_second) decisions[type] = rate;
  json::array sinks;
  for (const SinkSample& sink : s.sinks) {
    sinks.push_back(json::object{{"name", sink.name},
                                 {"lag_bytes", sink.lag_bytes},
                                 {"failures", sink.failures},
                                 {"seconds_since_success", sink.seconds_since_success}});
  }
  return json::serialize(json::object{{"instance", s.instance},
                                      {"host_name", s.host_name},
                                      {"version", s.version},
                                      {"os", s.os},
                                      {"cpu_model", s.cpu_model},
                                      {"cores", s.cores},
                                      {"cpu_mhz", s.cpu_mhz},
                                      {"at", s.at},
                                      {"uptime_seconds", s.uptime_seconds},
                                      {"machine_cpu", s.machine_cpu},
                                      {"process_cpu", s.process_cpu},
                                      {"resident_bytes", s.resident_bytes},
                                      {"machine_available_bytes", s.machine_available_bytes},
                                      {"machine_total_bytes", s.machine_total_bytes},
                                      {"requests_per_second", s.requests_per_second},
                                      {"clicks_per_second", s.clicks_per_second},
                                      {"p50_ms", s.p50_ms},
                                      {"p99_ms", s.p99_ms},
                                      {"decisions_per_second", std::move(decisions)},
                                      {"blocks_per_second", s.blocks_per_second},
                                      {"client_errors_per_second", s.client_errors_per_second},
                                      {"server_errors_per_second", s.server_errors_per_second},
                                      {"spool_backlog_bytes", s.spool_backlog_bytes},
                                      {"sinks", std::move(sinks)},
                                      {"recipe_version", s.recipe_version},
                                      {"recipe_age_seconds", s.recipe_age_seconds},
                                      {"redis_configured", s.redis_configured},
                                      {"redis_ok", s.redis_ok}});
}

namespace {

// Typed reads that leave the default when a field is absent or of another type.
struct Fields {
  const json::object& object;
  void get(std::string_view name, std::string& out) const {
    if (const json::value* v = object.if_contains(name); v != nullptr && v->is_string()) out = v->get_string();
  }
  void get(std::string_view name, double& out) const {
    if (const json::value* v = object.if_contains(name); v != nullptr && v->is_number()) out = v->to_number<double>();
  }
  template <class Int>
  void get_int(std::string_view name, Int& out) const {
    const json::value* v = object.if_contains(name);
    if (v == nullptr) return;
    if (v->is_int64() && v->get_int64() >= 0) out = static_cast<Int>(v->get_int64());
    if (v->is_uint64()) out = static_cast<Int>(v->get_uint64());
  }
  void get(std::string_view name, bool& out) const {
    if (const json::value* v = object.if_contains(name); v != nullptr && v->is_bool()) out = v->get_bool();
  }
};

}  // namespace

Result<Sample> sample_from_json(std::string_view text) {
  json::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Failure(Errc::invalid_input, "not a fleet sample: not a JSON object");
  const Fields f{value.get_object()};
  Sample s;
  f.get("instance", s.instance);
  if (s.instance.empty()) return Failure(Errc::invalid_input, "not a fleet sample: no instance");
  f.get("host_name", s.host_name);
  f.get("version", s.version);
  f.get("os", s.os);
  f.get("cpu_model", s.cpu_model);
  f.get_int("cores", s.cores);
  f.get("cpu_mhz", s.cpu_mhz);
  if (const json::value* at = f.object.if_contains("at"); at != nullptr && at->is_int64()) s.at = at->get_int64();
  f.get("uptime_seconds", s.uptime_seconds);
  f.get("machine_cpu", s.machine_cpu);
  f.get("process_cpu", s.process_cpu);
  f.get_int("resident_bytes", s.resident_bytes);
  f.get_int("machine_available_bytes", s.machine_available_bytes);
  f.get_int("machine_total_bytes", s.machine_total_bytes);
  f.get("requests_per_second", s.requests_per_second);
  f.get("clicks_per_second", s.clicks_per_second);
  f.get("p50_ms", s.p50_ms);
  f.get("p99_ms", s.p99_ms);
  if (const json::value* d = f.object.if_contains("decisions_per_second"); d != nullptr && d->is_object()) {
    for (const auto& [type, rate] : d->get_object()) {
      if (rate.is_number()) s.decisions_per_second.emplace_back(std::string(type), rate.to_number<double>());
    }
  }
  f.get("blocks_per_second", s.blocks_per_second);
  f.get("client_errors_per_second", s.client_errors_per_second);
  f.get("server_errors_per_second", s.server_errors_per_second);
  f.get_int("spool_backlog_bytes", s.spool_backlog_bytes);
  if (const json::value* sinks = f.object.if_contains("sinks"); sinks != nullptr && sinks->is_array()) {
    for (const json::value& entry : sinks->get_array()) {
      if (!entry.is_object()) continue;
      const Fields sink_fields{entry.get_object()};
      SinkSample sink;
      sink_fields.get("name", sink.name);
      sink_fields.get_int("lag_bytes", sink.lag_bytes);
      sink_fields.get_int("failures", sink.failures);
      sink_fields.get("seconds_since_success", sink.seconds_since_success);
      s.sinks.push_back(std::move(sink));
    }
  }
  f.get_int("recipe_version", s.recipe_version);
  f.get("recipe_age_seconds", s.recipe_age_seconds);
  f.get("redis_configured", s.redis_configured);
  f.get("redis_ok", s.redis_ok);
  return s;
}

}  // namespace traffic::fleet
