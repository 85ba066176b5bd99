#include "traffic/net/client_ip.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

namespace traffic::net {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One X-Forwarded-For entry: an address, optionally "[v6]:port" or "v4:port".
std::optional<IpAddress> parse_entry(std::string_view entry) noexcept {
  entry = trim(entry);
  if (!entry.empty() && entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return IpAddress::parse(entry.substr(1, close - 1));
  }
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    entry = entry.substr(0, colon);  // IPv4 with a port; IPv6 has several colons
  }
  return IpAddress::parse(entry);
}

void add_keyword(std::vector<IpNetwork>& out, std::string_view keyword) {
  auto add = [&](const char* cidr) { out.push_back(*IpNetwork::parse(cidr)); };
  if (keyword == "loopback") {
    add("127.0.0.0/8");
    add("::1/128");
  } else if (keyword == "private" || keyword == "uniquelocal") {
    add("10.0.0.0/8");
    add("172.16.0.0/12");
    add("192.168.0.0/16");
    add("fc00::/7");
  } else if (keyword == "linklocal") {
    add("169.254.0.0/16");
    add("fe80::/10");
  } else {
    throw std::invalid_argument("TRUST_PROXY: '" + std::string(keyword) +
                                "' is not an address, CIDR block, hop count or keyword");
  }
}

}  // namespace

TrustProxy TrustProxy::parse(std::string_view config) {
  TrustProxy policy;
  config = trim(config);
  if (config.empty() || config == "false" || config == "none") return policy;
  if (config == "leftmost") {
    policy.mode_ = Mode::leftmost;
    return policy;
  }
  unsigned hops = 0;
  auto [ptr, ec] = std::from_chars(config.data(), config.data() + config.size(), hops);
  if (ec == std::errc() && ptr == config.data() + config.size()) {
    if (hops == 0) return policy;
    if (hops > 32) throw std::invalid_argument("TRUST_PROXY: a hop count above 32 is not plausible");
    policy.mode_ = Mode::hops;
    policy.hops_ = hops;
    return policy;
  }
  policy.mode_ = Mode::networks;
  while (!config.empty()) {
    const auto comma = config.find(',');
    const std::string_view entry = trim(config.substr(0, comma));
    config = comma == std::string_view::npos ? std::string_view() : config.substr(comma + 1);
    if (entry.empty()) continue;
    if (auto network = IpNetwork::parse(entry)) {
      policy.networks_.push_back(*network);
    } else {
      add_keyword(policy.networks_, entry);
    }
  }
  return policy;
}

bool TrustProxy::trusts(const IpAddress& address) const noexcept {
  for (const auto& network : networks_) {
    if (network.contains(address)) return true;
  }
  return false;
}

IpAddress client_ip(const IpAddress& peer, std::string_view xff, const TrustProxy& policy) noexcept {
  switch (policy.mode_) {
    case TrustProxy::Mode::none: return peer;
    case TrustProxy::Mode::leftmost: {
      while (!xff.empty()) {
        const auto comma = xff.find(',');
        if (auto address = parse_entry(xff.substr(0, comma))) return *address;
        if (comma == std::string_view::npos) break;
        xff.remove_prefix(comma + 1);
      }
      return peer;
    }
    case TrustProxy::Mode::networks:
    case TrustProxy::Mode::hops: break;
  }
  // Walk right to left. `current` is the address we have reached; it is the client unless
  // it is a trusted proxy (networks) or we have not yet passed `hops` proxies (hops).
  IpAddress current = peer;
  unsigned passed = 0;
  for (;;) {
    const bool keep_walking =
        policy.mode_ == TrustProxy::Mode::networks ? policy.trusts(current) : passed < policy.hops_;
    if (!keep_walking || xff.empty()) return current;
    const auto comma = xff.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
    xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
    if (trim(entry).empty()) continue;  // "a,,b": an empty element is not a hop
    auto next = parse_entry(entry);
    if (!next) return current;
    current = *next;
    ++passed;
  }
}

}  // namespace traffic::net
