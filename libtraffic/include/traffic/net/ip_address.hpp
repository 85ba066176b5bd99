#pragma once
// IP addresses and networks as small value types (SPEC.md §4.2).

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace traffic::net {

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are normalised to
/// IPv4 on construction, so one visitor has one address whichever socket family carried it.
/// Trivially copyable; 20 bytes.
class IpAddress {
 public:
  /// Dotted IPv4 or textual IPv6 (no brackets, zone or port). nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text) noexcept;
  /// From a socket address (AF_INET or AF_INET6); nullopt for other families.
  static std::optional<IpAddress> from_sockaddr(const sockaddr* address) noexcept;
  static IpAddress v4(std::array<std::uint8_t, 4> bytes) noexcept;
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes) noexcept;

  [[nodiscard]] bool is_v4() const noexcept { return size_ == 4; }
  /// 4 or 16 bytes, network order.
  [[nodiscard]] const std::uint8_t* bytes() const noexcept { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Writes the canonical text (inet_ntop) to `out` (≥ kMaxTextSize bytes); returns its length.
  static constexpr std::size_t kMaxTextSize = 46;
  std::size_t format(char* out) const noexcept;
  [[nodiscard]] std::string to_string() const;
  /// Fills a sockaddr_in/sockaddr_in6 (port 0), e.g. for libmaxminddb lookups.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;

  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    return a.size_ == b.size_ && a.bytes_ == b.bytes_;
  }

 private:
  std::array<std::uint8_t, 16> bytes_{};
  std::uint8_t size_ = 4;
};

/// A CIDR block ("10.0.0.0/8", "2001:db8::/32"); a bare address is a /32 or /128.
class IpNetwork {
 public:
  static std::optional<IpNetwork> parse(std::string_view text) noexcept;
  [[nodiscard]] bool contains(const IpAddress& address) const noexcept;

 private:
  IpAddress base_;
  unsigned prefix_ = 0;
};

}  // namespace traffic::net
