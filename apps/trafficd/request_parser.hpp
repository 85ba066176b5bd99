#pragma once
// One HTTP request parsed by Beast's basic_parser into storage that the session owns and
// reuses. Beast's request_parser<string_body> builds a basic_fields with one allocation per
// field and is rebuilt for every request; in `perf` that and its composed read operation
// were ~10% of the CPU of a click. The syntax, the limits and the chunked decoding stay
// Beast's: only where the pieces are kept changes.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/http/message.hpp"

namespace trafficd {

/// What one request's header said, beyond the fields themselves: what the server checks
/// before the handler sees the request (SPEC §2 limits and framing).
struct RequestFacts {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string_view method_text;
  std::string_view target;
  unsigned version = 11;
  std::size_t fields = 0;
  std::size_t field_bytes = 0;  ///< names + values + 4 per field (": " and CRLF)
  std::size_t transfer_encodings = 0;
  std::size_t content_lengths = 0;
};

/// Reused storage of a connection's requests. Views handed out (facts, headers) point into
/// `text`, whose capacity is fixed at construction so that appending never moves it.
struct RequestStorage {
  explicit RequestStorage(std::size_t header_limit) { text.reserve(header_limit); }
  std::string text;
  std::vector<traffic::http::Header> headers;
  std::string body;
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  /// Clears `storage` (keeping its capacity) and sets Beast's limits.
  RequestParser(RequestStorage& storage, std::uint32_t header_limit, std::uint64_t body_limit) : storage_(storage) {
    storage_.text.clear();
    storage_.headers.clear();
    storage_.body.clear();
    this->header_limit(header_limit);
    this->body_limit(body_limit);
  }

  [[nodiscard]] const RequestFacts& facts() const noexcept { return facts_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  // Copies `piece` into the storage. Beast's header limit bounds the header, and the
  // storage was reserved to that bound, so this never reallocates; the check keeps that
  // true even if the two bounds were ever configured apart.
  std::string_view keep(string_view piece, error_code& ec) {
    auto& text = storage_.text;
    if (piece.size() > text.capacity() - text.size()) {
      ec = boost::beast::http::error::header_limit;
      return {};
    }
    const std::size_t at = text.size();
    text.append(piece.data(), piece.size());
    return {text.data() + at, piece.size()};
  }

  void on_request_impl(boost::beast::http::verb method, string_view method_text, string_view target, int version,
                       error_code& ec) override {
    facts_.method = method;
    facts_.method_text = keep(method_text, ec);
    facts_.target = keep(target, ec);
    facts_.version = static_cast<unsigned>(version);
  }

  void on_response_impl(int, string_view, int, error_code& ec) override {
    ec = boost::beast::http::error::bad_version;  // never called for a request parser
  }

  void on_field_impl(boost::beast::http::field name, string_view name_text, string_view value,
                     error_code& ec) override {
    ++facts_.fields;
    facts_.field_bytes += name_text.size() + value.size() + 4;
    if (name == boost::beast::http::field::transfer_encoding) ++facts_.transfer_encodings;
    if (name == boost::beast::http::field::content_length) ++facts_.content_lengths;
    const std::string_view kept_name = keep(name_text, ec);
    const std::string_view kept_value = keep(value, ec);
    if (!ec) storage_.headers.push_back({kept_name, kept_value});
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
    if (content_length) storage_.body.reserve(static_cast<std::size_t>(*content_length));
  }

  std::size_t on_body_impl(string_view body, error_code&) override {
    storage_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    storage_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

  RequestStorage& storage_;
  RequestFacts facts_;
};

}  // namespace trafficd
