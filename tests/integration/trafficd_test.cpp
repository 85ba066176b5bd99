// trafficd as it runs: the real binary on port 0 with the sample recipe and the MaxMind
// test databases, spoken to over real sockets. Every case of cases.json, then hostile
// input, then a clean SIGTERM.

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <map>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "case_check.hpp"
#include "digest.hpp"
#include "http_collector.hpp"
#include "process.hpp"
#include "redis_server.hpp"
#include "s3_fake.hpp"
#include "sentinel_cluster.hpp"
#include "test_support.hpp"
#include "traffic/common/clock.hpp"
#include "traffic/lid/lid.hpp"
#include "traffic/url/redirect_url.hpp"
#include "trafficd_daemon.hpp"

namespace traffic {
namespace {
namespace json = boost::json;
using namespace test;  // trafficd_daemon.hpp: Daemon, Connection, ClickLoad, get, …

TEST(Trafficd, EveryCaseOverHttpThenACleanShutdown) {
  Daemon daemon;
  Connection connection(daemon.port());  // one keep-alive connection for all of them
  for (const auto& entry : cases_file().at("cases").as_array()) {
    const json::object& c = entry.as_object();
    const std::vector<std::string> visitor{"X-Forwarded-For: " + std::string(c.at("ip").as_string()),
                                           "User-Agent: " + std::string(c.at("user_agent").as_string())};
    auto admin = visitor;
    admin.push_back("Authorization: Bearer " + std::string(kAdminToken));
    connection.send(get(click_target(c, "&debugging=debugging"), admin));
    const auto debug = connection.read_reply();
    const std::string method(c.at("method").as_string());
    connection.send(get(click_target(c), visitor, method));
    const auto reply = connection.read_reply(method == "HEAD");

    test::ObservedClick seen;
    seen.status = reply.status;
    if (method != "HEAD") seen.body = reply.body;
    if (reply.status == 302) {
      ASSERT_EQ(debug.status, 200) << debug.body;
      test::observe_redirect(seen, reply.headers.at("location"), debug.body, "urlsecret");
    }
    EXPECT_EQ(reply.headers.count("x-request-id"), 1U);
    test::expect_case(c, seen);
  }
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
}

struct Hostile {
  const char* name;
  std::string bytes;
  int status;  // 0: just a closed connection
};

TEST(Trafficd, HostileInputGetsAClearAnswerAndTheServerKeepsServing) {
  Daemon daemon;
  static constexpr char kGarbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n";
  const std::string long_target = "/pl?o=" + std::string(9000, 'a');
  std::string big_headers;
  for (int i = 0; i < 20; ++i) big_headers += "X-Filler-" + std::to_string(i) + ": " + std::string(900, 'b') + "\r\n";
  std::string many_headers;
  for (int i = 0; i < 150; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  const std::vector<Hostile> cases = {
      {"TE and CL",
       "POST /admin/records HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"TE not chunked", "POST /admin/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"TE chunked not final", "POST /admin/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       400},
      {"two Content-Lengths",
       "POST /admin/records HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"request line", "GET " + long_target + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"header bytes", "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + big_headers + "\r\n", 431},
      {"150 headers", "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + many_headers + "\r\n", 431},
      {"body on GET", "GET /pl?o=x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"body too large",
       "POST /admin/records HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + std::string(70000, 'x'), 413},
      {"garbage", std::string(kGarbage, sizeof kGarbage - 1), 400},
      {"bad version", "GET / HTTP/9.9\r\n\r\n", 400},
  };
  for (const auto& hostile : cases) {
    Connection connection(daemon.port());
    connection.send(hostile.bytes);
    bool timed_out = false;
    const std::string answer = connection.read_to_end(&timed_out);
    EXPECT_FALSE(timed_out) << hostile.name << ": the connection should be closed";
    ASSERT_GE(answer.size(), 12U) << hostile.name;
    EXPECT_EQ(std::stoi(answer.substr(9, 3)), hostile.status) << hostile.name << "\n" << answer;
    EXPECT_EQ(answer.find("exception"), std::string::npos) << hostile.name;
    // Refused by the server before the handler: still an id to find it by in logs.
    EXPECT_TRUE(std::regex_search(answer, std::regex("\r\nX-Request-Id: [0-9a-f-]{36}\r\n"))) << hostile.name;
  }
  {  // Slow headers: the header deadline (1 s here) closes the connection.
    Connection slow(daemon.port());
    slow.send("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n");
    bool timed_out = false;
    EXPECT_EQ(slow.read_to_end(&timed_out), "");
    EXPECT_FALSE(timed_out);
  }
  {  // Debug without the token is a plain click; admin routes refuse.
    const auto& c = cases_file().at("cases").as_array()[0].as_object();
    Connection connection(daemon.port());
    connection.send(get(click_target(c, "&debugging=debugging"), {"X-Forwarded-For: 216.160.83.56"}));
    EXPECT_EQ(connection.read_reply().status, 302);
    connection.send(get("/getRecipeData?offerId=100"));
    EXPECT_EQ(connection.read_reply().status, 401);
    connection.send(get("/admin/records", {"Content-Length: 2"}, "POST") + "{}");
    EXPECT_EQ(connection.read_reply().status, 401);
  }
  {  // Pipelining: three requests in one write, three answers in order.
    Connection connection(daemon.port());
    connection.send(get("/api/v1/health", {"X-Request-Id: one"}) + get("/ready", {"X-Request-Id: two"}) +
                    get("/nothing", {"X-Request-Id: three"}));
    const auto a = connection.read_reply();
    const auto b = connection.read_reply();
    const auto c = connection.read_reply();
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "Ok");
    EXPECT_EQ(a.headers.at("x-request-id"), "one");
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ(b.headers.at("x-request-id"), "two");
    EXPECT_EQ(c.status, 404);
    EXPECT_EQ(c.headers.at("x-request-id"), "three");
  }
  {  // HTTP/1.0: answered, then closed.
    Connection connection(daemon.port());
    connection.send("GET /api/v1/health HTTP/1.0\r\n\r\n");
    bool timed_out = false;
    const std::string answer = connection.read_to_end(&timed_out);
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.0 200");
  }
  // Still serving.
  Connection connection(daemon.port());
  connection.send(get("/api/v1/health"));
  EXPECT_EQ(connection.read_reply().body, "Ok");
  connection.send(get("/metrics"));
  const auto metrics = connection.read_reply();
  EXPECT_NE(metrics.body.find("trafficd_requests_total{route=\"other\",status=\"431\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

TEST(Trafficd, EveryAcknowledgedClickSurvivesKillMinus9) {
  test::TempDir dir("trafficd-pipeline");
  const std::string spool = (dir.path() / "spool").string();
  const std::string clicks = (dir.path() / "clicks").string();
  const std::vector<std::string> pipeline{"--spool-dir", spool, "--sinks", "file://" + clicks};
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string request = get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string()),
                                                    "User-Agent: " + std::string(c.at("user_agent").as_string())});

  std::vector<std::string> acknowledged;
  {
    Daemon first(pipeline);
    ClickLoad load(first.port(), request, 4);
    load.await(3000);
    EXPECT_EQ(first.process().stop(SIGKILL), 128 + SIGKILL);  // under load, mid-write
    acknowledged = load.join();
  }
  ASSERT_GE(acknowledged.size(), 3000U);

  // The same spool again: what the first run's sink had not taken is replayed.
  Daemon second(pipeline);
  Connection connection(second.port());
  connection.send(request);
  const auto after_restart = connection.read_reply();
  ASSERT_EQ(after_restart.status, 302);
  acknowledged.push_back(lid_of(after_restart.headers.at("location")));
  connection.send(get("/metrics"));
  const auto metrics = connection.read_reply().body;
  EXPECT_NE(metrics.find("trafficd_sink_delivered_records_total{sink=\"file\"}"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("trafficd_spool_appended_records_total"), std::string::npos);
  EXPECT_EQ(second.process().stop(SIGTERM), 0) << second.process().output();  // drains the spool

  std::size_t invalid_lines = 0;
  const auto recorded = lids_in_file_sink(clicks, invalid_lines);
  EXPECT_EQ(invalid_lines, 0U);
  std::size_t missing = 0;
  for (const auto& lid : acknowledged) {
    ASSERT_TRUE(lid::is_lid(lid)) << lid;
    if (recorded.count(lid) == 0) ++missing;
  }
  EXPECT_EQ(missing, 0U) << "of " << acknowledged.size() << " acknowledged clicks";
  EXPECT_GE(recorded.size(), acknowledged.size());
  // Nothing left open: every file closed and gzip'd by the clean shutdown.
  for (const auto& entry : std::filesystem::directory_iterator(clicks)) {
    EXPECT_TRUE(entry.path().string().ends_with(".ndjson.gz")) << entry.path();
  }
}

TEST(Trafficd, ClicksReachAnHttpCollectorAndTheOldAggregatorApi) {
  test::TempDir dir("trafficd-http-sinks");
  test::HttpCollector collector;
  test::HttpCollector aggregator;
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", collector.url("/ingest") + "#batch=100",
                 "--aggregator-api", aggregator.url("/")});
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  Connection connection(daemon.port());
  std::set<std::string> lids;
  for (int i = 0; i < 5; ++i) {
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
    const auto reply = connection.read_reply();
    ASSERT_EQ(reply.status, 302);
    lids.insert(lid_of(reply.headers.at("location")));
  }
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();  // drains both sinks
  std::set<std::string> collected;
  for (const auto& request : collector.received()) {
    EXPECT_EQ(request.target, "/ingest");
    std::istringstream lines(request.body);
    for (std::string line; std::getline(lines, line);) {
      collected.insert(std::string(json::parse(line).at("lid").as_string()));
    }
  }
  EXPECT_EQ(collected, lids);
  std::set<std::string> aggregated;
  for (const auto& request : aggregator.received()) {
    EXPECT_EQ(request.target, "/offer");
    const json::object body = json::parse(request.body).as_object();
    EXPECT_EQ(body.at("event").as_string(), "click");
    aggregated.insert(std::string(body.at("key").as_string()));
  }
  EXPECT_EQ(aggregated.size(), lids.size());
}

// The records of a file sink's closed files whose event is `event`.
std::vector<json::object> records_with_event(const std::filesystem::path& clicks, std::string_view event) {
  std::vector<json::object> out;
  for (const auto& entry : std::filesystem::directory_iterator(clicks)) {
    std::istringstream lines(test::gunzip_file(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      json::object record = json::parse(line).as_object();
      if (record.at("event").as_string() == event) out.push_back(std::move(record));
    }
  }
  return out;
}

// Site events through the real server (SPEC §13): the beacon's text/plain POST, the CORS
// headers and the tid cookie on the wire, the pixel; every accepted event in the file sink.
TEST(Trafficd, SiteEventsAreRecordedAndAnsweredOverHttp) {
  test::TempDir dir("trafficd-events");
  const std::string out = (dir.path() / "records").string();
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", "file://" + out, "--event-origins",
                 "https://news.example"});
  Connection connection(daemon.port());
  const std::string events = R"([{"type":"pageView","website":"news.example","page":"/"},
                                  {"type":"adClick","website":"news.example","ad_id":"a1"}])";
  connection.send(
      "POST /event HTTP/1.1\r\nHost: test\r\nOrigin: https://news.example\r\n"
      "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
      std::to_string(events.size()) + "\r\n\r\n" + events);
  const auto accepted = connection.read_reply();
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body).at("accepted").as_int64(), 2);
  EXPECT_EQ(accepted.headers.at("access-control-allow-origin"), "https://news.example");
  const std::string& cookie = accepted.headers.at("set-cookie");
  ASSERT_EQ(cookie.rfind("tid=", 0), 0U) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;

  connection.send(get("/event", {"Origin: https://news.example"}, "OPTIONS"));
  const auto preflight = connection.read_reply();
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers.at("access-control-allow-methods"), "POST, GET, OPTIONS");

  connection.send(get("/event?type=adImpression&website=news.example&ad_id=a1", {"Cookie: " + cookie.substr(0, 40)}));
  const auto pixel = connection.read_reply();
  EXPECT_EQ(pixel.status, 200);
  EXPECT_EQ(pixel.headers.at("content-type"), "image/gif");
  EXPECT_EQ(pixel.headers.at("cache-control"), "no-store");
  EXPECT_EQ(pixel.headers.count("set-cookie"), 0U);  // the visitor brought it back

  connection.send(post("/event", R"({"type":"adClick","website":"w"})"));
  EXPECT_EQ(connection.read_reply().status, 400);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();

  const auto recorded = records_with_event(out, "traffic-event");
  ASSERT_EQ(recorded.size(), 3U);
  for (const auto& record : recorded) EXPECT_EQ(record.at("visitor_id").as_string(), cookie.substr(4, 36));
}

// With Redis, events are counted by the analytics sink and read back over HTTP (on the
// blocking thread) and by `trafficctl stats`, as aligned tables.
TEST(Trafficd, EventAnalyticsOverHttpAndInTrafficctl) {
  test::TempDir dir("trafficd-analytics");
  test::RedisServer redis(dir.path() / "redis");
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", "file://" + (dir.path() / "out").string(),
                 "--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port()), "--event-repeat-clicks",
                 "2"});
  Connection connection(daemon.port());
  const std::string events = R"([{"type":"pageView","website":"news.example","page":"/story","user_id":"u1"},
      {"type":"adImpression","website":"news.example","ad_id":"top","user_id":"u1"},
      {"type":"adImpression","website":"news.example","ad_id":"top","user_id":"u2"},
      {"type":"adClick","website":"news.example","ad_id":"top","user_id":"u1"},
      {"type":"adClick","website":"news.example","ad_id":"top","user_id":"u1"}])";
  connection.send(post("/event", events));
  ASSERT_EQ(connection.read_reply().status, 202);

  // Counted within a poll or two of the sink: asked until they show, for at most 10 s.
  const std::vector<std::string> admin{"Authorization: Bearer " + std::string(kAdminToken)};
  json::value ads;
  for (int attempt = 0; attempt < 200; ++attempt) {
    connection.send(get("/admin/stats/ads?website=news.example", admin));
    const auto reply = connection.read_reply();
    ASSERT_EQ(reply.status, 200) << reply.body;
    ads = json::parse(reply.body);
    if (!ads.at("ads").as_array().empty() && ads.at("ads").at(0).at("clicks").as_int64() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const json::object& top = ads.at("ads").at(0).as_object();
  EXPECT_EQ(top.at("impressions").as_int64(), 2);
  EXPECT_EQ(top.at("unique_clickers").as_int64(), 1);
  EXPECT_EQ(top.at("repeat_clickers").as_int64(), 1);
  EXPECT_EQ(top.at("unique_visitors").as_int64(), 2);
  connection.send(get("/admin/stats/pages?to=2020-01-01&from=2020-01-02", admin));
  const auto refused = connection.read_reply();
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body, R"({"error":"from: must not be after to"})");

  // trafficctl reads the same Redis from the same variables.
  std::vector<std::string> env = base_env();
  env.push_back("REDIS_HOST=127.0.0.1");
  env.push_back("REDIS_PORT=" + std::to_string(redis.port()));
  const auto trafficctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", "exec \"$0\" \"$@\" 1>&2", TRAFFICCTL_PATH, "stats"});
    test::Process process("/bin/sh", args, env);
    const int status = process.wait();
    return std::pair(status, process.read_to_end());
  };
  const auto [status, table] = trafficctl({"ads", "--website", "news.example"});
  EXPECT_EQ(status, 0) << table;
  EXPECT_NE(table.find("WEBSITE       AD   IMPRESSIONS  CLICKS      CTR  CLICKERS  REPEAT  VISITORS\n"
                       "news.example  top            2       2  100.00%         1       1         2\n"),
            std::string::npos)
      << table;
  const auto [pages_status, pages] = trafficctl({"pages"});
  EXPECT_EQ(pages_status, 0) << pages;
  EXPECT_NE(pages.find("news.example  /story      1\n"), std::string::npos) << pages;
  const auto [bad_status, bad] = trafficctl({"ads", "--from", "2026-02-30"});
  EXPECT_EQ(bad_status, 2);
  EXPECT_EQ(bad, "--from: must be a date, YYYY-MM-DD\n");
}

// The fleet view (docs/fleet.md): two instances on one Redis under load each see both with
// clicks/s; one stops and is shown offline once its last sample is 5 s old.
TEST(Trafficd, TwoInstancesUnderLoadSeeEachOtherAndOneGoesOffline) {
  test::TempDir dir("trafficd-fleet");
  test::RedisServer redis(dir.path() / "redis");
  const std::vector<std::string> shared{"--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port())};
  auto with = [&](std::string id) {
    std::vector<std::string> args = shared;
    args.insert(args.end(), {"--instance-id", std::move(id)});
    return args;
  };
  Daemon a(with("edge-a"));
  auto b = std::make_unique<Daemon>(with("edge-b"));
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string click = get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())});
  ClickLoad load_a(a.port(), click, 2);
  auto load_b = std::make_unique<ClickLoad>(b->port(), click, 2);

  const std::vector<std::string> admin{"Authorization: Bearer " + std::string(kAdminToken)};
  Connection dashboard(a.port());
  const auto fleet = [&] {
    dashboard.send(get("/admin/fleet?series=1", admin));
    const auto reply = dashboard.read_reply();
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::map<std::string, json::object> by_id;
    const json::value answer = json::parse(reply.body);
    for (const json::value& entry : answer.at("instances").as_array())
      by_id[std::string(entry.at("instance").as_string())] = entry.as_object();
    return by_id;
  };
  std::map<std::string, json::object> seen;
  ASSERT_TRUE(eventually([&] {
    seen = fleet();
    return seen.size() == 2 && seen["edge-a"].at("clicks_per_second").to_number<double>() > 0 &&
           seen["edge-b"].at("clicks_per_second").to_number<double>() > 0;
  })) << seen.size()
      << " instances seen";
  for (const char* id : {"edge-a", "edge-b"}) {
    const json::object& instance = seen[id];
    EXPECT_TRUE(instance.at("online").as_bool()) << id;
    EXPECT_GT(instance.at("p99_ms").to_number<double>(), 0) << id;
    EXPECT_FALSE(instance.at("series").as_array().empty()) << id;
    EXPECT_TRUE(instance.at("redis_ok").as_bool()) << id;
  }

  // trafficctl reads the same fleet from Redis.
  std::vector<std::string> env = base_env();
  env.push_back("REDIS_HOST=127.0.0.1");
  env.push_back("REDIS_PORT=" + std::to_string(redis.port()));
  test::Process top("/bin/sh", {"-c", "exec \"$0\" \"$@\" 1>&2", TRAFFICCTL_PATH, "top", "--once", "--sort", "name"},
                    env);
  EXPECT_EQ(top.wait(), 0);
  const std::string table = top.read_to_end();
  EXPECT_EQ(table.rfind("INSTANCE  STATE", 0), 0U) << table;
  EXPECT_LT(table.find("\nedge-a  "), table.find("\nedge-b  ")) << table;
  EXPECT_NE(table.find("\nfleet     2/2 "), std::string::npos) << table;

  // b stops: its sample ages, and it is offline once the newest is 5 s old.
  const TimestampMs stopped = SystemClock().now();
  EXPECT_EQ(b->process().stop(SIGTERM), 0);
  load_b->join();
  std::map<std::string, json::object> after;
  const auto offline = [&] {
    after = fleet();
    return after.count("edge-b") == 1 && !after["edge-b"].at("online").as_bool();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!offline() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(after["edge-b"].at("online").as_bool());
  const TimestampMs last_sample = after["edge-b"].at("at").as_int64();
  // Its last sample was taken about when it stopped (it reports every second up to its
  // shutdown), so offline came some 5 s after the stop: within the 6 s of SPEC §14.
  EXPECT_GE(last_sample, stopped - 1'500);
  EXPECT_TRUE(after["edge-a"].at("online").as_bool());
  EXPECT_EQ(a.process().stop(SIGTERM), 0);
}

// The dashboard's stream over real sockets: the admin gets an event a second with the
// instance in it, anybody else a 401; a shutdown ends the stream.
TEST(Trafficd, TheStatusStreamSendsTheFleetEverySecond) {
  Daemon daemon({"--instance-id", "edge-1"});
  Connection anonymous(daemon.port());
  anonymous.send(get("/status/events"));
  EXPECT_EQ(anonymous.read_reply().status, 401);

  Connection stream(daemon.port());
  stream.send(get("/status/events", {"Authorization: Bearer " + std::string(kAdminToken)}));
  const std::string head = stream.read_until("\r\n\r\n");
  ASSERT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_EQ(stream.read_until("\n\n"), ": connected\n\n");
  TimestampMs previous = 0;
  for (int i = 0; i < 2; ++i) {
    const std::string event = stream.read_until("\n\n");
    ASSERT_EQ(event.rfind("data: ", 0), 0U) << event;
    const json::value fleet = json::parse(event.substr(6));
    const json::object& self = fleet.at("instances").at(0).as_object();
    EXPECT_EQ(self.at("instance").as_string(), "edge-1");
    EXPECT_TRUE(self.at("online").as_bool());
    EXPECT_GT(self.at("at").as_int64(), previous);  // a new sample each time
    previous = self.at("at").as_int64();
  }
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
  bool timed_out = false;
  (void)stream.read_to_end(&timed_out);  // the stream ends with the server
  EXPECT_FALSE(timed_out);
}

// `trafficctl top` on a terminal (a pseudo-terminal, as over ssh): it draws the fleet on the
// alternate screen, sorts on a key, and q or Ctrl-C leave the terminal as it was.
TEST(Trafficd, TrafficctlTopRunsInATerminalAndQuitsCleanly) {
  Daemon daemon({"--instance-id", "edge-1"});
  for (const char quit : {'q', '\x03'}) {
    int terminal = -1;
    const pid_t child = forkpty(&terminal, nullptr, nullptr, nullptr);
    ASSERT_GE(child, 0);
    if (child == 0) {
      const std::string url = "http://127.0.0.1:" + std::to_string(daemon.port());
      ::setenv("ADMIN_TOKEN", std::string(kAdminToken).c_str(), 1);
      ::execl(TRAFFICCTL_PATH, "trafficctl", "top", "--url", url.c_str(), "--interval-ms", "200", nullptr);
      ::_exit(127);
    }
    std::string screen;
    const auto read_until = [&](std::string_view text) {
      char chunk[4096];
      while (screen.find(text) == std::string::npos) {
        pollfd ready{.fd = terminal, .events = POLLIN, .revents = 0};
        if (::poll(&ready, 1, 10'000) <= 0) return false;
        const ssize_t n = ::read(terminal, chunk, sizeof chunk);
        if (n <= 0) return false;
        screen.append(chunk, static_cast<std::size_t>(n));
      }
      return true;
    };
    ASSERT_TRUE(read_until("edge-1")) << screen;
    EXPECT_NE(screen.find("\x1b[?1049h"), std::string::npos);  // the alternate screen
    ASSERT_EQ(::write(terminal, "p", 1), 1);                   // sort by p99: drawn again at once
    screen.clear();
    ASSERT_TRUE(read_until("edge-1")) << screen;
    ASSERT_EQ(::write(terminal, &quit, 1), 1);
    EXPECT_TRUE(read_until("\x1b[?1049l")) << "the screen is given back on " << int(quit);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ::close(terminal);
  }
}

TEST(Trafficd, AClickIsConvertedOnceOverHttp) {
  test::TempDir dir("trafficd-postback");
  const std::string clicks = (dir.path() / "clicks").string();
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", "file://" + clicks, "--gateway-api-secret",
                 "gateway-secret"});
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  Connection connection(daemon.port());
  connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
  const auto click = connection.read_reply();
  ASSERT_EQ(click.status, 302);
  const std::string lid = lid_of(click.headers.at("location"));
  const std::string body = postback_body(lid);
  // At once after the 302 (read-your-writes): the click is awaited in the lid store, not
  // answered "does not exist" because its sink had not run yet.
  connection.send(post("/lid", body));
  const Connection::Reply converted = connection.read_reply();
  EXPECT_EQ(converted.status, 200);
  EXPECT_EQ(json::parse(converted.body).at("message").as_string(), "Lid successfully created in redshift");
  connection.send(post("/lid", body));
  EXPECT_EQ(json::parse(connection.read_reply().body).at("errors").as_string(), "LID already added");
  {  // The replay again, its body chunked in two and the request sent a few bytes at a time:
     // the answer shows the body was put back together whole.
    const std::string first = body.substr(0, body.size() / 2);
    const std::string second = body.substr(first.size());
    auto chunk = [](const std::string& data) {
      char size[16];
      std::snprintf(size, sizeof size, "%zx", data.size());
      return std::string(size) + "\r\n" + data + "\r\n";
    };
    const std::string request =
        "POST /lid HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunk(first) + chunk(second) + "0\r\n\r\n";
    connection.send_in_pieces(request, 7);
    const auto replay = connection.read_reply();
    EXPECT_EQ(replay.status, 200);
    EXPECT_EQ(json::parse(replay.body).at("errors").as_string(), "LID already added") << replay.body;
  }
  connection.send(post("/lid", "{oops"));
  EXPECT_EQ(connection.read_reply().status, 400);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();

  const auto conversions = records_with_event(clicks, "traffic-bonus");
  ASSERT_EQ(conversions.size(), 1U);
  EXPECT_EQ(conversions[0].at("lid").as_string(), lid);
}

using test::eventually;

// A counter of trafficd's /metrics (0 when absent).
std::string today_utc() {
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return format_iso8601(now.count()).substr(0, 10);
}

// The "live click cap" sequence of cases.json (offer 117: 5 clicks a day; the 6th goes to
// the exit offer) with its clicks alternating between two trafficd sharing one Redis:
// neither instance took more than 3 clicks, so the 6th is rerouted only if they share the
// count.
TEST(Trafficd, TwoInstancesShareALiveClickCapThroughRedis) {
  test::TempDir dir("trafficd-shared-caps");
  test::RedisServer redis(dir.path() / "redis");
  const std::vector<std::string> shared{"--redis-host",    "127.0.0.1", "--redis-port", std::to_string(redis.port()),
                                        "--redis-sync-ms", "20"};
  Daemon a(shared);
  Daemon b(shared);
  std::vector<json::object> sequence;
  for (const auto& entry : cases_file().at("cases").as_array()) {
    const json::object& c = entry.as_object();
    const json::object& expect = c.at("expect").as_object();
    if (expect.contains("sequence") && expect.at("sequence") == "live-cap") sequence.push_back(c);
  }
  ASSERT_EQ(sequence.size(), 6U);
  const std::string day_key = "cap:offer:117:clicks:day:" + today_utc();
  auto shared_clicks = [&] {
    auto c = redis.connect();
    auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "GET %s", day_key.c_str()));
    const long long n = reply != nullptr && reply->type == REDIS_REPLY_STRING ? std::stoll(reply->str) : 0;
    if (reply) freeReplyObject(reply);
    return n;
  };
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    Daemon& instance = i % 2 == 0 ? a : b;
    // Before each click the instance has exchanged counters with Redis after the previous
    // click reached it (two completed exchanges: one begun after it).
    ASSERT_TRUE(eventually([&] { return shared_clicks() == static_cast<long long>(i); })) << "click " << i;
    const double syncs = metric(instance.port(), "trafficd_shared_state_syncs_total");
    ASSERT_TRUE(eventually([&] { return metric(instance.port(), "trafficd_shared_state_syncs_total") >= syncs + 2; }));

    const json::object& c = sequence[i];
    Connection connection(instance.port());
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string()),
                                          "User-Agent: " + std::string(c.at("user_agent").as_string())}));
    const auto reply = connection.read_reply();
    ASSERT_EQ(reply.status, 302) << reply.body;
    const test::UrlParts url = test::split_url(reply.headers.at("location"));
    EXPECT_EQ(url.params.at("offer_id"), std::to_string(c.at("expect").at("offer_id").as_int64())) << "click " << i;
    EXPECT_EQ(url.host, c.at("expect").at("lp_host").as_string()) << "click " << i;
  }
  EXPECT_EQ(metric(a.port(), "trafficd_shared_state_failed_syncs_total"), 0);
  EXPECT_EQ(a.process().stop(SIGTERM), 0) << a.process().output();
  EXPECT_EQ(b.process().stop(SIGTERM), 0) << b.process().output();
}

// Redis Sentinel (docs/shared-state.md): the master fails over while clicks flow. Every
// click is answered; afterwards the caps' counts and the lids are on the new master, and a
// click made after the failover converts.
TEST(Trafficd, AFailoverWhileClicksFlowLosesNoAnswerAndTheStateMoves) {
  test::TempDir dir("trafficd-sentinel");
  test::SentinelCluster cluster(dir.path() / "redis");
  Daemon daemon({"--redis-sentinels", cluster.sentinels(), "--redis-sentinel-master", test::SentinelCluster::kMaster,
                 "--spool-dir", (dir.path() / "spool").string(), "--sinks",
                 "file://" + (dir.path() / "clicks").string(), "--gateway-api-secret", "gateway-secret"});
  const int first = cluster.master_port();
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string click = get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())});
  std::atomic<bool> flowing{true};
  std::atomic<int> answered{0};
  std::atomic<int> not_redirected{0};
  std::thread clicks([&] {
    Connection connection(daemon.port());
    while (flowing.load()) {
      connection.send(click);
      const auto reply = connection.read_reply();
      (reply.status == 302 ? answered : not_redirected).fetch_add(1);
    }
  });
  ASSERT_TRUE(eventually([&] { return answered.load() >= 50; }));
  const int second = cluster.failover();
  const int before = answered.load();
  ASSERT_TRUE(eventually([&] { return answered.load() >= before + 50; }));  // still flowing after it
  flowing = false;
  clicks.join();
  EXPECT_EQ(not_redirected.load(), 0);  // every click answered with its 302

  // The shared state is on the new master: the lids of clicks made after the failover, and
  // a conversion of one of them.
  Connection connection(daemon.port());
  connection.send(click);
  const auto last = connection.read_reply();
  ASSERT_EQ(last.status, 302);
  const std::string lid = lid_of(last.headers.at("location"));
  // While the lid-store sink is still backing off from the failover, a postback is a 503 to
  // retry (never "does not exist"): retried as an advertiser would.
  Connection::Reply converted;
  ASSERT_TRUE(eventually([&] {
    connection.send(post("/lid", postback_body(lid)));
    converted = connection.read_reply();
    return converted.status != 503;
  }));
  EXPECT_EQ(converted.status, 200) << converted.body;
  EXPECT_EQ(json::parse(converted.body).at("message").as_string(), "Lid successfully created in redshift")
      << converted.body;
  EXPECT_NE(cluster.server_on(second).command("EXISTS lid:" + lid), "0");
  EXPECT_EQ(test::SentinelCluster::role(first), "slave");
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
}

// The lid store in Redis: a click taken by one instance is converted through another (its
// postback handled off the request threads), once; the replay on the first is refused.
TEST(Trafficd, AClickTakenByOneInstanceIsConvertedThroughAnother) {
  test::TempDir dir("trafficd-shared-lids");
  test::RedisServer redis(dir.path() / "redis");
  auto instance_args = [&](const std::string& name) {
    return std::vector<std::string>{"--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port()),
                                    "--spool-dir", (dir.path() / name / "spool").string(), "--sinks",
                                    "file://" + (dir.path() / name / "clicks").string(), "--gateway-api-secret",
                                    "gateway-secret",
                                    // b stops with its lid-store sink unable to reach Redis
                                    "--shutdown-grace-seconds", "1"};
  };
  Daemon a(instance_args("a"));
  Daemon b(instance_args("b"));
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  Connection to_a(a.port());
  to_a.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
  const auto click = to_a.read_reply();
  ASSERT_EQ(click.status, 302);
  const std::string lid = lid_of(click.headers.at("location"));
  const std::string body = postback_body(lid);
  // At once after the 302, on the other instance: b asks Redis again for POSTBACK_WAIT_MS
  // while a's lid-store sink (every 10 ms) brings the click there.
  Connection to_b(b.port());
  to_b.send(post("/lid", body));
  const Connection::Reply converted = to_b.read_reply();
  EXPECT_EQ(converted.status, 200) << converted.body;
  EXPECT_EQ(json::parse(converted.body).at("message").as_string(), "Lid successfully created in redshift");
  to_a.send(post("/lid", body));
  EXPECT_EQ(json::parse(to_a.read_reply().body).at("errors").as_string(), "LID already added");

  // Redis gone: postbacks get a 503 to retry (never "does not exist"); clicks still work.
  redis.stop();
  to_b.send(post("/lid", body));
  const auto unavailable = to_b.read_reply();
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body, R"({"error":"temporarily unavailable"})");
  to_b.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
  EXPECT_EQ(to_b.read_reply().status, 302);
  EXPECT_EQ(a.process().stop(SIGTERM), 0) << a.process().output();
  EXPECT_EQ(b.process().stop(SIGTERM), 0) << b.process().output();

  EXPECT_EQ(records_with_event(dir.path() / "b" / "clicks", "traffic-bonus").size(), 1U);  // in b's sink, once
}

// One assembly of the settings: `trafficctl explain` (offline, from the environment) and
// `/admin/explain` (trafficd, the same variables) give the same decision and the same
// redirect URL for every shared case, under a non-default NETWORK_ID, the HMAC URL hash and
// STRICT_LINK_PAIR. (trafficctl built its own settings and ignored all three before.)
TEST(Trafficd, TrafficctlExplainAndAdminExplainAgreeOnEveryCase) {
  const std::vector<std::string> shared{"NETWORK_ID=7", "URL_HASH_MODE=hmac-sha256", "STRICT_LINK_PAIR=true",
                                        "DEFAULT_CAMPAIGN_ID=10"};
  std::vector<std::string> env = base_env();
  env.insert(env.end(), shared.begin(), shared.end());
  env.push_back("MAXMIND_PATH=" + data_path("geoip/test-data/GeoIP2-City-Test.mmdb"));
  env.push_back("MAXMIND_PATH_ISP=" + data_path("geoip/test-data/GeoIP2-ISP-Test.mmdb"));
  Daemon daemon({"--network-id", "7", "--url-hash-mode", "hmac-sha256", "--strict-link-pair=true",
                 "--default-campaign-id", "10"});
  std::size_t compared = 0;
  for (const auto& entry : cases_file().at("cases").as_array()) {
    const json::object& c = entry.as_object();
    // A rotation's tie between equally served children is broken at random: not a setting.
    if (c.at("expect").as_object().contains("offer_id_in")) continue;
    const std::string o(c.at("o").as_string());
    const std::string ip(c.at("ip").as_string());
    const std::string ua(c.at("user_agent").as_string());
    const auto& query = c.at("query").as_object();
    const std::string subid = query.contains("subid") ? std::string(query.at("subid").as_string()) : "";
    const std::string cid = query.contains("cid") ? std::string(query.at("cid").as_string()) : "";
    std::string target = "/admin/explain?o=";
    url::append_component(target, o);
    target += "&ip=" + ip + "&ua=";
    url::append_component(target, ua);
    target += "&subid=";
    url::append_component(target, subid);
    target += "&cid=";
    url::append_component(target, cid);
    Connection connection(daemon.port());
    connection.send(get(target, {"Authorization: Bearer " + std::string(kAdminToken)}));
    const auto online = connection.read_reply();
    if (online.status != 200) continue;  // an undecodable link: nothing to compare
    // Its answer goes to stdout, which Process does not read: through a shell, to stderr.
    std::vector<std::string> args{"-c",
                                  "exec \"$0\" \"$@\" 1>&2",
                                  TRAFFICCTL_PATH,
                                  "explain",
                                  "--offers",
                                  data_path("recipes/offersRecipe.json.gz"),
                                  "--campaigns",
                                  data_path("recipes/campaignsRecipe.json.gz"),
                                  "--link",
                                  o,
                                  "--ip",
                                  ip,
                                  "--ua",
                                  ua,
                                  "--subid",
                                  subid,
                                  "--cid",
                                  cid,
                                  "--json"};
    test::Process offline("/bin/sh", args, env);
    // Its exit first (a few KB of answer wait in the pipe): read_to_end() gives up after a
    // second of silence, which a loaded machine's start-up of trafficctl can exceed.
    EXPECT_NE(offline.wait(), 2) << c.at("name").as_string();  // 2: a usage error
    const std::string offline_answer = offline.read_to_end();
    json::object a = json::parse(online.body).as_object();
    json::object b = json::parse(offline_answer).as_object();
    for (json::object* d : {&a, &b}) {  // when and which version of the same recipe: not the decision
      d->erase("decided_at");
      d->erase("recipe_version");
    }
    EXPECT_EQ(json::serialize(a), json::serialize(b)) << c.at("name").as_string();
    if (a.contains("redirect_url") && a.at("redirect_url").is_string()) {
      EXPECT_NE(a.at("redirect_url").as_string().find("&ap=7&"), std::string::npos) << c.at("name").as_string();
    }
    ++compared;
  }
  EXPECT_GT(compared, 40U);
}

// A postback handled by the blocking thread is answered however long it takes there: the
// read timeout (1 s here) does not cut a request the server is working on. (A lid that is
// nowhere is asked of Redis for POSTBACK_WAIT_MS, 2.5 s here; the connection was closed
// at the read timeout before, and the answer lost.)
TEST(Trafficd, APostbackTheServerWorksOnIsAnsweredPastTheReadTimeout) {
  test::TempDir dir("trafficd-slow-postback");
  test::RedisServer redis(dir.path() / "redis");
  Daemon daemon({"--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port()), "--spool-dir",
                 (dir.path() / "spool").string(), "--sinks", "file://" + (dir.path() / "clicks").string(),
                 "--gateway-api-secret", "gateway-secret", "--postback-wait-ms", "2500"});
  Connection connection(daemon.port());
  connection.send(post("/lid", postback_body("00000000-0000-4000-8000-000000000000")));
  const auto answer = connection.read_reply();
  EXPECT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("Lid does not exists in dynamodb"), std::string::npos) << answer.body;
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
}

// The recipe from S3 (the fake checks every signature): served, followed when it changes,
// a broken upload refused with the last good recipe still serving, an admin reload.
TEST(Trafficd, TheRecipeComesFromS3AndFollowsItsChanges) {
  test::TempDir dir("trafficd-s3");
  const source::sigv4::Credentials credentials{"AKIDTRAFFICD", "s3-secret-for-tests", ""};
  test::S3Fake s3(credentials);
  const std::string offers = test::read_data("recipes/offersRecipe.json.gz");
  s3.put("recipes", "prod/offers.json.gz", offers, 1'795'000'000);
  s3.put("recipes", "prod/campaigns.json.gz", test::read_data("recipes/campaignsRecipe.json.gz"), 1'795'000'000);
  std::vector<std::string> args = s3.trafficd_args(dir.path(), "prod/");
  args.insert(args.end(), {"--recipe-poll-seconds", "1"});
  Daemon daemon(args);
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  auto click = [&] {
    Connection connection(daemon.port());
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
    return connection.read_reply().status;
  };
  EXPECT_EQ(click(), 302);
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_version"), 1);
  EXPECT_EQ(traffic::read_file(dir.path() / "offers.json.gz"), offers);

  // A new upload is picked up by the next poll.
  json::array changed = json::parse(test::gunzip_file(test::data_path("recipes/offersRecipe.json.gz"))).as_array();
  changed.erase(changed.end() - 1);
  const std::string smaller = test::gzip(json::serialize(changed));
  s3.put("recipes", "prod/offers.json.gz", smaller, 1'795'000'100);
  ASSERT_TRUE(eventually([&] { return metric(daemon.port(), "trafficd_recipe_version") == 2; }));
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_offers"), static_cast<double>(changed.size()));
  // The download is renamed over the recipe path just after the version is installed.
  EXPECT_TRUE(eventually([&] { return traffic::read_file(dir.path() / "offers.json.gz") == smaller; }));

  // A truncated upload: refused, the recipe in service and its file stay.
  s3.put("recipes", "prod/offers.json.gz", offers.substr(0, offers.size() / 2), 1'795'000'200);
  ASSERT_TRUE(eventually([&] { return metric(daemon.port(), "trafficd_recipe_refused_reloads") == 1; }));
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_version"), 2);
  EXPECT_EQ(click(), 302);
  EXPECT_EQ(traffic::read_file(dir.path() / "offers.json.gz"), smaller);

  // An admin reload runs on the thread that may block and answers with the outcome.
  s3.put("recipes", "prod/offers.json.gz", offers, 1'795'000'300);
  Connection admin(daemon.port());
  admin.send("POST /admin/recipe/reload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kAdminToken) +
             "\r\nContent-Length: 0\r\n\r\n");
  const auto reloaded = admin.read_reply();
  EXPECT_EQ(reloaded.status, 200) << reloaded.body;
  EXPECT_NE(reloaded.body.find("installed from s3://recipes/prod/offers.json.gz"), std::string::npos) << reloaded.body;
  EXPECT_EQ(s3.counts().refused, 0);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
}

// The Redis mirror: an instance that loaded the recipe from S3 copies it to Redis, one
// key per record; another, started while S3 is down and with no downloaded files, boots
// from those keys and answers clicks as the first did.
TEST(Trafficd, AnInstanceBootsFromTheRedisMirrorWhenTheSourcesAreDown) {
  test::TempDir dir("trafficd-mirror");
  test::RedisServer redis(dir.path() / "redis");
  const source::sigv4::Credentials credentials{"AKIDTRAFFICD", "s3-secret-for-tests", ""};
  test::S3Fake s3(credentials);
  s3.put("recipes", "offers.json.gz", test::read_data("recipes/offersRecipe.json.gz"), 1'795'000'000);
  s3.put("recipes", "campaigns.json.gz", test::read_data("recipes/campaignsRecipe.json.gz"), 1'795'000'000);
  auto instance_args = [&](const std::string& name) {
    std::vector<std::string> args = s3.trafficd_args(dir.path() / name);
    args.insert(args.end(), {"--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port()),
                             "--recipe-fetch-timeout-seconds", "2"});
    return args;
  };
  std::filesystem::create_directories(dir.path() / "a");
  std::filesystem::create_directories(dir.path() / "b");
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  auto click = [&](Daemon& daemon) {
    Connection connection(daemon.port());
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
    return connection.read_reply();
  };
  {
    Daemon a(instance_args("a"));
    EXPECT_EQ(click(a).status, 302);
    const auto offer = json::parse(redis.command("GET offer:100")).as_object();
    EXPECT_EQ(offer.at("name").as_string(), "Offer 100");
    EXPECT_EQ(redis.command("GET campaign:10").substr(0, 16), R"({"campaignId":10)");
    EXPECT_EQ(metric(a.port(), "trafficd_recipe_mirror_failures_total"), 0);
    EXPECT_EQ(a.process().stop(SIGTERM), 0) << a.process().output();
  }
  s3.stop();
  Daemon b(instance_args("b"));
  const auto reply = click(b);
  ASSERT_EQ(reply.status, 302) << b.process().output();
  const test::UrlParts url = test::split_url(reply.headers.at("location"));
  EXPECT_EQ(url.host, c.at("expect").at("lp_host").as_string());
  EXPECT_EQ(url.params.at("offer_id"), "100");
  EXPECT_GE(metric(b.port(), "trafficd_recipe_sync_failures_total"), 1);
  EXPECT_EQ(metric(b.port(), "trafficd_recipe_sync_seconds_since_success"), -1);
  Connection ready(b.port());
  ready.send(get("/ready"));
  EXPECT_EQ(ready.read_reply().status, 200);
  EXPECT_NE(b.process().output().find("installed from the Redis mirror"), std::string::npos) << b.process().output();
  EXPECT_EQ(b.process().stop(SIGTERM), 0) << b.process().output();
}

// Live record updates: a message published on the channel changes trafficd's answers at
// once; an older one that arrives later is ignored.
TEST(Trafficd, ARecordUpdatePublishedOnRedisChangesTheAnswers) {
  test::TempDir dir("trafficd-updates");
  test::RedisServer redis(dir.path() / "redis");
  Daemon daemon({"--redis-host", "127.0.0.1", "--redis-port", std::to_string(redis.port()), "--recipe-mirror=false",
                 "--recipe-updates-channel", "network:recipe-updates"});
  ASSERT_TRUE(eventually([&] { return metric(daemon.port(), "trafficd_recipe_updates_subscribed") == 1; }));
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  auto landing_host = [&] {
    Connection connection(daemon.port());
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
    const auto reply = connection.read_reply();
    return reply.status == 302 ? test::split_url(reply.headers.at("location")).host : std::to_string(reply.status);
  };
  ASSERT_EQ(landing_host(), "lp.example.com");
  json::object offer;
  const json::value offers = json::parse(test::gunzip_file(test::data_path("recipes/offersRecipe.json.gz")));
  for (const auto& o : offers.as_array()) {
    if (o.at("offerId") == 100) offer = o.as_object();
  }
  ASSERT_FALSE(offer.empty());
  auto publish = [&](const json::object& message) {
    const std::string text = json::serialize(message);
    auto connection = redis.connect();
    auto* reply = static_cast<redisReply*>(
        redisCommand(connection.get(), "PUBLISH network:recipe-updates %b", text.data(), text.size()));
    const long long receivers = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply) freeReplyObject(reply);
    return receivers;
  };
  auto upsert = [&](std::string_view landing_page, long long timestamp) {
    offer["landingPageUrl"] = landing_page;
    return json::object{{"type", "offer"},
                        {"id", 100},
                        {"action", "updateOrCreate"},
                        {"body", json::serialize(offer)},
                        {"timestamp", timestamp},
                        {"comments", "landing page moved"}};
  };

  const double version = metric(daemon.port(), "trafficd_recipe_version");
  ASSERT_EQ(publish(upsert("https://moved.example.com/lp?l={lid}", 2'000'000'000'000)), 1);  // trafficd heard it
  ASSERT_TRUE(eventually([&] { return metric(daemon.port(), "trafficd_recipe_version") == version + 1; }));
  EXPECT_EQ(landing_host(), "moved.example.com");

  // Delayed in transit: older than the update in service.
  ASSERT_EQ(publish(upsert("https://stale.example.com/lp", 1'999'999'999'000)), 1);
  ASSERT_TRUE(
      eventually([&] { return metric(daemon.port(), "trafficd_recipe_updates_total{outcome=\"stale\"}") == 1; }));
  EXPECT_EQ(landing_host(), "moved.example.com");
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_version"), version + 1);

  // A delete: the offer's links answer the uniform 404.
  ASSERT_EQ(publish(json::object{
                {"type", "offer"}, {"id", 100}, {"action", "delete"}, {"body", ""}, {"timestamp", 2'000'000'001'000}}),
            1);
  ASSERT_TRUE(eventually([&] { return metric(daemon.port(), "trafficd_recipe_version") == version + 2; }));
  EXPECT_EQ(landing_host(), "404");

  ASSERT_EQ(publish(json::object{{"type", "offer"}, {"action", "delete"}}), 1);
  ASSERT_TRUE(
      eventually([&] { return metric(daemon.port(), "trafficd_recipe_updates_total{outcome=\"invalid\"}") == 1; }));
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  EXPECT_NE(daemon.process().read_to_end().find("record update refused"), std::string::npos);
}

// Unique visits shared through Redis: a visitor's first click on one instance makes its
// next click on another a repeat visit, once the second has learned of the first.
TEST(Trafficd, AVisitorSeenByOneInstanceIsNotUniqueOnAnother) {
  test::TempDir dir("trafficd-shared-visits");
  test::RedisServer redis(dir.path() / "redis");
  auto instance_args = [&](const std::string& name) {
    return std::vector<std::string>{"--redis-host",    "127.0.0.1",
                                    "--redis-port",    std::to_string(redis.port()),
                                    "--redis-sync-ms", "20",
                                    "--spool-dir",     (dir.path() / name / "spool").string(),
                                    "--sinks",         "file://" + (dir.path() / name / "clicks").string()};
  };
  Daemon a(instance_args("a"));
  Daemon b(instance_args("b"));
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::vector<std::string> visitor{"X-Forwarded-For: " + std::string(c.at("ip").as_string()),
                                         "User-Agent: " + std::string(c.at("user_agent").as_string()),
                                         "Accept-Language: de-DE"};
  Connection to_a(a.port());
  to_a.send(get(click_target(c), visitor));
  ASSERT_EQ(to_a.read_reply().status, 302);
  ASSERT_TRUE(eventually([&] { return metric(b.port(), "trafficd_unique_visits_learned_total") >= 1; }));
  Connection to_b(b.port());
  to_b.send(get(click_target(c), visitor));
  ASSERT_EQ(to_b.read_reply().status, 302);
  EXPECT_EQ(metric(b.port(), "trafficd_unique_visits_conflicts_total"), 0);
  EXPECT_EQ(a.process().stop(SIGTERM), 0) << a.process().output();
  EXPECT_EQ(b.process().stop(SIGTERM), 0) << b.process().output();

  const auto first = records_with_event(dir.path() / "a" / "clicks", "traffic-api");
  const auto second = records_with_event(dir.path() / "b" / "clicks", "traffic-api");
  ASSERT_EQ(first.size(), 1U);
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(first[0].at("fingerprint"), second[0].at("fingerprint"));
  EXPECT_TRUE(first[0].at("is_unique_visit").as_bool());
  EXPECT_FALSE(second[0].at("is_unique_visit").as_bool());
}

// SPEC §9's disk bound: with the only sink down, the spool fills to SPOOL_MAX_MB; with
// `reject` clicks are then answered 503 (never a 302 without its record) until the sink is
// back and the delivered segments are deleted.
TEST(Trafficd, AFullSpoolRefusesClicksUntilTheSinkCatchesUp) {
  test::TempDir dir("trafficd-full-spool");
  test::HttpCollector collector;
  const unsigned short port = collector.port();
  collector.stop();  // the sink is down from the start
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", collector.url("/ingest"), "--spool-max-mb",
                 "1", "--threads", "1"});
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string request = get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())});
  Connection connection(daemon.port());
  int accepted = 0;
  int status = 302;
  for (int i = 0; i < 5000 && status == 302; ++i) {
    connection.send(request);
    const auto reply = connection.read_reply();
    status = reply.status;
    if (status == 302) {
      ++accepted;
    } else {
      EXPECT_EQ(reply.headers.count("location"), 0U);
      EXPECT_EQ(reply.body, R"({"error":"temporarily unavailable"})");
    }
  }
  EXPECT_EQ(status, 503);
  EXPECT_GT(accepted, 300);  // ~1,600-byte records in 1 MiB
  connection.send(get("/metrics"));
  const std::string metrics = connection.read_reply().body;
  EXPECT_NE(metrics.find("trafficd_unrecorded_clicks_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("trafficd_spool_rejected_records_total 1\n"), std::string::npos);

  collector.start(port);  // back: the backlog drains, segments go, clicks are taken again
  ASSERT_TRUE(collector.await([&](const auto& received) {
    std::size_t lines = 0;
    for (const auto& r : received) lines += static_cast<std::size_t>(std::count(r.body.begin(), r.body.end(), '\n'));
    return lines >= static_cast<std::size_t>(accepted);
  }));
  // Deletion follows the sink's cursor commit, inside the process: retry until it happened.
  for (int attempt = 0; attempt < 250 && status != 302; ++attempt) {
    connection.send(request);
    status = connection.read_reply().status;
    if (status != 302) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 302);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
}

// Record boundaries of a spool segment ([u32 size][u32 crc][payload], docs/click-pipeline.md):
// the offsets where each record starts.
std::vector<std::size_t> record_starts(const std::string& segment) {
  std::vector<std::size_t> starts;
  for (std::size_t at = 0; at + 8 <= segment.size();) {
    std::uint32_t size = 0;
    for (std::size_t i = 0; i < 4; ++i)
      size |= static_cast<std::uint32_t>(static_cast<unsigned char>(segment[at + i])) << (8 * i);
    starts.push_back(at);
    at += 8 + size;
  }
  return starts;
}

// A flipped byte in a spool segment (disk damage after a crash): the records before it are
// delivered, the rest of that segment is skipped and counted, and the other segments and
// new clicks go on.
TEST(Trafficd, ACorruptSpoolSegmentLosesOnlyItsDamagedTail) {
  test::TempDir dir("trafficd-corrupt-spool");
  test::HttpCollector collector;
  const unsigned short port = collector.port();
  collector.stop();
  const std::vector<std::string> args{"--spool-dir",    (dir.path() / "spool").string(),
                                      "--sinks",        collector.url("/ingest"),
                                      "--threads",      "1",
                                      "--spool-max-mb", "1"};
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string request = get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())});
  constexpr int kClicks = 400;  // ~640 KB: several 256 KiB segments
  {
    Daemon first(args);
    Connection connection(first.port());
    for (int i = 0; i < kClicks; ++i) {
      connection.send(request);
      ASSERT_EQ(connection.read_reply().status, 302);
    }
    first.process().stop(SIGKILL);
  }
  // Damage the middle of the first segment.
  std::vector<std::filesystem::path> segments;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "spool" / "lane-0"))
    segments.push_back(e.path());
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 2U);
  std::string bytes = read_file(segments[0]);
  const auto starts = record_starts(bytes);
  const std::size_t damaged = starts.size() / 2;
  bytes[starts[damaged] + 100] ^= 0x55;  // inside the payload: the checksum catches it
  std::ofstream(segments[0], std::ios::binary | std::ios::trunc) << bytes;
  const std::size_t expected = kClicks - (starts.size() - damaged);

  collector.start(port);
  Daemon second(args);
  ASSERT_TRUE(collector.await([&](const auto& received) {
    std::size_t lines = 0;
    for (const auto& r : received) lines += static_cast<std::size_t>(std::count(r.body.begin(), r.body.end(), '\n'));
    return lines >= expected;
  }));
  Connection connection(second.port());
  connection.send(request);  // still serving, still recording
  EXPECT_EQ(connection.read_reply().status, 302);
  connection.send(get("/metrics"));
  const std::string metrics = connection.read_reply().body;
  EXPECT_NE(metrics.find("trafficd_spool_corrupt_tails_total 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(second.process().stop(SIGTERM), 0);
  std::size_t lines = 0;
  for (const auto& r : collector.received()) {
    std::istringstream body(r.body);
    for (std::string line; std::getline(body, line); ++lines) EXPECT_NO_THROW((void)json::parse(line));
  }
  EXPECT_EQ(lines, expected + 1);  // every record but the damaged one and those after it in its segment
}

TEST(Trafficd, AMalformedSinkStopsStartUpWithOneLine) {
  test::Process bad(TRAFFICD_PATH, concat_args({"--sinks", "ftp://x/y"}), base_env());
  EXPECT_EQ(bad.wait(), 2);
  const std::string line = bad.read_line();
  EXPECT_NE(line.find("SINKS: sink 'ftp://x/y': unknown kind"), std::string::npos) << line;
}

// SINKS=redis://…: every click reaches the Redis Stream (lid and record fields), which
// Redis keeps near its MAXLEN bound; a malformed option stops start-up naming SINKS. (It
// stopped start-up with "unknown sink kind" before: the sink was never built.)
TEST(Trafficd, ClicksReachARedisStreamBoundedByMaxlen) {
  test::TempDir dir("trafficd-redis-sink");
  test::RedisServer redis(dir.path() / "redis");
  const std::string sink = "redis://127.0.0.1:" + std::to_string(redis.port()) + "/clicks";
  test::Process bad(TRAFFICD_PATH, concat_args({"--sinks", sink + "#maxlen=lots"}), base_env());
  EXPECT_EQ(bad.wait(), 2);
  EXPECT_NE(bad.read_to_end().find("trafficd: SINKS: sink 'redis': maxlen"), std::string::npos) << bad.output();

  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks", sink + "#maxlen=100&batch=50"});
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  Connection connection(daemon.port());
  std::vector<std::string> lids;
  for (int i = 0; i < 1000; ++i) {
    connection.send(get(click_target(c), {"X-Forwarded-For: " + std::string(c.at("ip").as_string())}));
    const auto reply = connection.read_reply();
    ASSERT_EQ(reply.status, 302);
    lids.push_back(lid_of(reply.headers.at("location")));
  }
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();  // drains the sink
  const long long length = std::stoll(redis.command("XLEN clicks"));
  // MAXLEN ~ trims whole radix-tree nodes (100 entries each by default): near the bound.
  EXPECT_GE(length, 100);
  EXPECT_LE(length, 300);
  // The newest entry is the last click, its record whole.
  auto c2 = redis.connect();
  auto* reply = static_cast<redisReply*>(redisCommand(c2.get(), "XREVRANGE clicks + - COUNT 1"));
  ASSERT_TRUE(reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1);
  const redisReply* fields = reply->element[0]->element[1];
  ASSERT_EQ(fields->elements, 4U);
  EXPECT_EQ(std::string(fields->element[0]->str), "lid");
  EXPECT_EQ(std::string(fields->element[1]->str), lids.back());
  EXPECT_EQ(json::parse(fields->element[3]->str).at("lid").as_string(), lids.back());
  freeReplyObject(reply);
}

// Waits for a log line whose "msg" is `message` (the daemon's own event, not a sleep).
json::object await_log(test::Process& process, std::string_view message) {
  for (std::string line = process.read_line(); !line.empty(); line = process.read_line()) {
    json::object entry = json::parse(line).as_object();
    if (entry.at("msg").as_string() == message) return entry;
  }
  ADD_FAILURE() << "no log line '" << message << "' in:\n" << process.output();
  return {};
}

TEST(Trafficd, NotReadyWithoutARecipeThenPicksUpFilesAndRefusesBrokenOnes) {
  const auto dir = std::filesystem::temp_directory_path() / ("trafficd-recipe-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string offers = (dir / "offers.json.gz").string();
  const std::string campaigns = (dir / "campaigns.json.gz").string();
  Daemon daemon({"--offers-recipe-path", offers, "--campaigns-recipe-path", campaigns, "--recipe-poll-seconds", "1"});
  Connection connection(daemon.port());
  connection.send(get("/ready"));
  auto ready = connection.read_reply();
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body).at("reason").as_string(), "no recipe loaded yet");

  // Files appear (written aside, then renamed in): the poll loads them.
  std::filesystem::copy_file(test::data_path("recipes/offersRecipe.json.gz"), offers + ".tmp");
  std::filesystem::copy_file(test::data_path("recipes/campaignsRecipe.json.gz"), campaigns + ".tmp");
  std::filesystem::rename(offers + ".tmp", offers);
  std::filesystem::rename(campaigns + ".tmp", campaigns);
  EXPECT_EQ(await_log(daemon.process(), "recipe loaded").at("version").as_int64(), 1);
  connection.send(get("/ready"));
  EXPECT_EQ(connection.read_reply().status, 200);

  // A truncated file is refused on SIGHUP; the recipe in service stays.
  const std::string good = read_file(offers);
  std::ofstream(offers + ".tmp", std::ios::binary) << good.substr(0, good.size() / 2);
  std::filesystem::rename(offers + ".tmp", offers);
  kill(daemon.process().pid(), SIGHUP);
  EXPECT_NE(await_log(daemon.process(), "recipe refused; the previous one stays in service").at("reason").as_string(),
            "");
  const auto& c = cases_file().at("cases").as_array()[0].as_object();
  connection.send(get(click_target(c), {"X-Forwarded-For: 216.160.83.56"}));
  EXPECT_EQ(connection.read_reply().status, 302);
  connection.send(get("/metrics"));
  EXPECT_NE(connection.read_reply().body.find("trafficd_recipe_refused_reloads 1\n"), std::string::npos);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0);
  std::filesystem::remove_all(dir);
}

TEST(Trafficd, BadConfigurationStopsStartUpWithOneLine) {
  test::Process bad_key(TRAFFICD_PATH, {"--maxmind-path", "/nonexistent.mmdb"}, {"ENCRIPTION_KEY=short"});
  const std::string line = bad_key.read_line();
  EXPECT_EQ(bad_key.wait(), 2);
  EXPECT_EQ(line.rfind("trafficd: ENCRIPTION_KEY", 0), 0U) << line;
  EXPECT_EQ(bad_key.read_line(1000), "");  // one line only

  test::Process bad_db(TRAFFICD_PATH, {"--maxmind-path", "/nonexistent.mmdb"}, base_env());
  const std::string db_line = bad_db.read_line();
  EXPECT_EQ(bad_db.wait(), 2);
  EXPECT_EQ(db_line.rfind("trafficd: MAXMIND_PATH", 0), 0U) << db_line;

  // A port another program holds (without SO_REUSEPORT, which trafficd's own loops share):
  // the settings named, no library's source location.
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  std::vector<std::string> args = base_args();
  *(std::find(args.begin(), args.end(), "--port") + 1) = port;
  test::Process taken(TRAFFICD_PATH, args, base_env());
  EXPECT_EQ(taken.wait(), 2);
  ::close(holder);
  const std::string output = taken.read_to_end();
  EXPECT_NE(output.find("trafficd: HOST/PORT: cannot listen on 127.0.0.1:" + port + ": Address already in use"),
            std::string::npos)
      << output;
  EXPECT_EQ(output.find(".hpp"), std::string::npos) << output;
}

TEST(Trafficd, HelpAndTheConfigurationReferenceListTheSameOptions) {
  // --help goes to stdout; run it through a shell to capture that.
  const std::string out_file = std::filesystem::temp_directory_path() / ("trafficd-help-" + std::to_string(getpid()));
  ASSERT_EQ(std::system((std::string(TRAFFICD_PATH) + " --help > " + out_file).c_str()), 0);
  const std::string help = read_file(out_file);
  std::filesystem::remove(out_file);
  const std::string docs = read_file(std::string(TRAFFIC_SOURCE_DIR) + "/docs/configuration.md");
  std::set<std::string> in_help;
  std::set<std::string> in_docs;
  const std::regex env_in_help(R"(\(Env:([A-Z0-9_]+)\))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), env_in_help); it != std::sregex_iterator(); ++it) {
    in_help.insert((*it)[1]);
  }
  const std::regex env_in_docs(R"(\n\| `([A-Z0-9_]+)` \| `(--[a-z0-9-]+)`)");
  for (auto it = std::sregex_iterator(docs.begin(), docs.end(), env_in_docs); it != std::sregex_iterator(); ++it) {
    in_docs.insert((*it)[1]);
    const std::string flag = (*it)[2];
    EXPECT_TRUE(help.find(flag + " ") != std::string::npos || help.find(flag + "=") != std::string::npos)
        << flag << " is documented but not in --help";
  }
  EXPECT_GT(in_help.size(), 30U);
  EXPECT_EQ(in_help, in_docs);
}

}  // namespace
}  // namespace traffic
