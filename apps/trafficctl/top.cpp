#include "top.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

#include "explain.hpp"
#include "traffic/common/clock.hpp"
#include "traffic/config/config.hpp"

namespace trafficctl {

namespace beast = boost::beast;
namespace asio = boost::asio;

void TopOptions::add_to(CLI::App& command) {
  command.add_option("--url", url,
                     "a trafficd's base URL (http://host:port): read its /admin/fleet; default: the fleet in "
                     "Redis (REDIS_HOST, … as trafficd reads them)");
  command.add_option("--token", token, "ADMIN_TOKEN for --url (default: $ADMIN_TOKEN)");
  command.add_option("--sort", sort, "clicks, p99, lag or name (keys c, p, l, n while running)")
      ->check(CLI::IsMember({"clicks", "p99", "lag", "name"}));
  command.add_option("--interval-ms", interval_ms, "refresh interval")->check(CLI::Range(100, 60'000));
  command.add_flag("--once", once, "print the table once and exit");
}

namespace {

std::optional<TopSort> sort_of(std::string_view name) {
  if (name == "clicks") return TopSort::clicks;
  if (name == "p99") return TopSort::p99;
  if (name == "lag") return TopSort::lag;
  if (name == "name") return TopSort::name;
  return std::nullopt;
}

std::uint64_t lag_of(const traffic::fleet::Sample& s) {
  std::uint64_t lag = 0;
  for (const auto& sink : s.sinks) lag = std::max(lag, sink.lag_bytes);
  return lag;
}

std::string fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string bytes(std::uint64_t value) {
  if (value >= (1ULL << 30)) return fixed(static_cast<double>(value) / (1ULL << 30), 1) + "G";
  if (value >= (1ULL << 20)) return fixed(static_cast<double>(value) / (1ULL << 20), 1) + "M";
  if (value >= 1024) return fixed(static_cast<double>(value) / 1024, 0) + "K";
  return std::to_string(value) + "B";
}

std::string age(double seconds) {
  if (seconds < 0) return "-";
  if (seconds < 120) return fixed(seconds, 0) + "s";
  if (seconds < 7200) return fixed(seconds / 60, 0) + "m";
  return fixed(seconds / 3600, 1) + "h";
}

// The fleet from /admin/fleet of one trafficd (Beast, one blocking request).
traffic::Result<std::vector<traffic::fleet::InstanceView>> read_url(const std::string& url, const std::string& token) {
  std::string_view rest = url;
  if (!rest.starts_with("http://")) return traffic::Failure(traffic::Errc::invalid_input, "--url: http://host:port");
  rest.remove_prefix(7);
  const std::string authority(rest.substr(0, rest.find('/')));
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  try {
    asio::io_context context;
    asio::ip::tcp::resolver resolver(context);
    beast::tcp_stream stream(context);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(resolver.resolve(host, port));
    beast::http::request<beast::http::empty_body> request(beast::http::verb::get, "/admin/fleet", 11);
    request.set(beast::http::field::host, authority);
    request.set(beast::http::field::authorization, "Bearer " + token);
    beast::http::write(stream, request);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> response;
    beast::http::read(stream, buffer, response);
    if (response.result_int() != 200)
      return traffic::Failure(traffic::Errc::refused,
                              url + "/admin/fleet: HTTP " + std::to_string(response.result_int()));
    return traffic::fleet::fleet_from_json(response.body());
  } catch (const std::exception& e) {
    return traffic::Failure(traffic::Errc::unavailable, url + ": " + e.what());
  }
}

// The terminal in raw mode (no echo, a key at a time) for as long as this lives; a no-op
// when stdin is not a terminal.
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

volatile std::sig_atomic_t interrupted = 0;

}  // namespace

std::string render_top(std::vector<traffic::fleet::InstanceView> instances, TopSort sort, std::size_t width) {
  std::stable_sort(instances.begin(), instances.end(), [sort](const auto& a, const auto& b) {
    switch (sort) {
      case TopSort::clicks: return a.latest.clicks_per_second > b.latest.clicks_per_second;
      case TopSort::p99: return a.latest.p99_ms > b.latest.p99_ms;
      case TopSort::lag: return lag_of(a.latest) > lag_of(b.latest);
      case TopSort::name: return a.latest.instance < b.latest.instance;
    }
    return false;
  });
  std::vector<std::vector<std::string>> rows = {{"INSTANCE", "STATE", "CLICKS/S", "REQ/S", "P50MS", "P99MS", "4XX/S",
                                                 "5XX/S", "CPU", "RSS", "BACKLOG", "LAG", "RECIPE", "AGE", "REDIS"}};
  double clicks = 0, requests = 0, p50 = 0, p99 = 0, e4 = 0, e5 = 0, cpu = 0;
  std::uint64_t rss = 0, backlog = 0, lag = 0;
  std::size_t online = 0;
  for (const auto& view : instances) {
    const traffic::fleet::Sample& s = view.latest;
    rows.push_back({s.instance, view.online ? "online" : "OFFLINE", fixed(s.clicks_per_second, 1),
                    fixed(s.requests_per_second, 1), fixed(s.p50_ms, 3), fixed(s.p99_ms, 3),
                    fixed(s.client_errors_per_second, 1), fixed(s.server_errors_per_second, 1),
                    fixed(s.process_cpu * 100, 0) + "%", bytes(s.resident_bytes), bytes(s.spool_backlog_bytes),
                    bytes(lag_of(s)), "v" + std::to_string(s.recipe_version), age(s.recipe_age_seconds),
                    !s.redis_configured ? "-"
                    : s.redis_ok        ? "ok"
                                        : "FAILING"});
    if (!view.online) continue;
    ++online;
    clicks += s.clicks_per_second;
    requests += s.requests_per_second;
    p50 = std::max(p50, s.p50_ms);
    p99 = std::max(p99, s.p99_ms);
    e4 += s.client_errors_per_second;
    e5 += s.server_errors_per_second;
    cpu += s.process_cpu;
    rss += s.resident_bytes;
    backlog += s.spool_backlog_bytes;
    lag = std::max(lag, lag_of(s));
  }
  rows.push_back({"fleet", std::to_string(online) + "/" + std::to_string(instances.size()), fixed(clicks, 1),
                  fixed(requests, 1), fixed(p50, 3), fixed(p99, 3), fixed(e4, 1), fixed(e5, 1),
                  fixed(cpu * 100, 0) + "%", bytes(rss), bytes(backlog), bytes(lag), "", "", ""});
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      line += c < 2 ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.size() > width) line.resize(width);
    out += line + "\n";
  }
  return out;
}

int top(const TopOptions& o) {
  TopSort sort = sort_of(o.sort).value_or(TopSort::clicks);
  std::optional<traffic::fleet::FleetReader> reader;
  std::string token = o.token.empty() ? env_or("ADMIN_TOKEN") : o.token;
  if (o.url.empty()) {
    auto environment = traffic::config::from_environment();
    if (!environment.config) {
      std::cerr << environment.message << "\n";
      return 2;
    }
    if (!environment.config->redis_configured()) {
      std::cerr
          << "REDIS_HOST or REDIS_SENTINELS: not set; the fleet is kept in Redis (or give --url of one trafficd)\n";
      return 2;
    }
    reader.emplace(traffic::config::redis_endpoint(*environment.config), environment.config->redis_key_prefix);
  }
  const auto read = [&]() {
    return reader ? reader->instances(traffic::SystemClock().now(), false) : read_url(o.url, token);
  };

  if (o.once) {
    const auto fleet = read();
    if (!fleet) {
      std::cerr << "trafficctl: " << fleet.error().detail << "\n";
      return 2;
    }
    std::cout << render_top(*fleet, sort, 1'000);
    return 0;
  }

  std::signal(SIGINT, [](int) { interrupted = 1; });
  std::signal(SIGTERM, [](int) { interrupted = 1; });
  RawTerminal raw;
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  if (tty) std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;  // the alternate screen, no cursor
  int status = 0;
  while (interrupted == 0) {
    std::size_t width = 1'000;
    if (winsize size{}; tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) width = size.ws_col;
    const auto fleet = read();
    std::string screen = tty ? "\x1b[H\x1b[2J" : "";
    screen += "trafficctl top — " + (o.url.empty() ? std::string("Redis") : o.url) +
              " — sort: c clicks/s, p p99, l lag, n name; q quits\n\n";
    screen += fleet ? render_top(*fleet, sort, width) : "the fleet cannot be read: " + fleet.error().detail + "\n";
    std::cout << screen << (tty ? "" : "\n") << std::flush;
    // Keys until the next refresh.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.interval_ms);
    bool quit = false;
    bool redraw = false;
    while (!quit && !redraw && interrupted == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd input{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
      if (::poll(&input, 1, static_cast<int>(left.count())) <= 0) continue;
      char key = 0;
      const ssize_t n = ::read(STDIN_FILENO, &key, 1);
      if (n <= 0) {  // stdin closed (a pipe): no more keys, keep refreshing
        if (::isatty(STDIN_FILENO) == 0) quit = true;
        break;
      }
      switch (key) {
        case 'q': quit = true; break;
        case 'c':
          sort = TopSort::clicks;
          redraw = true;
          break;
        case 'p':
          sort = TopSort::p99;
          redraw = true;
          break;
        case 'l':
          sort = TopSort::lag;
          redraw = true;
          break;
        case 'n':
          sort = TopSort::name;
          redraw = true;
          break;
        default: break;
      }
    }
    if (quit) break;
  }
  if (tty) std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;  // back to the screen as it was
  return status;
}

}  // namespace trafficctl
