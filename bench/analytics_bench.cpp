// The event analytics consumer against a real redis-server (docs/benchmarks.md): how many
// events per second one core of the sink applies, and what Redis spends on them.
//
//   analytics_bench [--events N] [--redis-port P]
// Without --redis-port it starts its own redis-server on a free port. Records are made
// first (not timed): 40 % page views over 50 websites × 200 pages, 50 % impressions and
// 10 % clicks over 2,000 ads, by 200,000 visitors, delivered in batches of 4,096 as the
// emitter delivers them.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "traffic/common/clock.hpp"
#include "traffic/events/analytics.hpp"
#include "traffic/events/event_record.hpp"

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Redis's own CPU (INFO cpu: used_cpu_user + used_cpu_sys), in seconds.
double redis_cpu_seconds(traffic::redis::Connection& connection) {
  std::vector<traffic::redis::Reply> replies;
  connection.append({"INFO", "cpu"});
  if (!connection.execute(replies) || replies.empty()) return 0;
  double total = 0;
  for (const char* field : {"used_cpu_user:", "used_cpu_sys:"}) {
    const auto at = replies[0].text.find(field);
    if (at != std::string::npos) total += std::stod(replies[0].text.substr(at + std::strlen(field)));
  }
  return total;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 1'000'000;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--events") events = std::stoul(argv[i + 1]);
    if (std::string(argv[i]) == "--redis-port") port = std::stoi(argv[i + 1]);
  }
  pid_t redis = 0;
  if (port == 0) {
    port = free_port();
    redis = fork();
    if (redis == 0) {
      const std::string p = std::to_string(port);
      execl("/usr/bin/redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--logfile", "/dev/null", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  traffic::redis::Endpoint endpoint;
  endpoint.port = port;
  traffic::redis::Connection probe(endpoint);
  for (int attempt = 0; attempt < 200 && redis_cpu_seconds(probe) == 0; ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));

  // The records, made before the clock starts.
  std::mt19937_64 random(42);
  const traffic::TimestampMs now = traffic::SystemClock().now();
  std::vector<std::string> records(events);
  std::vector<traffic::pipeline::RecordOrigin> origins(events);
  for (std::size_t i = 0; i < events; ++i) {
    traffic::events::Event event;
    const unsigned kind = static_cast<unsigned>(random() % 10);
    event.type = kind < 4   ? traffic::events::EventType::page_view
                 : kind < 9 ? traffic::events::EventType::ad_impression
                            : traffic::events::EventType::ad_click;
    event.website = "site-" + std::to_string(random() % 50) + ".example";
    event.page = "/story/" + std::to_string(random() % 200);
    event.ad_id = "ad-" + std::to_string(random() % 2000);
    const std::string visitor = "0f8e2c4a-1b3d-4e5f-8a9b-" + std::to_string(100'000'000'000 + random() % 200'000);
    traffic::events::EventFacts facts;
    facts.event_id = "00000000-0000-4000-8000-000000000000";
    facts.date_added = now;
    facts.visitor_id = visitor;
    facts.visitor_source = traffic::events::VisitorSource::cookie;
    facts.ip = "81.2.69.142";
    facts.country = "GB";
    facts.device = "desktop";
    facts.os = "Windows";
    facts.browser = "Chrome";
    facts.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
    traffic::events::append_event_record(records[i], event, facts);
    origins[i] = {0, {1, (i + 1) * 512}};
  }

  traffic::events::AnalyticsSink sink(
      {.endpoint = endpoint, .key_prefix = "bench:", .source = "bench-" + std::to_string(getpid()) + ":analytics"});
  constexpr std::size_t kBatch = 4096;
  std::vector<std::string_view> batch;
  const double redis_before = redis_cpu_seconds(probe);
  const double cpu_before = thread_cpu_seconds();
  const auto wall_before = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < events; at += kBatch) {
    const std::size_t end = std::min(events, at + kBatch);
    batch.assign(records.begin() + static_cast<std::ptrdiff_t>(at), records.begin() + static_cast<std::ptrdiff_t>(end));
    if (const auto applied = sink.deliver_with_origins(batch, std::span(origins).subspan(at, end - at)); !applied) {
      std::fprintf(stderr, "delivery failed: %s\n", applied.error().detail.c_str());
      return 1;
    }
  }
  const double cpu = thread_cpu_seconds() - cpu_before;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  const double redis_cpu = redis_cpu_seconds(probe) - redis_before;
  std::printf("analytics sink: %zu events in batches of %zu\n", events, kBatch);
  std::printf("  sink thread CPU   %.3f s  -> %.0f events/s per core\n", cpu, static_cast<double>(events) / cpu);
  std::printf("  redis-server CPU  %.3f s  -> %.0f events/s per core\n", redis_cpu,
              static_cast<double>(events) / redis_cpu);
  std::printf("  wall              %.3f s  -> %.0f events/s end to end (one sink, one Redis)\n", wall,
              static_cast<double>(events) / wall);
  if (redis != 0) {
    kill(redis, SIGTERM);
    waitpid(redis, nullptr, 0);
  }
  return 0;
}
