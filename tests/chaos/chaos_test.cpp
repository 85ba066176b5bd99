// The fault battery (`make chaos`; docs/reliability.md): the real trafficd under click load
// while what it stands on fails — Redis killed and restarted in every mode that uses it,
// the HTTP collector down and up, the S3 source down during a recipe change, the spool's
// disk full then freed, descriptors exhausted, a flood of 25 KB clicks, SIGKILL and SIGTERM
// mid-flight. Each case asserts that the process stays up, every answer is a 302 or the
// policy's 503 (with Retry-After), no connection hangs, nothing acknowledged is lost,
// nothing is duplicated in the file sink and memory stays under its bound; and prints its
// figures on a line starting "CHAOS" (copied into docs/reliability.md).

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http_collector.hpp"
#include "redis_server.hpp"
#include "s3_fake.hpp"
#include "small_disk.hpp"
#include "test_support.hpp"
#include "traffic/lid/click_record.hpp"
#include "trafficd_daemon.hpp"

namespace traffic {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace test;  // Daemon, Connection, get, post, metric, …
using std::chrono::seconds;

// Waits for `done`, at most `limit` (faults take a backoff or two to clear).
template <class Predicate>
bool await_for(Predicate done, seconds limit = seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The resident memory of process `pid`, sampled every 50 ms while it runs; the peak.
class MemoryWatch {
 public:
  explicit MemoryWatch(pid_t pid)
      : thread_([this, pid] {
          const long page = ::sysconf(_SC_PAGESIZE);
          while (!stop_) {
            std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
            long size = 0;
            long resident = 0;
            if (statm >> size >> resident) {
              peak_ = std::max<std::uint64_t>(peak_, static_cast<std::uint64_t>(resident * page));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~MemoryWatch() { stop(); }
  double stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_mb();
  }
  [[nodiscard]] double peak_mb() const { return static_cast<double>(peak_.load()) / (1 << 20); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> peak_{0};
  std::thread thread_;
};

// A click for the sample recipe's first case, from a random visitor: random subid, agent
// suffix and client address (a real mix for the caches and the unique-visit keys).
std::string random_click(std::mt19937_64& random) {
  static const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  static const std::string target = click_target(c);
  const std::string subid = "s" + std::to_string(random() % 1'000'000'000);
  const std::string ip = std::to_string(1 + random() % 223) + "." + std::to_string(random() % 256) + "." +
                         std::to_string(random() % 256) + "." + std::to_string(1 + random() % 254);
  return get(target + "&subid=" + subid,
             {"X-Forwarded-For: " + ip,
              "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120." + std::to_string(random() % 5000)});
}

constexpr int kConnections = 4;  // of every load

// Click load that rides out faults: N keep-alive connections, each opened again when the
// server closes it; every answer counted by status, the lids of the 302s kept.
class Load {
 public:
  using Request = std::function<std::string(std::mt19937_64&)>;
  struct Tally {
    std::size_t acknowledged = 0;  // 302
    std::size_t refused = 0;       // 503 with Retry-After: the overload and spool policy
    std::size_t unexpected = 0;    // any other answer, or a 503 without Retry-After
    std::size_t hung = 0;          // no answer within the 10 s receive timeout
    std::size_t closed = 0;        // the server closed the connection (reopened)
    std::map<int, std::size_t> unexpected_statuses;
  };

  Load(unsigned short port, Request request, int connections = kConnections) {
    for (int i = 0; i < connections; ++i) {
      threads_.emplace_back([this, port, request, i] { run(port, request, static_cast<unsigned>(i)); });
    }
  }
  ~Load() { stop(); }

  /// Waits until `more` clicks were acknowledged after the call (false after `limit`).
  bool await_more(std::size_t more, seconds limit = seconds(60)) {
    std::unique_lock lock(mutex_);
    const std::size_t target = lids_.size() + more;
    return changed_.wait_for(lock, limit, [&] { return lids_.size() >= target; });
  }
  /// Waits until `more` answers were refused (503) after the call.
  bool await_refused(std::size_t more, seconds limit = seconds(60)) {
    std::unique_lock lock(mutex_);
    const std::size_t target = tally_.refused + more;
    return changed_.wait_for(lock, limit, [&] { return tally_.refused >= target; });
  }
  /// A lid acknowledged a while ago (in the oldest 90%): one the lid store, fed a poll
  /// interval after the click, has had time to take.
  std::string older_lid(std::mt19937_64& random) {
    std::lock_guard lock(mutex_);
    const std::size_t older = lids_.size() * 9 / 10;
    return older == 0 ? std::string() : lids_[random() % older];
  }
  /// Stops the load; the lids of every acknowledged click.
  std::vector<std::string> stop() {
    stopping_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::lock_guard lock(mutex_);
    return lids_;
  }
  Tally tally() {
    std::lock_guard lock(mutex_);
    Tally t = tally_;
    t.acknowledged = lids_.size();
    return t;
  }

 private:
  void run(unsigned short port, const Request& request, unsigned seed) {
    std::mt19937_64 random(seed * 7919 + 17);
    while (!stopping_) {
      std::unique_ptr<Connection> connection;
      try {
        connection = std::make_unique<Connection>(port);
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // not listening (yet): try again
        continue;
      }
      while (!stopping_) {
        connection->send(request(random));
        const auto sent = std::chrono::steady_clock::now();
        const Connection::Reply reply = connection->read_reply();
        std::lock_guard lock(mutex_);
        if (reply.status == 302) {
          lids_.push_back(lid_of(reply.headers.at("location")));
        } else if (reply.status == 503 && reply.headers.contains("retry-after")) {
          ++tally_.refused;
        } else if (reply.status != 0) {
          ++tally_.unexpected;
          ++tally_.unexpected_statuses[reply.status];
        } else if (std::chrono::steady_clock::now() - sent >= seconds(9)) {
          ++tally_.hung;  // the receive timeout (10 s), not a close
        } else {
          ++tally_.closed;
        }
        changed_.notify_all();
        if (reply.status == 0) break;
      }
    }
  }

  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lids_;
  Tally tally_;
  std::vector<std::thread> threads_;
};

// Postbacks for clicks acknowledged a while ago, in a loop, counted by answer.
class Postbacks {
 public:
  struct Tally {
    std::size_t converted = 0;    // 200 success
    std::size_t answered = 0;     // 200, another text (not yet in the store, already added)
    std::size_t unavailable = 0;  // 503 with Retry-After: the lid store cannot answer now
    std::size_t unexpected = 0;
  };
  Postbacks(unsigned short port, Load& load)
      : thread_([this, port, &load] {
          std::mt19937_64 random(11);
          while (!stopping_) {
            const std::string lid = load.older_lid(random);
            if (lid.empty()) {
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
              continue;
            }
            try {
              Connection connection(port);
              connection.send(post("/lid", postback_body(lid)));
              const auto reply = connection.read_reply();
              std::lock_guard lock(mutex_);
              if (reply.status == 200 && reply.body.find("\"success\":true") != std::string::npos) {
                ++tally_.converted;
              } else if (reply.status == 200) {
                ++tally_.answered;
              } else if (reply.status == 503 && reply.headers.contains("retry-after")) {
                ++tally_.unavailable;
              } else {
                ++tally_.unexpected;
              }
            } catch (const std::exception&) {
              // not listening: try again
            }
            changed_.notify_all();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a postback rate, not a wait for an event
          }
        }) {}
  ~Postbacks() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  template <class Predicate>
  bool await(Predicate ready, seconds limit = seconds(60)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return ready(tally_); });
  }
  Tally tally() {
    std::lock_guard lock(mutex_);
    return tally_;
  }

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  Tally tally_;
  std::thread thread_;
};

// What every case asserts of its load and its file sink: no answer outside the policy, no
// hung connection, every acknowledged click recorded exactly once.
void expect_policy_kept(const Load::Tally& tally) {
  EXPECT_EQ(tally.unexpected, 0U) << [&] {
    std::string statuses;
    for (const auto& [status, n] : tally.unexpected_statuses)
      statuses += std::to_string(status) + "×" + std::to_string(n) + " ";
    return statuses;
  }();
  EXPECT_EQ(tally.hung, 0U);
}

// Every acknowledged click is in the file sink's closed files, and no click is there twice;
// besides them only clicks whose answer was lost (at most `unanswered`: requests in flight
// when the process was killed; their records may be written, their 302s never sent).
// `conversions` conversion records, one per converted lid.
void check_file_sink(const fs::path& clicks, const std::vector<std::string>& acknowledged, std::size_t conversions = 0,
                     std::size_t unanswered = 0) {
  std::size_t invalid_lines = 0;
  const std::multiset<std::string> recorded = lids_in_file_sink(clicks, invalid_lines, "traffic-api");
  const std::multiset<std::string> converted = lids_in_file_sink(clicks, invalid_lines, "traffic-bonus");
  EXPECT_EQ(invalid_lines, 0U);
  std::size_t missing = 0;
  for (const std::string& lid : acknowledged) missing += recorded.contains(lid) ? 0 : 1;
  const std::set<std::string> distinct(recorded.begin(), recorded.end());
  EXPECT_EQ(missing, 0U) << "of " << acknowledged.size() << " acknowledged clicks";
  EXPECT_EQ(distinct.size(), recorded.size()) << recorded.size() - distinct.size() << " clicks recorded twice";
  EXPECT_GE(recorded.size(), acknowledged.size());
  EXPECT_LE(recorded.size(), acknowledged.size() + unanswered);
  EXPECT_EQ(converted.size(), conversions);
  EXPECT_EQ(std::set<std::string>(converted.begin(), converted.end()).size(), converted.size());
}

void report(const char* name, const Load::Tally& tally, double peak_mb, const std::string& extra = {}) {
  std::printf("CHAOS %s: %zu acknowledged, %zu refused (503), %zu reconnects, peak RSS %.0f MB%s%s\n", name,
              tally.acknowledged, tally.refused, tally.closed, peak_mb, extra.empty() ? "" : ", ", extra.c_str());
}

// Every memory bound below is what the case's configuration allows plus the baseline of a
// debug build with the sample recipe (~60 MB), with room to spare; the flood case is the
// one that grew to 5.3 GB before.
constexpr double kDefaultPeakMb = 512;

// The lids of the entries of the Redis stream `key`.
std::multiset<std::string> stream_lids(const RedisServer& redis, const std::string& key) {
  std::multiset<std::string> lids;
  auto c = redis.connect();
  auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "XRANGE %s - +", key.c_str()));
  if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* fields = reply->element[i]->element[1];
      for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (std::string_view(fields->element[f]->str, fields->element[f]->len) == "lid") {
          lids.emplace(fields->element[f + 1]->str, fields->element[f + 1]->len);
        }
      }
    }
  }
  if (reply) freeReplyObject(reply);
  return lids;
}

// Redis killed (SIGKILL) and later stopped (SIGTERM) under load, with every mode that uses
// it on: shared counters, unique visits, the lid store (postbacks), the recipe mirror, the
// record-update subscription and a redis sink. Clicks never stop; postbacks get 503 while
// Redis is gone and convert again after; the subscription comes back; the stream gets
// every acknowledged click (Redis keeps its data through the kill: appendfsync always).
TEST(Chaos, RedisKilledAndRestartedInEveryMode) {
  TempDir dir("chaos-redis");
  RedisServer redis(dir.path() / "redis", {"--appendonly", "yes", "--appendfsync", "always"});
  const fs::path clicks = dir.path() / "clicks";
  const std::string redis_port = std::to_string(redis.port());
  Daemon daemon({"--redis-host", "127.0.0.1", "--redis-port", redis_port, "--redis-sync-ms", "50", "--redis-timeout-ms",
                 "500", "--recipe-mirror=true", "--recipe-updates-channel", "chaos:updates", "--gateway-api-secret",
                 "gateway-secret", "--spool-dir", (dir.path() / "spool").string(), "--sinks",
                 "file://" + clicks.string() + ",redis://127.0.0.1:" + redis_port + "/chaos-clicks",
                 "--shutdown-grace-seconds", "30"});
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), random_click);
  Postbacks postbacks(daemon.port(), load);
  ASSERT_TRUE(load.await_more(300));
  ASSERT_TRUE(postbacks.await([](const auto& t) { return t.converted > 0; }));

  redis.stop(SIGKILL);
  ASSERT_TRUE(load.await_more(1000)) << "clicks stopped with Redis gone";
  ASSERT_TRUE(postbacks.await([](const auto& t) { return t.unavailable > 0; }));

  redis.start();
  const std::size_t converted = postbacks.tally().converted;
  ASSERT_TRUE(postbacks.await([&](const auto& t) { return t.converted > converted; })) << "postbacks did not recover";
  ASSERT_TRUE(load.await_more(300));
  // The record-update subscription is back: a published update reaches trafficd.
  ASSERT_TRUE(await_for([&] { return redis.command("PUBLISH chaos:updates not-json") == "1"; }));
  ASSERT_TRUE(
      await_for([&] { return metric(daemon.port(), "trafficd_recipe_updates_total{outcome=\"invalid\"}") >= 1; }));

  redis.stop(SIGTERM);  // a clean restart too
  ASSERT_TRUE(load.await_more(300));
  redis.start();
  ASSERT_TRUE(load.await_more(300));

  const std::vector<std::string> acknowledged = load.stop();
  postbacks.stop();
  // The redis sink catches up (its backoff after the outages is at most 30 s).
  std::multiset<std::string> streamed;
  EXPECT_TRUE(await_for(
      [&] {
        streamed = stream_lids(redis, "chaos-clicks");
        return std::all_of(acknowledged.begin(), acknowledged.end(),
                           [&](const std::string& lid) { return streamed.contains(lid); });
      },
      seconds(90)));
  EXPECT_GT(metric(daemon.port(), "trafficd_shared_state_failed_syncs_total"), 0);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  const Load::Tally tally = load.tally();
  expect_policy_kept(tally);
  EXPECT_EQ(postbacks.tally().unexpected, 0U);
  EXPECT_LT(peak, kDefaultPeakMb);
  const Postbacks::Tally p = postbacks.tally();
  check_file_sink(clicks, acknowledged, p.converted);
  report("redis killed and restarted", tally, peak,
         std::to_string(p.converted) + " postbacks converted, " + std::to_string(p.unavailable) +
             " answered 503 while Redis was gone; " + std::to_string(streamed.size()) + " stream entries for " +
             std::to_string(acknowledged.size()) + " clicks");
}

// The HTTP collector down under load, then up: clicks are answered throughout, the backlog
// waits in the spool and reaches the collector when it returns.
TEST(Chaos, TheHttpCollectorDownThenUp) {
  TempDir dir("chaos-collector");
  HttpCollector collector;
  const unsigned short collector_port = collector.port();
  const fs::path clicks = dir.path() / "clicks";
  Daemon daemon({"--spool-dir", (dir.path() / "spool").string(), "--sinks",
                 "file://" + clicks.string() + "," + collector.url("/ingest") + "#batch=500"});
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), random_click);
  ASSERT_TRUE(load.await_more(300));
  collector.stop();
  ASSERT_TRUE(load.await_more(2000)) << "clicks stopped with the collector down";
  collector.start(collector_port);
  ASSERT_TRUE(load.await_more(300));
  const std::vector<std::string> acknowledged = load.stop();

  std::multiset<std::string> collected;
  EXPECT_TRUE(await_for(
      [&] {
        collected.clear();
        for (const auto& request : collector.received()) {
          std::istringstream lines(request.body);
          for (std::string line; std::getline(lines, line);) collected.emplace(lid::record_field(line, "lid"));
        }
        return std::all_of(acknowledged.begin(), acknowledged.end(),
                           [&](const std::string& lid) { return collected.contains(lid); });
      },
      seconds(90)));
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  expect_policy_kept(load.tally());
  EXPECT_LT(peak, kDefaultPeakMb);
  check_file_sink(clicks, acknowledged);
  report(
      "HTTP collector down then up", load.tally(), peak,
      std::to_string(collected.size()) + " records collected for " + std::to_string(acknowledged.size()) + " clicks");
}

// The S3 source down while a new recipe is uploaded: polls fail (counted, backing off),
// clicks are answered from the recipe in service, and the new one is installed once S3 is
// back.
TEST(Chaos, TheS3SourceDownDuringARecipeChange) {
  TempDir dir("chaos-s3");
  const source::sigv4::Credentials credentials{"AKIDCHAOS", "s3-secret-for-chaos", ""};
  S3Fake s3(credentials);
  s3.put("recipes", "prod/offers.json.gz", read_data("recipes/offersRecipe.json.gz"), 1'795'000'000);
  s3.put("recipes", "prod/campaigns.json.gz", read_data("recipes/campaignsRecipe.json.gz"), 1'795'000'000);
  const fs::path clicks = dir.path() / "clicks";
  std::vector<std::string> args = s3.trafficd_args(dir.path(), "prod/");
  args.insert(args.end(), {"--recipe-poll-seconds", "1", "--spool-dir", (dir.path() / "spool").string(), "--sinks",
                           "file://" + clicks.string()});
  Daemon daemon(args);
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), random_click);
  ASSERT_TRUE(load.await_more(300));
  ASSERT_EQ(metric(daemon.port(), "trafficd_recipe_version"), 1);

  const double failures = metric(daemon.port(), "trafficd_recipe_sync_failures_total");
  s3.stop();
  json::array changed = json::parse(gunzip_file(data_path("recipes/offersRecipe.json.gz"))).as_array();
  changed.erase(changed.end() - 1);
  s3.put("recipes", "prod/offers.json.gz", gzip(json::serialize(changed)), 1'795'000'100);
  ASSERT_TRUE(await_for([&] { return metric(daemon.port(), "trafficd_recipe_sync_failures_total") >= failures + 2; }));
  ASSERT_TRUE(load.await_more(1000)) << "clicks stopped with S3 down";
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_version"), 1);

  s3.start();
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(await_for([&] { return metric(daemon.port(), "trafficd_recipe_version") == 2; }));
  const double installed_after =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();  // a figure, not asserted
  EXPECT_EQ(metric(daemon.port(), "trafficd_recipe_offers"), static_cast<double>(changed.size()));
  ASSERT_TRUE(load.await_more(300));
  const std::vector<std::string> acknowledged = load.stop();
  const double failed = metric(daemon.port(), "trafficd_recipe_sync_failures_total") - failures;
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  expect_policy_kept(load.tally());
  EXPECT_LT(peak, kDefaultPeakMb);
  check_file_sink(clicks, acknowledged);
  char figures[160];
  std::snprintf(figures, sizeof figures, "%.0f failed polls, the new recipe installed %.1f s after S3 returned", failed,
                installed_after);
  report("S3 down during a recipe change", load.tally(), peak, figures);
}

// The spool's disk filled under load (a tmpfs the test mounts, then a ballast file): clicks
// get 503 with Retry-After (never a 302 for a click that was not written), and once the
// ballast goes they are taken again, without a restart.
TEST(Chaos, TheSpoolDiskFullThenFreed) {
  SmallDisk disk(64 << 20);
  if (!disk.available()) GTEST_SKIP() << disk.why_not();
  TempDir dir("chaos-disk");
  const fs::path clicks = dir.path() / "clicks";
  Daemon daemon({"--spool-dir", (disk.path() / "spool").string(), "--spool-max-mb", "64", "--sinks",
                 "file://" + clicks.string()});
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), random_click);
  ASSERT_TRUE(load.await_more(300));
  disk.fill();
  ASSERT_TRUE(load.await_refused(100)) << "the full disk was not noticed";
  const std::size_t refused_while_full = load.tally().refused;
  disk.free();
  ASSERT_TRUE(load.await_more(1000)) << "the spool did not recover";
  const std::vector<std::string> acknowledged = load.stop();
  const double write_errors = metric(daemon.port(), "trafficd_spool_write_errors_total");
  EXPECT_GT(write_errors, 0);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  expect_policy_kept(load.tally());
  EXPECT_LT(peak, kDefaultPeakMb);
  check_file_sink(clicks, acknowledged);
  report("spool disk full then freed", load.tally(), peak,
         std::to_string(refused_while_full) + " refused before the ballast went, " +
             std::to_string(static_cast<long>(write_errors)) + " spool write errors");
}

// Descriptors exhausted under load (trafficd under a 256-descriptor limit, 400 idle
// connections): clicks on open connections keep flowing, accepting pauses (counted)
// instead of spinning, and new connections are served once descriptors come back.
TEST(Chaos, DescriptorsExhaustedUnderLoad) {
  TempDir dir("chaos-fds");
  const fs::path clicks = dir.path() / "clicks";
  Daemon daemon({"/usr/bin/prlimit", "--nofile=256:256", "--"},
                {"--max-connections", "100000", "--spool-dir", (dir.path() / "spool").string(), "--sinks",
                 "file://" + clicks.string()});
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), random_click);
  ASSERT_TRUE(load.await_more(300));
  {
    std::vector<std::unique_ptr<Connection>> idle;
    for (int i = 0; i < 400; ++i) idle.push_back(std::make_unique<Connection>(daemon.port()));
    ASSERT_TRUE(load.await_more(2000)) << "clicks stopped at the descriptor limit";
  }
  ASSERT_TRUE(load.await_more(300));
  const std::vector<std::string> acknowledged = load.stop();
  const double paused = metric(daemon.port(), "trafficd_accept_paused_total{reason=\"fd_limit\"}");
  EXPECT_GT(paused, 0);
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  expect_policy_kept(load.tally());
  EXPECT_LT(peak, kDefaultPeakMb);
  check_file_sink(clicks, acknowledged);
  report("descriptors exhausted", load.tally(), peak,
         "accepting paused " + std::to_string(static_cast<long>(paused)) + " times");
}

// A click whose values would make a 25 KB record (3.5 KB subid and cid, 6 KB agent and
// referer, random so that nothing is cached), in a flood: the records are cut to their
// bounds, the in-process lid store stays within LID_STORE_MAX_MB, and the process within a
// bound its configuration sets. (Before: 25 KB records, RSS 5.3 GB.)
TEST(Chaos, AFloodOf25KbClicksStaysWithinItsMemoryBound) {
  TempDir dir("chaos-flood");
  const fs::path clicks = dir.path() / "clicks";
  // The file sink's open file lives in memory: rotate_mb bounds it.
  Daemon daemon({"--gateway-api-secret", "gateway-secret", "--lid-store-max-mb", "32", "--spool-dir",
                 (dir.path() / "spool").string(), "--sinks", "file://" + clicks.string() + "#rotate_mb=16"});
  const json::object& c = cases_file().at("cases").as_array()[0].as_object();
  const std::string target = click_target(c);
  auto noise = [](std::mt19937_64& random, std::size_t n) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string out(n, ' ');
    for (char& ch : out) ch = kAlphabet[random() % (sizeof kAlphabet - 1)];
    return out;
  };
  auto large_click = [&](std::mt19937_64& random) {
    return get(target + "&subid=" + noise(random, 3500) + "&cid=" + noise(random, 3500),
               {"X-Forwarded-For: 216.160.83.56", "User-Agent: Mozilla/5.0 " + noise(random, 6000),
                "Referer: https://publisher.example/" + noise(random, 6000)});
  };
  MemoryWatch memory(daemon.process().pid());
  Load load(daemon.port(), large_click);
  ASSERT_TRUE(load.await_more(20'000, seconds(300)));
  const std::vector<std::string> acknowledged = load.stop();
  const double truncated = metric(daemon.port(), "trafficd_record_values_truncated_total{field=\"user_agent\"}");
  EXPECT_EQ(truncated, static_cast<double>(acknowledged.size()));
  EXPECT_EQ(daemon.process().stop(SIGTERM), 0) << daemon.process().output();
  const double peak = memory.stop();
  expect_policy_kept(load.tally());
  // The baseline (~60 MB) + the lid store (32) + the open file (16) + two sinks' batches
  // (2 × 4 MiB) + the spool's and sockets' buffers, with room to spare.
  EXPECT_LT(peak, 256);
  check_file_sink(clicks, acknowledged);
  std::size_t longest = 0;
  for (const auto& entry : fs::directory_iterator(clicks)) {
    std::istringstream lines(gunzip_file(entry.path()));
    for (std::string line; std::getline(lines, line);) longest = std::max(longest, line.size());
  }
  EXPECT_LT(longest, 16U << 10);
  report("a flood of 25 KB clicks", load.tally(), peak,
         "longest record " + std::to_string(longest) + " bytes, LID_STORE_MAX_MB=32");
}

// SIGKILL under load, a restart on the same spool, then SIGTERM under load: every click
// acknowledged by either run is in the file sink once (the first run's open file was in
// memory; its records are replayed from the spool), and the clean stop exits 0.
TEST(Chaos, SigkillThenSigtermMidFlight) {
  TempDir dir("chaos-signals");
  const fs::path clicks = dir.path() / "clicks";
  const std::vector<std::string> pipeline{"--spool-dir", (dir.path() / "spool").string(), "--sinks",
                                          "file://" + clicks.string()};
  std::vector<std::string> acknowledged;
  double peak = 0;
  Load::Tally first_tally;
  {
    Daemon first(pipeline);
    MemoryWatch memory(first.process().pid());
    Load load(first.port(), random_click);
    ASSERT_TRUE(load.await_more(3000));
    EXPECT_EQ(first.process().stop(SIGKILL), 128 + SIGKILL);
    acknowledged = load.stop();
    first_tally = load.tally();
    peak = memory.stop();
  }
  Daemon second(pipeline);
  MemoryWatch memory(second.process().pid());
  Load load(second.port(), random_click);
  ASSERT_TRUE(load.await_more(3000));
  EXPECT_EQ(second.process().stop(SIGTERM), 0) << second.process().output();  // under load
  const std::vector<std::string> after = load.stop();
  acknowledged.insert(acknowledged.end(), after.begin(), after.end());
  peak = std::max(peak, memory.stop());
  expect_policy_kept(first_tally);
  expect_policy_kept(load.tally());
  EXPECT_LT(peak, kDefaultPeakMb);
  check_file_sink(clicks, acknowledged, 0,
                  static_cast<std::size_t>(kConnections));  // the killed run's requests in flight
  Load::Tally both = load.tally();
  both.acknowledged = acknowledged.size();
  both.refused += first_tally.refused;
  both.closed += first_tally.closed;
  report("SIGKILL then SIGTERM mid-flight", both, peak);
}

}  // namespace
}  // namespace traffic
