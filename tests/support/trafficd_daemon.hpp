#pragma once
// trafficd for the integration tests: the real binary on port 0 with the sample recipe and
// the MaxMind test databases, a client connection over real sockets, and click load.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "digest.hpp"
#include "process.hpp"
#include "test_support.hpp"
#include "traffic/url/redirect_url.hpp"

namespace traffic::test {
namespace json = boost::json;

constexpr const char* kAdminToken = "integration-admin-token";

inline const json::object& cases_file() {
  static const json::object cases = json::parse(read_data("recipes/cases.json")).as_object();
  return cases;
}

inline std::vector<std::string> base_args() {
  return {"--host",
          "127.0.0.1",
          "--port",
          "0",
          "--threads",
          "2",
          "--maxmind-path",
          data_path("geoip/test-data/GeoIP2-City-Test.mmdb"),
          "--maxmind-path-isp",
          data_path("geoip/test-data/GeoIP2-ISP-Test.mmdb"),
          "--offers-recipe-path",
          data_path("recipes/offersRecipe.json.gz"),
          "--campaigns-recipe-path",
          data_path("recipes/campaignsRecipe.json.gz"),
          "--trust-proxy",
          "loopback",
          "--header-timeout-seconds",
          "1",
          "--read-timeout-seconds",
          "1"};
}

inline std::vector<std::string> base_env() {
  return {"ENCRIPTION_KEY=" + std::string(cases_file().at("encryption_key").as_string()),
          "URL_HASH_SECRET=" + std::string(cases_file().at("url_hash_secret").as_string()),
          "ADMIN_TOKEN=" + std::string(kAdminToken)};
}

inline std::vector<std::string> concat_args(std::vector<std::string> extra) {
  std::vector<std::string> args = base_args();
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A running trafficd and the port it listens on.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> extra_args = {}) : Daemon({}, std::move(extra_args)) {}
  /// trafficd started by `wrapper` (e.g. {"/usr/bin/prlimit", "--nofile=64"}): the
  /// wrapper's program with its arguments, then trafficd's path and arguments.
  Daemon(const std::vector<std::string>& wrapper, std::vector<std::string> extra_args)
      : process_(wrapper.empty() ? std::string(TRAFFICD_PATH) : wrapper.front(),
                 wrapped(wrapper, concat(base_args(), extra_args)), base_env()) {
    for (std::string line = process_.read_line(); !line.empty(); line = process_.read_line()) {
      boost::system::error_code ec;
      const json::value entry = json::parse(line, ec);
      if (ec || !entry.is_object()) break;  // not a log line: start-up failed
      if (entry.at("msg") == "listening") {
        port_ = static_cast<unsigned short>(entry.at("port").as_int64());
        return;
      }
    }
    throw std::runtime_error("trafficd did not start:\n" + process_.output());
  }
  unsigned short port() const { return port_; }
  Process& process() { return process_; }

 private:
  static std::vector<std::string> wrapped(const std::vector<std::string>& wrapper, std::vector<std::string> args) {
    if (wrapper.empty()) return args;
    std::vector<std::string> all(wrapper.begin() + 1, wrapper.end());
    all.emplace_back(TRAFFICD_PATH);
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  // The base flags (all "--flag value" pairs), with any flag `extra` gives replaced by it.
  static std::vector<std::string> concat(const std::vector<std::string>& base, const std::vector<std::string>& extra) {
    std::vector<std::string> args;
    for (std::size_t i = 0; i + 1 < base.size(); i += 2) {
      if (std::find(extra.begin(), extra.end(), base[i]) == extra.end()) {
        args.push_back(base[i]);
        args.push_back(base[i + 1]);
      }
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  Process process_;
  unsigned short port_ = 0;
};

// A client connection; reads are bounded by a receive timeout so a hung server fails the
// test instead of hanging it.
class Connection {
 public:
  explicit Connection(unsigned short port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("connect");
  }
  ~Connection() { close(fd_); }
  /// Sends `bytes` in pieces of `piece` bytes, each its own segment (Nagle off) a moment
  /// after the last, so that the server reads a request in many parts.
  void send_in_pieces(std::string_view bytes, std::size_t piece) {
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      send(bytes.substr(at, piece));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close early on hostile input
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  /// Reads until the peer closes; `timed_out` says whether the receive timeout hit instead.
  std::string read_to_end(bool* timed_out = nullptr) {
    std::string data;
    char chunk[8192];
    for (;;) {
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && timed_out) *timed_out = true;
      if (n <= 0) return data;
      data.append(chunk, static_cast<std::size_t>(n));
    }
  }
  /// Reads one response (headers + Content-Length body; HEAD: headers only).
  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };
  /// Reads up to and including `marker` (a stream's head "\r\n\r\n", a Server-Sent Event
  /// "\n\n"); "" when the peer closes or the receive timeout hits first.
  std::string read_until(std::string_view marker) {
    while (pending_.find(marker) == std::string::npos && fill()) {
    }
    const auto at = pending_.find(marker);
    if (at == std::string::npos) return {};
    std::string out = pending_.substr(0, at + marker.size());
    pending_.erase(0, at + marker.size());
    return out;
  }
  Reply read_reply(bool head = false) {
    while (pending_.find("\r\n\r\n") == std::string::npos && fill()) {
    }
    Reply reply;
    const auto end = pending_.find("\r\n\r\n");
    if (end == std::string::npos) return reply;
    std::istringstream lines(pending_.substr(0, end));
    std::string line;
    std::getline(lines, line);
    reply.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
      const auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 2);
      if (!value.empty() && value.back() == '\r') value.pop_back();
      reply.headers[name] = value;
    }
    pending_.erase(0, end + 4);
    const std::size_t length = head ? 0 : std::stoul(reply.headers["content-length"]);
    while (pending_.size() < length && fill()) {
    }
    reply.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return reply;
  }

 private:
  bool fill() {
    char chunk[8192];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string pending_;
};

inline std::string get(std::string_view target, std::vector<std::string> headers = {},
                       std::string_view method = "GET") {
  std::string request = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n";
  for (const auto& h : headers) request += h + "\r\n";
  return request + "\r\n";
}

inline std::string click_target(const json::object& c, std::string_view extra = {}) {
  std::string target = "/pl?o=";
  url::append_component(target, c.at("o").as_string());
  for (const auto& [key, value] : c.at("query").as_object()) {
    target += "&" + std::string(key) + "=";
    url::append_component(target, value.as_string());
  }
  return target + std::string(extra);
}

inline std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

// A postback for `lid` now, with the old MD5 hash under "gateway-secret".
inline std::string postback_body(const std::string& lid) {
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return R"({"lid":")" + lid + R"(","hash":")" + md5_hex(std::to_string(now) + "|gateway-secret") +
         R"(","timestamp":)" + std::to_string(now) + "}";
}

// The value of an unlabelled (or fully labelled: `name{…}`) metric of trafficd on `port`; 0
// when absent.
inline double metric(unsigned short port, std::string_view name) {
  Connection connection(port);
  connection.send(get("/metrics"));
  const std::string body = connection.read_reply().body;
  const std::string prefix = "\n" + std::string(name) + " ";
  const auto at = body.find(prefix);
  return at == std::string::npos ? 0 : std::stod(body.substr(at + prefix.size()));
}

// The lid a 302 sent, from its Location.
inline std::string lid_of(const std::string& location) {
  static const std::regex lid_param(R"([?&]lid=([0-9a-f-]{36}))");
  std::smatch match;
  return std::regex_search(location, match, lid_param) ? match[1].str() : std::string();
}

// Every record of the file sink's closed files, by lid (a lid may appear more than once:
// delivery is at-least-once); only those whose "event" is `event` unless it is empty.
inline std::multiset<std::string> lids_in_file_sink(const std::filesystem::path& dir, std::size_t& invalid_lines,
                                                    std::string_view event = {}) {
  std::multiset<std::string> lids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.path().string().ends_with(".ndjson.gz")) continue;
    std::istringstream lines(gunzip_file(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      boost::system::error_code ec;
      const json::value record = json::parse(line, ec);
      if (ec || !record.is_object() || !record.as_object().contains("lid")) {
        ++invalid_lines;
        continue;
      }
      if (!event.empty() && record.at("event") != json::string_view(event.data(), event.size())) continue;
      lids.insert(std::string(record.at("lid").as_string()));
    }
  }
  return lids;
}

// Clicks over several keep-alive connections until the server goes away; the lids of the
// 302s that arrived (the acknowledged clicks).
class ClickLoad {
 public:
  ClickLoad(unsigned short port, std::string request, int connections) {
    for (int i = 0; i < connections; ++i) {
      threads_.emplace_back([this, port, request] {
        try {
          Connection connection(port);
          for (;;) {
            connection.send(request);
            const auto reply = connection.read_reply();
            if (reply.status != 302) return;
            std::lock_guard lock(mutex_);
            lids_.push_back(lid_of(reply.headers.at("location")));
            changed_.notify_all();
          }
        } catch (const std::exception&) {
          // the server went away mid-reply
        }
      });
    }
  }
  ~ClickLoad() { join(); }
  void await(std::size_t clicks) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(60), [&] { return lids_.size() >= clicks; });
  }
  std::vector<std::string> join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    return lids_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lids_;
  std::vector<std::thread> threads_;
};

}  // namespace traffic::test
