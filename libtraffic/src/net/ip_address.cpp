#include "traffic/net/ip_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace traffic::net {
namespace {

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> bytes) noexcept {
  IpAddress a;
  std::memcpy(a.bytes_.data(), bytes.data(), 4);
  a.size_ = 4;
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
  if (std::memcmp(bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    return v4({bytes[12], bytes[13], bytes[14], bytes[15]});
  }
  IpAddress a;
  a.bytes_ = bytes;
  a.size_ = 16;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  // inet_pton needs a NUL-terminated string; no address text is longer than 45 characters.
  char buffer[kMaxTextSize + 1];
  if (text.empty() || text.size() > kMaxTextSize) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    std::array<std::uint8_t, 4> bytes{};
    if (inet_pton(AF_INET, buffer, bytes.data()) != 1) return std::nullopt;
    return v4(bytes);
  }
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return v6(bytes);
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* address) noexcept {
  if (!address) return std::nullopt;
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    std::array<std::uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), &in.sin_addr, 4);
    return v4(bytes);
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return v6(bytes);
  }
  return std::nullopt;
}

std::size_t IpAddress::format(char* out) const noexcept {
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 through sprintf, ~0.1 µs of every recorded click.
    char* p = out;
    for (std::size_t i = 0; i < 4; ++i) {
      const unsigned octet = bytes_[i];
      if (octet >= 100) *p++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *p++ = static_cast<char>('0' + octet / 10 % 10);
      *p++ = static_cast<char>('0' + octet % 10);
      *p++ = '.';
    }
    p[-1] = '\0';
    return static_cast<std::size_t>(p - 1 - out);
  }
  if (!inet_ntop(AF_INET6, bytes_.data(), out, kMaxTextSize)) return 0;
  return std::strlen(out);
}

std::string IpAddress::to_string() const {
  char buffer[kMaxTextSize];
  return std::string(buffer, format(buffer));
}

socklen_t IpAddress::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, bytes_.data(), 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  std::memcpy(&in6.sin6_addr, bytes_.data(), 16);
  std::memcpy(&out, &in6, sizeof in6);
  return sizeof in6;
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) noexcept {
  const auto slash = text.find('/');
  auto base = IpAddress::parse(text.substr(0, slash));
  if (!base) return std::nullopt;
  IpNetwork network;
  network.base_ = *base;
  network.prefix_ = static_cast<unsigned>(base->size() * 8);
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || prefix > network.prefix_) {
      return std::nullopt;
    }
    network.prefix_ = prefix;
  }
  return network;
}

bool IpNetwork::contains(const IpAddress& address) const noexcept {
  if (address.size() != base_.size()) return false;
  const unsigned whole = prefix_ / 8;
  if (std::memcmp(address.bytes(), base_.bytes(), whole) != 0) return false;
  const unsigned rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address.bytes()[whole] & mask) == (base_.bytes()[whole] & mask);
}

}  // namespace traffic::net
