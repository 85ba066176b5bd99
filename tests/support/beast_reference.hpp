#pragma once
// Beast's HTTP parser as a reference for traffic::http::parse_simple_head (its differential
// test and fuzz target): it records what the parser reports, in the order it reports it
// (basic_fields would regroup repeated names).

#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "traffic/http/request_head.hpp"

namespace test {

namespace bhttp = boost::beast::http;

class RecordingParser final : public bhttp::basic_parser<true> {
 public:
  std::string method, target;
  unsigned version = 0;
  std::vector<std::pair<std::string, std::string>> fields;

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(bhttp::verb, string_view m, string_view t, int v, error_code&) override {
    method = std::string(m);
    target = std::string(t);
    version = static_cast<unsigned>(v);
  }
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(bhttp::field, string_view name, string_view value, error_code&) override {
    fields.emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override { return body.size(); }
  void on_finish_impl(error_code&) override {}
};

/// Empty when Beast parses `input` (a complete head) exactly as parse_simple_head did:
/// method, target, version, keep-alive, the fields in order, and the size; otherwise what
/// differs.
inline std::string beast_disagreement(std::string_view input, const traffic::http::RequestHead& head,
                                      const std::vector<traffic::http::Header>& headers, std::size_t header_limit) {
  RecordingParser beast;
  beast.header_limit(static_cast<std::uint32_t>(header_limit));
  boost::beast::error_code ec;
  const std::size_t used = beast.put(boost::asio::buffer(input.data(), input.size()), ec);
  if (ec) return "Beast: " + ec.message();
  if (!beast.is_done()) return "Beast expects more";
  if (used != head.size) return "size " + std::to_string(used) + " vs " + std::to_string(head.size);
  if (beast.method != head.method) return "method " + beast.method;
  if (beast.target != head.target) return "target " + beast.target;
  if (beast.version != head.version) return "version " + std::to_string(beast.version);
  if (beast.keep_alive() != head.keep_alive) return "keep-alive";
  if (beast.fields.size() != headers.size()) return "field count " + std::to_string(beast.fields.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (beast.fields[i].first != headers[i].name || beast.fields[i].second != headers[i].value) {
      return "field " + std::to_string(i) + ": [" + beast.fields[i].first + "] [" + beast.fields[i].second + "]";
    }
  }
  return {};
}

}  // namespace test
