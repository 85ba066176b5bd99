#pragma once
// Which address is the visitor's (SPEC.md §4.2): the socket peer, or an X-Forwarded-For
// entry when — and only when — the peer is a proxy we trust.

#include <string_view>
#include <vector>

#include "traffic/net/ip_address.hpp"

namespace traffic::net {

/// The `TRUST_PROXY` policy. Immutable after parsing; share freely.
class TrustProxy {
 public:
  enum class Mode {
    none,      ///< X-Forwarded-For is ignored; the peer is the client (default)
    networks,  ///< walk X-Forwarded-For from the right past trusted proxies
    hops,      ///< the client is this many hops before the peer
    leftmost,  ///< compatibility: the left-most valid address, as the old service did (spoofable)
  };

  /// Parses the configuration value:
  ///   ""  / "false" / "none"     → none
  ///   "1", "2", …                → hops (a hop count: proxies in front of trafficd)
  ///   "leftmost"                 → leftmost (compatibility mode)
  ///   "127.0.0.1,10.0.0.0/8,…"   → networks; the keywords "loopback", "private" (RFC 1918 +
  ///                                fc00::/7) and "linklocal" expand to their blocks
  /// Throws std::invalid_argument naming TRUST_PROXY and the bad entry.
  static TrustProxy parse(std::string_view config);

  [[nodiscard]] Mode mode() const noexcept { return mode_; }
  [[nodiscard]] bool trusts(const IpAddress& address) const noexcept;

 private:
  Mode mode_ = Mode::none;
  unsigned hops_ = 0;
  std::vector<IpNetwork> networks_;
  friend IpAddress client_ip(const IpAddress&, std::string_view, const TrustProxy&) noexcept;
};

/// The visitor's address. `x_forwarded_for` is the header's value (several headers joined
/// with ','); entries may carry a port ("1.2.3.4:80", "[2001:db8::1]:443") or spaces.
/// In `networks` mode the walk stops at the first untrusted address; an unparsable entry
/// ends the walk, and the last address walked (a trusted proxy) is returned. Never fails:
/// with nothing usable, the peer is the client. No allocation.
IpAddress client_ip(const IpAddress& peer, std::string_view x_forwarded_for, const TrustProxy& policy) noexcept;

}  // namespace traffic::net
