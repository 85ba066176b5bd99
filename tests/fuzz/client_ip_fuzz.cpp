// Fuzzes address parsing, TRUST_PROXY parsing and the X-Forwarded-For walk: the first
// line of the input is a TRUST_PROXY value, the rest an X-Forwarded-For header. Checks:
// no crash; an untrusted peer is always its own client, whatever the header says; any
// answer formats as an address.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "traffic/net/client_ip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view config = input.substr(0, newline);
  const std::string_view header = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  (void)traffic::net::IpAddress::parse(header);
  (void)traffic::net::IpNetwork::parse(config);
  traffic::net::TrustProxy policy;
  try {
    policy = traffic::net::TrustProxy::parse(config);
  } catch (const std::invalid_argument&) {
    policy = traffic::net::TrustProxy::parse("loopback,private");
  }
  const auto peer = *traffic::net::IpAddress::parse("127.0.0.1");
  const auto client = traffic::net::client_ip(peer, header, policy);
  if (client.to_string().empty()) std::abort();
  const auto stranger = *traffic::net::IpAddress::parse("203.0.113.9");  // in no keyword's blocks
  const bool stranger_trusted = policy.mode() != traffic::net::TrustProxy::Mode::networks || policy.trusts(stranger);
  if (!stranger_trusted && !(traffic::net::client_ip(stranger, header, policy) == stranger)) std::abort();
  return 0;
}
