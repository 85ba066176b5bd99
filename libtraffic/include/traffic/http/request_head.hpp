#pragma once
// The head of an HTTP request in its everyday shape, parsed in one pass. Almost every click
// is a GET with a handful of plain header fields and no body; a general parser (Beast's, in
// trafficd) spent ~9% of a click's CPU on it, byte by byte and twice over. What this parser
// accepts is a strict subset of HTTP/1.1 that a general parser reads the same way (a
// differential test and fuzz target hold it to Beast's answers); anything else is declined
// and left to the general parser, which also gives the error answers.

#include <cstddef>
#include <string_view>
#include <vector>

#include "traffic/http/message.hpp"

namespace traffic::http {

struct RequestHead {
  std::string_view method;  ///< a token: "GET", "HEAD", …
  std::string_view target;
  unsigned version = 11;   ///< 11 or 10
  bool keep_alive = true;  ///< HTTP/1.1 unless "Connection: close"; 1.0 only with "keep-alive"
  std::size_t size = 0;    ///< bytes of the head, up to and including its empty line
};

struct HeadLimits {
  std::size_t max_head_bytes = 24u << 10;  ///< the whole head; beyond it: declined
  std::size_t max_target = 8u << 10;
  std::size_t max_fields = 100;
  std::size_t max_field_bytes = 16u << 10;  ///< names + values + 4 per field
};

/// Parses the request head at the start of `data` if it is complete and in the common
/// shape; `headers` gets its fields (views into `data`) in order. Returns false for
/// anything else — an incomplete head, framing of a body (Content-Length,
/// Transfer-Encoding), Upgrade, Proxy-Connection, a Connection other than one "close" or
/// "keep-alive", folded lines, bytes other than printable ASCII and tab (HTAB in values
/// only), a version other than HTTP/1.0 or 1.1, a limit of `limits` reached — and then
/// `head` and `headers` hold nothing of use.
[[nodiscard]] bool parse_simple_head(std::string_view data, const HeadLimits& limits, std::vector<Header>& headers,
                                     RequestHead& head);

}  // namespace traffic::http
