// Fuzzes the simple request-head parser against Beast's: whatever parse_simple_head
// accepts, Beast must parse to the same method, target, version, fields, keep-alive and
// size (tests/support/beast_reference.hpp).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "beast_reference.hpp"
#include "traffic/http/request_head.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const traffic::http::HeadLimits limits{
      .max_head_bytes = 4096, .max_target = 1024, .max_fields = 16, .max_field_bytes = 2048};
  std::vector<traffic::http::Header> headers;
  traffic::http::RequestHead head;
  if (!traffic::http::parse_simple_head(input, limits, headers, head)) return 0;
  if (head.size > input.size() || head.size > limits.max_head_bytes || headers.size() > limits.max_fields) std::abort();
  const std::string why = test::beast_disagreement(input.substr(0, head.size), head, headers, limits.max_head_bytes);
  if (!why.empty()) {
    std::fprintf(stderr, "Beast disagrees: %s\n", why.c_str());
    std::abort();
  }
  return 0;
}
