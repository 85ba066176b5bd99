// trafficd under the faults of a bad day (issue: trust under faults): the descriptor limit,
// too many connections, clients that send nothing or wait for 100-continue. The real binary
// over real sockets; docs/reliability.md.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "trafficd_daemon.hpp"

namespace traffic {
namespace {
using namespace test;

// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Reads log lines until one whose "msg" is `message`; false at the end of the log.
bool await_log_line(Process& process, std::string_view message) {
  for (std::string line = process.read_line(); !line.empty(); line = process.read_line()) {
    boost::system::error_code ec;
    const json::value entry = json::parse(line, ec);
    if (!ec && entry.is_object() && entry.as_object().contains("msg") && entry.at("msg").as_string() == message)
      return true;
  }
  return false;
}

int status_of(const std::string& answer) {
  return answer.size() >= 12 && answer.starts_with("HTTP/1.") ? std::stoi(answer.substr(9, 3)) : 0;
}

// With every descriptor in use, accept() fails with EMFILE while the connection waits in the
// backlog, so the listening socket stays readable: retried at once, both request threads
// spun at 100% CPU. Accepting now pauses (until a connection closes, or 100 ms), says so in
// the log, and serves again once descriptors are free.
TEST(TrafficdFaults, AtTheDescriptorLimitAcceptingPausesInsteadOfSpinning) {
  // 128 descriptors (room for a sanitizer runtime's own); MAX_CONNECTIONS out of the way, so
  // that the descriptor limit is reached.
  Daemon daemon({"/usr/bin/prlimit", "--nofile=128:128", "--"}, {"--max-connections", "100000"});
  std::vector<std::unique_ptr<Connection>> hogs;
  for (int i = 0; i < 160; ++i)
    hogs.push_back(std::make_unique<Connection>(daemon.port()));  // the backlog takes the rest
  ASSERT_TRUE(await_log_line(daemon.process(), "out of file descriptors: accepting connections paused"))
      << daemon.process().output();

  // Spinning on accept() burns both request threads: about 2 CPU seconds per second. Paused,
  // the process is nearly idle. (A CPU-use bound with a wide margin, not a speed figure.)
  const double before = cpu_seconds(daemon.process().pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double used = cpu_seconds(daemon.process().pid()) - before;
  EXPECT_LT(used, 0.5) << "CPU seconds used in one second at the descriptor limit";

  hogs.clear();  // descriptors come back: the waiting connections are accepted, then new ones
  EXPECT_TRUE(eventually([&] {
    Connection connection(daemon.port());
    connection.send(get("/api/v1/health", {"Connection: close"}));
    return connection.read_reply().body == "Ok";
  }));
  Connection connection(daemon.port());
  connection.send(get("/metrics"));
  const std::string metrics = connection.read_reply().body;
  EXPECT_NE(metrics.find("trafficd_accept_paused_total{reason=\"fd_limit\"} "), std::string::npos);
  EXPECT_EQ(metrics.find("trafficd_accept_paused_total{reason=\"fd_limit\"} 0\n"), std::string::npos);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// Past MAX_CONNECTIONS a new connection gets a 503 with Retry-After at once and is closed;
// the open ones are still served, and a closed one makes room.
TEST(TrafficdFaults, PastMaxConnectionsNewConnectionsGetA503) {
  Daemon daemon({"--max-connections", "3"});
  std::vector<std::unique_ptr<Connection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Connection>(daemon.port()));
    open.back()->send(get("/api/v1/health"));
    ASSERT_EQ(open.back()->read_reply().status, 200);  // accepted and counted
  }
  {
    Connection refused(daemon.port());
    refused.send(get("/api/v1/health"));
    bool timed_out = false;
    const std::string answer = refused.read_to_end(&timed_out);
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(status_of(answer), 503) << answer;
    EXPECT_NE(answer.find("\r\nRetry-After: 1\r\n"), std::string::npos) << answer;
  }
  open[0]->send(get("/api/v1/health"));
  EXPECT_EQ(open[0]->read_reply().body, "Ok");

  open.pop_back();  // room for one
  EXPECT_TRUE(eventually([&] {
    Connection connection(daemon.port());
    connection.send(get("/api/v1/health", {"Connection: close"}));
    return connection.read_reply().status == 200;
  }));
  open[0]->send(get("/metrics"));
  const std::string metrics = open[0]->read_reply().body;
  EXPECT_EQ(metrics.find("trafficd_connections_refused_total{reason=\"max_connections\"} 0\n"), std::string::npos);
  EXPECT_TRUE(await_log_line(daemon.process(), "MAX_CONNECTIONS reached: new connections answered 503 and closed"));
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// Over MAX_MEMORY_MB (1 MiB here: always over), clicks are shed with a 503 the client may
// retry, /ready says why so the load balancer moves on, and health and metrics still answer.
TEST(TrafficdFaults, OverTheMemoryBoundClicksAreShedWithA503) {
  Daemon daemon({"--max-memory-mb", "1"});
  ASSERT_TRUE(await_log_line(daemon.process(),
                             "memory over MAX_MEMORY_MB: clicks and postbacks are answered 503 until it falls"));
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  Connection connection(daemon.port());
  connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
  const auto shed = connection.read_reply();
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(shed.headers.count("location"), 0U);
  EXPECT_EQ(shed.headers.at("retry-after"), "1");
  connection.send(get("/ready"));
  const auto ready = connection.read_reply();
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("memory over MAX_MEMORY_MB"), std::string::npos) << ready.body;
  connection.send(get("/api/v1/health"));
  EXPECT_EQ(connection.read_reply().body, "Ok");
  connection.send(get("/metrics"));
  const std::string metrics = connection.read_reply().body;
  EXPECT_NE(metrics.find("trafficd_shedding 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("trafficd_shed_requests_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("trafficd_memory_limit_bytes 1048576\n"), std::string::npos);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// A connection that never sends a byte is closed at the header timeout (1 s in these tests),
// not held for the keep-alive idle time (60 s by default).
TEST(TrafficdFaults, ASilentConnectionIsClosedAtTheHeaderTimeout) {
  Daemon daemon({"--idle-timeout-seconds", "60"});
  Connection silent(daemon.port());  // its reads give up after 10 s
  bool timed_out = false;
  EXPECT_EQ(silent.read_to_end(&timed_out), "");
  EXPECT_FALSE(timed_out) << "still open after 10 s";
  // A keep-alive connection that was served keeps the idle timeout.
  Connection kept(daemon.port());
  kept.send(get("/api/v1/health"));
  ASSERT_EQ(kept.read_reply().status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the header timeout, within the idle one
  kept.send(get("/api/v1/health"));
  EXPECT_EQ(kept.read_reply().status, 200);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// `Expect: 100-continue` (curl sends it with bodies over 1 KiB): a go-ahead, then the body is
// read; any other expectation is a 417.
TEST(TrafficdFaults, ExpectContinueGetsAGoAheadAndOtherExpectationsA417) {
  Daemon daemon;
  const std::string body = "{\"lid\":\"" + std::string(1500, 'x') + "\"}";
  Connection connection(daemon.port());
  connection.send(
      "POST /lid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  const auto go_ahead = connection.read_reply(/*head=*/true);
  EXPECT_EQ(go_ahead.status, 100);
  connection.send(body);
  const auto answer = connection.read_reply();
  EXPECT_NE(answer.status, 100);
  EXPECT_GE(answer.status, 200);  // the postback's own answer (no secret here: refused)

  Connection other(daemon.port());
  other.send("POST /lid HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\n{}");
  bool timed_out = false;
  const std::string refused = other.read_to_end(&timed_out);
  EXPECT_EQ(status_of(refused), 417) << refused;
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// Request lines past MAX_REQUEST_LINE (8 KiB) are refused with 414 whatever their length up
// to the whole head's bound, sent at once or in pieces.
TEST(TrafficdFaults, EveryRequestLinePastTheLimitIsA414) {
  Daemon daemon;
  // The line is "GET /api/v1/health?aaa… HTTP/1.1": 28 bytes around the a's.
  const auto request_with_line = [](std::size_t length) {
    return "GET /api/v1/health?" + std::string(length - 28, 'a') + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  };
  {
    Connection at_the_limit(daemon.port());
    at_the_limit.send(request_with_line(8192));
    EXPECT_EQ(status_of(at_the_limit.read_to_end()), 200);
  }
  for (const std::size_t length : {8193u, 12000u, 17000u, 24000u, 40000u}) {
    for (const std::size_t piece : {std::size_t{0}, std::size_t{1000}}) {
      const std::string request = request_with_line(length);
      Connection connection(daemon.port());
      if (piece == 0) {
        connection.send(request);
      } else {
        connection.send_in_pieces(request, piece);
      }
      bool timed_out = false;
      const std::string answer = connection.read_to_end(&timed_out);
      EXPECT_EQ(status_of(answer), 414) << length << " in pieces of " << piece << ": " << answer.substr(0, 80);
      EXPECT_TRUE(std::regex_search(answer, std::regex("\r\nX-Request-Id: [0-9a-f-]{36}\r\n"))) << answer;
    }
  }
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

}  // namespace
}  // namespace traffic
