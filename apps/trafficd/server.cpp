#include "server.hpp"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <unordered_set>

#include "log.hpp"

namespace trafficd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

class Session;

// One thread's event loop, listener and request handler.
struct Server::Loop {
  Loop(traffic::http::App& the_app, const traffic::config::HttpLimits& the_limits)
      : context(1), acceptor(context), worker(the_app), app(the_app), limits(the_limits) {}
  asio::io_context context;
  tcp::acceptor acceptor;
  traffic::http::Worker worker;
  traffic::http::App& app;
  const traffic::config::HttpLimits& limits;
  std::unordered_set<Session*> sessions;  // touched only on this loop's thread
  std::atomic<std::size_t> open_sessions{0};
  bool draining = false;
};

namespace {

// SO_REUSEPORT: every loop listens on the same port; the kernel balances new connections.
void open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  const int one = 1;
  if (setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

bool has_crlf(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Loop& loop) : stream_(std::move(socket)), loop_(loop) {
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ = traffic::net::IpAddress::from_sockaddr(remote.data()).value_or(peer_);
    }
    loop_.sessions.insert(this);
    loop_.open_sessions.fetch_add(1);
  }
  ~Session() {
    loop_.sessions.erase(this);
    loop_.open_sessions.fetch_sub(1);
  }

  void start() { wait_for_request(); }

  // Shutdown: a connection waiting for its next request is closed now; one in the middle
  // of a request finishes it and closes after the answer.
  void drain() {
    if (idle_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }
  }

 private:
  // Keep-alive wait: up to the idle timeout for the first byte of the next request.
  void wait_for_request() {
    if (buffer_.size() > 0) return read_header();
    idle_ = true;
    stream_.expires_after(std::chrono::seconds(loop_.limits.idle_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->idle_ = false;
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    if (loop_.draining) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(loop_.limits.max_request_line + loop_.limits.max_header_bytes));
    parser_->body_limit(loop_.limits.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(loop_.limits.header_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      // Which limit: a request line that alone exceeds its bound is a 414.
      const std::string_view seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      const auto line_end = seen.find("\r\n");
      const bool long_line = line_end == std::string_view::npos || line_end > loop_.limits.max_request_line;
      return fail(long_line ? 414 : 431, long_line ? "request line too long" : "headers too large");
    }
    // A Content-Length beyond the body limit is refused as soon as the header says so.
    if (ec == bhttp::error::body_limit) return fail(413, "body too large");
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec) return fail(400, "malformed request");

    const auto& request = parser_->get();
    if (request.target().size() > loop_.limits.max_request_line) return fail(414, "request line too long");
    std::size_t fields = 0;
    std::size_t header_bytes = 0;
    for (const auto& field : request) {
      ++fields;
      header_bytes += field.name_string().size() + field.value().size() + 4;
    }
    if (fields > loop_.limits.max_header_fields || header_bytes > loop_.limits.max_header_bytes) {
      return fail(431, "headers too large");
    }
    // Request smuggling (SPEC §2): Transfer-Encoding with Content-Length, or any
    // Transfer-Encoding but a final "chunked", is refused and the connection closed.
    const bool has_te = request.count(bhttp::field::transfer_encoding) > 0;
    const bool has_cl = request.count(bhttp::field::content_length) > 0;
    if (has_te && (has_cl || !parser_->chunked())) return fail(400, "bad framing");
    if (request.count(bhttp::field::content_length) > 1) return fail(400, "bad framing");
    const bool bodyless = request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
    if (bodyless && (has_te || (parser_->content_length() && *parser_->content_length() > 0))) {
      return fail(400, "no body allowed");
    }
    if (parser_->is_done()) return respond();
    stream_.expires_after(std::chrono::seconds(loop_.limits.read_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code body_ec, std::size_t) {
      if (body_ec == bhttp::error::body_limit) return self->fail(413, "body too large");
      if (body_ec) return self->close();
      self->respond();
    });
  }

  void respond() {
    const auto& request = parser_->get();
    headers_.clear();
    for (const auto& field : request) {
      headers_.push_back({std::string_view(field.name_string().data(), field.name_string().size()),
                          std::string_view(field.value().data(), field.value().size())});
    }
    traffic::http::Request view;
    view.method = std::string_view(request.method_string().data(), request.method_string().size());
    view.target = std::string_view(request.target().data(), request.target().size());
    view.headers = headers_;
    view.peer = peer_;
    view.body = request.body();
    loop_.worker.handle(view, answer_);
    const bool keep_alive = request.keep_alive() && !loop_.draining;
    send(request.method() == bhttp::verb::head, keep_alive, request.version());
  }

  void send(bool head, bool keep_alive, unsigned version) {
    // Header values come from the recipe and the request id; a CR or LF can never be
    // written (the URL builder encodes them already; this is the last line of defence).
    if (has_crlf(answer_.location) || has_crlf(answer_.request_id)) {
      answer_.status = 500;
      answer_.location.clear();
      answer_.request_id.clear();
      answer_.body = R"({"error":"internal error"})";
      answer_.content_type = "application/json; charset=utf-8";
    }
    response_.emplace();
    auto& res = *response_;
    res.version(version);
    res.result(answer_.status);
    res.set(bhttp::field::content_type, answer_.content_type);
    if (!answer_.location.empty()) res.set(bhttp::field::location, answer_.location);
    if (!answer_.request_id.empty()) res.set("X-Request-Id", answer_.request_id);
    if (!answer_.allow.empty()) res.set(bhttp::field::allow, answer_.allow);
    res.keep_alive(keep_alive);
    if (head) {
      res.content_length(answer_.body.size());  // what a GET would carry; no body is sent
    } else {
      res.body() = std::move(answer_.body);
      res.prepare_payload();
    }
    serializer_.emplace(res);
    if (head) serializer_->split(true);
    write(head, keep_alive);
  }

  void write(bool head, bool keep_alive) {
    stream_.expires_after(std::chrono::seconds(loop_.limits.read_timeout_seconds));
    auto done = [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      self->answer_.body = std::move(self->response_->body());  // keep the buffer's capacity
      if (ec || !keep_alive) return self->close();
      self->wait_for_request();
    };
    if (head) {
      bhttp::async_write_header(stream_, *serializer_, std::move(done));
    } else {
      bhttp::async_write(stream_, *serializer_, std::move(done));
    }
  }

  // A request we refuse before the handler sees it; the connection closes after the answer.
  void fail(unsigned status, std::string_view reason) {
    answer_.reset();
    answer_.status = status;
    answer_.content_type = "application/json; charset=utf-8";
    answer_.body = std::string(R"({"error":")") + std::string(reason) + "\"}";
    loop_.worker.metrics().count_request(traffic::http::Route::other, status);
    send(false, false, 11);
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Loop& loop_;
  traffic::net::IpAddress peer_ = traffic::net::IpAddress::v4({0, 0, 0, 0});
  beast::flat_buffer buffer_{16 * 1024};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> serializer_;
  std::vector<traffic::http::Header> headers_;
  traffic::http::Response answer_;
  bool idle_ = false;
};

namespace {

void accept(Server::Loop& loop) {
  loop.acceptor.async_accept([&loop](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !loop.acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), loop)->start();
    }
    accept(loop);
  });
}

}  // namespace

Server::Server(traffic::http::App& app, const traffic::config::Config& config) : app_(app), limits_(config.limits) {
  const unsigned threads = config.threads ? config.threads : std::max(1U, std::thread::hardware_concurrency());
  const auto address = asio::ip::make_address(config.host);
  tcp::endpoint endpoint(address, config.port);
  for (unsigned i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>(app_, limits_);
    open_listener(loop->acceptor, endpoint);
    // With PORT=0 the first socket picks the port; the others join it.
    if (i == 0) {
      port_ = loop->acceptor.local_endpoint().port();
      endpoint.port(port_);
    }
    loops_.push_back(std::move(loop));
  }
}

Server::~Server() {
  if (!threads_.empty()) stop(std::chrono::seconds(0));
}

void Server::start() {
  for (auto& loop : loops_) {
    accept(*loop);
    threads_.emplace_back([&context = loop->context] { context.run(); });
  }
}

void Server::stop(std::chrono::seconds grace) {
  for (auto& loop : loops_) {
    asio::post(loop->context, [&l = *loop] {
      beast::error_code ec;
      l.draining = true;
      l.acceptor.close(ec);
      for (Session* session : l.sessions) session->drain();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  auto open = [&] {
    std::size_t n = 0;
    for (const auto& loop : loops_) n += loop->open_sessions.load();
    return n;
  };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& loop : loops_) loop->context.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace trafficd
