// Example 4 — embedding trafficd's click handler in your own Asio server.
//
// Every route of trafficd (/pl clicks, /lid postbacks, /health, /metrics, …) is a function
// of (request, services) → response in libtraffic's `http` component, with no sockets and
// no Beast inside. trafficd's own server is one way to feed it; this program is another: a
// small Boost.Beast server that parses requests, hands them to an http::Worker and writes
// the answers back. Put the click path behind your own listener, protocol or process model
// the same way.
//
//   embed_handler <offers.json.gz> <campaigns.json.gz> <City.mmdb> [o]
//
// It listens on a free loopback port, sends itself one click (GET /pl?o=…) with a Beast
// client, prints the answer and exits.
//
// CMake:  find_package(traffic REQUIRED COMPONENTS http)

#include <traffic/common/clock.hpp>
#include <traffic/common/file.hpp>
#include <traffic/counters/counters.hpp>
#include <traffic/device/detector.hpp>
#include <traffic/geo/resolver.hpp>
#include <traffic/http/handler.hpp>
#include <traffic/http/metrics.hpp>
#include <traffic/recipe/loader.hpp>
#include <traffic/recipe/store.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// A link to offer 100 / campaign 10 of the demo recipe, under the demo key.
constexpr const char* kDemoLink = "25303b46515c67727d88939ea9b4bfca:20c27dee4517a1e52468c3abad2a5f08";

// One connection: read requests, answer each through the worker, until the peer closes.
// (Synchronous, one connection at a time: enough to show the seam. trafficd runs one
// event loop and one Worker per core.)
void serve(tcp::socket socket, traffic::http::Worker& worker) {
  beast::flat_buffer buffer;
  traffic::http::Response response;
  for (;;) {
    beast::http::request<beast::http::string_body> parsed;
    beast::error_code ec;
    beast::http::read(socket, buffer, parsed, ec);
    if (ec) return;  // closed, or not HTTP

    // The handler's view of the request: views into Beast's buffers, valid for the call.
    std::vector<traffic::http::Header> headers;
    for (const auto& field : parsed) headers.push_back({field.name_string(), field.value()});
    const auto peer = traffic::net::IpAddress::parse(socket.remote_endpoint().address().to_string());
    const traffic::http::Request request{.method = parsed.method_string(),
                                         .target = parsed.target(),
                                         .headers = headers,
                                         .peer = peer.value_or(traffic::net::IpAddress{}),
                                         .body = parsed.body()};
    worker.handle(request, response);
    // A recorded click waits for its record to be written (one write per event-loop turn);
    // here every request is its own turn. Without a spool nothing waits.
    if (response.awaits_commit) worker.complete(response, worker.commit_clicks());

    beast::http::response<beast::http::string_body> answer{static_cast<beast::http::status>(response.status),
                                                           parsed.version()};
    answer.set(beast::http::field::content_type, response.content_type);
    if (!response.location.empty()) answer.set(beast::http::field::location, response.location);
    if (!response.request_id.empty()) answer.set("X-Request-Id", response.request_id);
    if (!response.retry_after.empty()) answer.set(beast::http::field::retry_after, response.retry_after);
    answer.body() = response.body;
    answer.keep_alive(parsed.keep_alive());
    answer.prepare_payload();
    beast::http::write(socket, answer, ec);
    if (ec || !answer.keep_alive()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: embed_handler <offers.json.gz> <campaigns.json.gz> <City.mmdb> [o]\n";
    return 2;
  }

  // 1. The routes' settings: the link keys, the rule engine's and the URL builder's
  //    settings, the admin token, the postback secrets. trafficd builds them from its
  //    configuration (http::app_settings(config)); here they are set in code, and what is
  //    not set keeps trafficd's default.
  traffic::http::AppSettings settings;
  settings.keys = traffic::link::LinkKeys::from_config("0123456789abcdef0123456789abcdef");

  // 2. The long-lived services, built once and shared by every worker.
  traffic::recipe::Store store;
  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  auto offers = traffic::recipe::load_offers(traffic::read_file(argv[1]), offers_report);
  auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(argv[2]), campaigns_report);
  if (!offers || !campaigns || !store.replace(std::move(*offers), std::move(*campaigns))) {
    std::cerr << "the recipe did not load\n";
    return 1;
  }
  traffic::geo::GeoPaths paths;
  paths.city = argv[3];
  traffic::geo::GeoResolver geo(paths);
  traffic::device::DeviceDetector device;
  traffic::counters::InMemoryCounters counters;
  const traffic::SystemClock clock;
  traffic::http::MetricsRegistry metrics;
  // No spool here: clicks are answered but not recorded (example 5 shows the spool).
  traffic::http::App app(
      std::move(settings),
      {.store = store, .geo = geo, .device = device, .counters = counters, .clock = clock, .metrics = metrics});
  traffic::http::Worker worker(app);  // one per thread: its own caches and scratch buffers

  // 3. The server: a loopback port chosen by the system, one connection served.
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = acceptor.local_endpoint().port();
  std::thread server([&] { serve(acceptor.accept(), worker); });

  // 4. A visitor's click, as a browser would send it.
  tcp::socket client(io);
  client.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string target = std::string("/pl?o=") + (argc == 5 ? argv[4] : kDemoLink) + "&subid=s1";
  beast::http::request<beast::http::empty_body> click{beast::http::verb::get, target, 11};
  click.set(beast::http::field::host, "track.example");
  click.set(beast::http::field::user_agent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36");
  click.keep_alive(false);
  beast::http::write(client, click);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> answer;
  beast::http::read(client, buffer, answer);
  server.join();

  std::cout << answer.result_int() << " " << answer.reason() << "\n";
  if (answer.count(beast::http::field::location) != 0) {
    std::cout << "Location: " << answer[beast::http::field::location] << "\n";
  }
  return answer.result_int() == 302 ? 0 : 1;
}
