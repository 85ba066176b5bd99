#include "server.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "log.hpp"
#include "request_parser.hpp"
#include "traffic/http/request_head.hpp"

namespace trafficd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Sockets bound to the loop's own executor type: the default, type-erased any_io_executor
// is copied and destroyed through indirect calls on every operation (~3% of a click).
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;

class Session;

// The request line's length: MAX_REQUEST_LINE bounds the whole line, not only its target.
std::size_t request_line_length(std::string_view method, std::string_view target) {
  return method.size() + 1 + target.size() + std::string_view(" HTTP/1.1").size();
}

// Requests that may wait on the network (postbacks when the lid store is in Redis) run on a
// thread of their own, with a Worker that may block and its own spool lane; their sessions
// wait, and each answer is sent by its session's loop. Request threads never block.
class Server::Offload {
 public:
  using Job = std::function<void(traffic::http::Worker&)>;
  Offload(traffic::http::App& app, std::size_t lane) : worker_(app, lane, /*may_block=*/true) {}

  void start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "http-blocking");
      std::unique_lock lock(mutex_);
      for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job(worker_);
        lock.lock();
      }
    });
  }
  void submit(Job job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }
  // After the loops stopped: the job under way finishes; queued ones are dropped (their
  // connections were past the shutdown grace).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    jobs_.clear();
  }

 private:
  traffic::http::Worker worker_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
};

// Work handed to a loop by other threads: the blocking thread's answers and the shutdown
// steps. A loop's io_context runs without the scheduler's mutex
// (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: locking and unlocking it was 3% of a click's CPU),
// so no other thread may call into the context; they append here instead and wake the
// loop through an eventfd that it reads like any other descriptor.
class Inbox {
 public:
  explicit Inbox(asio::io_context& context) : wake_(context.get_executor()) {
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    wake_.assign(fd);
  }

  /// On the loop's thread (or before it runs): starts taking work.
  void start() {
    wake_.async_read_some(asio::buffer(&count_, sizeof count_), [this](beast::error_code ec, std::size_t) {
      if (ec) return;  // closed at shutdown
      {
        std::lock_guard lock(mutex_);
        running_.swap(jobs_);
      }
      for (auto& job : running_) job();
      running_.clear();
      start();
    });
  }

  /// From any thread: `job` runs on the loop's thread.
  void push(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    const std::uint64_t one = 1;
    // Only fails when the counter would overflow, and then the loop has a wake-up pending.
    [[maybe_unused]] const ssize_t written = ::write(wake_.native_handle(), &one, sizeof one);
  }

 private:
  asio::posix::basic_stream_descriptor<Executor> wake_;
  std::uint64_t count_ = 0;
  std::mutex mutex_;
  std::vector<std::function<void()>> jobs_;
  std::vector<std::function<void()>> running_;  // touched only on the loop's thread
};

// One thread's event loop, listener and request handler.
struct Server::Loop {
  Loop(traffic::http::App& the_app, const traffic::config::HttpLimits& the_limits, std::size_t lane,
       Server::Offload& the_offload, std::atomic<std::size_t>& the_connections, std::size_t the_max_connections,
       std::atomic<std::size_t>& the_streams)
      : connections(the_connections),
        stream_count(the_streams),
        context(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
        inbox(context),
        acceptor(context.get_executor()),
        accept_retry(context),
        sweep(context),
        worker(the_app, lane),
        app(the_app),
        limits(the_limits),
        head_limits{.max_head_bytes = the_limits.max_request_line + the_limits.max_header_bytes,
                    .max_target = the_limits.max_request_line,  // the whole line is checked after it
                    .max_fields = the_limits.max_header_fields,
                    .max_field_bytes = the_limits.max_header_bytes},
        offload(the_offload),
        max_connections(the_max_connections) {
    metrics = &worker.metrics();
  }
  // Declared before the context, destroyed after it: what a session's destructor touches, for
  // the sessions still held by handlers that the context destroys at shutdown.
  std::unordered_set<Session*> sessions;            // touched only on this loop's thread
  std::atomic<std::size_t>& connections;            // open in the whole server: MAX_CONNECTIONS, and stop() waits for 0
  std::unordered_set<Session*> streams;             // sessions answering with an event stream (this thread only)
  std::atomic<std::size_t>& stream_count;           // event streams open in the whole server
  traffic::http::WorkerMetrics* metrics = nullptr;  // the worker's, which outlive it (in the registry)
  bool accept_paused = false;
  bool draining = false;
  asio::io_context context;  // used by this loop's thread only; other threads use the inbox
  Inbox inbox;
  Acceptor acceptor;
  // Accepting pauses while the process is out of descriptors or kernel memory, instead of
  // retrying a failing accept() at full speed: until this timer, or until a connection of
  // this loop closes and frees a descriptor.
  asio::steady_timer accept_retry;
  asio::steady_timer sweep;  // closes sessions past their deadline (see Session::deadline_)
  std::uint64_t tick = 0;    // half-seconds since start, advanced by the sweep
  traffic::http::Worker worker;
  traffic::http::App& app;
  const traffic::config::HttpLimits& limits;
  const traffic::http::HeadLimits head_limits;  // the same limits, as the simple head parser takes them
  Server::Offload& offload;
  const std::size_t max_connections;
  // Sessions whose click is staged in the spool, answered after the turn's one write.
  std::vector<std::shared_ptr<Session>> awaiting_commit, committing;
  bool commit_posted = false;
};

namespace {

// SO_REUSEPORT: every loop listens on the same port; the kernel balances new connections.
void open_listener(Acceptor& acceptor, const tcp::endpoint& endpoint) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  const int one = 1;
  if (setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  beast::error_code ec;
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {  // one line naming the settings, not Asio's source location
    throw std::runtime_error("HOST/PORT: cannot listen on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
  }
}

// Two memchr scans: string_view::find_first_of("\r\n") calls memchr over the two-byte set
// once per byte of the text, which showed as 2% of the CPU per click.
bool has_crlf(std::string_view text) {
  return text.find('\r') != std::string_view::npos || text.find('\n') != std::string_view::npos;
}

}  // namespace

// One connection. Timeouts are coarse on purpose: each phase sets a deadline in the loop's
// half-second ticks (no clock read, no syscall) and the loop's sweep, at each tick, closes
// sessions past theirs. Per-operation Asio timers cost two timer-queue updates per request
// and showed in profiles; the clock reads of the deadlines were 2% of a click.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Server::Loop& loop)
      : socket_(std::move(socket)),
        loop_(loop),
        buffer_(std::max<std::size_t>(16u << 10, header_limit() + 4096)),
        storage_(header_limit()) {
    beast::error_code ec;
    const tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) peer_ = traffic::net::IpAddress::from_sockaddr(remote.data()).value_or(peer_);
    loop_.sessions.insert(this);
    loop_.connections.fetch_add(1, std::memory_order_relaxed);
    traffic::http::WorkerMetrics::bump(loop_.metrics->connections_opened);
  }
  // Runs on the loop's thread: every other holder hands its reference back to the loop.
  ~Session() {
    loop_.sessions.erase(this);
    if (loop_.streams.erase(this) > 0) loop_.stream_count.fetch_sub(1, std::memory_order_relaxed);
    loop_.connections.fetch_sub(1, std::memory_order_relaxed);
    traffic::http::WorkerMetrics::bump(loop_.metrics->connections_closed);
    // A descriptor is free again: a paused acceptor tries now rather than at its timer.
    if (loop_.accept_paused && !loop_.draining) loop_.accept_retry.cancel();
  }

  void start() { wait_for_request(); }

  // Shutdown: a connection waiting for its next request is closed now; one in the middle
  // of a request finishes it and closes after the answer.
  void drain() {
    if (idle_) expire();
  }

  // Called by the sweep: the pending operation completes with operation_aborted.
  void expire_if_late(std::uint64_t tick) {
    if (tick > deadline_) expire();
  }

 private:
  // The request line and the header fields together.
  [[nodiscard]] std::size_t header_limit() const noexcept { return loop_.head_limits.max_head_bytes; }

  void expire() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // Expires after `seconds` and before `seconds` + one tick.
  void set_deadline(unsigned seconds) { deadline_ = loop_.tick + 2 * std::uint64_t{seconds}; }

  // Keep-alive wait: up to the idle timeout for the first byte of the next request.
  // async_read_some tries a recv at once; under load the next request is usually there
  // already. (Waiting for readiness first was measured: 7% more CPU per click.)
  void wait_for_request() {
    // Shutdown began while this session was answering: it is not waited for by drain().
    if (loop_.draining) return close();
    if (buffer_.size() > 0) return read_request();
    idle_ = true;
    // A new connection has the header timeout for its first byte: one that never sends
    // anything is not held for a keep-alive's idle time.
    set_deadline(served_ == 0 ? loop_.limits.header_timeout_seconds : loop_.limits.idle_timeout_seconds);
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->idle_ = false;
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_request();
    });
  }

  void read_request() {
    if (loop_.draining) return close();
    if (buffer_.size() > 0 && respond_to_simple_head()) return;
    parser_.emplace(storage_, static_cast<std::uint32_t>(header_limit()), loop_.limits.max_body_bytes);
    header_checked_ = false;
    set_deadline(loop_.limits.header_timeout_seconds);
    parse();
  }

  // A complete head of the common shape (traffic::http::parse_simple_head) is answered at
  // once without Beast's parser. Its views point into the buffer, which nothing overwrites
  // before the answer is sent: the next read starts after it.
  bool respond_to_simple_head() {
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    traffic::http::RequestHead head;
    if (!traffic::http::parse_simple_head(data, loop_.head_limits, storage_.headers, head)) return false;
    // Too long a line: declined, and refused with its 414 by the full parser's checks.
    if (request_line_length(head.method, head.target) > loop_.limits.max_request_line) return false;
    buffer_.consume(head.size);
    storage_.body.clear();
    respond(head.method, head.target, head.version, head.keep_alive);
    return true;
  }

  // Feeds the buffered bytes to the parser until the request is complete, an error ends
  // it, or more bytes are needed.
  void parse() {
    for (;;) {
      beast::error_code ec = bhttp::error::need_more;
      if (buffer_.size() > 0) buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec == bhttp::error::need_more) return read_more();
      if (ec) return refuse(ec);
      if (!header_checked_) {
        header_checked_ = true;
        if (!header_acceptable()) return;
        if (!parser_->is_done()) {
          set_deadline(loop_.limits.read_timeout_seconds);
          // The client waits for a go-ahead before its body (curl does past 1 KiB).
          if (expects_continue_ && buffer_.size() == 0) return send_continue();
        }
      }
      if (parser_->is_done()) {
        const RequestFacts& request = parser_->facts();
        return respond(request.method_text, request.target, request.version, parser_->keep_alive());
      }
    }
  }

  void read_more() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    // The buffer holds the header limit and more, so a full one is an oversized header.
    if (room == 0) return refuse(bhttp::error::header_limit);
    socket_.async_read_some(buffer_.prepare(std::min<std::size_t>(room, 4096)),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec == asio::error::eof && self->parser_->got_some()) {
                                return self->fail(400, "malformed request");  // cut short
                              }
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->parse();
                            });
  }

  // A parse error, answered with its status.
  void refuse(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      // Which limit: a request line that alone exceeds its bound is a 414.
      const std::string_view seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      const auto line_end = seen.find("\r\n");
      const bool long_line = line_end == std::string_view::npos || line_end > loop_.limits.max_request_line;
      return fail(long_line ? 414 : 431, long_line ? "request line too long" : "headers too large");
    }
    // A Content-Length beyond the body limit is refused as soon as the header says so.
    if (ec == bhttp::error::body_limit) return fail(413, "body too large");
    fail(400, "malformed request");
  }

  // The checks of SPEC §2 that a syntactically valid header can still fail. False when
  // the request was refused.
  bool header_acceptable() {
    const RequestFacts& request = parser_->facts();
    if (request_line_length(request.method_text, request.target) > loop_.limits.max_request_line) {
      fail(414, "request line too long");
      return false;
    }
    if (request.fields > loop_.limits.max_header_fields || request.field_bytes > loop_.limits.max_header_bytes) {
      fail(431, "headers too large");
      return false;
    }
    // Request smuggling (SPEC §2): Transfer-Encoding with Content-Length, or any
    // Transfer-Encoding but a final "chunked", is refused and the connection closed.
    const bool has_te = request.transfer_encodings > 0;
    if ((has_te && (request.content_lengths > 0 || !parser_->chunked())) || request.content_lengths > 1) {
      fail(400, "bad framing");
      return false;
    }
    // Expect (RFC 9110 §10.1.1): 100-continue is honoured, any other expectation is a 417.
    // HTTP/1.0 requests' expectations are ignored, as the RFC says.
    expects_continue_ = false;
    for (const auto& field : storage_.headers) {
      if (!traffic::http::iequals(field.name, "Expect") || request.version < 11) continue;
      if (!traffic::http::iequals(field.value, "100-continue")) {
        fail(417, "expectation failed");
        return false;
      }
      expects_continue_ = true;
    }
    const bool bodyless = request.method == bhttp::verb::get || request.method == bhttp::verb::head;
    if (bodyless && (has_te || (parser_->content_length() && *parser_->content_length() > 0))) {
      fail(400, "no body allowed");
      return false;
    }
    return true;
  }

  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_more();
                      });
  }

  void respond(std::string_view method, std::string_view target, unsigned version, bool keep_alive) {
    view_.method = method;
    view_.target = target;
    view_.headers = storage_.headers;
    view_.peer = peer_;
    view_.body = storage_.body;
    loop_.worker.handle(view_, answer_);
    head_ = method == "HEAD";
    keep_alive_ = keep_alive && !loop_.draining;
    version_ = version;
    if (answer_.awaits_commit) return await_commit();
    if (answer_.offload) return offload();
    if (answer_.event_stream && !head_) return start_stream();
    send(head_, keep_alive_, version_);
  }

  // ---- Server-Sent Events (/status/events) ----

  // The headers, then the connection stays open for Server::publish(): no deadline, and a
  // read that only watches for the client going away.
  void start_stream() {
    out_.assign(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Accel-Buffering: no\r\nConnection: keep-alive\r\nX-Request-Id: ");
    out_.append(has_crlf(answer_.request_id) ? std::string_view() : std::string_view(answer_.request_id));
    out_.append("\r\n\r\n: connected\n\n");  // a comment: the browser's EventSource opens now
    deadline_ = std::numeric_limits<std::uint64_t>::max();
    idle_ = true;  // a shutdown closes it at once
    loop_.streams.insert(this);
    loop_.stream_count.fetch_add(1, std::memory_order_relaxed);
    ++served_;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->event_written(ec); });
    watch_stream();
  }

  // A client sends nothing on an event stream: a read completes when it goes away.
  void watch_stream() {
    socket_.async_read_some(buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->buffer_.clear();
      self->watch_stream();
    });
  }

 public:
  // On the loop's thread: the newest event for this stream.
  void push_event(const std::shared_ptr<const std::string>& event) {
    if (writing_) {
      pending_event_ = event;  // the one waiting is stale now
      return;
    }
    writing_ = true;
    current_event_ = event;
    asio::async_write(socket_, asio::buffer(*current_event_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->event_written(ec); });
  }

 private:
  void event_written(beast::error_code ec) {
    writing_ = false;
    current_event_.reset();
    if (ec) return close();
    if (pending_event_) push_event(std::exchange(pending_event_, nullptr));
  }

  // Handled again, start to end, by the blocking thread's Worker (the request's views stay
  // valid: this session reads nothing until it has answered).
  void offload() {
    // No read or idle deadline while the server works on it (a postback may wait for the lid
    // store, or behind others): the answer's write sets its own.
    deadline_ = std::numeric_limits<std::uint64_t>::max();
    loop_.offload.submit([self = shared_from_this()](traffic::http::Worker& worker) mutable {
      worker.handle(self->view_, self->answer_);
      if (self->answer_.awaits_commit) worker.complete(self->answer_, worker.commit_clicks());
      // The reference moves to the loop, so the session never ends on this thread.
      Server::Loop& loop = self->loop_;
      loop.inbox.push([self = std::move(self)] { self->send(self->head_, self->keep_alive_, self->version_); });
    });
  }

  // A recorded click is answered once its record is written: the sessions of one loop turn
  // share a single write(2) to the spool, done by a handler posted behind the turn's other
  // ready handlers.
  void await_commit() {
    loop_.awaiting_commit.push_back(shared_from_this());
    if (loop_.commit_posted) return;
    loop_.commit_posted = true;
    asio::post(loop_.context, [&loop = loop_] { commit_clicks(loop); });
  }

 public:
  static void commit_clicks(Server::Loop& loop) {
    loop.commit_posted = false;
    const bool recorded = loop.worker.commit_clicks();
    loop.committing.swap(loop.awaiting_commit);
    for (const auto& session : loop.committing) {
      loop.worker.complete(session->answer_, recorded);
      session->send(session->head_, session->keep_alive_, session->version_);
    }
    loop.committing.clear();
  }

 private:
  // The response is written by hand into one buffer and sent with one write: Beast's
  // serializer walks a chain of buffer views whose iteration showed as ~5% of the CPU per
  // click in `perf`, for a response whose shape never varies.
  void send(bool head, bool keep_alive, unsigned version) {
    // Header values come from the recipe and the request id; a CR or LF can never be
    // written (the URL builder encodes them already; this is the last line of defence).
    if (has_crlf(answer_.location) || has_crlf(answer_.request_id) || has_crlf(answer_.cors_origin) ||
        has_crlf(answer_.set_cookie)) {
      answer_.status = 500;
      answer_.location.clear();
      answer_.request_id.clear();
      answer_.cors_origin.clear();
      answer_.cors_preflight = false;
      answer_.set_cookie.clear();
      answer_.body = R"({"error":"internal error"})";
      answer_.content_type = "application/json; charset=utf-8";
    }
    out_.clear();
    out_.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(answer_.status);
    out_.push_back(' ');
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(answer_.status));
    out_.append(reason.data(), reason.size());
    header("\r\nContent-Type: ", answer_.content_type);
    if (!answer_.location.empty()) header("\r\nLocation: ", answer_.location);
    if (!answer_.request_id.empty()) header("\r\nX-Request-Id: ", answer_.request_id);
    if (!answer_.allow.empty()) header("\r\nAllow: ", answer_.allow);
    if (!answer_.retry_after.empty()) header("\r\nRetry-After: ", answer_.retry_after);
    if (!answer_.cache_control.empty()) header("\r\nCache-Control: ", answer_.cache_control);
    if (!answer_.cors_origin.empty()) {
      header("\r\nAccess-Control-Allow-Origin: ", answer_.cors_origin);
      out_.append("\r\nVary: Origin");
      if (answer_.cors_preflight) {
        out_.append(
            "\r\nAccess-Control-Allow-Methods: POST, GET, OPTIONS"
            "\r\nAccess-Control-Allow-Headers: Content-Type\r\nAccess-Control-Max-Age: 600");
      }
    }
    if (!answer_.set_cookie.empty()) header("\r\nSet-Cookie: ", answer_.set_cookie);
    if (!keep_alive) {
      out_.append("\r\nConnection: close");
    } else if (version == 10) {
      out_.append("\r\nConnection: keep-alive");
    }
    out_.append("\r\nContent-Length: ");
    append_number(answer_.body.size());  // for HEAD: what a GET would carry
    out_.append("\r\n\r\n");
    if (!head) out_.append(answer_.body);
    set_deadline(loop_.limits.read_timeout_seconds);
    ++served_;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->wait_for_request();
                      });
  }

  void header(std::string_view name, std::string_view value) {
    out_.append(name);
    out_.append(value);
  }

  void append_number(std::size_t value) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, static_cast<std::size_t>(result.ptr - digits));
  }

  // A request we refuse before the handler sees it; the connection closes after the answer.
  void fail(unsigned status, std::string_view reason) {
    answer_.reset();
    loop_.worker.assign_request_id(answer_);  // the request's own may not have been read
    answer_.status = status;
    answer_.content_type = "application/json; charset=utf-8";
    answer_.body = std::string(R"({"error":")") + std::string(reason) + "\"}";
    loop_.worker.metrics().count_request(traffic::http::Route::other, status);
    send(false, false, 11);
  }

  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  Socket socket_;
  Server::Loop& loop_;
  traffic::net::IpAddress peer_ = traffic::net::IpAddress::v4({0, 0, 0, 0});
  std::uint64_t deadline_ = std::numeric_limits<std::uint64_t>::max();  // in loop ticks
  beast::flat_buffer buffer_;
  RequestStorage storage_;  // the current request's text, headers and body
  std::optional<RequestParser> parser_;
  bool header_checked_ = false;
  bool expects_continue_ = false;
  traffic::http::Request view_;
  traffic::http::Response answer_;
  std::string out_;
  bool idle_ = false;
  std::uint64_t served_ = 0;  // answers sent on this connection
  bool head_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  // An event stream's writes: the event being written, and the newest one waiting.
  bool writing_ = false;
  std::shared_ptr<const std::string> current_event_;
  std::shared_ptr<const std::string> pending_event_;
};

namespace {

void sweep(Server::Loop& loop) {
  loop.sweep.expires_after(std::chrono::milliseconds(500));
  loop.sweep.async_wait([&loop](beast::error_code ec) {
    if (ec) return;
    ++loop.tick;
    for (Session* session : loop.sessions) session->expire_if_late(loop.tick);
    sweep(loop);
  });
}

// The answer to a connection over MAX_CONNECTIONS, sent without reading its request: the
// handler's 503 body, written out once.
constexpr std::string_view kOverCapacityBody = R"({"error":"temporarily unavailable"})";
static_assert(kOverCapacityBody.size() == 35, "Content-Length below");
constexpr std::string_view kOverCapacity =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n"
    "Connection: close\r\nContent-Length: 35\r\n\r\n{\"error\":\"temporarily unavailable\"}";
static_assert(kOverCapacity.ends_with(kOverCapacityBody));

void accept(Server::Loop& loop);

// accept() failed for lack of a descriptor or of kernel memory: the pending connection stays
// in the backlog and the listening socket stays readable, so accepting again at once would
// spin. Wait for a connection of this loop to close, or 100 ms.
void pause_accepting(Server::Loop& loop) {
  loop.accept_paused = true;
  loop.accept_retry.expires_after(std::chrono::milliseconds(100));
  loop.accept_retry.async_wait([&loop](beast::error_code) {
    loop.accept_paused = false;
    if (loop.draining || !loop.acceptor.is_open()) return;
    accept(loop);
  });
}

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
}

bool out_of_kernel_memory(const beast::error_code& ec) {
  return ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

void accept(Server::Loop& loop) {
  loop.acceptor.async_accept([&loop](beast::error_code ec, Socket socket) {
    if (ec == asio::error::operation_aborted || !loop.acceptor.is_open()) return;
    auto& metrics = *loop.metrics;
    if (out_of_descriptors(ec) || out_of_kernel_memory(ec)) {
      traffic::http::WorkerMetrics::bump(out_of_descriptors(ec) ? metrics.accept_paused_fd_limit
                                                                : metrics.accept_paused_kernel_memory);
      return pause_accepting(loop);
    }
    if (!ec && loop.connections.load(std::memory_order_relaxed) >= loop.max_connections) {
      // Refused at once with a clear answer, so that a load balancer moves on; the request
      // is not read. Best effort: the socket's buffer takes these few bytes.
      traffic::http::WorkerMetrics::bump(metrics.connections_refused);
      [[maybe_unused]] const auto sent =
          ::send(socket.native_handle(), kOverCapacity.data(), kOverCapacity.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    } else if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), loop)->start();
    }
    accept(loop);
  });
}

}  // namespace

Server::Server(traffic::http::App& app, const traffic::config::Config& config, std::size_t max_connections)
    : app_(app), limits_(config.limits), offload_(std::make_unique<Offload>(app, config.thread_count())) {
  const unsigned threads = config.thread_count();
  const auto address = asio::ip::make_address(config.host);
  tcp::endpoint endpoint(address, config.port);
  for (unsigned i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>(app_, limits_, i, *offload_, connections_, max_connections, streams_);
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
  offload_->start();
  for (auto& loop : loops_) {
    loop->inbox.start();
    accept(*loop);
    sweep(*loop);
    threads_.emplace_back([&context = loop->context, n = threads_.size()] {
      pthread_setname_np(pthread_self(), ("http-" + std::to_string(n)).c_str());
      context.run();
    });
  }
}

void Server::publish(std::shared_ptr<const std::string> event) {
  for (auto& loop : loops_) {
    loop->inbox.push([&l = *loop, event] {
      // Copied first: a failed write closes its session, which leaves the set.
      std::vector<std::shared_ptr<Session>> streams;
      streams.reserve(l.streams.size());
      for (Session* session : l.streams) streams.push_back(session->shared_from_this());
      for (const auto& session : streams) session->push_event(event);
    });
  }
}

void Server::stop(std::chrono::seconds grace) {
  for (auto& loop : loops_) {
    loop->inbox.push([&l = *loop] {
      beast::error_code ec;
      l.draining = true;
      l.acceptor.close(ec);
      for (Session* session : l.sessions) session->drain();
      l.sweep.cancel();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& loop : loops_) loop->inbox.push([&context = loop->context] { context.stop(); });
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  offload_->stop();
}

}  // namespace trafficd
