#pragma once
// Requests and responses as the handlers see them: plain views and values, no sockets and
// no Beast, so every route is testable as a function call (ARCHITECTURE.md, habit 1).

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "traffic/net/ip_address.hpp"

namespace traffic::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

/// One parsed request. Views point into the server's buffers for the duration of the call.
struct Request {
  std::string_view method;  ///< "GET", "HEAD", "POST", …
  std::string_view target;  ///< "/pl?o=…" as received
  std::span<const Header> headers;
  net::IpAddress peer;  ///< the socket's peer address
  std::string_view body;

  /// The first value of header `name` (ASCII case-insensitive); "" when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept;
};

/// One response. Reused across requests by a worker, so `reset()` keeps the capacity.
struct Response {
  unsigned status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string location;            ///< "" = no Location header
  std::string request_id;          ///< X-Request-Id to send (echoed or generated)
  std::string_view allow;          ///< Allow header for 405
  std::string_view retry_after;    ///< Retry-After (seconds) of a 503 that a retry may get past
  std::string_view cache_control;  ///< Cache-Control; "" = none
  /// Access-Control-Allow-Origin (with `Vary: Origin`): an origin of EVENT_ORIGINS that the
  /// request came from; "" = none. With `cors_preflight`, the preflight's Allow-Methods,
  /// Allow-Headers and Max-Age too.
  std::string cors_origin;
  bool cors_preflight = false;
  std::string set_cookie;  ///< Set-Cookie value; "" = none
  /// A click staged in the spool but not yet written: the answer may leave only after
  /// Worker::commit_clicks() and Worker::complete() (see handler.hpp).
  bool awaits_commit = false;
  unsigned char commit_route = 0;  ///< the Route (metrics.hpp) the answer is counted under then
  std::uint64_t started_ns = 0;    ///< when handling began (steady clock): its time is counted when it completes
  /// The request needs work that may block (a postback against a remote lid store): nothing
  /// was done; hand the request to a Worker that may block (see handler.hpp).
  bool offload = false;
  /// Answer with a Server-Sent Events stream (`/status/events`): the status line and headers
  /// now, no body, then every event the server publishes, until the client goes away.
  bool event_stream = false;

  void reset() noexcept {
    status = 200;
    content_type = "text/plain; charset=utf-8";
    body.clear();
    location.clear();
    request_id.clear();
    allow = {};
    retry_after = {};
    cache_control = {};
    cors_origin.clear();
    cors_preflight = false;
    set_cookie.clear();
    awaits_commit = false;
    commit_route = 0;
    offload = false;
    event_stream = false;
  }
};

/// True for `a` equal to `b` ignoring ASCII case.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// The first value of `key` in `query` (without '?'), percent-decoded ('+' is a space), into
/// `out`. Returns false when the key is absent; a malformed escape is kept literally. The
/// first occurrence wins (SPEC §4.5).
bool query_param(std::string_view query, std::string_view key, std::string& out);

/// Every `key=value` of `query`, both percent-decoded, in order; at most `max_params`.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> query_params(std::string_view query,
                                                                            std::size_t max_params);

/// Splits a target into path and query ("/pl", "o=…"). A target without '?' has no query.
struct Target {
  std::string_view path;
  std::string_view query;
};
[[nodiscard]] Target split_target(std::string_view target) noexcept;

/// True when `path` names `route` ignoring ASCII case, with one optional trailing slash
/// ("/PL/" matches "/pl", as the old service did).
[[nodiscard]] bool path_is(std::string_view path, std::string_view route) noexcept;

}  // namespace traffic::http
